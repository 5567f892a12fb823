"""Publish receipts (server/services/receipts.py): made at the commit of every change that
alters what screens play, advanced by the hub's STATUS and PLAYS, read with the reasons
of the screens not done. Real player fleets are in tests/e2e."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from player import protocol
from server.db import db
from server.models import (
    AuditEntry,
    Layout,
    PlannedHour,
    Receipt,
    ReceiptScreen,
    Role,
    Terminal,
    TerminalState,
)
from server.services import audit, fleet, receipts
from server.services import content as content_svc
from server.services import schedules as sched
from server.services.access import Actor
from tests import helpers
from tests.server.hub.test_terminal_hub import connect

NS = protocol.TERMINAL_NAMESPACE


@pytest.fixture
def w(app):
    donghe, other = helpers.community("东和"), helpers.community("新村")
    b = helpers.building(donghe, "1栋")
    ts = [helpers.terminal(b) for _ in range(3)]
    elsewhere = helpers.terminal(helpers.building(other, "9栋"))
    creds = [fleet.issue_credential(db, t) for t in ts]
    item = helpers.approved_image(donghe)
    editor_user = helpers.user(Role.editor, donghe)
    helpers.scheduled_all_day(donghe, item, by=editor_user)
    helpers.scheduled_all_day(other, helpers.approved_image(other))
    return {"app": app, "donghe": donghe, "other": other, "ts": ts, "creds": creds,
            "elsewhere": elsewhere, "item": item, "editor": Actor.of(editor_user),
            "reviewer": Actor.of(helpers.user(Role.reviewer, donghe))}


def _approve_an_edit(w) -> Receipt:
    """An editor changes the playing item; a reviewer approves the version swap."""
    content_svc.update(db, w["editor"], None, w["item"].id, meta={"duration_s": 12.0})
    db.commit()
    before = db.scalar(select(func.count()).select_from(Receipt))
    content_svc.approve(db, w["reviewer"], w["item"].id)
    db.commit()
    assert db.scalar(select(func.count()).select_from(Receipt)) == before + 1  # one change
    r = receipts.latest_for(db, w["reviewer"], "content", w["item"].id)
    assert r is not None
    return r


def _status(version: int | None = None, **kw) -> dict:
    out = {"playing": None, "screen_on": True, "brightness": 80, "cache_ready": True,
           "player_version": "1.0", **kw}
    if version is not None:
        out["manifest_version"] = version
    return out


def _emit(client, event: str, payload: dict) -> dict:
    return client.emit(event, payload, namespace=NS, callback=True)


def test_an_approval_makes_one_receipt_with_its_screens_and_versions(w):
    r = _approve_an_edit(w)
    entry = db.get(AuditEntry, r.audit_entry_id)
    assert (r.action, r.object_type, r.object_id, r.label) == (
        "approved", "content", w["item"].id, w["item"].title)
    assert (entry.action, entry.object_id) == ("approved", w["item"].id)
    assert r.community_id == w["donghe"].id and r.content_ids == [w["item"].id]
    rows = db.execute(select(ReceiptScreen.terminal_id, ReceiptScreen.manifest_version)
                      .where(ReceiptScreen.receipt_id == r.id)).all()
    versions = dict(db.execute(select(Terminal.id, Terminal.manifest_version)).all())
    assert {tid for tid, _ in rows} == {t.id for t in w["ts"]}  # not the other community's
    assert all(v == versions[tid] for tid, v in rows) and r.screens == 3


def test_a_screen_goes_through_acknowledged_ready_and_played_and_an_old_player_changes_nothing(w):
    r = _approve_an_edit(w)
    t1, t2 = w["ts"][0], w["ts"][1]
    version = db.get(Terminal, t1.id).manifest_version
    c1, c2 = connect(w["app"], w["creds"][0]), connect(w["app"], w["creds"][1])

    def stages():
        db.expire_all()
        return receipts.summary(db, w["reviewer"], r.id)["stages"]

    assert stages() == {"acknowledged": 0, "ready": 0, "played": 0}
    assert _emit(c2, protocol.STATUS, _status()) == {"ok": True}  # a player from before
    assert _emit(c1, protocol.STATUS, _status(version - 1)) == {"ok": True}  # not yet
    assert stages() == {"acknowledged": 0, "ready": 0, "played": 0}
    assert db.get(TerminalState, t2.id).held_version is None

    _emit(c1, protocol.STATUS, _status(version, cache_ready=False, download_percent=40))
    assert stages() == {"acknowledged": 1, "ready": 0, "played": 0}
    lag = {x["terminal_id"]: x for x in receipts.summary(db, w["reviewer"], r.id)["laggards"]}
    assert lag[t1.id]["why"]["code"] == "downloading" and lag[t1.id]["why"]["percent"] == 40
    assert lag[t2.id]["why"]["code"] == "waiting"  # online, never says what it holds

    _emit(c1, protocol.STATUS, _status(version))
    assert stages() == {"acknowledged": 1, "ready": 1, "played": 0}
    acked_at = db.get(ReceiptScreen, (r.id, t1.id)).acked_at
    item = w["item"]

    def rec(start):
        return protocol.play_record(content_id=item.id, schedule_id=None,
                                    sha256=item.blob_sha256, start=start,
                                    end=start + timedelta(seconds=1))
    # Played after the change but before the screen had it: the old manifest's play.
    assert _emit(c1, protocol.PLAYS, {"records": [rec(acked_at - timedelta(seconds=2))]})["ok"]
    assert stages()["played"] == 0
    assert _emit(c1, protocol.PLAYS, {"records": [rec(acked_at + timedelta(seconds=1))]})["ok"]
    out = receipts.summary(db, w["reviewer"], r.id)
    assert out["stages"] == {"acknowledged": 1, "ready": 1, "played": 1}
    row = db.get(ReceiptScreen, (r.id, t1.id))
    assert row.acked_at <= row.ready_at <= row.closed_at and row.played_at is not None
    assert out["laggards_total"] == 2 and t1.id not in {x["terminal_id"]
                                                        for x in out["laggards"]}


def test_laggards_say_why_offline_first(w):
    r = _approve_an_edit(w)
    t_off, t_dark, t_later = w["ts"]
    now = datetime.now(UTC)
    version = db.get(Terminal, t_dark.id).manifest_version
    for t in (t_off, t_dark, t_later):
        fleet.mark_online(db, db.get(Terminal, t.id), now - timedelta(minutes=10))
    fleet.record_statuses(db, [(t_dark.id, _status(version, screen_on=False), now),
                               (t_later.id, _status(version), now)])
    fleet.mark_offline(db, t_off.id)
    hour = now.replace(minute=0, second=0, microsecond=0)
    db.add(PlannedHour(terminal_id=t_later.id, hour=hour + timedelta(hours=3),
                       content_id=w["item"].id, building_id=t_later.building_id,
                       seconds=600.0))
    db.commit()
    out = receipts.summary(db, w["reviewer"], r.id)
    assert out["done"] is False and out["laggards_total"] == 3
    whys = [(x["terminal_id"], x["why"]["code"]) for x in out["laggards"]]
    assert whys[0] == (t_off.id, "offline")
    assert dict(whys) == {t_off.id: "offline", t_dark.id: "screen_off",
                          t_later.id: "not_scheduled"}
    by_id = {x["terminal_id"]: x["why"] for x in out["laggards"]}
    assert by_id[t_off.id]["since"] is not None
    assert by_id[t_later.id]["until"] == (hour + timedelta(hours=3)).isoformat()
    db.execute(PlannedHour.__table__.delete())
    db.commit()
    assert receipts.summary(db, w["reviewer"], r.id, laggards=1)["laggards"][0]["why"][
        "code"] == "offline"  # the limit keeps the order
    later = {x["terminal_id"]: x["why"] for x in receipts.summary(db, w["reviewer"], r.id)[
        "laggards"]}[t_later.id]
    assert (later["code"], later["until"]) == ("not_scheduled", None)
    # Planned time is the main region's: an item a layout region shows is waited for.
    db.add(Layout(street_id=w["item"].street_id, name="版式", width=384, height=192,
                  created_by=w["item"].created_by,
                  regions=[{"key": "logo", "role": "image", "content_id": w["item"].id}]))
    db.commit()
    later = {x["terminal_id"]: x["why"] for x in receipts.summary(db, w["reviewer"], r.id)[
        "laggards"]}[t_later.id]
    assert later["code"] == "waiting"


def test_a_refused_manifest_is_said(w):
    r = _approve_an_edit(w)
    t = w["ts"][0]
    now = datetime.now(UTC)
    fleet.mark_online(db, db.get(Terminal, t.id), now)
    refusal = {"what": "manifest", "reason": "bad_signature", "at": protocol.iso(now),
               "version": None, "sha256": None}
    fleet.record_statuses(db, [(t.id, _status(1, trust={"key_id": None, "refused": refusal}),
                                now)])
    db.commit()
    why = {x["terminal_id"]: x["why"] for x in receipts.summary(db, w["reviewer"], r.id)[
        "laggards"]}[t.id]
    assert (why["code"], why["since"]) == ("refused", refusal["at"])


def test_another_community_cannot_read_it(w, client):
    r = _approve_an_edit(w)
    outsider = helpers.user(Role.community_admin, w["other"])
    assert receipts.summary(db, Actor.of(outsider), r.id) is None
    assert receipts.latest_for(db, Actor.of(outsider), "content", w["item"].id) is None
    assert r.id not in {x["id"] for x in receipts.recent(db, Actor.of(outsider))}
    assert client.get(f"/api/v1/receipts/{r.id}",
                      headers=helpers.token(outsider)).status_code == 404
    mine = helpers.token(helpers.user(Role.editor, w["donghe"]))
    got = client.get(f"/api/v1/receipts/{r.id}", headers=mine)
    assert got.status_code == 200 and got.json["screens"] == 3
    assert got.json["stages"] == {"acknowledged": 0, "ready": 0, "played": 0}
    listed = client.get("/api/v1/receipts?limit=5", headers=mine).json
    assert listed[0]["id"] == r.id and listed[0]["object_type"] == "content"
    assert client.get("/api/v1/receipts?limit=0", headers=mine).status_code == 422


def test_a_screen_plan_receipt_has_no_played_stage(w):
    admin = Actor.of(helpers.user(Role.community_admin, w["donghe"]))
    sp = sched.create_screen_plan(db, admin, name="夜间", screen_on=False, brightness=0,
                                  recurrence=sched.Recurrence(windows=[("23:00", "06:00")]),
                                  targets=[sched.TargetIn("building", w["ts"][0].building_id)])
    db.commit()
    r = receipts.latest_for(db, admin, "screen_plan", sp.id)
    assert r.content_ids == [] and r.screens == 3
    assert receipts.summary(db, admin, r.id)["stages"]["played"] is None
    now = datetime.now(UTC)
    for t in w["ts"]:
        fleet.mark_online(db, db.get(Terminal, t.id), now)
    fleet.record_statuses(db, [(t.id, _status(db.get(Terminal, t.id).manifest_version), now)
                               for t in w["ts"]])
    db.commit()
    out = receipts.summary(db, admin, r.id)
    assert out["done"] is True and out["laggards"] == []
    assert out["stages"] == {"acknowledged": 3, "ready": 3, "played": None}


def test_receipts_go_with_their_audit_entries(w):
    r = _approve_an_edit(w)
    ids = {r.id}
    # A change no audit entry recorded (the server's own) is kept as long.
    from server.services import changes

    changes.touch(db, [w["ts"][0].id])
    db.commit()
    system = db.scalar(select(Receipt).order_by(Receipt.id.desc()).limit(1))
    assert system.action == "system" and system.audit_entry_id is None
    ids.add(system.id)
    later = datetime.now(UTC) + timedelta(days=200)
    assert audit.purge(db, 180, later) > 0
    assert receipts.purge(db, 180, later) >= 1
    db.commit()
    assert not set(db.scalars(select(Receipt.id))) & ids
    assert db.scalar(select(func.count()).select_from(ReceiptScreen)
                     .where(ReceiptScreen.receipt_id.in_(ids))) == 0
