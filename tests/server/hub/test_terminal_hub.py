"""The terminal namespace through Flask-SocketIO's test client: identity, sync, nudges,
proof-of-play ingest and bad input. Real player processes are in tests/e2e."""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from player import protocol
from server.db import db
from server.extensions import socketio
from server.models import PlayHour, PlayRecord, Role, Terminal
from server.services import fleet
from server.services import schedules as sched
from server.services.access import Actor
from tests import helpers

NS = protocol.TERMINAL_NAMESPACE


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    b = helpers.building(donghe, "1栋")
    t1, t2 = helpers.terminal(b), helpers.terminal(b)
    c1, c2 = fleet.issue_credential(db, t1), fleet.issue_credential(db, t2)
    db.commit()
    item = helpers.approved_image(donghe)
    editor = Actor.of(helpers.user(Role.editor, donghe))
    return {"app": app, "t1": t1, "t2": t2, "c1": c1, "c2": c2, "item": item,
            "editor": editor, "b": b}


class Client:
    """Flask-SocketIO's test client, each call in its own context: every event gets its
    own app context and database session, as on a real server."""

    def __init__(self, app, credential) -> None:
        self._c = contextvars.Context().run(
            socketio.test_client, app, namespace=NS,
            auth={"credential": credential, "protocol": 1})

    def __getattr__(self, name):
        attr = getattr(self._c, name)
        if not callable(attr):
            return attr
        return lambda *a, **kw: contextvars.Context().run(attr, *a, **kw)


def connect(app, credential) -> Client:
    return Client(app, credential)


def hello(client, version=0):
    return client.emit(protocol.HELLO, {"protocol": 1, "manifest_version": version, "cache": [],
                                        "player_version": "test",
                                        "clock": protocol.iso(datetime.now(UTC))},
                       namespace=NS, callback=True)


def test_unknown_and_malformed_credentials_are_refused(w):
    for cred in (None, "", "trm_1_wrong", f"trm_{w['t1'].id}_nope", 42, "x" * 500):
        assert not connect(w["app"], cred).is_connected(NS)
    for auth in ({"credential": w["c1"], "protocol": 3}, {"credential": w["c1"]}, w["c1"]):
        c = contextvars.Context().run(socketio.test_client, w["app"], namespace=NS, auth=auth)
        assert not c.is_connected(NS)
    assert connect(w["app"], w["c1"]).is_connected(NS)


def test_hello_answers_time_and_the_manifest_only_when_newer(w):
    c = connect(w["app"], w["c1"])
    ack = hello(c)
    assert ack["ok"] and ack["manifest"]["terminal"]["id"] == w["t1"].id
    assert ack["manifest_version"] == db.get(Terminal, w["t1"].id).manifest_version
    assert hello(c, ack["manifest_version"])["manifest"] is None
    assert abs(protocol.parse_instant(ack["server_time"], "t") - datetime.now(UTC)) < timedelta(
        seconds=5)


def test_a_saved_schedule_nudges_exactly_its_terminals(w):
    c1, c2 = connect(w["app"], w["c1"]), connect(w["app"], w["c2"])
    c1.get_received(NS), c2.get_received(NS)
    p = sched.create_playlist(db, w["editor"], "日常", [sched.EntryIn(w["item"].id)])
    sched.create_schedule(db, w["editor"], name="x", playlist_id=p.id, kind="normal",
                          recurrence=sched.Recurrence(),
                          targets=[sched.TargetIn("terminal", w["t1"].id)])
    assert c1.get_received(NS) == []  # nothing before the commit
    db.commit()
    assert [m["name"] for m in c1.get_received(NS)] == [protocol.MANIFEST_CHANGED]
    assert c2.get_received(NS) == []
    ack = c1.emit(protocol.SYNC, {"manifest_version": 0}, namespace=NS, callback=True)
    assert [s["id"] for s in ack["manifest"]["plan"]["schedules"]]


def _rec(item, start, seconds=10.0, **kw):
    return protocol.play_record(content_id=item.id, schedule_id=None, sha256=item.blob_sha256,
                                start=start, end=start + timedelta(seconds=seconds), **kw)


