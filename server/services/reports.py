"""Playback-hour reports from the hourly rollups, grouped in Asia/Shanghai. No Flask.

Played seconds come from `play_hour` (proof of play, rolled up at ingest); planned
seconds from the one resolver's timeline; uptime from `uptime_hour`. Staff see their
own community's terminals only.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import playlists as pm
from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import (
    Building,
    Community,
    ContentItem,
    PlayHour,
    Terminal,
    Topic,
    UptimeHour,
)
from server.services import manifests
from server.services.access import Actor
from server.services.errors import N_, Invalid

TZ = ZoneInfo(PEOPLE_TZ)
GROUPS = ("topic", "content", "terminal", "building", "community", "day", "hour")
GROUP_NAMES = (N_("topic"), N_("content"), N_("terminal"), N_("building"), N_("community"),
               N_("day"), N_("hour"))
MAX_DAYS = 400
MAX_PLANNED_DAYS = 31  # planned seconds expand the timeline: bounded work per request


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive, local dates

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), TZ).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), TZ).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period(first: date | None, last: date | None) -> Period:
    today = utcnow().astimezone(TZ).date()
    p = Period(first or today, last or first or today)
    if p.last < p.first:
        raise Invalid(N_("The end date is before the start date."), field="to")
    if p.days > MAX_DAYS:
        raise Invalid(N_("A report covers at most %(max)d days."), field="to", max=MAX_DAYS)
    return p


@dataclass
class Filters:
    topic_id: int | None = None
    content_id: int | None = None
    terminal_id: int | None = None
    building_id: int | None = None
    community_id: int | None = None


@dataclass
class Row:
    key: object
    label: str
    seconds: float = 0.0
    plays: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def hours(self) -> float:
        return self.seconds / 3600


def _scoped(q, actor: Actor, f: Filters):
    """Join the rollup to the tree, keep the actor's community, apply the filters."""
    q = (q.join(Terminal, Terminal.id == PlayHour.terminal_id)
         .join(Building, Building.id == Terminal.building_id)
         .join(Community, Community.id == Building.community_id)
         .where(Community.street_id == actor.street_id))
    if not actor.is_street_admin:
        q = q.where(Building.community_id == actor.community_id)
    for col, value in ((PlayHour.topic_id, f.topic_id), (PlayHour.content_id, f.content_id),
                       (PlayHour.terminal_id, f.terminal_id),
                       (Terminal.building_id, f.building_id),
                       (Building.community_id, f.community_id)):
        if value is not None:
            q = q.where(col == value)
    return q


def _in(q, p: Period):
    return q.where(PlayHour.hour >= p.start, PlayHour.hour < p.end)


KEYS = {
    "topic": (PlayHour.topic_id, Topic.name, Topic.id),
    "content": (PlayHour.content_id, ContentItem.title, ContentItem.id),
    "terminal": (PlayHour.terminal_id, Terminal.name, None),
    "building": (Building.id, Building.name, None),
    "community": (Community.id, Community.name, None),
}


def playback(s: Session, actor: Actor, p: Period, by: str, f: Filters | None = None
             ) -> list[Row]:
    f = f or Filters()
    if by not in GROUPS:
        raise Invalid(N_("Group by one of: %(groups)s."), field="by", groups=", ".join(GROUPS))
    sums = (func.sum(PlayHour.seconds), func.sum(PlayHour.plays))
    if by in ("day", "hour"):
        q = _in(_scoped(select(PlayHour.hour, *sums), actor, f), p).group_by(PlayHour.hour)
        buckets: dict[str, Row] = {}
        for hour, seconds, plays in s.execute(q):
            local = hour.astimezone(TZ)
            key = local.strftime("%Y-%m-%d") if by == "day" else local.strftime("%Y-%m-%d %H:00")
            row = buckets.setdefault(key, Row(key, key))
            row.seconds += seconds or 0.0
            row.plays += plays or 0
        return [buckets[k] for k in sorted(buckets)]
    key_col, label_col, join_id = KEYS[by]
    q = select(key_col, label_col, *sums)
    q = _scoped(q.select_from(PlayHour), actor, f)
    if join_id is not None:
        q = q.outerjoin(join_id.table, join_id == key_col)
    q = _in(q, p).group_by(key_col, label_col).order_by(func.sum(PlayHour.seconds).desc())
    return [Row(key, label or f"#{key}", seconds or 0.0, plays or 0)
            for key, label, seconds, plays in s.execute(q)]


@dataclass
class Headline:
    topics: int
    seconds: float
    plays: int
    terminals_reporting: int
    planned_seconds: float | None
    share_played: float | None

    @property
    def hours(self) -> float:
        return self.seconds / 3600


def headline(s: Session, actor: Actor, p: Period, f: Filters | None = None,
             with_planned: bool = True) -> Headline:
    f = f or Filters()
    q = _in(_scoped(select(
        func.count(func.distinct(PlayHour.topic_id)), func.coalesce(func.sum(PlayHour.seconds), 0),
        func.coalesce(func.sum(PlayHour.plays), 0),
        func.count(func.distinct(PlayHour.terminal_id))), actor, f), p)
    topics, seconds, plays, terminals = s.execute(q).one()
    planned = None
    if with_planned and p.days <= MAX_PLANNED_DAYS:
        planned = sum(r.extra["planned"] for r in planned_vs_played(s, actor, p, "terminal", f))
    share = (seconds / planned) if planned else None
    return Headline(topics, float(seconds), int(plays), terminals, planned, share)


