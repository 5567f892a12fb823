"""What becomes of a warning: the policy (auto, approval, timeout, ignore, ticker), an
update replacing what is shown on the same screens, a cancel ending it, messages out of
order, exercises, expiry, and the audit trail of it all."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from player import protocol
from server import warning_jobs
from server.db import db, utcnow
from server.models import AuditEntry, Broadcast, ContentItem, Role, WarningMessage
from server.services import broadcasts
from server.services.access import Actor
from server.services.errors import Forbidden, Invalid
from server.services.warnings import SYSTEM_NAME, dispatch, intake, sources
from tests import helpers as h
from tests.cap.samples import SHENZHEN, sample
from tests.server.services.warning_place import delivered, place, receive

__all__ = ["place"]  # the fixture

ORANGE, RED, CANCEL = ("typhoon_orange_yantian", "typhoon_red_yantian_update",
                       "typhoon_cancel_yantian")
ORANGE_ID, RED_ID = "SZMB-20260915-TY-0001", "SZMB-20260915-TY-0002"


def t0() -> datetime:
    return (datetime.now(SHENZHEN) - timedelta(hours=1)).replace(microsecond=0)


def bc_of(m: WarningMessage) -> Broadcast:
    return db.get(Broadcast, m.broadcast_id)


def test_an_update_replaces_the_warning_on_the_same_screens_and_a_cancel_ends_it(place):
    start = t0()
    orange = receive(place, ORANGE, sent=start).message
    out = intake.receive(db, place.source, sample(RED, sent=start + timedelta(minutes=30)),
                         "webhook")
    pushes = [e for e, _body, _ids in broadcasts.pending_pushes(db)]
    db.commit()
    red = out.message
    assert (red.state, red.level, red.decision) == ("sent", "red", "auto")
    assert delivered(red) == delivered(orange) == place.all_screens
    assert (orange.state, orange.state_reason) == ("superseded", dispatch.SUPERSEDED)
    assert bc_of(orange).cancelled_at is not None and bc_of(red).cancelled_at is None
    # the red card first, then the orange one ends: the screen never falls back between
    assert pushes.index(protocol.BROADCAST) < pushes.index(protocol.BROADCAST_END)
    assert [p["id"] for p in broadcasts.active_for(db, place.t1)] == [red.broadcast_id]

    cancel = receive(place, CANCEL, sent=start + timedelta(minutes=50)).message
    assert (cancel.state, cancel.state_reason) == ("cancelled", dispatch.ENDED_OTHERS)
    db.refresh(red)
    assert (red.state, red.state_reason) == ("cancelled", dispatch.CANCELLED)
    assert bc_of(red).cancelled_at is not None and cancel.broadcast_id is None
    assert broadcasts.active_for(db, place.t1) == []
    trail = list(db.execute(select(AuditEntry.action, AuditEntry.object_id, AuditEntry.actor)
                            .where(AuditEntry.object_type == "warning")
                            .order_by(AuditEntry.id)))
    assert [(a, i) for a, i, _who in trail] == [
        ("send", orange.id), ("receive", orange.id),
        ("send", red.id), ("supersede", orange.id), ("receive", red.id),
        ("cancel", red.id), ("receive", cancel.id)]
    assert {who for _a, _i, who in trail} == {SYSTEM_NAME}
    assert db.scalar(select(AuditEntry.actor).where(AuditEntry.action == "cancel",
                                                    AuditEntry.object_type == "broadcast")) \
        == SYSTEM_NAME


def test_messages_out_of_order_never_replace_a_newer_one(place):
    start = t0()
    # the update comes first: we never got what it updates, so it is shown as an alert
    red = receive(place, RED, sent=start + timedelta(minutes=30)).message
    assert red.state == "sent" and delivered(red) == place.all_screens
    late = receive(place, ORANGE, sent=start).message  # its own alert, late
    assert (late.state, late.state_reason, late.broadcast_id) == \
        ("ignored", dispatch.OLDER, None)
    stale = receive(place, RED, identifier="SZMB-stale", sent=start + timedelta(minutes=10),
                    references=[(ORANGE_ID, start)]).message
    assert (stale.state, stale.state_reason) == ("ignored", dispatch.OLDER)
    db.refresh(red)
    assert red.state == "sent" and bc_of(red).cancelled_at is None
    assert db.query(Broadcast).count() == 1


def test_a_cancel_of_a_message_never_received_is_recorded_and_ignored(place):
    m = receive(place, CANCEL).message
    assert (m.state, m.state_reason) == ("ignored", dispatch.CANCELS_UNKNOWN)
    assert db.query(Broadcast).count() == 0


def test_an_exercise_is_stored_but_never_shown(place):
    data = sample(ORANGE).replace(b"<status>Actual</status>", b"<status>Exercise</status>")
    out = intake.receive(db, place.source, data, "webhook")
    db.commit()
    assert out.outcome == "accepted"
    assert (out.message.status, out.message.state, out.message.state_reason) == \
        ("Exercise", "ignored", dispatch.NOT_ACTUAL)
    assert out.message.matched  # the screens it would have reached are still shown
    assert db.query(Broadcast).count() == 0


def test_a_warning_ends_at_its_expiry(place):
    sent = datetime.now(SHENZHEN).replace(microsecond=0)
    m = receive(place, ORANGE, sent=sent, expires=sent + timedelta(minutes=20)).message
    bc = bc_of(m)
    assert bc.ends_at == m.expires
    after = m.expires + timedelta(seconds=1)
    assert broadcasts.active_for(db, place.t1, after) == []
    assert (dispatch.state_at(m, m.expires - timedelta(seconds=1)),
            dispatch.state_at(m, after)) == ("sent", "expired")
    assert dispatch.run_deadlines(db, after) == {"sent": [], "expired": [m.id]}
    db.commit()
    assert (m.state, m.state_reason) == ("expired", dispatch.EXPIRED)
    assert dispatch.run_deadlines(db, after) == {"sent": [], "expired": []}
    # one that expired before it arrived is only recorded
    gone = receive(place, ORANGE, identifier="SZMB-old", sent=sent - timedelta(hours=7),
                   expires=sent - timedelta(hours=1)).message
    assert (gone.state, gone.state_reason) == ("ignored", dispatch.EXPIRED_ON_ARRIVAL)


def test_a_yellow_signal_waits_for_approval_with_the_screens_proposed(place):
    now = utcnow()
    m = receive(place, "gale_bilingual").message
    assert (m.level, m.state, m.broadcast_id) == ("yellow", "pending", None)
    assert {r["terminal_id"] for r in m.matched} == place.all_screens
    assert now + timedelta(seconds=590) < m.approve_deadline < now + timedelta(seconds=610)
    community_admin = Actor.of(h.user(Role.community_admin, place.donghe))
    editor = Actor.of(h.user(Role.editor, place.donghe))
    for who in (community_admin, editor):  # a street-wide broadcast is a street admin's
        with pytest.raises(Forbidden):
            dispatch.approve(db, who, m.id)
        db.rollback()
    dispatch.approve(db, place.admin, m.id)
    db.commit()
    assert (m.state, m.decision, m.decided_by) == ("sent", "approved", place.admin.id)
    assert delivered(m) == place.all_screens
    assert bc_of(m).created_by == place.admin.id
    with pytest.raises(Invalid):  # decided already
        dispatch.approve(db, place.admin, m.id)
    db.rollback()
    assert db.scalar(select(AuditEntry.actor).where(AuditEntry.action == "approve")) == \
        place.admin.name


def test_an_approval_that_runs_out_sends_anyway_and_a_rejected_one_never(place):
    m = receive(place, "gale_bilingual").message
    other = receive(place, "gale_bilingual", identifier="SZMB-gale-2").message
    dispatch.reject(db, place.admin, other.id, "演练消息")
    db.commit()
    assert (other.state, other.state_reason, other.decided_by) == \
        ("rejected", "演练消息", place.admin.id)
    assert dispatch.run_deadlines(db, utcnow()) == {"sent": [], "expired": []}
    m.approve_deadline = utcnow() - timedelta(seconds=1)  # ten minutes later
    db.commit()
    warning_jobs.deadlines()  # the scheduler's job
    db.refresh(m)
    assert (m.state, m.decision, m.decided_by) == ("sent", "timeout", None)
    assert delivered(m) == place.all_screens and other.broadcast_id is None


def test_rules_decide_by_event_and_level_first_match_wins(place):
    sources.set_rules(db, place.admin, place.source.id, [
        sources.RuleIn("typhoon", "red", "auto"),
        sources.RuleIn("typhoon", "white", "ignore"),
        sources.RuleIn("", "white", "auto", "ticker")])
    db.commit()
    orange = receive(place, ORANGE).message
    assert (orange.state, orange.state_reason) == ("ignored", dispatch.POLICY_IGNORES)
    hail = receive(place, "hail_circle_donghe").message  # any other event: a ticker
    assert (hail.state, hail.mode, bc_of(hail).mode) == ("sent", "ticker", "ticker")
    payload = broadcasts.active_for(db, place.t1)[0]
    assert protocol.check_broadcast(payload)["text"] == f"【{hail.headline}】{hail.instruction}"
    assert db.get(ContentItem, bc_of(hail).content_id).renditions == []  # the player draws it


def test_a_newer_message_makes_a_pending_approval_moot(place):
    sources.set_rules(db, place.admin, place.source.id, [
        sources.RuleIn("", "red", "auto"), sources.RuleIn("", "white", "approve")])
    db.commit()
    start = t0()
    orange = receive(place, ORANGE, sent=start).message
    assert orange.state == "pending"
    red = receive(place, RED, sent=start + timedelta(minutes=30)).message
    assert red.state == "sent"
    db.refresh(orange)
    assert (orange.state, orange.state_reason) == ("superseded", dispatch.SUPERSEDED)
    with pytest.raises(Invalid):
        dispatch.approve(db, place.admin, orange.id)
    db.rollback()


def test_a_warning_in_force_later_is_sent_now_and_shown_from_its_effective_time(place):
    from tests.cap.samples import cap_time

    sent = datetime.now(SHENZHEN).replace(microsecond=0)
    effective = sent + timedelta(hours=2)
    data = sample(ORANGE, sent=sent).replace(
        f"<effective>{cap_time(sent)}</effective>".encode(),
        f"<effective>{cap_time(effective)}</effective>".encode())
    assert f"<effective>{cap_time(effective)}</effective>".encode() in data
    out = intake.receive(db, place.source, data, "webhook")
    db.commit()
    m = out.message
    assert m.state == "sent" and m.effective == effective
    bc = db.get(Broadcast, m.broadcast_id)
    assert bc.starts_at == effective and bc.ends_at == m.expires
    assert delivered(m) == place.all_screens  # pushed now, held by the players until then
    assert broadcasts.active_for(db, place.t1) == []  # not given on a reconnect before
    assert broadcasts.active_for(db, place.t1, effective + timedelta(seconds=1))
