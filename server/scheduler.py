"""Exactly one scheduler across every server process and node, through a lease in the database.

Every candidate (each gunicorn worker after fork, see server/gunicorn_conf.py, or a dedicated
`flask --app server scheduler` process) runs a lease loop: one conditional UPDATE takes the
lease when it is free or expired, or renews it when held. The holder resumes its APScheduler;
the others keep theirs paused and try again every `renew_s`, so a killed leader is replaced
within lease_s + renew_s (a holder on the same machine whose process has ended: at once). The
create_app factory never starts one (DESIGN.md).

Each run of a job also claims its period in the database (scheduler_job.slot) with one more
conditional UPDATE, so a job runs at most once per period even across a change of leader, a
leader that stalled past its lease, or a restart (a daily job is not repeated the same day).
Periods are aligned to the epoch, so every candidate agrees on them.

Jobs have fixed ids. Register one with `register_job("my-job", fn, every_s=60)`; `fn()` runs
in an app context and opens its own session (server.db.session_scope). Timed actions are
periodic checks of stored state ("end the broadcasts whose end has passed"), never one-off
in-memory timers, which a change of leader would lose.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from server.db import db
from server.models import JobRun, SchedulerLease
from server.services import nodes

log = logging.getLogger(__name__)
LEASE = "scheduler"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # periods are counted from here, on every node


@dataclass(frozen=True)
class Job:
    id: str
    fn: Callable[[], None]
    every_s: float


JOBS: dict[str, Job] = {}
_candidates: weakref.WeakSet[Scheduler] = weakref.WeakSet()


def register_job(job_id: str, fn: Callable[[], None], every_s: float) -> Job:
    """Run `fn()` once per `every_s` seconds in the one leading scheduler (fixed id).

    Call it at import time of the module that owns the job, and import that module from
    server/chores.py (the scheduler imports it before starting). Registering again under the
    same id replaces the job; candidates already running pick it up at once.
    """
    if not job_id or len(job_id) > 60:
        raise ValueError("a job id is 1 to 60 characters")
    if every_s <= 0:
        raise ValueError("every_s must be positive")
    job = Job(job_id, fn, float(every_s))
    JOBS[job_id] = job
    for candidate in list(_candidates):
        candidate.add(job)
    return job


def _insert_missing(conn: Connection, table, row: dict, key: str) -> None:
    stmt = (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table))
    conn.execute(stmt.values(**row).on_conflict_do_nothing(index_elements=[key]))


class Scheduler:
    """One candidate. `start()` it; it runs the jobs only while it holds the lease."""

    def __init__(self, app: Flask, *, engine: Engine | None = None,
                 jobs: dict[str, Job] | None = None, lease_s: float | None = None,
                 holder: str | None = None) -> None:
        self.app = app
        self.engine = engine or app.extensions["signage_engine"]
        self.jobs = JOBS if jobs is None else jobs
        self.lease_s = float(lease_s or app.config["SIGNAGE"].scheduler_lease_s)
        self.renew_s = self.lease_s / 3
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._aps = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leader = False
        self._valid_until = 0.0  # monotonic end of the lease as this process holds it
        self.leads_since: datetime | None = None  # health judges from then (nodes.py)
        self.runs: dict[str, int] = {}  # runs done here, by job id (for logs and tests)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Scheduler:
        with self.engine.begin() as conn:
            _insert_missing(conn, SchedulerLease.__table__,
                            {"name": LEASE, "holder": "", "expires_at": EPOCH}, "name")
        for job in list(self.jobs.values()):
            self.add(job)
        self._aps.start(paused=True)
        _candidates.add(self)
        self._thread = threading.Thread(target=self._lease_loop, name="scheduler-lease",
                                        daemon=True)
        self._thread.start()
        log.info("scheduler candidate %s started (lease %.0f s)", self.holder, self.lease_s)
        return self

    def stop(self, release: bool = True) -> None:
        """Stop; `release` hands the lease over at once (release=False is what a crash does)."""
        _candidates.discard(self)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        if self._aps.running:
            self._aps.shutdown(wait=True)
        was_leader, self._leader = self._leader, False
        if release and was_leader:
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(SchedulerLease).where(
                        SchedulerLease.name == LEASE, SchedulerLease.holder == self.holder
                    ).values(expires_at=EPOCH))
            except SQLAlchemyError:
                log.warning("could not release the scheduler lease", exc_info=True)
        log.info("scheduler candidate %s stopped", self.holder)

    def add(self, job: Job) -> None:
        with self.engine.begin() as conn:
            _insert_missing(conn, JobRun.__table__, {"id": job.id, "slot": -1, "holder": ""},
                            "id")
        # Fire in the middle of each period, so a late or early firing still names its own.
        start = EPOCH + timedelta(seconds=job.every_s / 2)
        self._aps.add_job(self._run, IntervalTrigger(seconds=job.every_s, start_date=start),
                          args=[job.id], id=job.id, replace_existing=True)
        if self._leader:
            self._catch_up(job.id)

    def _catch_up(self, job_id: str) -> None:
        """Run once now: the current period may still be free (a daily job after a restart)."""
        self._aps.add_job(self._run, "date", run_date=datetime.now(UTC), args=[job_id],
                          id=f"{job_id}@now", replace_existing=True)

    @property
    def is_leader(self) -> bool:
        return self._leader and time.monotonic() < self._valid_until

    # --- the lease ----------------------------------------------------------------------

    def _lease_loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.renew_s)

    def tick(self) -> bool:
        """Take or renew the lease once; resume or pause the jobs to match."""
        began = time.monotonic()
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                held_by = conn.execute(select(SchedulerLease.holder)
                                       .where(SchedulerLease.name == LEASE)).scalar()
                # A holder on this machine whose process has ended is gone now, not only
                # when its lease runs out: a restarted worker leads at once.
                free = [SchedulerLease.holder == self.holder, SchedulerLease.expires_at < now]
                if held_by and _process_gone(held_by):
                    free.append(SchedulerLease.holder == held_by)
                got = conn.execute(update(SchedulerLease).where(
                    SchedulerLease.name == LEASE, or_(*free),
                ).values(holder=self.holder,
                         expires_at=now + timedelta(seconds=self.lease_s))).rowcount == 1
        except SQLAlchemyError as e:
            # Cannot tell: lead on until our own lease would have expired, no longer.
            log.warning("scheduler lease check failed: %s", e)
            got = self.is_leader
        else:
            if got:
                self._valid_until = began + self.lease_s
        if got != self._leader:
            self._leader = got
            if got:
                self.leads_since = now
                log.info("scheduler %s leads: running the jobs", self.holder)
                for job_id in list(self.jobs):
                    self._catch_up(job_id)
                self._aps.resume()
            else:
                log.info("scheduler %s no longer leads: jobs paused", self.holder)
                self._aps.pause()
        return got

    # --- running a job --------------------------------------------------------------------

    def _claim(self, job: Job) -> int | None:
        """The current period of `job`, if this run is the one that gets it."""
        now = datetime.now(UTC)
        slot = int((now - EPOCH).total_seconds() // job.every_s)
        with self.engine.begin() as conn:
            won = conn.execute(update(JobRun).where(JobRun.id == job.id, JobRun.slot < slot)
                               .values(slot=slot, ran_at=now, holder=self.holder)).rowcount
        return slot if won == 1 else None

    def _run(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None or not self.is_leader:
            return
        try:
            slot = self._claim(job)
        except SQLAlchemyError as e:
            log.warning("job %s: cannot claim its period: %s", job_id, e)
            return
        if slot is None:
            return
        log.debug("job %s runs for period %d on %s", job_id, slot, self.holder)
        try:
            with self.app.app_context():
                try:
                    job.fn()
                finally:
                    db.remove()
        except Exception:
            log.exception("job %s failed", job_id)
        self.runs[job_id] = self.runs.get(job_id, 0) + 1


def _process_gone(holder: str) -> bool:
    """A holder ("host:pid:tag") on this machine whose process no longer runs."""
    host, _, rest = holder.partition(":")
    return nodes.process_gone(host, rest.partition(":")[0])


def leads_since() -> datetime | None:
    """Since when this process's scheduler has led (None: it does not)."""
    return max((c.leads_since for c in list(_candidates) if c.is_leader and c.leads_since),
               default=None)


# --- the scheduler embedded in each web worker ------------------------------------------

_embedded: Scheduler | None = None


def start_embedded(app: Flask) -> Scheduler | None:
    """From a gunicorn worker after fork (post_worker_init): a candidate, unless
    SIGNAGE_SCHEDULER=off (when dedicated `flask --app server scheduler` processes run)."""
    global _embedded
    settings = app.config.get("SIGNAGE")  # None: not this product's app (the bench's bare one)
    if settings is None or settings.scheduler != "embedded" or _embedded is not None:
        return _embedded
    import server.chores  # noqa: F401  (registers the jobs)

    _embedded = Scheduler(app).start()
    return _embedded


def stop_embedded() -> None:
    global _embedded
    if _embedded is not None:
        _embedded.stop()
        _embedded = None
