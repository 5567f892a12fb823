"""The fleet wall page, its JSON, screenshots, group commands (page and API), and the
per-terminal page's recent plays."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

from server.db import db
from server.models import Command, PlayRecord, Role
from tests import helpers


def wall_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="wall-data">(.*?)</script>', html, re.S)
    assert m, "the wall carries its tiles as JSON"
    return json.loads(m.group(1))


def setup_street():
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    d = helpers.terminal(helpers.building(donghe, "1栋"))
    t = helpers.terminal(helpers.building(tianxin, "2栋"))
    return donghe, tianxin, d, t


def test_the_wall_needs_a_login(client):
    assert client.get("/wall/").status_code == 302
    assert client.get("/wall/tiles").status_code == 302


def test_the_wall_shows_the_users_terminals_in_chinese(client):
    donghe, _tianxin, d, _t = setup_street()
    helpers.login(client, helpers.user(Role.editor, donghe))
    html = client.get("/wall/").get_data(as_text=True)
    assert 'id="nav-wall"' in html and "终端监控墙" in html
    data = wall_data(html)
    assert [t["id"] for t in data["tiles"]] == [d.id]
    assert data["config"]["namespace"] == "/staff" and data["config"]["event"] == "terminal"
    assert data["labels"]["offline"] == "离线"
    assert data["can_command"] is False  # editors watch, administrators command
    assert [t["id"] for t in client.get("/wall/tiles").json] == [d.id]
    assert "socket.io.min.js" in html and "cdn" not in html.lower()


def test_group_commands_from_the_wall(client):
    donghe, _tianxin, d, t = setup_street()
    d2 = helpers.terminal(d.building)
    helpers.login(client, helpers.user(Role.community_admin, donghe))
    csrf = wall_data(client.get("/wall/").get_data(as_text=True))["csrf"]
    headers = {"X-CSRFToken": csrf}
    r = client.post("/wall/commands", json={"terminal_ids": [d.id, d2.id], "kind": "screen",
                                            "args": {"on": False}}, headers=headers)
    assert r.status_code == 201 and r.json["sent"] == 2
    assert {(c.terminal_id, c.kind, c.args["on"]) for c in db.query(Command)} == {
        (d.id, "screen", False), (d2.id, "screen", False)}
    r = client.post("/wall/commands", json={"terminal_ids": [d.id], "kind": "brightness",
                                            "args": {"level": 300}}, headers=headers)
    assert r.status_code == 422 and r.json["error"]["message"] == "亮度为 0 到 100 的百分比。"
    r = client.post("/wall/commands", json={"terminal_ids": [d.id, t.id], "kind": "reload"},
                    headers=headers)
    assert r.status_code == 404
    r = client.post("/wall/commands", json={"terminal_ids": [d.id], "kind": "reload"})
    assert r.status_code == 400  # no CSRF token
    assert db.query(Command).count() == 2


def test_group_commands_through_the_api(client):
    donghe, tianxin, d, t = setup_street()
    admin = helpers.token(helpers.user(Role.street_admin))
    r = client.post("/api/v1/terminals/commands", json={"terminal_ids": [d.id, t.id],
                                                        "kind": "screenshot"}, headers=admin)
    assert r.status_code == 201
    assert sorted(c["terminal_id"] for c in r.json) == sorted([d.id, t.id])
    editor = helpers.token(helpers.user(Role.editor, donghe))
    r = client.post("/api/v1/terminals/commands", json={"terminal_ids": [d.id],
                                                        "kind": "reload"}, headers=editor)
    assert r.status_code == 403
    other = helpers.token(helpers.user(Role.community_admin, tianxin))
    r = client.post("/api/v1/terminals/commands", json={"terminal_ids": [d.id],
                                                        "kind": "reload"}, headers=other)
    assert r.status_code == 404
    r = client.post("/api/v1/terminals/commands", json={"terminal_ids": "all",
                                                        "kind": "reload"}, headers=admin)
    assert r.status_code == 422
    assert db.query(Command).count() == 2


def test_screenshots_and_recent_plays_on_the_terminal_page(client):
    donghe, tianxin, d, _t = setup_street()
    item = helpers.approved_image(donghe, title="文明养犬")
    cmd = Command(terminal_id=d.id, kind="screenshot", args={}, ok=True,
                  answered_at=datetime.now(UTC),
                  result={"png_base64": base64.b64encode(b"\x89PNG shot").decode()})
    start = datetime.now(UTC) - timedelta(minutes=5)
    db.add_all([cmd, PlayRecord(id="00000000-0000-4000-8000-000000000001", terminal_id=d.id,
                                content_id=item.id, sha256="b" * 64, start=start,
                                end=start + timedelta(seconds=12), seconds=12.0)])
    db.commit()
    helpers.login(client, helpers.user(Role.editor, donghe))
    r = client.get(f"/wall/screenshots/{d.id}/{cmd.id}.png")
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data == b"\x89PNG shot"
    page = client.get(f"/terminals/{d.id}").get_data(as_text=True)
    assert f"/wall/screenshots/{d.id}/{cmd.id}.png" in page
    plays = page.split('id="plays"')[1].split("</table>")[0]
    assert "文明养犬" in plays and "12.0" in plays and "完整播放" in plays
    assert 'id="status-history"' in page
    client.post("/logout", data={"csrf_token": helpers.csrf_token(page)})
    helpers.login(client, helpers.user(Role.editor, tianxin))
    assert client.get(f"/wall/screenshots/{d.id}/{cmd.id}.png").status_code == 404


def test_the_wall_shows_a_broken_message_queue(client, monkeypatch):
    """A node that cannot publish (Redis away) and a peer that hears nothing are named on
    the wall; the watch's own logic decides (server.hub.queue.QueueWatch)."""
    from server.hub import queue

    now = [1000.0]
    w = queue.QueueWatch("web-1", 5.0, clock=lambda: now[0])
    w.start()
    w.sent(None, "Connection refused")
    w.heard({"node": "web-2", "problem": "node web-2 has not heard its own heartbeat"}, own=False)
    monkeypatch.setattr(queue, "watch", lambda: w)
    helpers.login(client, helpers.user(Role.street_admin))
    page = client.get("/wall/").get_data(as_text=True)
    assert 'id="queue-problem"' in page
    assert "web-1: node web-1 cannot publish" in page and "web-2: node web-2 has not heard" in page
    monkeypatch.setattr(queue, "watch", lambda: None)  # one node, no queue: nothing to show
    assert 'id="queue-problem"' not in client.get("/wall/").get_data(as_text=True)
