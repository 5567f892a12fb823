"""Time-share mandates: the share of screen time a mandate requires each hour, the share a
plan gives it, and enforcement by inserting its items (docs/schedules.md, "Time-share
mandates"). Pure, like the resolver, and computed with the resolver's own arithmetic.

An hour here is a UTC hour (as planned and played time are stored) cut to the mandate's
daily window: an hour the window covers in part asks its share pro rata.

Enforcement adds ordinary `interrupt` schedules to the plan, so a player of any version
plays them: per local day of the horizon and per hour, the hour's shortfall against the
plan without insertion, in slots of at most MAX_SLOT_S spread evenly over the time that
neither shows the mandated content nor a staff interrupt at MANDATE_PRIORITY or above; and
one schedule for every day after the horizon at the full share (an offline screen keeps
meeting it without the server).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import NamedTuple

from playlists.clock import DAY_US, HOUR_US, US, TzClock, clock, day_number, from_us, time_us, to_us
from playlists.model import Item, Playlist, Schedule, TerminalPlan, Window
from playlists.resolver import CompileCache, CompiledPlan, as_compiled, duration_us

SHARE_KINDS = ("minutes", "percent")
# Above what staff normally give an interrupt (0-10), below the top so that staff can
# still make a notice beat a mandate on purpose (901-1000). At exactly 900 a staff
# interrupt ties: enforcement leaves its time alone, as it does above.
MANDATE_PRIORITY = 900
# Inserted schedules' ids: above any real schedule's, inside a 32-bit int (play records
# carry them). Per mandate 1,000 ids: day code (local date mod DAY_CODES) x first item,
# and BEYOND + first item for the schedule after the horizon.
ID_BASE = 2_000_000_000
IDS_PER_MANDATE = 1000
MAX_MANDATE_ID = (2**31 - 1 - ID_BASE) // IDS_PER_MANDATE - 1
ROTATIONS = 90  # items a slot may start at: a mandate's first 90
DAY_CODES = 10  # so a horizon is at most 10 local days
BEYOND = DAY_CODES * ROTATIONS
MAX_SLOT_S = 300  # a longer item makes its slot as long: an item is not cut for the slot
TOLERANCE_S = 1.0  # an hour short by at most this is met (rounding to whole seconds)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class MandateSpec:
    """A mandate as the resolver sees it: its content is content_ids or the topic's items;
    `share` is minutes per hour or per cent of the lit time (`share_kind`); dates inclusive,
    local, the window like a schedule's (end <= start crosses midnight)."""

    id: int
    content_ids: frozenset[int]
    topic_id: int | None
    share_kind: str
    share: float
    window: Window
    start_date: date
    end_date: date

    def counts(self, content_id: int, topic_id: int | None) -> bool:
        return content_id in self.content_ids or (
            self.topic_id is not None and topic_id == self.topic_id)


class HourShare(NamedTuple):
    """One hour of a mandate on one screen, in seconds."""

    required_s: float
    planned_s: float
    lit_s: float

    @property
    def short_s(self) -> float:
        return max(0.0, self.required_s - self.planned_s)

    @property
    def met(self) -> bool:
        return self.planned_s + TOLERANCE_S >= self.required_s


def required_s(spec: MandateSpec, lit_s: float, span_s: float = 3600.0) -> float:
    """Seconds an hour requires: minutes per hour (pro rata for `span_s`, the part of the
    hour in the window) but never more than the screen is lit (an off screen cannot be
    asked to show it); or per cent of the lit time."""
    if spec.share_kind == "minutes":
        return min(spec.share * 60 * span_s / 3600, lit_s)
    return spec.share / 100 * lit_s


# --- the planned share --------------------------------------------------------------------


