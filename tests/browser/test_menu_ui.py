"""The top menu at the widths staff use, in Chinese and English: every label stays on one
line (社区架/构 and 退/出 were broken one character per line at 1440 px) and every item,
"Log out" included, is inside the window."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.live import ADMIN_PASSWORD

# SQLite only (tests/conftest.py, one_database): the menu's layout in Chromium and the wall's
# wording; the pages' queries run on PostgreSQL in test_every_page.py.
pytestmark = pytest.mark.one_database

# Each menu item's text as laid out: its height against the element's own line height,
# and where it sits against the window.
MEASURE = """() => [...document.querySelectorAll('header nav a, header nav button')].map(el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const r = range.getBoundingClientRect();
  const style = getComputedStyle(el);
  const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
  return {text: el.textContent.trim(), height: r.height, line,
          left: r.left, right: r.right, top: r.top, bottom: r.bottom,
          width: window.innerWidth, scrollWidth: document.documentElement.scrollWidth};
})"""

# What an administrator's menu holds: the brand, 16 pages, account, language, log out.
ITEMS = {"zh_Hans_CN": ("社区LED信息发布", "社区架构", "终端监控墙", "排期", "版式", "时长要求", "发布回执", "预警",
                        "审计日志", "安全", "退出"),
         "en": ("Community LED signage", "Community tree", "Fleet wall", "Schedules", "Layouts",
                "Mandates", "Receipts",
                "Early warnings", "Audit log", "Security", "Log out")}


def test_menu_labels_stay_on_one_line_inside_the_window(page):
    # The first sign-in after the server starts can wait for the scheduler's first run.
    page.set_default_timeout(60_000)
    login(page, "admin", ADMIN_PASSWORD)
    for lang, expected in ITEMS.items():
        page.goto(f"/lang/{lang}")
        for width in (1280, 1440, 1920):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("/account/")
            items = page.evaluate(MEASURE)
            texts = [i["text"] for i in items]
            assert len(items) == 20, texts
            for name in expected:
                assert name in texts, (lang, width, name, texts)
            for i in items:
                where = (lang, width, i)
                assert i["height"] < 1.5 * i["line"], f"label wraps: {where}"
                assert i["left"] >= 0 and i["right"] <= i["width"], f"outside the window: {where}"
                assert i["top"] >= 0 and i["bottom"] <= 900, f"outside the window: {where}"
                assert i["scrollWidth"] <= i["width"], f"the page scrolls sideways: {where}"


def test_the_wall_counts_one_thing_and_offline_tiles_say_so(page):
    """The header's "N 台需要处理" and the panel under it count the same terminals, and a
    screen that is offline does not read "正在播放 … 可正常播放"."""
    page.set_default_timeout(60_000)
    login(page, "admin", ADMIN_PASSWORD)
    page.goto("/lang/zh_Hans_CN")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/wall/")
    tiles = page.locator("#wall .tile")
    expect(tiles).to_have_count(76)  # the demo street: none has a player yet
    expect(page.locator("#wall-summary")).to_contain_text("76 台需要处理")
    expect(page.locator("#problem-count")).to_have_text("76")
    page.click("#alerts-box summary")
    expect(page.locator("#problem-list li")).to_have_count(76)
    expect(page.locator("#problem-list li").first).to_contain_text("从未上报")
    offline = page.locator("#wall .tile[data-state=offline]")
    expect(offline).to_have_count(76)
    for text in ("正在播放", "可正常播放"):
        expect(offline.filter(has_text=text)).to_have_count(0)
    expect(offline.first.locator(".playing")).to_have_text("没有播放记录")
    # The brightness level is asked for, with its name, only with the brightness command.
    expect(page.locator("#command-level")).to_be_hidden()
    page.select_option("#command-kind", "brightness")
    expect(page.locator("#command-level-label")).to_be_visible()
    expect(page.locator("#command-level-label")).to_contain_text("亮度")
