"""Proof-of-play outbox: every record is committed to SQLite before anything else happens to
it, and deleted only after the server's PLAYS ack names its id (accepted or rejected).

WAL + synchronous=FULL: a committed record survives kill -9 and a power cut. The running
totals (seconds recorded/accepted/rejected) are updated in the same transactions, so they
always agree with the records; `python -m player --data DIR --totals` prints them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from player.protocol import parse_instant

FILE_NAME = "outbox.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plays (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (
    key TEXT PRIMARY KEY,
    value REAL NOT NULL
);
"""

TOTAL_KEYS = ("recorded_n", "recorded_s", "accepted_n", "accepted_s", "rejected_n", "rejected_s")


def record_seconds(rec: dict[str, Any]) -> float:
    start: datetime = parse_instant(rec["start"], "start")
    end: datetime = parse_instant(rec["end"], "end")
    return (end - start).total_seconds()


class Outbox:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the playback and network threads, serialised by a lock.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        """Store records (one transaction: all of them or none)."""
        rows = [(r["id"], json.dumps(r, separators=(",", ":")), record_seconds(r))
                for r in records]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                n, secs = 0, 0.0
                for row in rows:  # a record stored twice (a retried write) counts once
                    if self._db.execute("INSERT OR IGNORE INTO plays (id, record, seconds) "
                                        "VALUES (?, ?, ?)", row).rowcount:
                        n, secs = n + 1, secs + row[2]
                self._bump("recorded", n, secs)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def batch(self, n: int) -> list[dict[str, Any]]:
        """The oldest n records still waiting for the server."""
        with self._lock:
            rows = self._db.execute(
                "SELECT record FROM plays ORDER BY seq LIMIT ?", (n,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def remove(self, accepted: Iterable[str], rejected: Iterable[str] = ()) -> int:
        """Delete the ids the server confirmed; returns how many were deleted.
        Ids that are not (or no longer) here are ignored: a repeated ack is harmless."""
        removed = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for kind, ids in (("accepted", accepted), ("rejected", rejected)):
                    n, s = 0, 0.0
                    for rid in ids:
                        row = self._db.execute(
                            "DELETE FROM plays WHERE id = ? RETURNING seconds", (rid,)).fetchone()
                        if row is not None:
                            n, s = n + 1, s + row[0]
                    self._bump(kind, n, s)
                    removed += n
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return removed

    def pending(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM plays").fetchone()[0]

    def totals(self) -> dict[str, float]:
        """Cumulative counts and seconds since this data folder was created, plus pending."""
        with self._lock:
            out = {k: 0.0 for k in TOTAL_KEYS}
            out.update(dict(self._db.execute("SELECT key, value FROM totals").fetchall()))
            n, s = self._db.execute("SELECT COUNT(*), COALESCE(SUM(seconds), 0) FROM plays"
                                    ).fetchone()
        for k in TOTAL_KEYS:
            if k.endswith("_n"):
                out[k] = int(out[k])
        out["pending_n"], out["pending_s"] = n, s
        return out

    def _bump(self, kind: str, n: int, seconds: float) -> None:
        if not n:
            return
        for key, v in ((f"{kind}_n", n), (f"{kind}_s", seconds)):
            self._db.execute(
                "INSERT INTO totals (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value", (key, v))
