"""Planned time, stored per terminal, content and hour like played time, so a report reads
planned and played the same way (server/services/reports.py). No Flask.

The one scheduler runs `run` every few seconds, in a worker process (server/chores.py):
- `refresh` writes each terminal's planned_hour ahead, to the end of the next local day,
  from the same plan its manifest carries (server/services/manifests.py), and rewrites it
  from the instant of any change that concerns the terminal: `changes.touch` sets
  Terminal.replan_from in the change's own transaction. Terminals sharing a plan share
  its computation. A new terminal's planned time starts when it was created.
- The hour a change falls in keeps, for the part before the change, the share of that
  hour's earlier rows in proportion to the time elapsed: the old plan is gone once the
  change is committed. Every other hour is exact.
- A terminal's rewrite is committed only if no change concerned it meanwhile (its
  manifest_version is the one its plan was built at); otherwise the next run redoes it.
- `close_days` folds each local day that is over into planned_day / planned_month and
  uptime_day / uptime_month, in one transaction with the ClosedDays mark, so a day is
  added exactly once; closed days are never rewritten.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import playlists as pm
from server.config import PEOPLE_TZ
from server.db import add_to
from server.models import (
    SCREEN,
    ClosedDays,
    PlannedDay,
    PlannedHour,
    PlannedMonth,
    Terminal,
    UptimeDay,
    UptimeHour,
    UptimeMonth,
)
from server.services import manifests

TZ = ZoneInfo(PEOPLE_TZ)
HOUR = timedelta(hours=1)
# A local day is closed this long after it ends: heartbeats add uptime up to now, and a
# heartbeat vouches for at most a few status intervals back (fleet.MAX_HEARTBEAT_GAP_S).
CLOSE_AFTER = timedelta(minutes=10)
MARK = "rollups"
BATCH = 200  # terminals whose plans are built together
MAX_DAYS_PER_RUN = 31  # closing a long backlog (after an upgrade) is spread over runs


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), TZ).astimezone(UTC)


def horizon(now: datetime) -> datetime:
    """How far ahead planned time is written: the end of the next local day."""
    return local_midnight(now.astimezone(TZ).date() + timedelta(days=2))


def closed_before(s: Session) -> date | None:
    """The first local day not closed yet (None: nothing has been closed)."""
    return s.scalar(select(ClosedDays.before).where(ClosedDays.name == MARK))


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


# --- writing ahead and after changes --------------------------------------------------


def refresh(s: Session, now: datetime) -> int:
    """Bring every terminal's planned_hour up to date; returns how many were written.
    Commits per terminal (short transactions: SQLite has one writer)."""
    first_open = closed_before(s)
    floor = local_midnight(first_open) if first_open else None
    until = horizon(now)
    stale = or_(Terminal.planned_until.is_(None), Terminal.replan_from.is_not(None),
                Terminal.planned_until < now + timedelta(days=1))
    ids = list(s.scalars(select(Terminal.id).where(stale).order_by(Terminal.id)))
    written = 0
    for i in range(0, len(ids), BATCH):
        # Plain rows, read once with the plan: a rollback must not reload newer values.
        terminals = s.execute(select(*SCREEN, Terminal.created_at, Terminal.planned_until,
                                     Terminal.replan_from)
                              .where(Terminal.id.in_(ids[i:i + BATCH]))).all()
        today = (floor or now).astimezone(TZ).date()
        plans = manifests.shared_plans(s, terminals, today)
        memo: dict[tuple, dict] = {}
        for t in terminals:
            start = _start(t, floor)
            place, key, plan = plans[t.id]
            if start < until:
                if (key, start) not in memo:
                    memo[(key, start)] = pm.planned_by_hour(plan, start, until)
                rows = memo[(key, start)]
            else:
                rows, start = {}, until
            written += _write(s, t, start, until, rows, place)
    return written


def _start(t, floor: datetime | None) -> datetime:
    """Where t's planned hours must be (re)written from."""
    if t.planned_until is None:
        start = t.created_at
    elif t.replan_from is not None:
        start = min(t.replan_from, t.planned_until)  # and any gap before it
    else:
        start = t.planned_until
    start = max(start, t.created_at)
    return max(start, floor) if floor else start


