"""Entry point for gunicorn: `gunicorn -c server/gunicorn_conf.py server.wsgi:app`."""

from server import create_app
from server.hub import queue

app = create_app()
queue.start()  # with a message queue: heartbeats from start-up (server/hub/queue.py)
