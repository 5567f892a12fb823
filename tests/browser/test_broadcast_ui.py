"""The street admin sends a typhoon warning from the browser to three lobby screens (real
player processes), watches the progress reach 3 / 3 with a thumbnail from each screen, and
cancels it."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from tests import live
from tests.browser.conftest import login
from tests.e2e.conftest import Player, wait_for


def test_send_watch_progress_and_cancel(page, server, tmp_path):
    rows = list(csv.DictReader(io.StringIO(
        server.flask("terminals", "provision", "--community", "东和").stdout)))[:3]
    players = []
    for r in rows:
        cred = tmp_path / f"cred-{r['terminal_id']}"
        cred.write_text(r["credential"])
        players.append(Player(int(r["terminal_id"]), cred, tmp_path / f"data-{r['terminal_id']}",
                              server).start())
    try:
        for p in players:
            wait_for(lambda p=p: p.manifest_version() is not None, what="a first manifest")
        login(page, "admin", live.ADMIN_PASSWORD)
        page.click("#nav-broadcasts")
        expect(page.locator("h1")).to_have_text("紧急广播")
        page.select_option("#mode", "full")
        page.fill("#text", "台风“海燕”今晚登陆，请关好门窗，非必要不外出。")
        page.fill("#title", "台风红色预警")
        page.select_option("#terminals", value=[str(p.terminal_id) for p in players])
        page.fill("#reason", "市气象台发布台风红色预警")
        page.click("#send-broadcast")
        expect(page.locator("h1")).to_have_text("台风红色预警")
        expect(page.locator("#total")).to_have_text("3")
        expect(page.locator("#shown")).to_have_text("3", timeout=30_000)  # no reload
        expect(page.locator("#deliveries img.thumb")).to_have_count(3)
        page.click("#cancel-broadcast")
        expect(page.locator("#state")).to_have_text("已取消")
        page.goto("/broadcasts/")
        expect(page.locator("#broadcasts tbody tr").first).to_contain_text("3 / 3")
    finally:
        for p in players:
            p.process.kill()
            p.process.wait()
