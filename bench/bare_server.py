"""The baseline for bench/bench_hub.py: a bare Flask-SocketIO app under the same gunicorn
gevent-websocket worker as the product (server/gunicorn_conf.py), with nothing but a
connect handler and an ack handler on the terminal namespace.

`POST /emit {"event", "payload_bytes"}` emits one event to every connected client (what
the benchmark times against the product's nudge or broadcast). The ack handler answers
any event with `{"ok": true}`, padded to `reply_bytes` when the client asks for it (so
the answer is the size of the real server's answer, e.g. a manifest). With
`"blob_bytes": n` it first writes a new file of n random bytes and names it in the event
(`sha`); GET /terminal-api/v1/blobs/<sha> serves it as the product serves a blob (send_file
with range requests and ETag, no credential check): bench/bench_receipts.py's baseline.

Run: `gunicorn -c server/gunicorn_conf.py bench.bare_server:app`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import Flask, abort, request, send_file
from flask_socketio import SocketIO

NS = "/terminal"
app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins=[])
connected = {"n": 0}
# The benchmark names a folder under its own temporary one (removed with it).
BLOBS = Path(os.environ.get("BARE_BLOBS") or tempfile.mkdtemp(prefix="bare-blobs-"))
BLOBS.mkdir(parents=True, exist_ok=True)


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
    if body.get("blob_bytes"):
        data = os.urandom(int(body["blob_bytes"]))
        payload["sha"] = hashlib.sha256(data).hexdigest()
        (BLOBS / payload["sha"]).write_bytes(data)
    socketio.emit(body["event"], payload, namespace=NS)
    return {"ok": True}


@app.get("/terminal-api/v1/blobs/<sha>")
def blob(sha: str):
    path = BLOBS / sha
    if len(sha) != 64 or not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/png", conditional=True, etag=sha,
                     max_age=365 * 24 * 3600)


@app.get("/login")  # the readiness probe the benchmark shares with the product
def ready():
    return {"connected": connected["n"]}
