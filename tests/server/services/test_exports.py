"""Report exports: the table, CSV and XLSX bytes, and an export built in a job worker."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from player import protocol
from server import reporting, workpool
from server.db import db
from server.models import Role
from server.services import exports, plays, reports
from server.services.access import Actor
from tests import helpers

HEADERS = {"topic": "主题", "hours": "播放小时", "seconds": "播放秒数", "plays": "播放次数"}


@dataclass
class Row:
    label: str
    seconds: float
    plays: int

    @property
    def hours(self) -> float:
        return self.seconds / 3600


ROWS = [Row("防台风", 5400.0, 2), Row("垃圾分类", 1800.04, 1)]


def test_the_table_carries_the_page_numbers():
    cols, data = exports.table(ROWS, "topic", HEADERS)
    assert cols == ["主题", "播放小时", "播放秒数", "播放次数"]
    assert data == [["防台风", "1.50", 5400, 2], ["垃圾分类", "0.50", 1800, 1]]


def test_csv_is_utf8_with_a_bom_for_excel():
    csv_bytes = exports.to_csv(*exports.table(ROWS, "topic", HEADERS))
    assert csv_bytes.startswith("\ufeff主题,播放小时".encode())
    assert "防台风,1.50,5400,2\r\n" in csv_bytes.decode("utf-8-sig")


def test_xlsx_sheets_widths_and_formats():
    sheet = exports.Sheet("按主题" * 20, [("主题", None), ("播放小时", exports.HOURS)],
                          [["防台风防台风防台风", 1.5], ["垃圾分类", 0.5]], ["合计", 2.0],
                          ["说明"])
    other = exports.Sheet("计划与实播", sheet.columns, sheet.rows)
    wb = load_workbook(io.BytesIO(exports.to_xlsx([sheet, other], ["标题", "期间"], "图")))
    ws = wb.worksheets[0]
    assert ws.title == ("按主题" * 20)[:31] and len(wb.worksheets) == 2
    assert [ws["A1"].value, ws["A2"].value, ws["A3"].value] == ["标题", "期间", None]
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=5, max_row=8)] == [
        ["主题", "播放小时"], ["防台风防台风防台风", 1.5], ["垃圾分类", 0.5], ["合计", 2.0]]
    assert ws["B8"].number_format == "0.00" and ws["A10"].value == "说明"
    assert ws.column_dimensions["A"].width == 9 * 2 + 3  # a Chinese character is two wide
    assert len(ws._charts) == 1 and not wb.worksheets[1]._charts


@pytest.fixture
def pool(app):
    workpool.stop()
    yield workpool.start(app.config["SIGNAGE"])
    workpool.stop()


def test_an_export_is_read_and_built_in_a_job_worker(app, pool):
    """The rows are read in the job too: only the file's bytes come back."""
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe, "1栋"))
    item = helpers.approved_image(donghe, "台风海报", "防台风", seconds=10)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    recs = [protocol.play_record(content_id=item.id, schedule_id=None, sha256=item.blob_sha256,
                                 start=a, end=b) for a, b in protocol.split_at_hours(
                                     start, start + timedelta(seconds=5400))]
    assert plays.ingest(db, t, recs, now=datetime(2026, 12, 31, tzinfo=UTC))[1] == []
    db.commit()
    req = reporting.Request(reports.period(date(2026, 12, 1), date(2026, 12, 1)), "topic",
                            reports.Filters())
    admin = Actor.of(helpers.user(Role.street_admin))
    with app.test_request_context():
        body, mime, name = reporting.export(admin, req, "xlsx")
        assert mime.endswith("spreadsheetml.sheet") and name.endswith(".xlsx")
        ws = load_workbook(io.BytesIO(body))["按主题"]
        assert [c.value for c in ws[6]] == ["防台风", 1.5, 2, "主画面"]
        body, mime, name = reporting.export(admin, req, "csv")
    assert "防台风,1.50,5400,2" in body.decode("utf-8-sig") and name.endswith(".csv")
