"""The report page: planned against played for any period, counted from the terminal's
creation, with the reason for a shortfall in the people's words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from player import protocol
from server.db import db
from server.models import ContentItem, Role
from server.services import planned, plays, reports
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
D = date(2026, 12, 1)


@pytest.fixture
def setup(app, client, monkeypatch):
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe, "1栋"))
    t.name, t.created_at, t.planned_until = "一号屏", datetime(2026, 11, 1, tzinfo=SH), None
    db.commit()
    item = helpers.approved_image(donghe, "台风海报", "防台风", seconds=10)
    helpers.scheduled_all_day(donghe, item)
    now = datetime(2026, 12, 2, 0, 30, tzinfo=SH).astimezone(UTC)
    monkeypatch.setattr(reports, "utcnow", lambda: now)
    planned.run(db, datetime(2026, 11, 1, 0, 5, tzinfo=SH))  # written ahead at creation,
    for day in range(1, 33):  # then kept up day by day, as the scheduler does
        planned.run(db, datetime(2026, 11, 1, 0, 15, tzinfo=SH) + timedelta(days=day))
    helpers.login(client, helpers.user(Role.street_admin))
    return t


def test_a_shortfall_says_why_in_chinese(setup, client):
    page = client.get("/reports/?from=2026-12-01&to=2026-12-01&by=terminal").get_data(True)
    assert "计划与实播" in page and "一号屏" in page
    row = page.split('id="terminal-table"')[1].split("一号屏")[1].split("</tr>")[0]
    assert "<td>24.00</td>" in row and "离线 24.0 小时" in row


def test_planned_against_played_covers_more_than_a_month(setup, client):
    page = client.get("/reports/?from=2026-11-01&to=2026-12-01&by=content").get_data(True)
    table = page.split('id="planned-table"')[1].split("</table>")[0]
    assert "台风海报" in table and "<td>744.00</td>" in table  # 31 days of 24 hours


def test_a_long_grouping_shows_its_first_rows_and_says_how_many(setup, client, monkeypatch):
    """Only the shown rows come back from the job worker; the page still counts them all."""
    item = db.scalar(select(ContentItem))
    start = datetime(2026, 11, 1, 0, 0, tzinfo=SH)
    recs = [protocol.play_record(content_id=item.id, schedule_id=None, sha256=item.blob_sha256,
                                 start=a, end=b)
            for a, b in protocol.split_at_hours(start, start + timedelta(hours=48))]
    assert plays.ingest(db, setup, recs, now=datetime(2026, 12, 31, tzinfo=UTC))[1] == []
    db.commit()
    monkeypatch.setattr(reports, "TABLE_ROWS", 24)
    page = client.get("/reports/?from=2026-11-01&to=2026-11-02&by=hour").get_data(True)
    assert 'id="rows-cut"' in page and "48" in page.split('id="rows-cut"')[1].split("</p>")[0]
    assert page.split('id="report-table"')[1].split("</table>")[0].count("<tr>") == 24 + 1
