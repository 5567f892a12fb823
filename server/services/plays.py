"""Proof of play: idempotent ingest of the players' records and their rollups.

Rollups are updated in the same transaction as the ingest, from the rows that were
really inserted (INSERT ... ON CONFLICT DO NOTHING RETURNING id). A retried batch
inserts nothing and so adds nothing; a record arriving days late lands in its own hour,
day and month. Same transaction rather than a later job: a play is in the reports the
moment its batch is acknowledged, and there is no second bookkeeping of "what was
rolled up already" that could double-count.

Rollups, all kept for good (purge drops only raw records):
- play_hour: terminal x content x UTC hour (hour grouping with fine filters);
- play_day: Asia/Shanghai day x terminal x content; play_month: local month x terminal
  x content (every other grouping: whole months from play_month, the other days from
  play_day);
- play_hour_community: UTC hour x community (day and hour groupings without a finer
  filter than the community);
- play_terminal_day / _month: local day or month x terminal, with the seconds of
  full-screen broadcasts among them; play_content_day / _month: local day or month x
  community x content. Reports read these unless a filter needs terminal x content.
Every rollup is keyed by the layout region that showed the play too (main | ticker |
image, the record's `region`), so each region's time is exact; reports count the main
region's unless asked otherwise (server/services/reports.py).
Each accepted upload that adds records is one PlayBatch, a link of the terminal's hash
chain ("plays:<terminal id>", server/services/chains.py): per upload one UPDATE takes the
chain's lock, one INSERT stores the batch (its hash over every record it adds), and one
UPDATE moves the head; the records carry the batch's id in their own INSERT. Retention
removes whole batches, oldest first, and records the removal in the audit chain.

Each row is keyed by the building the terminal stood in when the records arrived, and
carries that building's community and the item's topic. A terminal moved to another
building therefore counts for its old building (and community) for what it reported
before the move and for the new one after it, at every granularity alike; history is
not rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from player import protocol
from server.config import PEOPLE_TZ
from server.db import add_to, to_driver
from server.models import (
    Broadcast,
    Building,
    Community,
    ContentItem,
    PlayBatch,
    PlayContentDay,
    PlayContentMonth,
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayRecord,
    PlayTerminalDay,
    PlayTerminalMonth,
    Terminal,
)
from server.services import audit, chains, receipts
from server.services.access import Actor

TZ = ZoneInfo(PEOPLE_TZ)


def local_day(instant: datetime) -> date:
    """The Asia/Shanghai day an instant falls on: the one rule for play_day and reports.
    Records are split at UTC hours and local midnight is a UTC hour, so a record never
    spans two local days."""
    return instant.astimezone(TZ).date()


def month_of(day: date) -> date:
    return day.replace(day=1)


def ingest(s: Session, terminal: Terminal, records: list, now: datetime | None = None
           ) -> tuple[list[str], list[dict]]:
    """Returns (accepted ids, rejected [{id, reason}]). Duplicates count as accepted:
    the player may delete them, the server already has them."""
    accepted: list[str] = []
    rejected: list[dict] = []
    valid: dict[str, dict] = {}
    now = now or datetime.now(UTC)
    tid = terminal.id  # read once: an ORM attribute costs more than a local per record
    for rec in records:
        try:
            if isinstance(rec, dict) and rec.get("terminal_id", tid) != tid:
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

    # One round trip: the batch's items of this terminal's street, with where it stands
    # and whether the item is a full-screen broadcast's (its time pre-empts the schedule).
    full = select(Broadcast.content_id).where(Broadcast.mode == "full").scalar_subquery()
    found = s.connection().execute(
        select(ContentItem.id, ContentItem.topic_id, Building.id, Building.community_id,
               ContentItem.id.in_(full))
        .select_from(Building).join(Community)
        .join(ContentItem, ContentItem.street_id == Community.street_id)
        .where(Building.id == terminal.building_id,
               ContentItem.id.in_({r["content_id"] for r in valid.values()}))).all()
    topics = {content_id: topic_id for content_id, topic_id, *_ in found}
    broadcast = {content_id for content_id, *_, is_broadcast in found if is_broadcast}
    rows = []
    to_db = to_driver(s)
    received_at = now  # the batch's and its records' arrival (`now` in a replay)
    received = to_db(received_at)
    for rid, r in valid.items():
        content_id = r["content_id"]
        if content_id not in topics:
            rejected.append({"id": rid, "reason": "unknown content_id"})
            continue
        start, end = r["start"], r["end"]
        rows.append(((rid, tid, content_id, r.get("schedule_id"), topics[content_id],
                      r["sha256"], to_db(start), to_db(end), (end - start).total_seconds(),
                      r["reason"], received, r["region"]), start))
        accepted.append(rid)
    if not rows:
        return accepted, rejected

    # The chain's lock first, then the batch (hashed over every record offered: a retried
    # upload's records are already in an earlier batch, and the rare overlap is mended).
    link = chains.begin(s, chains.plays_chain(tid))
    facts = {values[0]: chains.record_fact(values) for values, _ in rows}
    entry_hash, count = chains.batch_hash(link.seq, link.prev_hash, tid, received_at,
                                          facts.values())
    batch_id = s.execute(insert(PlayBatch).values(
        terminal_id=tid, seq=link.seq, prev_hash=link.prev_hash, entry_hash=entry_hash,
        count=count, received_at=received_at).returning(PlayBatch.id)).scalar_one()
    inserted = _insert_new(s, [(*values, batch_id) for values, _ in rows])
    if not inserted:  # all already stored: no link
        s.execute(delete(PlayBatch).where(PlayBatch.id == batch_id))
        chains.undo(s, link)
        return accepted, rejected
    if len(inserted) < len(rows):
        entry_hash, count = chains.batch_hash(link.seq, link.prev_hash, tid, received_at,
                                              [facts[rid] for rid in inserted])
        s.execute(update(PlayBatch).where(PlayBatch.id == batch_id)
                  .values(entry_hash=entry_hash, count=count))
    chains.finish(s, link, entry_hash)
    building_id, community_id = found[0][2], found[0][3]
    roll_up(s, tid, building_id, community_id,
            [(values[2], values[4], start, values[8], values[11]) for values, start in rows
             if values[0] in inserted], broadcast)
    receipts.plays(s, tid, [(values[2], start) for values, start in rows
                            if values[0] in inserted], received_at)
    return accepted, rejected


RECORD_COLUMNS = ("id", "terminal_id", "content_id", "schedule_id", "topic_id", "sha256",
                  "start", "end", "seconds", "reason", "received_at", "region", "batch_id")
_CHUNK = 500  # rows per statement: 6,500 parameters, under every driver's limit


def _insert_new(s: Session, rows: list[tuple]) -> set[str]:
    """INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id, one statement per chunk, with
    values already in the driver's types: SQLAlchemy's per-value bind processing was half
    of the ingest time. Returns the ids really inserted (not there before).

    PostgreSQL gets one array per column (unnest): psycopg re-parses a statement with
    thousands of placeholders every time, which cost more than the insert itself."""
    conn = s.connection()
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    table = PlayRecord.__table__
    head = (f"INSERT INTO {table.name} ({', '.join(quote(c) for c in RECORD_COLUMNS)}) ")
    tail = " ON CONFLICT (id) DO NOTHING RETURNING id"
    inserted: set[str] = set()
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i:i + _CHUNK]
        if dialect.name == "postgresql":
            arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect)}[]"
                               for c in RECORD_COLUMNS)
            sql = f"{head}SELECT * FROM unnest({arrays}){tail}"
            params = tuple(list(column) for column in zip(*chunk, strict=True))
        else:
            one = "(" + ", ".join(["?"] * len(RECORD_COLUMNS)) + ")"
            sql = f"{head}VALUES {', '.join([one] * len(chunk))}{tail}"
            params = tuple(v for row in chunk for v in row)
        inserted.update(r[0] for r in conn.exec_driver_sql(sql, params).fetchall())
    return inserted


ADDED = ("seconds", "plays")  # what a rollup row adds up; the rest stays as first written
TERMINAL_ADDED = ADDED + ("broadcast_seconds",)


def roll_up(s: Session, terminal_id: int, building_id: int, community_id: int,
            rows: list[tuple[int, int | None, datetime, float, str]],
            broadcast: Container[int] = frozenset()) -> None:
    """Add newly inserted records of one terminal, as (content_id, topic_id, start,
    seconds, region), to every rollup: one upsert statement per table, the batch summed
    per key in Python first. `broadcast`: the items that are full-screen broadcasts."""
    hours: dict[tuple, list] = defaultdict(lambda: [0.0, 0, None])
    for content_id, topic_id, start, seconds, region in rows:
        acc = hours[(content_id, start.replace(minute=0, second=0, microsecond=0), region)]
        acc[0] += seconds
        acc[1] += 1
        acc[2] = topic_id
    if not hours:
        return
    days: dict[tuple, list] = defaultdict(lambda: [0.0, 0, None])
    months: dict[tuple, list] = defaultdict(lambda: [0.0, 0, None])
    communal: dict[tuple, list] = defaultdict(lambda: [0.0, 0])
    for (content_id, hour, region), (seconds, plays, topic_id) in hours.items():
        day = local_day(hour)
        for acc in (days[(content_id, day, region)],
                    months[(content_id, month_of(day), region)]):
            acc[0] += seconds
            acc[1] += plays
            acc[2] = topic_id
        acc = communal[(hour, region)]
        acc[0] += seconds
        acc[1] += plays
    where = {"terminal_id": terminal_id, "building_id": building_id,
             "community_id": community_id}
    for model, col, sums in ((PlayHour, "hour", hours), (PlayDay, "day", days),
                             (PlayMonth, "month", months)):
        add_to(s, model, ("terminal_id", "content_id", col, "building_id", "region"), ADDED,
               [{**where, "content_id": c, col: t, "region": r, "topic_id": v[2],
                 "seconds": v[0], "plays": v[1]} for (c, t, r), v in sorted(sums.items())])
    add_to(s, PlayHourCommunity, ("hour", "community_id", "region"), ADDED,
           [{"hour": h, "community_id": community_id, "region": r, "seconds": v[0],
             "plays": v[1]} for (h, r), v in sorted(communal.items())])
    # The terminal's and the items' own totals per day and month (no terminal x content).
    mine: dict[tuple, list] = defaultdict(lambda: [0.0, 0, 0.0])
    theirs: dict[tuple, list] = defaultdict(lambda: [0.0, 0, None])
    for (content_id, day, region), (seconds, plays, topic_id) in days.items():
        for grain, at in (("day", day), ("month", month_of(day))):
            acc = mine[(grain, at, region)]
            acc[0] += seconds
            acc[1] += plays
            acc[2] += seconds if content_id in broadcast else 0.0
            acc = theirs[(grain, at, content_id, region)]
            acc[0] += seconds
            acc[1] += plays
            acc[2] = topic_id
    for grain, model in (("day", PlayTerminalDay), ("month", PlayTerminalMonth)):
        add_to(s, model, (grain, "terminal_id", "building_id", "region"), TERMINAL_ADDED,
               [{grain: at, "terminal_id": terminal_id, "building_id": building_id,
                 "region": r, "community_id": community_id, "seconds": v[0], "plays": v[1],
                 "broadcast_seconds": v[2]}
                for (g, at, r), v in sorted(mine.items()) if g == grain])
    for grain, model in (("day", PlayContentDay), ("month", PlayContentMonth)):
        add_to(s, model, (grain, "community_id", "content_id", "region"), ADDED,
               [{grain: at, "community_id": community_id, "content_id": c, "region": r,
                 "topic_id": v[2], "seconds": v[0], "plays": v[1]}
                for (g, at, c, r), v in sorted(theirs.items()) if g == grain])


def purge(s: Session, keep_days: int, now: datetime | None = None) -> int:
    """Delete raw records in batches received more than `keep_days` ago (whole batches,
    oldest first, as chains.purge_plays); the rollups are kept for good. The removal is
    recorded in the audit chain. Returns the records deleted."""
    removed = chains.purge_plays(s, keep_days, now)
    if not removed:
        return 0
    audit.record_purge(s, Actor.system(0, "retention"),
                       {"label": "plays", "keep_days": keep_days, "chains": removed})
    return sum(r["records"] for r in removed)
