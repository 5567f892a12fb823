"""The early-warning API: the signed webhook (its authentication, size limit, hostile and
duplicate messages), upload, the messages as staff see them, approval, receipts as JSON
and CSV, and sources with their rules and secret."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from server.db import db
from server.models import Broadcast, Role, WarningIntake, WarningMessage, WarningSource
from server.services.access import Actor
from server.services.warnings import sources as sources_svc
from tests import helpers as h
from tests import warning_helpers as w
from tests.cap.samples import HUGE, sample

XML = {"Content-Type": "application/cap+xml"}


@pytest.fixture
def area(app):
    """The demo's shape: 沙头角街道 (in 盐田区 440308) with 东和 and 田心, two paired
    screens in 东和 and one in 田心, and a webhook source with the default policy."""
    street = h.street()
    street.area_code = "440308003000"
    donghe, tianxin = h.community("东和"), h.community("田心")
    donghe.area_code = "440308003005"
    b1, b2 = h.building(donghe, "东和花园1栋"), h.building(tianxin, "田心1栋")
    for b in (b1, b2):
        b.latitude, b.longitude = 22.555, 114.237
    db.commit()
    ts = [w.paired(b1), w.paired(b1, 128, 64), w.paired(b2)]
    admin = h.user(Role.street_admin)
    src = sources_svc.create_source(db, Actor.of(admin), sources_svc.SourceIn(
        name="深圳市气象台", kind="webhook"))
    db.commit()
    return {"src": src, "secret": src.secret, "ts": ts, "donghe": donghe, "tianxin": tianxin,
            "admin": h.token(admin), "url": f"/api/v1/warnings/webhook/{src.id}"}


def push(client, area, body: bytes, secret: str | None = None, headers: dict | None = None):
    sig = {"X-Signature-256": w.signature(secret or area["secret"], body)}
    return client.post(area["url"], data=body, headers={**XML, **sig, **(headers or {})})


def intake_rows() -> list[WarningIntake]:
    db.expire_all()
    return db.query(WarningIntake).order_by(WarningIntake.id).all()


def test_the_webhook_takes_only_a_body_signed_with_the_sources_secret(client, area):
    body = sample("typhoon_orange_yantian")
    r = client.post(area["url"], data=body, headers=XML)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert push(client, area, body, secret="not-the-secret").status_code == 401
    changed = body.replace("台风橙色".encode(), "台风红色".encode(), 1)
    sig = w.signature(area["secret"], body)
    r = client.post(area["url"], data=changed, headers={**XML, "X-Signature-256": sig})
    assert r.status_code == 401  # signed, then changed on the way
    r = client.post(area["url"], data=body,
                    headers={**XML, "X-Signature-256": sig.removeprefix("sha256=")})
    assert r.status_code == 401  # the scheme is part of the header
    assert intake_rows() == [] and db.query(WarningMessage).count() == 0  # nothing stored
    r = push(client, area, body)
    assert r.status_code == 200, r.json
    assert r.json["outcome"] == "accepted" and r.json["state"] == "sent"  # orange: auto
    m = db.get(WarningMessage, r.json["message_id"])
    assert m.received_via == "webhook" and m.broadcast_id is not None
    assert len(db.get(Broadcast, m.broadcast_id).deliveries) == 3


def test_the_same_message_twice_changes_nothing(client, area):
    body = sample("typhoon_orange_yantian")
    first = push(client, area, body).json
    again = push(client, area, body)
    assert again.status_code == 200 and again.json["outcome"] == "duplicate"
    assert again.json["message_id"] == first["message_id"] and again.json["reason"]
    assert db.query(WarningMessage).count() == 1 and db.query(Broadcast).count() == 1
    assert [i.outcome for i in intake_rows()] == ["accepted", "duplicate"]


def test_too_large_is_refused_before_it_is_read(client, area):
    huge = sample(HUGE)
    r = push(client, area, huge)
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    assert intake_rows() == []


@pytest.mark.parametrize("name", ["billion_laughs", "xxe_file", "not_xml"])
def test_hostile_or_broken_xml_is_refused_with_its_reason_and_logged(client, area, name):
    r = push(client, area, sample(name))
    assert r.status_code == 400 and r.json["error"]["code"] == "refused"
    assert r.json["error"]["message"]
    [row] = intake_rows()
    assert row.outcome == "refused" and row.reason and row.via == "webhook"
    assert db.query(WarningMessage).count() == 0


def test_unknown_and_disabled_sources(client, area):
    body = sample("typhoon_orange_yantian")
    r = client.post("/api/v1/warnings/webhook/999999", data=body, headers=XML)
    assert r.status_code == 404
    upload = sources_svc.upload_source(db, area["src"].street_id)
    db.commit()
    assert client.post(f"/api/v1/warnings/webhook/{upload.id}", data=body,
                       headers=XML).status_code == 404  # uploads come only from staff
    db.get(WarningSource, area["src"].id).enabled = False
    db.commit()
    r = push(client, area, body)  # kept in the intake log, so admins see it was pushed
    assert r.status_code == 400 and r.json["error"]["code"] == "refused"
    assert [i.outcome for i in intake_rows()] == ["refused"]


def test_list_detail_and_what_community_staff_see(client, area):
    m_id = push(client, area, sample("typhoon_orange_yantian")).json["message_id"]
    futian = push(client, area, sample("rainstorm_futian")).json
    assert futian["state"] == "ignored"  # another district: no screen here
    listed = client.get("/api/v1/warnings", headers=area["admin"]).json
    assert [x["id"] for x in listed] == [futian["message_id"], m_id]
    detail = client.get(f"/api/v1/warnings/{m_id}", headers=area["admin"]).json
    assert detail["level"] == "orange" and detail["matched_count"] == 3
    names = {x["terminal"] for x in detail["matched"]}
    assert names == {t.name for t in area["ts"]}
    assert all(x["why"]["by"] == "geocode" for x in detail["matched"])
    sent = client.get("/api/v1/warnings?state=sent", headers=area["admin"]).json
    assert [x["id"] for x in sent] == [m_id]
    # 田心's editor: the typhoon (one of its screens), not the Futian rainstorm
    editor = h.token(h.user(Role.editor, area["tianxin"]))
    assert [x["id"] for x in client.get("/api/v1/warnings", headers=editor).json] == [m_id]
    mine = client.get(f"/api/v1/warnings/{m_id}", headers=editor).json
    assert [x["terminal_id"] for x in mine["matched"]] == [area["ts"][2].id]
    assert client.get(f"/api/v1/warnings/{futian['message_id']}",
                      headers=editor).status_code == 404


def test_receipt_json_and_csv_after_screens_acknowledge(client, area):
    m_id = push(client, area, sample("typhoon_orange_yantian")).json["message_id"]
    m = db.get(WarningMessage, m_id)
    t0, t1, _t2 = area["ts"]
    w.state(t0, online=True)
    w.state(t1, online=True, screen_on=False)
    w.ack(m, t0, m.received_at + timedelta(seconds=1.5))
    r = client.get(f"/api/v1/warnings/{m_id}/receipt", headers=area["admin"])
    assert r.status_code == 200, r.json
    assert (r.json["targeted"], r.json["acknowledged"], r.json["not_acknowledged"]) == (3, 1, 2)
    by_id = {t["terminal_id"]: t for t in r.json["terminals"]}
    assert by_id[t0.id]["seconds_to_show"] == 1.5 and by_id[t0.id]["shown_at"]
    assert by_id[t1.id]["problem"] == "screen_off" and by_id[_t2.id]["problem"] == "offline"
    r = client.get(f"/api/v1/warnings/{m_id}/receipt.csv", headers=area["admin"])
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "屏幕编号" and len(rows) == 4
    assert {row[7] for row in rows[1:]} == {"", "屏幕关闭", "离线"}
    editor = h.token(h.user(Role.editor, area["donghe"]))
    mine = client.get(f"/api/v1/warnings/{m_id}/receipt", headers=editor).json
    assert {t["terminal_id"] for t in mine["terminals"]} == {t0.id, t1.id}


def test_upload_raw_or_multipart_by_street_admins_only(client, area):
    body = sample("typhoon_orange_yantian")
    editor = h.token(h.user(Role.community_admin, area["donghe"]))
    r = client.post("/api/v1/warnings/upload", data=body, headers={**XML, **editor})
    assert r.status_code == 403
    r = client.post("/api/v1/warnings/upload", data=body, headers={**XML, **area["admin"]})
    assert r.status_code == 200 and r.json["outcome"] == "accepted", r.json
    r = client.post("/api/v1/warnings/upload", headers=area["admin"],
                    data={"file": (io.BytesIO(body), "typhoon.xml")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["outcome"] == "duplicate"
    r = client.post("/api/v1/warnings/upload", headers=area["admin"],
                    data={"other": (io.BytesIO(body), "typhoon.xml")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "file" in r.json["error"]["message"]
    r = client.post("/api/v1/warnings/upload", headers=area["admin"],
                    data={"file": (io.BytesIO(sample(HUGE)), "huge.xml")},
                    content_type="multipart/form-data")
    assert r.status_code == 413
    r = client.post("/api/v1/warnings/upload", data=sample("xxe_http"),
                    headers={**XML, **area["admin"]})
    assert r.status_code == 400 and r.json["error"]["code"] == "refused"
    assert [i.via for i in intake_rows()] == ["upload"] * 3


def test_pending_messages_are_approved_or_rejected(client, area):
    src = area["src"]
    r = client.put(f"/api/v1/warning-sources/{src.id}/rules", headers=area["admin"],
                   json={"rules": [{"min_level": "white", "action": "approve",
                                    "timeout_s": 600}]})
    assert r.status_code == 200 and r.json["rules"][0]["action"] == "approve", r.json
    first = push(client, area, sample("typhoon_orange_yantian", identifier="a1")).json
    assert first["state"] == "pending"
    detail = client.get(f"/api/v1/warnings/{first['message_id']}", headers=area["admin"]).json
    assert detail["approve_deadline"] and detail["matched_count"] == 3
    r = client.post(f"/api/v1/warnings/{first['message_id']}/reject", headers=area["admin"],
                    json={"reason": "演练，不播放"})
    assert r.status_code == 200 and r.json["state"] == "rejected"
    assert client.post(f"/api/v1/warnings/{first['message_id']}/approve",
                       headers=area["admin"]).status_code == 422  # no longer pending
    second = push(client, area, sample("typhoon_orange_yantian", identifier="a2")).json
    editor = h.token(h.user(Role.editor, area["donghe"]))
    assert client.post(f"/api/v1/warnings/{second['message_id']}/approve",
                       headers=editor).status_code == 403
    r = client.post(f"/api/v1/warnings/{second['message_id']}/approve", headers=area["admin"])
    assert r.status_code == 200 and r.json["state"] == "sent" and r.json["broadcast_id"]
    assert r.json["decision"] == "approved"


def test_sources_rules_and_a_rotated_secret(client, area):
    admin = area["admin"]
    r = client.post("/api/v1/warning-sources", headers=admin, json={
        "name": "省预警发布中心", "kind": "feed", "url": "https://example.org/cap/index.atom",
        "poll_seconds": 120, "receipt_url": "https://example.org/receipts"})
    assert r.status_code == 201, r.json
    feed = r.json
    assert feed["webhook_url"] is None and feed["secret"] and len(feed["rules"]) == 3
    listed = client.get("/api/v1/warning-sources", headers=admin).json
    hook = next(x for x in listed if x["kind"] == "webhook")
    assert hook["webhook_url"].endswith(area["url"])
    r = client.patch(f"/api/v1/warning-sources/{feed['id']}", headers=admin,
                     json={"poll_seconds": 300, "enabled": False})
    assert r.status_code == 200 and (r.json["poll_seconds"], r.json["enabled"]) == (300, False)
    assert r.json["url"] == "https://example.org/cap/index.atom"  # what was not given stays
    r = client.patch(f"/api/v1/warning-sources/{feed['id']}", headers=admin,
                     json={"url": "file:///etc/passwd"})
    assert r.status_code == 422
    r = client.put(f"/api/v1/warning-sources/{feed['id']}/rules", headers=admin,
                   json={"rules": [{"min_level": "purple", "action": "auto"}]})
    assert r.status_code == 422
    editor = h.token(h.user(Role.community_admin, area["donghe"]))
    assert client.get("/api/v1/warning-sources", headers=editor).status_code == 403
    r = client.post(f"/api/v1/warning-sources/{hook['id']}/secret", headers=admin)
    assert r.status_code == 200 and r.json["secret"] != area["secret"]
    body = sample("typhoon_orange_yantian")
    assert push(client, area, body).status_code == 401  # the old secret stops at once
    assert push(client, area, body, secret=r.json["secret"]).status_code == 200


def test_the_webhook_is_rate_limited(client, area):
    """Past the limit a sender gets 429, not another message stored."""
    from server.api import warnings as api

    body = b"not signed"
    statuses = {client.post(area["url"], data=body, headers=XML).status_code
                for _ in range(int(api.WEBHOOK_LIMIT.split()[0]) + 1)}
    assert statuses == {401, 429}


def test_a_receipt_of_a_message_received_now_is_empty_before_any_acknowledgement(client, area):
    m_id = push(client, area, sample("typhoon_orange_yantian")).json["message_id"]
    r = client.get(f"/api/v1/warnings/{m_id}/receipt", headers=area["admin"]).json
    assert r["acknowledged"] == 0 and r["targeted"] == 3 and not r["complete"]
    assert r["broadcast"]["state"] == "active" and r["seconds_to_show_p50"] is None
