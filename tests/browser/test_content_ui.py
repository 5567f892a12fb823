"""An editor uploads an image and a clip, writes a notice, previews it at every LED size
and submits; a reviewer approves one and rejects one; the audit log shows it all."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import media
from tests.browser.conftest import login
from tests.live import ADMIN_PASSWORD, DEMO_PASSWORD

# SQLite only (tests/conftest.py, one_database): the upload, notice and review forms as a
# browser drives them; the same views run on PostgreSQL in tests/server/web.
pytestmark = pytest.mark.one_database


def test_editor_to_reviewer(page, browser, server, tmp_path):
    image = tmp_path / "社区活动海报.png"
    image.write_bytes(media.image_bytes("PNG", 384, 192))
    clip = media.make_video(tmp_path / "宣传片.mp4", "libx264", "mp4", frames=24, rate=12)
    bad = tmp_path / "病毒.jpg"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(400))

    login(page, "donghe_editor", DEMO_PASSWORD)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/content/upload")
    page.select_option("#topic_id", label="社区活动")
    page.set_input_files("#files", [str(image), str(clip), str(bad)])
    items = page.locator("#upload-list li")
    expect(items).to_have_count(3)
    expect(page.locator("#upload-list li.done")).to_have_count(2, timeout=30_000)
    failed = page.locator("#upload-list li.failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("不是支持的图片或视频格式")
    for bar in page.locator("#upload-list li.done progress").all():
        assert bar.evaluate("b => b.value") == 100
    # The progress shows where the files were dropped, not below the fold.
    expect(items.first).to_be_in_viewport()

    # A notice, previewed at every LED size of 东和's fleet.
    page.goto("/content/notice/new")
    page.fill("#title", "台风天气温馨提示")
    page.select_option("#topic_id", label="防台风")
    page.select_option("#notice_template", value="warning")
    page.fill("#notice_title", "台风预警")
    page.fill("#notice_body", "台风“海葵”将于今晚登陆，请关好门窗，收好阳台物品，非必要不外出。")
    page.fill("#notice_footer", "值班电话 0755-25550000")
    page.click("#preview")
    previews = page.locator("#previews figure.variant")
    expect(previews).to_have_count(5)
    for size in ("1920×320", "384×192", "256×128", "192×96", "128×64"):
        expect(page.locator("#previews")).to_contain_text(size)
    first = page.locator("#previews img.led").first
    expect(first).to_have_js_property("complete", True)  # loaded (or broken: then w, h = 0)
    w, h = first.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert h == 320 and w >= 1920  # true pixels: a strip is at least the panel's width
    page.click("#save")
    expect(page.locator("h1")).to_have_text("台风天气温馨提示")
    page.click("#submit")
    expect(page.locator("mark.status")).to_have_text("待审核")

    # Submit the uploads too.
    for title in ("社区活动海报", "宣传片"):
        page.goto("/content/")
        page.get_by_role("link", name=title, exact=True).click()
        page.click("#submit")
        expect(page.locator("mark.status")).to_have_text("待审核")

    # The reviewer approves the notice and rejects the clip with a reason.
    reviewer = browser.new_context(base_url=server.url).new_page()
    login(reviewer, "donghe_reviewer", DEMO_PASSWORD)
    reviewer.click("#nav-review")
    queue = reviewer.locator("article.review-item")
    expect(queue).to_have_count(3)
    notice = queue.filter(has_text="台风天气温馨提示")
    expect(notice.locator("img.led")).not_to_have_count(0)
    notice.locator("button.approve").click()
    expect(queue).to_have_count(2)
    video = queue.filter(has_text="宣传片")
    expect(video.locator("video")).to_have_count(1)
    video.locator("input[name=reason]").fill("画面与主题不符")
    video.locator("button.reject-button").click()
    expect(queue).to_have_count(1)
    reviewer.context.close()

    page.goto("/content/?status=approved")
    expect(page.locator("#content-list")).to_contain_text("台风天气温馨提示")
    page.goto("/content/?status=rejected")
    page.get_by_role("link", name="宣传片").click()
    expect(page.locator("#reject-reason")).to_contain_text("画面与主题不符")

    # The street admin's audit log has the whole story.
    admin = browser.new_context(base_url=server.url).new_page()
    login(admin, "admin", ADMIN_PASSWORD)
    admin.goto("/audit/?object_type=content")
    log = admin.locator("#audit")
    for text in ("台风天气温馨提示", "社区活动海报", "宣传片", "画面与主题不符"):
        expect(log).to_contain_text(text)
    for action in ("donghe_editor", "donghe_reviewer"):
        expect(log).to_contain_text(action)
    admin.context.close()
