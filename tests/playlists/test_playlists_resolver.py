"""Hand-computed resolver cases (times in comments are Asia/Shanghai, UTC+8)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from playlists_helpers import day, item, local, playlist, sched, utc, window

from playlists import (
    ScreenPlan,
    TerminalPlan,
    blobs_needed,
    compile_plan,
    planned_by_hour,
    resolve,
    screen_state,
    timeline,
)

FALLBACK = playlist(item(900, 30), pid=900)


def plan(*schedules, **kw) -> TerminalPlan:  # type: ignore[no-untyped-def]
    return TerminalPlan(terminal_id=1, schedules=tuple(schedules), fallback=FALLBACK, **kw)


def ids(p: TerminalPlan, start, end) -> list[int | None]:  # type: ignore[no-untyped-def]
    return [s.item.content_id if s.item else None for s in timeline(p, start, end)]


def test_cycle_is_anchored_at_window_start() -> None:
    s = sched(1, (item(1, 10), item(2, 20), item(3, 5)), windows=(window("08:00", "12:00"),))
    p = plan(s)
    # 08:00:47 local: cycle is 35 s, 47 % 35 = 12 -> item 2 (starts at 10 s), 2 s in.
    r = resolve(p, local(2026, 12, 1, 8, 0, 47))
    assert r.item is not None and r.item.content_id == 2
    assert r.schedule_id == 1 and r.kind == "normal"
    assert r.offset_s == 2
    assert r.item_start == local(2026, 12, 1, 8, 0, 45)
    assert r.item_end == local(2026, 12, 1, 8, 1, 5)
    assert r.valid_until == r.item_end


def test_item_cut_at_window_end_and_fallback_after() -> None:
    s = sched(1, (item(1, 7),), windows=(window("08:00", "08:01"),))
    r = resolve(plan(s), local(2026, 12, 1, 8, 0, 57))  # 8th play started at :56, ends :63
    assert r.item_end == local(2026, 12, 1, 8, 1, 3)
    assert r.valid_until == local(2026, 12, 1, 8, 1)  # the window edge comes first
    after = resolve(plan(s), local(2026, 12, 1, 8, 1))
    assert after.kind == "fallback" and after.item is not None and after.item.content_id == 900
    # Fallback cycles from local midnight: 08:01:00 is 28860 s in, 28860 % 30 = 0.
    assert after.offset_s == 0


def test_window_across_midnight_belongs_to_its_start_day() -> None:
    # Friday (2026-12-04) night only: 22:00 Fri -> 06:00 Sat.
    s = sched(1, (item(1, 60),), windows=(window("22:00", "06:00"),), weekdays=frozenset({4}))
    p = plan(s)
    assert resolve(p, local(2026, 12, 4, 21, 59, 59)).kind == "fallback"
    assert resolve(p, local(2026, 12, 4, 22, 0)).kind == "normal"
    sat = resolve(p, local(2026, 12, 5, 5, 59, 59))
    assert sat.kind == "normal" and sat.offset_s == 59  # anchored at Friday 22:00
    assert resolve(p, local(2026, 12, 5, 6, 0)).kind == "fallback"
    assert resolve(p, local(2026, 12, 5, 22, 30)).kind == "fallback"  # Saturday night: no
    assert resolve(p, local(2026, 12, 4, 3, 0)).kind == "fallback"  # Thursday night: no


def test_date_range_edges_are_local_midnights() -> None:
    s = sched(1, (item(1),), start_date=day("2026-12-01"), end_date=day("2026-12-31"))
    p = plan(s)
    # Starts at 2026-12-01 00:00 Shanghai = 2026-11-30 16:00 UTC.
    assert resolve(p, utc(2026, 11, 30, 15, 59, 59, 999999)).kind == "fallback"
    assert resolve(p, utc(2026, 11, 30, 16)).kind == "normal"
    # Ends after 2026-12-31 (inclusive) = 2027-01-01 00:00 Shanghai = 2026-12-31 16:00 UTC.
    last = resolve(p, utc(2026, 12, 31, 15, 59, 59, 999999))
    assert last.kind == "normal" and last.valid_until == utc(2026, 12, 31, 16)
    assert resolve(p, utc(2026, 12, 31, 16)).kind == "fallback"


def test_crossing_window_is_cut_at_end_date_midnight() -> None:
    s = sched(1, (item(1, 420),), windows=(window("22:00", "06:00"),), end_date=day("2026-12-04"))
    p = plan(s)
    r = resolve(p, local(2026, 12, 4, 23, 59, 30))  # item runs 23:59:00-00:06:00
    assert r.kind == "normal" and r.item_end == local(2026, 12, 5, 0, 6)
    assert r.valid_until == local(2026, 12, 5)
    assert resolve(p, local(2026, 12, 5, 0, 0)).kind == "fallback"


def test_all_day_window_restarts_cycle_at_local_midnight() -> None:
    s = sched(1, (item(1, 7), item(2, 7)))
    r = resolve(plan(s), local(2026, 12, 2, 0, 0, 3))
    assert r.item is not None and r.item.content_id == 1 and r.offset_s == 3


def test_interrupt_beats_higher_priority_normal_and_normal_resumes_in_phase() -> None:
    normal = sched(1, (item(1, 10), item(2, 10)), priority=100)
    interrupt = sched(
        2, (item(3, 60),), kind="interrupt", priority=-5, windows=(window("12:00", "12:05"),)
    )
    p = plan(normal, interrupt)
    assert resolve(p, local(2026, 12, 1, 12, 0)).schedule_id == 2
    assert resolve(p, local(2026, 12, 1, 11, 59, 59)).valid_until == local(2026, 12, 1, 12)
    # 12:05:05 is 43505 s after midnight: 43505 % 20 = 5 -> item 1, 5 s in (as if never left).
    back = resolve(p, local(2026, 12, 1, 12, 5, 5))
    assert back.schedule_id == 1 and back.item is not None and back.item.content_id == 1
    assert back.offset_s == 5


def test_filler_only_when_no_normal_applies() -> None:
    filler = sched(1, (item(1),), kind="filler", priority=999)
    normal = sched(2, (item(2),), windows=(window("09:00", "10:00"),))
    p = plan(filler, normal)
    assert resolve(p, local(2026, 12, 1, 9, 30)).schedule_id == 2
    assert resolve(p, local(2026, 12, 1, 10, 30)).schedule_id == 1
    assert resolve(p, local(2026, 12, 1, 10, 30)).kind == "filler"


def test_equal_priority_interleaves_round_robin_by_schedule_id() -> None:
    a = sched(7, (item(71, 10), item(72, 10), item(73, 10)))
    b = sched(3, (item(31, 10),))
    p = plan(a, b)  # plan order must not matter: merged order is by schedule id
    got = ids(p, local(2026, 12, 1), local(2026, 12, 1, 0, 1, 10))
    assert got == [31, 71, 72, 73, 31, 71, 72]
    assert ids(plan(b, a), local(2026, 12, 1), local(2026, 12, 1, 0, 1, 10)) == got


def test_unapproved_and_expired_items_are_skipped() -> None:
    expires = local(2026, 12, 1, 0, 1)
    s = sched(
        1,
        (item(1, 10), item(2, 10, approved=False), item(3, 10, valid_until=expires)),
    )
    p = plan(s)
    assert ids(p, local(2026, 12, 1), local(2026, 12, 1, 0, 0, 40)) == [1, 3, 1, 3]
    # At expiry the eligible set changes: the cycle restarts from the first item.
    assert ids(p, local(2026, 12, 1, 0, 0, 55), local(2026, 12, 1, 0, 1, 25)) == [3, 1, 1, 1]
    r = resolve(p, local(2026, 12, 1, 0, 0, 55))
    assert r.valid_until == expires


def test_schedule_with_only_ineligible_items_does_not_apply() -> None:
    s = sched(1, (item(1, approved=False), item(2, 0), item(3, 9999999999999)), priority=5)
    low = sched(2, (item(4),), priority=1)
    assert resolve(plan(s, low), local(2026, 12, 1, 9)).schedule_id == 2


def test_entry_validity_inside_playlist() -> None:
    s = sched(1, (item(1, 10, entry_valid_from=local(2026, 12, 1, 9)),))
    assert resolve(plan(s), local(2026, 12, 1, 8, 59)).kind == "fallback"
    r = resolve(plan(s), local(2026, 12, 1, 9, 0, 1))
    assert r.kind == "normal" and r.offset_s == 1


def test_nothing_when_fallback_has_nothing_eligible() -> None:
    p = TerminalPlan(1, fallback=playlist(item(1, approved=False)))
    r = resolve(p, local(2026, 12, 1, 9))
    assert r.item is None and r.kind == "none" and r.valid_until == local(2026, 12, 2)


def test_naive_instant_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        resolve(plan(), local(2026, 12, 1).replace(tzinfo=None))


def test_screen_state_priorities_and_default() -> None:
    p = plan(
        screen_plans=(
            ScreenPlan(1, on=True, brightness=80, windows=(window("06:30", "23:00"),)),
            ScreenPlan(2, on=True, brightness=40, priority=10, windows=(window("19:00", "23:00"),)),
        ),
        screen_default_on=False,
        screen_default_brightness=0,
    )
    assert tuple(screen_state(p, local(2026, 12, 1, 6, 29))) == (
        False,
        0,
        local(2026, 12, 1, 6, 30),
    )
    assert tuple(screen_state(p, local(2026, 12, 1, 12))) == (True, 80, local(2026, 12, 1, 19))
    assert tuple(screen_state(p, local(2026, 12, 1, 20))) == (True, 40, local(2026, 12, 1, 23))
    assert screen_state(p, local(2026, 12, 1, 23)).on is False
    assert screen_state(plan(), local(2026, 12, 1, 3)) == (True, 100, None)


def test_screen_equal_priority_off_wins() -> None:
    p = plan(screen_plans=(ScreenPlan(1, on=True, brightness=90), ScreenPlan(2, on=False)))
    assert screen_state(p, local(2026, 12, 1, 12))[:2] == (False, 0)


def test_blobs_needed_covers_timeline_and_fallback() -> None:
    s = sched(
        1, (item(1), item(2, valid_from=local(2026, 12, 20))), windows=(window("08:00", "09:00"),)
    )
    got = blobs_needed(plan(s), local(2026, 12, 1), local(2026, 12, 3))
    assert got == {item(1).sha256, item(900).sha256}


def test_compiled_plan_gives_same_answers() -> None:
    s = sched(1, (item(1, 13), item(2, 17)), windows=(window("07:00", "19:00"),))
    p = plan(s)
    c = compile_plan(p)
    for k in range(0, 86400, 997):
        t = local(2026, 12, 1) + timedelta(seconds=k)
        assert resolve(c, t) == resolve(p, t)


def test_interleave_restarts_when_a_member_joins() -> None:
    a = sched(1, (item(11, 7), item(12, 7)))  # all day: anchored at midnight
    b = sched(2, (item(21, 7),), windows=(window("10:00", "11:00"),))
    p = plan(a, b)
    # Before 10:00 a plays alone: 35999 s % 14 = 5 -> item 11, cut at 10:00 by the join.
    r = resolve(p, local(2026, 12, 1, 9, 59, 59))
    assert (
        r.item is not None and r.item.content_id == 11 and r.valid_until == local(2026, 12, 1, 10)
    )
    # At 10:00 the merged cycle [11, 21, 12] starts from the join, not from midnight.
    r = resolve(p, local(2026, 12, 1, 10))
    assert r.item is not None and r.item.content_id == 11 and r.offset_s == 0
    assert ids(p, local(2026, 12, 1, 10), local(2026, 12, 1, 10, 0, 28)) == [11, 21, 12, 11]
    # When b leaves, a resumes its own phase: 11:00 is 39600 s, % 14 = 8 -> item 12, 1 s in.
    r = resolve(p, local(2026, 12, 1, 11, 0, 0))
    assert r.item is not None and r.item.content_id == 12 and r.offset_s == 1


def test_planned_by_hour() -> None:
    # item(cid) has topic cid % 3; the fallback (900, 60 s) fills the hours around 08:00.
    s = sched(1, (item(1, 10), item(2, 30)), windows=(window("08:00", "09:00"),))
    got = planned_by_hour(plan(s), local(2026, 12, 1, 7, 30), local(2026, 12, 1, 10))
    h = [local(2026, 12, 1, n).astimezone(UTC) for n in (7, 8, 9)]
    assert got == {(h[0], 900, 0): 1800.0, (h[1], 1, 1): 900.0, (h[1], 2, 2): 2700.0,
                   (h[2], 900, 0): 3600.0}
