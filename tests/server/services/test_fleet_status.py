"""Heartbeats (STATUS) become the terminal's live state and its uptime per UTC hour."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.db import db
from server.models import TerminalState, UptimeHour
from server.services import fleet
from tests import helpers

T0 = datetime(2026, 11, 29, 10, 59, 50, tzinfo=UTC)


def _status(screen_on: bool = True, brightness: int = 80, content_id: int | None = 7) -> dict:
    playing = {"content_id": content_id, "sha256": "a" * 64,
               "since": "2026-11-29T10:59:00Z"} if content_id else None
    return {"playing": playing, "screen_on": screen_on, "brightness": brightness,
            "cache_ready": True, "free_disk_bytes": 123, "clock_offset_s": 0.5,
            "player_version": "1.2.3"}


@pytest.fixture
def beat(app, monkeypatch):
    t = helpers.terminal()
    db.commit()

    def at(seconds: float, **kw) -> None:
        monkeypatch.setattr(fleet, "utcnow", lambda: T0 + timedelta(seconds=seconds))
        fleet.record_status(db, t, _status(**kw))
        db.commit()

    at.terminal_id = t.id
    return at


def _uptime(terminal_id: int) -> dict:
    rows = db.scalars(select(UptimeHour).where(UptimeHour.terminal_id == terminal_id))
    return {r.hour.astimezone(UTC).hour: (r.online_seconds, r.screen_on_seconds) for r in rows}


def test_heartbeats_store_the_live_state_and_count_uptime_split_at_the_hour(beat):
    beat(0)
    assert _uptime(beat.terminal_id) == {}  # a first heartbeat vouches for nothing before it
    beat(5)
    beat(15, brightness=40, content_id=None)  # 10:59:50 + 15 s crosses 11:00
    db.expire_all()
    assert _uptime(beat.terminal_id) == {10: (10.0, 10.0), 11: (5.0, 5.0)}
    st = db.get(TerminalState, beat.terminal_id)
    assert (st.online, st.brightness, st.playing_content_id, st.player_version) == (
        True, 40, None, "1.2.3")
    assert st.last_seen_at == T0 + timedelta(seconds=15)


def test_a_gap_counts_only_what_one_heartbeat_vouches_for_and_screen_off_is_not_lit(beat):
    beat(0)
    beat(300, screen_on=False)  # five minutes of silence: only the last 15 s count
    db.expire_all()
    gap = fleet.MAX_HEARTBEAT_GAP_S
    assert _uptime(beat.terminal_id) == {11: (gap, 0.0)}


def test_an_offline_terminal_gains_no_uptime_until_its_next_heartbeat(beat):
    beat(0)
    fleet.mark_offline(db, beat.terminal_id)
    db.commit()
    beat(5)
    db.expire_all()
    assert _uptime(beat.terminal_id) == {}
    assert db.get(TerminalState, beat.terminal_id).online is True
