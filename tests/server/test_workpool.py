"""The job pool with real worker processes: results, errors, limits, crashes, the database,
inline mode, and a cooperative wait under gevent. Jobs are this module's functions (a
worker imports this module to run them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from content.errors import ContentError
from server import workpool
from server.config import ROOT, Settings
from server.models import Street
from server.workpool import JobFailed
from tests.conftest import clean_database
from tests.polling import wait_for

# --- jobs ---------------------------------------------------------------------------------


def add(a: int, b: int, *, times: int = 1) -> int:
    return (a + b) * times


def refuse(code: str) -> None:
    raise ContentError(code, "refused in a worker", limit_bytes=5)


def fail(message: str) -> None:
    raise ValueError(message)


class TwoArgError(Exception):
    """Pickles, but cannot be unpickled (its __init__ wants two arguments)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


def fail_oddly() -> None:
    raise TwoArgError("left", "right")


def allocate(mb: int) -> int:
    return len(bytearray(mb * 2**20))


def write_pid_and_sleep(path: str, seconds: float) -> None:
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)


def spin(cpu_s: float) -> int:
    """CPU-bound for cpu_s seconds of this process's CPU time."""
    end = time.process_time() + cpu_s
    loops = 0
    while time.process_time() < end:
        loops += 1
    return loops


def hold_until(gate: str, log: str) -> None:
    """A scheduler's job that runs until the test opens `gate` (a file), noting in `log`
    when it started and ended."""
    with open(log, "a") as f:
        f.write("start\n")
    while not Path(gate).exists():
        time.sleep(0.02)
    with open(log, "a") as f:
        f.write("end\n")


def street_names(s: Session) -> list[str]:
    return sorted(s.scalars(select(Street.name)))


def add_street(s: Session, name: str) -> int:
    street = Street(name=name)
    s.add(street)
    s.flush()
    return street.id


def add_street_then_fail(s: Session, name: str) -> None:
    add_street(s, name)
    raise ValueError("after the insert")


# --- fixtures -----------------------------------------------------------------------------


def settings_for(tmp_path: Path, database_url: str | None = None, **extra: str) -> Settings:
    return Settings.from_env({
        "SIGNAGE_DATA_DIR": str(tmp_path / "var"),
        "SIGNAGE_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'unused.db'}",
        "SIGNAGE_SECRET_KEY": "test-secret",
        "SIGNAGE_JOB_WORKERS": "1",
        "SIGNAGE_JOB_TIMEOUT_S": "60",
        "SIGNAGE_JOB_MEMORY_MB": "256",
        **extra,
    })


@pytest.fixture
def pool(tmp_path):
    workpool.stop()
    yield workpool.start(settings_for(tmp_path))
    workpool.stop()


@pytest.fixture
def db_pool(tmp_path, database_url):
    workpool.stop()
    yield workpool.start(settings_for(tmp_path, database_url))
    workpool.stop()
    clean_database(database_url)


# --- results and errors -------------------------------------------------------------------


def test_a_result_comes_back_from_another_process(pool):
    assert workpool.run(add, 2, 3, times=4) == 20
    assert workpool.run(os.getpid) != os.getpid()


def test_an_exception_comes_back_as_raised(pool):
    with pytest.raises(ValueError, match="bad input"):
        workpool.run(fail, "bad input")
    with pytest.raises(ContentError) as err:
        workpool.run(refuse, "too_large")
    assert (err.value.code, err.value.params) == ("too_large", {"limit_bytes": 5})


def test_an_exception_that_cannot_come_back_is_told_as_text(pool):
    with pytest.raises(JobFailed) as err:
        workpool.run(fail_oddly)
    assert err.value.code == "job_error"
    assert "TwoArgError: left/right" in str(err.value)
    assert workpool.run(add, 1, 1) == 2


# --- limits and crashes -------------------------------------------------------------------


def test_a_job_over_its_time_limit_fails_and_the_next_runs_in_a_new_worker(pool):
    before = workpool.run(os.getpid)
    with pytest.raises(JobFailed) as err:
        workpool.run(time.sleep, 60, timeout_s=1)
    assert (err.value.code, err.value.status) == ("job_timeout", 503)
    assert "1 seconds" in str(err.value)
    after = workpool.run(os.getpid)
    assert after != before
    assert workpool.run(add, 2, 2) == 4


def test_a_job_over_its_memory_limit_fails_and_the_pool_keeps_working(pool):
    assert workpool.run(allocate, 16, memory_mb=64) == 16 * 2**20
    with pytest.raises(JobFailed) as err:
        workpool.run(allocate, 512, memory_mb=64)
    assert (err.value.code, err.value.status) == ("job_memory", 422)
    assert "64 MB" in str(err.value)
    assert workpool.run(allocate, 16, memory_mb=64) == 16 * 2**20


def test_a_worker_killed_mid_job_is_reported_and_replaced(pool, tmp_path):
    pid_file = tmp_path / "pid"
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            workpool.run(write_pid_and_sleep, str(pid_file), 60)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - handed to the test's thread
            outcome.append(e)

    caller = threading.Thread(target=call)
    caller.start()
    assert wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30)
    killed = int(pid_file.read_text())
    os.kill(killed, signal.SIGKILL)
    caller.join(30)
    assert isinstance(outcome[0], JobFailed)
    assert (outcome[0].code, outcome[0].status) == ("job_crashed", 503)
    assert workpool.run(os.getpid) not in (killed, os.getpid())


