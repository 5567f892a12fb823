"""GET /healthz: is this node able to serve? For the proxy, systemd checks and tests.

200 when the database answers and the message queue (if any) carries this node's pushes;
503 with the reason otherwise. It names only the node, the problem, how many terminal
connections the node holds and how late its event loop runs: no login needed.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from server import looplag
from server.db import db
from server.hub import queue, terminals

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.execute(text("SELECT 1"))
        database = None
    except Exception as e:  # any failure is the answer, not an error page
        log.warning("health check: database: %s", e)
        database = f"database unreachable: {type(e).__name__}"
    watch = queue.watch()
    queue_problem = watch.check() if watch is not None else None
    body = {"ok": database is None and queue_problem is None,
            "node": current_app.config["SIGNAGE"].node_name,
            "database": database, "queue": queue_problem,
            "terminals": len(terminals.connections),  # connections this node holds
            # How late the event loop wakes a sleeper (server/looplag.py); null where no
            # monitor runs (tests, the CLI).
            "loop_lag_ms": looplag.snapshot()}
    return jsonify(body), 200 if body["ok"] else 503
