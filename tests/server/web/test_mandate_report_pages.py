"""The mandate report's page, files and API: the summary by day, the screen-days with
their main reason, one screen hour by hour, Chinese CSV and Excel files, the staff's own
community only."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.db import db
from server.models import Role
from server.services import mandate_report
from tests import helpers
from tests.server.test_mandate_report import at, ingest, make_mandate, uptime

SH = ZoneInfo("Asia/Shanghai")
DAY1 = "from=2026-12-01&to=2026-12-01"


@pytest.fixture
def w(app, client, monkeypatch):
    """反诈宣传, 10 min an hour 08:00-12:00 street-wide: 一号屏 meets it, 二号屏 is offline
    35 minutes at 09:00, 田心's screen plays nothing."""
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    ts = []
    for name, c in (("一号屏", donghe), ("二号屏", donghe), ("田心屏", tianxin)):
        t = helpers.terminal(helpers.building(c))
        t.name, t.created_at = name, datetime(2026, 11, 30, tzinfo=SH)
        ts.append(t)
    db.commit()
    fraud = helpers.approved_image(None, "反诈海报", "反诈", seconds=60)
    for h in (8, 9, 10, 11):
        for t in ts:
            uptime(t, h, online=25 * 60.0 if (t is ts[1] and h == 9) else 3600.0)
        ingest(ts[0], fraud, at(h, 10), 600)
        if h != 9:
            ingest(ts[1], fraud, at(h, 10), 600)
    monkeypatch.setattr(mandate_report, "utcnow", lambda: datetime(2026, 12, 2, 0, 10, tzinfo=SH))
    admin = helpers.user(Role.street_admin)
    m = make_mandate(admin, fraud.topic_id)
    return {"ts": ts, "m": m, "admin": admin, "donghe": donghe, "tianxin": tianxin}


def _row(html: str, table: str, label: str) -> str:
    return html.split(f'id="{table}"')[1].split(label)[1].split("</tr>")[0]


def test_summary_screens_and_one_screen_hour_by_hour(w, client):
    helpers.login(client, w["admin"])
    assert 'href="/reports/mandates"' in client.get("/reports/").get_data(True)
    page = client.get(f"/reports/mandates?{DAY1}").get_data(True)  # the only mandate
    assert "反诈宣传" in page and "下达单位：区反诈中心" in page and "每小时 10 分钟" in page
    assert '<h3 id="head-screen-days">1 / 3</h3>' in page
    assert '<h3 id="head-hours">7 / 12</h3>' in page
    assert "<td>1 / 3</td><td>7 / 12</td>" in _row(page, "day-table", "2026-12-01")
    why = '<td class="why">{}</td>'
    assert "<td>3 / 4</td>" + why.format("离线（1 小时）") in _row(page, "screen-table", "二号屏")
    assert "<td>0 / 4</td>" + why.format("排期不足（4 小时）") in _row(page, "screen-table",
                                                                     "田心屏")
    assert "<td>4 / 4</td>" + why.format("") in _row(page, "screen-table", "一号屏")
    # The missed screen-days come first.
    table = page.split('id="screen-table"')[1]
    assert table.index("二号屏") < table.index("一号屏")
    two = w["ts"][1]
    drill = client.get(f"/reports/mandates?mandate={w['m'].id}&{DAY1}&terminal={two.id}"
                       ).get_data(True)
    assert "逐小时明细：二号屏" in drill
    nine = _row(drill, "hour-table", "09:00–10:00")
    assert "<td>0.0</td><td>10.0</td><td>25.0</td><td>25.0</td>" in nine
    assert "离线 35 分钟" in nine
    assert "<td>10.0</td><td>10.0</td>" in _row(drill, "hour-table", "08:00–09:00")


def test_staff_see_their_community_only(w, client, app):
    helpers.login(client, helpers.user(Role.viewer, w["donghe"]))
    page = client.get(f"/reports/mandates?mandate={w['m'].id}&{DAY1}").get_data(True)
    assert "二号屏" in page and "田心屏" not in page
    own = make_mandate(helpers.user(Role.community_admin, w["donghe"]), w["m"].topic_id,
                       community=w["donghe"])
    other = app.test_client()
    helpers.login(other, helpers.user(Role.viewer, w["tianxin"]))
    assert other.get(f"/reports/mandates?mandate={own.id}&{DAY1}").status_code == 404
    assert other.get(f"/reports/mandates?mandate={own.id}&{DAY1}&format=csv"
                     ).status_code == 404
    bad = other.get("/reports/mandates?from=2026-13-01").get_data(True)
    assert "日期格式为 YYYY-MM-DD。" in bad


def test_csv_and_excel_to_send_upward(w, client):
    helpers.login(client, w["admin"])
    r = client.get(f"/reports/mandates?mandate={w['m'].id}&{DAY1}&format=csv")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''%E5%8F%8D%E8%AF%88" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["社区", "楼栋", "终端", "日期", "小时", "实播（分钟）", "要求（分钟）",
                       "亮屏（分钟）", "在线（分钟）", "达标", "未达标原因"]
    assert len(rows) == 1 + 12
    assert rows[1 + 4 + 1][2:] == ["二号屏", "2026-12-01", "09:00–10:00", "0.0", "10.0",
                                   "25.0", "25.0", "否", "离线 35 分钟"]
    x = client.get(f"/reports/mandates?mandate={w['m'].id}&{DAY1}&format=xlsx")
    wb = load_workbook(io.BytesIO(x.data))
    assert wb.sheetnames == ["按日汇总", "按屏按日", "逐小时"]
    days, screens, hours = (wb[n] for n in wb.sheetnames)
    assert days["A1"].value == "反诈宣传 时长要求达标报表"
    assert days["A2"].value == ("下达单位：区反诈中心；要求：每小时 10 分钟，08:00–12:00，"
                                "2026-12-01 – 2026-12-01")
    assert days["A3"].value.startswith("统计期间：2026-12-01 至 2026-12-01")
    assert [c.value for c in days[6]] == ["2026-12-01", 3, 1, 12, 7, pytest.approx(7 / 12)]
    by_screen = {r[2]: r for r in screens.iter_rows(min_row=6, max_row=8, values_only=True)}
    assert by_screen["二号屏"][4:7] == ("否", 3, 4) and by_screen["二号屏"][9] == "离线（1 小时）"
    assert hours.max_row == 5 + 12


def test_api_gives_the_same_and_the_hours_of_one_screen(w, client):
    headers = helpers.token(w["admin"])
    body = client.get(f"/api/v1/reports/mandates?mandate={w['m'].id}&{DAY1}",
                      headers=headers).json
    assert (body["hours"], body["hours_met"]) == (12, 7)
    assert body["days"] == [{"day": "2026-12-01", "screens": 3, "screens_met": 1, "hours": 12,
                             "hours_met": 7}]
    assert {(x["terminal"], x["met"], x["reason"]) for x in body["screens"]} == {
        ("一号屏", True, None), ("二号屏", False, "offline"), ("田心屏", False, "plan_short")}
    one = client.get(f"/api/v1/reports/mandates?mandate={w['m'].id}&{DAY1}"
                     f"&terminal={w['ts'][1].id}", headers=headers).json
    nine = one["screens"][0]["by_hour"][1]
    assert (nine["start"], nine["met"], nine["reason"], nine["reason_seconds"]) == (
        "2026-12-01T09:00:00+08:00", False, "offline", 2100.0)
    assert client.get("/api/v1/reports/mandates", headers=headers).status_code == 422
