"""Hypothesis properties of the resolver against its own timeline and a naive oracle."""

from __future__ import annotations

from datetime import datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st
from playlists_helpers import KIND_ORDER, local, naive_applies, naive_eligible, rank, utc
from playlists_strategies import SETTINGS, at, half_hours, offsets, plans

from playlists import (
    CompileCache,
    Item,
    Playlist,
    Schedule,
    TerminalPlan,
    Window,
    compile_plan,
    resolve,
    timeline,
)
from playlists.clock import from_us, to_us


@SETTINGS
@given(plans(), offsets, st.integers(1, 6 * 3600 * 10**6), st.integers(0, 6 * 3600 * 10**6))
def test_resolve_equals_timeline_sample(plan: TerminalPlan, off: int, after: int, before: int):
    t = at(off)
    t_us = to_us(t)
    start, end = from_us(t_us - before), from_us(t_us + after)
    segs = timeline(plan, start, end)
    [seg] = [s for s in segs if s.start_us <= t_us < s.end_us]
    expected = seg.sample(t_us)
    got = resolve(compile_plan(plan), t)  # fresh: no state cached by the timeline run
    if seg.end_us == to_us(end):  # the last segment is cut by the requested range
        got = got._replace(valid_until_us=seg.end_us)
        assert resolve(plan, t).valid_until_us >= seg.end_us
    assert got == expected


@SETTINGS
@given(plans(), offsets, st.integers(1, 6 * 3600 * 10**6))
def test_timeline_is_contiguous_and_exact(plan: TerminalPlan, off: int, span: int) -> None:
    start = at(off)
    end = from_us(to_us(start) + span)
    segs = timeline(plan, start, end)
    assert segs[0].start_us == to_us(start) and segs[-1].end_us == to_us(end)
    for a, b in zip(segs, segs[1:], strict=False):
        assert a.end_us == b.start_us
    for s in segs:
        assert s.start_us < s.end_us
        if s.item is not None:
            assert s.item_start_us is not None and s.item_end_us is not None
            assert s.item_start_us <= s.start_us < s.end_us <= s.item_end_us


