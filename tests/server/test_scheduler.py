"""One scheduler: candidates with their own engines (and real processes) on one database;
each job runs once per period, a dead leader is replaced, a restart repeats nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from server import scheduler as sched
from server.db import make_engine
from server.models import JobRun, SchedulerLease

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Recorder:
    """A job that notes which candidate ran it, and in which one-second period."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def job(self, name: str, every_s: float = 1.0) -> dict[str, sched.Job]:
        def run() -> None:
            with self.lock:
                self.runs.append((name, int(time.time() // every_s)))

        return {"count": sched.Job("count", run, every_s)}

    def periods(self) -> Counter:
        with self.lock:
            return Counter(p for _, p in self.runs)

    def by(self, name: str) -> int:
        with self.lock:
            return sum(1 for n, _ in self.runs if n == name)


@pytest.fixture
def candidates(app, database_url):
    made: list[tuple[sched.Scheduler, object]] = []

    def make(jobs: dict, lease_s: float = 1.5) -> sched.Scheduler:
        engine = make_engine(database_url)  # its own engine: as another process would have
        c = sched.Scheduler(app, engine=engine, jobs=jobs, lease_s=lease_s)
        made.append((c, engine))
        return c

    yield make
    for c, engine in made:
        c.stop()
        engine.dispose()


def test_two_candidates_run_each_period_once(candidates):
    rec = Recorder()
    a = candidates(rec.job("a")).start()
    b = candidates(rec.job("b")).start()
    wait_for(lambda: len(rec.periods()) >= 5, 20, "five periods")
    assert [a.is_leader, b.is_leader].count(True) == 1
    periods = rec.periods()
    assert max(periods.values()) == 1, periods  # never twice in one period
    seen = sorted(periods)
    assert seen == list(range(seen[0], seen[-1] + 1))  # and no period skipped
    assert rec.by("a") == 0 or rec.by("b") == 0  # only the leader ran it


def test_a_dead_leader_is_replaced_within_the_lease(candidates):
    rec = Recorder()
    a = candidates(rec.job("a")).start()
    wait_for(lambda: a.is_leader and rec.by("a") >= 1, 10, "a to lead")
    b = candidates(rec.job("b")).start()
    time.sleep(1.0)
    assert not b.is_leader
    a.stop(release=False)  # as a crash: the lease is left to expire
    died = time.monotonic()
    wait_for(lambda: rec.by("b") >= 3, 15, "b to take over")
    took = time.monotonic() - died
    assert took < b.lease_s + b.renew_s + 3  # bounded by the lease (3 runs of 1 s after it)
    periods = rec.periods()
    assert max(periods.values()) == 1, periods


def test_a_restart_does_not_repeat_a_period(candidates):
    rec = Recorder()
    daily = rec.job("first", every_s=86400)
    a = candidates(daily).start()
    wait_for(lambda: rec.by("first") == 1, 10, "the first run")
    a.stop()  # handed over at once
    b = candidates(rec.job("second", every_s=86400)).start()
    wait_for(lambda: b.is_leader, 10, "the new candidate to lead")
    time.sleep(1.0)  # it has had its chance to catch up
    assert rec.by("second") == 0 and len(rec.runs) == 1


def test_jobs_registered_later_reach_running_candidates(candidates, monkeypatch):
    monkeypatch.setattr(sched, "JOBS", {})
    rec = Recorder()
    c = candidates(sched.JOBS).start()
    wait_for(lambda: c.is_leader, 10, "the candidate to lead")
    sched.register_job("count", rec.job("late")["count"].fn, every_s=1)
    wait_for(lambda: rec.by("late") >= 2, 10, "the late job to run")
    with pytest.raises(ValueError):
        sched.register_job("", rec.job("x")["count"].fn, every_s=1)
    with pytest.raises(ValueError):
        sched.register_job("bad", rec.job("x")["count"].fn, every_s=0)


def test_the_lease_and_periods_are_in_the_database(candidates, app):
    rec = Recorder()
    c = candidates(rec.job("a")).start()
    wait_for(lambda: rec.by("a") >= 1, 10, "a run")
    from server.db import db

    lease = db.scalar(select(SchedulerLease))
    assert lease.holder == c.holder
    run = db.get(JobRun, "count")
    assert run.holder == c.holder and run.slot >= 0


# --- real processes ---------------------------------------------------------------------

RUN_LINE = re.compile(r"job offline-detection runs for period (\d+) on (\S+)")


def _scheduler_process(database_url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SIGNAGE_DATABASE_URL": database_url,
           "SIGNAGE_DATA_DIR": str(data_dir), "SIGNAGE_SECRET_KEY": "test",
           "SIGNAGE_SCHEDULER_LEASE_S": "2", "SIGNAGE_ASYNC_MODE": "threading"}
    with log.open("w") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "server",
                                 "scheduler", "--log-level", "DEBUG"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _runs(*logs: Path) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(2)) for log in logs
            for m in RUN_LINE.finditer(log.read_text())]


def test_two_scheduler_processes_and_a_killed_leader(app, database_url, tmp_path):
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_scheduler_process(database_url, tmp_path / "var", log) for log in logs]
    try:
        wait_for(lambda: len(_runs(*logs)) >= 3, 60, "three periods of offline detection")
        holders = {h for _, h in _runs(*logs)}
        assert len(holders) == 1
        leader = holders.pop()
        pid = int(leader.split(":")[1])
        victim = next(p for p in procs if p.pid == pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        wait_for(lambda: len({h for _, h in _runs(*logs)}) == 2 and
                 sum(1 for _, h in _runs(*logs) if h != leader) >= 3, 30,
                 "the other process to take over")
        periods = Counter(p for p, _ in _runs(*logs))
        assert max(periods.values()) == 1, periods  # never twice, even across the takeover
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(20)


def test_web_workers_can_leave_it_to_dedicated_processes(app, monkeypatch):
    from server.config import Settings

    monkeypatch.setitem(app.config, "SIGNAGE", Settings.from_env(
        {"SIGNAGE_SCHEDULER": "off", "SIGNAGE_SECRET_KEY": "x",
         "SIGNAGE_DATA_DIR": str(app.config["SIGNAGE"].data_dir)}))
    assert sched.start_embedded(app) is None
    with pytest.raises(ValueError, match="SIGNAGE_SCHEDULER"):
        Settings.from_env({"SIGNAGE_SCHEDULER": "sometimes", "SIGNAGE_SECRET_KEY": "x"})
