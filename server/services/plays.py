"""Proof of play: idempotent ingest of the players' records and their rollups.

Rollups are updated in the same transaction as the ingest, from the rows that were
really inserted (INSERT ... ON CONFLICT DO NOTHING RETURNING id). A retried batch
inserts nothing and so adds nothing; a record arriving days late lands in its own hour,
day and month. Same transaction rather than a later job: a play is in the reports the
moment its batch is acknowledged, and there is no second bookkeeping of "what was
rolled up already" that could double-count.

Four rollups, all kept for good (purge drops only raw records):
- play_hour: terminal x content x UTC hour (hour grouping with fine filters);
- play_day: Asia/Shanghai day x terminal x content; play_month: local month x terminal
  x content (every other grouping: whole months from play_month, the other days from
  play_day);
- play_hour_community: UTC hour x community (day and hour groupings without a finer
  filter than the community).
Each row carries the topic, building and community the terminal had when the row's
first record arrived; later records add to the row and never move it. A terminal moved
to another building therefore counts for its old building up to the hour (day, month)
of the move and for the new one after it; history is not rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from player import protocol
from server.config import PEOPLE_TZ
from server.models import (
    Building,
    Community,
    ContentItem,
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayRecord,
    Terminal,
)

TZ = ZoneInfo(PEOPLE_TZ)


def local_day(instant: datetime) -> date:
    """The Asia/Shanghai day an instant falls on: the one rule for play_day and reports.
    Records are split at UTC hours and local midnight is a UTC hour, so a record never
    spans two local days."""
    return instant.astimezone(TZ).date()


def month_of(day: date) -> date:
    return day.replace(day=1)


def _insert(s: Session, table):
    dialect = s.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


def ingest(s: Session, terminal: Terminal, records: list, now: datetime | None = None
           ) -> tuple[list[str], list[dict]]:
    """Returns (accepted ids, rejected [{id, reason}]). Duplicates count as accepted:
    the player may delete them, the server already has them."""
    accepted: list[str] = []
    rejected: list[dict] = []
    valid: dict[str, dict] = {}
    now = now or datetime.now(UTC)
    for rec in records:
        try:
            if isinstance(rec, dict) and rec.get("terminal_id", terminal.id) != terminal.id:
                raise protocol.ProtocolError("the record belongs to another terminal")
            checked = protocol.check_play_record(rec, now=now)
        except protocol.ProtocolError as err:
            rid = rec.get("id") if isinstance(rec, dict) else None
            rejected.append({"id": rid if isinstance(rid, str) and len(rid) <= 36 else None,
                             "reason": err.reason})
            continue
        valid.setdefault(checked["id"], checked)
    if not valid:
        return accepted, rejected

    place = s.execute(select(Building.id, Building.community_id, Community.street_id)
                      .join(Community).where(Building.id == terminal.building_id)).one()
    content_ids = {r["content_id"] for r in valid.values()}
    topics = dict(s.execute(select(ContentItem.id, ContentItem.topic_id).where(
        ContentItem.id.in_(content_ids), ContentItem.street_id == place.street_id)).all())
    rows = []
    received = datetime.now(UTC)
    for rid, r in valid.items():
        content_id = r["content_id"]
        if content_id not in topics:
            rejected.append({"id": rid, "reason": "unknown content_id"})
            continue
        start, end = r["start"], r["end"]
        rows.append({"id": rid, "terminal_id": terminal.id, "content_id": content_id,
                     "schedule_id": r.get("schedule_id"), "topic_id": topics[content_id],
                     "sha256": r["sha256"], "start": start, "end": end,
                     "seconds": (end - start).total_seconds(), "reason": r["reason"],
                     "received_at": received})
        accepted.append(rid)
    if not rows:
        return accepted, rejected

    # Core, not the ORM bulk path: a third of the cost per row, same statement.
    table = PlayRecord.__table__
    stmt = _insert(s, table).on_conflict_do_nothing(index_elements=["id"])
    inserted = set(s.connection().scalars(stmt.returning(table.c.id), rows))
    if len(inserted) < len(rows):
        rows = [r for r in rows if r["id"] in inserted]
    roll_up(s, terminal.id, place.id, place.community_id, rows)
    return accepted, rejected


def roll_up(s: Session, terminal_id: int, building_id: int, community_id: int,
            rows: list[dict]) -> None:
    """Add newly inserted records of one terminal to every rollup: one upsert statement
    per table, with the batch summed per key in Python first."""
    hours: dict[tuple, list] = defaultdict(lambda: [0.0, 0, None])
    for r in rows:
        acc = hours[(r["content_id"], r["start"].replace(minute=0, second=0, microsecond=0))]
        acc[0] += r["seconds"]
        acc[1] += 1
        acc[2] = r["topic_id"]
    if not hours:
        return
    days: dict[tuple, list] = defaultdict(lambda: [0.0, 0, None])
    months: dict[tuple, list] = defaultdict(lambda: [0.0, 0, None])
    communal: dict[datetime, list] = defaultdict(lambda: [0.0, 0])
    for (content_id, hour), (seconds, plays, topic_id) in hours.items():
        day = local_day(hour)
        for acc in (days[(content_id, day)], months[(content_id, month_of(day))]):
            acc[0] += seconds
            acc[1] += plays
            acc[2] = topic_id
        acc = communal[hour]
        acc[0] += seconds
        acc[1] += plays
    where = {"terminal_id": terminal_id, "building_id": building_id,
             "community_id": community_id}
    for model, col, sums in ((PlayHour, "hour", hours), (PlayDay, "day", days),
                             (PlayMonth, "month", months)):
        _add(s, model, ["terminal_id", "content_id", col],
             [{**where, "content_id": c, col: t, "topic_id": v[2], "seconds": v[0],
               "plays": v[1]} for (c, t), v in sorted(sums.items())])
    _add(s, PlayHourCommunity, ["hour", "community_id"],
         [{"hour": h, "community_id": community_id, "seconds": v[0], "plays": v[1]}
          for h, v in sorted(communal.items())])


def _add(s: Session, model, key: list[str], values: list[dict]) -> None:
    """Upsert adding seconds and plays; the rest of an existing row stays as it was."""
    table = model.__table__
    stmt = _insert(s, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=key,
        set_={"seconds": table.c.seconds + stmt.excluded.seconds,
              "plays": table.c.plays + stmt.excluded.plays})
    s.connection().execute(stmt, values)


def purge(s: Session, keep_days: int, now: datetime | None = None) -> int:
    """Delete raw records older than `keep_days`; the rollups are kept for good."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    return s.execute(delete(PlayRecord).where(PlayRecord.start < cutoff)).rowcount or 0
