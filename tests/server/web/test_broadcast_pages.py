"""Broadcast pages and API: send, progress, cancel, templates; bad input refused."""

from __future__ import annotations

from server.db import db
from server.models import Broadcast, Role
from server.services import fleet
from tests import helpers as h


def _fleet():
    c = h.community("东和")
    ts = [h.terminal(h.building(c)) for _ in range(2)]
    for t in ts:
        fleet.issue_credential(db, t)
    db.commit()
    return c, ts


def test_send_watch_and_cancel_from_the_pages(client):
    c, ts = _fleet()
    h.login(client, h.user(Role.street_admin))
    page = client.get("/broadcasts/")
    assert page.status_code == 200 and "紧急广播" in page.get_data(as_text=True)
    r = h.post_form(client, "/broadcasts/", {
        "mode": "full", "text": "明天 9:00-17:00 停水", "title": "停水通知",
        "template_id": "0", "content_id": "0", "communities": str(c.id),
        "reason": "水务公司通知"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    bc = db.query(Broadcast).one()
    show = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "停水通知" in show and 'id="cancel-broadcast"' in show
    p = client.get(f"/broadcasts/{bc.id}/progress.json").get_json()
    assert (p["shown"], p["total"], p["state"]) == (0, 2, "active")
    assert p["terminals"][0]["problem"] == "offline"
    page = client.get(f"/broadcasts/{bc.id}").get_data(as_text=True)
    r = client.post(f"/broadcasts/{bc.id}/cancel", data={"csrf_token": h.csrf_token(page)})
    assert r.status_code == 302
    assert client.get(f"/broadcasts/{bc.id}/progress.json").get_json()["state"] == "cancelled"


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


def test_editors_cannot_send(client):
    c, _ts = _fleet()
    h.login(client, h.user(Role.editor, c))
    r = h.post_form(client, "/broadcasts/", {"mode": "full", "text": "x", "template_id": "0",
                                             "content_id": "0", "communities": str(c.id),
                                             "reason": "试试"})
    assert r.status_code == 403 and db.query(Broadcast).count() == 0


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
