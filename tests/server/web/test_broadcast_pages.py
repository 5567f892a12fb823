"""Broadcast pages and API: send, progress, cancel, templates; bad input refused."""

from __future__ import annotations

import base64
import re
from html import unescape
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from server.config import PEOPLE_TZ
from server.db import db, utcnow
from server.models import Broadcast, BroadcastDelivery, Role
from server.services import broadcasts as svc
from server.services import fleet
from server.services.access import Actor
from server.services.schedules import TargetIn
from server.storage import blob_store
from tests import helpers as h

TZ = ZoneInfo(PEOPLE_TZ)


def _fleet():
    c = h.community("东和")
    ts = [h.terminal(h.building(c)) for _ in range(2)]
    for t in ts:
        fleet.issue_credential(db, t)
    db.commit()
    return c, ts


def _hidden_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    form = html[html.index(f'id="{form_id}"'):]
    form = form[:form.index("</form>")]
    out = []
    for tag in re.findall(r"<input[^>]*>", form):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden":
            out.append((unescape(attrs["name"]), unescape(attrs.get("value", ""))))
    return out


FORM = {"mode": "full", "text": "明天 9:00-17:00 停水\n请提前储水", "title": "停水通知",
        "template_id": "0", "content_id": "0", "reason": "水务公司通知"}


