"""GET /healthz: is this node able to serve? For the proxy, systemd checks and tests.

200 when the database answers and the message queue (if any) carries this node's pushes;
503 with the reason otherwise. It names only the node, the problem, how many terminal
connections the node holds and how late its event loop runs: no login needed.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from server import liveness, looplag
from server.db import db, utcnow
from server.hub import queue, terminals
from server.services import nodes

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _iso(t) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t is not None else None


def _events() -> list:
    try:
        return nodes.recent_events(db, utcnow())
    except Exception:  # the database away: said above
        return []


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
            "loop_lag_ms": looplag.snapshot(),
            # When this process began to listen (or came back from a stall), and the
            # server's own outages and stalls of the last day (server/services/nodes.py).
            "available_since": _iso(liveness.available_since()),
            "server_events": [{"kind": e.kind, "node": e.node, "from": _iso(e.started_at),
                               "to": _iso(e.ended_at)} for e in _events()]}
    return jsonify(body), 200 if body["ok"] else 503
