"""The target tree (street › community › building › terminal) in the three forms that pick
screens: a schedule is aimed at one building found by searching "1栋" and lands on exactly
that building's terminals; the broadcast form sends what is ticked under the field names the
server parses; the report filter narrows the report to one building. Names are in natural
order (1栋, 2栋 … 10栋) throughout."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server import create_app
from server.db import db
from server.models import Building, Community, Role, Schedule, Terminal
from server.services import changes
from server.services import schedules as schedules_svc
from server.services.access import Actor
from server.services.naming import name_key
from tests import helpers
from tests.browser.conftest import login
from tests.live import ADMIN_PASSWORD

# SQLite only (tests/conftest.py, one_database): the tree widget's search, ticks and field
# names in the browser; the tree's scoping and natural order run on PostgreSQL in
# tests/server/web/test_target_tree.py.
pytestmark = pytest.mark.one_database

SHOTS = os.environ.get("SIGNAGE_SHOTS")  # a directory: save the screenshots there to look at
BUILDING = "海滨花园1栋"
PLAYLIST = "大堂轮播"


@pytest.fixture(scope="module")
def live_db(server, database_url, tmp_path_factory):
    """The live server's database, with a playlist to schedule (the demo seed has none)."""
    app = create_app({"SIGNAGE_DATABASE_URL": database_url,
                      "SIGNAGE_DATA_DIR": str(tmp_path_factory.mktemp("writer")),
                      "SIGNAGE_SECRET_KEY": "x"})
    with app.app_context():
        donghe = db.scalar(select(Community).where(Community.name == "东和"))
        item = helpers.approved_image(donghe, "文明养犬", "社区活动")
        editor = Actor.of(helpers.user(Role.editor, donghe))
        schedules_svc.create_playlist(db, editor, PLAYLIST, [schedules_svc.EntryIn(item.id)])
        db.commit()
        yield app
        db.remove()
    app.extensions["signage_engine"].dispose()


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=False)


def _building_id(app, name: str) -> int:
    with app.app_context():
        try:
            return db.scalar(select(Building.id).where(Building.name == name))
        finally:
            db.remove()


@pytest.fixture
def errors(page):
    """Script errors and failed loads on the page (the browser's own favicon request
    aside): none may happen."""
    seen: list[str] = []
    page.on("pageerror", lambda e: seen.append(str(e)))
    page.on("console", lambda m: seen.append(f"{m.text} {m.location['url']}")
            if m.type == "error" and not m.location["url"].endswith("/favicon.ico") else None)
    yield seen
    assert seen == []


def _row(page, tree: str, kind: str, name: str):
    return page.locator(f"#{tree} li.tnode-{kind}[data-name='{name}'] > .trow input")


