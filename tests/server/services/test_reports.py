"""Reports: exact seconds in the right Asia/Shanghai buckets, scoped by community,
planned against played agreeing with a hand-computed case."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from player import protocol
from server.db import db
from server.models import Role
from server.services import planned, plays, reports
from server.services import schedules as sched
from server.services.access import Actor
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    t1 = helpers.terminal(helpers.building(donghe, "1栋"))
    t2 = helpers.terminal(helpers.building(tianxin, "田心1栋"))
    return {"t1": t1, "t2": t2, "donghe": donghe, "tianxin": tianxin,
            "a": helpers.approved_image(donghe, "台风海报", "防台风", seconds=10),
            "b": helpers.approved_image(tianxin, "垃圾分类", "垃圾分类", seconds=20),
            "admin": Actor.of(helpers.user(Role.street_admin)),
            "donghe_staff": Actor.of(helpers.user(Role.viewer, donghe))}


def ingest(terminal, item, start: datetime, seconds: float):
    """As the player does: split at hour boundaries, then upload."""
    recs = [protocol.play_record(content_id=item.id, schedule_id=None, sha256=item.blob_sha256,
                                 start=a, end=b)
            for a, b in protocol.split_at_hours(start, start + timedelta(seconds=seconds))]
    accepted, rejected = plays.ingest(db, terminal, recs, now=datetime(2026, 12, 31, tzinfo=UTC))
    db.commit()
    assert rejected == []
    return accepted


def test_seconds_land_in_the_right_local_hours_and_days(w):
    # 23:59:30 local on 1 Dec to 00:00:45 on 2 Dec: 30 s on the 1st, 45 s on the 2nd.
    start = datetime(2026, 12, 1, 23, 59, 30, tzinfo=SH)
    ingest(w["t1"], w["a"], start, 75)
    p = reports.period(date(2026, 12, 1), date(2026, 12, 2))
    days = reports.playback(db, w["admin"], p, "day")
    assert [(r.key, r.seconds) for r in days] == [("2026-12-01", 30.0), ("2026-12-02", 45.0)]
    hours = reports.playback(db, w["admin"], p, "hour")
    assert [(r.key, r.seconds) for r in hours] == [("2026-12-01 23:00", 30.0),
                                                    ("2026-12-02 00:00", 45.0)]
    only_first = reports.playback(db, w["admin"], reports.period(date(2026, 12, 1), None), "day")
    assert [(r.key, r.seconds) for r in only_first] == [("2026-12-01", 30.0)]


def test_a_retried_batch_and_a_late_record(w):
    start = datetime(2026, 12, 1, 10, 0, tzinfo=SH)
    ids = ingest(w["t1"], w["a"], start, 3600)
    ingest(w["t1"], w["a"], start, 3600)  # the same plays again (new ids: a different play)
    recs = [protocol.play_record(content_id=w["a"].id, schedule_id=None,
                                 sha256=w["a"].blob_sha256, start=start,
                                 end=start + timedelta(seconds=3600), record_id=ids[0])]
    plays.ingest(db, w["t1"], recs, now=datetime(2026, 12, 31, tzinfo=UTC))  # a true retry
    db.commit()
    late = datetime(2026, 11, 20, 8, 0, tzinfo=SH)
    ingest(w["t1"], w["a"], late, 60)
    p = reports.period(date(2026, 11, 1), date(2026, 12, 31))
    by_day = {r.key: r.seconds for r in reports.playback(db, w["admin"], p, "day")}
    assert by_day == {"2026-12-01": 7200.0, "2026-11-20": 60.0}


def test_grouping_by_topic_building_community_and_scope(w):
    ingest(w["t1"], w["a"], datetime(2026, 12, 1, 9, tzinfo=SH), 600)
    ingest(w["t2"], w["b"], datetime(2026, 12, 1, 9, tzinfo=SH), 1200)
    p = reports.period(date(2026, 12, 1), None)
    topics = {r.label: r.seconds for r in reports.playback(db, w["admin"], p, "topic")}
    assert topics == {"防台风": 600.0, "垃圾分类": 1200.0}
    communities = {r.label: r.seconds for r in reports.playback(db, w["admin"], p, "community")}
    assert communities == {"东和": 600.0, "田心": 1200.0}
    mine = reports.playback(db, w["donghe_staff"], p, "community")
    assert [(r.label, r.seconds) for r in mine] == [("东和", 600.0)]
    # Naming another community as a filter shows nothing of it.
    other = reports.playback(db, w["donghe_staff"], p, "terminal",
                             reports.Filters(community_id=w["tianxin"].id))
    assert other == []
    h = reports.headline(db, w["admin"], p, with_planned=False)
    assert (h.topics, h.seconds, h.terminals_reporting) == (2, 1800.0, 2)


def test_planned_against_played_agrees_with_a_hand_computed_case(w, monkeypatch):
    editor = Actor.of(helpers.user(Role.editor, w["donghe"]))
    pl = sched.create_playlist(db, editor, "日常", [sched.EntryIn(w["a"].id)])
    sched.create_schedule(db, editor, name="上午", playlist_id=pl.id, kind="normal",
                          recurrence=sched.Recurrence(windows=[("09:00", "10:00")]),
                          targets=[sched.TargetIn("terminal", w["t1"].id)])
    w["t1"].created_at = datetime(2026, 11, 30, tzinfo=SH)
    w["t1"].planned_until = None
    db.commit()
    # The day is over: 09:00-10:00 planned = 3600 s; the terminal played 45 minutes.
    now = datetime(2026, 12, 2, 0, 5, tzinfo=SH)
    monkeypatch.setattr(reports, "utcnow", lambda: now)
    ingest(w["t1"], w["a"], datetime(2026, 12, 1, 9, 0, tzinfo=SH), 2700)
    planned.refresh(db, now)
    p = reports.period(date(2026, 12, 1), None)
    # Read from the hour rows while the day is open, from the day rows once it is closed.
    for close in (False, True):
        if close:
            closed = planned.close_hours(db, now + timedelta(minutes=10))
            assert closed[-1] == datetime(2026, 12, 1, 23, tzinfo=SH)
        rows = reports.planned_vs_played(db, w["admin"], p, "content")
        assert [(r.label, r.extra["planned"], r.seconds) for r in rows] == [("台风海报", 3600.0,
                                                                             2700.0)]
    by_terminal = reports.planned_vs_played(db, w["admin"], p, "terminal")
    t1_row = next(r for r in by_terminal if r.key == w["t1"].id)
    assert t1_row.extra["offline_seconds"] == 86400.0  # no heartbeat was ever recorded
    assert t1_row.extra["broadcast_seconds"] == 0.0
    h = reports.headline(db, w["admin"], p)
    assert h.planned_seconds == 3600.0 and h.share_played == pytest.approx(0.75)
    # A full-screen broadcast held the screen for 10 of the 15 missing minutes.
    from server.models import Broadcast

    alert = helpers.approved_image(w["donghe"], "暴雨预警", "防台风", seconds=60)
    db.add(Broadcast(street_id=alert.street_id, mode="full", content_id=alert.id,
                     reason="气象台", starts_at=datetime(2026, 12, 1, 9, 45, tzinfo=SH)))
    db.commit()
    ingest(w["t1"], alert, datetime(2026, 12, 1, 9, 45, tzinfo=SH), 600)
    by_terminal = reports.planned_vs_played(db, w["admin"], p, "terminal")
    t1_row = next(r for r in by_terminal if r.key == w["t1"].id)
    assert t1_row.extra["broadcast_seconds"] == 600.0


def test_periods_are_bounded(w):
    with pytest.raises(reports.Invalid):
        reports.period(date(2026, 12, 5), date(2026, 12, 1))
    with pytest.raises(reports.Invalid):
        reports.period(date(2020, 1, 1), date(2026, 1, 1))


def test_purge_drops_old_raw_records_and_keeps_the_rollups(w, runner):
    from sqlalchemy import func, select

    from server.models import PlayHour, PlayRecord

    old = datetime.now(UTC) - timedelta(days=200)  # retention: 180 days of uploads
    recent = datetime.now(UTC) - timedelta(days=2)
    for start in (old, recent):
        recs = [protocol.play_record(content_id=w["a"].id, schedule_id=None,
                                     sha256=w["a"].blob_sha256, start=start.replace(minute=0),
                                     end=start.replace(minute=0) + timedelta(seconds=30))]
        plays.ingest(db, w["t1"], recs, now=start.replace(minute=1))  # received then
    db.commit()
    out = runner.invoke(args=["report", "purge"])
    assert out.exit_code == 0 and out.output.startswith("1 raw play records")
    assert db.scalar(select(func.count()).select_from(PlayRecord)) == 1
    assert db.scalar(select(func.sum(PlayHour.seconds))) == 60.0
    assert runner.invoke(args=["report", "purge", "--days", "0"]).exit_code != 0


def test_the_slices_agree_with_terminal_by_content(w):
    """Groupings read per-terminal and per-item rollups; they must add up to play_day."""
    from sqlalchemy import func, select

    from server.models import Broadcast, PlayDay

    t3 = helpers.terminal(helpers.building(w["donghe"], "2栋"))
    alert = helpers.approved_image(w["donghe"], "暴雨预警", "防台风", seconds=60)
    db.add(Broadcast(street_id=alert.street_id, mode="full", content_id=alert.id, reason="x",
                     starts_at=datetime(2026, 12, 1, tzinfo=SH)))
    for t in (w["t1"], w["t2"], t3):
        t.created_at = datetime(2026, 11, 1, tzinfo=SH)
    db.commit()
    for t, item, hour, seconds in ((w["t1"], w["a"], 9, 600), (w["t1"], alert, 10, 120),
                                   (t3, w["a"], 23, 4000), (w["t2"], w["b"], 8, 300)):
        ingest(t, item, datetime(2026, 11, 30, hour, 0, tzinfo=SH), seconds)
    p = reports.period(date(2026, 11, 15), date(2026, 12, 3))
    for by in ("topic", "content", "terminal", "building", "community"):
        key = getattr(PlayDay, f"{by}_id")
        expected = dict(db.execute(select(key, func.sum(PlayDay.seconds)).group_by(key)).all())
        got = {r.key: r.seconds for r in reports.playback(db, w["admin"], p, by)}
        assert got == expected, by
    rows = reports.planned_vs_played(db, w["admin"], p, "terminal")
    assert {r.key: r.extra["broadcast_seconds"] for r in rows} == {
        w["t1"].id: 120.0, w["t2"].id: 0.0, t3.id: 0.0}
    # A filter that needs terminal x content reads play_day and gives the same rows.
    only_a = reports.playback(db, w["admin"], p, "terminal",
                              reports.Filters(content_id=w["a"].id))
    assert {r.key: r.seconds for r in only_a} == {w["t1"].id: 600.0, t3.id: 4000.0}
    h = reports.headline(db, w["admin"], p, with_planned=False)
    assert (h.topics, h.seconds, h.terminals_reporting) == (2, 5020.0, 3)
