"""The fleet wall in Chromium against the real gunicorn server and real headless players:
tiles follow players going offline and coming back, and a group screenshot command fills
the thumbnails, all without a page reload."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.e2e.conftest import Player
from tests.live import ADMIN_PASSWORD


@pytest.fixture(scope="module")
def players(server, tmp_path_factory):
    out = server.flask("terminals", "provision", "--community", "东和")
    rows = sorted(csv.DictReader(io.StringIO(out.stdout)), key=lambda r: int(r["terminal_id"]))
    made = []
    for r in rows[:2]:
        tid = int(r["terminal_id"])
        folder = tmp_path_factory.mktemp(f"player-{tid}")
        cred = folder / "credential"
        cred.write_text(r["credential"])
        made.append(Player(tid, cred, folder / "data", server).start())
    yield made
    for p in made:
        if p.process and p.process.poll() is None:
            p.process.kill()
            p.process.wait()


def tile(page, p: Player):
    return page.locator(f"#tile-{p.terminal_id}")


def test_the_wall_follows_players_and_group_screenshots(page, players):
    a, b = players
    login(page, "admin", ADMIN_PASSWORD)
    page.click("#nav-wall")
    expect(page.locator("h1")).to_have_text("终端监控墙")
    expect(page.locator("#wall-link")).to_have_attribute("data-state", "live")
    page.evaluate("window.notReloaded = true")
    for p in players:
        expect(tile(page, p).locator("mark.state")).to_have_text("在线", timeout=60_000)

    # Filters work on the page itself: only the two online players remain.
    page.select_option("#filter-state", "online")
    expect(page.locator(".tile:visible")).to_have_count(2)
    page.select_option("#filter-state", "")
    expect(page.locator(".tile:visible")).to_have_count(76)
    building, community = tile(page, a).locator(".where").inner_text().split(" · ")
    page.select_option("#filter-community", label=community)
    page.select_option("#filter-building", label=building)  # its options follow the community
    expect(page.locator(".tile:visible")).to_have_count(1)
    expect(tile(page, a)).to_be_visible()
    page.select_option("#filter-building", label="全部楼栋")
    page.select_option("#filter-community", label="全部社区")
    expect(page.locator(".tile:visible")).to_have_count(76)

    a.kill()  # kill -9: its tile turns offline by itself
    expect(tile(page, a).locator("mark.state")).to_have_text("离线", timeout=60_000)
    expect(tile(page, b).locator("mark.state")).to_have_text("在线")
    a.start()
    expect(tile(page, a).locator("mark.state")).to_have_text("在线", timeout=60_000)

    # Screenshots of both, sent as one group command.
    for p in players:
        expect(tile(page, p).locator("img.shot")).to_have_count(0)
        tile(page, p).locator("input.pick").check()
    expect(page.locator("#selected-count")).to_have_text("已选 2 台")
    page.select_option("#command-kind", "screenshot")
    page.click("#send-command")
    expect(page.locator("#command-result")).to_have_text("已发送给 2 台终端。")
    for p in players:
        shot = tile(page, p).locator("img.shot")
        expect(shot).to_have_count(1, timeout=30_000)
        shot.scroll_into_view_if_needed()  # thumbnails load lazily (1,000 tiles)
        expect(shot).to_have_js_property("complete", True)
        assert shot.evaluate("img => img.naturalWidth") > 0  # a real PNG came back
    assert page.evaluate("window.notReloaded") is True