def test_plays_are_ingested_once_and_rolled_up_by_hour(w):
    c = connect(w["app"], w["c1"])
    h = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    batch = [_rec(w["item"], h + timedelta(seconds=10 * i)) for i in range(30)]
    batch.append(_rec(w["item"], h - timedelta(days=3)))  # days late: its own hour
    ack = c.emit(protocol.PLAYS, {"records": batch}, namespace=NS, callback=True)
    assert ack["ok"] and len(ack["accepted"]) == 31 and ack["rejected"] == []
    again = c.emit(protocol.PLAYS, {"records": batch}, namespace=NS, callback=True)
    assert len(again["accepted"]) == 31  # the player may delete them: the server has them
    assert db.scalar(select(func.count()).select_from(PlayRecord)) == 31
    hours = {r.hour: (r.seconds, r.plays) for r in db.scalars(select(PlayHour))}
    assert hours == {h: (300.0, 30), h - timedelta(days=3): (10.0, 1)}


def test_bad_records_are_refused_with_reasons_and_the_rest_accepted(w):
    c = connect(w["app"], w["c1"])
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    good = _rec(w["item"], now)
    bad = {
        "end_before_start": {**_rec(w["item"], now), "end": protocol.iso(now - timedelta(1))},
        "future": _rec(w["item"], now + timedelta(days=3)),
        "absurd": _rec(w["item"], now - timedelta(days=2), seconds=200_000),
        "other_terminal": {**_rec(w["item"], now), "terminal_id": w["t2"].id},
        "not_uuid": {**_rec(w["item"], now), "id": "../../x"},
        "wrong_types": {**_rec(w["item"], now), "content_id": "7"},
        "crosses_hour": _rec(w["item"], now.replace(minute=59, second=30), seconds=120),
        "unknown_content": {**_rec(w["item"], now), "content_id": 999999},
    }
    ack = c.emit(protocol.PLAYS, {"records": [good, *bad.values(), "not an object"]},
                 namespace=NS, callback=True)
    assert ack["accepted"] == [good["id"]]
    assert len(ack["rejected"]) == len(bad) + 1
    assert all(r["reason"] for r in ack["rejected"])
    assert db.scalar(select(func.count()).select_from(PlayRecord)) == 1


def test_oversized_batches_and_malformed_events_are_refused_without_harm(w):
    c, other = connect(w["app"], w["c1"]), connect(w["app"], w["c2"])
    now = datetime.now(UTC) - timedelta(hours=2)
    huge = [_rec(w["item"], now)] * 100_000
    ack = c.emit(protocol.PLAYS, {"records": huge}, namespace=NS, callback=True)
    assert ack == {"ok": False, "error": "at most 500 records per batch; send the rest next"}
    for event, payload in [(protocol.PLAYS, "nonsense"), (protocol.STATUS, {"screen_on": 3}),
                           (protocol.STATUS, {"free_disk_bytes": 2**64}),
                           (protocol.SYNC, {"manifest_version": 2**40}),
                           (protocol.HELLO, {"protocol": 99}), ("steal_secrets", {})]:
        ack = c.emit(event, payload, namespace=NS, callback=True)
        assert ack["ok"] is False and ack["error"]
    assert c.is_connected(NS) and other.is_connected(NS)
    assert hello(other)["ok"]


def test_revocation_refuses_the_next_connect_and_drops_the_live_one(w, client):
    c = connect(w["app"], w["c1"])
    admin = helpers.token(helpers.user(Role.street_admin))
    r = client.post(f"/api/v1/terminals/{w['t1'].id}/revoke", headers=admin)
    assert r.status_code == 200 and r.json["paired"] is False
    assert not c.is_connected(NS)
    assert not connect(w["app"], w["c1"]).is_connected(NS)
    assert connect(w["app"], w["c2"]).is_connected(NS)


def _status(**kw) -> dict:
    return {"playing": None, "screen_on": True, "brightness": 80, "cache_ready": True,
            "player_version": "1.0", **kw}


