"""Signed content on the server (docs/security.md "Signed content"): manifests and
broadcasts verify with player.signatures, rotation endorses, re-key does not, pairing and
provisioning hand out the key, refusals open and close their alert, the signer process
signs the same bytes as the key files."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
from flask import current_app
from sqlalchemy import select

from player import protocol, trust
from player import signatures as sig
from server.db import db
from server.models import Alert, AuditEntry, Role, SigningKey, TerminalState
from server.services import broadcasts as bsvc
from server.services import fleet, manifests, signing
from server.services.access import Actor
from server.services.errors import Forbidden
from server.services.schedules import TargetIn
from server.signer import LocalSigner, SignerServer, SocketSigner
from server.storage import blob_store
from tests import helpers as h
from tests.polling import wait_for


@pytest.fixture
def fleet2(app):
    c = h.community("东和")
    b = h.building(c)
    ts = [h.terminal(b), h.terminal(b, 192, 96)]
    for t in ts:
        fleet.issue_credential(db, t)
    item = h.approved_image(c)
    h.scheduled_all_day(c, item)
    admin = Actor.of(h.user(Role.street_admin))
    return {"c": c, "ts": ts, "admin": admin, "street_id": c.street_id}


def _verifies(public: str, m: dict) -> bool:
    """As a player holding `public` checks it (player/trust.py), after a trip through JSON."""
    s = m[sig.SIGNATURE]
    if s["alg"] != sig.ALG or s["key_id"] != sig.key_id(sig.unb64(public)):
        return False
    try:
        trust.verify_manifest(json.loads(json.dumps(m)), None, {s["key_id"]: public})
    except trust.Refused:
        return False
    return True


def test_manifests_are_signed_by_the_street_key_and_verify(fleet2):
    built = manifests.manifests(db, fleet2["ts"])
    db.commit()
    key = signing.current(db, fleet2["street_id"])
    for t in fleet2["ts"]:
        m = built[t.id]
        assert m["blobs"] and _verifies(key.public_key, m)
        assert sig.KEY not in m  # the first key: players know it from pairing
        forged = {**m, "plan": {**m["plan"], "terminal_id": 999}}
        assert not _verifies(key.public_key, forged)
        dropped = {**m, "blobs": m["blobs"][1:]}
        assert not _verifies(key.public_key, dropped)
    # One key, made on first need, audited, its private half a PKCS8 file only we read.
    rows = db.scalars(select(SigningKey)).all()
    assert [r.key_id for r in rows] == [key.key_id]
    path = current_app.config["SIGNAGE"].key_dir / f"{key.key_id}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert db.scalar(select(AuditEntry).where(AuditEntry.object_type == "signing_key"))


def test_a_batch_shares_one_signature_and_each_manifest_verifies_with_its_path(app):
    c = h.community("东和")
    b = h.building(c)
    ts = [h.terminal(b, *(64, 32) if i % 2 else (192, 96)) for i in range(5)]
    h.scheduled_all_day(c, h.approved_image(c))
    calls: list[int] = []
    real = signing.signer().sign

    def counted(kid: str, statements: list[bytes]) -> list[str]:
        calls.append(len(statements))
        return real(kid, statements)

    signing.current(db, c.street_id)  # the street's first key, made outside the count
    with mock.patch.object(signing.signer(), "sign", counted):
        built = manifests.manifests(db, ts)
    db.commit()
    assert calls == [1]  # five manifests, one statement signed
    key = signing.current(db, c.street_id)
    blocks = [built[t.id][sig.SIGNATURE] for t in ts]
    assert len({x["sig"] for x in blocks}) == 1
    assert all(1 <= len(x["path"]) <= 3 for x in blocks)  # log2(5) rounded up
    assert all(_verifies(key.public_key, built[t.id]) for t in ts)
    # One manifest's body under another's path, and an edit, are refused.
    first, second = built[ts[0].id], built[ts[1].id]
    moved = {**first, sig.SIGNATURE: second[sig.SIGNATURE]}
    assert not _verifies(key.public_key, moved)
    assert not _verifies(key.public_key, {**second, "version": second["version"] + 1})
    # A single manifest (a HELLO) is signed over its statement, as before batching.
    one = manifests.manifest(db, ts[0])
    assert "path" not in one[sig.SIGNATURE]
    assert sig.verify(key.public_key, sig.manifest_statement(one), one[sig.SIGNATURE]["sig"])


def test_broadcast_payloads_are_signed_and_group_by_size(fleet2):
    bc = bsvc.send(db, fleet2["admin"], blob_store(), bsvc.BroadcastIn(
        mode="full", targets=[TargetIn("street")], reason="台风红色预警",
        text="台风将于今晚登陆，请居民留在室内。"))
    pushes = bsvc.pending_pushes(db)
    db.commit()
    key = signing.current(db, fleet2["street_id"])
    payloads = [bsvc.active_for(db, t)[0] for t in fleet2["ts"]]
    assert payloads[0]["sha256"] != payloads[1]["sha256"]
    for p in payloads:
        protocol.check_broadcast(p)
        assert p["id"] == bc.id
        assert sig.verify(key.public_key, sig.broadcast_statement(p), p[sig.SIGNATURE]["sig"])
        assert not sig.verify(key.public_key, sig.broadcast_statement({**p, "text": "假"}),
                              p[sig.SIGNATURE]["sig"])
    # The push sent the same signed bodies, one group per screen size.
    pushed = sorted((body for event, body, _ids in pushes if event == protocol.BROADCAST),
                    key=lambda b: b["sha256"])
    assert pushed == sorted(payloads, key=lambda b: b["sha256"])


def test_rotation_endorses_the_new_key_and_manifests_carry_it(fleet2):
    old = signing.current(db, fleet2["street_id"])
    db.commit()
    versions = {t.id: t.manifest_version for t in fleet2["ts"]}
    new = signing.rotate(db, fleet2["admin"])
    db.commit()
    assert new.endorsed_by == old.key_id and not new.emergency
    for t in fleet2["ts"]:  # every screen is sent a manifest signed by the new key now
        db.refresh(t)
        assert t.manifest_version == versions[t.id] + 1
    assert sig.verify(old.public_key, sig.key_statement(new.key_id, new.public_key),
                      new.endorsement)
    assert db.scalar(select(SigningKey).where(SigningKey.key_id == old.key_id)).retired_at
    m = manifests.manifests(db, fleet2["ts"][:1])[fleet2["ts"][0].id]
    assert m[sig.SIGNATURE]["key_id"] == new.key_id and _verifies(new.public_key, m)
    assert m[sig.KEY] == {"key_id": new.key_id, "public_key": new.public_key,
                          "endorsed_by": old.key_id, "endorsement": new.endorsement}
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "rotate"))
    assert entry.after["endorsed_by"] == old.key_id
    with pytest.raises(Forbidden):
        signing.rotate(db, Actor.of(h.user(Role.community_admin, fleet2["c"])))


def test_rekey_has_no_endorsement_and_says_screens_must_pair_again(fleet2):
    old = signing.current(db, fleet2["street_id"])
    db.commit()
    versions = {t.id: t.manifest_version for t in fleet2["ts"]}
    new = signing.rekey(db, fleet2["admin"])
    db.commit()
    assert new.emergency and new.endorsement is None and new.endorsed_by is None
    for t in fleet2["ts"]:  # sent at once: the screens refusing it show up now
        db.refresh(t)
        assert t.manifest_version == versions[t.id] + 1
    m = manifests.manifests(db, fleet2["ts"][:1])[fleet2["ts"][0].id]
    assert sig.KEY not in m and _verifies(new.public_key, m)
    assert not _verifies(old.public_key, m)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "rekey"))
    assert entry.after["screens_must_pair_again"] is True
    assert entry.before["key_id"] == old.key_id


def test_pairing_answer_and_provisioning_carry_the_street_key(fleet2, runner):
    code, token, _exp = fleet.start_pairing(db)
    db.commit()
    fleet.claim(db, fleet2["admin"], code, fleet2["ts"][0].id)
    db.commit()
    state, answer = fleet.poll_pairing(db, token)
    db.commit()
    key = signing.current(db, fleet2["street_id"])
    assert state == "paired"
    assert answer["keys"] == [{"key_id": key.key_id, "public_key": key.public_key}]
    out = runner.invoke(args=["terminals", "provision"])
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["terminal_id", "name", "credential", "public_key"]
    assert {r[3] for r in rows[1:]} == {key.public_key} and len(rows) == 3


def _status(trust: dict | None) -> dict:
    d = {"screen_on": True, "brightness": 80, "cache_ready": True, "playing": None,
         "free_disk_bytes": 10**9, "clock_offset_s": 0.0, "player_version": "t",
         "screenshot_sha256": None}
    if trust is not None:
        d["trust"] = trust
    return protocol.check_status(d)


def test_a_status_refusal_opens_an_alert_that_closes_when_it_clears(fleet2):
    t = fleet2["ts"][0]
    refusal = {"what": "manifest", "reason": "bad_signature",
               "at": protocol.iso(datetime.now(UTC)), "version": 3, "sha256": None}
    now = datetime.now(UTC)

    def status(trust):
        fleet.record_statuses(db, [(t.id, _status(trust), now)])
        db.commit()
        db.expire_all()

    def open_alerts():
        return db.scalars(select(Alert).where(Alert.terminal_id == t.id,
                                              Alert.closed_at.is_(None))).all()

    status({"key_id": "ab" * 8, "refused": None})
    st = db.get(TerminalState, t.id)
    assert st.trust_key_id == "ab" * 8 and st.trust_refusal is None and not open_alerts()
    status({"key_id": "ab" * 8, "refused": refusal})
    status({"key_id": "ab" * 8, "refused": refusal})  # the same refusal: one alert
    (a,) = open_alerts()
    assert (a.kind, a.reason, a.detail) == ("refused", "bad_signature", refusal)
    assert db.get(TerminalState, t.id).trust_refusal == refusal
    assert [(st, term.id) for st, term in signing.refusing(db, fleet2["street_id"])] == [
        (db.get(TerminalState, t.id), t.id)]
    status(None)  # an old player's STATUS says nothing about trust: nothing changes
    assert len(open_alerts()) == 1
    status({"key_id": "ab" * 8, "refused": None})
    assert not open_alerts() and db.get(TerminalState, t.id).trust_refusal is None
    assert signing.refusing(db, fleet2["street_id"]) == []
    h_ = signing.holding(db, fleet2["street_id"])
    assert (h_.older, h_.none) == (1, 1)  # "abab..." is not the street's key


def test_enforcement_is_audited(fleet2, runner):
    signing.set_enforced(db, fleet2["admin"], True)
    db.commit()
    assert signing.enforced(db, fleet2["street_id"])
    entry = db.scalar(select(AuditEntry).where(AuditEntry.object_type == "street"))
    assert entry.after == {"signatures_enforced": True}
    out = runner.invoke(args=["signing", "enforce", "off"])
    assert out.exit_code == 0, out.output
    db.expire_all()
    assert not signing.enforced(db, fleet2["street_id"])


def test_the_signer_process_signs_the_same_bytes_as_the_key_files(fleet2, tmp_path):
    """A real `flask --app server signing serve` process over a Unix socket."""
    key = signing.current(db, fleet2["street_id"])
    db.commit()
    settings = current_app.config["SIGNAGE"]
    path = str(tmp_path / "signer.sock")
    env = {**os.environ, "SIGNAGE_DATA_DIR": str(settings.data_dir),
           "SIGNAGE_DATABASE_URL": settings.database_url, "SIGNAGE_SECRET_KEY": "test-secret"}
    env.pop("SIGNAGE_SIGNER_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "server", "signing",
                             "serve", "--socket", path], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: os.path.exists(path) or proc.poll() is not None, 60)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        remote, local = SocketSigner(path), LocalSigner(settings.key_dir)
        statements = [sig.manifest_statement(m) for m in
                      manifests.manifests(db, fleet2["ts"]).values()]
        assert remote.sign(key.key_id, statements) == local.sign(key.key_id, statements)
        # A key the signer makes is a file only it wrote, and the web side can use its id.
        public = remote.new_key()
        assert (settings.key_dir / f"{sig.key_id(sig.unb64(public))}.pem").exists()
        with pytest.raises(signing.SignerError):
            remote.sign("0" * 16, statements)
        # The app signs through it when told to.
        signing.use(SocketSigner(path))
        m = manifests.manifests(db, fleet2["ts"][:1])[fleet2["ts"][0].id]
        assert _verifies(key.public_key, m)
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stderr:
            proc.stderr.close()
        signing.use(LocalSigner(settings.key_dir))


def test_a_signer_away_is_an_error_not_an_unsigned_manifest(fleet2, tmp_path):
    signing.current(db, fleet2["street_id"])
    db.commit()
    signing.use(SocketSigner(str(tmp_path / "nobody.sock"), timeout_s=1))
    try:
        with pytest.raises(signing.SignerError):
            manifests.manifests(db, fleet2["ts"])
    finally:
        signing.use(LocalSigner(current_app.config["SIGNAGE"].key_dir))


def test_signer_server_in_process_answers_bad_requests(tmp_path):
    signer = LocalSigner(tmp_path / "keys")
    server = SignerServer(str(tmp_path / "s.sock"), signer)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = SocketSigner(str(tmp_path / "s.sock"))
        with pytest.raises(signing.SignerError, match="not a key id"):
            client.sign("../../etc/passwd", [b"x"])
        with pytest.raises(signing.SignerError, match="unknown op"):
            client._call({"op": "steal"})
    finally:
        server.shutdown()
        server.server_close()
    assert not Path(tmp_path / "keys").exists() or not any(Path(tmp_path / "keys").iterdir())
