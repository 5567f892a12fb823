"""Playback-hour reports from the rollups, grouped in Asia/Shanghai. No Flask.

Played seconds come from the rollups kept at ingest (server/services/plays.py): whole
local months from a month rollup and the other days from a day rollup. Groupings by
terminal and building read the terminal's own totals (play_terminal_*), groupings by
content, topic and community the items' per community (play_content_*); only a filter
that needs both (a topic filter by terminal, say) reads terminal x content (play_day,
play_month). Day and hour groupings read `play_hour_community`, or `play_day` /
`play_hour` when a filter is finer than the community. Every rollup carries its scope's
columns, so no query joins through the tree: a year of 76 terminals reads a few
thousand rows per query, 30 days of 1,000 terminals some 30,000.

Every play rollup is keyed by layout region (main | ticker | image), and every played
figure counts the main region only unless the filters name another region or all of
them (`Filters.region`): the time a screen gave the playlists, which is what planned time
is and what "36 topics / 1,500 hours" means. A ticker line scrolling beside the main
region is not an extra hour of the screen. The grouping by region shows each region.

Planned seconds and uptime are stored too (server/services/planned.py) and read the same
way: closed hours from their day and month rollups, the hour or two not closed yet from
hour rows, up to now; the hour now is in counts planned time in proportion to how much
of it has passed. So a report of any length reads a bounded number of rows, one query
per rollup and grouping. Staff see their own community's rows only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playlists.layouts import PLAY_REGIONS
from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import (
    Broadcast,
    Building,
    Community,
    ContentItem,
    PlannedContentDay,
    PlannedContentMonth,
    PlannedDay,
    PlannedHour,
    PlannedMonth,
    PlannedTerminalDay,
    PlannedTerminalMonth,
    PlayContentDay,
    PlayContentMonth,
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayTerminalDay,
    PlayTerminalMonth,
    Street,
    Terminal,
    Topic,
    UptimeDay,
    UptimeHour,
    UptimeMonth,
)
from server.services import planned as planned_svc
from server.services import plays
from server.services.access import Actor
from server.services.errors import N_, Invalid
from server.services.naming import name_key

TZ = ZoneInfo(PEOPLE_TZ)
GROUPS = ("topic", "content", "terminal", "building", "community", "region", "day", "hour")
GROUP_NAMES = (N_("topic"), N_("content"), N_("terminal"), N_("building"), N_("community"),
               N_("region"), N_("day"), N_("hour"))
MAIN = "main"
ALL_REGIONS = "all"  # the region choice that counts every region (Filters.region None)
REGION_CHOICES = (*PLAY_REGIONS, ALL_REGIONS)
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
    region: str | None = MAIN  # a layout region (PLAY_REGIONS), None for all of them

    @property
    def main(self) -> Filters:
        """The same filters on the main region: what planned time is compared with."""
        return self if self.region == MAIN else replace(self, region=MAIN)


def region_filter(choice: str | None) -> str | None:
    """A region choice (REGION_CHOICES; none given is the main region) as Filters.region."""
    choice = choice or MAIN
    if choice not in REGION_CHOICES:
        raise Invalid(N_("The region is one of: %(regions)s."), field="region",
                      regions=", ".join(REGION_CHOICES))
    return None if choice == ALL_REGIONS else choice


@dataclass(slots=True)
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

FILTERS = ("topic_id", "content_id", "terminal_id", "building_id", "community_id")
TERMINAL_SIDE = frozenset({"terminal_id", "building_id", "community_id"})
CONTENT_SIDE = frozenset({"content_id", "topic_id", "community_id"})


@dataclass(frozen=True)
class Family:
    """Day and month rollups of one measure: terminal x content, and the two slices."""

    fine: dict
    by_terminal: dict
    by_content: dict

    def holding(self, columns: set[str], f: Filters) -> dict:
        """The smallest rollup with these columns and the filters' own."""
        needed = columns | {n for n in FILTERS if getattr(f, n) is not None}
        if needed <= CONTENT_SIDE:  # first: communities x items are fewer than terminals
            return self.by_content
        if needed <= TERMINAL_SIDE:
            return self.by_terminal
        return self.fine


PLAYED = Family({"month": PlayMonth, "day": PlayDay},
                {"month": PlayTerminalMonth, "day": PlayTerminalDay},
                {"month": PlayContentMonth, "day": PlayContentDay})