def test_a_heartbeat_after_revocation_is_refused_and_drops_the_connection(w):
    """Heartbeats are written in batches; the credential is still re-checked for each."""
    c1, c2 = connect(w["app"], w["c1"]), connect(w["app"], w["c2"])
    assert c1.emit(protocol.STATUS, _status(brightness=10), namespace=NS, callback=True) == {
        "ok": True}
    # Revoked on another node whose drop never came (a statement: no ORM event, no drop).
    db.execute(update(Terminal).where(Terminal.id == w["t1"].id)
               .values(revoked_at=datetime.now(UTC), credential_hash=None))
    db.commit()
    ack = c1.emit(protocol.STATUS, _status(brightness=90), namespace=NS, callback=True)
    assert ack == {"ok": False, "error": "credential revoked"}
    assert not c1.is_connected(NS)
    db.expire_all()
    assert fleet.state_of(db, w["t1"].id).brightness == 10  # the refused one left no trace
    assert c2.emit(protocol.STATUS, _status(), namespace=NS, callback=True) == {"ok": True}


def test_status_updates_the_fleet_state(w, client):
    c = connect(w["app"], w["c1"])
    since = protocol.iso(datetime.now(UTC))
    ack = c.emit(protocol.STATUS, {"playing": {"content_id": w["item"].id, "since": since},
                                   "screen_on": True, "brightness": 80, "cache_ready": True,
                                   "free_disk_bytes": 83_035_901_952, "clock_offset_s": -1.5,
                                   "player_version": "1.0"}, namespace=NS, callback=True)
    assert ack == {"ok": True}
    h = helpers.token(helpers.user(Role.street_admin))
    st = client.get(f"/api/v1/terminals/{w['t1'].id}/state", headers=h).json
    assert (st["online"], st["brightness"], st["playing_content_id"]) == (
        True, 80, w["item"].id)
    c.disconnect(NS)
    st = client.get(f"/api/v1/terminals/{w['t1'].id}/state", headers=h).json
    assert st["online"] is False


def test_a_disconnect_while_its_heartbeat_is_written_leaves_the_terminal_offline(
        w, client, monkeypatch):
    # Under gevent a PostgreSQL write yields: the disconnect handler can run and commit
    # "offline" between the batch's check and its UPDATE, which would set "online" again.
    c = connect(w["app"], w["c1"])
    real = fleet.live_states

    def then_disconnect(s, ids):
        states = real(s, ids)
        c.disconnect(NS)  # its own context and session, committed before the batch writes
        return states
    monkeypatch.setattr(fleet, "live_states", then_disconnect)
    c.emit(protocol.STATUS, {"playing": None, "screen_on": True, "brightness": 80,
                             "cache_ready": True, "player_version": "1.0"},
           namespace=NS, callback=True)
    h = helpers.token(helpers.user(Role.street_admin))
    assert client.get(f"/api/v1/terminals/{w['t1'].id}/state", headers=h).json["online"] is False


def test_commands_are_stored_sent_and_answered(w, client):
    c = connect(w["app"], w["c1"])
    c.get_received(NS)
    h = helpers.token(helpers.user(Role.street_admin))
    r = client.post(f"/api/v1/terminals/{w['t1'].id}/commands",
                    json={"kind": "brightness", "args": {"level": 40}}, headers=h)
    assert r.status_code == 201
    sent = c.get_received(NS)
    assert sent[0]["name"] == protocol.COMMAND
    assert sent[0]["args"][0] == {"id": r.json["id"], "kind": "brightness", "args": {"level": 40}}
    ack = c.emit(protocol.COMMAND_RESULT, {"id": r.json["id"], "ok": True,
                                           "result": {"brightness": 40}},
                 namespace=NS, callback=True)
    assert ack == {"ok": True}
    history = client.get(f"/api/v1/terminals/{w['t1'].id}/commands", headers=h).json
    assert history[0]["ok"] is True and history[0]["result"] == {"brightness": 40}
    bad = client.post(f"/api/v1/terminals/{w['t1'].id}/commands",
                      json={"kind": "brightness", "args": {"level": 400}}, headers=h)
    assert bad.status_code == 422


