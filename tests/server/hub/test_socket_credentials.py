"""A terminal's socket lives exactly as long as the credential it connected with: deleting,
re-pairing or revoking a terminal drops it at once, and every event is checked against
that credential, not against the terminal's id (which another terminal could come to hold).
Real gunicorn servers and sockets: tests/e2e and tests/multinode."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from player import protocol
from server.db import db
from server.models import PlayRecord, Role, Terminal, TerminalState
from server.services import fleet
from tests import helpers
from tests.server.hub import test_terminal_hub as hub_tests
from tests.server.hub.test_terminal_hub import NS, _rec, _status, connect, hello

w = hub_tests.w  # the same fixture: two paired terminals of 东和, an approved item


@pytest.fixture
def admin(app) -> dict[str, str]:
    return helpers.token(helpers.user(Role.street_admin))


def _errors(caplog) -> list[str]:
    return [r.getMessage() + (r.exc_text or "") for r in caplog.records
            if r.levelno >= logging.ERROR]


def _received(c) -> list[tuple[str, list]]:
    """Everything the server sent this client, readable after a disconnect too."""
    return [(p["name"], p["args"]) for p in c.queue if p["namespace"] == NS]


def test_deleting_a_terminal_drops_its_socket_at_once(w, client, admin, caplog):
    c, other = connect(w["app"], w["c1"]), connect(w["app"], w["c2"])
    assert hello(c)["ok"]
    c.get_received(NS)
    r = client.delete(f"/api/v1/terminals/{w['t1'].id}", headers=admin)
    assert r.status_code == 204
    assert not c.is_connected(NS)
    assert _received(c) == [(protocol.REVOKED, [{"reason": "terminal deleted"}])]
    assert other.is_connected(NS) and hello(other)["ok"]
    assert _errors(caplog) == []


def test_re_pairing_drops_the_old_socket_and_the_old_credential_is_dead(w, client, admin):
    old = connect(w["app"], w["c1"])
    start = client.post(protocol.PAIRING_PATH).json
    r = client.post(f"/api/v1/terminals/{w['t1'].id}/pair", json={"code": start["code"]},
                    headers=admin)
    assert r.status_code == 200
    assert not old.is_connected(NS)
    assert _received(old)[-1] == (protocol.REVOKED, [{"reason": "credential replaced"}])
    assert not connect(w["app"], w["c1"]).is_connected(NS)
    new = client.get(protocol.PAIRING_POLL_PATH.format(poll_token=start["poll_token"])).json
    fresh = connect(w["app"], new["credential"])
    assert fresh.is_connected(NS) and hello(fresh)["ok"]


def test_revoking_drops_the_socket_and_says_why(w, client, admin):
    c = connect(w["app"], w["c1"])
    assert client.post(f"/api/v1/terminals/{w['t1'].id}/revoke",
                       headers=admin).status_code == 200
    assert not c.is_connected(NS)
    assert _received(c)[-1] == (protocol.REVOKED, [{"reason": "credential revoked"}])


def _deleted_elsewhere(terminal_id: int) -> None:
    """Deleted where this node never heard of it (another node, its drop lost in Redis)."""
    db.execute(delete(Terminal).where(Terminal.id == terminal_id))
    db.commit()


@pytest.mark.parametrize("event", [protocol.STATUS, protocol.SYNC, protocol.PLAYS,
                                   protocol.BROADCAST_SHOWN])
def test_an_event_of_a_deleted_terminal_is_refused_cleanly(w, event, caplog):
    c = connect(w["app"], w["c1"])
    payload = {protocol.STATUS: _status(), protocol.SYNC: {"manifest_version": 0},
               protocol.PLAYS: {"records": []},
               protocol.BROADCAST_SHOWN: {"id": 1, "shown_at":
                                          protocol.iso(datetime.now(UTC))}}[event]
    _deleted_elsewhere(w["t1"].id)
    assert c.emit(event, payload, namespace=NS, callback=True) == {
        "ok": False, "error": "credential revoked"}
    assert not c.is_connected(NS)
    assert _errors(caplog) == []  # no IntegrityError from its disconnect or its heartbeat
    assert db.get(TerminalState, w["t1"].id) is None


def test_a_socket_never_speaks_for_the_terminal_that_took_its_id(w, client, admin):
    """Terminal X is deleted without its socket being dropped (the drop lost); terminal Y,
    in another community, is created with X's id and paired. X's socket gets nothing of
    Y's, its plays and heartbeats count for nobody, and it is closed at its first event."""
    x = connect(w["app"], w["c1"])
    xid = w["t1"].id
    x.get_received(NS)
    _deleted_elsewhere(xid)
    tianxin = helpers.building(helpers.community("田心"))
    y = Terminal(id=xid, building_id=tianxin.id, name="田心-LED", width=192, height=96)
    y_credential = fleet.issue_credential(db, y)  # before it is stored: no drop here either
    db.add(y)
    db.commit()
    assert x.is_connected(NS)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    assert x.emit(protocol.SYNC, {"manifest_version": 0}, namespace=NS, callback=True) == {
        "ok": False, "error": "credential revoked"}
    assert not x.is_connected(NS)
    assert [name for name, _args in _received(x)] == [protocol.REVOKED]
    assert db.scalar(select(func.count()).select_from(PlayRecord)) == 0
    y_socket = connect(w["app"], y_credential)
    assert hello(y_socket)["manifest"]["terminal"]["id"] == xid
    ack = y_socket.emit(protocol.PLAYS, {"records": [_rec(w["item"], hour)]}, namespace=NS,
                        callback=True)
    assert ack["ok"]  # Y itself is served