def test_schedule_aimed_at_a_building_found_by_search(page, live_db, errors):
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "admin", ADMIN_PASSWORD)
    page.goto("/schedules/new")
    tree = page.locator("#target-tree")
    count = tree.locator(".target-count")
    expect(count).to_have_text("已选 0 台终端")

    # Buildings are in natural order: 海滨花园1栋, 2栋 … 12栋 (not 1栋, 10栋, 11栋, 12栋, 2栋).
    names = tree.locator("li.tnode-building").evaluate_all(
        "els => els.map(e => e.dataset.name)")
    assert [n for n in names if n.startswith("海滨花园")] == [f"海滨花园{i}栋" for i in range(1, 13)]
    assert [n for n in names if n.startswith("东和花园")] == [f"东和花园{i}栋" for i in range(1, 11)]
    communities = tree.locator("li.tnode-community").evaluate_all(
        "els => els.map(e => e.dataset.name)")
    assert communities == sorted(communities, key=name_key) == ["东和", "桥东", "沙头角", "田心"]

    tree.locator(".target-search").fill("1栋")
    expect(_row(page, "target-tree", "building", BUILDING)).to_be_visible()
    expect(page.locator("#target-tree li.tnode-building[data-name='海滨花园2栋']")).to_be_hidden()
    expect(page.locator("#target-tree li.tnode-building[data-name='海滨花园10栋']")).to_be_hidden()
    _row(page, "target-tree", "building", BUILDING).check()
    expect(count).to_have_text("已选 1 台终端")
    # Its terminal is ticked with it, its community shows "partly".
    expect(_row(page, "target-tree", "terminal", f"{BUILDING}-LED")).to_be_checked()
    assert _row(page, "target-tree", "community", "东和").evaluate("e => e.indeterminate")
    _shot(page, "target-tree-schedule")

    page.fill("#name", "一栋大堂轮播")
    page.select_option("#playlist_id", label=PLAYLIST)
    for box in page.locator("#weekdays input[type=checkbox]").all():
        box.check()
    page.click("#save-schedule")
    page.wait_for_url(re.compile(r".*/schedules/$"))

    with live_db.app_context():
        try:
            sc = db.scalar(select(Schedule).where(Schedule.name == "一栋大堂轮播"))
            b = db.scalar(select(Building).where(Building.name == BUILDING))
            assert [(t.kind.value, t.ref_id) for t in sc.targets] == [("building", b.id)]
            mine = set(db.scalars(select(Terminal.id).where(Terminal.building_id == b.id)))
            assert mine and changes.terminals_of_schedules(db, [sc.id]) == mine
        finally:
            db.remove()

    # Editing it shows the building ticked; unticking its one terminal leaves nothing.
    page.goto("/schedules/")
    page.locator("#schedules tr.schedule").filter(has_text="一栋大堂轮播").locator(
        "a[href$='/edit']").first.click()
    expect(_row(page, "target-tree", "building", BUILDING)).to_be_checked()
    expect(count).to_have_text("已选 1 台终端")


def test_broadcast_form_sends_the_ticked_places(page, live_db, errors):
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "admin", ADMIN_PASSWORD)
    page.goto("/broadcasts/")
    tree = page.locator("#target-tree")
    tree.locator(".target-search").fill("东和花园")
    _row(page, "target-tree", "building", "东和花园2栋").check()
    _row(page, "target-tree", "building", "东和花园10栋").check()
    expect(tree.locator(".target-count")).to_have_text("已选 2 台终端")
    _shot(page, "target-tree-broadcast")
    sent = page.evaluate("""() => {
        const f = new FormData(document.querySelector('#broadcast-form'));
        return {buildings: f.getAll('buildings'), terminals: f.getAll('terminals'),
                communities: f.getAll('communities'), street: f.getAll('street')};
    }""")
    ids = sorted(str(_building_id(live_db, n)) for n in ("东和花园2栋", "东和花园10栋"))
    assert sorted(sent["buildings"]) == ids
    assert sent["terminals"] == sent["communities"] == sent["street"] == []
    # The whole street (a street admin's right) stands for everything in it.
    page.check("#street")
    expect(tree.locator(".target-count")).to_have_text("已选 76 台终端")
    sent = page.evaluate("() => new FormData(document.querySelector('#broadcast-form'))"
                         ".getAll('street').concat(new FormData(document.querySelector("
                         "'#broadcast-form')).getAll('buildings'))")
    assert sent == ["y"]


def test_report_filtered_to_one_building(page, live_db, errors):
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "admin", ADMIN_PASSWORD)
    page.click("#nav-reports")
    tree = page.locator("#report-targets")
    expect(tree.locator(".target-count")).to_have_text("全部 76 台终端")
    tree.locator(".target-search").fill(BUILDING)
    _row(page, "report-targets", "building", BUILDING).check()
    expect(tree.locator(".target-count")).to_have_text("已选 1 台终端")
    page.click("#run-report")
    page.wait_for_url(re.compile(rf".*building_id={_building_id(live_db, BUILDING)}\b.*"))
    expect(page.locator("#terminal-table tbody tr")).to_have_count(1)
    expect(page.locator("#terminal-table")).to_contain_text(f"{BUILDING}-LED")
    expect(_row(page, "report-targets", "building", BUILDING)).to_be_checked()
    _shot(page, "target-tree-report")