PLANNED = Family({"month": PlannedMonth, "day": PlannedDay},
                 {"month": PlannedTerminalMonth, "day": PlannedTerminalDay},
                 {"month": PlannedContentMonth, "day": PlannedContentDay})
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
    denormalized columns: no join through the tree. The region applies to the play
    rollups (planned time and uptime have none: they are the main region's)."""
    street = select(Community.id).where(Community.street_id == actor.street_id)
    conds = [model.community_id.in_(street.scalar_subquery())]
    if not actor.is_street_admin:
        conds.append(model.community_id == actor.community_id)
    for name in FILTERS:
        value = getattr(f, name)
        if value is not None:
            conds.append(getattr(model, name) == value)
    region = getattr(model, "region", None)
    if region is not None and f.region is not None:
        conds.append(region == f.region)
    return conds


def _time_column(model):
    return getattr(model, "month", None) or getattr(model, "day", None) or model.hour


def _time(model, lo, hi) -> list:
    column = _time_column(model)
    return [column >= lo, column < hi]


Sums = dict[tuple, list[float]]


def _sum(s: Session, actor: Actor, p: Period, f: Filters, models: dict,
         keys: tuple[str, ...], values: tuple[str, ...], only=None) -> Sums:
    """Σ values per keys over the period's spans of one day/month rollup pair; `only(model)`
    may add a condition on the model's own columns."""
    out: Sums = defaultdict(lambda: [0.0] * len(values))
    for model, lo, hi in _spans(p, models):
        cols = [getattr(model, k) for k in keys]
        extra = [only(model)] if only else []
        q = (select(*cols, *(func.sum(getattr(model, v)) for v in values))
             .where(*_where(model, actor, f), *_time(model, lo, hi), *extra).group_by(*cols))
        for row in s.connection().execute(q).all():
            acc = out[tuple(row[:len(keys)])]
            for i, v in enumerate(row[len(keys):]):
                acc[i] += v or 0.0
    return out


def _group(sums: Sums, index: int) -> Sums:
    """The same sums by one of their keys ([seconds, plays, broadcast seconds], the last
    0 where the sums have no such column)."""
    out: Sums = defaultdict(lambda: [0.0, 0.0, 0.0])
    for key, values in sums.items():
        acc = out[key[index]]
        for i, v in enumerate(values):
            acc[i] += v
    return out


# --- played ----------------------------------------------------------------------------

BY_TERMINAL = ("terminal_id", "building_id")  # what the terminal slice is read by
BY_CONTENT = ("content_id", "topic_id", "community_id")  # and the content slice
SIDES = {"terminal": (BY_TERMINAL, 0), "building": (BY_TERMINAL, 1),
         "content": (BY_CONTENT, 0), "topic": (BY_CONTENT, 1), "community": (BY_CONTENT, 2)}


def _played_by_terminal(s: Session, actor: Actor, p: Period, f: Filters) -> Sums:
    """[seconds, plays, seconds of full-screen broadcasts] per (terminal, building)."""
    models = PLAYED.holding(set(BY_TERMINAL), f)
    if models is PLAYED.by_terminal:
        return _sum(s, actor, p, f, models, BY_TERMINAL,
                    ("seconds", "plays", "broadcast_seconds"))
    full = select(Broadcast.content_id).where(Broadcast.mode == "full").scalar_subquery()
    broadcast = _sum(s, actor, p, f, models, BY_TERMINAL, ("seconds",),
                     only=lambda model: model.content_id.in_(full))
    return {key: [seconds, plays, broadcast[key][0] if key in broadcast else 0.0]
            for key, (seconds, plays) in _sum(s, actor, p, f, models, BY_TERMINAL,
                                              ("seconds", "plays")).items()}


def _played_by_content(s: Session, actor: Actor, p: Period, f: Filters) -> Sums:
    """[seconds, plays] per (content, topic, community)."""
    return _sum(s, actor, p, f, PLAYED.holding(set(BY_CONTENT), f), BY_CONTENT,
                ("seconds", "plays"))


def _by_region(s: Session, actor: Actor, p: Period, f: Filters) -> list[Row]:
    """Each region's time, whatever region the filters name (the grouping's point), in
    PLAY_REGIONS order; labelled by the region's key (the caller names it in its
    language)."""
    every = replace(f, region=None)
    sums = _sum(s, actor, p, every, PLAYED.holding(set(), every), ("region",),
                ("seconds", "plays"))
    return [Row(r, r, sums[(r,)][0], int(sums[(r,)][1])) for r in PLAY_REGIONS
            if (r,) in sums]


def _played(s: Session, actor: Actor, p: Period, by: str, f: Filters) -> Sums:
    """[seconds, plays, ...] per key of a grouping, from the slice that holds it."""
    keys, index = SIDES[by]
    read = _played_by_terminal if keys is BY_TERMINAL else _played_by_content
    return _group(read(s, actor, p, f), index)


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
    return dict(s.connection().execute(select(id_col, label_col).where(id_col.in_(keys))).all()) if keys \
        else {}


def _rows(s: Session, by: str, sums: Sums) -> list[Row]:
    labels = _labels(s, by, sums)
    rows = [Row(k, labels.get(k) or f"#{k}", v[0], int(v[1])) for k, v in sums.items()]
    return sorted(rows, key=lambda r: (-r.seconds, name_key(r.label)))


def _by_time(s: Session, actor: Actor, p: Period, by: str, f: Filters) -> list[Row]:
    if by == "day":
        model = PLAYED.holding(set(), f)["day"]
        q = (select(model.day, func.sum(model.seconds), func.sum(model.plays))
             .where(*_where(model, actor, f), *_time(model, p.first, p.last + timedelta(days=1)))
             .group_by(model.day).order_by(model.day))
        return [Row(d.isoformat(), d.isoformat(), seconds or 0.0, plays or 0)
                for d, seconds, plays in s.connection().execute(q).all()]
    model = PlayHour if _fine(f) else PlayHourCommunity
    q = (select(model.hour, func.sum(model.seconds), func.sum(model.plays))
         .where(*_where(model, actor, f), *_time(model, p.start, p.end))
         .group_by(model.hour).order_by(model.hour))
    rows: list[Row] = []
    for hour, seconds, plays_ in s.connection().execute(q).all():
        t = hour.astimezone(TZ)  # (strftime took a third of a year's 8,760 hours)
        key = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:00"
        if rows and rows[-1].key == key:  # the hour a zone with summer time repeats
            rows[-1].seconds += seconds or 0.0
            rows[-1].plays += plays_ or 0
        else:
            rows.append(Row(key, key, seconds or 0.0, plays_ or 0))
    return rows


def _check_group(by: str) -> None:
    if by not in GROUPS:
        raise Invalid(N_("Group by one of: %(groups)s."), field="by", groups=", ".join(GROUPS))


def playback(s: Session, actor: Actor, p: Period, by: str, f: Filters | None = None
             ) -> list[Row]:
    f = f or Filters()
    _check_group(by)
    if by in ("day", "hour"):
        return _by_time(s, actor, p, by, f)
    if by == "region":
        return _by_region(s, actor, p, f)
    return _rows(s, by, _played(s, actor, p, by, f))


# --- planned -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    """A period as its closed hours (read from day and month rollups; the day the mark
    falls in holds its closed hours only) and the open rest (read from hour rows, up to
    now)."""

    closed: Period | None
    open_start: datetime | None
    open_end: datetime | None
    now: datetime


def _split(s: Session, p: Period) -> _Split:
    now = utcnow()
    mark = planned_svc.closed_before(s) or p.start
    last = mark.astimezone(TZ).date()
    closed = Period(p.first, min(p.last, last)) if p.first <= last else None
    a, b = max(p.start, mark), min(p.end, now)
    return _Split(closed, a, b, now) if a < b else _Split(closed, None, None, now)


def planned(s: Session, actor: Actor, p: Period, by: str, f: Filters | None = None
            ) -> dict[int, float]:
    """Planned seconds per topic, content, terminal, building or community in the period,
    up to now: the stored planned time, read like played time."""
    f = f or Filters()
    if by not in PLANNED_GROUPS:
        raise Invalid(N_("Planned time is grouped by one of: %(groups)s."), field="by",
                      groups=", ".join(PLANNED_GROUPS))
    key = f"{by}_id"
    split = _split(s, p)
    out: dict[int, float] = defaultdict(float)
    if split.closed is not None:
        sums = _sum(s, actor, split.closed, f, PLANNED.holding({key}, f), (key,), ("seconds",))
        for (k,), (seconds,) in sums.items():
            out[k] += seconds
    if split.open_start is not None:
        now = split.now
        current = now.replace(minute=0, second=0, microsecond=0)
        column = getattr(PlannedHour, key)
        where = _where(PlannedHour, actor, f)
        q = (select(column, func.sum(PlannedHour.seconds))
             .where(*where, *_time(PlannedHour, split.open_start, min(split.open_end, current)))
             .group_by(column))
        for k, sec in s.connection().execute(q).all():
            out[k] += sec or 0.0
        if split.open_end > current:
            for k, sec in _so_far(s, column, where, current, now):
                out[k] += sec
    return dict(out)


def _so_far(s: Session, key, where: list, current: datetime, now: datetime):
    """The hour now is in: planned seconds in the part of the hour that has passed, in
    proportion to the part the rows cover. That is the hour's elapsed share, except for a
    terminal added during the hour (at 09:40 its row covers 09:40-10:00, of which at
    09:50 half has passed): those few are read apart."""
    share = (now - current) / HOUR
    q = (select(key, func.sum(PlannedHour.seconds))
         .where(*where, PlannedHour.hour == current).group_by(key))
    for k, seconds in s.connection().execute(q).all():
        yield k, (seconds or 0.0) * share
    q = (select(key, Terminal.created_at, func.sum(PlannedHour.seconds))
         .join(Terminal, Terminal.id == PlannedHour.terminal_id)
         .where(*where, PlannedHour.hour == current, Terminal.created_at > current)
         .group_by(key, Terminal.id, Terminal.created_at))
    for k, created, seconds in s.connection().execute(q).all():
        left = current + HOUR - created  # what its row covers
        own = min(1.0, max(0.0, (now - created) / left)) if left > timedelta(0) else 0.0
        yield k, (seconds or 0.0) * (own - share)  # instead of the elapsed share above


# --- headline and planned against played ---------------------------------------------------


@dataclass
class Headline:
    """The filters' region's figures; planned time and the share played are the main
    region's (planned time has no other)."""

    topics: int
    seconds: float
    plays: int
    terminals_reporting: int
    planned_seconds: float | None
    share_played: float | None

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    @property
    def hours_figure(self) -> str:
        """The page header's hours, as a report handed upward writes them: whole hours with
        thousands separators once there are many ("1,482"), tenths below that."""
        return f"{self.hours:,.0f}" if self.hours >= 100 else f"{self.hours:,.1f}"


