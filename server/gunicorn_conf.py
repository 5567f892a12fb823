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
graceful_timeout = 10
accesslog = "-" if os.environ.get("SIGNAGE_ACCESS_LOG") else None
errorlog = "-"
loglevel = "info"
