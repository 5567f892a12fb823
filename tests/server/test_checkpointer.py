"""The WAL checkpointer: folds the log into the database from a native thread, so no
commit has to (server/checkpointer.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from server import checkpointer
from server.db import WAL_AUTOCHECKPOINT_PAGES, make_engine
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _fill(engine, rows: int) -> None:
    """About 1 kB a row into the log: under the commits' fallback, so no commit folds it."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS filler (x TEXT)"))
        conn.execute(text("INSERT INTO filler VALUES (:x)"),
                     [{"x": f"{i:08d}" * 128} for i in range(rows)])


def test_commits_leave_the_log_to_the_checkpointer(tmp_path):
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    _fill(engine, 4_000)  # ~1,000 pages: past SQLite's default, under our fallback
    assert WAL_AUTOCHECKPOINT_PAGES > 1_000
    before = path.stat().st_size
    assert before < 1_000_000, "a commit folded the log in: the fallback is not applied"

    running = checkpointer.start_for(engine, every_s=0.05)
    try:
        # One condition, not two asserts in turn: the file grows while the checkpoint
        # copies, before run_once returns and counts it (a loaded machine saw that gap).
        assert wait_for(lambda: running.runs > 0 and path.stat().st_size > 4_000_000)
    finally:
        running.stop()
        engine.dispose()


def test_only_sqlite_files_get_one(tmp_path, database_url):
    assert checkpointer.start_for(None) is None
    assert checkpointer.start_for(make_engine("sqlite://")) is None
    engine = make_engine(database_url)
    running = checkpointer.start_for(engine)
    try:
        assert (running is not None) == (engine.dialect.name == "sqlite")
    finally:
        if running:
            running.stop()
        engine.dispose()


_UNDER_GEVENT = """
from gevent import monkey; monkey.patch_all()
import sys, gevent
from sqlalchemy import text
from server import checkpointer
from server.db import make_engine
engine = make_engine("sqlite:///" + sys.argv[1])
with engine.begin() as conn:
    conn.execute(text("CREATE TABLE t (x TEXT)"))
    conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "y" * 1000}] * 4000)
running = checkpointer.start_for(engine, every_s=0.05)
ids = []
orig = running.run_once
running.run_once = lambda conn: (ids.append(checkpointer.native_id()), orig(conn))[1]
for _ in range(400):
    gevent.sleep(0.05)
    if ids:
        break
print(ids[0] != checkpointer.native_id())
"""


def test_it_runs_in_a_native_thread_under_gevent(tmp_path):
    """A greenlet would run the checkpoint on the event loop's own thread, blocking it."""
    out = subprocess.run([sys.executable, "-c", _UNDER_GEVENT, str(tmp_path / "g.db")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"]
