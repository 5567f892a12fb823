"""Two-level review, escalation periods and two-person broadcasts on the pages and the API:
the queue's level badge and filter, the item's trail and mark, the periods page with its
banner, a pending broadcast approved by a second person (page and API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.db import db, utcnow
from server.models import (
    Blob,
    BroadcastDelivery,
    ContentItem,
    ContentKind,
    ContentStatus,
    EscalationPeriod,
    Role,
    Topic,
)
from server.services import broadcasts, escalation, fleet
from server.services import content as svc
from server.services.access import Actor
from server.services.schedules import TargetIn
from server.storage import blob_store
from tests import helpers as h


@pytest.fixture
def w(app):
    c = h.community("东和")
    t = h.terminal(h.building(c))
    fleet.issue_credential(db, t)
    topic = Topic(street_id=c.street_id, name="便民")
    db.add(topic)
    db.add(Blob(sha256="a" * 64, size=10, mime="image/png"))
    db.commit()
    return {"c": c, "topic": topic, "editor": h.user(Role.editor, c),
            "reviewer": h.user(Role.reviewer, c), "admin": h.user(Role.street_admin),
            "admin2": h.user(Role.street_admin)}


def second(client):
    """Another browser (another person)."""
    return client.application.test_client()


def submitted(w, marked: bool) -> ContentItem:
    item = ContentItem(street_id=w["c"].street_id, community_id=w["c"].id,
                       kind=ContentKind.image, status=ContentStatus.draft, title="停水通知",
                       topic_id=w["topic"].id, duration_s=10, blob_sha256="a" * 64,
                       mime="image/png", width=384, height=192, created_by=w["editor"].id,
                       street_review=marked)
    db.add(item)
    db.commit()
    svc.submit(db, Actor.of(w["editor"]), item.id)
    db.commit()
    return item


def test_queue_shows_the_level_and_filters_to_what_the_reviewer_can_decide(client, w):
    item = submitted(w, marked=True)
    h.login(client, w["reviewer"])
    page = client.get("/review").get_data(as_text=True)
    assert "待社区审核" in page and "两级审核" in page
    page = client.get("/review").get_data(as_text=True)
    token = h.csrf_token(page)
    r = client.post(f"/content/{item.id}/approve", data={"csrf_token": token})
    assert r.status_code == 302
    page = client.get("/review").get_data(as_text=True)
    assert f'id="review-{item.id}"' not in page  # waits for the street now
    page = client.get("/review?all=1").get_data(as_text=True)
    assert f'id="review-{item.id}"' in page and "待街道审核" in page
    client = second(client)
    h.login(client, w["admin"])
    page = client.get("/review").get_data(as_text=True)
    assert f'id="review-{item.id}"' in page and "社区审核通过" in page
    assert w["reviewer"].username in page
    item_page = client.get(f"/content/{item.id}").get_data(as_text=True)
    assert 'id="trail-community"' in item_page and 'id="approve"' in item_page


def test_the_mark_is_set_on_the_item_page(client, w):
    item = submitted(w, marked=False)
    h.login(client, w["editor"])
    page = client.get(f"/content/{item.id}").get_data(as_text=True)
    assert "还须经街道审核" in page
    r = client.post(f"/content/{item.id}/street-review",
                    data={"csrf_token": h.csrf_token(page), "street_review": "y"})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(ContentItem, item.id).street_review is True


def test_periods_page_adds_edits_deletes_and_the_banner_shows(client, w):
    h.login(client, w["reviewer"])
    assert "设置升级审核期" not in client.get("/escalation").get_data(as_text=True)
    client = second(client)
    h.login(client, w["admin"])
    today = escalation.local_day(utcnow())
    bad = h.post_form(client, "/escalation", {"starts_on": today.isoformat(),
                                              "ends_on": (today - timedelta(days=1)).isoformat(),
                                              "reason": "国庆"})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.get_data(as_text=True)
    r = h.post_form(client, "/escalation", {"starts_on": today.isoformat(),
                                            "ends_on": (today + timedelta(days=6)).isoformat(),
                                            "reason": "国庆", "community_ids": str(w["c"].id)})
    assert r.status_code == 302
    p = db.scalar(select(EscalationPeriod))
    assert p.community_ids == [w["c"].id]
    page = client.get("/escalation").get_data(as_text=True)
    assert "生效中" in page and "东和" in page
    assert "升级审核期：" in client.get("/review").get_data(as_text=True)
    assert "升级审核期：" in client.get("/broadcasts/").get_data(as_text=True)
    r = h.post_form(client, f"/escalation/{p.id}", {
        "starts_on": today.isoformat(), "ends_on": today.isoformat(), "reason": "防汛"})
    assert r.status_code == 302
    db.expire_all()
    assert (db.get(EscalationPeriod, p.id).reason, db.get(EscalationPeriod, p.id).community_ids) \
        == ("防汛", [])
    page = client.get("/escalation").get_data(as_text=True)
    r = client.post(f"/escalation/{p.id}/delete", data={"csrf_token": h.csrf_token(page)})
    assert r.status_code == 302 and db.scalar(select(func.count()).select_from(
        EscalationPeriod)) == 0


def test_a_pending_broadcast_is_approved_by_a_second_person_on_the_page_and_api(client, w):
    escalation.create(db, Actor.of(w["admin"]), escalation.PeriodIn(
        escalation.local_day(utcnow()), escalation.local_day(utcnow()), "国庆", []))
    db.commit()
    bc = broadcasts.send(db, Actor.of(w["admin"]), blob_store(), broadcasts.BroadcastIn(
        mode="ticker", targets=[TargetIn("street")], reason="停水", text="明天停水"))
    db.commit()
    bc_id = bc.id
    h.login(client, w["admin"])
    page = client.get(f"/broadcasts/{bc_id}").get_data(as_text=True)
    assert "等待第二人批准" in page and 'id="approve-broadcast"' not in page
    assert 'id="refuse-broadcast"' in page and "撤回" in page  # the sender may withdraw
    api = client.post(f"/api/v1/broadcasts/{bc_id}/approve", headers=h.token(w["admin"]))
    assert api.status_code == 403 and "另一人" in api.get_json()["error"]["message"]
    client = second(client)
    h.login(client, w["admin2"])
    page = client.get(f"/broadcasts/{bc_id}").get_data(as_text=True)
    assert 'id="approve-broadcast"' in page
    listed = client.get("/api/v1/broadcasts", headers=h.token(w["admin2"])).get_json()
    assert [b["state"] for b in listed] == ["pending"]
    r = client.post(f"/api/v1/broadcasts/{bc_id}/approve", headers=h.token(w["admin2"]))
    assert r.status_code == 200 and r.get_json()["state"] == "active"
    assert db.scalar(select(func.count()).select_from(BroadcastDelivery)) == 1
    again = client.post(f"/api/v1/broadcasts/{bc_id}/approve", headers=h.token(w["admin2"]))
    assert again.status_code == 409
