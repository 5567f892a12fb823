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
  It is committed in parts of whole hours, at most MAX_ROWS_PER_COMMIT rows each, every
  part leaving the terminal written up to its end: SQLite has one writer, and a
  terminal's 48 hours x 36 demo items (1,728 rows) in one transaction held the lock up
  to 1.5 s from a niced job worker on a loaded machine.
- `close_hours` adds each hour that is over to planned_day / planned_month and their
  per-terminal and per-item slices, and uptime_hour to uptime_day / uptime_month, in one
  transaction with the ClosedHours mark, so an hour is added exactly once; closed hours
  are never rewritten. Reports read closed time from those rollups and only the last
  hour or two from hour rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import playlists as pm
from server.config import PEOPLE_TZ
from server.db import add_to, to_driver
from server.models import (
    SCREEN,
    ClosedHours,
    PlannedContentDay,
    PlannedContentMonth,
    PlannedDay,
    PlannedHour,
    PlannedMonth,
    PlannedTerminalDay,
    PlannedTerminalMonth,
    Terminal,
    UptimeDay,
    UptimeHour,
    UptimeMonth,
)
from server.services import manifests

TZ = ZoneInfo(PEOPLE_TZ)
HOUR = timedelta(hours=1)
# An hour is closed this long after it ends: heartbeats add uptime up to now, and a
# heartbeat vouches for at most a few status intervals back (fleet.MAX_HEARTBEAT_GAP_S).
CLOSE_AFTER = timedelta(minutes=10)
MARK = "rollups"
BATCH = 200  # terminals whose plans are built together
# Rows of planned_hour one transaction writes at most (more only if one hour alone has
# more): a few milliseconds of SQLite's write lock, so a sign-in or a heartbeat waiting
# behind the job waits that long, not for a whole terminal's or run's writing.
MAX_ROWS_PER_COMMIT = 500
MAX_HOURS_PER_RUN = 48  # closing a long backlog (after an upgrade) is spread over runs


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), TZ).astimezone(UTC)


def horizon(now: datetime) -> datetime:
    """How far ahead planned time is written: the end of the next local day."""
    return local_midnight(now.astimezone(TZ).date() + timedelta(days=2))


def closed_before(s: Session) -> datetime | None:
    """The first hour not closed yet (None: nothing has been closed)."""
    return s.scalar(select(ClosedHours.before).where(ClosedHours.name == MARK))


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


# --- writing ahead and after changes --------------------------------------------------


def refresh(s: Session, now: datetime) -> int:
    """Bring every terminal's planned_hour up to date; returns how many were written.
    Commits per part of a terminal (short transactions: SQLite has one writer); plans and
    rows are computed outside any write transaction."""
    floor = closed_before(s)
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
    """Replace t's planned hours from `start` with `rows` and mark it written to `until`,
    in parts (see `_parts`), each committed only if no change concerned t since its plan
    was read; 1 if every part was, else 0 (t stays marked from where it was written to)."""
    written_until = t.planned_until
    h0 = _floor_hour(start)
    # The hours a rewrite replaces whole: from the change's own hour when that starts it.
    first = h0 if written_until is None or start == h0 else h0 + HOUR
    if t.replan_from is not None and written_until is not None and \
            _stored_from(s, t.id, first) == _rows_from(s, rows, first, place):
        # A change that leaves the later hours as they were (a new file of the same item,
        # a change to what this screen does not plan): only its own hour is rewritten.
        # Deleting and inserting the same rows, a fleet's 1,728 each, held SQLite's one
        # write lock for seconds after every publish, and the hub's group commits waited
        # for it in the busy handler, with the whole event loop (bench_receipts).
        own = [(hour, c, topic, sec) for (hour, c, topic), sec in sorted(rows.items())
               if hour < first]
        return int(_write_part(s, t, start, until, own, place, written_until,
                               later_kept=True))
    for end, part in _parts(rows, start, until):
        if not _write_part(s, t, start, end, part, place, written_until):
            return 0
        start = written_until = end
    return 1


_STORED = ("SELECT hour, content_id, building_id, topic_id, community_id, seconds"
           " FROM planned_hour WHERE terminal_id = ? AND hour >= ?")