def test_the_pool_never_shrinks(tmp_path):
    workpool.stop()
    pool = workpool.start(settings_for(tmp_path, SIGNAGE_JOB_WORKERS="2"))
    try:
        for _ in range(2):
            with pytest.raises(JobFailed):
                workpool.run(time.sleep, 60, timeout_s=0.5)
        assert len(pool.children) == 2
        assert all(c.proc is not None and c.proc.poll() is None for c in pool.children)
        assert workpool.run(add, 1, 2) == 3
    finally:
        workpool.stop()


# --- the database -------------------------------------------------------------------------


def test_run_db_sees_the_database_and_commits_or_rolls_back(db_pool, database_url):
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO street (name) VALUES ('沙头角街道')"))
    assert workpool.run_db(street_names) == ["沙头角街道"]
    workpool.run_db(add_street, "梅沙街道")
    with pytest.raises(ValueError):
        workpool.run_db(add_street_then_fail, "盐田街道")
    with engine.connect() as conn:
        names = sorted(conn.scalars(text("SELECT name FROM street")))
    engine.dispose()
    assert names == ["梅沙街道", "沙头角街道"]


# --- without a pool -----------------------------------------------------------------------


def test_without_a_pool_jobs_run_inline(app):
    workpool.stop()
    assert not workpool.running()
    assert workpool.run(os.getpid) == os.getpid()
    with pytest.raises(ContentError):
        workpool.run(refuse, "empty_file")
    workpool.run_db(add_street, "沙头角街道")  # a session of its own, committed
    assert workpool.run_db(street_names) == ["沙头角街道"]
    with pytest.raises(ValueError):
        workpool.run_db(add_street_then_fail, "梅沙街道")
    assert workpool.run_db(street_names) == ["沙头角街道"]


# --- under gevent -------------------------------------------------------------------------

GEVENT_SCRIPT = """
from gevent import monkey
monkey.patch_all()
import json, os, sys
import gevent
from server import workpool
from server.config import Settings
from tests.server.test_workpool import spin

workpool.start(Settings.from_env({"SIGNAGE_DATA_DIR": sys.argv[1], "SIGNAGE_SECRET_KEY": "t",
                                  "SIGNAGE_JOB_WORKERS": "1"}))
workpool.run(spin, 0.0)  # the first job also waits for the worker's start-up
ticks = 0

def tick():
    global ticks
    while True:
        gevent.sleep(0.01)
        ticks += 1

ticker = gevent.spawn(tick)
gevent.sleep(0.05)
before = ticks
loops = workpool.run(spin, 1.5)
during = ticks - before
print(json.dumps({"ticks_during_job": during, "loops": loops,
                  "worker_nice": workpool.run(os.nice, 0),
                  "worker_has_gevent": workpool.run(eval, "'gevent' in __import__('sys').modules"),
                  "worker_arenas": workpool.run(os.getenv, "MALLOC_ARENA_MAX")}))
workpool.stop()
"""


def test_under_gevent_the_loop_keeps_running_while_a_job_computes(tmp_path):
    done = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loops"] > 0
    # A 10 ms ticker during 1.5 s of someone else's CPU: ~150 ticks if waiting yields,
    # none if the wait blocked the loop.
    assert result["ticks_during_job"] >= 30, result
    # The worker yields the CPU to the loop, and was never monkey-patched itself.
    assert result["worker_nice"] >= 10
    assert result["worker_has_gevent"] is False
    assert result["worker_arenas"] == "2"


def test_an_urgent_job_does_not_wait_for_busy_workers(tmp_path):
    """An emergency broadcast's rendering runs while staff's jobs hold every other worker."""
    workpool.stop()
    workpool.start(settings_for(tmp_path))  # one worker, and the urgent one
    try:
        hold = threading.Thread(target=workpool.run, args=(time.sleep, 4), daemon=True)
        hold.start()
        assert wait_for(lambda: workpool._pool._idle.empty())
        with pytest.raises(JobFailed) as busy:
            workpool.run(add, 1, 2, timeout_s=1)
        assert busy.value.code == "job_busy"
        assert workpool.run(add, 1, 2, urgent=True, timeout_s=10) == 3
        hold.join(30)
    finally:
        workpool.stop()


def test_scheduler_jobs_never_hold_every_worker(tmp_path):
    """At a start the first planned-time and stuck-detection runs took both workers, and
    the first sign-in's password check waited for one of them to finish (20 s on a loaded
    machine). Background jobs take turns on all workers but one."""
    workpool.stop()
    workpool.start(settings_for(tmp_path, SIGNAGE_JOB_WORKERS="2"))
    gate, log = tmp_path / "gate", tmp_path / "log"
    log.touch()
    started = lambda: log.read_text().split().count("start")  # noqa: E731
    jobs = [threading.Thread(target=workpool.run, args=(hold_until, str(gate), str(log)),
                             kwargs={"background": True}, daemon=True) for _ in range(2)]
    try:
        for job in jobs:
            job.start()
        assert wait_for(lambda: started() == 1)
        # A person's job runs at once, on the worker the second background job waits for.
        assert workpool.run(add, 1, 2, timeout_s=60) == 3
        assert started() == 1
        gate.touch()
        for job in jobs:
            job.join(60)
        assert log.read_text().split() == ["start", "end", "start", "end"]
    finally:
        gate.touch()
        workpool.stop()
