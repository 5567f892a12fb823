"""Publish receipt pages: the list, one receipt's stages as x / N with the screens behind and
why in words, its JSON for the live update, the links from the item, the schedule and the
audit log; another community's receipt is not found."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.db import db, utcnow
from server.models import AuditEntry, ContentStatus, Receipt, ReceiptScreen, Role
from server.services import audit
from server.services import receipts as svc
from server.services.access import Actor
from tests import helpers as h


def _text(html: str, element_id: str) -> str:
    part = html[html.index(f'id="{element_id}"'):]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))


def _receipt(c, terminals, *, acked=0, ready=0, played=0, content_ids=(1,),
             object_type="content", object_id=1, by=None) -> Receipt:
    """A receipt of an approval in `c` whose first screens are through each stage: the
    first `acked` acknowledged, the first `ready` ready, the first `played` played."""
    who = Actor.of(by or h.user(Role.community_admin, c, username=f"admin{c.id}"))
    entry = audit.record(db, who, "approved", object_type, object_id, label="停水通知",
                         community_id=c.id)
    db.flush()
    r = Receipt(street_id=c.street_id, community_id=c.id, audit_entry_id=entry.id,
                action="approved", object_type=object_type, object_id=object_id,
                label="停水通知", content_ids=list(content_ids), screens=len(terminals))
    db.add(r)
    db.flush()
    now = utcnow()
    db.add_all(ReceiptScreen(
        receipt_id=r.id, terminal_id=t.id, manifest_version=2,
        acked_at=now if i < acked else None, ready_at=now if i < ready else None,
        played_at=now if i < played and content_ids else None,
        closed_at=now if i < ready and (i < played or not content_ids) else None)
        for i, t in enumerate(terminals))
    db.commit()
    return r


def _fleet(n: int = 3, name: str = "东和"):
    c = h.community(name)
    b = h.building(c, "东和花园1栋")
    return c, [h.terminal(b) for _ in range(n)]


def test_a_receipt_shows_three_stages_and_the_screens_behind(client):
    c, ts = _fleet()
    admin = h.user(Role.community_admin, c)
    item = h.approved_image(c, title="停水通知")
    r = _receipt(c, ts, acked=2, ready=1, played=1, object_id=item.id, by=admin)
    h.login(client, admin)

    html = client.get(f"/receipts/{r.id}").get_data(as_text=True)
    assert "2 / 3" in _text(html, "stage-acknowledged")
    assert "1 / 3" in _text(html, "stage-ready") and "1 / 3" in _text(html, "stage-played")
    head = _text(html, "receipt-change")
    assert admin.username in head and "已通过" in head and "内容" in head
    assert f'href="/content/{item.id}"' in html and 'id="receipt-audit"' in html
    behind = _text(html, "laggards")
    assert ts[1].name in behind and ts[2].name in behind and ts[0].name not in behind
    assert "已确认" in behind and "未确认" in behind and "东和花园1栋" in behind

    live = client.get(f"/receipts/{r.id}.json").get_json()
    assert live["stages"] == {"acknowledged": 2, "ready": 1, "played": 1}
    assert live["done"] is False and live["laggards_total"] == 2
    assert {lag["terminal_id"] for lag in live["laggards"]} == {ts[1].id, ts[2].id}
    assert all(lag["why_words"] and lag["stage"] for lag in live["laggards"])

    # The audit entry the headline links to is marked on the log, and links back.
    log = client.get("/audit/?object_type=content&action=approved").get_data(as_text=True)
    entry = db.get(AuditEntry, r.audit_entry_id)
    row = log[log.index(f'id="entry-{entry.id}"'):]
    assert f'href="/receipts/{r.id}"' in row[:row.index("</tr>")]


def test_when_every_screen_is_through_the_page_stops_watching(client):
    c, ts = _fleet(2)
    admin = h.user(Role.community_admin, c)
    r = _receipt(c, ts, acked=2, ready=2, played=2, by=admin)
    h.login(client, admin)
    html = client.get(f"/receipts/{r.id}").get_data(as_text=True)
    assert 'data-done="yes"' in html and "全部屏幕已完成" in html
    assert 'id="laggards" hidden' in html
    assert client.get(f"/receipts/{r.id}.json").get_json()["done"] is True


def test_played_does_not_apply_to_a_change_that_plays_nothing_new(client):
    c, ts = _fleet(2)
    admin = h.user(Role.community_admin, c)
    r = _receipt(c, ts, acked=1, ready=1, content_ids=(), object_type="screen_plan", by=admin)
    h.login(client, admin)
    html = client.get(f"/receipts/{r.id}").get_data(as_text=True)
    assert "不适用" in _text(html, "stage-played") and "1 / 2" in _text(html, "stage-ready")
    assert client.get(f"/receipts/{r.id}.json").get_json()["stages"]["played"] is None
    listed = _text(client.get("/receipts").get_data(as_text=True), "receipts")
    assert "不适用" in listed and "开关屏与亮度计划" in listed


def test_another_communitys_receipt_is_not_found(client):
    c, ts = _fleet(1)
    r = _receipt(c, ts)
    other = h.community("沙栏吓")
    h.login(client, h.user(Role.community_admin, other))
    assert client.get(f"/receipts/{r.id}").status_code == 404
    assert client.get(f"/receipts/{r.id}.json").status_code == 404
    assert f'id="receipt-{r.id}"' not in client.get("/receipts").get_data(as_text=True)


def test_every_reason_reads_as_words(client, monkeypatch):
    """The service's reason codes as a person reads them, times in Beijing time; and a long
    list of screens behind says how many more there are."""
    c, ts = _fleet(1)
    admin = h.user(Role.community_admin, c)
    r = _receipt(c, ts, by=admin)
    real = svc.summary(db, Actor.of(admin), r.id)
    since = "2026-03-01T02:05:00+00:00"  # 10:05 in Beijing
    reasons = [({"code": "offline", "since": since}, "离线（自 03-01 10:05 起）"),
               ({"code": "offline"}, "离线（从未连接）"),
               ({"code": "downloading", "percent": 42}, "下载中 42 %"),
               ({"code": "screen_off"}, "屏幕关闭"),
               ({"code": "not_scheduled", "until": since}, "排期在 03-01 10:05 之后"),
               ({"code": "not_scheduled"}, "今明两天未排期"),
               ({"code": "refused"}, "终端拒绝"),
               ({"code": "waiting"}, "等待中")]
    lag = real["laggards"][0]
    laggards = [{**lag, "acked_at": since if i % 2 else None,
                 "why": {"since": None, "percent": None, "until": None, **why}}
                for i, (why, _) in enumerate(reasons)]
    monkeypatch.setattr(svc, "summary", lambda s, actor, receipt_id, laggards_=50: {
        **real, "screens": 5000, "laggards_total": 4990, "laggards": laggards})
    h.login(client, admin)
    behind = _text(client.get(f"/receipts/{r.id}").get_data(as_text=True), "laggards")
    live = client.get(f"/receipts/{r.id}.json").get_json()
    for (why, words), row in zip(reasons, live["laggards"], strict=True):
        assert words in behind and row["why_words"] == words, why
    assert "已确认（03-01 10:05）" in behind
    assert "另有 4982 块屏幕尚未完成" in behind and live["more_words"].startswith("另有 4982")


def test_the_list_pages_newest_first(client):
    c, ts = _fleet(1)
    admin = h.user(Role.community_admin, c)
    first = _receipt(c, ts, by=admin)
    for _ in range(50):
        last = _receipt(c, ts, by=admin)
    h.login(client, admin)
    page = client.get("/receipts").get_data(as_text=True)
    assert page.count('<tr id="receipt-') == 50 and page.index(f"receipt-{last.id}") < page.index(
        f"receipt-{last.id - 1}")
    assert f'id="receipt-{first.id}"' not in page and 'id="older"' in page
    older = client.get("/receipts?page=2").get_data(as_text=True)
    assert older.count('<tr id="receipt-') == 1 and f'id="receipt-{first.id}"' in older
    assert 'id="newer"' in older and 'id="older"' not in older


def test_an_approval_links_its_receipt_from_the_item_and_the_audit_log(client):
    """A real approval (the service makes the receipt as the change commits): the item's
    page, the audit log and the list link it, and it counts the community's screens."""
    c, ts = _fleet(2)
    item = h.approved_image(c, title="停水通知")
    h.scheduled_all_day(c, item)
    item.status = ContentStatus.submitted  # back in the queue, already placed on screens
    db.commit()
    admin = h.user(Role.community_admin, c)
    h.login(client, admin)
    page = client.get(f"/content/{item.id}").get_data(as_text=True)
    client.post(f"/content/{item.id}/approve", data={"csrf_token": h.csrf_token(page)})

    r = db.scalars(select(Receipt).where(Receipt.object_id == item.id)).one()
    page = client.get(f"/content/{item.id}").get_data(as_text=True)
    assert f'href="/receipts/{r.id}" id="latest-receipt"' in page
    html = client.get(f"/receipts/{r.id}").get_data(as_text=True)
    assert "0 / 2" in _text(html, "stage-acknowledged") and admin.username in html
    log = client.get("/audit/").get_data(as_text=True)
    assert f'href="/receipts/{r.id}"' in log
    assert f'id="receipt-{r.id}"' in client.get("/receipts").get_data(as_text=True)


def test_a_schedule_page_links_its_latest_receipt(client):
    c, ts = _fleet(1)
    sc = h.scheduled_all_day(c, h.approved_image(c))
    admin = h.user(Role.community_admin, c)
    h.login(client, admin)
    edit = f"/schedules/{sc.id}/edit"
    r = _receipt(c, ts, object_type="schedule", object_id=sc.id, by=admin)
    assert f'href="/receipts/{r.id}" id="latest-receipt"' in client.get(edit).get_data(
        as_text=True)
    assert f'href="{edit}" id="receipt-object"' in client.get(f"/receipts/{r.id}").get_data(
        as_text=True)
    # A reviewer may not open the schedule's form: the receipt names it without a link.
    reviewer = client.application.test_client()
    h.login(reviewer, h.user(Role.reviewer, c))
    html = reviewer.get(f"/receipts/{r.id}").get_data(as_text=True)
    assert "停水通知" in _text(html, "receipt-change") and 'id="receipt-object"' not in html
