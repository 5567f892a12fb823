"""Production server settings (used by `make run` and deploy/).

One gevent worker per process: Socket.IO needs sticky sessions, so scale out by
running more processes behind the proxy with a Redis message queue, not more workers.
"""

import os
import resource

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
workers = 1
worker_connections = 10000
# Every terminal holds a socket: lift the soft descriptor limit (often 1,024) to the hard
# one, or the worker refuses connections long before worker_connections.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < _hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
timeout = 60
# A greenlet need not record where it was spawned (a debugging aid): recording it was a
# tenth of the worker's time at a thousand terminal events a second, each in its own greenlet.
os.environ.setdefault("GEVENT_TRACK_GREENLET_TREE", "false")
graceful_timeout = 10
accesslog = "-" if os.environ.get("SIGNAGE_ACCESS_LOG") else None
errorlog = "-"
loglevel = "info"


# The scheduler: every worker is a candidate, started after fork (never in create_app, never
# in the master); a lease in the database lets exactly one of them, on any node, run the jobs.
def post_worker_init(worker) -> None:
    import gc
    import logging

    from content.fonts import find_cjk_font, font_cmap

    # Look the CJK font up now, not inside the first notice's transaction: fontconfig is a
    # subprocess, and under gevent waiting for it lets other greenlets run while that
    # transaction holds SQLite's write lock (they would block the worker in SQLite's busy
    # wait: a stall of up to its 30 s timeout, seen in the demo's first broadcast). Its
    # character map too: reading it took a quarter second of the first typed broadcast.
    try:
        font_cmap(find_cjk_font())
    except Exception as exc:  # no font: notices will say so when someone writes one
        worker.log.warning("no CJK font yet: %s", exc)

    from server import liveness
    from server.scheduler import log, start_embedded

    # Leadership changes and the server's own outages go to gunicorn's error log.
    for logger in (log, liveness.log):
        logger.handlers, logger.propagate = worker.log.error_log.handlers, False
        logger.setLevel(logging.INFO)
    from server import checkpointer, looplag, workpool

    settings = worker.wsgi.config.get("SIGNAGE")
    if settings is not None:  # None: the bench's bare app
        # First: connections of gone processes are marked offline before any new one,
        # and health is judged from when this process listens.
        liveness.start(worker.wsgi)
        # CPU-heavy work (decoding uploads, rendering notices, exports, the scheduler's
        # planned-time job) goes to job worker processes, so this worker's event loop stays
        # with the terminals. Started before the scheduler: a job falling due before the pool
        # exists runs inline, on the loop (the first planned-time run for 5,000 new
        # terminals held it 12-56 s).
        workpool.start(settings)
    start_embedded(worker.wsgi)
    checkpointer.start_for(worker.wsgi.extensions.get("signage_engine"))
    # How late the loop runs (/healthz), and who held it when it stalls (a WARNING).
    looplag.start()
    worker.wsgi.wsgi_app = looplag.LabelRequests(worker.wsgi.wsgi_app)
    # What start-up made (modules, mappers, the font map) lives as long as the worker: keep
    # it out of the collector's full passes, which otherwise walked 300,000 objects and
    # stalled the worker for 0.15-0.2 s at a time (docs/benchmarks.md).
    gc.freeze()


def worker_exit(server, worker) -> None:
    from server import liveness, looplag, workpool
    from server.scheduler import stop_embedded

    stop_embedded()  # hands the lease over at once instead of after it expires
    workpool.stop()
    looplag.stop()
    liveness.stop()
