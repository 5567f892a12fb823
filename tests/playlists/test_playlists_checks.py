"""UI warnings: interleaving conflicts, unfilled gaps, content expiring early."""

from __future__ import annotations

from playlists_helpers import day, item, local, playlist, sched, window

from playlists import ScreenPlan, TerminalPlan, expiring_content, plan_warnings

SCREEN = (ScreenPlan(1, brightness=80, windows=(window("06:30", "23:00"),)),)


def _plan(*schedules, **kw) -> TerminalPlan:  # type: ignore[no-untyped-def]
    return TerminalPlan(
        1,
        schedules=tuple(schedules),
        screen_plans=SCREEN,
        fallback=playlist(item(900)),
        screen_default_on=False,
        screen_default_brightness=0,
        **kw,
    )


def test_gaps_only_while_the_screen_is_on() -> None:
    s = sched(1, (item(1),), windows=(window("08:00", "20:00"),))
    got = [
        (w.start, w.end)
        for w in plan_warnings(_plan(s), local(2026, 12, 1), local(2026, 12, 2))
        if w.code == "gap_without_filler"
    ]
    assert got == [
        (local(2026, 12, 1, 6, 30), local(2026, 12, 1, 8)),
        (local(2026, 12, 1, 20), local(2026, 12, 1, 23)),
    ]
    filler = sched(2, (item(2),), kind="filler")
    warns = plan_warnings(_plan(s, filler), local(2026, 12, 1), local(2026, 12, 2))
    assert not [w for w in warns if w.code == "gap_without_filler"]


def test_same_priority_overlap_is_flagged_once_per_pair() -> None:
    a = sched(1, (item(1),), windows=(window("08:00", "10:00"),))
    b = sched(2, (item(2),), windows=(window("09:30", "11:00"),))
    c = sched(3, (item(3),), windows=(window("09:00", "12:00"),), priority=1)  # other priority
    d = sched(4, (item(4),), windows=(window("10:00", "11:00"),))  # touches a, overlaps b
    warns = [
        w
        for w in plan_warnings(_plan(a, b, c, d), local(2026, 12, 1), local(2026, 12, 3))
        if w.code == "priority_overlap"
    ]
    assert [(w.schedule_id, w.other_schedule_id) for w in warns] == [(1, 2), (2, 4)]
    assert (warns[0].start, warns[0].end) == (local(2026, 12, 1, 9, 30), local(2026, 12, 1, 10))


def test_expiring_and_unapproved_content() -> None:
    s = sched(
        1,
        (
            item(1, valid_until=local(2026, 12, 20)),
            item(2, valid_until=local(2027, 1, 1)),  # exactly the schedule end: fine
            item(3, approved=False),
            item(4, entry_valid_until=local(2026, 12, 25)),
        ),
        end_date=day("2026-12-31"),
    )
    got = [(w.code, w.content_id) for w in expiring_content(s)]
    assert got == [
        ("content_expires_early", 1),
        ("content_unapproved", 3),
        ("content_expires_early", 4),
    ]
    # Open-ended schedule: any expiry at all is early.
    open_ended = sched(2, (item(2, valid_until=local(2027, 1, 1)),))
    assert [w.code for w in expiring_content(open_ended)] == ["content_expires_early"]


def test_schedule_that_can_never_play() -> None:
    s = sched(1, (item(1, approved=False), item(2, 0)))
    assert [w.code for w in expiring_content(s)] == [
        "content_unapproved",
        "schedule_without_playable",
    ]