def test_pairing_over_http(w, client):
    r = client.post(protocol.PAIRING_PATH)
    assert r.status_code == 201
    code, token = r.json["code"], r.json["poll_token"]
    poll = protocol.PAIRING_POLL_PATH.format(poll_token=token)
    assert client.get(poll).status_code == 202
    admin = helpers.token(helpers.user(Role.street_admin))
    t = helpers.terminal(w["b"])
    assert client.post(f"/api/v1/terminals/{t.id}/pair", json={"code": "WRONG1"},
                       headers=admin).status_code == 422
    assert client.post(f"/api/v1/terminals/{t.id}/pair", json={"code": code.lower()},
                       headers=admin).status_code == 200
    got = client.get(poll)
    assert got.status_code == 200 and got.json["terminal_id"] == t.id
    assert connect(w["app"], got.json["credential"]).is_connected(NS)
    assert client.get(poll).status_code == 404  # handed out once


def test_blobs_only_for_the_terminals_own_manifest(w, client, tmp_path):
    r = client.get(f"{protocol.BLOB_PATH}/{w['item'].blob_sha256}",
                   headers={"Authorization": f"Bearer {w['c1']}"})
    assert r.status_code == 404  # not scheduled to it
    p = sched.create_playlist(db, w["editor"], "日常", [sched.EntryIn(w["item"].id)])
    sched.create_schedule(db, w["editor"], name="x", playlist_id=p.id, kind="normal",
                          recurrence=sched.Recurrence(),
                          targets=[sched.TargetIn("terminal", w["t1"].id)])
    db.commit()
    assert client.get(f"{protocol.BLOB_PATH}/{w['item'].blob_sha256}").status_code == 401
    r = client.get(f"{protocol.BLOB_PATH}/{w['item'].blob_sha256}",
                   headers={"Authorization": f"Bearer {w['c2']}"})
    assert r.status_code == 404  # the other terminal is not targeted


def test_a_sent_manifest_says_which_blobs_its_terminal_may_fetch(w, client, monkeypatch):
    """The files of the manifest the hub sent are allowed without building the terminal's
    plan again (a fleet's downloads after a change would each build one in the event
    loop); another terminal, or the same one holding another credential, is not."""
    from server.hub import http
    from server.storage import blob_store

    p = sched.create_playlist(db, w["editor"], "日常", [sched.EntryIn(w["item"].id)])
    sched.create_schedule(db, w["editor"], name="x", playlist_id=p.id, kind="normal",
                          recurrence=sched.Recurrence(),
                          targets=[sched.TargetIn("terminal", w["t1"].id)])
    db.commit()
    sha = w["item"].blob_sha256
    path = blob_store().path(sha)  # the helper's item has a row, not a file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"picture")
    assert sha in {b["sha256"] for b in hello(connect(w["app"], w["c1"]))["manifest"]["blobs"]}

    def no_plan(*_args):
        raise AssertionError("built the terminal's plan again")

    monkeypatch.setattr(http, "_needed", no_plan)
    r = client.get(f"{protocol.BLOB_PATH}/{sha}", headers={"Authorization": f"Bearer {w['c1']}"})
    body = r.data
    r.close()  # the file's handle
    assert r.status_code == 200 and body == b"picture"
    monkeypatch.undo()
    r = client.get(f"{protocol.BLOB_PATH}/{sha}", headers={"Authorization": f"Bearer {w['c2']}"})
    assert r.status_code == 404
    new = fleet.issue_credential(db, db.get(Terminal, w["t1"].id))  # re-paired: not its list
    db.commit()
    monkeypatch.setattr(http, "_needed", lambda *_args: frozenset())
    r = client.get(f"{protocol.BLOB_PATH}/{sha}", headers={"Authorization": f"Bearer {new}"})
    assert r.status_code == 404


def test_health_says_the_node_serves(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json["ok"] and r.json["database"] is None and r.json["queue"] is None
