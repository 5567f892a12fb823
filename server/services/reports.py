"""Playback-hour reports from the rollups, grouped in Asia/Shanghai. No Flask.

Played seconds come from the rollups kept at ingest (server/services/plays.py): whole
local months from `play_month` and the other days from `play_day` for the groupings by
topic, content, terminal, building and community; day and hour groupings from
`play_hour_community`, or from `play_day` / `play_hour` when a filter is finer than the
community. Every rollup carries its topic, building and community, so no query joins
through the tree, and a year reads about 33,000 month rows instead of 5 million hours.

Planned seconds and uptime are stored too (server/services/planned.py) and read the same
way: closed days from their day and month rollups, the days not closed yet (today, and
yesterday for its first ten minutes) from their hour rows, up to now; the hour now is in
counts planned time in proportion to how much of it has passed. So a report of any
length reads a bounded number of rows, one query per rollup and grouping. Staff see their
own community's rows only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import (
    Broadcast,
    Building,
    Community,
    ContentItem,
    PlannedDay,
    PlannedHour,
    PlannedMonth,
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    Terminal,
    Topic,
    UptimeDay,
    UptimeHour,
    UptimeMonth,
)
from server.services import planned as planned_svc
from server.services import plays, topics, tree
from server.services.access import Actor
from server.services.errors import N_, Invalid

TZ = ZoneInfo(PEOPLE_TZ)
GROUPS = ("topic", "content", "terminal", "building", "community", "day", "hour")
GROUP_NAMES = (N_("topic"), N_("content"), N_("terminal"), N_("building"), N_("community"),
               N_("day"), N_("hour"))
PLANNED_GROUPS = ("topic", "content", "terminal", "building", "community")
MAX_DAYS = 400
HOUR = timedelta(hours=1)


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

PLAYED = {"month": PlayMonth, "day": PlayDay}
PLANNED = {"month": PlannedMonth, "day": PlannedDay}
UPTIME = {"month": UptimeMonth, "day": UptimeDay}


def _month_after(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _spans(p: Period, models: dict) -> list[tuple[type, date, date]]:
    """The period as [(rollup, first, end exclusive)]: its whole local months from the
    month rollup, the days before and after them from the day rollup. A period is whole
    local days by construction, so no hour rows are needed for its edges."""
    lo = p.first if p.first.day == 1 else _month_after(p.first)
    hi = plays.month_of(p.last + timedelta(days=1))
    if lo >= hi:
        return [(models["day"], p.first, p.last + timedelta(days=1))]
    spans = [(models["month"], lo, hi)]
    if p.first < lo:
        spans.append((models["day"], p.first, lo))
    if hi <= p.last:
        spans.append((models["day"], hi, p.last + timedelta(days=1)))
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
         PlayHourCommunity: PlayHourCommunity.hour, PlannedDay: PlannedDay.day,
         PlannedMonth: PlannedMonth.month, PlannedHour: PlannedHour.hour,
         UptimeDay: UptimeDay.day, UptimeMonth: UptimeMonth.month, UptimeHour: UptimeHour.hour}


def _time(model, lo, hi) -> list:
    return [_TIME[model] >= lo, _TIME[model] < hi]


@dataclass(frozen=True)
class _Split:
    """A period as its closed days (read from day and month rollups) and the open rest
    (read from hour rows, up to now)."""

    closed: Period | None
    open_start: datetime | None
    open_end: datetime | None
    now: datetime


def _split(s: Session, p: Period) -> _Split:
    now = utcnow()
    first_open = planned_svc.closed_before(s) or p.first
    closed = (Period(p.first, min(p.last, first_open - timedelta(days=1)))
              if p.first < first_open else None)
    a = max(p.start, planned_svc.local_midnight(first_open))
    b = min(p.end, now)
    return _Split(closed, a, b, now) if a < b else _Split(closed, None, None, now)


LABELS = {
    "topic": (Topic.id, Topic.name),
    "content": (ContentItem.id, ContentItem.title),
    "terminal": (Terminal.id, Terminal.name),
    "building": (Building.id, Building.name),
    "community": (Community.id, Community.name),
}


def _labels(s: Session, by: str, keys) -> dict:
    id_col, label_col = LABELS[by]
    keys = [k for k in keys if k is not None]
    return dict(s.execute(select(id_col, label_col).where(id_col.in_(keys))).all()) if keys \
        else {}


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
    for model, lo, hi in _spans(p, PLAYED):
        key = getattr(model, f"{by}_id")
        q = (select(key, func.sum(model.seconds), func.sum(model.plays))
             .where(*_where(model, actor, f), *_time(model, lo, hi)).group_by(key))
        for k, seconds, plays_ in s.execute(q):
            row = rows.setdefault(k, Row(k, ""))
            row.seconds += seconds or 0.0
            row.plays += plays_ or 0
    labels = _labels(s, by, rows)
    for k, row in rows.items():
        row.label = labels.get(k) or f"#{k}"
    return sorted(rows.values(), key=lambda r: (-r.seconds, r.label))


def planned(s: Session, actor: Actor, p: Period, by: str, f: Filters | None = None
            ) -> dict[int, float]:
    """Planned seconds per topic, content, terminal, building or community in the period,
    up to now: the stored planned time, read like played time."""
    f = f or Filters()
    if by not in PLANNED_GROUPS:
        raise Invalid(N_("Planned time is grouped by one of: %(groups)s."), field="by",
                      groups=", ".join(PLANNED_GROUPS))
    split = _split(s, p)
    out: dict[int, float] = defaultdict(float)
    if split.closed is not None:
        for model, lo, hi in _spans(split.closed, PLANNED):
            key = getattr(model, f"{by}_id")
            q = (select(key, func.sum(model.seconds))
                 .where(*_where(model, actor, f), *_time(model, lo, hi)).group_by(key))
            for k, seconds in s.execute(q):
                out[k] += seconds or 0.0
    if split.open_start is not None:
        now = split.now
        current = now.replace(minute=0, second=0, microsecond=0)
        key = getattr(PlannedHour, f"{by}_id")
        where = _where(PlannedHour, actor, f)
        q = (select(key, func.sum(PlannedHour.seconds))
             .where(*where, *_time(PlannedHour, split.open_start, min(split.open_end, current)))
             .group_by(key))
        for k, sec in s.execute(q):
            out[k] += sec or 0.0
        if split.open_end > current:
            for k, sec in _so_far(s, key, where, current, now):
                out[k] += sec
    return dict(out)


def _so_far(s: Session, key, where: list, current: datetime, now: datetime):
    """The hour now is in: each terminal's planned seconds in the part of the hour that has
    passed, in proportion to the part the row covers (a terminal added at 09:40 has a row
    for 09:40-10:00, of which at 09:50 half has passed)."""
    q = (select(key, PlannedHour.terminal_id, func.sum(PlannedHour.seconds))
         .where(*where, PlannedHour.hour == current).group_by(key, PlannedHour.terminal_id))
    rows = s.execute(q).all()
    created = dict(s.execute(select(Terminal.id, Terminal.created_at)
                             .where(Terminal.id.in_({r[1] for r in rows}))).all())
    for k, tid, seconds in rows:
        since = max(current, created.get(tid, current))
        covered = (current + HOUR - since).total_seconds()
        share = min(1.0, max(0.0, (now - since).total_seconds() / covered)) if covered else 0
        yield k, (seconds or 0.0) * share


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
    for model, lo, hi in _spans(p, PLAYED):
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
    planned_total = sum(planned(s, actor, p, "community", f).values()) if with_planned else None
    share = (seconds / planned_total) if planned_total else None
    return Headline(len(topics), seconds, plays_, len(terminals), planned_total, share)


def _terminals_in_scope(s: Session, actor: Actor, f: Filters) -> list:
    q = (select(Terminal.id, Terminal.name, Terminal.created_at).join(Building).join(Community)
         .where(Community.street_id == actor.street_id))
    if not actor.is_street_admin:
        q = q.where(Building.community_id == actor.community_id)
    for col, value in ((Terminal.id, f.terminal_id), (Terminal.building_id, f.building_id),
                       (Building.community_id, f.community_id)):
        if value is not None:
            q = q.where(col == value)
    return list(s.execute(q.order_by(Terminal.id)))


def planned_vs_played(s: Session, actor: Actor, p: Period, by: str = "content",
                      f: Filters | None = None) -> list[Row]:
    """Planned seconds (stored: what the schedules said while the screen was planned on,
    from when the terminal existed, up to now) against played seconds, per topic, content,
    terminal, building or community. By terminal, with what the data says about a
    shortfall: time offline, time with the screen off, time online while the terminal
    said a file of its manifest was not in its cache yet ("file not ready"), and time an
    emergency broadcast held the screen (pre-empted)."""
    f = f or Filters()
    plan = planned(s, actor, p, by, f)
    played = {r.key: r for r in playback(s, actor, p, by, f)}
    keys = set(plan) | set(played)
    labels = _labels(s, by, keys)
    rows = []
    for key in sorted(keys, key=lambda k: (-plan.get(k, 0.0), str(labels.get(k, k)))):
        got = played.get(key)
        rows.append(Row(key, labels.get(key) or f"#{key}", got.seconds if got else 0.0,
                        got.plays if got else 0, {"planned": plan.get(key, 0.0)}))
    if by == "terminal":
        _explain_shortfall(s, actor, p, f, rows)
    return rows


SHORTFALL_S = 60.0  # less than a minute short is not worth explaining
REASONS = ("offline", "screen_off", "file_not_ready", "broadcast")


def _explain_shortfall(s: Session, actor: Actor, p: Period, f: Filters, rows: list[Row]
                       ) -> None:
    terminals = {t.id: t for t in _terminals_in_scope(s, actor, f)}
    ids = [r.key for r in rows if r.key in terminals]
    uptime = _uptime(s, ids, p)
    preempted = _broadcast_seconds(s, actor, p, f)
    end = min(p.end, utcnow())
    for row in rows:
        t = terminals.get(row.key)
        if t is None:  # deleted since it played
            continue
        online, lit, missing = uptime.get(row.key, (0.0, 0.0, 0.0))
        span = max(0.0, (end - max(p.start, t.created_at)).total_seconds())
        row.extra.update(existed_seconds=span, online_seconds=online, screen_on_seconds=lit,
                         offline_seconds=max(0.0, span - online),
                         screen_off_seconds=max(0.0, online - lit),
                         file_not_ready_seconds=missing,
                         broadcast_seconds=preempted.get(row.key, 0.0))
        short = row.extra["planned"] - row.seconds > SHORTFALL_S
        row.extra["reasons"] = [r for r in REASONS if short
                                and row.extra[f"{r}_seconds"] > SHORTFALL_S]
        row.extra["unexplained"] = short and not row.extra["reasons"]


def _broadcast_seconds(s: Session, actor: Actor, p: Period, f: Filters) -> dict[int, float]:
    """Seconds each terminal showed full-screen broadcasts in the period, from the play
    rollups (kept for good, unlike raw records)."""
    full = select(Broadcast.content_id).where(Broadcast.mode == "full").scalar_subquery()
    out: dict[int, float] = defaultdict(float)
    for model, lo, hi in _spans(p, PLAYED):
        q = (select(model.terminal_id, func.sum(model.seconds))
             .where(*_where(model, actor, f), *_time(model, lo, hi),
                    model.content_id.in_(full))
             .group_by(model.terminal_id))
        for tid, seconds in s.execute(q):
            out[tid] += seconds or 0.0
    return dict(out)


def _uptime(s: Session, terminal_ids: list[int], p: Period
            ) -> dict[int, tuple[float, float, float]]:
    """(online, screen on, file missing) seconds per terminal in the period."""
    cols = ("online_seconds", "screen_on_seconds", "cache_missing_seconds")
    out: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    if not terminal_ids:
        return {}
    split = _split(s, p)
    parts = [(m, lo, hi) for m, lo, hi in _spans(split.closed, UPTIME)] if split.closed else []
    if split.open_start is not None:
        parts.append((UptimeHour, split.open_start, split.open_end))
    for model, lo, hi in parts:
        q = (select(model.terminal_id, *(func.sum(getattr(model, c)) for c in cols))
             .where(model.terminal_id.in_(terminal_ids), *_time(model, lo, hi))
             .group_by(model.terminal_id))
        for tid, *sums in s.execute(q):
            acc = out[tid]
            for i, v in enumerate(sums):
                acc[i] += v or 0.0
    return {tid: (a[0], a[1], a[2]) for tid, a in out.items()}


# --- the report page -------------------------------------------------------------------

TABLE_ROWS = 1000  # the page shows this many rows; the exports carry them all


@dataclass
class Page:
    """Everything the report page shows, computed in one go (in a worker process)."""

    rows: list[Row]
    head: Headline
    planned: list[Row]  # planned against played, by content
    terminals: list[Row]  # the same by terminal, with uptime and the shortfall's reasons
    topics: list[tuple[int, str]]
    communities: list[tuple[int, str]]
    buildings: list[tuple[int, str]]


def page(s: Session, actor: Actor, p: Period, by: str, f: Filters) -> Page:
    rows = playback(s, actor, p, by, f)
    terminals = planned_vs_played(s, actor, p, "terminal", f)
    head = headline(s, actor, p, f, with_planned=False)
    head.planned_seconds = sum(r.extra["planned"] for r in terminals)
    head.share_played = (head.seconds / head.planned_seconds) if head.planned_seconds else None
    return Page(
        rows=rows, head=head, planned=planned_vs_played(s, actor, p, "content", f),
        terminals=terminals,
        topics=[(t.id, t.name) for t in topics.list_topics(s, actor, active_only=False)],
        communities=[(c.id, c.name) for c in tree.list_communities(s, actor)],
        buildings=[(b.id, b.name) for b in tree.list_buildings(s, actor)])
