"""Signed content through the terminal namespace: a HELLO's and a STATUS's `trust`, the
refusal of keyless screens on a street enforcing signatures, signed manifests in the ack."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from player import protocol
from player import signatures as sig
from server.db import db
from server.models import Alert, Role, TerminalState
from server.services import signing
from server.services.access import Actor
from tests import helpers, polling
from tests.server.hub import test_terminal_hub as hub_tests
from tests.server.hub.test_terminal_hub import NS, _status, connect

w = hub_tests.w  # two paired terminals of 东和, an approved item


def _hello(c, trust: dict | None = None, send_trust: bool = True) -> dict:
    payload = {"protocol": 1, "manifest_version": 0, "cache": [], "player_version": "test",
               "clock": protocol.iso(datetime.now(UTC))}
    if send_trust:
        payload["trust"] = trust or {"key_id": None}
    return c.emit(protocol.HELLO, payload, namespace=NS, callback=True)


def _no_key_alerts(tid: int, open_: bool = True) -> list[Alert]:
    db.expire_all()
    q = select(Alert).where(Alert.terminal_id == tid, Alert.reason == "no_key")
    return list(db.scalars(q.where(Alert.closed_at.is_(None) if open_ else
                                   Alert.closed_at.is_not(None))))


def test_hello_gets_a_signed_manifest_and_its_key_is_stored(w):
    c = connect(w["app"], w["c1"])
    ack = _hello(c)  # no key held, not enforced: served as before, signed all the same
    assert ack["ok"]
    key = signing.current(db, w["t1"].building.community.street_id)
    m = ack["manifest"]
    assert sig.verify(key.public_key, sig.manifest_statement(m), m[sig.SIGNATURE]["sig"])
    db.commit()
    ack = _hello(c, {"key_id": key.key_id})
    db.expire_all()
    assert ack["ok"] and db.get(TerminalState, w["t1"].id).trust_key_id == key.key_id
    assert _hello(c, send_trust=False)["ok"]  # an old player: holds none
    db.expire_all()
    assert db.get(TerminalState, w["t1"].id).trust_key_id is None


def test_an_enforcing_street_refuses_a_keyless_hello_and_accepts_one_with_a_key(w):
    admin = Actor.of(helpers.user(Role.street_admin))
    signing.set_enforced(db, admin, True)
    key = signing.current(db, admin.street_id)
    db.commit()
    c, other = connect(w["app"], w["c1"]), connect(w["app"], w["c2"])
    refused = {"ok": False,
               "error": "signatures are enforced and this screen holds no signing key: pair "
                        "it again"}
    assert _hello(c) == refused
    # Told, then disconnected: its reconnect back-off paces the next try (an open socket
    # would send a HELLO a second).
    assert polling.wait_for(lambda: not c.is_connected(NS))  # the refused socket closed
    c = connect(w["app"], w["c1"])
    assert _hello(c, send_trust=False) == refused  # an old player sends no trust at all
    assert len(_no_key_alerts(w["t1"].id)) == 1  # raised once, not per HELLO
    ack = _hello(other, {"key_id": key.key_id})
    assert ack["ok"] and ack["manifest"][sig.SIGNATURE]["key_id"] == key.key_id
    # Paired again, it holds the key: accepted, and its alert closes.
    c = connect(w["app"], w["c1"])
    ack = _hello(c, {"key_id": key.key_id})
    assert ack["ok"] and ack["manifest"] is not None
    assert _no_key_alerts(w["t1"].id) == [] and len(_no_key_alerts(w["t1"].id, False)) == 1


def test_a_status_refusal_through_the_hub_opens_and_clears_the_alert(w):
    c = connect(w["app"], w["c1"])
    refusal = {"what": "blob", "reason": "blob_hash", "at": protocol.iso(datetime.now(UTC)),
               "version": None, "sha256": "a" * 64}
    ack = c.emit(protocol.STATUS, _status(trust={"key_id": "cd" * 8, "refused": refusal}),
                 namespace=NS, callback=True)
    assert ack == {"ok": True}
    db.expire_all()
    (a,) = db.scalars(select(Alert).where(Alert.terminal_id == w["t1"].id,
                                          Alert.closed_at.is_(None)))
    assert (a.kind, a.reason, a.detail["sha256"]) == ("refused", "blob_hash", "a" * 64)
    ack = c.emit(protocol.STATUS, _status(trust={"key_id": "cd" * 8, "refused": None}),
                 namespace=NS, callback=True)
    assert ack == {"ok": True}
    db.expire_all()
    assert db.scalars(select(Alert).where(Alert.terminal_id == w["t1"].id,
                                          Alert.closed_at.is_(None))).all() == []
    assert db.get(TerminalState, w["t1"].id).trust_key_id == "cd" * 8


def test_turning_enforcement_off_accepts_keyless_screens_and_closes_their_alerts(w):
    admin = Actor.of(helpers.user(Role.street_admin))
    signing.set_enforced(db, admin, True)
    db.commit()
    c = connect(w["app"], w["c1"])
    assert _hello(c)["ok"] is False and len(_no_key_alerts(w["t1"].id)) == 1
    signing.set_enforced(db, admin, False)
    db.commit()
    assert _no_key_alerts(w["t1"].id) == []
    assert _hello(c)["ok"] and _no_key_alerts(w["t1"].id) == []