def _seconds(sums: Sums) -> float:
    return sum(v[0] for v in sums.values())


def _headline(by_terminal: Sums, by_content: Sums, planned_seconds: float | None,
              main_seconds: float) -> Headline:
    share = (main_seconds / planned_seconds) if planned_seconds else None
    return Headline(len({k[1] for k in by_content if k[1] is not None}), _seconds(by_content),
                    int(sum(v[1] for v in by_content.values())),
                    len({k[0] for k in by_terminal}), planned_seconds, share)


def headline(s: Session, actor: Actor, p: Period, f: Filters | None = None,
             with_planned: bool = True) -> Headline:
    f = f or Filters()
    by_content = _played_by_content(s, actor, p, f)
    total, main = None, 0.0
    if with_planned:
        total = sum(planned(s, actor, p, "community", f).values())
        main = _seconds(by_content if f.main is f else _played_by_content(s, actor, p, f.main))
    return _headline(_played_by_terminal(s, actor, p, f), by_content, total, main)


def _in_scope(actor: Actor, p: Period, f: Filters):
    """The terminals the filters name that existed in the period (topic and content
    filters aside), as a select of (id, name, created_at)."""
    q = (select(Terminal.id, Terminal.name, Terminal.created_at).join(Building).join(Community)
         .where(Community.street_id == actor.street_id, Terminal.created_at < p.end))
    if not actor.is_street_admin:
        q = q.where(Building.community_id == actor.community_id)
    for col, value in ((Terminal.id, f.terminal_id), (Terminal.building_id, f.building_id),
                       (Building.community_id, f.community_id)):
        if value is not None:
            q = q.where(col == value)
    return q


