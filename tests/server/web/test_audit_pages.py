"""The audit log reads as sentences in Chinese: actions, objects, fields and values are words,
ids are names; no enum names or Python lists ("cancel", "[['terminal', 69, None]]")."""

from __future__ import annotations

import re

from server.db import db
from server.models import Role
from server.services import audit, fleet
from server.services.access import Actor
from tests import helpers


def _cells(html: str) -> str:
    table = html[html.index('id="audit"'):]
    return re.sub(r"<[^>]+>", " ", table)


def test_the_audit_log_speaks_chinese(client):
    donghe = helpers.community("东和")
    building = helpers.building(donghe, "东和花园1栋")
    t = helpers.terminal(building)
    admin = helpers.user(Role.street_admin)
    a = Actor.of(admin)
    fleet.create_commands(db, a, [t.id], "screenshot")
    fleet.create_commands(db, a, [t.id], "brightness", {"level": 60})
    fleet.provision(db, a, [t.id])
    # A broadcast and its cancellation, recorded as services/broadcasts.py records them.
    audit.record(db, a, "broadcast", "broadcast", 7, label="台风预警", community_id=donghe.id,
                 after={"mode": "full", "content_id": None, "reason": "台风",
                        "targets": [["terminal", t.id, None], ["building", building.id, None],
                                    ["tag", None, "大堂"]],
                        "ends_at": None, "terminals": 1})
    audit.record(db, a, "cancel", "broadcast", 7, label="台风预警", community_id=donghe.id)
    audit.record(db, Actor.system(admin.street_id), "create", "user", admin.id, label="admin")
    db.commit()

    helpers.login(client, admin)
    text = _cells(client.get("/audit/").get_data(as_text=True))
    for phrase in ("发送指令", "截屏", "亮度 60%", "签发终端凭据", "发送紧急广播", "紧急广播",
                   f"终端 {t.name}", "楼栋 东和花园1栋", "带“大堂”标签的终端", "全屏", "屏幕数",
                   "系统（命令行）"):
        assert phrase in text, phrase
    for raw in ("cancel", "broadcast", "command", "provision", "screenshot", "[[", "None",
                "targets", "'terminal'", "terminals", "mode", "full", "cli"):
        assert raw not in text, raw

    # The filters offer the same words.
    html = client.get("/audit/?action=cancel").get_data(as_text=True)
    assert '<option value="cancel" selected>' in html
    assert "台风预警" in _cells(html) and "发送紧急广播" not in _cells(html)


def test_a_terminal_page_lists_commands_in_words(client):
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe, "1栋"))
    admin = helpers.user(Role.street_admin)
    fleet.create_commands(db, Actor.of(admin), [t.id], "screen", {"on": False})
    fleet.create_commands(db, Actor.of(admin), [t.id], "screenshot")
    db.commit()
    helpers.login(client, admin)
    html = client.get(f"/terminals/{t.id}").get_data(as_text=True)
    commands = _commands(html)
    assert "关屏" in commands and "截屏" in commands
    assert "screenshot" not in commands and '"on"' not in commands and "false" not in commands


def _commands(html: str) -> str:
    table = html[html.index('id="commands"'):]
    return re.sub(r"<[^>]+>", " ", table[:table.index("</table>")])


def test_a_missing_page_says_so_in_chinese(client):
    helpers.login(client, helpers.user(Role.street_admin))
    r = client.get("/no/such/page")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and "这个地址没有内容" in html
    assert "The requested URL" not in html


def test_the_filter_offers_what_the_warning_services_record(client):
    admin = helpers.user(Role.street_admin)
    a = Actor.of(admin)
    audit.record(db, a, "refuse", "warning_intake", 3, label="深圳市气象台")
    audit.record(db, a, "create", "user", admin.id, label="admin")
    db.commit()
    helpers.login(client, admin)
    html = client.get("/audit/?object_type=warning_intake").get_data(as_text=True)
    assert '<option value="warning_intake" selected>' in html
    assert '<option value="refuse" >' in html
    cells = _cells(html)
    assert "深圳市气象台" in cells and "admin" not in cells
