"""Playback-hour reports from the rollups, grouped in Asia/Shanghai. No Flask.

Played seconds come from the rollups kept at ingest (server/services/plays.py): whole
local months from `play_month` and the other days from `play_day` for the groupings by
topic, content, terminal, building and community; day and hour groupings from
`play_hour_community`, or from `play_day` / `play_hour` when a filter is finer than the
community. Every rollup carries its topic, building and community, so no query joins
through the tree, and a year reads about 33,000 month rows instead of 5 million hours.
Planned seconds come from the one resolver's timeline; uptime from `uptime_hour`. Staff
see their own community's rows only.
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
    Broadcast,
    Building,
    Community,
    ContentItem,
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayRecord,
    Terminal,
    Topic,
    UptimeHour,
)
from server.services import manifests, plays
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


# --- which rollup answers what: one place ---------------------------------------------


def _month_after(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _spans(p: Period) -> list[tuple[type, date, date]]:
    """The period as [(rollup, first, end exclusive)]: its whole local months from
    play_month, the days before and after them from play_day. A period is whole local
    days by construction, so no hour rows are needed for its edges."""
    lo = p.first if p.first.day == 1 else _month_after(p.first)
    hi = plays.month_of(p.last + timedelta(days=1))
    if lo >= hi:
        return [(PlayDay, p.first, p.last + timedelta(days=1))]
    spans = [(PlayMonth, lo, hi)]
    if p.first < lo:
        spans.append((PlayDay, p.first, lo))
    if hi <= p.last:
        spans.append((PlayDay, hi, p.last + timedelta(days=1)))
    return spans


def _fine(f: Filters) -> bool:
    """A filter finer than the community: play_hour_community cannot answer it."""
    return any(v is not None for v in (f.topic_id, f.content_id, f.terminal_id,
                                       f.building_id))


def _where(model, actor: Actor, f: Filters) -> list:
    """The actor's street (and community, for staff) and the filters, on a rollup's own
    denormalized columns: no join through the tree."""
    street = select(Community.id).where(Community.street_id == actor.street_id)
    conds = [model.community_id.in_(street.scalar_subquery())]
    if not actor.is_street_admin:
        conds.append(model.community_id == actor.community_id)
    for name in ("topic_id", "content_id", "terminal_id", "building_id", "community_id"):
        value = getattr(f, name)
        if value is not None:
            conds.append(getattr(model, name) == value)
    return conds


_TIME = {PlayDay: PlayDay.day, PlayMonth: PlayMonth.month, PlayHour: PlayHour.hour,
         PlayHourCommunity: PlayHourCommunity.hour}


def _time(model, lo, hi) -> list:
    return [_TIME[model] >= lo, _TIME[model] < hi]


LABELS = {
    "topic": (Topic.id, Topic.name),
    "content": (ContentItem.id, ContentItem.title),
    "terminal": (Terminal.id, Terminal.name),
    "building": (Building.id, Building.name),
    "community": (Community.id, Community.name),
}


def _by_time(s: Session, actor: Actor, p: Period, by: str, f: Filters) -> list[Row]:
    if by == "day" and _fine(f):
        q = (select(PlayDay.day, func.sum(PlayDay.seconds), func.sum(PlayDay.plays))
             .where(*_where(PlayDay, actor, f), *_time(PlayDay, p.first,
                                                        p.last + timedelta(days=1)))
             .group_by(PlayDay.day))
        return [Row(d.isoformat(), d.isoformat(), seconds or 0.0, plays or 0)
                for d, seconds, plays in s.execute(q.order_by(PlayDay.day))]
    model = PlayHour if _fine(f) else PlayHourCommunity
    q = (select(model.hour, func.sum(model.seconds), func.sum(model.plays))
         .where(*_where(model, actor, f), *_time(model, p.start, p.end))
         .group_by(model.hour))
    buckets: dict[str, Row] = {}
    for hour, seconds, plays_ in s.execute(q):
        local = hour.astimezone(TZ)
        key = local.strftime("%Y-%m-%d") if by == "day" else local.strftime("%Y-%m-%d %H:00")
        row = buckets.setdefault(key, Row(key, key))
        row.seconds += seconds or 0.0
        row.plays += plays_ or 0
    return [buckets[k] for k in sorted(buckets)]


def playback(s: Session, actor: Actor, p: Period, by: str, f: Filters | None = None
             ) -> list[Row]:
    f = f or Filters()
    if by not in GROUPS:
        raise Invalid(N_("Group by one of: %(groups)s."), field="by", groups=", ".join(GROUPS))
    if by in ("day", "hour"):
        return _by_time(s, actor, p, by, f)
    rows: dict[int, Row] = {}
    for model, lo, hi in _spans(p):
        key = getattr(model, f"{by}_id")
        q = (select(key, func.sum(model.seconds), func.sum(model.plays))
             .where(*_where(model, actor, f), *_time(model, lo, hi)).group_by(key))
        for k, seconds, plays_ in s.execute(q):
            row = rows.setdefault(k, Row(k, ""))
            row.seconds += seconds or 0.0
            row.plays += plays_ or 0
    id_col, label_col = LABELS[by]
    labels = dict(s.execute(select(id_col, label_col).where(id_col.in_(
        [k for k in rows if k is not None]))).all()) if rows else {}
    for k, row in rows.items():
        row.label = labels.get(k) or f"#{k}"
    return sorted(rows.values(), key=lambda r: (-r.seconds, r.label))


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
    topics, terminals, seconds, plays_ = set(), set(), 0.0, 0
    for model, lo, hi in _spans(p):
        q = (select(model.topic_id, model.terminal_id, func.sum(model.seconds),
                    func.sum(model.plays))
             .where(*_where(model, actor, f), *_time(model, lo, hi))
             .group_by(model.topic_id, model.terminal_id))
        for topic_id, terminal_id, sec, n in s.execute(q):
            topics.add(topic_id)
            terminals.add(terminal_id)
            seconds += sec or 0.0
            plays_ += n or 0
    topics.discard(None)
    planned = None
    if with_planned and p.days <= MAX_PLANNED_DAYS:
        planned = sum(r.extra["planned"] for r in planned_vs_played(s, actor, p, "terminal", f))
    share = (seconds / planned) if planned else None
    return Headline(len(topics), seconds, plays_, len(terminals), planned, share)


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
    about a shortfall: time offline, time with the screen off, time online while the
    terminal said a file of its manifest was not in its cache yet ("file not ready"), and
    time an emergency broadcast held the screen (pre-empted)."""
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
    preempted = _broadcast_seconds(s, [t.id for t in terminals], p) if by == "terminal" else {}
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
            online, lit, missing = uptime.get(key, (0.0, 0.0, 0.0))
            span = (end - p.start).total_seconds()
            row.extra.update(offline_seconds=max(0.0, span - online),
                             screen_off_seconds=max(0.0, online - lit),
                             file_not_ready_seconds=missing,
                             broadcast_seconds=preempted.get(key, 0.0))
        rows.append(row)
    return rows


