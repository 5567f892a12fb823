"""Production server settings (used by `make run` and deploy/).

One gevent worker per process: Socket.IO needs sticky sessions, so scale out by
running more processes behind the proxy with a Redis message queue, not more workers.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
workers = 1
worker_connections = 10000
timeout = 60
graceful_timeout = 10
accesslog = "-" if os.environ.get("SIGNAGE_ACCESS_LOG") else None
errorlog = "-"
loglevel = "info"


# The scheduler: every worker is a candidate, started after fork (never in create_app, never
# in the master); a lease in the database lets exactly one of them, on any node, run the jobs.
def post_worker_init(worker) -> None:
    import logging

    from server.scheduler import log, start_embedded

    # Leadership changes go to gunicorn's error log with everything else.
    log.handlers, log.propagate = worker.log.error_log.handlers, False
    log.setLevel(logging.INFO)
    start_embedded(worker.wsgi)


def worker_exit(server, worker) -> None:
    from server.scheduler import stop_embedded

    stop_embedded()  # hands the lease over at once instead of after it expires
