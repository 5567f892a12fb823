"""Two real server nodes (gunicorn, as `make run` starts them) on one database: their workers
are both scheduler candidates, one leads; kill -9 that node and the other takes over."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests import live
from tests.conftest import clean_database
from tests.e2e.conftest import wait_for


def _lease(database_url: str) -> tuple[str | None, dict[str, int]]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        holder = conn.execute(text("SELECT holder FROM scheduler_lease")).scalar()
        slots = dict(conn.execute(text("SELECT id, slot FROM scheduler_job")).all())
    engine.dispose()
    return holder, slots


def test_one_leader_among_nodes_and_a_takeover(database_url, tmp_path):
    clean_database(database_url)
    # The demo street made once for both nodes, as a deployment's nodes share it (a second
    # `flask init` would only find it done); the short lease is the servers' setting alone,
    # so the seed is the one other modules' servers made, copied back.
    nodes = live.start_nodes(2, database_url, tmp_path / "nodes",
                             serve_env={"SIGNAGE_SCHEDULER_LEASE_S": "3"})
    try:
        holder = wait_for(lambda: _lease(database_url)[0], timeout=30, what="a leader")
        pids = {str(n.process.pid): n for n in nodes}
        leaders = [n for n in nodes if "leads: running the jobs" in n.log.read_text()]
        assert len(leaders) == 1  # both workers are candidates, one leads
        leader = leaders[0]
        other = next(n for n in nodes if n is not leader)
        start = _lease(database_url)[1]["offline-detection"]
        wait_for(lambda: _lease(database_url)[1]["offline-detection"] > start, timeout=30,
                 what="offline detection to run")
        assert holder.split(":")[1] not in pids  # the worker, not the gunicorn master
        leader.kill()  # kill -9 the whole node
        wait_for(lambda: "leads: running the jobs" in other.log.read_text(), timeout=30,
                 what="the other node to take over")
        new_holder = _lease(database_url)[0]
        assert new_holder != holder
        slot = _lease(database_url)[1]["offline-detection"]
        wait_for(lambda: _lease(database_url)[1]["offline-detection"] > slot, timeout=30,
                 what="the jobs to run on the other node")
    finally:
        for n in nodes:
            if n.process.poll() is None:
                n.stop()
        clean_database(database_url)