@SETTINGS
@given(plans(), offsets, st.lists(st.integers(0, 10**6 - 1), min_size=1, max_size=5))
def test_valid_until_is_after_t_and_nothing_changes_before(
    plan: TerminalPlan, off: int, fractions: list[int]
) -> None:
    t = at(off)
    r = resolve(plan, t)
    assert r.valid_until_us > r.at_us
    span = r.valid_until_us - r.at_us
    probes = [r.at_us + span * f // 10**6 for f in fractions] + [r.valid_until_us - 1]
    for p in probes:
        q = resolve(compile_plan(plan), from_us(p))  # fresh: no cached state to echo back
        assert (q.item, q.schedule_id, q.kind, q.item_start_us, q.item_end_us) == (
            r.item,
            r.schedule_id,
            r.kind,
            r.item_start_us,
            r.item_end_us,
        )
        assert q.valid_until_us == r.valid_until_us
        if r.item is not None:
            assert q.offset_us == r.offset_us + (p - r.at_us)
    # And the answer does change shape at valid_until only if something really changed: at
    # least resolving there must succeed and start a new segment at or before it.
    nxt = resolve(plan, r.valid_until)
    assert nxt.item_start_us is None or nxt.item_start_us <= nxt.at_us


@SETTINGS
@given(plans(), offsets)
def test_winner_matches_naive_oracle(plan: TerminalPlan, off: int) -> None:
    t = at(off)
    r = resolve(plan, t)
    applying = [s for s in plan.schedules if naive_applies(s, t)]
    if not applying:
        assert r.kind in ("fallback", "none")
        eligible_fb = any(naive_eligible(i, t) for i in plan.fallback.items)
        assert (r.kind == "fallback") == eligible_fb
        return
    top = max(rank(s) for s in applying)
    winners = {s.id for s in applying if rank(s) == top}
    assert r.schedule_id in winners
    assert KIND_ORDER[r.kind] == top[0]


SLOT_US = 30 * 60 * 10**6  # every generated edge is on a half hour: state is constant per slot


@SETTINGS
@given(plans(), offsets, st.integers(1, 6 * 3600 * 10**6))
def test_ineligible_content_never_plays(plan: TerminalPlan, off: int, span: int) -> None:
    start = at(off)
    checked: set[tuple[int, int]] = set()
    by_id = {s.id: s for s in plan.schedules}
    for seg in timeline(plan, start, from_us(to_us(start) + span)):
        if seg.item is None:
            continue
        # Eligibility is an interval, so checking both ends of the segment covers it all.
        assert naive_eligible(seg.item, seg.start)
        assert naive_eligible(seg.item, from_us(seg.end_us - 1))
        if seg.schedule_id is None:
            continue
        s = by_id[seg.schedule_id]
        assert seg.item in s.playlist.items
        for slot in range(seg.start_us // SLOT_US, (seg.end_us - 1) // SLOT_US + 1):
            if (s.id, slot) not in checked:
                checked.add((s.id, slot))
                assert naive_applies(s, from_us(max(seg.start_us, slot * SLOT_US)))


@SETTINGS
@given(plans(fallback_ok=True), offsets, st.integers(1, 6 * 3600 * 10**6))
def test_never_nothing_with_a_playable_fallback(plan: TerminalPlan, off: int, span: int):
    start = at(off)
    assert all(s.item is not None for s in timeline(plan, start, from_us(to_us(start) + span)))


@SETTINGS
@given(plans(fallback_ok=False), offsets, st.integers(1, 6 * 3600 * 10**6))
def test_an_all_day_filler_excludes_the_fallback(plan: TerminalPlan, off: int, span: int):
    filler = Schedule(99, Playlist(99, "f", (Item(98, "d" * 64, 15, 0, True),)), kind="filler")
    plan = TerminalPlan(1, schedules=(*plan.schedules, filler), fallback=plan.fallback)
    start = at(off)
    for s in timeline(plan, start, from_us(to_us(start) + span)):
        assert s.item is not None and s.kind in ("filler", "normal", "interrupt")


@SETTINGS
@given(half_hours, half_hours, st.sets(st.integers(0, 6), min_size=1), offsets)
def test_window_membership_matches_oracle(a: time, b: time, wd: set[int], off: int) -> None:
    s = Schedule(
        1,
        Playlist(1, "p", (Item(1, "a" * 64, 10, 0, True),)),
        weekdays=frozenset(wd),
        windows=(Window(a, b),),
    )
    plan = TerminalPlan(1, schedules=(s,))
    t = at(off)
    assert (resolve(plan, t).schedule_id == 1) == naive_applies(s, t)
    # Exactly on the local window start, the schedule applies iff that day is selected.
    edge = datetime.combine(
        t.astimezone(local(2026, 1, 1).tzinfo).date(), a, tzinfo=local(2026, 1, 1).tzinfo
    )
    assert (resolve(plan, edge).schedule_id == 1) == naive_applies(s, edge)


@settings(max_examples=40, deadline=None)
@given(plans(), plans(), st.lists(offsets, min_size=1, max_size=12))
def test_caches_never_change_answers(p1: TerminalPlan, p2: TerminalPlan, offs: list[int]):
    # Two plans sharing one CompileCache (and so compiled schedules and their memos), one in
    # another zone, queried in arbitrary order, must answer like fresh compilations.
    p2 = TerminalPlan(
        2, tz="Asia/Tokyo", schedules=p1.schedules + p2.schedules, fallback=p2.fallback
    )
    cache = CompileCache()
    c1, c2 = compile_plan(p1, cache), compile_plan(p2, cache)
    for off in offs:
        t = at(off)
        assert resolve(c1, t) == resolve(compile_plan(p1), t)
        assert resolve(c2, t) == resolve(compile_plan(p2), t)


@settings(max_examples=60, deadline=None)
@given(
    plans(),
    st.sampled_from([utc(2026, 3, 8, 7), utc(2026, 11, 1, 6)]),  # US spring-forward, fall-back
    st.integers(-12 * 3600 * 10**6, 12 * 3600 * 10**6),
    st.integers(1, 10**6 - 1),
)
def test_dst_zone_keeps_the_invariants(plan: TerminalPlan, switch, off: int, frac: int):
    # Shanghai has no DST, but tz is a plan field: the core invariants must hold anyway.
    plan = TerminalPlan(1, tz="America/New_York", schedules=plan.schedules, fallback=plan.fallback)
    t = from_us(to_us(switch) + off)
    r = resolve(compile_plan(plan), t)
    assert r.valid_until_us > r.at_us
    p = r.at_us + (r.valid_until_us - r.at_us) * frac // 10**6
    q = resolve(compile_plan(plan), from_us(p))
    assert (q.item, q.item_start_us, q.valid_until_us) == (
        r.item,
        r.item_start_us,
        r.valid_until_us,
    )
    segs = timeline(plan, from_us(r.at_us - 3 * 3600 * 10**6), from_us(r.at_us + 3 * 3600 * 10**6))
    assert all(a.end_us == b.start_us for a, b in zip(segs, segs[1:], strict=False))
    [seg] = [s for s in segs if s.start_us <= r.at_us < s.end_us]
    assert seg.sample(r.at_us)._replace(valid_until_us=0) == r._replace(valid_until_us=0)


def _timeline_by_hour(plan: TerminalPlan, start: datetime, end: datetime) -> dict:
    """The oracle: every timeline segment cut at UTC hours, counted where the screen is on."""
    from playlists.clock import HOUR_US
    from playlists.resolver import as_compiled

    comp = as_compiled(plan)
    on = comp.screen_on_spans_us(to_us(start), to_us(end))
    out: dict = {}
    for seg in timeline(plan, start, end):
        if seg.item is None:
            continue
        for a, b in on:
            x, y = max(a, seg.start_us), min(b, seg.end_us)
            while x < y:
                hour = x - x % HOUR_US
                stop = min(hour + HOUR_US, y)
                key = (hour, seg.item.content_id, seg.item.topic_id)
                out[key] = out.get(key, 0) + stop - x
                x = stop
    return out


@SETTINGS
@given(plans(), offsets, st.integers(1, 3 * 86400 * 10**6))
def test_planned_by_hour_equals_the_timeline_summed(plan: TerminalPlan, off: int, span: int):
    start = at(off)
    end = from_us(to_us(start) + span)
    got = compile_plan(plan).planned_us(to_us(start), to_us(end))
    assert got == _timeline_by_hour(plan, start, end)


@SETTINGS
@given(plans(fallback_ok=True), offsets, half_hours, half_hours, st.booleans())
def test_planned_by_hour_leaves_out_screen_off_time(plan, off, a, b, on):
    from playlists import ScreenPlan

    screen = ScreenPlan(id=1, on=on, brightness=50, priority=0, windows=(Window(a, b),))
    plan = TerminalPlan(1, schedules=plan.schedules, fallback=plan.fallback,
                        screen_plans=(screen,))
    start = at(off)
    end = from_us(to_us(start) + 2 * 86400 * 10**6)
    got = compile_plan(plan).planned_us(to_us(start), to_us(end))
    assert got == _timeline_by_hour(plan, start, end)
    lit = sum(y - x for x, y in compile_plan(plan).screen_on_spans_us(to_us(start), to_us(end)))
    assert sum(got.values()) <= lit