def _stored_from(s: Session, terminal_id: int, first: datetime) -> dict[tuple, tuple]:
    """t's stored rows from `first`, hours as the driver gives them (see `_rows_from`):
    read through the driver, a fleet's 1,728 rows a screen cost the job seconds in
    SQLAlchemy's row processing."""
    conn = s.connection()
    sql = _STORED if conn.dialect.paramstyle == "qmark" else _STORED.replace("?", "%s")
    return {(hour, c, b): (topic, community, sec) for hour, c, b, topic, community, sec in
            conn.exec_driver_sql(sql, (terminal_id, to_driver(s)(first)))}


def _rows_from(s: Session, rows: dict, first: datetime, place) -> dict[tuple, tuple]:
    """`rows` from `first` as `_stored_from` reads them once written."""
    to_db = to_driver(s)
    return {(to_db(hour), c, place.building_id): (topic, place.community_id, sec)
            for (hour, c, topic), sec in rows.items() if hour >= first}


def _parts(rows: dict, start: datetime, until: datetime) -> list[tuple[datetime, list]]:
    """`rows` ({(hour, content_id, topic_id): seconds}) cut at hour boundaries into parts of
    at most MAX_ROWS_PER_COMMIT rows (an hour is never cut): [(end of the part, its rows)],
    the last ending at `until`."""
    by_hour: dict[datetime, list] = defaultdict(list)
    for (hour, content_id, topic_id), seconds in sorted(rows.items()):
        by_hour[hour].append((hour, content_id, topic_id, seconds))
    parts: list[tuple[datetime, list]] = []
    current: list = []
    for hour, hour_rows in by_hour.items():
        if current and len(current) + len(hour_rows) > MAX_ROWS_PER_COMMIT and hour > start:
            parts.append((hour, current))
            current = []
        current.extend(hour_rows)
    parts.append((until, current))
    return parts


def _write_part(s: Session, t, start: datetime, end: datetime, rows: list, place,
                written_until: datetime | None, later_kept: bool = False) -> bool:
    """One transaction: t's planned hours from `start` replaced by `rows` (hours before
    `end`), t marked written to `end`; rolled back if a change concerned t meanwhile.
    `written_until`: how far t's stored hours reach (None: none stored yet).
    `later_kept`: the stored whole hours are already what `rows` would make them; only
    the part of the change's own hour from `start` is written."""
    h0 = _floor_hour(start)
    mine = PlannedHour.terminal_id == t.id
    if written_until is None or start == h0:
        if not later_kept:
            s.execute(delete(PlannedHour).where(mine, PlannedHour.hour >= h0))
    else:
        # The hour of the change: keep the earlier rows' share of [its start, start).
        covered_from, covered_to = max(h0, t.created_at), min(h0 + HOUR, written_until)
        keep = ((start - covered_from) / (covered_to - covered_from)
                if covered_to > covered_from else 0.0)
        if keep < 1.0:
            s.execute(update(PlannedHour).where(mine, PlannedHour.hour == h0)
                      .values(seconds=PlannedHour.seconds * min(1.0, keep)))
        if not later_kept:
            s.execute(delete(PlannedHour).where(mine, PlannedHour.hour > h0))
    add_to(s, PlannedHour, ("terminal_id", "hour", "content_id", "building_id"), ("seconds",),
           [{"terminal_id": t.id, "hour": hour, "content_id": content_id,
             "building_id": place.building_id, "topic_id": topic_id,
             "community_id": place.community_id, "seconds": seconds}
            for hour, content_id, topic_id, seconds in rows])
    done = s.execute(update(Terminal).where(Terminal.id == t.id,
                                            Terminal.manifest_version == t.manifest_version)
                     .values(planned_until=end, replan_from=None)).rowcount
    if done != 1:
        s.rollback()  # changed meanwhile: still marked, so the next run rewrites it
        return False
    s.commit()
    return True


def forget(s: Session, terminal_id: int, now: datetime) -> None:
    """A terminal is deleted: its planned time ends now (in the caller's transaction)."""
    h0 = _floor_hour(now)
    s.execute(delete(PlannedHour).where(PlannedHour.terminal_id == terminal_id,
                                        PlannedHour.hour > h0))
    s.execute(update(PlannedHour)
              .where(PlannedHour.terminal_id == terminal_id, PlannedHour.hour == h0)
              .values(seconds=PlannedHour.seconds * ((now - h0) / HOUR)))


# --- closing hours -------------------------------------------------------------------


def _upsert(s: Session):
    return postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert


def _first_hour(s: Session, now: datetime) -> datetime:
    """Where closing starts on a new database: the first hour anything was recorded."""
    firsts = [s.scalar(select(func.min(PlannedHour.hour))),
              s.scalar(select(func.min(UptimeHour.hour)))]
    found = [t for t in firsts if t is not None]
    return min(found) if found else _floor_hour(now)


def close_hours(s: Session, now: datetime) -> list[datetime]:
    """Close every hour that ended at least CLOSE_AFTER ago; returns them."""
    hour = closed_before(s)
    if hour is None:
        s.execute(_upsert(s)(ClosedHours).values(name=MARK, before=_first_hour(s, now))
                  .on_conflict_do_nothing(index_elements=["name"]))
        s.commit()
        hour = closed_before(s)
    closed = []
    while hour + HOUR <= now - CLOSE_AFTER and len(closed) < MAX_HOURS_PER_RUN:
        _close_hour(s, hour)
        moved = s.execute(update(ClosedHours).where(ClosedHours.name == MARK,
                                                    ClosedHours.before == hour)
                          .values(before=hour + HOUR)).rowcount
        if moved != 1:  # another run closed it first
            s.rollback()
            break
        s.commit()
        closed.append(hour)
        hour += HOUR
    return closed


PLANNED_KEY = ("terminal_id", "content_id", "building_id")
UPTIME = ("online_seconds", "screen_on_seconds", "cache_missing_seconds")


def _close_hour(s: Session, hour: datetime) -> None:
    day = hour.astimezone(TZ).date()
    month = day.replace(day=1)
    ph = PlannedHour
    rows = [dict(zip(PLANNED_KEY + ("topic_id", "community_id", "seconds"), r, strict=True))
            for r in s.execute(select(ph.terminal_id, ph.content_id, ph.building_id,
                                      ph.topic_id, ph.community_id, ph.seconds)
                               .where(ph.hour == hour, ph.seconds > 0))]
    if rows:
        for grain, at, model in (("day", day, PlannedDay), ("month", month, PlannedMonth)):
            add_to(s, model, (grain,) + PLANNED_KEY, ("seconds",),
                   [{grain: at, **r} for r in rows])
        _close_slices(s, day, month, rows)
    uptime = [dict(zip(("terminal_id",) + UPTIME, r, strict=True))
              for r in s.execute(select(UptimeHour.terminal_id,
                                        *(getattr(UptimeHour, c) for c in UPTIME))
                                 .where(UptimeHour.hour == hour))]
    for grain, at, model in (("day", day, UptimeDay), ("month", month, UptimeMonth)):
        add_to(s, model, (grain, "terminal_id"), UPTIME, [{grain: at, **r} for r in uptime])


def _close_slices(s: Session, day: date, month: date, rows: list[dict]) -> None:
    """The hour's planned seconds per terminal and per community x item (what reports read
    when no filter needs terminal x item), added to their day and month."""
    terminals: dict[tuple, list] = defaultdict(lambda: [None, 0.0])
    items: dict[tuple, list] = defaultdict(lambda: [None, 0.0])
    for r in rows:
        acc = terminals[(r["terminal_id"], r["building_id"])]
        acc[0] = r["community_id"]
        acc[1] += r["seconds"]
        acc = items[(r["community_id"], r["content_id"])]
        acc[0] = r["topic_id"]
        acc[1] += r["seconds"]
    by_terminal = [{"terminal_id": t, "building_id": b, "community_id": c, "seconds": sec}
                   for (t, b), (c, sec) in sorted(terminals.items())]
    by_item = [{"community_id": c, "content_id": i, "topic_id": topic, "seconds": sec}
               for (c, i), (topic, sec) in sorted(items.items())]
    for grain, at, per_terminal, per_item in (
            ("day", day, PlannedTerminalDay, PlannedContentDay),
            ("month", month, PlannedTerminalMonth, PlannedContentMonth)):
        add_to(s, per_terminal, (grain, "terminal_id", "building_id"), ("seconds",),
               [{grain: at, **r} for r in by_terminal])
        add_to(s, per_item, (grain, "community_id", "content_id"), ("seconds",),
               [{grain: at, **r} for r in by_item])


def run(s: Session, now: datetime | None = None) -> dict:
    """The scheduler's job: write what is stale, then close the hours that are over."""
    now = now or datetime.now(UTC)
    written = refresh(s, now)
    closed = close_hours(s, now)
    return {"terminals": written, "closed": [h.isoformat() for h in closed]}