def _occurrences(spec: MandateSpec, clk: TzClock, lo: int, hi: int
                 ) -> list[tuple[int, int, int]]:
    """(local day, start, end) of the window's occurrences on the mandate's dates, clipped
    to [lo, hi) and, like a schedule's, to the local midnights bounding its dates."""
    s, e = time_us(spec.window.start), time_us(spec.window.end)
    if e <= s:
        e += DAY_US
    first, last = day_number(spec.start_date), day_number(spec.end_date)
    lo = max(lo, clk.to_utc(first * DAY_US))
    hi = min(hi, clk.to_utc((last + 1) * DAY_US))
    out = []
    if lo < hi:
        for day in range(max(first, clk.to_local(lo) // DAY_US - 1),
                         min(last, clk.to_local(hi - 1) // DAY_US) + 1):
            a, b = max(clk.to_utc(day * DAY_US + s), lo), min(clk.to_utc(day * DAY_US + e), hi)
            if a < b:
                out.append((day, a, b))
    return out


def _hours(a: int, b: int) -> list[tuple[int, int, int]]:
    """(UTC hour, start, end): [a, b) cut at UTC hours."""
    out = []
    while a < b:
        h = a - a % HOUR_US
        out.append((h, a, min(b, h + HOUR_US)))
        a = h + HOUR_US
    return out


def _occurrence_shares(comp: CompiledPlan, spec: MandateSpec, a: int, b: int
                       ) -> list[tuple[int, int, int, HourShare]]:
    """(UTC hour, start, end, share) for each hour of the occurrence [a, b)."""
    got: dict[int, int] = {}
    for (h, content_id, topic_id), us in comp.planned_us(a, b).items():
        if spec.counts(content_id, topic_id):
            got[h] = got.get(h, 0) + us
    lit: dict[int, int] = {}
    for x, y in comp.screen_on_spans_us(a, b):
        for h, p, q in _hours(x, y):
            lit[h] = lit.get(h, 0) + q - p
    out = []
    for h, x, y in _hours(a, b):
        lit_s = lit.get(h, 0) / US
        out.append((h, x, y, HourShare(required_s(spec, lit_s, (y - x) / US),
                                       got.get(h, 0) / US, lit_s)))
    return out


def planned_share(plan: TerminalPlan | CompiledPlan, specs: Iterable[MandateSpec],
                  start: datetime, end: datetime) -> dict[tuple[int, datetime], HourShare]:
    """{(mandate id, UTC hour): HourShare} for the hours of each mandate's window on its
    dates within [start, end): the seconds its content is planned while the screen is
    planned on (as `planned_by_hour` counts them), the lit seconds, and what they require.
    An item counts when its content is one of the mandate's or of its topic."""
    comp = as_compiled(plan)
    out: dict[tuple[int, datetime], HourShare] = {}
    for spec in specs:
        for _day, a, b in _occurrences(spec, comp.clock, to_us(start), to_us(end)):
            for h, _x, _y, share in _occurrence_shares(comp, spec, a, b):
                key = (spec.id, from_us(h))
                prev = out.get(key)  # a 24-hour window's two occurrences meet in one hour
                out[key] = share if prev is None else HourShare(
                    *(p + q for p, q in zip(prev, share, strict=True)))
    return out


# --- enforcement --------------------------------------------------------------------------


def _free(comp: CompiledPlan, x: int, y: int, specs: Sequence[MandateSpec],
          priorities: dict[int, int], marks: dict) -> list[tuple[int, int]]:
    """The parts of [x, y) where an insertion may go, in whole seconds: the screen is on,
    nothing counting for an enforced mandate plays (it would be pre-empted) and no
    interrupt at MANDATE_PRIORITY or above holds the screen (another mandate's slots, or
    a staff notice meant to beat mandates)."""
    blocked = _blocked(comp, x, y, specs, priorities, marks)
    out: list[tuple[int, int]] = []
    for a, b in comp.screen_on_spans_us(x, y):
        for p, q in _minus((a, b), blocked):
            p, q = -(-p // US) * US, q // US * US  # whole seconds: windows are HH:MM:SS
            if p < q:
                out.append((p, q))
    return out


def _blocked(comp: CompiledPlan, x: int, y: int, specs: Sequence[MandateSpec],
             priorities: dict[int, int], marks: dict) -> list[tuple[int, int]]:
    """Where in [x, y) the plan shows what an insertion must not cover, sorted: found by
    arithmetic on the looped cycles (as `planned_us` counts), not item by item, since a
    day of 10-second items is thousands of segments and only a few of them count.
    `marks` keeps each cycle's blocked items for the next call."""
    out: list[tuple[int, int]] = []
    t = x
    while t < y:
        anchor, cyc, change = comp._state(t)  # the resolver's own answer for [t, change)
        stop = min(change, y)
        if cyc is not None:
            hit = marks.get(id(cyc))
            if hit is None or hit[0] is not cyc:
                hit = marks[id(cyc)] = (cyc, [
                    i for i, (item, sid, kind) in enumerate(zip(cyc.items, cyc.sids,
                                                                 cyc.kinds, strict=True))
                    if any(s.counts(item.content_id, item.topic_id) for s in specs)
                    or (kind == "interrupt" and priorities.get(sid or 0, 0) >= MANDATE_PRIORITY)])
            picked = hit[1]
            if len(picked) == len(cyc.items):
                out.append((t, stop))
            elif picked:
                turn = t - (t - anchor) % cyc.total
                while turn < stop:
                    for i in picked:
                        a, b = max(t, turn + cyc.cum[i]), min(stop, turn + cyc.cum[i] + cyc.durs[i])
                        if a < b:
                            out.append((a, b))
                    turn += cyc.total
        t = stop
    return out


def _minus(span: tuple[int, int], cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`span` less the sorted intervals `cuts`."""
    out, a = [], span[0]
    for p, q in cuts:
        if q <= a or p >= span[1]:
            continue
        if p > a:
            out.append((a, p))
        a = max(a, q)
    if a < span[1]:
        out.append((a, span[1]))
    return out


def _slots(free: list[tuple[int, int]], need_s: int, cap_s: int) -> list[tuple[int, int]]:
    """`need_s` seconds (at most the free time) in k = need / cap slots (rounded up), spread
    evenly over the free time: the time left over is cut in k equal gaps, half a gap before
    the first slot and after the last. A slot across a non-free part is split around it."""
    total = sum(b - a for a, b in free) // US
    need = min(need_s, total)
    if need <= 0:
        return []
    k = -(-need // cap_s)
    gap = total - need
    out: list[tuple[int, int]] = []
    done = 0
    for j in range(k):
        length = need // k + (1 if j < need % k else 0)
        start = (2 * j + 1) * gap // (2 * k) + done
        out += _on_free(free, start, start + length)
        done += length
    return out


def _on_free(free: list[tuple[int, int]], p: int, q: int) -> list[tuple[int, int]]:
    """Seconds [p, q) counted along the free time, as instants."""
    out, acc = [], 0
    for a, b in free:
        n = (b - a) // US
        lo, hi = max(p, acc), min(q, acc + n)
        if lo < hi:
            out.append((a + (lo - acc) * US, a + (hi - acc) * US))
        acc += n
        if acc >= q:
            break
    return out


class _Stream:
    """The insertion playlist looped across slots: each slot starts at the item the last
    one stopped in (a cut item is shown again whole), so every item gets its turn. A slot
    is a window occurrence, and a window occurrence starts its playlist at the first item:
    so a slot starting at item i belongs to a schedule whose playlist starts at item i."""

    def __init__(self, playlist: Playlist) -> None:
        self.items = [i for i in playlist.items if i.approved and duration_us(i) is not None]
        self.durs = [duration_us(i) or 0 for i in self.items]
        self.cum = [sum(self.durs[:n]) for n in range(len(self.durs))]
        self.total = sum(self.durs)
        self.pos = 0

    def take(self, us: int) -> int:
        """The item a slot of `us` starts at; moves on past what it plays."""
        i = bisect_right(self.cum, self.pos) - 1
        if i >= ROTATIONS:
            i = 0
        self.pos = (self.cum[i] + us) % self.total
        return i

    def rotated(self, i: int) -> tuple[Item, ...]:
        return tuple(self.items[i:] + self.items[:i])


def _local_pieces(clk: TzClock, a: int, b: int) -> list[tuple[int, time, time]]:
    """(local day, start, end) of [a, b) on the wall clock, cut at local midnight."""
    out = []
    la, lb = clk.to_local(a), clk.to_local(b)
    while la < lb:
        day = la // DAY_US
        stop = min(lb, (day + 1) * DAY_US)
        out.append((day, _wall(la), _wall(stop)))
        la = stop
    return out


def _date(day: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + day)


def _wall(local_us: int) -> time:
    s = local_us % DAY_US // US
    return time(s // 3600, s // 60 % 60, s % 60)


def mandate_of(schedule_id: int | None) -> int | None:
    """The mandate whose insertion an inserted schedule's id names (None: not inserted)."""
    if schedule_id is None or schedule_id < ID_BASE:
        return None
    return (schedule_id - ID_BASE) // IDS_PER_MANDATE


def _schedules(spec: MandateSpec, playlist: Playlist, stream: _Stream,
               groups: dict[tuple[int | None, int], list[tuple[time, time]]],
               beyond: tuple[date, date] | None) -> list[Schedule]:
    out = []
    for (day, first), windows in sorted(groups.items(), key=lambda kv: (kv[0][0] is None,
                                                                          kv[0])):
        code = BEYOND + first if day is None else day % DAY_CODES * ROTATIONS + first
        sid = ID_BASE + spec.id * IDS_PER_MANDATE + code
        if day is None:
            assert beyond is not None
            start, end = beyond
        else:
            start = end = _date(day)
        out.append(Schedule(
            id=sid, playlist=Playlist(sid, playlist.name, stream.rotated(first)),
            kind="interrupt", priority=MANDATE_PRIORITY, start_date=start, end_date=end,
            windows=tuple(Window(a, b) for a, b in sorted(windows))))
    return out


def enforce(plan: TerminalPlan, inserts: Iterable[tuple[MandateSpec, Playlist]],
            days: Sequence[date]) -> TerminalPlan:
    """The plan with each mandate's insertion playlist scheduled so that every hour of its
    window plays at least its required share: for each local day in `days` (consecutive,
    at most DAY_CODES) each hour's shortfall, and after the last day the full share.

    Mandates are enforced in order of id, each against the plan with the earlier ones'
    insertions (a slot never covers another enforced mandate's content or slots)."""
    chosen = sorted(inserts, key=lambda x: x[0].id)
    if not chosen:
        return plan
    first, last = day_number(min(days)), day_number(max(days))
    if last - first >= DAY_CODES:
        raise ValueError(f"at most {DAY_CODES} days are enforced at once")
    specs = [spec for spec, _p in chosen]
    clk = clock(plan.tz)
    cache = CompileCache()
    lo, hi = clk.to_utc(first * DAY_US), clk.to_utc((last + 1) * DAY_US)
    for spec, playlist in chosen:
        if not 1 <= spec.id <= MAX_MANDATE_ID:
            raise ValueError(f"mandate id {spec.id} is outside 1..{MAX_MANDATE_ID}")
        stream = _Stream(playlist)
        if not stream.items:
            continue
        cap_s = max(MAX_SLOT_S, math.ceil(max(stream.durs) / US))
        comp = CompiledPlan(plan, cache)
        priorities = {s.id: s.priority for s in plan.schedules}
        marks: dict[int, tuple[object, list[int]]] = {}
        groups: dict[tuple[int | None, int], list[tuple[time, time]]] = {}
        for _day, a, b in _occurrences(spec, clk, lo, hi):
            for _h, x, y, share in _occurrence_shares(comp, spec, a, b):
                if share.required_s - share.planned_s <= TOLERANCE_S:
                    continue
                need = math.ceil(share.required_s - share.planned_s)
                for p, q in _slots(_free(comp, x, y, specs, priorities, marks), need, cap_s):
                    i = stream.take(q - p)
                    for day, wa, wb in _local_pieces(clk, p, q):
                        groups.setdefault((day, i), []).append((wa, wb))
        beyond = None
        if day_number(spec.end_date) > last:
            beyond = (max(spec.start_date, _date(last + 1)), spec.end_date)
            for p, q in _full_share(spec, cap_s):
                i = stream.take(q - p)
                groups.setdefault((None, i), []).append((_wall(p), _wall(q)))
        added = _schedules(spec, playlist, stream, groups, beyond)
        plan = replace(plan, schedules=plan.schedules + tuple(added))
    return plan


def _full_share(spec: MandateSpec, cap_s: int) -> list[tuple[int, int]]:
    """Slots of a day after the horizon, in local microseconds from midnight: each local
    hour of the window gets its whole required share (the screen taken as lit all the
    hour: what it plays is unknown so far ahead; an off screen shows nothing anyway)."""
    s, e = time_us(spec.window.start), time_us(spec.window.end)
    if e <= s:
        e += DAY_US
    out: list[tuple[int, int]] = []
    for _h, x, y in _hours(s, e):
        span_s = (y - x) / US
        out += _slots([(x, y)], math.ceil(required_s(spec, span_s, span_s)), cap_s)
    return out