def _terminals_in_scope(s: Session, actor: Actor, f: Filters) -> list[Terminal]:
    q = (select(Terminal).join(Building).join(Community)
         .where(Community.street_id == actor.street_id))
    if not actor.is_street_admin:
        q = q.where(Building.community_id == actor.community_id)
    for col, value in ((Terminal.id, f.terminal_id), (Terminal.building_id, f.building_id),
                       (Building.community_id, f.community_id)):
        if value is not None:
            q = q.where(col == value)
    return list(s.scalars(q.order_by(Terminal.id)))


def planned_vs_played(s: Session, actor: Actor, p: Period, by: str = "content",
                      f: Filters | None = None) -> list[Row]:
    """Planned seconds (the resolver's timeline while the screen is planned on, up to now)
    against played seconds, per content item or per terminal, with what the data says
    about a shortfall: hours offline and hours with the screen off."""
    f = f or Filters()
    if by not in ("content", "terminal"):
        raise Invalid(N_("Planned against played is by content or by terminal."), field="by")
    if p.days > MAX_PLANNED_DAYS:
        raise Invalid(N_("Planned against played covers at most %(max)d days."), field="to",
                      max=MAX_PLANNED_DAYS)
    end = min(p.end, utcnow())
    planned: dict[int, float] = defaultdict(float)
    labels: dict[int, str] = {}
    terminals = _terminals_in_scope(s, actor, f)
    for t in terminals:
        if p.start >= end:
            break
        plan = pm.compile_plan(manifests.build_plan(s, t))
        for seg in pm.timeline(plan, p.start, end):
            item = seg.item
            if item is None or (f.topic_id and item.topic_id != f.topic_id) or (
                    f.content_id and item.content_id != f.content_id):
                continue
            if not pm.screen_state(plan, seg.start).on:
                continue
            planned[item.content_id if by == "content" else t.id] += seg.seconds
        labels[t.id] = t.name
    played = {r.key: r for r in playback(s, actor, p, by, f)}
    uptime = _uptime(s, [t.id for t in terminals], p) if by == "terminal" else {}
    keys = set(planned) | set(played)
    if by == "content":
        labels.update(dict(s.execute(select(ContentItem.id, ContentItem.title)
                                     .where(ContentItem.id.in_(keys))).all()))
    rows = []
    for key in sorted(keys, key=lambda k: -planned.get(k, 0.0)):
        got = played.get(key)
        row = Row(key, labels.get(key, f"#{key}"), got.seconds if got else 0.0,
                  got.plays if got else 0, {"planned": planned.get(key, 0.0)})
        if by == "terminal":
            online, lit = uptime.get(key, (0.0, 0.0))
            span = (end - p.start).total_seconds()
            row.extra.update(offline_seconds=max(0.0, span - online),
                             screen_off_seconds=max(0.0, online - lit))
        rows.append(row)
    return rows


def _uptime(s: Session, terminal_ids: list[int], p: Period) -> dict[int, tuple[float, float]]:
    q = (select(UptimeHour.terminal_id, func.sum(UptimeHour.online_seconds),
                func.sum(UptimeHour.screen_on_seconds))
         .where(UptimeHour.terminal_id.in_(terminal_ids), UptimeHour.hour >= p.start,
                UptimeHour.hour < p.end).group_by(UptimeHour.terminal_id))
    return {tid: (on or 0.0, lit or 0.0) for tid, on, lit in s.execute(q)}


def uptime_by_day(s: Session, actor: Actor, p: Period, f: Filters | None = None) -> list[Row]:
    f = f or Filters()
    terminals = {t.id: t.name for t in _terminals_in_scope(s, actor, f)}
    q = (select(UptimeHour.terminal_id, UptimeHour.hour, UptimeHour.online_seconds,
                UptimeHour.screen_on_seconds)
         .where(UptimeHour.terminal_id.in_(list(terminals)), UptimeHour.hour >= p.start,
                UptimeHour.hour < p.end))
    rows: dict[tuple, Row] = {}
    for tid, hour, online, lit in s.execute(q):
        day = hour.astimezone(TZ).strftime("%Y-%m-%d")
        row = rows.setdefault((tid, day), Row((tid, day), f"{terminals[tid]} {day}",
                                              extra={"online": 0.0, "screen_on": 0.0}))
        row.extra["online"] += online
        row.extra["screen_on"] += lit
    return [rows[k] for k in sorted(rows)]


# --- export ---------------------------------------------------------------------------


def table(rows: list[Row], by: str, headers: dict[str, str]) -> tuple[list[str], list[list]]:
    """Rows as a plain table: the same numbers the page shows, for CSV and XLSX."""
    cols = [headers[by], headers["hours"], headers["seconds"], headers["plays"]]
    return cols, [[r.label, round(r.hours, 3), round(r.seconds, 1), r.plays] for r in rows]


def to_csv(columns: list[str], data: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    w.writerows(data)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8


def to_xlsx(columns: list[str], data: list[list], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in data:
        ws.append(row)
    ws.column_dimensions["A"].width = 32
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
