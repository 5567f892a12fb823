"""Hypothesis strategies for plans near 2026-12-01 (Asia/Shanghai); every edge on a half hour."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from playlists_helpers import local

from playlists import Item, Playlist, Schedule, TerminalPlan, Window
from playlists.clock import from_us, to_us

BASE = local(2026, 12, 1)  # a Tuesday
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Edges land on half hours so generated instants often hit them exactly.
half_hours = st.integers(0, 47).map(lambda n: time(n // 2, 30 * (n % 2)))
instants_near = st.integers(-3 * 48, 10 * 48).map(lambda n: BASE + timedelta(minutes=30 * n))
maybe_instant = st.none() | instants_near


@st.composite
def items(draw: st.DrawFn) -> Item:
    cid = draw(st.integers(1, 40))
    return Item(
        content_id=cid,
        sha256=f"{cid:064x}",
        duration_s=draw(st.sampled_from([3, 7, 10, 12.5, 30, 61, 600, 0, -5, 10**13])),
        topic_id=cid % 5,
        approved=draw(st.booleans() | st.just(True)),
        valid_from=draw(maybe_instant),
        valid_until=draw(maybe_instant),
        entry_valid_from=draw(st.none() | st.none() | instants_near),
        entry_valid_until=draw(st.none() | st.none() | instants_near),
    )


@st.composite
def schedules(draw: st.DrawFn, sid: int) -> Schedule:
    start = draw(st.none() | st.integers(-3, 6).map(lambda d: BASE.date() + timedelta(days=d)))
    end = draw(st.none() | st.integers(-2, 8).map(lambda d: BASE.date() + timedelta(days=d)))
    n_windows = draw(st.integers(1, 2))
    windows = tuple(Window(draw(half_hours), draw(half_hours)) for _ in range(n_windows))
    if draw(st.integers(0, 4)) == 0:
        windows = (Window(time(0), time(0)),)
    return Schedule(
        id=sid,
        playlist=Playlist(sid, f"p{sid}", tuple(draw(st.lists(items(), min_size=1, max_size=4)))),
        kind=draw(st.sampled_from(["normal", "normal", "filler", "interrupt"])),
        priority=draw(st.integers(0, 2)),
        start_date=start,
        end_date=end,
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        windows=windows,
        valid_from=draw(st.none() | st.none() | instants_near),
        valid_until=draw(st.none() | st.none() | instants_near),
    )


@st.composite
def plans(draw: st.DrawFn, fallback_ok: bool | None = None) -> TerminalPlan:
    n = draw(st.integers(0, 4))
    scheds = tuple(draw(schedules(sid)) for sid in draw(st.permutations(range(1, n + 1))))
    fb_items = draw(st.lists(items(), max_size=2))
    if fallback_ok or (fallback_ok is None and draw(st.booleans())):
        fb_items.append(Item(999, "e" * 64, 20, 0, True))
    return TerminalPlan(1, schedules=scheds, fallback=Playlist(0, "fb", tuple(fb_items)))


offsets = st.integers(0, 6 * 86400 * 10**6)  # microseconds after BASE - 1 day


def at(offset: int) -> datetime:
    return from_us(to_us(BASE - timedelta(days=1)) + offset)
