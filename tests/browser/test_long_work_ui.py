"""Long work looks long: an upload says it is being processed until the server answers,
and says why it was refused; a report export says it is being generated, the page usable
meanwhile, then downloads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.live import ADMIN_PASSWORD
from tests.media import gif_on_canvas

# SQLite only (tests/conftest.py, one_database): what the page says while the server works
# (scripts and the job pool); the upload and export views run on PostgreSQL in
# tests/server/web.
pytestmark = pytest.mark.one_database


def slow_network(page, latency_ms: int) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms, "downloadThroughput": -1,
        "uploadThroughput": -1})


def test_an_upload_is_processing_then_refused_with_the_reason(page, tmp_path):
    login(page, "admin", ADMIN_PASSWORD)
    page.goto("/content/upload")
    page.select_option("#topic_id", index=1)
    big = tmp_path / "big.gif"
    big.write_bytes(gif_on_canvas(2000, 2000, 300))
    # Every answer comes 3 s late, as after a long decoding: the row says so meanwhile.
    slow_network(page, 3000)
    page.set_input_files("#files", [str(big)])
    row = page.locator("#upload-list li")
    expect(row).to_have_class("processing")
    expect(row.locator(".upload-status")).to_have_text("文件已发送，正在处理…")
    expect(row).to_have_class("failed")
    expect(row).to_contain_text("300 帧")
    expect(row).to_contain_text("上限为 500 百万像素")


def test_an_export_is_generating_then_downloads(page):
    login(page, "admin", ADMIN_PASSWORD)
    page.goto("/reports/")
    slow_network(page, 3000)
    with page.expect_download(timeout=30_000) as download:
        page.click("#export-csv")
        expect(page.locator("#export-csv")).to_have_text("正在生成…")
        expect(page.locator("#export-csv")).to_have_attribute("aria-busy", "true")
        page.locator("#by").select_option(value="day")  # the page stays usable
    assert download.value.suggested_filename.endswith(".csv")
    expect(page.locator("#export-csv")).to_have_text("下载 CSV")
