"""Early warning pages: the list, a message (card, match in words, receipt), approval,
sources with their secret and rules, manual upload, the intake log, area codes on the tree."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from server.db import db, utcnow
from server.models import Building, Community, Role, Street, WarningMessage, WarningSource
from tests import helpers as h
from tests import warning_helpers as wh
from tests.cap.samples import sample


def _admin(client):
    u = h.user(Role.street_admin)
    h.login(client, u)
    return u


def _pending(src: WarningSource, level: str, minutes: int | None, ident: str) -> WarningMessage:
    now = utcnow()
    m = WarningMessage(
        street_id=src.street_id, source_id=src.id, received_via="webhook", raw_xml="<alert/>",
        identifier=ident, sender="深圳市气象台", sent=now, status="Actual", msg_type="Alert",
        event="rainstorm", event_text="暴雨", level=level, severity="Moderate",
        headline=f"暴雨{level}预警", area_desc="盐田区", state="pending",
        approve_deadline=now + timedelta(minutes=minutes) if minutes else None, matched=[])
    db.add(m)
    db.commit()
    return m


def test_list_shows_chips_pending_first_with_time_left_and_filters(client):
    c = h.community("东和")
    t = wh.paired(h.building(c))
    src = wh.source()
    sent = wh.message(src, [t])
    later = _pending(src, "yellow", 9, "p-1")
    never = _pending(src, "blue", None, "p-2")
    _admin(client)
    html = client.get("/warnings/").get_data(as_text=True)
    assert 'id="nav-warnings"' in html and "预警" in html
    order = [int(x) for x in re.findall(r'<tr id="warning-(\d+)"', html)]
    assert order[:2] == [later.id, never.id] and order[2] == sent.id  # pending first
    assert "还剩 8 分钟" in html or "还剩 9 分钟" in html
    assert "无超时：批准后才发布" in html
    assert 'class="level-chip level-orange"' in html and "橙色" in html
    assert "level-orange { background: rgb(255, 128, 0)" in client.get(
        "/warnings/levels.css").get_data(as_text=True)
    row = html[html.index(f'id="warning-{sent.id}"'):]
    assert re.search(r'class="reach">1 / 0<', row)  # matched 1, none acknowledged yet
    only_sent = client.get("/warnings/?state=sent").get_data(as_text=True)
    assert f'id="warning-{sent.id}"' in only_sent and f'id="warning-{later.id}"' not in only_sent


def test_message_page_fields_match_in_words_receipt_and_raw(client):
    c = h.community("东和")
    c.area_code = "440308003005"
    db.commit()
    ts = [wh.paired(h.building(c, "1栋")), wh.paired(h.building(c, "2栋"), 128, 64)]
    m = wh.message(wh.source(), ts)
    m.matched = [{**r, "why": {"by": "geocode", "code": "440308", "unit": "community",
                               "name": "东和", "area": "盐田区"}} for r in m.matched[:1]] + \
        [{**m.matched[1], "why": {"by": "polygon", "unit": "building", "name": "2栋"}}]
    db.commit()
    _admin(client)
    html = client.get(f"/warnings/{m.id}").get_data(as_text=True)
    assert "区划代码 440308 包含 东和 (440308003005)" in html
    assert "楼栋位置在预警多边形内" in html
    assert "深圳市气象台" in html and "严重" in html and 'id="raw-xml"' in html
    # one picture per panel size of the matched screens, from the broadcast's own item
    assert sorted(re.findall(r'data-size="([^"]+)"', html)) == ["128x64-full", "384x192-full"]
    assert html.count("/content/") >= 2
    r = client.get(f"/warnings/{m.id}/receipt.json").get_json()
    assert r["targeted"] == 2 and r["acknowledged"] == 0
    assert {t["problem"] for t in r["terminals"]} == {"offline"}
    csv = client.get(f"/warnings/{m.id}/receipt.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and "屏幕" in csv.get_data(as_text=True)


def test_pending_message_is_approved_or_rejected_by_post_with_csrf(client):
    src = wh.source()
    m = _pending(src, "yellow", 10, "p-3")
    _admin(client)
    html = client.get(f"/warnings/{m.id}").get_data(as_text=True)
    assert "批准发布" in html and "不发布" in html and "自动发布" in html
    assert client.post(f"/warnings/{m.id}/reject", data={"reason": "x"}).status_code == 400
    token = h.csrf_token(client.get(f"/warnings/{m.id}").get_data(as_text=True))
    r = client.post(f"/warnings/{m.id}/reject", data={"csrf_token": token, "reason": "演练"})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(WarningMessage, m.id).state == "rejected"
    ticker = _pending(src, "blue", None, "p-4")
    ticker.mode = "ticker"
    db.commit()
    html = client.get(f"/warnings/{ticker.id}").get_data(as_text=True)
    assert 'id="ticker-preview">【暴雨blue预警】' in html and "无超时" in html


def test_sources_secret_once_rules_and_intake_log(client):
    _admin(client)
    r = h.post_form(client, "/warnings/sources", {"name": "市预警中心", "kind": "webhook",
                                                  "poll_seconds": "60", "enabled": "y"})
    html = r.get_data(as_text=True)
    src = db.query(WarningSource).filter_by(name="市预警中心").one()
    assert r.status_code == 200 and src.secret and src.secret in html  # shown once, in full
    assert f"/api/v1/warnings/webhook/{src.id}" in html
    again = client.get("/warnings/sources").get_data(as_text=True)
    assert src.secret not in again and src.secret[-4:] in again
    token = h.csrf_token(again)
    r = client.post(f"/warnings/sources/{src.id}/rules", data={
        "csrf_token": token, "event": ["typhoon", ""], "min_level": ["orange", "blue"],
        "action": ["auto", "ignore"], "mode": ["full", "ticker"], "timeout_s": ["", ""]})
    assert r.status_code == 302
    db.expire_all()
    rules = db.get(WarningSource, src.id).rules
    assert [(x.event, x.min_level, x.action, x.mode) for x in rules] == [
        ("typhoon", "orange", "auto", "full"), ("", "blue", "ignore", "ticker")]
    audit = client.get("/audit/").get_data(as_text=True)  # in words, not as stored
    assert "台风 橙色及以上：自动发布（全屏）" in audit and "预警来源的规则" in audit
    assert "'min_level'" not in audit and ">approve<" not in audit
    # a refused upload is in the intake log, in red, with its reason
    token = h.csrf_token(client.get("/warnings/upload").get_data(as_text=True))
    r = client.post("/warnings/upload", data={
        "csrf_token": token, "file": (io.BytesIO(sample("billion_laughs")), "x.xml")})
    assert r.status_code == 422 and 'id="upload-refused"' in r.get_data(as_text=True)
    log = client.get("/warnings/sources").get_data(as_text=True)
    assert 'class="intake-refused"' in log


def test_upload_a_message_file_and_community_staff_may_not(client):
    s = h.street()
    s.area_code = "440308003000"
    c = h.community("东和")
    wh.paired(h.building(c))
    db.commit()
    _admin(client)
    token = h.csrf_token(client.get("/warnings/upload").get_data(as_text=True))
    data = sample("typhoon_orange_yantian", identifier="web-up-1")
    r = client.post("/warnings/upload", data={"csrf_token": token,
                                               "file": (io.BytesIO(data), "t.xml")})
    assert r.status_code == 302
    m = db.query(WarningMessage).filter_by(identifier="web-up-1").one()
    assert r.headers["Location"].endswith(f"/warnings/{m.id}") and m.received_via == "upload"
    client.post("/logout", data={"csrf_token": token})
    h.login(client, h.user(Role.community_admin, c))
    assert client.get("/warnings/sources").status_code == 403
    assert client.get("/warnings/upload").status_code == 403


def test_tree_area_codes_and_building_position(client):
    c = h.community("东和")
    b = h.building(c)
    _admin(client)
    page = client.get("/").get_data(as_text=True)
    assert 'id="area-codes-form"' in page
    r = client.post("/area-codes", data={"csrf_token": h.csrf_token(page),
                                         "street_code": "440308003000",
                                         f"community-{c.id}": "440308003005"})
    assert r.status_code == 302
    db.expire_all()
    assert db.get(Street, c.street_id).area_code == "440308003000"
    assert db.get(Community, c.id).area_code == "440308003005"
    r = h.post_form(client, f"/buildings/{b.id}/edit", {
        "community_id": str(c.id), "name": b.name, "address": "", "latitude": "22.555",
        "longitude": "114.237"})
    assert r.status_code == 302
    db.expire_all()
    assert (db.get(Building, b.id).latitude, db.get(Building, b.id).longitude) == (22.555, 114.237)
    assert "22.55500, 114.23700" in client.get(f"/buildings/{b.id}").get_data(as_text=True)


def test_a_refusal_with_values_reads_in_chinese(client):
    """Refusals are stored as English with their values filled in: the log translates them
    back through their msgid."""
    _admin(client)
    token = h.csrf_token(client.get("/warnings/upload").get_data(as_text=True))
    r = client.post("/warnings/upload", data={"csrf_token": token, "file": (
        io.BytesIO(b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><oops/></alert>"),
        "x.xml")})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    reason = html[html.index('id="upload-refused"'):html.index("</article>")]
    assert "The message" not in reason and "CAP 1.2" in reason, reason
