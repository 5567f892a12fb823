"""This process says it is alive (server/services/nodes.py), from its own event loop.

Started in each gunicorn worker after fork (server/gunicorn_conf.py). Under gevent the loop
below is a greenlet, on purpose: when the event loop is held, this process stops saying it
is alive, and when the loop comes back late the stall is recorded and the terminals it
held get their grace. `available_since` is what this process's health check judges from.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from flask import Flask

from server.db import session_scope, utcnow
from server.services import nodes

log = logging.getLogger(__name__)


class Liveness:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.name = app.config["SIGNAGE"].node_name
        self.since = utcnow()
        self._last_tick = time.monotonic()
        self._stop = threading.Event()

    def start(self) -> Liveness:
        now = utcnow()
        with self.app.app_context(), session_scope() as s:
            outage = nodes.start(s, self.name, now)
        if outage is not None:
            log.warning("the server was away from %s to %s: terminals get %s s to come back",
                         outage.started_at, outage.ended_at, nodes.GRACE.total_seconds())
        self.since, self._last_tick = now, time.monotonic()
        threading.Thread(target=self._loop, name="liveness", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(nodes.TICK_S):
            self.tick()

    def tick(self) -> None:
        now, mono = utcnow(), time.monotonic()
        held = timedelta(seconds=mono - self._last_tick - nodes.TICK_S)
        stalled_since = now - held - timedelta(seconds=nodes.TICK_S) if held > nodes.STALL \
            else None
        try:
            with self.app.app_context(), session_scope() as s:
                nodes.tick(s, self.name, now, stalled_since)
        except Exception:  # the database away: the next tick tries again
            log.warning("liveness tick failed", exc_info=True)
            return
        if stalled_since is not None:
            log.warning("this process's loop was held %.0f s: its terminals get %s s",
                        held.total_seconds(), nodes.GRACE.total_seconds())
            self.since = now
        self._last_tick = mono

    def available_since(self) -> datetime:
        """Since when this process has listened; now, if its loop is just back from a stall
        the ticker has not noted yet (the health check may run first after a freeze)."""
        if time.monotonic() - self._last_tick > nodes.TICK_S + nodes.STALL.total_seconds():
            return utcnow()
        return self.since


_running: Liveness | None = None


def start(app: Flask) -> Liveness:
    global _running
    if _running is None:
        _running = Liveness(app).start()
    return _running


def stop() -> None:
    global _running
    if _running is not None:
        _running.stop()
        _running = None


def available_since() -> datetime | None:
    """None where no liveness runs (CLI, app tests): judge by the heartbeats alone."""
    return _running.available_since() if _running is not None else None