def test_send_asks_first_with_a_preview_per_size_and_the_count(client):
    c, ts = _fleet()
    fleet.issue_credential(db, h.terminal(h.building(c), 128, 64))
    db.commit()
    h.login(client, h.user(Role.street_admin))
    page = client.get("/broadcasts/")
    assert page.status_code == 200 and "紧急广播" in page.get_data(as_text=True)
    r = h.post_form(client, "/broadcasts/", {**FORM, "communities": str(c.id)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and db.query(Broadcast).count() == 0  # asked, not sent
    assert "立即发送到 3 块屏幕" in html and "东和" in html
    sizes = re.findall(r'data-size="([^"]+)"', html)
    assert sorted(sizes) == ["128x64-full", "384x192-full"]
    assert html.count('src="data:image/png;base64,') == 2
    fields = _hidden_fields(html, "confirm-form")
    assert ("text", FORM["text"]) in fields  # the newline survives the round trip
    back = client.post("/broadcasts/", data=MultiDict([*fields, ("back", "1")]))
    assert back.status_code == 200 and db.query(Broadcast).count() == 0
    assert "请提前储水" in back.get_data(as_text=True)  # the form as typed
    r = client.post("/broadcasts/", data=MultiDict([*fields, ("confirm", "1")]))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    bc = db.query(Broadcast).one()
    assert len(bc.deliveries) == 3 and bc.content.notice_body == FORM["text"]


def test_a_changed_reach_is_confirmed_again(client):
    c, ts = _fleet()
    h.login(client, h.user(Role.street_admin))
    html = h.post_form(client, "/broadcasts/", {**FORM, "communities": str(c.id)}
                       ).get_data(as_text=True)
    fleet.issue_credential(db, h.terminal(h.building(c)))  # a third screen meanwhile
    db.commit()
    r = client.post("/broadcasts/", data=MultiDict([*_hidden_fields(html, "confirm-form"),
                                                    ("confirm", "1")]))
    assert r.status_code == 422 and db.query(Broadcast).count() == 0
    assert "3 块屏幕" in r.get_data(as_text=True)


def test_watch_and_cancel_asks_then_reads_cancelled_with_the_time(client):
    c, ts = _fleet()
    admin = h.user(Role.street_admin)
    h.login(client, admin)
    bc = svc.send(db, Actor.of(admin), blob_store(), svc.BroadcastIn(
        mode="full", targets=[TargetIn("community", c.id)], reason="演练", text="停水"))
    db.commit()
    show = client.get(f"/broadcasts/{bc.id}").get_data(as_text=True)
    assert 'id="cancel-broadcast"' in show and f"/broadcasts/{bc.id}/cancel" in show
    p = client.get(f"/broadcasts/{bc.id}/progress.json").get_json()
    assert (p["shown"], p["total"], p["state"]) == (0, 2, "active")
    assert p["terminals"][0]["problem"] == "offline"
    ask = client.get(f"/broadcasts/{bc.id}/cancel").get_data(as_text=True)
    assert "2 块屏幕" in ask and 'id="confirm-cancel"' in ask
    # A POST that did not come through the question is sent to it, not obeyed.
    r = client.post(f"/broadcasts/{bc.id}/cancel", data={"csrf_token": h.csrf_token(ask)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/{bc.id}/cancel")
    assert client.get(f"/broadcasts/{bc.id}/progress.json").get_json()["state"] == "active"
    db.query(BroadcastDelivery).filter_by(terminal_id=ts[0].id).update(
        {"shown_at": utcnow()})
    db.commit()
    r = client.post(f"/broadcasts/{bc.id}/cancel",
                    data={"csrf_token": h.csrf_token(ask), "confirm": "1"})
    assert r.status_code == 302
    db.expire_all()
    at = db.get(Broadcast, bc.id).cancelled_at.astimezone(TZ).strftime("%H:%M")
    for url in (f"/broadcasts/{bc.id}", "/broadcasts/"):
        html = client.get(url).get_data(as_text=True)
        assert f"已于 {at} 取消" in html and "曾送达 1 块屏幕" in html
        assert "正在显示" not in html


def test_a_form_without_reason_or_target_is_shown_again_with_the_errors(client):
    _fleet()
    h.login(client, h.user(Role.street_admin))
    r = h.post_form(client, "/broadcasts/", {"mode": "full", "text": "演练", "template_id": "0",
                                             "content_id": "0", "reason": "演练"})
    assert r.status_code == 422
    assert "targets-error" in r.get_data(as_text=True)
    r = h.post_form(client, "/broadcasts/", {"mode": "full", "text": "演练", "street": "y",
                                             "template_id": "0", "content_id": "0"})
    assert r.status_code == 422 and db.query(Broadcast).count() == 0


def test_editors_without_the_right_see_why_and_cannot_send(client):
    c, _ts = _fleet()
    h.login(client, h.user(Role.editor, c))
    page = client.get("/broadcasts/").get_data(as_text=True)
    assert 'id="send-broadcast"' not in page and 'id="no-broadcast-right"' in page
    r = h.post_form(client, "/broadcasts/", {"mode": "full", "text": "x", "template_id": "0",
                                             "content_id": "0", "communities": str(c.id),
                                             "reason": "试试"})
    assert r.status_code == 403 and db.query(Broadcast).count() == 0


def test_a_granted_editor_sees_the_form(client):
    c, _ts = _fleet()
    u = h.user(Role.editor, c)
    u.may_broadcast = True
    db.commit()
    h.login(client, u)
    page = client.get("/broadcasts/").get_data(as_text=True)
    assert 'id="send-broadcast"' in page and 'id="no-broadcast-right"' not in page


def test_api_send_progress_cancel_and_refusals(client):
    c, ts = _fleet()
    tok = h.token(h.user(Role.street_admin))
    r = client.post("/api/v1/broadcasts", headers=tok, json={
        "mode": "ticker", "text": "暴雨黄色预警", "reason": "气象台",
        "targets": [{"kind": "street"}]})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["shown"], body["total"], body["mode"]) == (0, 2, "ticker")
    assert client.get(f"/api/v1/broadcasts/{body['id']}", headers=tok).get_json()["total"] == 2
    r = client.delete(f"/api/v1/broadcasts/{body['id']}", headers=tok)
    assert r.status_code == 200 and r.get_json()["state"] == "cancelled"
    for bad in ({"mode": "full", "text": "x", "targets": [{"kind": "street"}]},  # no reason
                {"mode": "full", "text": "x", "reason": "r", "targets": [{"kind": "planet"}]},
                {"mode": "full", "text": "x", "reason": "r", "targets": [{"kind": "street"}],
                 "ends_at": "2020-01-01T00:00:00+08:00"}):
        r = client.post("/api/v1/broadcasts", headers=tok, json=bad)
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["error"]["message"]
    assert db.query(Broadcast).count() == 1
    item = h.approved_image(title="台风模板")
    r = client.post("/api/v1/broadcasts/templates", headers=tok,
                    json={"name": "台风", "content_id": item.id})
    assert r.status_code == 201
    assert [t["name"] for t in client.get("/api/v1/broadcasts/templates",
                                          headers=tok).get_json()] == ["台风"]


def test_api_preview_expected_count_and_the_right(client):
    c, ts = _fleet()
    admin_tok = h.token(h.user(Role.street_admin))
    editor = h.user(Role.editor, c)
    tok = h.token(editor)
    body = {"mode": "full", "text": "暴雨红色预警，请勿外出", "reason": "气象台",
            "targets": [{"kind": "community", "ref_id": c.id}]}
    for url in ("/api/v1/broadcasts/preview", "/api/v1/broadcasts"):
        r = client.post(url, headers=tok, json=body)
        assert r.status_code == 403 and "管理员" in r.get_json()["error"]["message"]
    r = client.patch(f"/api/v1/users/{editor.id}", headers=admin_tok, json={"may_broadcast": True})
    assert r.status_code == 200 and r.get_json()["may_broadcast"] is True
    r = client.post("/api/v1/broadcasts/preview", headers=tok, json=body)
    assert r.status_code == 200, r.get_json()
    p = r.get_json()
    assert (p["terminals"], p["communities"]) == (2, ["东和"])
    [size] = p["sizes"]
    assert (size["width"], size["height"], size["terminals"], size["error"]) == (384, 192, 2, None)
    assert base64.b64decode(size["png_base64"]).startswith(b"\x89PNG")
    assert db.query(Broadcast).count() == 0
    r = client.post("/api/v1/broadcasts", headers=tok, json={**body, "expect_terminals": 76})
    assert r.status_code == 422 and db.query(Broadcast).count() == 0
    r = client.post("/api/v1/broadcasts", headers=tok, json={**body, "expect_terminals": 2})
    assert r.status_code == 201 and r.get_json()["total"] == 2
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "200" in paths["/api/v1/broadcasts/preview"]["post"]["responses"]
    assert "403" in paths["/api/v1/broadcasts"]["post"]["responses"]


def test_a_community_admin_grants_the_right_in_the_account_form(client):
    c, _ts = _fleet()
    editor = h.user(Role.editor, c)
    h.login(client, h.user(Role.community_admin, c))
    form = client.get(f"/users/{editor.id}/edit").get_data(as_text=True)
    assert "可发送紧急广播" in form and 'id="broadcast-right-help"' in form
    r = h.post_form(client, f"/users/{editor.id}/edit", {
        "role": "editor", "community_id": str(c.id), "display_name": "", "active": "y",
        "may_broadcast": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    db.expire_all()
    assert db.get(type(editor), editor.id).may_broadcast
    assert "可发送紧急广播" in client.get("/users/").get_data(as_text=True)
