"""An editor builds a layout from a preset (a main region and a 滚动字幕 band), types a ticker
line, adds a clock, previews it on every panel size of 东和 (true pixels, with the warnings
of the small module), saves it and schedules it to a building; the week calendar and the
"what plays" preview show the layout and its regions, and the typed line scrolls there only
once a reviewer approved it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.live import DEMO_PASSWORD

# SQLite only (tests/conftest.py, one_database): the layout editor's scripts and previews;
# the layout views and services run on PostgreSQL in tests/server (test_layout*).
pytestmark = pytest.mark.one_database

BUILDING = "海滨花园2栋"  # a 384×192 lobby panel in the demo data
LINE = "今晚八点停水检修，请提前储水。"

# The share of a region's pixels that are not black, read from the preview <img> itself.
LIT_SHARE_JS = """([sel, x, y, w, h]) => {
  const img = document.querySelector(sel);
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(x, y, w, h).data;
  let lit = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) lit++;
  return lit / (w * h);
}"""


def _loaded(page, selector: str) -> list[int]:
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete"
        " && i.naturalWidth > 0; }", arg=selector)
    return page.locator(selector).evaluate("i => [i.naturalWidth, i.naturalHeight]")


def _region(page, n: int):
    return page.locator("#regions tbody.region").nth(n)


def test_build_preview_save_and_schedule_a_layout(page, browser, server):
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "donghe_editor", DEMO_PASSWORD)
    page.click("#nav-layouts")
    page.click("#new-layout")

    # From the preset "main with a ticker at the bottom": name it, type a line, add a clock.
    page.click("#presets a[data-preset='1']")
    expect(page.locator("#regions tbody.region")).to_have_count(2)
    page.fill("#name", "东和标准")
    ticker = _region(page, 1)
    expect(ticker.locator("select[name$='-role']")).to_have_value("ticker")
    ticker.locator("input[name$='-new_line']").fill(LINE)
    ticker.locator("input[name$='-speed']").fill("5")
    page.click("#add-region")
    clock = _region(page, 2)
    clock.locator("select[name$='-role']").select_option("clock")
    expect(clock.locator("input[name$='-key']")).to_have_value("clock")
    for name, value in (("x", "288"), ("y", "0"), ("w", "96"), ("h", "24")):
        clock.locator(f"input[name$='-{name}']").fill(value)
    clock.locator("select[name$='-clock_format']").select_option("time")
    # The drawing and the percentages follow the typing, before anything is sent.
    expect(page.locator("#drawing g.box")).to_have_count(3)
    expect(page.locator("#drawing g.box.role-clock rect")).to_have_attribute("x", "288")
    expect(clock.locator(".pct[data-field='w']")).to_have_text("25%")

    # The preview: each panel size of 东和 at its exact pixels; the small module warns.
    page.click("#preview-layout")
    expect(page.locator("#previews figure.preview")).to_have_count(5)
    assert _loaded(page, "#preview-384x192 img.led") == [384, 192]
    assert _loaded(page, "#preview-128x64 img.led") == [128, 64]
    expect(page.locator("#preview-384x192 .no-warnings")).to_be_visible()
    expect(page.locator("#preview-128x64 li.fit-warning").first).to_have_text(
        "滚动字幕 在 128×64 上放大到 12 像素高，以便看清")
    expect(page.locator("#preview-128x64")).to_contain_text("单色")
    # The typed line is drawn in the ticker band (it goes to review first; the page says
    # screens show it only once approved), the clock in its corner.
    assert page.evaluate(LIT_SHARE_JS, ["#preview-384x192 img.led", 0, 160, 384, 32]) > 0.05
    assert page.evaluate(LIT_SHARE_JS, ["#preview-384x192 img.led", 288, 0, 96, 24]) > 0.02
    expect(ticker.locator("input[name$='-new_line']")).to_have_value(LINE)  # kept as typed

    page.click("#save-layout")
    expect(page.locator(".flash.ok")).to_contain_text("新字幕已提交审核")
    expect(page).to_have_url(re.compile(r"/layouts/\d+$"))
    line = page.locator("#regions tbody.region").nth(1).locator(".lines label").first
    expect(line).to_contain_text(LINE)
    expect(line.locator("mark.status")).to_have_text("待审核")
    expect(line.locator("input")).to_be_checked()

    # Scheduled to a building like a playlist: the layout picker, no kind.
    page.click("#schedule-layout")
    expect(page.locator("input[data-plays-choice='layout']")).to_be_checked()
    expect(page.locator("#kind")).to_be_hidden()
    expect(page.locator("#layout_id option:checked")).to_have_text("东和标准")
    page.fill("#name", "东和标准版式")
    page.fill("#target-tree .target-search", BUILDING)
    page.check(f"#target-tree li.tnode-building[data-name='{BUILDING}'] > .trow input")
    for box in page.locator("#weekdays input[type=checkbox]").all():
        box.check()
    page.click("#save-schedule")
    row = page.locator("#schedules tr.schedule").filter(has_text="东和标准版式")
    expect(row.locator("td.plays-layout")).to_contain_text("版式 东和标准")
    expect(row.locator("td.plays-layout")).to_contain_text("主画面；滚动字幕；时钟")

    # The week calendar: every day framed by the layout; what it shows on this panel.
    row.get_by_role("link", name=BUILDING).click()
    expect(page.locator("h1")).to_contain_text(BUILDING)
    blocks = page.locator("#calendar a.block[data-layout-id]")
    expect(blocks).to_have_count(7)
    expect(blocks.first).to_contain_text("版式 东和标准")
    expect(page.locator("#frames li.frame")).to_have_text(
        "东和标准版式: 版式 东和标准：主画面；滚动字幕；时钟（仅时间）")

    # What plays at a moment: the regions, and the whole panel composed; the pending line
    # is not on the screen.
    blocks.first.click()
    expect(page).to_have_url(re.compile(r"/terminals/\d+/preview\?at="))
    expect(page.locator("#layout .frame-text")).to_contain_text("版式 东和标准：主画面")
    expect(page.locator("#layout li[data-role='ticker']")).to_contain_text("没有已审核通过的字幕")
    assert _loaded(page, "#screen img.composed") == [384, 192]

    reviewer = browser.new_context(base_url=server.url).new_page()
    login(reviewer, "donghe_reviewer", DEMO_PASSWORD)
    reviewer.goto("/review")
    reviewer.locator("article.review-item").filter(has_text=LINE).locator(
        "button.approve").click()
    expect(reviewer.locator("article.review-item").filter(has_text=LINE)).to_have_count(0)
    reviewer.context.close()
    page.reload()
    expect(page.locator("#layout li[data-role='ticker']")).to_contain_text(LINE)
    assert page.evaluate(LIT_SHARE_JS, ["#screen img.composed", 0, 160, 384, 32]) > 0
    assert blocked == []  # no inline script or style anywhere on the way


def test_every_mistake_is_shown_at_once_by_its_region(page):
    login(page, "donghe_editor", DEMO_PASSWORD)
    page.goto("/layouts/")
    before = page.locator("#layouts tr.layout").count()
    page.goto("/layouts/new?preset=1")
    page.fill("#name", "")
    main = _region(page, 0)
    main.locator("input[name$='-key']").fill("Main!")
    main.locator("input[name$='-w']").fill("500")  # wider than the 384 canvas
    _region(page, 1).locator("select[name$='-role']").select_option("main")
    page.click("#save-layout")
    problems = page.locator("#form-problems li")
    expect(problems).to_have_count(4)
    expect(page.locator("#name-error")).to_be_visible()
    expect(main.locator(".region-error")).to_have_count(2)
    expect(main.locator("input[name$='-key']")).to_have_attribute("aria-invalid", "true")
    expect(main.locator("input[name$='-w']")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#regions-error")).to_contain_text("只能有一个主画面")
    expect(page.locator("#previews")).to_contain_text("改正上面的错误")
    page.goto("/layouts/")  # nothing was saved
    expect(page.locator("#layouts tr.layout")).to_have_count(before)
