"""The baseline for bench/bench_hub.py: a bare Flask-SocketIO app under the same gunicorn
gevent-websocket worker as the product (server/gunicorn_conf.py), with nothing but a
connect handler and an ack handler on the terminal namespace.

`POST /emit {"event", "payload_bytes"}` emits one event to every connected client (what
the benchmark times against the product's nudge or broadcast). The ack handler answers
any event with `{"ok": true}`, padded to `reply_bytes` when the client asks for it (so
the answer is the size of the real server's answer, e.g. a manifest).

Run: `gunicorn -c server/gunicorn_conf.py bench.bare_server:app`.
"""

from __future__ import annotations

from flask import Flask, request
from flask_socketio import SocketIO

NS = "/terminal"
app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins=[])
connected = {"n": 0}


@socketio.on("connect", namespace=NS)
def connect(auth=None):
    connected["n"] += 1


@socketio.on("disconnect", namespace=NS)
def disconnect(*_args):
    connected["n"] -= 1


@socketio.on("*", namespace=NS)
def ack(_event, payload=None):
    size = payload.get("reply_bytes", 0) if isinstance(payload, dict) else 0
    return {"ok": True, "pad": "x" * min(int(size), 1_000_000)} if size else {"ok": True}


@app.post("/emit")
def emit():
    body = request.get_json()
    payload = {"id": int(body.get("id", 1)), "pad": "x" * int(body.get("payload_bytes", 0))}
    socketio.emit(body["event"], payload, namespace=NS)
    return {"ok": True}


@app.get("/login")  # the readiness probe the benchmark shares with the product
def ready():
    return {"connected": connected["n"]}