def _write(s: Session, t, start: datetime, until: datetime, rows: dict, place) -> int:
    """Replace t's planned hours from `start` with `rows`, and mark it written to `until`,
    unless a change concerned it since its plan was read."""
    h0 = _floor_hour(start)
    mine = PlannedHour.terminal_id == t.id
    if t.planned_until is None or start == h0:
        s.execute(delete(PlannedHour).where(mine, PlannedHour.hour >= h0))
    else:
        # The hour of the change: keep the earlier rows' share of [its start, start).
        covered_from, covered_to = max(h0, t.created_at), min(h0 + HOUR, t.planned_until)
        keep = ((start - covered_from) / (covered_to - covered_from)
                if covered_to > covered_from else 0.0)
        if keep < 1.0:
            s.execute(update(PlannedHour).where(mine, PlannedHour.hour == h0)
                      .values(seconds=PlannedHour.seconds * min(1.0, keep)))
        s.execute(delete(PlannedHour).where(mine, PlannedHour.hour > h0))
    add_to(s, PlannedHour, ("terminal_id", "hour", "content_id", "building_id"), ("seconds",),
           [{"terminal_id": t.id, "hour": hour, "content_id": content_id,
             "building_id": place.building_id, "topic_id": topic_id,
             "community_id": place.community_id, "seconds": seconds}
            for (hour, content_id, topic_id), seconds in sorted(rows.items())])
    done = s.execute(update(Terminal).where(Terminal.id == t.id,
                                            Terminal.manifest_version == t.manifest_version)
                     .values(planned_until=until, replan_from=None)).rowcount
    if done != 1:
        s.rollback()  # changed meanwhile: still marked, so the next run rewrites it
        return 0
    s.commit()
    return 1


def forget(s: Session, terminal_id: int, now: datetime) -> None:
    """A terminal is deleted: its planned time ends now (in the caller's transaction)."""
    h0 = _floor_hour(now)
    s.execute(delete(PlannedHour).where(PlannedHour.terminal_id == terminal_id,
                                        PlannedHour.hour > h0))
    s.execute(update(PlannedHour)
              .where(PlannedHour.terminal_id == terminal_id, PlannedHour.hour == h0)
              .values(seconds=PlannedHour.seconds * ((now - h0) / HOUR)))


# --- closing days ---------------------------------------------------------------------


def _upsert(s: Session):
    return postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert


def _first_day(s: Session, now: datetime) -> date:
    """Where closing starts on a new database: the first hour anything was recorded."""
    firsts = [s.scalar(select(func.min(PlannedHour.hour))),
              s.scalar(select(func.min(UptimeHour.hour)))]
    found = [t for t in firsts if t is not None]
    return min(found).astimezone(TZ).date() if found else now.astimezone(TZ).date()


def close_days(s: Session, now: datetime) -> list[date]:
    """Close every local day that ended at least CLOSE_AFTER ago; returns them."""
    first = closed_before(s)
    if first is None:
        s.execute(_upsert(s)(ClosedDays).values(name=MARK, before=_first_day(s, now))
                  .on_conflict_do_nothing(index_elements=["name"]))
        s.commit()
        first = closed_before(s)
    last = (now - CLOSE_AFTER).astimezone(TZ).date()  # days before this one are over
    closed = []
    day = first
    while day < last and len(closed) < MAX_DAYS_PER_RUN:
        _close_day(s, day)
        moved = s.execute(update(ClosedDays).where(ClosedDays.name == MARK,
                                                   ClosedDays.before == day)
                          .values(before=day + timedelta(days=1))).rowcount
        if moved != 1:  # another run closed it first
            s.rollback()
            break
        s.commit()
        closed.append(day)
        day += timedelta(days=1)
    return closed


PLANNED_KEY = ("terminal_id", "content_id", "building_id")
UPTIME = ("online_seconds", "screen_on_seconds", "cache_missing_seconds")


def _close_day(s: Session, day: date) -> None:
    a, b = local_midnight(day), local_midnight(day + timedelta(days=1))
    month = day.replace(day=1)
    ph = PlannedHour
    planned = s.execute(
        select(ph.terminal_id, ph.content_id, ph.building_id, func.max(ph.topic_id),
               func.max(ph.community_id), func.sum(ph.seconds))
        .where(ph.hour >= a, ph.hour < b).group_by(*(getattr(ph, k) for k in PLANNED_KEY))
    ).all()
    rows = [dict(zip(PLANNED_KEY + ("topic_id", "community_id", "seconds"), r, strict=True))
            for r in planned]
    if rows:
        s.execute(insert(PlannedDay), [{**r, "day": day} for r in rows])
        add_to(s, PlannedMonth, ("month",) + PLANNED_KEY, ("seconds",),
               [{"month": month, **r} for r in rows])
    up = s.execute(
        select(UptimeHour.terminal_id, *(func.sum(getattr(UptimeHour, c)) for c in UPTIME))
        .where(UptimeHour.hour >= a, UptimeHour.hour < b).group_by(UptimeHour.terminal_id)
    ).all()
    uptime = [dict(zip(("terminal_id",) + UPTIME, r, strict=True)) for r in up]
    if uptime:
        s.execute(insert(UptimeDay), [{**r, "day": day} for r in uptime])
        add_to(s, UptimeMonth, ("month", "terminal_id"), UPTIME,
               [{"month": month, **r} for r in uptime])


def run(s: Session, now: datetime | None = None) -> dict:
    """The scheduler's job: write what is stale, then close the days that are over."""
    now = now or datetime.now(UTC)
    written = refresh(s, now)
    closed = close_days(s, now)
    return {"terminals": written, "closed": [d.isoformat() for d in closed]}

