"""Terminal health judged against the server's own availability: a restart, a stall or a
node gone gives the terminals GRACE to come back; the server's outage is one event about
itself; a starting node marks the connections of gone nodes offline at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.db import db
from server.models import Alert, ServerEvent, ServerNode, TerminalEvent, TerminalState
from server.services import fleet, health, nodes
from tests import helpers

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fleet3(app):
    ts = [helpers.terminal() for _ in range(3)]
    for t in ts:
        fleet.mark_online_many(db, {t.id}, T0, node="host-a-1")
    db.add(ServerNode(name="host-a-1", started_at=T0, seen_at=T0, available_since=T0))
    db.commit()
    return ts


def states() -> dict[int, TerminalState]:
    db.expire_all()
    return {st.terminal_id: st for st in db.scalars(select(TerminalState))}


def test_a_restart_after_an_outage_is_one_event_and_marks_the_old_connections_offline(fleet3):
    back = T0 + timedelta(minutes=3)
    event = nodes.start(db, "host-a-2", back)
    db.commit()
    assert (event.kind, event.started_at, event.ended_at) == ("down", T0, back)
    assert db.scalar(select(ServerEvent.kind)) == "down"
    assert not any(st.online for st in states().values())
    assert [e.reason for e in db.scalars(select(TerminalEvent).where(
        TerminalEvent.kind == "offline"))] == ["server"] * 3
    # No terminal alert while they may still reconnect; those not back after it are down.
    assert health.detect_down(db, back + timedelta(seconds=30), 3, back) == []
    later = back + nodes.GRACE + timedelta(seconds=1)
    assert len(health.detect_down(db, later, 3, back)) == 3
    db.rollback()


def test_terminals_back_within_the_grace_open_no_alert(fleet3):
    back = T0 + timedelta(minutes=3)
    nodes.start(db, "host-a-2", back)
    db.commit()
    early, late = fleet3[0], fleet3[1:]
    fleet.mark_online_many(db, {early.id}, back + timedelta(seconds=20), node="host-a-2")
    db.get(TerminalState, early.id).last_seen_at = back + timedelta(seconds=45)  # heartbeats
    db.commit()
    assert health.detect_down(db, back + timedelta(seconds=50), 3, back) == []
    # One stays away past the grace: that one, and only it, is down.
    now = back + nodes.GRACE + timedelta(seconds=5)
    fleet.mark_online_many(db, {late[0].id}, back + timedelta(seconds=55), node="host-a-2")
    for t in (early, late[0]):
        db.get(TerminalState, t.id).last_seen_at = now - timedelta(seconds=2)
    db.commit()
    events = health.detect_down(db, now, 3, back)
    db.commit()
    assert [(e.terminal_id, e.kind) for e in events] == [(late[1].id, "down")]
    assert db.scalar(select(Alert.terminal_id)) == late[1].id


def test_a_stalled_server_opens_no_alert_for_terminals_it_did_not_hear(fleet3):
    resumed = T0 + timedelta(seconds=25)  # frozen since T0: every heartbeat since waited
    db.get(ServerNode, "host-a-1").seen_at = resumed
    db.commit()
    assert health.detect_down(db, resumed, 3, server_since=resumed) == []
    db.commit()
    assert all(st.online for st in states().values())
    # Without the server's own availability the same silence was 3 alerts.
    assert len(health.detect_down(db, resumed, 3)) == 3
    db.rollback()


def test_connections_of_a_gone_node_go_offline_at_once_and_down_only_after_the_grace(fleet3):
    db.add(ServerNode(name="host-b-1", started_at=T0, seen_at=T0 + timedelta(seconds=30),
                      available_since=T0))
    db.get(ServerNode, "host-a-1").seen_at = T0 + timedelta(seconds=30)
    db.commit()
    moved = fleet3[0]
    fleet.mark_online_many(db, {moved.id}, T0 + timedelta(seconds=30), node="host-b-1")
    db.commit()
    # host-a-1 stops at T0+30 s; host-b-1 lives on.
    later = T0 + timedelta(seconds=40)
    db.get(ServerNode, "host-b-1").seen_at = later
    db.commit()
    assert health.detect_down(db, later, 3) == []
    db.commit()
    st = states()
    assert st[moved.id].online and not st[fleet3[1].id].online and not st[fleet3[2].id].online
    # They never come back to host-b-1: down once the grace after host-a-1 went has passed.
    end = T0 + timedelta(seconds=30) + nodes.GRACE + timedelta(seconds=1)
    db.get(ServerNode, "host-b-1").seen_at = end
    db.get(TerminalState, moved.id).last_seen_at = end  # the moved one keeps heartbeating
    db.commit()
    events = health.detect_down(db, end, 3)
    assert sorted(e.terminal_id for e in events) == sorted(t.id for t in fleet3[1:])


def test_another_live_node_means_the_server_was_not_down(fleet3):
    db.add(ServerNode(name="host-b-1", started_at=T0, seen_at=T0 + timedelta(minutes=3),
                      available_since=T0))
    db.commit()
    assert nodes.start(db, "host-a-2", T0 + timedelta(minutes=3)) is None
    db.commit()
    assert db.scalar(select(ServerEvent)) is None


def test_a_stall_of_the_nodes_own_loop_is_recorded(app):
    nodes.start(db, "host-a-1", T0)
    event = nodes.tick(db, "host-a-1", T0 + timedelta(seconds=22), T0 + timedelta(seconds=2))
    db.commit()
    assert (event.kind, event.detail) == ("stalled", "20")
    assert db.get(ServerNode, "host-a-1").available_since == T0 + timedelta(seconds=22)
    assert [e.kind for e in nodes.recent_events(db, T0 + timedelta(minutes=1))] == ["stalled"]
