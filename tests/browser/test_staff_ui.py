"""Log in, switch language, edit the community tree, meet a permission refusal, and watch
a publish receipt fill in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server import create_app
from server.db import db, utcnow
from server.models import Building, Terminal, User
from server.services import receipts, schedules
from server.services.access import Actor
from tests.browser.conftest import login
from tests.live import ADMIN_PASSWORD, DEMO_PASSWORD

# SQLite only (tests/conftest.py, one_database): logging in, the language switch and the tree
# forms as a browser drives them; the same views run on PostgreSQL in tests/server/web.
pytestmark = pytest.mark.one_database


def test_admin_sees_the_demo_street_in_chinese(page):
    login(page, "admin", ADMIN_PASSWORD)
    expect(page.locator("h1")).to_have_text("沙头角街道")
    expect(page.locator("#tree-summary")).to_contain_text("4 个社区，76 个楼栋，76 台终端")
    expect(page.get_by_role("link", name="社区架构")).to_be_visible()


def test_wrong_password_gets_the_generic_message(page):
    page.goto("/login")
    page.fill("#username", "admin")
    page.fill("#password", "wrong password")
    page.click("#login-submit")
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")


def test_switch_language_and_back(page):
    login(page, "admin", ADMIN_PASSWORD)
    page.click("#lang-en")
    expect(page.get_by_role("link", name="Community tree")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("#lang-zh_Hans_CN")
    expect(page.get_by_role("link", name="社区架构")).to_be_visible()


def test_community_admin_creates_a_building_and_a_terminal(page):
    login(page, "donghe_admin", DEMO_PASSWORD)
    page.goto("/buildings/new")
    page.fill("#name", "东和社区党群服务中心")
    page.fill("#address", "深圳市盐田区东和路1号")
    page.click("#save")
    expect(page.locator("h1")).to_have_text("东和社区党群服务中心")
    page.click("#new-terminal")
    page.fill("#name", "服务中心门口条屏")
    page.fill("#location", "大门上方")
    page.fill("#width", "1920")
    page.fill("#height", "320")
    page.fill("#tags", "大门, 户外")
    page.click("#save")
    row = page.locator("#terminals tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("服务中心门口条屏")
    expect(row).to_contain_text("1920×320")
    # The audit log shows both changes.
    page.goto("/audit/")
    expect(page.locator("#audit")).to_contain_text("东和社区党群服务中心")
    expect(page.locator("#audit")).to_contain_text("服务中心门口条屏")


def test_editor_of_another_community_is_refused(page, server):
    # A building of 东和, seen by an editor of 田心.
    login(page, "admin", ADMIN_PASSWORD)
    donghe = page.locator("section.community", has=page.locator("h2", has_text="东和"))
    donghe.get_by_role("link", name="海滨花园1栋", exact=True).click()
    building_url = page.url
    assert re.search(r"/buildings/\d+$", building_url)
    page.context.clear_cookies()

    login(page, "tianxin_editor", DEMO_PASSWORD)
    expect(page.locator("#tree-summary")).to_contain_text("0 个楼栋")
    response = page.goto(building_url)
    assert response.status == 404
    expect(page.locator("#error-message")).to_contain_text("找不到该楼栋")
    # The new-building form is refused before it is filled in: no form to fill, the
    # role's refusal in Chinese (the save itself refuses the same way, tree.create_building).
    response = page.goto("/buildings/new")
    assert response.status == 403
    expect(page.locator("#error-message")).to_have_text("您的角色无权执行此操作。")
    expect(page.locator("#name")).to_have_count(0)


def test_a_receipt_fills_in_without_a_reload(page, server, database_url, tmp_path):
    """A screen plan for one building: its receipt page counts the screen's acknowledgement
    and readiness as the hub records them (receipts.statuses), and says when it is done."""
    app = create_app({"SIGNAGE_DATABASE_URL": database_url, "SIGNAGE_DATA_DIR": str(tmp_path),
                      "SIGNAGE_SECRET_KEY": "x"})
    with app.app_context():
        admin = Actor.of(db.scalar(select(User).where(User.username == "admin")))
        building = db.scalar(select(Building).where(Building.name == "海滨花园2栋"))
        plan = schedules.create_screen_plan(
            db, admin, name="夜间调暗", screen_on=True, brightness=40,
            recurrence=schedules.Recurrence(windows=[("22:00", "06:00")]),
            targets=[schedules.TargetIn("building", building.id)],
            community_id=building.community_id)
        db.commit()
        receipt_id = receipts.latest_for(db, admin, "screen_plan", plan.id).id
        t = db.scalar(select(Terminal).where(Terminal.building_id == building.id))

        def status(ready: bool) -> None:
            receipts.statuses(db, [(t.id, t.manifest_version, ready, utcnow())])
            db.commit()

        login(page, "admin", ADMIN_PASSWORD)
        page.goto(f"/receipts/{receipt_id}")
        acked = page.locator("#stage-acknowledged .receipt-x")
        expect(acked).to_have_text("0")
        expect(page.locator("#stage-played")).to_contain_text("不适用")
        expect(page.locator("#laggards")).to_contain_text("未确认")
        page.evaluate("window.notReloaded = true")
        status(ready=False)
        expect(acked).to_have_text("1")
        expect(page.locator("#laggards")).to_contain_text("已确认（")
        assert page.evaluate("window.notReloaded") is True
        status(ready=True)
        expect(page.locator("#receipt-state")).to_contain_text("全部屏幕已完成")
        expect(page.locator("#stage-ready .receipt-count")).to_have_text("1 / 1")
        db.remove()
    app.extensions["signage_engine"].dispose()
