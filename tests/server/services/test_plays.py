"""Proof-of-play rollups: every record lands once, in the right local day and month, in
every rollup, in the same transaction as the ingest; the reports read them exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from player import protocol
from server.db import db
from server.models import (
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayRecord,
    Role,
    UptimeHour,
)
from server.services import fleet, planned, plays, reports
from server.services import schedules as sched
from server.services.access import Actor
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 1, 31, tzinfo=UTC)


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b1, b2 = helpers.building(donghe, "1栋"), helpers.building(tianxin, "田心2栋")
    return {"t1": helpers.terminal(b1), "b1": b1, "b2": b2, "donghe": donghe,
            "tianxin": tianxin, "a": helpers.approved_image(donghe, "台风海报", "防台风"),
            "admin": Actor.of(helpers.user(Role.street_admin)),
            "donghe_staff": Actor.of(helpers.user(Role.viewer, donghe)),
            "tianxin_staff": Actor.of(helpers.user(Role.viewer, tianxin))}


def records(item, start: datetime, seconds: float) -> list[dict]:
    """As the player makes them: split at hour boundaries."""
    return [protocol.play_record(content_id=item.id, schedule_id=None, sha256=item.blob_sha256,
                                 start=a, end=b)
            for a, b in protocol.split_at_hours(start, start + timedelta(seconds=seconds))]


def ingest(terminal, recs: list[dict]) -> list[str]:
    accepted, rejected = plays.ingest(db, terminal, recs, now=NOW)
    db.commit()
    assert rejected == []
    return accepted


def rollups() -> dict[str, list[tuple]]:
    """Every rollup row, as plain tuples, to compare states."""
    out = {}
    for model, key in ((PlayHour, PlayHour.hour), (PlayDay, PlayDay.day),
                       (PlayMonth, PlayMonth.month), (PlayHourCommunity, PlayHourCommunity.hour)):
        cols = [c for c in model.__table__.columns]
        out[model.__tablename__] = [tuple(r) for r in db.execute(select(*cols).order_by(
            key, *[c for c in cols if c.primary_key]))]
    return out


def day_rows() -> dict[date, float]:
    return {r.day: r.seconds for r in db.scalars(select(PlayDay))}


def month_rows() -> dict[date, float]:
    return {r.month: r.seconds for r in db.scalars(select(PlayMonth))}


def test_a_record_crossing_local_midnight_and_month_end_lands_in_both(w):
    # 23:59:30 local on 30 Nov to 00:00:45 on 1 Dec: 30 s in November, 45 s in December.
    ingest(w["t1"], records(w["a"], datetime(2026, 11, 30, 23, 59, 30, tzinfo=SH), 75))
    assert day_rows() == {date(2026, 11, 30): 30.0, date(2026, 12, 1): 45.0}
    assert month_rows() == {date(2026, 11, 1): 30.0, date(2026, 12, 1): 45.0}
    communal = {r.hour.astimezone(SH).hour: r.seconds
                for r in db.scalars(select(PlayHourCommunity))}
    assert communal == {23: 30.0, 0: 45.0}
    row = db.scalar(select(PlayDay))
    assert (row.terminal_id, row.content_id, row.topic_id, row.building_id,
            row.community_id, row.plays) == (w["t1"].id, w["a"].id, w["a"].topic_id,
                                             w["b1"].id, w["donghe"].id, 1)


def test_a_retried_batch_changes_no_rollup(w):
    recs = records(w["a"], datetime(2026, 12, 1, 9, 30, tzinfo=SH), 5400)
    ingest(w["t1"], recs)
    before = rollups()
    ids = [r["id"] for r in recs]
    assert ingest(w["t1"], recs) == ids  # accepted again: the player may drop them
    assert ingest(w["t1"], recs[:1] + recs) == ids  # a duplicate inside a batch counts once
    assert rollups() == before
    assert len(db.scalars(select(PlayRecord)).all()) == len(recs)
    assert day_rows() == {date(2026, 12, 1): 5400.0}


def test_a_late_record_lands_in_its_own_day_and_month(w):
    ingest(w["t1"], records(w["a"], datetime(2026, 12, 20, 10, tzinfo=SH), 600))
    ingest(w["t1"], records(w["a"], datetime(2026, 11, 3, 8, tzinfo=SH), 60))  # weeks late
    assert day_rows() == {date(2026, 12, 20): 600.0, date(2026, 11, 3): 60.0}
    assert month_rows() == {date(2026, 12, 1): 600.0, date(2026, 11, 1): 60.0}
    p = reports.period(date(2026, 11, 1), date(2026, 12, 31))
    by_day = {r.key: r.seconds for r in reports.playback(db, w["admin"], p, "day")}
    assert by_day == {"2026-11-03": 60.0, "2026-12-20": 600.0}


def test_a_moved_terminal_keeps_its_past_in_the_old_building(w):
    """Documented choice: a rollup row records where the terminal stood when the row's
    first record arrived; moving a terminal does not rewrite history."""
    ingest(w["t1"], records(w["a"], datetime(2026, 12, 1, 9, tzinfo=SH), 600))
    w["t1"].building_id = w["b2"].id
    db.commit()
    ingest(w["t1"], records(w["a"], datetime(2026, 12, 2, 9, tzinfo=SH), 300))
    p = reports.period(date(2026, 12, 1), date(2026, 12, 31))
    for by in ("building", "community"):
        rows = reports.playback(db, w["admin"], p, by)
        assert {r.label: r.seconds for r in rows} == (
            {"1栋": 600.0, "田心2栋": 300.0} if by == "building" else {"东和": 600.0, "田心": 300.0})
    # Each community's staff see the plays made while the screen was theirs.
    assert [r.seconds for r in reports.playback(db, w["donghe_staff"], p, "terminal")] == [600.0]
    assert [r.seconds for r in reports.playback(db, w["tianxin_staff"], p, "terminal")] == [300.0]
    assert [r.key for r in reports.playback(db, w["admin"], p, "day",
                                            reports.Filters(building_id=w["b2"].id))] == [
        "2026-12-02"]


def test_periods_not_aligned_to_months_are_exact(w):
    plays_at = [datetime(2026, 11, 15, 12, tzinfo=SH), datetime(2026, 11, 30, 23, tzinfo=SH),
                datetime(2026, 12, 1, 0, tzinfo=SH), datetime(2026, 12, 31, 23, tzinfo=SH),
                datetime(2027, 1, 1, 0, tzinfo=SH), datetime(2027, 1, 2, 0, tzinfo=SH)]
    for i, start in enumerate(plays_at):
        ingest(w["t1"], records(w["a"], start, 10 * (i + 1)))
    cases = {(date(2026, 11, 16), date(2027, 1, 1)): 20 + 30 + 40 + 50,
             (date(2026, 11, 1), date(2026, 12, 31)): 10 + 20 + 30 + 40,
             (date(2026, 11, 15), date(2026, 11, 15)): 10,
             (date(2026, 12, 2), date(2026, 12, 30)): 0,
             (date(2026, 11, 30), date(2027, 1, 2)): 20 + 30 + 40 + 50 + 60}
    for (first, last), seconds in cases.items():
        p = reports.period(first, last)
        by_topic = reports.playback(db, w["admin"], p, "topic")
        assert sum(r.seconds for r in by_topic) == seconds, (first, last)
        by_day = reports.playback(db, w["admin"], p, "day")
        assert sum(r.seconds for r in by_day) == seconds
        fine = reports.playback(db, w["admin"], p, "hour", reports.Filters(topic_id=w["a"].topic_id))
        assert sum(r.seconds for r in fine) == seconds
        h = reports.headline(db, w["admin"], p, with_planned=False)
        assert (h.seconds, h.topics) == (seconds, 1 if seconds else 0)


def test_fine_filters_read_the_same_numbers_as_the_coarse_tables(w):
    other = helpers.approved_image(w["donghe"], "停水通知", "停水")
    ingest(w["t1"], records(w["a"], datetime(2026, 12, 1, 8, 50, tzinfo=SH), 1200))
    ingest(w["t1"], records(other, datetime(2026, 12, 1, 9, 10, tzinfo=SH), 300))
    p = reports.period(date(2026, 12, 1), None)
    coarse = {r.key: r.seconds for r in reports.playback(db, w["admin"], p, "hour")}
    assert coarse == {"2026-12-01 08:00": 600.0, "2026-12-01 09:00": 900.0}
    by_terminal = reports.Filters(terminal_id=w["t1"].id)
    assert {r.key: r.seconds for r in reports.playback(db, w["admin"], p, "hour",
                                                       by_terminal)} == coarse
    only_a = reports.Filters(content_id=w["a"].id)
    assert {r.key: r.seconds for r in reports.playback(db, w["admin"], p, "hour", only_a)} == {
        "2026-12-01 08:00": 600.0, "2026-12-01 09:00": 600.0}
    assert [(r.key, r.seconds) for r in reports.playback(db, w["admin"], p, "day", only_a)] == [
        ("2026-12-01", 1200.0)]
    assert reports.playback(db, w["tianxin_staff"], p, "hour") == []


def test_purge_keeps_every_rollup(w):
    ingest(w["t1"], records(w["a"], datetime(2026, 12, 1, 9, tzinfo=SH), 120))
    before = rollups()
    assert plays.purge(db, 1, now=NOW + timedelta(days=2)) == 1  # received at NOW
    db.commit()
    assert db.scalars(select(PlayRecord)).all() == []
    assert rollups() == before


def test_shortfall_says_file_not_ready_from_the_heartbeats(w, monkeypatch):
    """Only the sum is kept: seconds online per hour while the player said its cache was
    not ready (uptime_hour.cache_missing_seconds)."""
    t = w["t1"]
    t.created_at, t.planned_until = datetime(2026, 11, 30, tzinfo=SH), None
    db.commit()
    clock = [datetime(2026, 12, 1, 9, 0, tzinfo=SH)]
    monkeypatch.setattr(fleet, "utcnow", lambda: clock[0])
    fleet.mark_online(db, t, now=clock[0])
    for i in range(1, 13):  # a minute of heartbeats, 5 s apart; ready after 30 s
        clock[0] += timedelta(seconds=5)
        fleet.record_status(db, t, {"playing": None, "screen_on": True, "brightness": 100,
                                    "cache_ready": i > 6})
    db.commit()
    row = db.scalar(select(UptimeHour))
    assert (row.online_seconds, row.screen_on_seconds, row.cache_missing_seconds) == (
        60.0, 60.0, 30.0)
    editor = Actor.of(helpers.user(Role.editor, w["donghe"]))
    pl = sched.create_playlist(db, editor, "日常", [sched.EntryIn(w["a"].id)])
    sched.create_schedule(db, editor, name="上午", playlist_id=pl.id, kind="normal",
                          recurrence=sched.Recurrence(windows=[("09:00", "10:00")]),
                          targets=[sched.TargetIn("terminal", t.id)])
    db.commit()
    planned.refresh(db, datetime(2026, 12, 1, 8, tzinfo=SH))
    monkeypatch.setattr(reports, "utcnow", lambda: datetime(2026, 12, 2, tzinfo=SH))
    rows = reports.planned_vs_played(db, w["admin"], reports.period(date(2026, 12, 1), None),
                                     "terminal")
    mine = next(r for r in rows if r.key == t.id)
    assert (mine.extra["planned"], mine.seconds) == (3600.0, 0.0)
    assert mine.extra["file_not_ready_seconds"] == 30.0
    assert mine.extra["offline_seconds"] == 86400.0 - 60.0


def test_the_migration_fills_the_new_rollups_from_existing_hours(tmp_path):
    """Upgrading a database that already has hourly rows gives the reports the same
    numbers. SQLite file of its own; on PostgreSQL the same SQL runs (on empty tables)
    every time the test database is migrated."""
    from sqlalchemy import create_engine, text

    from server import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0005")
    engine = create_engine(url)
    with engine.begin() as conn:
        for sql in ("INSERT INTO street (id, name) VALUES (1, 's')",
                    "INSERT INTO community (id, street_id, name) VALUES (1, 1, 'c')",
                    "INSERT INTO building (id, community_id, name, address) VALUES (1, 1, 'b', '')",
                    "INSERT INTO terminal (id, building_id, name, location, width, height, "
                    "colour_mode, created_at) VALUES (1, 1, 't', '', 384, 192, 'full', "
                    "'2026-01-01 00:00:00.000000')",
                    # 23:00 local on 30 Nov, 00:00 local on 1 Dec, and a deleted terminal.
                    "INSERT INTO play_hour VALUES (1, 7, '2026-11-30 15:00:00.000000', 3, 30, 1),"
                    " (1, 7, '2026-11-30 16:00:00.000000', 3, 45, 2),"
                    " (9, 7, '2026-11-30 16:00:00.000000', 3, 5, 1)"):
            conn.execute(text(sql))
    migrate.upgrade(url, "0006")
    with engine.connect() as conn:
        def rows(sql: str) -> list[tuple]:
            return [tuple(r) for r in conn.execute(text(sql))]

        assert rows("SELECT day, terminal_id, building_id, community_id, seconds, plays "
                    "FROM play_day ORDER BY day, terminal_id") == [
            ("2026-11-30", 1, 1, 1, 30.0, 1), ("2026-12-01", 1, 1, 1, 45.0, 2),
            ("2026-12-01", 9, 0, None, 5.0, 1)]
        assert rows("SELECT month, terminal_id, seconds FROM play_month "
                    "ORDER BY month, terminal_id") == [
            ("2026-11-01", 1, 30.0), ("2026-12-01", 1, 45.0), ("2026-12-01", 9, 5.0)]
        assert rows("SELECT hour, community_id, seconds, plays FROM play_hour_community "
                    "ORDER BY hour") == [("2026-11-30 15:00:00.000000", 1, 30.0, 1),
                                         ("2026-11-30 16:00:00.000000", 1, 45.0, 2)]
    engine.dispose()
