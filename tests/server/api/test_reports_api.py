"""Reports through the API, the page and the CLI: same numbers, same scope."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from player import protocol
from server.db import db
from server.models import Role
from server.services import plays
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    t1 = helpers.terminal(helpers.building(donghe, "1栋"))
    t2 = helpers.terminal(helpers.building(tianxin, "田心1栋"))
    a = helpers.approved_image(donghe, "台风海报", "防台风")
    b = helpers.approved_image(tianxin, "垃圾分类海报", "垃圾分类")
    for t, item, secs in ((t1, a, 5400), (t2, b, 1800)):
        start = datetime(2026, 12, 1, 9, tzinfo=SH)
        recs = [protocol.play_record(content_id=item.id, schedule_id=None,
                                     sha256=item.blob_sha256, start=x, end=y)
                for x, y in protocol.split_at_hours(start, start + timedelta(seconds=secs))]
        plays.ingest(db, t, recs, now=datetime(2026, 12, 31, tzinfo=UTC))
    db.commit()
    staff = helpers.user(Role.viewer, donghe, username="donghe_viewer")
    return {"tianxin": tianxin, "staff": staff, "admin": helpers.user(Role.street_admin)}


def test_api_groups_and_scopes(client, w):
    q = "/api/v1/reports/playback?from=2026-12-01&to=2026-12-01&by=topic"
    body = client.get(q, headers=helpers.token(w["admin"])).json
    assert {r["label"]: r["seconds"] for r in body["rows"]} == {"防台风": 5400.0,
                                                               "垃圾分类": 1800.0}
    assert body["headline"]["topics"] == 2 and body["headline"]["hours"] == 2.0
    mine = client.get(q + f"&community_id={w['tianxin'].id}",
                      headers=helpers.token(w["staff"])).json
    assert mine["rows"] == []
    assert client.get(q.replace("by=topic", "by=planet"),
                      headers=helpers.token(w["admin"])).status_code == 422
    assert client.get(q.replace("from=2026-12-01", "from=yesterday"),
                      headers=helpers.token(w["admin"])).status_code == 422


def test_page_and_exports_show_the_same_numbers(client, w):
    helpers.login(client, w["admin"])
    page = client.get("/reports/?from=2026-12-01&to=2026-12-01&by=topic").get_data(as_text=True)
    assert "防台风" in page and 'id="chart"' in page
    r = client.get("/reports/?from=2026-12-01&to=2026-12-01&by=topic&format=xlsx")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[5]][:2] == ["主题", "播放小时"]
    values = {row[0].value: row[1].value for row in ws.iter_rows(min_row=6, max_row=7)}
    assert values == {"防台风": 1.5, "垃圾分类": 0.5}
    csv_text = client.get("/reports/?from=2026-12-01&to=2026-12-01&by=community&format=csv"
                          ).data.decode("utf-8-sig")
    assert "东和,1.50" in csv_text and "田心,0.50" in csv_text


def test_cli_export_respects_the_accounts_scope(runner, w, tmp_path):
    out = runner.invoke(args=["report", "playback", "--from", "2026-12-01", "--to", "2026-12-01",
                              "--by", "community", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert {r["label"] for r in json.loads(out.output)} == {"东和", "田心"}
    out = runner.invoke(args=["report", "playback", "--from", "2026-12-01", "--to", "2026-12-01",
                              "--by", "community", "--format", "json", "--as-user",
                              "donghe_viewer", "--community-id", str(w["tianxin"].id)])
    assert out.exit_code == 0 and json.loads(out.output) == []
    path = tmp_path / "r.xlsx"
    out = runner.invoke(args=["report", "playback", "--from", "2026-12-01", "--to", "2026-12-01",
                              "--format", "xlsx", "--output", str(path)])
    ws = load_workbook(path).active
    assert out.exit_code == 0 and [c.value for c in ws[6]] == ["防台风", 1.5, 2, "主画面"]
