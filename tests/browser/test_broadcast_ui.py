"""The street admin sends a typhoon warning from the browser to three lobby screens (real
player processes), watches the progress reach 3 / 3 with a thumbnail from each screen, and
cancels it; and the confirmation before sending to the whole street: a true-pixel preview
per screen size, the number of screens, nothing sent on "back", cancel asks too."""

from __future__ import annotations

import csv
import io
import os
import re

from playwright.sync_api import expect

from tests import live
from tests.browser.conftest import login
from tests.e2e.conftest import Player, wait_for

CANCELLED_3 = re.compile(r"已于 \d\d:\d\d 取消 · 曾送达 3 块屏幕")
SHOTS = os.environ.get("SIGNAGE_SHOTS")  # a directory: save the screenshots there to look at


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
        for p in players:  # ticked in the target tree; their buildings are folded
            page.locator(f"#target-tree-terminal-{p.terminal_id}").dispatch_event("click")
        expect(page.locator("#target-tree .target-count")).to_have_text("已选 3 台终端")
        page.fill("#reason", "市气象台发布台风红色预警")
        page.click("#send-broadcast")
        expect(page.locator("#confirm-count")).to_contain_text("将立即发送到 3 块屏幕")
        page.click("#confirm-send")
        expect(page.locator("h1")).to_have_text("台风红色预警")
        expect(page.locator("#total")).to_have_text("3")
        expect(page.locator("#shown")).to_have_text("3", timeout=30_000)  # no reload
        expect(page.locator("#deliveries img.thumb")).to_have_count(3)
        page.click("#cancel-broadcast")
        page.click("#confirm-cancel")
        expect(page.locator("#state-line")).to_have_text(CANCELLED_3)
        page.goto("/broadcasts/")
        expect(page.locator("#broadcasts tbody tr").first).to_contain_text("曾送达 3 块屏幕")
    finally:
        for p in players:
            p.process.kill()
            p.process.wait()


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def test_the_street_wide_send_asks_first_and_cancel_asks_too(page, server):
    total = len(list(csv.DictReader(io.StringIO(
        server.flask("terminals", "provision", "--community", "东和").stdout))))
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "admin", live.ADMIN_PASSWORD)
    page.goto("/broadcasts/")
    sent_before = page.locator("#broadcasts tbody tr a").count()
    page.fill("#text", "今晚8点至10点东和片区停电检修，请提前做好准备。")
    page.fill("#title", "停电通知")
    page.check("#street")
    page.fill("#reason", "供电局检修通知")
    page.press("#reason", "Enter")  # a keyboard submit reaches the question, not the screens
    expect(page.locator("h1")).to_have_text("确认发送紧急广播")
    expect(page.locator("#confirm-count")).to_contain_text(f"将立即发送到 {total} 块屏幕")
    expect(page.locator("#confirm-communities")).to_contain_text("东和")
    expect(page.locator("#confirm-send")).to_have_text(f"立即发送到 {total} 块屏幕")
    figures = page.locator(".size-preview")
    assert figures.count() >= 2  # the demo's lobby screens come in several sizes
    counted = 0
    for i in range(figures.count()):
        fig = figures.nth(i)
        w, h = (int(x) for x in fig.get_attribute("data-size").split("-")[0].split("x"))
        img = fig.locator("img.led")
        expect(img).to_be_visible()
        natural, shown = img.evaluate("i => [[i.naturalWidth, i.naturalHeight], "
                                      "[i.clientHeight]]")  # inside the frame
        assert natural[1] == h and shown[0] == h  # true pixels: one image pixel, one LED
        assert natural[0] == w or "滚动" in fig.inner_text()  # a strip is wider than its screen
        counted += int(re.search(r"(\d+) 块屏幕", fig.locator(".size-count").inner_text())[1])
    assert counted == total
    _shot(page, "broadcast-confirm.png")

    page.click("#back-to-form")  # dismissed: nothing sent, the form as typed
    expect(page.locator("#text")).to_have_value("今晚8点至10点东和片区停电检修，请提前做好准备。")
    assert page.locator("#broadcasts tbody tr a").count() == sent_before

    page.click("#send-broadcast")
    page.click("#confirm-send")
    expect(page.locator("h1")).to_have_text("停电通知")
    expect(page.locator("#total")).to_have_text(str(total))

    page.click("#cancel-broadcast")  # asks first
    expect(page.locator("#cancel-count")).to_contain_text(f"{total} 块屏幕")
    _shot(page, "broadcast-cancel-confirm.png")
    page.click("#keep-broadcast")
    expect(page.locator("#state")).to_have_text("进行中")
    page.click("#cancel-broadcast")
    page.click("#confirm-cancel")
    expect(page.locator("#state-line")).to_have_text(
        re.compile(r"已于 \d\d:\d\d 取消 · 曾送达 \d+ 块屏幕"))
    expect(page.locator("#cancel-broadcast")).to_have_count(0)
    _shot(page, "broadcast-cancelled.png")
    page.goto("/broadcasts/")
    row = page.locator("#broadcasts tbody tr").first
    expect(row).to_contain_text("停电通知")
    expect(row).to_contain_text(re.compile(r"已于 \d\d:\d\d 取消"))
    _shot(page, "broadcast-list.png")
