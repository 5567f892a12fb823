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
    assert data == [["防台风", 1.5, 5400.0, 2], ["垃圾分类", 0.5, 1800.0, 1]]


def test_csv_is_utf8_with_a_bom_for_excel():
    csv_bytes = exports.to_csv(*exports.table(ROWS, "topic", HEADERS))
    assert csv_bytes.startswith("\ufeff主题,播放小时".encode())
    assert "防台风,1.5,5400.0,2" in csv_bytes.decode("utf-8-sig")


def test_xlsx_reads_back():
    cols, data = exports.table(ROWS, "topic", HEADERS)
    ws = load_workbook(io.BytesIO(exports.to_xlsx(cols, data, "按主题" * 20))).active
    assert ws.title == ("按主题" * 20)[:31]
    assert [c.value for c in ws[1]] == cols
    assert [c.value for c in ws[2]] == ["防台风", 1.5, 5400.0, 2]


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
        ws = load_workbook(io.BytesIO(body)).active
        assert [c.value for c in ws[2]] == ["防台风", 1.5, 5400.0, 2]
        body, mime, name = reporting.export(admin, req, "csv")
    assert "防台风,1.5,5400.0,2" in body.decode("utf-8-sig") and name.endswith(".csv")
