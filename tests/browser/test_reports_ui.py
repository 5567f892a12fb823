"""Open the report page, change the grouping, see the chart, download the XLSX and check
its numbers with openpyxl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from player import protocol
from server import create_app
from server.db import db
from server.models import Building, Community, Terminal
from server.services import plays
from tests import helpers
from tests.browser.conftest import login
from tests.live import ADMIN_PASSWORD

# SQLite only (tests/conftest.py, one_database): the grouping control, the chart and the
# download in the browser; the report's numbers, on screen and in the XLSX, run on
# PostgreSQL in tests/server (test_report_exports, test_report_pages, test_reports).
pytestmark = pytest.mark.one_database

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 20, tzinfo=SH)


@pytest.fixture(scope="module")
def played(server, database_url, tmp_path_factory):
    """Plays for two 东和 terminals, written through the real ingest into the live database."""
    app = create_app({"SIGNAGE_DATABASE_URL": database_url,
                      "SIGNAGE_DATA_DIR": str(tmp_path_factory.mktemp("writer")),
                      "SIGNAGE_SECRET_KEY": "x"})
    with app.app_context():
        donghe = db.scalar(select(Community).where(Community.name == "东和"))
        terminals = list(db.scalars(select(Terminal).join(Building)
                                    .where(Building.community_id == donghe.id)
                                    .order_by(Terminal.id).limit(2)))
        a = helpers.approved_image(donghe, "台风海报", "防台风")
        b = helpers.approved_image(donghe, "分类指引", "垃圾分类")
        for t, item, seconds in ((terminals[0], a, 5400), (terminals[1], b, 1800)):
            start = DAY.replace(hour=9)
            recs = [protocol.play_record(content_id=item.id, schedule_id=None,
                                         sha256=item.blob_sha256, start=x, end=y)
                    for x, y in protocol.split_at_hours(start,
                                                         start + timedelta(seconds=seconds))]
            plays.ingest(db, t, recs, now=datetime(2026, 11, 29, tzinfo=UTC))
        db.commit()
        db.remove()
    app.extensions["signage_engine"].dispose()


def test_report_grouping_chart_and_xlsx(page, played, tmp_path):
    login(page, "admin", ADMIN_PASSWORD)
    page.click("#nav-reports")
    page.fill("input[name=from]", "2026-11-20")
    page.fill("input[name=to]", "2026-11-20")
    page.click("#run-report")
    expect(page.locator("#head-hours")).to_have_text("2.0")
    expect(page.locator("#head-topics")).to_have_text("2")
    table = page.locator("#report-table")
    expect(table).to_contain_text("防台风")
    expect(table).to_contain_text("1.50")
    page.select_option("#by", value="day")
    page.click("#run-report")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("2026-11-20")
    expect(page.locator("#chart")).to_have_attribute("data-ready", "1")
    page.select_option("#by", value="topic")
    page.click("#run-report")
    with page.expect_download() as dl:
        page.click("#export-xlsx")
    path = tmp_path / "report.xlsx"
    dl.value.save_as(path)
    assert dl.value.suggested_filename == "播放时长报表_主题_2026-11-20_2026-11-20.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["按主题", "计划与实播", "终端在线情况"]
    ws = wb["按主题"]
    assert ws["A2"].value.startswith("统计期间：2026-11-20 至 2026-11-20")
    assert [c.value for c in ws[5]] == ["主题", "播放小时", "播放次数", "区域"]
    assert {r[0].value: r[1].value for r in ws.iter_rows(min_row=6, max_row=7)} == {
        "防台风": 1.5, "垃圾分类": 0.5}
    assert ws["B8"].value == 2.0 and ws["A8"].value == "合计"
    with page.expect_download() as dl:
        page.click("#export-csv")
    dl.value.save_as(tmp_path / "report.csv")
    assert (tmp_path / "report.csv").read_bytes().startswith("\ufeff主题,播放小时".encode())