def _against(s: Session, by: str, plan: dict[int, float], played: Sums,
             labels: dict | None = None) -> list[Row]:
    keys = set(plan) | set(played)
    labels = _labels(s, by, keys) if labels is None else labels
    rows = []
    for key in sorted(keys, key=lambda k: (-plan.get(k, 0.0), name_key(str(labels.get(k, k))))):
        got = played.get(key, (0.0, 0, 0.0))
        rows.append(Row(key, labels.get(key) or f"#{key}", got[0], int(got[1]),
                        {"planned": plan.get(key, 0.0)}))
    return rows


def planned_vs_played(s: Session, actor: Actor, p: Period, by: str = "content",
                      f: Filters | None = None) -> list[Row]:
    """Planned seconds (stored: what the schedules said while the screen was planned on,
    from when the terminal existed, up to now) against played seconds, per topic, content,
    terminal, building or community. By terminal, with what the data says about a
    shortfall: time offline, time with the screen off, time online while the terminal
    said a file of its manifest was not in its cache yet ("file not ready"), and time an
    emergency broadcast held the screen (pre-empted). Played time is the main region's
    whatever the filters' region: planned time is the main region's."""
    f = (f or Filters()).main
    plan = planned(s, actor, p, by, f)
    if by != "terminal":
        _check_group(by)
        return _against(s, by, plan, _played(s, actor, p, by, f))
    return _terminal_rows(s, actor, p, f, plan, _group(_played_by_terminal(s, actor, p, f), 0))


