"""SQLite's WAL checkpoints in a native thread of their own, off the commits' path.

By default SQLite checkpoints inside the commit that grows the write-ahead log past
1,000 pages: that commit copies the log into the database and syncs both. Measured on
the ingest bench (docs/benchmarks.md) such a commit took 10-13 ms (up to 97 ms) against
about 1 ms for the others, and under gevent every terminal event of the worker waits
for it, since SQLite's calls are not cooperative. Here a native thread (not a greenlet:
gevent patches `threading`) runs a PASSIVE checkpoint every second; sqlite3 releases
the GIL while it copies, so the event loop runs on. PASSIVE never takes the write lock
and never waits for readers: writers are not held up, and a busy checkpoint is simply
finished by a later one.

Connections keep a fallback (db.WAL_AUTOCHECKPOINT_PAGES): a process without this thread
(the CLI, tests) or a checkpointer that falls behind still has its log folded in, at 40
MB instead of 4.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable

from gevent import monkey
from sqlalchemy.engine import Engine

# The originals even when gevent has patched them: a greenlet would block the loop.
_start_thread: Callable = monkey.get_original("_thread", "start_new_thread")
_sleep: Callable[[float], None] = monkey.get_original("time", "sleep")
native_id: Callable[[], int] = monkey.get_original("_thread", "get_native_id")


class Checkpointer:
    def __init__(self, database: str, every_s: float = 1.0) -> None:
        self.database, self.every_s = database, every_s
        self._stopped = False  # a plain flag: patched locks are not for native threads
        self.runs = 0  # checkpoints done, for tests and the bench

    def run_once(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """(busy, frames in the log, frames copied into the database)."""
        busy, log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.runs += 1
        return busy, log, copied

    def _loop(self) -> None:
        conn = sqlite3.connect(self.database, timeout=30, check_same_thread=False)
        try:
            while not self._stopped:
                try:
                    self.run_once(conn)
                except sqlite3.Error as exc:  # the next round retries; the fallback holds
                    # Plain stderr: logging's locks are gevent's in a patched worker.
                    sys.stderr.write(f"signage: WAL checkpoint failed: {exc}\n")
                _sleep(self.every_s)
        finally:
            conn.close()

    def start(self) -> Checkpointer:
        _start_thread(self._loop, ())
        return self

    def stop(self) -> None:
        self._stopped = True


def start_for(engine: Engine | None, every_s: float = 1.0) -> Checkpointer | None:
    """From a gunicorn worker after fork: a checkpointer when the database is a SQLite
    file (PostgreSQL checkpoints on its own; an in-memory database has no log)."""
    if engine is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Checkpointer(database, every_s).start()
