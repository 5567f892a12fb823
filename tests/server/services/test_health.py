"""Terminal health: down after missed heartbeats (even with no disconnect), stuck on a frozen or
black frame while the schedule says otherwise, never during screen-off hours, recovered; the
alerts list and the status history, community-scoped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.db import db
from server.models import Alert, Role, TerminalState
from server.services import fleet, health
from server.services import schedules as sched
from server.services.access import Actor
from server.services.errors import NotFound
from tests import helpers

SHA_A, SHA_B = "a" * 64, "b" * 64


def _status(screen_on: bool = True, sha: str | None = SHA_A, dark: bool = False) -> dict:
    return {"playing": None, "screen_on": screen_on, "brightness": 100, "cache_ready": True,
            "free_disk_bytes": 5 * 10**12, "clock_offset_s": 0.0, "player_version": "t",
            "screenshot_sha256": sha, "dark": dark}


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe))
    items = [helpers.approved_image(donghe, title=f"海报{i}") for i in range(2)]
    editor = Actor.of(helpers.user(Role.editor, donghe))
    p = sched.create_playlist(db, editor, "两张海报", [sched.EntryIn(i.id) for i in items],
                              donghe.id)
    sched.create_schedule(db, editor, name="全天", playlist_id=p.id, kind="normal",
                          recurrence=sched.Recurrence(),
                          targets=[sched.TargetIn("terminal", t.id)])
    db.commit()
    fleet.mark_online(db, t)
    fleet.record_status(db, t, _status())
    st = db.get(TerminalState, t.id)
    st.manifest_version = t.manifest_version  # it holds the current plan
    db.commit()
    admin = Actor.of(helpers.user(Role.community_admin, donghe))
    return {"t": t, "st": st, "community": donghe, "admin": admin}


def _frame_age(st: TerminalState, seconds: float, now: datetime) -> None:
    st.frame_since = now - timedelta(seconds=seconds)
    st.last_seen_at = now


def test_a_silent_terminal_goes_down_and_recovers(w):
    st, now = w["st"], datetime.now(UTC)
    assert health.detect_down(db, now, 3) == []
    later = now + timedelta(seconds=16)  # three 5-second heartbeats missed, no disconnect
    [e] = health.detect_down(db, later, 3)
    assert (e.kind, e.health, e.reason, e.community_id) == ("down", "down", "silent",
                                                             w["community"].id)
    assert not st.online and st.health == "down" and st.health_since == later
    assert health.detect_down(db, later + timedelta(seconds=5), 3) == []  # once, not again
    db.commit()
    fleet.record_status(db, w["t"], _status())  # it speaks again
    st.last_seen_at = later + timedelta(seconds=20)
    [back] = health.detect_down(db, later + timedelta(seconds=21), 3)
    assert (back.kind, back.health) == ("recovered", "ok")
    alerts = db.query(Alert).order_by(Alert.id).all()
    assert [(a.kind, a.closed_at is not None) for a in alerts] == [("down", True),
                                                                  ("recovered", True)]
    payload = back.payload("ok")
    assert set(payload) == {"terminal_id", "kind", "detail", "at", "health"}


def test_a_frozen_frame_is_stuck_only_when_the_schedule_changed_items(w):
    st, now = w["st"], datetime.now(UTC)
    _frame_age(st, 10, now)  # within the grace: fine
    assert health.detect_stuck(db, now) == []
    _frame_age(st, 60, now)  # two 10-second posters alternate: in 60 s the picture must change
    [e] = health.detect_stuck(db, now)
    assert (e.kind, e.reason, e.health) == ("stuck", "frozen", "stuck")
    assert health.detect_stuck(db, now) == []  # already open
    _frame_age(st, 1, now + timedelta(seconds=5))  # the picture moves again
    [back] = health.detect_stuck(db, now + timedelta(seconds=5))
    assert back.kind == "recovered" and st.health == "ok"


def test_a_single_still_may_stay_the_same(w, app):
    c = w["community"]
    t = helpers.terminal(helpers.building(c))
    item = helpers.approved_image(c, title="唯一")
    editor = Actor.of(helpers.user(Role.editor, c))
    p = sched.create_playlist(db, editor, "一张", [sched.EntryIn(item.id)], c.id)
    sched.create_schedule(db, editor, name="一张全天", playlist_id=p.id, kind="normal",
                          recurrence=sched.Recurrence(priority=5),
                          targets=[sched.TargetIn("terminal", t.id)])
    db.commit()
    fleet.mark_online(db, t)
    fleet.record_status(db, t, _status())
    st = db.get(TerminalState, t.id)
    st.manifest_version = t.manifest_version
    now = datetime.now(UTC)
    _frame_age(st, 600, now)
    assert all(e.terminal_id != t.id for e in health.detect_stuck(db, now))
    st.frame_dark = True  # but a black picture while it should show is stuck
    [e] = [e for e in health.detect_stuck(db, now) if e.terminal_id == t.id]
    assert e.reason == "dark"


def test_screen_off_hours_are_neither_stuck_nor_dark(w):
    st, now = w["st"], datetime.now(UTC)
    admin = w["admin"]
    sched.create_screen_plan(db, admin, name="夜间关屏", screen_on=False, brightness=0,
                             recurrence=sched.Recurrence(priority=1),  # all day, for the test
                             targets=[sched.TargetIn("terminal", w["t"].id)])
    db.commit()
    st.manifest_version = w["t"].manifest_version
    _frame_age(st, 600, now)
    st.frame_dark = True
    assert health.detect_stuck(db, now) == []
    assert st.health == "ok"


def test_unknowable_cases_are_not_judged(w):
    st, now = w["st"], datetime.now(UTC)
    _frame_age(st, 600, now)
    st.cache_ready = False  # it legitimately shows the filler
    assert health.detect_stuck(db, now) == []
    st.cache_ready, st.frame_sha256 = True, None  # a player that does not describe frames
    assert health.detect_stuck(db, now) == []
    st.frame_sha256, st.manifest_version = SHA_A, st.manifest_version - 1  # older plan
    assert health.detect_stuck(db, now) == []


def test_status_history_and_alert_list_are_scoped(w):
    t, st = w["t"], w["st"]
    fleet.record_status(db, t, _status(screen_on=False))
    fleet.mark_offline(db, t.id)
    health.detect_down(db, datetime.now(UTC) + timedelta(seconds=30), 3)
    db.commit()
    kinds = [e.kind for e in health.history(db, w["admin"], t.id)]
    assert kinds[:3] == ["down", "offline", "screen_off"] and kinds[-1] == "online"
    assert [e.kind for e in health.history(db, w["admin"], t.id, limit=1)] == ["down"]
    open_, recent = health.alerts(db, w["admin"])
    assert [(a.kind, term.id) for a, term in open_] == [("down", t.id)] and recent == []
    other = Actor.of(helpers.user(Role.community_admin, helpers.community("田心")))
    assert health.alerts(db, other) == ([], [])
    with pytest.raises(NotFound):
        health.history(db, other, t.id)
    assert st.health == "down"


def test_purge_keeps_recent_history(w):
    t = w["t"]
    now = datetime.now(UTC)
    health.log_event(db, t.id, "online", "", now - timedelta(days=100))
    db.commit()
    assert health.purge(db, 90, now) == 1
    assert len(health.history(db, w["admin"], t.id)) >= 1