def _broadcast_seconds(s: Session, terminal_ids: list[int], p: Period) -> dict[int, float]:
    """Seconds each terminal showed full-screen broadcasts in the period (raw records: the
    period of planned against played is short enough to be inside their retention)."""
    full = select(Broadcast.content_id).where(Broadcast.mode == "full")
    q = (select(PlayRecord.terminal_id, func.sum(PlayRecord.seconds))
         .where(PlayRecord.terminal_id.in_(terminal_ids), PlayRecord.start >= p.start,
                PlayRecord.start < p.end, PlayRecord.content_id.in_(full))
         .group_by(PlayRecord.terminal_id))
    return {tid: float(secs) for tid, secs in s.execute(q)}


def _uptime(s: Session, terminal_ids: list[int], p: Period
            ) -> dict[int, tuple[float, float, float]]:
    q = (select(UptimeHour.terminal_id, func.sum(UptimeHour.online_seconds),
                func.sum(UptimeHour.screen_on_seconds),
                func.sum(UptimeHour.cache_missing_seconds))
         .where(UptimeHour.terminal_id.in_(terminal_ids), UptimeHour.hour >= p.start,
                UptimeHour.hour < p.end).group_by(UptimeHour.terminal_id))
    return {tid: (on or 0.0, lit or 0.0, missing or 0.0)
            for tid, on, lit, missing in s.execute(q)}


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