# Less than a tenth of an hour short is not worth explaining: the reasons read in tenths
# of an hour, and "离线 0.0 小时" for a terminal added a minute ago explained nothing.
SHORTFALL_S = 360.0
REASONS = ("offline", "screen_off", "file_not_ready", "broadcast")


def _terminal_rows(s: Session, actor: Actor, p: Period, f: Filters, plan: dict[int, float],
                   played: Sums) -> list[Row]:
    """Planned against played for every terminal in scope (one that neither played nor
    was planned too), with its uptime and the reasons for its shortfall."""
    in_scope = _in_scope(actor, p, f)
    terminals = {t.id: t for t in s.connection().execute(in_scope).all()}
    rows = _against(s, "terminal", plan, played, {i: t.name for i, t in terminals.items()})
    labelled = {r.key for r in rows}
    rows.extend(Row(t.id, t.name, 0.0, 0, {"planned": 0.0})
                for t in terminals.values() if t.id not in labelled)
    uptime = _uptime(s, in_scope.with_only_columns(Terminal.id), p)
    start, end = p.start, min(p.end, utcnow())
    for row in rows:
        t = terminals.get(row.key)
        if t is None:  # deleted since it played, or a filter left it out
            continue
        online, lit, missing = uptime.get(row.key, (0.0, 0.0, 0.0))
        span = max(0.0, (end - max(start, t.created_at)).total_seconds())
        row.extra.update(existed_seconds=span, online_seconds=online, screen_on_seconds=lit,
                         offline_seconds=max(0.0, span - online),
                         screen_off_seconds=max(0.0, online - lit),
                         file_not_ready_seconds=missing,
                         broadcast_seconds=played[row.key][2] if row.key in played else 0.0)
        short = row.extra["planned"] - row.seconds > SHORTFALL_S
        row.extra["reasons"] = [r for r in REASONS if short
                                and row.extra[f"{r}_seconds"] > SHORTFALL_S]
        row.extra["unexplained"] = short and not row.extra["reasons"]
    return rows


def _uptime(s: Session, in_scope, p: Period) -> dict[int, tuple[float, float, float]]:
    """(online, screen on, file missing) seconds per terminal of `in_scope` (a select of
    terminal ids) in the period."""
    cols = ("online_seconds", "screen_on_seconds", "cache_missing_seconds")
    out: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    split = _split(s, p)
    parts = [(m, lo, hi) for m, lo, hi in _spans(split.closed, UPTIME)] if split.closed else []
    if split.open_start is not None:
        parts.append((UptimeHour, split.open_start, split.open_end))
    for model, lo, hi in parts:
        q = (select(model.terminal_id, *(func.sum(getattr(model, c)) for c in cols))
             .where(model.terminal_id.in_(in_scope), *_time(model, lo, hi))
             .group_by(model.terminal_id))
        for tid, *sums in s.connection().execute(q).all():
            acc = out[tid]
            for i, v in enumerate(sums):
                acc[i] += v or 0.0
    return {tid: (a[0], a[1], a[2]) for tid, a in out.items()}


# --- the report page -------------------------------------------------------------------

TABLE_ROWS = 1000  # the page shows this many rows of a grouping; the exports carry them all
TERMINAL_ROWS = 200  # and this many terminals, the largest shortfalls first


@dataclass
class Page:
    """Everything the report page shows, computed in one go (in a worker process)."""

    rows: list[Row]  # the first TABLE_ROWS: only they cross back to the event loop
    row_count: int
    head: Headline
    planned: list[Row]  # planned against played (main region), by content
    terminals: list[Row]  # the same by terminal, with uptime and the shortfall's reasons
    terminal_count: int
    topics: list[tuple[int, str]]
    communities: list[tuple[int, str]]
    buildings: list[tuple[int, str]]
    as_of: datetime | None = None  # the figures run up to here (the period's end or now)


