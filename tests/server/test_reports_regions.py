"""Reports by layout region: the headline and every grouping count the main region unless
the user picks another or all; by=region lists each region; planned against played is the
main region's; the page says so, and the CSV, Excel and API carry the region."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from player import protocol
from server.db import db
from server.models import Role
from server.services import planned, plays, reports
from server.services.access import Actor
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 1)
Q = "from=2026-12-01&to=2026-12-01"
MAIN, TICKER, IMAGE = 7200.0, 1800.0, 7200.0  # seconds each region played on 1 December


def _records(item, region: str, start: datetime, seconds: float, each: float) -> list[dict]:
    out, at = [], start
    while at < start + timedelta(seconds=seconds):
        out += [protocol.play_record(content_id=item.id, schedule_id=None,
                                     sha256=item.blob_sha256, start=a, end=b, region=region)
                for a, b in protocol.split_at_hours(at, at + timedelta(seconds=each))]
        at += timedelta(seconds=each)
    return out


@pytest.fixture
def w(app, client, monkeypatch):
    """One 东和 screen with a layout: the clip in the main region 10:00-12:00, a ticker line
    passing every 20 s for half an hour, the title image for two hours; the clip is
    planned all day."""
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe, "1栋"))
    t.name, t.created_at, t.planned_until = "一号屏", datetime(2026, 11, 30, tzinfo=SH), None
    db.commit()
    clip = helpers.approved_image(donghe, "宣传片", "社区宣传")
    line = helpers.approved_image(donghe, "停水通知", "停水停电")
    logo = helpers.approved_image(donghe, "社区标识", "社区形象")
    helpers.scheduled_all_day(donghe, clip)
    monkeypatch.setattr(reports, "utcnow", lambda: datetime(2026, 12, 2, 0, 30, tzinfo=SH))
    for at in (datetime(2026, 11, 30, 0, 5, tzinfo=SH), datetime(2026, 12, 1, 0, 15, tzinfo=SH),
               datetime(2026, 12, 2, 0, 15, tzinfo=SH)):
        planned.run(db, at)
    ten = datetime(2026, 12, 1, 10, tzinfo=SH)
    recs = (_records(clip, "main", ten, MAIN, 600) + _records(line, "ticker", ten, TICKER, 20)
            + _records(logo, "image", ten, IMAGE, IMAGE))
    assert plays.ingest(db, t, recs, now=datetime(2026, 12, 31, tzinfo=UTC))[1] == []
    db.commit()
    admin = helpers.user(Role.street_admin)
    helpers.login(client, admin)
    return {"t": t, "clip": clip, "line": line, "logo": logo, "admin": Actor.of(admin),
            "admin_user": admin}


def _total(rows) -> float:
    return sum(r.seconds for r in rows)


def test_the_headline_and_every_grouping_count_the_main_region(w):
    p = reports.period(DAY, None)
    for by in reports.GROUPS:
        if by != "region":
            assert _total(reports.playback(db, w["admin"], p, by)) == MAIN, by
    head = reports.headline(db, w["admin"], p)
    assert (head.seconds, head.topics, head.terminals_reporting) == (MAIN, 1, 1)
    assert head.share_played == pytest.approx(MAIN / 86400)
    # A filter finer than the slices (a topic by terminal reads terminal x item): main too.
    line_topic = reports.Filters(topic_id=w["line"].topic_id)
    assert reports.playback(db, w["admin"], p, "terminal", line_topic) == []
    assert reports.playback(db, w["admin"], p, "hour", line_topic) == []
    # Asked for, the other regions and all of them; planned time stays the main region's.
    for region, seconds, topics in (("ticker", TICKER, 1), ("image", IMAGE, 1),
                                    (None, MAIN + TICKER + IMAGE, 3)):
        f = reports.Filters(region=region)
        for by in ("topic", "terminal", "community", "day", "hour"):
            assert _total(reports.playback(db, w["admin"], p, by, f)) == seconds, (region, by)
        head = reports.headline(db, w["admin"], p, f)
        assert (head.seconds, head.topics) == (seconds, topics)
        assert head.share_played == pytest.approx(MAIN / 86400)
    ticker_line = reports.Filters(topic_id=w["line"].topic_id, region="ticker")
    assert [(r.label, r.seconds, r.plays) for r in
            reports.playback(db, w["admin"], p, "terminal", ticker_line)] == [
        ("一号屏", TICKER, 90)]


def test_by_region_lists_each_region_whatever_region_is_picked(w):
    p = reports.period(DAY, None)
    want = [("main", MAIN, 12), ("ticker", TICKER, 90), ("image", IMAGE, 2)]
    for region in ("main", "ticker", None):
        rows = reports.playback(db, w["admin"], p, "region", reports.Filters(region=region))
        assert [(r.key, r.seconds, r.plays) for r in rows] == want
    # Other filters still apply: the ticker line's topic played in the ticker only.
    rows = reports.playback(db, w["admin"], p, "region",
                            reports.Filters(topic_id=w["line"].topic_id))
    assert [(r.key, r.seconds) for r in rows] == [("ticker", TICKER)]
    with pytest.raises(reports.Invalid):
        reports.region_filter("clock")
    assert [reports.region_filter(c) for c in ("", "ticker", "all")] == ["main", "ticker", None]


def test_planned_against_played_is_the_main_regions_whatever_region_is_picked(w):
    p = reports.period(DAY, None)
    pages = {region: reports.page(db, w["admin"], p, "topic", reports.Filters(region=region))
             for region in ("main", "ticker", None)}
    for region, page in pages.items():
        assert [(r.label, r.seconds, r.extra["planned"]) for r in page.planned] == [
            ("宣传片", MAIN, 86400.0)], region
        assert [(r.label, r.seconds) for r in page.terminals] == [("一号屏", MAIN)], region
        assert page.head.share_played == pytest.approx(MAIN / 86400)
    assert [page.head.seconds for page in pages.values()] == [MAIN, TICKER,
                                                             MAIN + TICKER + IMAGE]
    rows = reports.planned_vs_played(db, w["admin"], p, "content",
                                     reports.Filters(region="ticker"))
    assert [(r.label, r.seconds) for r in rows] == [("宣传片", MAIN)]


def test_the_page_offers_the_regions_and_says_what_counts(w, client):
    page = client.get(f"/reports/?{Q}&by=topic").get_data(True)
    assert '<option value="main" selected>主画面</option>' in page
    assert "时长只计主画面；滚动字幕和图片另计。" in page
    assert "计划与实播只比较主画面：计划时长只含主画面。" in page
    assert "1 个主题 · 2.0 播放小时</p>" in page
    ticker = client.get(f"/reports/?{Q}&by=topic&region=ticker").get_data(True)
    assert '<option value="ticker" selected>滚动字幕</option>' in ticker
    assert "1 个主题 · 0.5 播放小时 · 滚动字幕</p>" in ticker
    assert "<td>停水停电</td><td>0.50</td><td>90</td>" in ticker
    regions = client.get(f"/reports/?{Q}&by=region").get_data(True)
    table = regions.split('id="report-table"')[1].split("</table>")[0]
    assert [c.split("</td>")[0] for c in table.split("<tr><td>")[1:]] == [
        "主画面", "滚动字幕", "图片"]
    assert "<td>滚动字幕</td><td>0.50</td>" in table
    bad = client.get(f"/reports/?{Q}&region=clock").get_data(True)
    assert "区域须为以下之一：main, ticker, image, all。" in bad


def test_the_files_carry_the_region_column_and_the_filter(w, client):
    def rows(url: str) -> list[list[str]]:
        r = client.get(url)
        assert r.status_code == 200
        return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))

    assert rows(f"/reports/?{Q}&by=topic&format=csv") == [
        ["主题", "播放小时", "播放秒数", "播放次数", "区域"],
        ["社区宣传", "2.00", "7200", "12", "主画面"]]
    every = rows(f"/reports/?{Q}&by=community&format=csv&region=all")
    assert every[1] == ["东和", "4.50", "16200", "104", "全部"]
    assert rows(f"/reports/?{Q}&by=region&format=csv") == [
        ["区域", "播放小时", "播放秒数", "播放次数"], ["主画面", "2.00", "7200", "12"],
        ["滚动字幕", "0.50", "1800", "90"], ["图片", "2.00", "7200", "2"]]
    wb = load_workbook(io.BytesIO(client.get(f"/reports/?{Q}&by=topic&format=xlsx"
                                             "&region=ticker").data))
    ws = wb["按主题"]
    assert ws["A3"].value == "筛选条件：区域：滚动字幕"
    assert [c.value for c in ws[5]] == ["主题", "播放小时", "播放次数", "区域"]
    assert [c.value for c in ws[6]] == ["停水停电", 0.5, 90, "滚动字幕"]
    notes = [c.value for (c,) in wb["计划与实播"].iter_rows(min_row=9, max_col=1) if c.value]
    assert notes[:2] == ["说明", "计划与实播只比较主画面：计划时长只含主画面。"]
    assert [c.value for c in wb["计划与实播"][6]][:3] == ["宣传片", 24.0, 2.0]


def test_the_api_takes_the_region(w, client):
    headers = helpers.token(w["admin_user"])
    body = client.get(f"/api/v1/reports/playback?{Q}&by=topic&region=image",
                      headers=headers).json
    assert body["region"] == "image" and body["headline"]["seconds"] == IMAGE
    assert [r["label"] for r in body["rows"]] == ["社区形象"]
    body = client.get(f"/api/v1/reports/playback?{Q}&by=region", headers=headers).json
    assert body["region"] == "main" and body["headline"]["seconds"] == MAIN
    assert [(r["key"], r["seconds"]) for r in body["rows"]] == [
        ("main", MAIN), ("ticker", TICKER), ("image", IMAGE)]
    assert client.get(f"/api/v1/reports/playback?{Q}&region=clock",
                      headers=headers).status_code == 422
