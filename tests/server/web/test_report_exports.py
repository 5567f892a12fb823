"""The report page's numbers for terminals added mid-day, what the page says they mean, and
the CSV and Excel files a person hands upward: the same numbers, totals that add up, the
period, the filters, number formats and a chart."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from player import protocol
from server.db import db
from server.models import Role
from server.services import fleet, planned, plays, reports
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
ADDED = datetime(2026, 12, 1, 15, 40, tzinfo=SH)  # terminals added mid-afternoon
NOW = datetime(2026, 12, 2, 10, 30, tzinfo=SH)
DAY1 = "from=2026-12-01&to=2026-12-01"


@pytest.fixture
def fleet_of_three(app, client, monkeypatch):
    """Three 东和 terminals added at 15:40 under an all-day schedule: one online and
    playing since, one for four hours, one never heard from."""
    donghe = helpers.community("东和")
    b = helpers.building(donghe, "1栋")
    ts = []
    for name in ("一号屏", "二号屏", "三号屏"):
        t = helpers.terminal(b)
        t.name, t.created_at, t.planned_until = name, ADDED.astimezone(UTC), None
        ts.append(t)
    db.commit()
    item = helpers.approved_image(donghe, "台风海报", "防台风", seconds=10)
    helpers.scheduled_all_day(donghe, item)
    monkeypatch.setattr(reports, "utcnow", lambda: NOW.astimezone(UTC))
    for t, until in ((ts[0], NOW), (ts[1], ADDED + timedelta(hours=4))):
        sums: dict = {}  # what the heartbeats add up, and what the player reports
        fleet._add_uptime(sums, t.id, ADDED.astimezone(UTC), until.astimezone(UTC), True, True)
        fleet._save_uptime(db, sums)
        recs = [protocol.play_record(content_id=item.id, schedule_id=None,
                                     sha256=item.blob_sha256, start=a, end=z)
                for a, z in protocol.split_at_hours(ADDED, until)]
        assert plays.ingest(db, t, recs, now=NOW.astimezone(UTC))[1] == []
    db.commit()
    for at in (ADDED, ADDED + timedelta(hours=9), NOW):  # written ahead, hours closed
        planned.run(db, at.astimezone(UTC))
    helpers.login(client, helpers.user(Role.street_admin))
    return ts


def _cells(html: str, table: str, label: str) -> list[str]:
    row = html.split(f'id="{table}"')[1].split(label)[1].split("</tr>")[0]
    return [c.split("</td>")[0] for c in row.split("<td>")[1:]]


def test_terminals_added_mid_day_and_a_long_period_read_true(fleet_of_three, client):
    page = client.get(f"/reports/?{DAY1}&by=terminal").get_data(True)
    # 15:40 to midnight is 8 h 20 min planned; offline only while not heard from.
    assert _cells(page, "terminal-table", "一号屏")[:6] == [
        "8.33", "8.33", "100 %", "8.33", "0.00", "8.33"]
    two = _cells(page, "terminal-table", "二号屏")
    assert two[:6] == ["8.33", "4.00", "48 %", "4.00", "4.33", "4.00"]
    assert "离线 4.3 小时" in two[6]
    assert "统计期间：2026-12-01 至 2026-12-01（北京时间 UTC+8，按整日计），数据截至 " \
           "2026-12-01 24:00。" in page
    terms = page.split('id="planned-explained"')[1].split("</ul>")[0]
    assert "<strong>计划</strong>：" in terms and "从终端添加之时起算" in terms
    assert "<strong>离线</strong>：终端添加之后" in page
    sixty = client.get("/reports/?from=2026-11-01&to=2026-12-30&by=content").get_data(True)
    assert _cells(sixty, "planned-table", "台风海报") == ["56.50", "22.83", "40 %"]
    assert "数据截至 2026-12-02 10:30" in sixty


def test_csv_is_clean_utf8_with_one_charset(fleet_of_three, client):
    r = client.get(f"/reports/?{DAY1}&by=terminal&format=csv")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''%E6%92%AD%E6%94%BE" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf") and not r.data[3:].startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows == [["终端", "播放小时", "播放秒数", "播放次数", "区域"],
                    ["一号屏", "8.33", "30000", "9", "主画面"],
                    ["二号屏", "4.00", "14400", "5", "主画面"]]


def test_the_excel_file_can_be_handed_upward(fleet_of_three, client):
    r = client.get(f"/reports/?{DAY1}&by=terminal&format=xlsx")
    assert r.headers["Content-Type"].endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["按终端", "计划与实播", "终端在线情况"]
    for ws in wb:
        assert ws["A1"].value == "沙头角街道 播放时长报表"  # the street admin's whole street
        assert ws["A2"].value.startswith("统计期间：2026-12-01 至 2026-12-01（北京时间 UTC+8")
        assert ws["A3"].value == "筛选条件：区域：主画面"
        assert ws.freeze_panes == "B6"
    api = client.get(f"/api/v1/reports/playback?{DAY1}&by=terminal",
                     headers=helpers.token(helpers.user(Role.street_admin,
                                                        username="api_admin"))).json

    def table(ws) -> tuple[list[list], list]:
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
        end = next(i for i, row in enumerate(rows) if row[0] == "合计")
        return rows[:end + 1], [c for c in ws[5 + end]]

    rows, total = table(wb["按终端"])
    assert rows[0] == ["终端", "播放小时", "播放次数", "区域"]
    assert {r[0]: round(r[1], 4) for r in rows[1:-1]} == {
        x["label"]: x["hours"] for x in api["rows"]}
    assert total[1].value == pytest.approx(sum(r[1] for r in rows[1:-1]))
    assert total[1].value == pytest.approx(api["headline"]["hours"], abs=1e-4)
    assert total[2].value == api["headline"]["plays"] == 14
    assert [c.number_format for c in total] == ["General", "0.00", "#,##0", "General"]
    assert wb["按终端"]["B6"].number_format == "0.00"
    assert len(wb["按终端"]._charts) == 1
    assert wb["按终端"].column_dimensions["A"].width >= 10

    rows, total = table(wb["计划与实播"])
    assert rows[0] == ["内容", "计划小时", "实播小时", "完成率"]
    assert rows[1][0] == "台风海报" and round(rows[1][1], 2) == 25.0
    assert [total[1].value, total[2].value] == pytest.approx([25.0, 37 / 3])
    assert total[3].value == pytest.approx((37 / 3) / 25.0) and total[3].number_format == "0%"

    ws = wb["终端在线情况"]
    rows, total = table(ws)
    assert rows[0] == ["终端", "计划小时", "实播小时", "完成率", "在线小时", "亮屏小时",
                       "离线小时", "少播原因"]
    by_name = {r[0]: r for r in rows[1:-1]}
    assert by_name["三号屏"][7] == "离线 8.3 小时" and by_name["一号屏"][7] is None
    assert total[6].value == pytest.approx(sum(r[6] for r in rows[1:-1]))
    assert total[6].value == pytest.approx(25 / 3 + 13 / 3)
    assert all(c.number_format == "0.00" for c in total[1:3] + total[4:7])
    notes = [c.value for (c,) in ws.iter_rows(min_row=5 + len(rows) + 1, max_col=1)
             if c.value]
    assert notes[0] == "说明" and notes[-1].startswith("离线：")


def test_filters_are_named_in_the_file(fleet_of_three, client):
    t = fleet_of_three[1]
    r = client.get(f"/reports/?{DAY1}&by=topic&format=xlsx&terminal_id={t.id}"
                   f"&community_id={t.building.community_id}")
    ws = load_workbook(io.BytesIO(r.data))["按主题"]
    assert ws["A1"].value == "沙头角街道 东和 播放时长报表"
    assert ws["A3"].value == "筛选条件：社区：东和；终端：二号屏；区域：主画面"
    assert [c.value for c in ws[6]] == ["防台风", 4.0, 5, "主画面"]
