"""A new editor writes a three-paragraph notice (~200 characters) for all of 东和, whose
fleet includes 128x64 single-colour panels: it saves, the small panels page it at a
legible size with the title on every page, and the form explains its fields. A notice
too long for the small panels offers to leave them out, naming how many screens."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.live import DEMO_PASSWORD

# SQLite only (tests/conftest.py, one_database): how a notice is fitted and paged and what
# the form explains (Pillow and scripts); the notice views run on PostgreSQL in
# tests/server/web.
pytestmark = pytest.mark.one_database

BODY = ("因东和花园小区地下车库消防管道改造，定于本月18日（周六）上午9:00至下午5:00暂停地下车库"
        "供水，届时车库内洗车点及消防栓将暂停使用，请各位车主提前做好安排。\n"
        "施工期间，“东和花园”南门车行道将临时改为单向通行，请车辆减速慢行，服从现场工作人员"
        "指挥，电动车请勿停放在消防通道内。\n"
        "如有疑问，请联系东和社区党群服务中心或物业服务中心，咨询电话0755-12345678。"
        "感谢各位居民的理解与配合！")
SHOTS = os.environ.get("SIGNAGE_SHOTS")  # a folder: save screenshots there to look at


def _shot(page, name: str, **kw) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), **kw)


def _fill(page, title: str, body: str) -> None:
    page.goto("/content/notice/new")
    page.fill("#title", title)
    page.select_option("#topic_id", label="通知公告")
    page.fill("#notice_title", "车库停水及交通管制通知")
    page.fill("#notice_body", body)


def test_a_long_notice_for_all_of_donghe(page, server):
    assert len(BODY.replace("\n", "")) >= 190
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "donghe_editor", DEMO_PASSWORD)
    _fill(page, "车库停水通知", BODY)

    # The form says what each title is for and that the seconds are per page.
    expect(page.locator("#title-help")).to_contain_text("不会显示在屏幕上")
    expect(page.locator("#notice_title-help")).to_contain_text("(2/3)")
    expect(page.locator("label[for=duration_s]")).to_contain_text("每页")
    expect(page.locator("#duration_s-help")).to_contain_text("3 倍")
    box = page.locator("#notice_body").bounding_box()
    assert box is not None and box["height"] >= 150  # several lines, not two
    _shot(page, "notice_form.png", full_page=True)

    page.click("#preview")
    small = page.locator("#previews figure.variant", has_text="128×64")
    expect(small).to_have_count(1)
    expect(small.locator(".preview-error")).to_have_count(0)
    expect(small).to_contain_text("12 像素")
    screens = re.search(r"(\d+) 块屏幕", small.inner_text())
    assert screens and int(screens[1]) > 0
    pages = small.locator("img.led")
    n = pages.count()
    assert 2 <= n <= 10
    for i in range(n):
        img = pages.nth(i)
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [128, 64]
    expect(page.locator("#fit-choice")).to_have_count(0)  # every size can show it
    small.scroll_into_view_if_needed()
    _shot(page, "notice_128x64_preview.png")
    if SHOTS:  # each page scaled up 6x, pixel for pixel, to look at
        small.evaluate("""f => { for (const i of f.querySelectorAll('img.led')) {
            i.style.width = '768px'; i.style.imageRendering = 'pixelated'; } }""")
        small.screenshot(path=str(Path(SHOTS) / "notice_128x64_pages_6x.png"))

    page.click("#save")
    expect(page.locator("h1")).to_have_text("车库停水通知")
    sizes = page.locator("#notice-sizes")
    expect(sizes).to_contain_text(f"128×64 单色: {n} 页 × 10.0 秒 = {10 * n}.0 秒")

    # Twice as long: too much for 128x64 even at 12 px, so the editor may leave
    # those screens out; the rest of 东和 still gets it.
    _fill(page, "车库停水通知（详细）", "\n".join([BODY] * 2))
    page.click("#save")
    choice = page.locator("#fit-choice")
    expect(choice).to_contain_text(f"排除 {screens[1]} 块屏幕（128×64 单色）")
    expect(page.locator("#notice_body-error")).to_contain_text("128×64")
    _shot(page, "notice_fit_choice.png", full_page=True)
    page.check("#exclude-128x64-mono")
    page.click("#save")
    expect(page.locator("h1")).to_have_text("车库停水通知（详细）")
    expect(page.locator("#notice-sizes")).to_contain_text("128×64 单色: 编辑已排除")
    expect(page.locator("#notice-sizes")).to_contain_text("384×192")
    _shot(page, "notice_item_excluded.png", full_page=True)
