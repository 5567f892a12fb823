"""Manifest JSON round trip and structural errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from playlists_helpers import day, item, local, playlist, sched, window
from playlists_strategies import plans

from playlists import ModelFormatError, ScreenPlan, TerminalPlan


def _example() -> TerminalPlan:
    s = sched(
        7,
        (item(1, 12.5, valid_until=local(2026, 12, 31)), item(2, 10, approved=False)),
        kind="interrupt",
        priority=3,
        start_date=day("2026-12-01"),
        end_date=day("2026-12-31"),
        weekdays=frozenset({0, 2, 4}),
        windows=(window("22:00", "06:00"), window("12:00:30", "13:00")),
    )
    return TerminalPlan(
        terminal_id=5,
        schedules=(s,),
        screen_plans=(
            ScreenPlan(1, brightness=40, priority=2, windows=(window("19:00", "23:00"),)),
        ),
        fallback=playlist(item(900, 20), pid=900),
        screen_default_on=False,
        screen_default_brightness=0,
    )


def test_manifest_shape() -> None:
    d = _example().to_dict()
    assert d["format"] == 1 and d["tz"] == "Asia/Shanghai"
    s = d["schedules"][0]
    assert s["weekdays"] == [0, 2, 4]
    assert s["windows"] == [
        {"start": "22:00", "end": "06:00"},
        {"start": "12:00:30", "end": "13:00"},
    ]
    assert s["start_date"] == "2026-12-01" and s["end_date"] == "2026-12-31"
    it = s["playlist"]["items"][0]
    assert it["valid_until"] == "2026-12-30T16:00:00Z"  # local midnight, stored as UTC
    assert d["screen_default"] == {"on": False, "brightness": 0}


def test_round_trip_through_json_text() -> None:
    plan = _example()
    assert TerminalPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


@settings(max_examples=60, deadline=None)
@given(plans())
def test_round_trip_generated(plan: TerminalPlan) -> None:
    text = json.dumps(plan.to_dict(), sort_keys=True)
    back = TerminalPlan.from_dict(json.loads(text))
    assert back == plan
    assert json.dumps(back.to_dict(), sort_keys=True) == text


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("terminal_id"), "terminal_id"),
        (lambda d: d["schedules"][0].update(priority="high"), "schedules[0].priority"),
        (
            lambda d: d["schedules"][0]["playlist"]["items"][0].update(duration_s=True),
            "schedules[0].playlist.items[0].duration_s",
        ),
        (
            lambda d: d["schedules"][0].update(valid_from="2026-12-01T00:00:00"),
            "schedules[0].valid_from",
        ),
        (
            lambda d: d["schedules"][0]["windows"][0].update(start="25:00"),
            "schedules[0].windows[0].start",
        ),
        (lambda d: d["schedules"][0].update(weekdays=["mon"]), "schedules[0].weekdays"),
        (lambda d: d.update(format=99), "format"),
    ],
)
def test_structural_errors_name_the_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    d = _example().to_dict()
    mutate(d)
    with pytest.raises(ModelFormatError) as exc:
        TerminalPlan.from_dict(d)
    assert exc.value.field == field