@pytest.mark.parametrize("event", [protocol.STATUS, protocol.SYNC, protocol.PLAYS])
def test_events_are_checked_against_the_credential_not_the_id(w, event):
    """Re-paired elsewhere (the drop lost): the old socket's events count for nothing."""
    c = connect(w["app"], w["c1"])
    db.execute(update(Terminal).where(Terminal.id == w["t1"].id)
               .values(credential_hash="0" * 64))
    db.commit()
    payload = {protocol.STATUS: _status(), protocol.SYNC: {"manifest_version": 0},
               protocol.PLAYS: {"records": [_rec(w["item"], datetime.now(UTC).replace(
                   minute=0, second=0, microsecond=0) - timedelta(hours=1))]}}[event]
    assert c.emit(event, payload, namespace=NS, callback=True) == {
        "ok": False, "error": "credential revoked"}
    assert not c.is_connected(NS)
    assert db.scalar(select(func.count()).select_from(PlayRecord)) == 0


def test_another_nodes_drop_is_handed_on_and_not_delivered_as_a_socket_message(monkeypatch):
    """The DROP on the Redis channel (the real thing across nodes is in tests/multinode)."""
    import json
    from types import SimpleNamespace

    import socketio

    from server.hub.queue import DROP, QueueWatch, WatchedRedisManager

    m = WatchedRedisManager("redis://127.0.0.1:6379/0", "test", QueueWatch("node1", 1.0))
    m.server = SimpleNamespace(start_background_task=lambda fn, *args: fn(*args))
    got: list = []
    m.on_drop = got.append
    ended = [[7, None, "terminal deleted"]]
    mine = json.dumps({"method": DROP, "host_id": m.host_id, "ended": ended}).encode()
    theirs = json.dumps({"method": DROP, "host_id": "other", "ended": ended}).encode()
    emit = json.dumps({"method": "emit", "event": "x", "data": ["signage_drop"]}).encode()
    monkeypatch.setattr(socketio.RedisManager, "_listen", lambda self: iter([mine, theirs, emit]))
    assert list(m._listen()) == [emit]
    assert got == [ended]  # its own was handled before it was published
