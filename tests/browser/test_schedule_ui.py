"""An editor writes two notices, a reviewer approves them; the editor puts them in a playlist,
drags them into a new order, schedules it to a building, finds it in that building's week
calendar and opens the preview that shows the notice at the panel's true pixel size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.live import DEMO_PASSWORD

# SQLite only (tests/conftest.py, one_database): dragging, the calendar and the preview in
# the browser; the playlist and schedule views run on PostgreSQL in tests/server/web.
pytestmark = pytest.mark.one_database

NOTICES = ("电梯维保通知", "燃气检修通知")
BUILDING = "海滨花园2栋"  # a 384×192 lobby panel in the demo data


def _write_notice(page, title: str, body: str) -> None:
    page.goto("/content/notice/new")
    page.fill("#title", title)
    page.select_option("#topic_id", label="社区活动")
    page.fill("#notice_title", title)
    page.fill("#notice_body", body)
    page.click("#save")
    expect(page.locator("h1")).to_have_text(title)
    page.click("#submit")
    expect(page.locator("mark.status")).to_have_text("待审核")


def _titles(page):
    """The playlist's entries in order; an expect, which waits for playlist.js to build them
    (the page after a save shows its flash before the script has run)."""
    return expect(page.locator("#entries li.entry .title"))


def test_playlist_schedule_calendar_preview(page, browser, server):
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)
            if "Content Security Policy" in m.text else None)
    login(page, "donghe_editor", DEMO_PASSWORD)
    _write_notice(page, NOTICES[0], "本周三上午9点至11点电梯维保，请走楼梯。")
    _write_notice(page, NOTICES[1], "周四凌晨1点至5点停水，请提前储水。")

    reviewer = browser.new_context(base_url=server.url).new_page()
    login(reviewer, "donghe_reviewer", DEMO_PASSWORD)
    reviewer.goto("/review")
    for title in NOTICES:
        reviewer.locator("article.review-item").filter(has_text=title).locator(
            "button.approve").click()
        expect(reviewer.locator("article.review-item").filter(has_text=title)).to_have_count(0)
    reviewer.context.close()

    # A playlist with both notices, then the second dragged above the first.
    page.click("#nav-playlists")
    page.click("#new-playlist")
    page.fill("#name", "大堂日常")
    for title in NOTICES:
        value = page.locator("#add-select option", has_text=title).get_attribute("value")
        page.select_option("#add-select", value=value)
        page.click("#add-item")
    expect(page.locator("#entries li.entry")).to_have_count(2)
    _titles(page).to_have_text(list(NOTICES))
    expect(page.locator("#entries li.entry img.thumb").first).to_be_visible()
    entries = page.locator("#entries li.entry")
    entries.nth(1).drag_to(entries.nth(0), target_position={"x": 20, "y": 3})
    _titles(page).to_have_text([NOTICES[1], NOTICES[0]])
    page.locator("#entries li.entry").nth(0).locator("input[name=duration_s]").fill("15")
    page.click("#save-playlist")
    expect(page.locator(".flash.ok")).to_be_visible()
    _titles(page).to_have_text([NOTICES[1], NOTICES[0]])  # as stored
    expect(page.locator("#entries input[name=duration_s]").first).to_have_value("15")

    # Schedule it all day, every day, to one building.
    page.click("#schedule-playlist")
    page.fill("#name", "大堂日常播放")
    page.fill("#target-tree .target-search", BUILDING)
    page.check(f"#target-tree li.tnode-building[data-name='{BUILDING}'] > .trow input")
    for box in page.locator("#weekdays input[type=checkbox]").all():  # none ticked at first
        box.check()
    page.click("#save-schedule")
    row = page.locator("#schedules tr.schedule").filter(has_text="大堂日常播放")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("00:00-00:00")

    # Its building's week calendar shows it; the warnings name no gap.
    row.get_by_role("link", name=BUILDING).click()
    expect(page.locator("h1")).to_contain_text(BUILDING)
    blocks = page.locator("#calendar a.block.kind-normal")
    expect(blocks).to_have_count(7)
    expect(blocks.first).to_contain_text("大堂日常播放")
    expect(page.locator("#calendar a.block.kind-gap")).to_have_count(0)
    page.click("#next-week")
    expect(page.locator("#calendar a.block.kind-normal")).to_have_count(7)
    page.click("#prev-week")

    # The preview at the start of Monday: the first notice of the loop, at 384×192.
    page.locator("#calendar a.block.kind-normal").first.click()
    expect(page).to_have_url(re.compile(r"/terminals/\d+/preview\?at=\d{4}-\d\d-\d\dT00:00"))
    expect(page.locator("#schedule-name")).to_have_text("大堂日常播放")
    expect(page.locator("#item-title")).to_have_text(NOTICES[1])
    expect(page.locator("#terminal-size")).to_contain_text("384×192")
    led = page.locator("#screen img.led")
    expect(led).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#screen img.led');"
        " return i && i.complete && i.naturalWidth > 0; }")
    natural = led.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    shown = led.evaluate("i => [i.clientWidth, i.clientHeight]")
    assert natural == [384, 192] and shown == [384, 192]

    # 20 s later the second notice plays (the first one is on for 15 s).
    page.goto(page.url + ":20")
    expect(page.locator("#item-title")).to_have_text(NOTICES[0])
    expect(page.locator("#at")).to_have_value(re.compile(r"T00:00:20$"))
    assert blocked == []  # no inline script or style anywhere on the way
