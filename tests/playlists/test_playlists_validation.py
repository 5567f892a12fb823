"""One example per validation code, plus a clean plan that has none."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from playlists_helpers import day, item, local, playlist, sched, window

from playlists import Playlist, ScreenPlan, TerminalPlan, validate_plan, validate_schedule
from playlists.validation import FieldError, validate_screen_plan

GOOD = sched(
    1, (item(1), item(2, 30)), windows=(window("07:00", "09:00"), window("22:00", "06:00"))
)


def codes(errs: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.code, e.field) for e in errs]


def test_good_schedule_and_plan_are_clean() -> None:
    assert validate_schedule(GOOD) == []
    plan = TerminalPlan(1, schedules=(GOOD,), fallback=playlist(item(9)))
    assert validate_plan(plan) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"playlist": Playlist(1, "p", ())}, ("playlist_empty", "playlist.items")),
        (
            {"start_date": day("2026-12-10"), "end_date": day("2026-12-09")},
            ("date_range_inverted", "end_date"),
        ),
        (
            {"windows": (window("08:00", "10:00"), window("09:00", "11:00"))},
            ("windows_overlap", "windows[1]"),
        ),
        # 22:00-06:00 and 05:00-07:00 overlap across midnight.
        (
            {"windows": (window("22:00", "06:00"), window("05:00", "07:00"))},
            ("windows_overlap", "windows[1]"),
        ),
        (
            {"windows": (window("00:00", "00:00"), window("12:00", "13:00"))},
            ("windows_overlap", "windows[1]"),
        ),
        ({"windows": ()}, ("windows_empty", "windows")),
        ({"kind": "urgent"}, ("kind_unknown", "kind")),
        ({"weekdays": frozenset({0, 7})}, ("weekday_out_of_range", "weekdays")),
        ({"weekdays": frozenset({-1})}, ("weekday_out_of_range", "weekdays")),
        ({"weekdays": frozenset()}, ("weekdays_empty", "weekdays")),
        ({"priority": 1001}, ("priority_out_of_range", "priority")),
        ({"priority": -1001}, ("priority_out_of_range", "priority")),
        (
            {"valid_from": local(2026, 12, 2), "valid_until": local(2026, 12, 1)},
            ("validity_inverted", "valid_until"),
        ),
        ({"valid_from": datetime(2026, 12, 1)}, ("datetime_naive", "valid_from")),
    ],
)
def test_schedule_errors(changes: dict[str, object], expected: tuple[str, str]) -> None:
    assert codes(validate_schedule(dataclasses.replace(GOOD, **changes))) == [expected]


@pytest.mark.parametrize(
    ("it", "code", "field"),
    [
        (item(1, 0), "duration_not_positive", "duration_s"),
        (item(1, -3), "duration_not_positive", "duration_s"),
        (item(1, float("nan")), "duration_not_positive", "duration_s"),
        (item(1, 9999999999999), "duration_too_long", "duration_s"),
        (item(1, float("inf")), "duration_too_long", "duration_s"),
        (item(1, 86401), "duration_too_long", "duration_s"),
        (dataclasses.replace(item(1), sha256="XYZ"), "sha256_invalid", "sha256"),
        (dataclasses.replace(item(1), media="gif"), "media_unknown", "media"),
        (
            item(1, entry_valid_from=local(2026, 12, 2), entry_valid_until=local(2026, 12, 2)),
            "validity_inverted",
            "entry_valid_until",
        ),
    ],
)
def test_item_errors(it, code: str, field: str) -> None:  # type: ignore[no-untyped-def]
    s = dataclasses.replace(GOOD, playlist=playlist(item(5), it))
    assert codes(validate_schedule(s)) == [(code, f"playlist.items[1].{field}")]


def test_item_edge_durations_are_fine() -> None:
    s = dataclasses.replace(GOOD, playlist=playlist(item(1, 0.04), item(2, 86400)))
    assert validate_schedule(s) == []


def test_plan_level_errors() -> None:
    bad = TerminalPlan(
        1,
        tz="Mars/Olympus",
        schedules=(GOOD, dataclasses.replace(GOOD, kind="filler")),
        screen_plans=(ScreenPlan(1, brightness=120),),
        fallback=Playlist(0, "fb", ()),
        screen_default_brightness=-1,
    )
    assert codes(validate_plan(bad)) == [
        ("timezone_unknown", "tz"),
        ("id_duplicate", "schedules[1].id"),
        ("brightness_out_of_range", "screen_plans[0].brightness"),
        ("fallback_empty", "fallback.items"),
        ("brightness_out_of_range", "screen_default.brightness"),
    ]
    assert [e.to_dict()["code"] for e in validate_plan(bad)][0] == "timezone_unknown"


def test_screen_plan_window_errors() -> None:
    p = ScreenPlan(1, windows=(window("06:00", "23:00"), window("19:00", "20:00")))
    assert codes(validate_screen_plan(p)) == [("windows_overlap", "windows[1]")]