def page(s: Session, actor: Actor, p: Period, by: str, f: Filters, limit: bool = True
         ) -> Page:
    """Each rollup is read once: played and planned by terminal and by content, uptime;
    the grouping, headline and both tables are made from them (played by terminal and by
    content once more for the main region when the filters name another: planned against
    played is the main region's). `limit=False` keeps every row (the exports: a file
    carries all of them)."""
    _check_group(by)
    main = f.main
    by_terminal = _played_by_terminal(s, actor, p, f)
    by_content = _played_by_content(s, actor, p, f)
    main_terminal, main_content = (by_terminal, by_content) if main is f else (
        _played_by_terminal(s, actor, p, main), _played_by_content(s, actor, p, main))
    if by in ("day", "hour"):
        rows = _by_time(s, actor, p, by, f)
    elif by == "region":
        rows = _by_region(s, actor, p, f)
    else:
        keys, index = SIDES[by]
        rows = _rows(s, by, _group(by_terminal if keys is BY_TERMINAL else by_content, index))
    terminals = _terminal_rows(s, actor, p, main, planned(s, actor, p, "terminal", main),
                               _group(main_terminal, 0))
    head = _headline(by_terminal, by_content, sum(r.extra["planned"] for r in terminals),
                     _seconds(main_content))
    terminals.sort(key=lambda r: (-(r.extra["planned"] - r.seconds), name_key(r.label)))
    return Page(
        rows=rows[:TABLE_ROWS] if limit else rows, row_count=len(rows), head=head,
        planned=_against(s, "content", planned(s, actor, p, "content", main),
                         _group(main_content, 0)),
        terminals=terminals[:TERMINAL_ROWS] if limit else terminals,
        terminal_count=len(terminals), as_of=min(p.end, utcnow()),
        topics=_by_name(_pairs(s, select(Topic.id, Topic.name)
                               .where(Topic.street_id == actor.street_id))),
        communities=_by_name(_pairs(s, select(Community.id, Community.name)
                                    .where(Community.street_id == actor.street_id,
                                           actor.community_clause(Community.id)))),
        buildings=_buildings(s, actor, f))


MAX_BUILDINGS = 300  # more than a filter list can usefully show: choose a community first


def _buildings(s: Session, actor: Actor, f: Filters) -> list[tuple[int, str]]:
    q = (select(Building.id, Building.name).join(Community)
         .where(Community.street_id == actor.street_id,
                actor.community_clause(Building.community_id))
         .order_by(Building.community_id, Building.name).limit(MAX_BUILDINGS + 1))
    if f.community_id is not None:
        q = q.where(Building.community_id == f.community_id)
    rows = _pairs(s, q)
    return _by_name(rows) if len(rows) <= MAX_BUILDINGS else []


def _pairs(s: Session, q) -> list[tuple[int, str]]:
    return [(i, name) for i, name in s.connection().execute(q).all()]


def _by_name(pairs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return sorted(pairs, key=lambda p: name_key(p[1]))


def as_of_text(p: Period, as_of: datetime) -> str:
    """Up to when the figures run, as local time: a period that is over ends at 24:00 of
    its last day (not 00:00 of the day after, which reads as one day too many)."""
    if as_of >= p.end:
        return f"{p.last.isoformat()} 24:00"
    return as_of.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def scope_names(s: Session, actor: Actor, f: Filters) -> dict[str, str | None]:
    """The names a report is titled and filtered by: the street, the community (the
    staff member's own or the one filtered on), and each filter's item by its kind."""
    street = s.scalar(select(Street.name).where(Street.id == actor.street_id))
    names: dict[str, str | None] = {"street": street}
    community_id = f.community_id if f.community_id is not None else (
        None if actor.is_street_admin else actor.community_id)
    in_street = {  # a name from another street is not shown, only its number
        "community": select(Community.name).where(Community.street_id == actor.street_id),
        "building": select(Building.name).join(Community)
        .where(Community.street_id == actor.street_id),
        "terminal": select(Terminal.name).join(Building).join(Community)
        .where(Community.street_id == actor.street_id),
        "topic": select(Topic.name).where(Topic.street_id == actor.street_id),
        "content": select(ContentItem.title).where(ContentItem.street_id == actor.street_id),
    }
    for kind, value in (("community", community_id), ("building", f.building_id),
                        ("terminal", f.terminal_id), ("topic", f.topic_id),
                        ("content", f.content_id)):
        if value is not None:
            name = s.scalar(in_street[kind].where(LABELS[kind][0] == value))
            names[kind] = name or f"#{value}"
        else:
            names[kind] = None
    return names
