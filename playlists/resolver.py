"""THE resolver: what plays on a terminal at an instant.  All schedule semantics live here
(and in ``recurrence`` for window/date arithmetic).

Conflict rule
-------------
A schedule *applies* at t when one of its window occurrences contains t (see
``playlists.recurrence``) and at least one of its items is *eligible* at t: approved, a sane
duration (0 < d <= 24 h), and inside both the content's and the playlist entry's validity
[from, until).  Ineligible items never play, whatever the schedule says; they are skipped.

Schedules are ranked by (kind, priority), kind order interrupt > normal > filler, so an
interrupt always beats a normal schedule and a filler plays only when no normal or interrupt
schedule applies.  The highest rank with at least one applying schedule wins.  Several
applying schedules of that same rank *interleave*: their eligible items are merged
round-robin (1st item of each schedule in order of schedule id, then the 2nd of each, ...;
shorter playlists simply drop out of later rounds).  If nothing applies, the plan's fallback
playlist plays (as if scheduled all day, every day); if even that has no eligible item the
answer is "nothing" (item None).

Position
--------
The winning sequence loops from an *anchor*: the latest instant at or before t at which the
winning schedules' own state changed (start of the current window occurrence, or an item of
theirs becoming eligible/ineligible; for an interleave, the latest of the members' anchors).
The position is therefore a pure function of (schedules, t): screens sharing a schedule show the
same item at the same moment, a schedule resumes mid-cycle after an interrupt ends exactly where
it would have been, and results never depend on the machine's zone or hash seed.

``valid_until`` is the first instant after t at which the answer could change: the item's end
or any state change (window edge, date bound, validity edge) of the winning schedules or of any
higher-ranked schedule.  ``timeline`` is built from exactly the same rule, so
``resolve(t)`` equals the timeline segment containing t.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import NamedTuple

from playlists.clock import HOUR_US, INF, US, TzClock, clock, from_us, to_us
from playlists.layouts import LayoutSchedule
from playlists.model import (
    ALL_DAY,
    MAX_DURATION_S,
    Item,
    Playlist,
    Schedule,
    ScreenPlan,
    TerminalPlan,
)
from playlists.recurrence import Recurrence

KIND_RANK = {"interrupt": 2, "normal": 1, "filler": 0}
FALLBACK_KIND = "fallback"
_FALLBACK_RANK = (-1, 0)


# --- results ------------------------------------------------------------------------------


class Resolution(NamedTuple):
    """What plays at ``at``.  Times are integer microseconds; properties give datetimes."""

    at_us: int
    item: Item | None
    schedule_id: int | None  # None for the fallback or for nothing
    kind: str  # "interrupt" | "normal" | "filler" | "fallback" | "none"
    offset_us: int  # how far into the item ``at`` is
    item_start_us: int | None
    item_end_us: int | None  # natural end; may be cut short at valid_until
    valid_until_us: int  # next instant anything could change (> at)

    @property
    def at(self) -> datetime:
        return from_us(self.at_us)

    @property
    def offset_s(self) -> float:
        return self.offset_us / US

    @property
    def item_start(self) -> datetime | None:
        return None if self.item_start_us is None else from_us(self.item_start_us)

    @property
    def item_end(self) -> datetime | None:
        return None if self.item_end_us is None else from_us(self.item_end_us)

    @property
    def valid_until(self) -> datetime:
        return from_us(self.valid_until_us)


class Segment(NamedTuple):
    """[start, end) during which one item plays (or nothing); contiguous in a timeline."""

    start_us: int
    end_us: int
    item: Item | None
    schedule_id: int | None
    kind: str
    item_start_us: int | None
    item_end_us: int | None

    @property
    def start(self) -> datetime:
        return from_us(self.start_us)

    @property
    def end(self) -> datetime:
        return from_us(self.end_us)

    @property
    def seconds(self) -> float:
        return (self.end_us - self.start_us) / US

    def sample(self, t_us: int) -> Resolution:
        """The resolution at t inside this segment (valid_until is the segment end)."""
        offset = 0 if self.item_start_us is None else t_us - self.item_start_us
        return Resolution(
            t_us,
            self.item,
            self.schedule_id,
            self.kind,
            offset,
            self.item_start_us,
            self.item_end_us,
            self.end_us,
        )


class ScreenState(NamedTuple):
    on: bool
    brightness: int  # 0-100; 0 when off
    valid_until: datetime | None  # None: never changes


# --- compiled plan ------------------------------------------------------------------------


class _Cycle:
    """A looped sequence of eligible items with cumulative start offsets."""

    __slots__ = ("items", "sids", "kinds", "durs", "cum", "total")

    def __init__(self, entries: list[tuple[Item, int, int | None, str]]) -> None:
        self.items = [e[0] for e in entries]
        self.durs = [e[1] for e in entries]
        self.sids = [e[2] for e in entries]
        self.kinds = [e[3] for e in entries]
        self.cum = []
        acc = 0
        for d in self.durs:
            self.cum.append(acc)
            acc += d
        self.total = acc

    def entries(self) -> list[tuple[Item, int, int | None, str]]:
        return list(zip(self.items, self.durs, self.sids, self.kinds, strict=True))


def duration_us(item: Item) -> int | None:
    """Duration in microseconds, or None if it is not sane (0, negative, NaN, > 24 h)."""
    d = item.duration_s
    if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d):
        return None
    if not 0 < d <= MAX_DURATION_S:
        return None
    us = round(d * US)
    return us if us > 0 else None


def item_validity(item: Item) -> tuple[int, int]:
    """Half-open [from, until) in microseconds where the item may play (ignoring approval)."""
    lo, hi = -INF, INF
    for t in (item.valid_from, item.entry_valid_from):
        if t is not None:
            lo = max(lo, to_us(t))
    for t in (item.valid_until, item.entry_valid_until):
        if t is not None:
            hi = min(hi, to_us(t))
    return lo, hi


class _Compiled:
    """One schedule (or the fallback) compiled for one zone.

    ``memo`` = (lo, hi, state) caches the state for instants in [lo, hi); the state is constant
    there by construction, and a single tuple keeps reads atomic across threads.  Compiled
    schedules are shared between plans (see ``CompileCache``), so resolving many terminals at
    one instant computes each schedule's state once.
    """

    __slots__ = ("sid", "kind", "rank", "rec", "edges", "epochs", "memo")

    def __init__(
        self,
        sid: int | None,
        kind: str,
        rank: tuple[int, int],
        rec: Recurrence,
        items: Iterable[Item],
    ) -> None:
        self.sid, self.kind, self.rank, self.rec = sid, kind, rank, rec
        playable: list[tuple[Item, int, int, int]] = []
        edges: set[int] = set()
        for it in items:
            dur = duration_us(it)
            lo, hi = item_validity(it)
            if not it.approved or dur is None or lo >= hi:
                continue  # never eligible: dropped once, here
            playable.append((it, dur, lo, hi))
            edges.update(x for x in (lo, hi) if -INF < x < INF)
        self.edges = sorted(edges)
        # epochs[k] covers [edges[k-1], edges[k]); its eligible items never change inside.
        self.epochs: list[_Cycle | None] = []
        for k in range(len(self.edges) + 1):
            at = self.edges[k - 1] if k else -INF
            entries = [(it, dur, sid, kind) for it, dur, lo, hi in playable if lo <= at < hi]
            self.epochs.append(_Cycle(entries) if entries else None)
        self.memo: tuple[int, int, tuple[bool, int, _Cycle | None]] = (0, 0, (False, 0, None))

    def refresh(self, t: int) -> tuple[int, int, tuple[bool, int, _Cycle | None]]:
        occ, change = self.rec.next_change(t)
        if occ is None:
            state: tuple[bool, int, _Cycle | None] = (False, 0, None)
        else:
            k = bisect_right(self.edges, t)
            if k < len(self.edges) and self.edges[k] < change:
                change = self.edges[k]
            anchor = max(occ[0], self.edges[k - 1]) if k else occ[0]
            cyc = self.epochs[k]
            state = (cyc is not None, anchor, cyc)
        self.memo = m = (t, change, state)
        return m


class CompileCache:
    """Shares compiled schedules between plans: by identity first, then by value.

    A server resolving thousands of terminals should keep one cache for as long as its
    schedules do not change (and drop it when they do; it is never invalidated).
    """

    def __init__(self) -> None:
        self._by_id: dict[tuple[int, str], tuple[object, _Compiled]] = {}
        self._by_value: dict[tuple[Hashable, str], _Compiled] = {}

    def get(self, key: Hashable, tz: str, build: Callable[[], _Compiled]) -> _Compiled:
        hit = self._by_id.get((id(key), tz))
        if hit is not None and hit[0] is key:
            return hit[1]
        comp = self._by_value.get((key, tz))
        if comp is None:
            comp = self._by_value[(key, tz)] = build()
        self._by_id[(id(key), tz)] = (key, comp)
        return comp


def _compile_schedule(s: Schedule, clk: TzClock) -> _Compiled:
    rec = Recurrence(
        clk, s.start_date, s.end_date, s.weekdays, s.windows, s.valid_from, s.valid_until
    )
    # Unknown kinds rank like normal schedules; validation reports them.
    rank = (KIND_RANK.get(s.kind, 1), s.priority)
    kind = s.kind if s.kind in KIND_RANK else "normal"
    return _Compiled(s.id, kind, rank, rec, s.playlist.items)


def _recurrence(clk: TzClock, r: ScreenPlan | LayoutSchedule) -> Recurrence:
    return Recurrence(clk, r.start_date, r.end_date, r.weekdays, r.windows, r.valid_from,
                      r.valid_until)


def _compile_fallback(p: Playlist, clk: TzClock) -> _Compiled:
    rec = Recurrence(clk, None, None, range(7), (ALL_DAY,))
    return _Compiled(None, FALLBACK_KIND, _FALLBACK_RANK, rec, p.items)


class CompiledPlan:
    """A TerminalPlan prepared for fast resolution: schedules grouped by rank, highest first.

    With layouts, the main region's answer comes from the groups of the layout in force:
    its main region's size may have its own playlists (a notice rendered for the region,
    ``MainVariant``), and a layout's edges are edges of the main answer too."""

    def __init__(self, plan: TerminalPlan, cache: CompileCache | None = None) -> None:
        self.plan = plan
        self.clock = clk = clock(plan.tz)
        self._cache = cache if cache is not None else CompileCache()
        self.fallback = self._cache.get(
            ("fallback", plan.fallback), plan.tz, lambda: _compile_fallback(plan.fallback, clk)
        )
        self.groups = self._groups(plan.schedules)
        self.screens = [(_recurrence(clk, p), p) for p in plan.screen_plans]
        self.frames = [(_recurrence(clk, ls), ls) for ls in plan.layouts]
        self._variant_groups: dict[tuple[int, int], list[tuple[_Compiled, ...]]] = {}
        self._variants = {(v.width, v.height): v for v in plan.variants}
        self._merged: dict[tuple[int, ...], _Cycle] = {}
        self._memo: tuple[int, int, tuple[int, _Cycle | None, int]] = (0, 0, (0, None, 0))

    def _groups(self, schedules: Iterable[Schedule]) -> list[tuple[_Compiled, ...]]:
        clk, tz = self.clock, self.plan.tz
        comps = [self._cache.get(s, tz, lambda s=s: _compile_schedule(s, clk))
                 for s in schedules]
        # Stable sort: same rank ordered by schedule id, then plan order -> deterministic merge.
        comps.sort(key=lambda c: (-c.rank[0], -c.rank[1], c.sid))
        groups: list[list[_Compiled]] = []
        for c in comps:
            if groups and groups[-1][0].rank == c.rank:
                groups[-1].append(c)
            else:
                groups.append([c])
        groups.append([self.fallback])
        return [tuple(g) for g in groups]

    def _groups_for(self, layout: LayoutSchedule | None) -> list[tuple[_Compiled, ...]]:
        """The main region's schedules under this layout (its size's playlists, if any)."""
        main = layout.layout.main() if layout is not None else None
        if main is None or (main.w, main.h) not in self._variants:
            return self.groups
        key = (main.w, main.h)
        groups = self._variant_groups.get(key)
        if groups is None:
            sized = {p.id: p for p in self._variants[key].playlists}
            groups = self._variant_groups[key] = self._groups(
                s if s.playlist.id not in sized else dataclasses.replace(
                    s, playlist=sized[s.playlist.id]) for s in self.plan.schedules)
        return groups

    def frame_us(self, t: int) -> tuple[LayoutSchedule | None, LayoutSchedule | None, int]:
        """(layout in force, overlay in force, next instant either could change) at t.

        Each is the highest-priority schedule of its kind whose window holds t (equal
        priorities: the lower id); no layout means full-frame, no overlay means none."""
        best: dict[bool, tuple[tuple[int, int], LayoutSchedule]] = {}
        change = INF
        for rec, ls in self.frames:
            occ, nxt = rec.next_change(t)
            change = min(change, nxt)
            if occ is not None:
                key = (ls.priority, -ls.id)
                cur = best.get(ls.layout.overlay)
                if cur is None or key > cur[0]:
                    best[ls.layout.overlay] = (key, ls)
        layout, overlay = best.get(False), best.get(True)
        return (layout[1] if layout else None, overlay[1] if overlay else None, change)

    def _merge(self, cycles: list[_Cycle]) -> _Cycle:
        key = tuple(id(c) for c in cycles)
        merged = self._merged.get(key)
        if merged is None:
            lists = [c.entries() for c in cycles]
            rounds = max(len(x) for x in lists)
            entries = [x[n] for n in range(rounds) for x in lists if n < len(x)]
            merged = self._merged[key] = _Cycle(entries)
        return merged

    def _state(self, t: int) -> tuple[int, _Cycle | None, int]:
        """(anchor, winning cycle or None, next instant the winner/anchor could change)."""
        m = self._memo  # the whole answer is constant on [m[0], m[1]): a player re-resolving
        if m[0] <= t < m[1]:  # at each item end hits this
            return m[2]
        result = self._compute_state(t)
        self._memo = (t, result[2], result)
        return result

    def _compute_state(self, t: int) -> tuple[int, _Cycle | None, int]:
        groups, change = self.groups, INF
        if self.frames:
            layout, _overlay, change = self.frame_us(t)
            groups = self._groups_for(layout)
        for group in groups:
            anchor = 0
            cycles: list[_Cycle] = []
            for c in group:
                m = c.memo
                if not m[0] <= t < m[1]:
                    m = c.refresh(t)
                if m[1] < change:
                    change = m[1]
                st = m[2]
                if st[0]:
                    cycles.append(st[2])  # type: ignore[arg-type]
                    if st[1] > anchor or len(cycles) == 1:
                        anchor = st[1]
            if cycles:
                return anchor, cycles[0] if len(cycles) == 1 else self._merge(cycles), change
        return 0, None, change

    def resolve_us(self, t: int) -> Resolution:
        anchor, cyc, change = self._state(t)
        if cyc is None:
            return Resolution(t, None, None, "none", 0, None, None, change)
        pos = (t - anchor) % cyc.total
        i = bisect_right(cyc.cum, pos) - 1
        start = t - (pos - cyc.cum[i])
        end = start + cyc.durs[i]
        return Resolution(
            t, cyc.items[i], cyc.sids[i], cyc.kinds[i], t - start, start, end, min(end, change)
        )

    def timeline_us(self, start: int, end: int) -> list[Segment]:
        out: list[Segment] = []
        append = out.append
        new = tuple.__new__  # skips NamedTuple's Python-level __new__: the hot loop is here
        t = start
        while t < end:
            anchor, cyc, change = self._state(t)
            stop = change if change < end else end
            if cyc is None:
                append(Segment(t, stop, None, None, "none", None, None))
                t = stop
                continue
            items, durs, sids, kinds, n = cyc.items, cyc.durs, cyc.sids, cyc.kinds, len(cyc.durs)
            pos = (t - anchor) % cyc.total
            i = bisect_right(cyc.cum, pos) - 1
            s_item = t - (pos - cyc.cum[i])
            while True:
                e_item = s_item + durs[i]
                if e_item >= stop:
                    append(new(Segment, (t, stop, items[i], sids[i], kinds[i], s_item, e_item)))
                    break
                append(new(Segment, (t, e_item, items[i], sids[i], kinds[i], s_item, e_item)))
                t = s_item = e_item
                i += 1
                if i == n:
                    i = 0
            t = stop
        return out

    def screen_state_us(self, t: int) -> tuple[bool, int, int]:
        best: tuple[tuple[int, int, int, int], ScreenPlan] | None = None
        change = INF
        for rec, p in self.screens:
            occ, nxt = rec.next_change(t)
            change = min(change, nxt)
            if occ is not None:
                # Equal priority: off beats on, then the dimmer plan, then the lower id.
                key = (p.priority, 0 if p.on else 1, -p.brightness, -p.id)
                if best is None or key > best[0]:
                    best = (key, p)
        if best is None:
            on, level = self.plan.screen_default_on, self.plan.screen_default_brightness
        else:
            on, level = best[1].on, best[1].brightness
        level = min(100, max(0, level)) if on else 0
        return on, level, change

    def screen_on_spans_us(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end) during which the screen is planned on."""
        spans: list[tuple[int, int]] = []
        t = start
        while t < end:
            on, _level, change = self.screen_state_us(t)
            stop = change if change < end else end
            if on:
                if spans and spans[-1][1] == t:
                    spans[-1] = (spans[-1][0], stop)
                else:
                    spans.append((t, stop))
            t = stop
        return spans

    def planned_us(self, start: int, end: int) -> dict[tuple[int, int, int], int]:
        """Microseconds each (UTC hour, content_id, topic_id) is on screen in [start, end)
        while the screen is planned on: the timeline's sums, by arithmetic on the looped
        cycle instead of one segment per item (a day of 10-second items is 8,640
        segments; this is a few steps per hour)."""
        out: dict[tuple[int, int, int], int] = {}
        for a, b in self.screen_on_spans_us(start, end):
            t = a
            while t < b:
                anchor, cyc, change = self._state(t)
                stop = change if change < b else b
                if cyc is not None:
                    x = t
                    while x < stop:
                        hour = x - x % HOUR_US
                        y = min(hour + HOUR_US, stop)
                        for i, us in _cycle_shares(cyc, anchor, x, y):
                            item = cyc.items[i]
                            key = (hour, item.content_id, item.topic_id)
                            out[key] = out.get(key, 0) + us
                        x = y
                t = stop
        return out


def _cycle_shares(cyc: _Cycle, anchor: int, x: int, y: int) -> list[tuple[int, int]]:
    """(item index, microseconds) each item of a cycle looped from `anchor` plays in [x, y):
    whole turns of the cycle, then a walk over the rest (at most one turn)."""
    turns, rest = divmod(y - x, cyc.total)
    shares = [turns * d for d in cyc.durs] if turns else [0] * len(cyc.durs)
    pos = (x - anchor) % cyc.total
    i = bisect_right(cyc.cum, pos) - 1
    into = pos - cyc.cum[i]
    while rest > 0:
        take = min(cyc.durs[i] - into, rest)
        shares[i] += take
        rest -= take
        into = 0
        i = i + 1 if i + 1 < len(cyc.durs) else 0
    return [(i, us) for i, us in enumerate(shares) if us]


# --- public functions ---------------------------------------------------------------------

_RECENT: OrderedDict[int, tuple[TerminalPlan, CompiledPlan]] = OrderedDict()
_RECENT_MAX = 256
_RECENT_LOCK = threading.Lock()


def compile_plan(plan: TerminalPlan, cache: CompileCache | None = None) -> CompiledPlan:
    """Prepare a plan for repeated resolution (pass one CompileCache for many terminals)."""
    return CompiledPlan(plan, cache)


def as_compiled(plan: TerminalPlan | CompiledPlan) -> CompiledPlan:
    """The plan itself if compiled, else a compilation kept for the most recent plans."""
    if isinstance(plan, CompiledPlan):
        return plan
    with _RECENT_LOCK:
        hit = _RECENT.get(id(plan))
        if hit is not None and hit[0] is plan:
            _RECENT.move_to_end(id(plan))
            return hit[1]
    comp = CompiledPlan(plan)
    with _RECENT_LOCK:
        _RECENT[id(plan)] = (plan, comp)  # holding the plan keeps its id from being reused
        if len(_RECENT) > _RECENT_MAX:
            _RECENT.popitem(last=False)
    return comp


def resolve(plan: TerminalPlan | CompiledPlan, t: datetime) -> Resolution:
    """What plays at aware instant t (see the module docstring for the rules)."""
    return as_compiled(plan).resolve_us(to_us(t))


def timeline(plan: TerminalPlan | CompiledPlan, start: datetime, end: datetime) -> list[Segment]:
    """Contiguous segments exactly covering [start, end); resolve(t) equals the one holding t."""
    return as_compiled(plan).timeline_us(to_us(start), to_us(end))


def screen_state(plan: TerminalPlan | CompiledPlan, t: datetime) -> ScreenState:
    """Screen power/brightness at t: the highest-priority active screen plan, else the default."""
    on, level, change = as_compiled(plan).screen_state_us(to_us(t))
    return ScreenState(on, level, None if change >= INF else from_us(change))


def blobs_needed(plan: TerminalPlan | CompiledPlan, start: datetime, end: datetime) -> set[str]:
    """sha256 of every blob the terminal may show in [start, end): scheduled or fallback."""
    comp = as_compiled(plan)
    lo, hi = to_us(start), to_us(end)
    needed = {seg.item.sha256 for seg in comp.timeline_us(lo, hi) if seg.item is not None}
    for ls in comp.plan.layouts:  # a layout's images, whenever it may frame the screen
        if _overlaps((to_us(ls.valid_from) if ls.valid_from else -INF,
                      to_us(ls.valid_until) if ls.valid_until else INF), lo, hi):
            needed.update(r.image.sha256 for r in ls.layout.regions
                          if r.image is not None and r.image.approved)
    # The fallback is the safety net if the plan changes mid-way: always keep it cached.
    for cyc in comp.fallback.epochs:
        if cyc is not None:
            needed.update(i.sha256 for i in cyc.items if _overlaps(item_validity(i), lo, hi))
    return needed


def _overlaps(span: tuple[int, int], lo: int, hi: int) -> bool:
    return span[0] < hi and lo < span[1]


def planned_by_hour(
    plan: TerminalPlan | CompiledPlan, start: datetime, end: datetime
) -> dict[tuple[datetime, int, int], float]:
    """Seconds each (UTC hour, content_id, topic_id) is planned on screen in [start, end),
    counting only time the screen is planned on: what the server stores as planned time."""
    return {(from_us(h), c, t): us / US
            for (h, c, t), us in as_compiled(plan).planned_us(to_us(start), to_us(end)).items()}
