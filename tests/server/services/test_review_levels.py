"""Two-level review, escalated-review periods and two-person broadcasts, on the services
(both databases): the order of levels, who may decide each, a period that begins while an
item waits, a broadcast held for a second person and delivered only on approval, and a
warning under the early-warning policy that is never held."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from server.db import db, utcnow
from server.models import (
    AuditEntry,
    Blob,
    BroadcastDelivery,
    ContentItem,
    ContentKind,
    ContentStatus,
    Role,
    TargetKind,
    Topic,
)
from server.services import broadcasts, escalation, fleet
from server.services import content as svc
from server.services.access import Actor
from server.services.errors import Conflict, Forbidden, NotFound
from server.services.schedules import TargetIn
from server.storage import blob_store
from tests import helpers as h


@pytest.fixture
def w(app):
    c1, c2 = h.community("东和"), h.community("沙头角")
    t1 = h.terminal(h.building(c1))
    t2 = h.terminal(h.building(c2))
    for t in (t1, t2):
        fleet.issue_credential(db, t)
    db.commit()
    return {
        "c1": c1, "c2": c2, "t1": t1, "t2": t2,
        "editor": Actor.of(h.user(Role.editor, c1)),
        "reviewer": Actor.of(h.user(Role.reviewer, c1)),
        "c1_admin": Actor.of(h.user(Role.community_admin, c1)),
        "other_reviewer": Actor.of(h.user(Role.reviewer, c2)),
        "admin": Actor.of(h.user(Role.street_admin)),
        "admin2": Actor.of(h.user(Role.street_admin)),
    }


def draft(author: Actor, community_id: int | None, *, marked: bool = False) -> ContentItem:
    """A draft image (a blob row, no file: review never opens it)."""
    topic = db.scalar(select(Topic).limit(1)) or Topic(street_id=author.street_id, name="便民")
    db.add(topic)
    sha = f"{db.scalar(select(func.count()).select_from(Blob)) + 1:064x}"
    db.add(Blob(sha256=sha, size=10, mime="image/png"))
    item = ContentItem(street_id=author.street_id, community_id=community_id,
                       kind=ContentKind.image, status=ContentStatus.draft, title="停水通知",
                       topic_id=topic.id, duration_s=10, blob_sha256=sha, mime="image/png",
                       width=384, height=192, created_by=author.id, street_review=marked)
    db.add(item)
    db.commit()
    return item


def period(admin: Actor, first: date, last: date, communities=()) -> None:
    escalation.create(db, admin, escalation.PeriodIn(first, last, "重大活动保障",
                                                     list(communities)))
    db.commit()


def today() -> date:
    return escalation.local_day(utcnow())


def test_a_marked_item_needs_both_levels_in_order_and_two_people(w):
    item = draft(w["editor"], w["c1"].id, marked=True)
    svc.submit(db, w["editor"], item.id)
    assert item.review_stage == "community"
    with pytest.raises(NotFound):  # another community's reviewer does not even see it
        svc.approve(db, w["other_reviewer"], item.id)
    svc.approve(db, w["reviewer"], item.id)
    db.commit()
    assert (item.status, item.review_stage) == (ContentStatus.submitted, "street")
    assert item.community_approved_by == w["reviewer"].id
    with pytest.raises(Forbidden):  # the community's people cannot give the street's
        svc.approve(db, w["c1_admin"], item.id)
    svc.approve(db, w["admin"], item.id)
    db.commit()
    assert item.status == ContentStatus.approved and item.reviewed_by == w["admin"].id
    levels = [(e.action, e.after.get("review_level")) for e in db.scalars(
        select(AuditEntry).where(AuditEntry.object_id == item.id,
                                 AuditEntry.object_type == "content").order_by(AuditEntry.id))]
    assert levels == [("submit", "community"), ("approve_level", "community"),
                      ("approved", "street")]


def test_the_same_person_cannot_approve_both_levels(w):
    item = draft(w["editor"], w["c1"].id, marked=True)
    svc.submit(db, w["editor"], item.id)
    svc.approve(db, w["admin"], item.id)  # a street admin may give the community level
    db.commit()
    with pytest.raises(Forbidden):
        svc.approve(db, w["admin"], item.id)
    svc.approve(db, w["admin2"], item.id)
    assert item.status == ContentStatus.approved


def test_a_change_after_the_community_approved_goes_back_to_the_community(w):
    item = draft(w["editor"], w["c1"].id, marked=True)
    svc.submit(db, w["editor"], item.id)
    svc.approve(db, w["reviewer"], item.id)
    db.commit()
    svc.update(db, w["editor"], blob_store(), item.id, meta={"duration_s": 30})
    db.commit()
    # the street cannot approve what the community did not see: the community's level waits
    assert svc.decision(db, w["admin"], item).level == "community"
    assert item.id in [r.item.id for r in svc.review_queue(db, w["reviewer"])]
    svc.approve(db, w["c1_admin"], item.id)  # the community sees it again
    assert (item.review_stage, item.community_approved_by) == ("street", w["c1_admin"].id)
    svc.approve(db, w["admin"], item.id)
    assert item.status == ContentStatus.approved


def test_an_unmarked_community_item_needs_one_level(w):
    item = draft(w["editor"], w["c1"].id)
    svc.submit(db, w["editor"], item.id)
    svc.approve(db, w["reviewer"], item.id)
    assert item.status == ContentStatus.approved and item.community_approved_by is None


def test_a_street_wide_item_needs_the_street_level(w):
    item = draft(w["admin"], None)
    svc.submit(db, w["admin"], item.id)
    assert item.review_stage == "street"
    svc.approve(db, w["admin2"], item.id)
    assert item.status == ContentStatus.approved


def test_an_item_reaching_another_community_needs_the_street(w):
    item = draft(w["editor"], w["c1"].id)
    item.status = ContentStatus.approved  # on a street-wide schedule across both
    db.commit()
    h.scheduled_all_day(w["c2"], item, by=db.get(h.User, w["admin"].id))
    svc.update(db, w["editor"], blob_store(), item.id, meta={"duration_s": 12})
    db.commit()
    assert item.pending is not None and item.pending.review_stage == ""
    assert svc.decision(db, w["reviewer"], item).needed == ["community", "street"]
    svc.approve(db, w["reviewer"], item.id)
    assert item.pending.review_stage == "street" and item.duration_s == 10
    svc.approve(db, w["admin"], item.id)
    assert item.pending is None and item.duration_s == 12


def test_a_period_that_begins_while_an_item_waits_applies(w):
    item = draft(w["editor"], w["c1"].id)
    svc.submit(db, w["editor"], item.id)
    db.commit()
    assert item.review_stage == "community"
    period(w["admin"], today(), today() + timedelta(days=2), [w["c1"].id])
    assert escalation.in_force(db, w["c1"].street_id, w["c1"].id) is not None
    assert escalation.in_force(db, w["c1"].street_id, w["c2"].id) is None
    svc.approve(db, w["reviewer"], item.id)
    assert (item.status, item.review_stage) == (ContentStatus.submitted, "street")
    queue = svc.review_queue(db, w["reviewer"])
    assert item.id not in [r.item.id for r in queue]  # nothing left for the community
    assert item.id in [r.item.id for r in svc.review_queue(db, w["reviewer"], everything=True)]
    [waiting] = [r for r in svc.review_queue(db, w["admin"]) if r.item.id == item.id]
    assert waiting.decision.level == "street" and waiting.community_approver.id == \
        w["reviewer"].id
    svc.approve(db, w["admin"], item.id)
    assert item.status == ContentStatus.approved


def test_a_period_in_the_past_or_future_changes_nothing(w):
    period(w["admin"], today() - timedelta(days=9), today() - timedelta(days=2))
    period(w["admin"], today() + timedelta(days=1), today() + timedelta(days=3))
    item = draft(w["editor"], w["c1"].id)
    svc.submit(db, w["editor"], item.id)
    svc.approve(db, w["reviewer"], item.id)
    assert item.status == ContentStatus.approved


def test_rejecting_at_the_street_level_rejects(w):
    item = draft(w["editor"], w["c1"].id, marked=True)
    svc.submit(db, w["editor"], item.id)
    svc.approve(db, w["reviewer"], item.id)
    svc.reject(db, w["admin"], item.id, "时机不当")
    assert item.status == ContentStatus.rejected and item.review_stage == ""
    svc.submit(db, w["editor"], item.id)  # resubmitted: both levels again
    assert item.review_stage == "community" and item.community_approved_by is None


def test_periods_are_for_street_admins_and_audited(w):
    with pytest.raises(Forbidden):
        escalation.create(db, w["c1_admin"], escalation.PeriodIn(today(), today(), "x", []))
    period(w["admin"], today(), today())
    p = escalation.list_periods(db, w["admin"])[0]
    escalation.update(db, w["admin"], p.id, escalation.PeriodIn(
        today(), today() + timedelta(days=1), "国庆", [w["c2"].id]))
    escalation.delete(db, w["admin"], p.id)
    db.commit()
    assert [e.action for e in db.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "escalation_period").order_by(AuditEntry.id))] == \
        ["create", "update", "delete"]


def send(actor: Actor, **kw):
    args = {"mode": "full", "targets": [TargetIn("street")], "reason": "停水",
            "text": "明天9点至12点停水。"}
    args.update(kw)
    bc = broadcasts.send(db, actor, blob_store(), broadcasts.BroadcastIn(**args))
    pushes = broadcasts.pending_pushes(db)
    db.commit()
    return bc, pushes


def deliveries(bc) -> int:
    return db.scalar(select(func.count()).select_from(BroadcastDelivery)
                     .where(BroadcastDelivery.broadcast_id == bc.id))


def test_a_broadcast_during_a_period_waits_for_a_second_person(w):
    period(w["admin"], today(), today(), [w["c2"].id])
    bc, pushes = send(w["admin"])  # street-wide: reaches c2
    assert (bc.approval, deliveries(bc), pushes) == ("pending", 0, [])
    assert broadcasts.active_for(db, w["t1"]) == []
    assert broadcasts.progress(db, w["admin"], bc.id)["state"] == "pending"
    with pytest.raises(Forbidden):  # not the sender
        broadcasts.approve(db, w["admin"], bc.id)
    broadcasts.approve(db, w["admin2"], bc.id)
    pushes = broadcasts.pending_pushes(db)
    db.commit()
    assert deliveries(bc) == 2 and pushes and bc.approved_by == w["admin2"].id
    assert [p["id"] for p in broadcasts.active_for(db, w["t1"])] == [bc.id]
    with pytest.raises(Conflict):
        broadcasts.approve(db, w["admin2"], bc.id)
    assert {e.action for e in db.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "broadcast"))} == {"broadcast_pending", "approve",
                                                     "broadcast"}


def test_a_community_broadcast_outside_the_period_is_not_held(w):
    period(w["admin"], today(), today(), [w["c2"].id])
    bc, pushes = send(w["c1_admin"], targets=[TargetIn("community", w["c1"].id)])
    assert bc.approval == "" and deliveries(bc) == 1 and pushes


def test_a_community_admin_cannot_approve_and_the_sender_may_withdraw(w):
    period(w["admin"], today(), today())
    bc, _ = send(w["c1_admin"], targets=[TargetIn("community", w["c1"].id)])
    assert bc.approval == "pending"
    other_admin = Actor.of(h.user(Role.community_admin, db.get(h.Community, w["c1"].id)))
    with pytest.raises(Forbidden):
        broadcasts.approve(db, other_admin, bc.id)
    assert broadcasts.may_refuse(db, w["c1_admin"], bc)
    broadcasts.refuse(db, w["c1_admin"], bc.id, "发错了")
    db.commit()
    assert bc.approval == "refused" and not bc.active_at(utcnow()) and deliveries(bc) == 0
    assert broadcasts.progress(db, w["admin"], bc.id)["state"] == "refused"


def test_a_warning_under_the_policy_is_not_held(w):
    period(w["admin"], today(), today())
    item = h.approved_image(None, "台风橙色预警")
    bc = broadcasts.send_prepared(db, w["admin"], item, "full", [(TargetKind.street, None)],
                                  "台风", "台风橙色预警", None)
    db.commit()
    assert bc.approval == "" and deliveries(bc) == 2
