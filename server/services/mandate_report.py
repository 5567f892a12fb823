"""Was a time-share mandate met? Per screen, local day and hour of its window, from proof
of play. No Flask.

Every figure is read per terminal and UTC hour, summed in SQL, from rows kept for good:
played seconds of the mandate's content from `play_hour` (the main region, as every
played figure: the time the screen gave the playlists), connected and lit seconds from
`uptime_hour`, planned seconds from `planned_hour`, and the seconds of full-screen
broadcasts from `play_hour` too (their content is known by `broadcast.mode`). Four queries
whatever the period, so 76 screens x 31 days x 14 hours is some 33,000 cells of Python,
computed in a job worker (server/workpool.py), never on the event loop.

An hour requires `playlists.mandates.required_s` of its lit time (the mandate's rule, the
one the planned share and enforcement use). Time offline
counts as lit: what a screen did while offline is known only from the proof of play it
uploads on reconnecting, so being offline never lowers what an hour requires, while a
screen seen dark does (it cannot be asked to show anything). An hour is met when played
>= required - TOLERANCE_S; a day when every hour of its window is. Hours not over yet, and
hours before the terminal was added, are not judged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from playlists.mandates import MandateSpec, required_s
from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import (
    Broadcast,
    Building,
    Community,
    Mandate,
    PlannedHour,
    PlayHour,
    Terminal,
    UptimeHour,
)
from server.services import changes, exports, mandate_plan, reports
from server.services.access import Actor
from server.services.errors import N_, NotFound
from server.services.naming import name_key

TZ = ZoneInfo(PEOPLE_TZ)
HOUR = timedelta(hours=1)
# Played time is summed from records cut at the hour by the player, each rounded to the
# millisecond: a second's slack keeps exactly ten minutes of plays from reading 599.999 s.
TOLERANCE_S = 1.0
# A reason is named only when it took at least a minute of the hour.
REASON_MIN_S = 60.0
# In the order they are looked for: the first that applies is the hour's reason.
REASONS = ("offline", "screen_off", "broadcast", "plan_short", "played_short")
MAIN = "main"


@dataclass(slots=True)
class Hour:
    start: datetime  # local (PEOPLE_TZ)
    played_s: float
    required_s: float
    online_s: float
    lit_s: float
    planned_s: float
    broadcast_s: float
    offline_s: float
    reason: str | None = None  # one of REASONS when not met
    reason_s: float = 0.0  # the seconds the reason names (planned seconds for plan_short)

    @property
    def met(self) -> bool:
        return self.played_s >= self.required_s - TOLERANCE_S


@dataclass(slots=True)
class ScreenDay:
    terminal_id: int
    terminal: str
    building: str
    community: str
    day: date
    hours_met: int
    hours_total: int
    played_s: float
    required_s: float
    reason: str | None  # the reason of most of its missed hours
    reason_hours: int  # how many missed hours it is the reason of
    hours: list[Hour] | None  # kept when asked (a drill-down, an export)

    @property
    def met(self) -> bool:
        return self.hours_met == self.hours_total


@dataclass(slots=True)
class DaySummary:
    day: date
    screens: int
    screens_met: int
    hours: int
    hours_met: int


@dataclass
class Report:
    mandate_id: int
    name: str
    authority: str
    share_kind: str
    share: float
    window: tuple[str, str]
    dates: tuple[date, date]
    period: reports.Period
    as_of: datetime
    days: list[DaySummary] = field(default_factory=list)
    screens: list[ScreenDay] = field(default_factory=list)  # by day, community, building, name

    @property
    def hours(self) -> int:
        return sum(d.hours for d in self.days)

    @property
    def hours_met(self) -> int:
        return sum(d.hours_met for d in self.days)

    @property
    def screen_days(self) -> int:
        return len(self.screens)

    @property
    def screen_days_met(self) -> int:
        return sum(1 for r in self.screens if r.met)


def period(first: date | None, last: date | None) -> reports.Period:
    """The period asked for; none asked is this month so far (local)."""
    if first or last:
        return reports.period(first, last)
    today = utcnow().astimezone(TZ).date()
    return reports.period(today.replace(day=1), today)


def visible(s: Session, actor: Actor) -> list[tuple[int, str]]:
    """The mandates the actor may report on, in force first, then the latest first."""
    q = (select(Mandate.id, Mandate.name)
         .where(Mandate.street_id == actor.street_id,
                actor.community_clause(Mandate.community_id))
         .order_by(Mandate.active.desc(), Mandate.end_date.desc(), Mandate.name))
    return [(i, n) for i, n in s.execute(q).all()]


def mandate(s: Session, actor: Actor, mandate_id: int) -> Mandate:
    m = s.get(Mandate, mandate_id)
    if m is None or m.street_id != actor.street_id or not actor.sees(m.community_id):
        raise NotFound(N_("No such mandate."), field="mandate")
    return m


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def window_hours(m: Mandate, day: date) -> list[tuple[datetime, float]]:
    """The local clock hours of the window that opens on `day`, as (start, local; seconds
    of it in the window): every hour the window touches (proof of play is kept by the
    hour). A window whose end is not after its start runs past midnight, and its hours
    after midnight belong to the day it opened."""
    start, end = _minutes(m.window_start), _minutes(m.window_end)
    if end <= start:
        end += 24 * 60
    return [(datetime.combine(day + timedelta(days=h // 24), time(h % 24), TZ),
             60.0 * (min(end, h * 60 + 60) - max(start, h * 60)))
            for h in range(start // 60, -(-end // 60))]


def _terminals(s: Session, actor: Actor, m: Mandate, terminal_id: int | None) -> dict:
    """{id: (name, building, community, created_at)} of the screens the mandate reaches
    that the actor sees."""
    reach = changes.reach(m)
    ids = [p.terminal_id for p in changes.places(s, m.street_id)
           if reach(p) and (actor.is_street_admin or p.community_id == actor.community_id)
           and (terminal_id is None or p.terminal_id == terminal_id)]
    if not ids:
        return {}
    q = (select(Terminal.id, Terminal.name, Building.name, Community.name, Terminal.created_at)
         .join(Building, Terminal.building_id == Building.id)
         .join(Community, Building.community_id == Community.id)
         .where(Terminal.id.in_(ids)))
    return {tid: rest for tid, *rest in s.execute(q).all()}


Cells = dict[tuple[int, datetime], float]


def _cells(s: Session, q) -> Cells:
    """Σ per (terminal, UTC hour), read past the ORM (tens of thousands of rows)."""
    return {(tid, hour): v or 0.0 for tid, hour, v in s.connection().execute(q).all()}


def report(s: Session, actor: Actor, mandate_id: int, period: reports.Period,
           terminal_id: int | None = None, hours: bool = False) -> Report:
    """The mandate's report for the period (local days, within the mandate's dates), for
    every screen it reaches, or one (`terminal_id`). `hours` keeps each screen-day's hours
    (a drill-down to one screen keeps them anyway)."""
    m = mandate(s, actor, mandate_id)
    now = utcnow()
    out = Report(m.id, m.name, m.authority, m.share_kind, m.share,
                 (m.window_start, m.window_end), (m.start_date, m.end_date), period,
                 min(period.end, now))
    first, last = max(period.first, m.start_date), min(period.last, m.end_date)
    terminals = _terminals(s, actor, m, terminal_id)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    # Each day's hours that are over, as (local start, UTC start).
    slots = {d: [(h, u, part) for h, part in window_hours(m, d)
                 if (u := h.astimezone(UTC)) + HOUR <= now] for d in days}
    utc = sorted({u for hs in slots.values() for _, u, _ in hs})
    if not terminals or not utc:
        out.days = [DaySummary(d, 0, 0, 0, 0) for d in days if slots[d]]
        return out
    ids = list(terminals)
    content = PlayHour.content_id.in_(m.content_ids or [])
    if m.topic_id is not None:
        content = or_(content, PlayHour.topic_id == m.topic_id)
    within = (PlayHour.terminal_id.in_(ids), PlayHour.hour.in_(utc), PlayHour.region == MAIN)
    per_hour = (PlayHour.terminal_id, PlayHour.hour)
    played = _cells(s, select(*per_hour, func.sum(PlayHour.seconds))
                    .where(*within, content).group_by(*per_hour))
    full = select(Broadcast.content_id).where(Broadcast.mode == "full").scalar_subquery()
    broadcast = _cells(s, select(*per_hour, func.sum(PlayHour.seconds))
                       .where(*within, PlayHour.content_id.in_(full)).group_by(*per_hour))
    planned_content = PlannedHour.content_id.in_(m.content_ids or [])
    if m.topic_id is not None:
        planned_content = or_(planned_content, PlannedHour.topic_id == m.topic_id)
    planned = _cells(s, select(PlannedHour.terminal_id, PlannedHour.hour,
                               func.sum(PlannedHour.seconds))
                     .where(PlannedHour.terminal_id.in_(ids), PlannedHour.hour.in_(utc),
                            planned_content)
                     .group_by(PlannedHour.terminal_id, PlannedHour.hour))
    uptime = {(tid, hour): (online or 0.0, lit or 0.0)
              for tid, hour, online, lit in s.connection().execute(
                  select(UptimeHour.terminal_id, UptimeHour.hour, UptimeHour.online_seconds,
                         UptimeHour.screen_on_seconds)
                  .where(UptimeHour.terminal_id.in_(ids), UptimeHour.hour.in_(utc))).all()}

    keep = hours or terminal_id is not None
    spec = mandate_plan.spec_of(m)
    # As a street lists its screens: by community, building, then name.
    order = sorted(terminals, key=lambda t: (name_key(terminals[t][2]), name_key(terminals[t][1]),
                                             name_key(terminals[t][0])))
    for d in days:
        summary = DaySummary(d, 0, 0, 0, 0)
        for tid in order:
            name, building, community, created = terminals[tid]
            row = _screen_day(tid, d, slots[d], created, played, broadcast, planned, uptime,
                              spec, keep)
            if row is None:
                continue
            row.terminal, row.building, row.community = name, building, community
            out.screens.append(row)
            summary.screens += 1
            summary.screens_met += row.met
            summary.hours += row.hours_total
            summary.hours_met += row.hours_met
        if slots[d]:
            out.days.append(summary)
    return out


def _screen_day(tid: int, day: date, slots: list[tuple[datetime, datetime, float]],
                created: datetime, played: Cells, broadcast: Cells, planned: Cells,
                uptime: dict, spec: MandateSpec, keep: bool) -> ScreenDay | None:
    created = created.astimezone(UTC)
    judged: list[Hour] = []
    for local, u, part in slots:
        if u + HOUR <= created:
            continue  # the terminal did not exist yet
        span = (u + HOUR - max(u, created)).total_seconds()
        online, lit = uptime.get((tid, u), (0.0, 0.0))
        offline = max(0.0, span - online)
        # Uptime is kept by the hour: an hour partly in the window has that part of it.
        required = required_s(spec, (lit + offline) * part / 3600, span * part / 3600)
        hour = Hour(local, played.get((tid, u), 0.0), required, online, lit,
                    planned.get((tid, u), 0.0), broadcast.get((tid, u), 0.0), offline)
        if not hour.met:
            hour.reason, hour.reason_s = _reason(hour)
        judged.append(hour)
    if not judged:
        return None
    missed = Counter(h.reason for h in judged if h.reason)
    reason, count = min(missed.items(), key=lambda kv: (-kv[1], REASONS.index(kv[0])),
                        default=(None, 0))
    return ScreenDay(tid, "", "", "", day, sum(h.met for h in judged), len(judged),
                     sum(h.played_s for h in judged), sum(h.required_s for h in judged),
                     reason, count, judged if keep else None)


def _reason(h: Hour) -> tuple[str, float]:
    """The first of REASONS that applies to a missed hour, and the seconds it names. Dark
    time explains a shortfall only when the plan held enough: planned time counts only
    while the screen plan has the screen on, so a screen its plan turns off is short of
    plan, not of light (and what the hour requires already leaves its dark time out)."""
    short_plan = h.planned_s < h.required_s - TOLERANCE_S
    if h.offline_s >= REASON_MIN_S:
        return "offline", h.offline_s
    if h.online_s - h.lit_s >= REASON_MIN_S and not short_plan:
        return "screen_off", h.online_s - h.lit_s
    if h.broadcast_s >= REASON_MIN_S:
        return "broadcast", h.broadcast_s
    if short_plan:
        return "plan_short", h.planned_s
    return "played_short", h.played_s


# --- the files handed upward -------------------------------------------------------------

def reason_text(reason: str | None, seconds: float, words: dict[str, str]) -> str:
    """A missed hour's reason in words ("离线 35 分钟", "只排了 0.9 分钟": tenths below ten
    minutes, so a reason never reads as much as the hour requires); `words` from the web
    layer."""
    if not reason:
        return ""
    m = seconds / 60
    return words[f"hour_{reason}"] % {"m": f"{m:.0f}" if m >= 10 else f"{m:.1f}".rstrip("0")
                                      .rstrip(".")}


def day_reason_text(row: ScreenDay, words: dict[str, str]) -> str:
    return words[f"day_{row.reason}"] % {"n": row.reason_hours} if row.reason else ""


def _minutes_of(seconds: float) -> float:
    return round(seconds / 60, 1)


def _met(h: Hour, words: dict[str, str]) -> str:
    if not h.required_s:
        return words["not_required"]
    return words["yes"] if h.met else words["no"]


def _hour_label(start: datetime) -> str:
    return f"{start:%H:%M}–{start + HOUR:%H:%M}"


def export(s: Session, actor: Actor, mandate_id: int, period: reports.Period,
           terminal_id: int | None, fmt: str, words: dict[str, str]) -> tuple[bytes, str]:
    """The report as a file and the mandate's name, read and laid out in one job worker: a
    month of a street is some 33,000 hour rows. The CSV is the hour rows (the proof, one
    table); the workbook has the days, the screen-days and the hours, each under the
    mandate, its authority, its rule and the period."""
    r = report(s, actor, mandate_id, period, terminal_id, hours=True)
    w = words
    yes, no = w["yes"], w["no"]
    hour_cols = [w["community"], w["building"], w["terminal"], w["day"], w["hour"],
                 w["played_min"], w["required_min"], w["lit_min"], w["online_min"], w["met"],
                 w["why"]]
    hour_rows = [[x.community, x.building, x.terminal, x.day.isoformat(), _hour_label(h.start),
                  _minutes_of(h.played_s), _minutes_of(h.required_s), _minutes_of(h.lit_s),
                  _minutes_of(h.online_s), _met(h, w),
                  reason_text(h.reason, h.reason_s, w)]
                 for x in r.screens for h in x.hours or ()]
    if fmt == "csv":
        return exports.to_csv(hour_cols, hour_rows), r.name
    minutes = "0.0"
    days = exports.Sheet(
        w["sheet_days"],
        [(w["day"], None), (w["screens"], exports.COUNT), (w["screens_met"], exports.COUNT),
         (w["hours_total"], exports.COUNT), (w["hours_met"], exports.COUNT),
         (w["share_met"], exports.SHARE)],
        [[d.day.isoformat(), d.screens, d.screens_met, d.hours, d.hours_met,
          exports.share(d.hours_met, d.hours)] for d in r.days],
        [w["total"], None, None, r.hours, r.hours_met, exports.share(r.hours_met, r.hours)],
        [w["notes"], w["rule_met"], w["rule_offline"], w["rule_dark"]])
    screens = exports.Sheet(
        w["sheet_screens"],
        [(w["community"], None), (w["building"], None), (w["terminal"], None), (w["day"], None),
         (w["met"], None), (w["hours_met"], exports.COUNT), (w["hours_total"], exports.COUNT),
         (w["played_min"], minutes), (w["required_min"], minutes), (w["why"], None)],
        [[x.community, x.building, x.terminal, x.day.isoformat(), yes if x.met else no,
          x.hours_met, x.hours_total, _minutes_of(x.played_s), _minutes_of(x.required_s),
          day_reason_text(x, w)] for x in r.screens],
        [w["total"], None, None, None, f"{r.screen_days_met} / {r.screen_days}", r.hours_met,
         r.hours, None, None, None])
    hours = exports.Sheet(w["sheet_hours"], [(c, minutes if 5 <= i <= 8 else None)
                                            for i, c in enumerate(hour_cols)], hour_rows)
    head = [f"{r.name} {w['title']}",
            w["rule"] % {"authority": r.authority or "—", "rule": w["share_text"],
                         "window": "–".join(r.window),
                         "dates": f"{r.dates[0]} – {r.dates[1]}"},
            w["period"] % {"first": period.first, "last": period.last, "zone": w["zone"],
                           "as_of": reports.as_of_text(period, r.as_of)}]
    return exports.to_xlsx([days, screens, hours], head), r.name
