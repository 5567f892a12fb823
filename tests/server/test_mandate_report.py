"""Mandate reports from proof of play: a met and a missed mandate, hour by hour, with the
reasons of the missed hours; the local window against UTC hours; community scoping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from player import protocol
from server.db import db
from server.models import (
    Broadcast,
    Mandate,
    MandateTarget,
    PlannedHour,
    PlayHour,
    Role,
    UptimeHour,
)
from server.services import mandate_report, plays, reports
from server.services.access import Actor
from server.services.errors import NotFound
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 1)
MINUTE = 60.0


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=SH)


def ingest(terminal, item, start: datetime, seconds: float) -> None:
    """As the player does: split at hour boundaries, then upload."""
    recs = [protocol.play_record(content_id=item.id, schedule_id=None, sha256=item.blob_sha256,
                                 start=a, end=b)
            for a, b in protocol.split_at_hours(start, start + timedelta(seconds=seconds))]
    _accepted, rejected = plays.ingest(db, terminal, recs, now=datetime(2026, 12, 31, tzinfo=UTC))
    db.commit()
    assert rejected == []


def uptime(terminal, hour: int, online: float = 3600.0, lit: float | None = None) -> None:
    db.add(UptimeHour(terminal_id=terminal.id, hour=at(hour).astimezone(UTC),
                      online_seconds=online, screen_on_seconds=online if lit is None else lit))
    db.commit()


def make_mandate(owner, topic_id: int | None, community=None, kind: str = "minutes",
                 share: float = 10, window: tuple[str, str] = ("08:00", "12:00"),
                 targets: tuple = (("street", None),)) -> Mandate:
    m = Mandate(street_id=owner.street_id, community_id=community.id if community else None,
                name="反诈宣传", authority="区反诈中心", topic_id=topic_id, content_ids=[],
                share_kind=kind, share=share, window_start=window[0], window_end=window[1],
                start_date=DAY, end_date=DAY,
                targets=[MandateTarget(kind=k, ref_id=r) for k, r in targets])
    db.add(m)
    db.commit()
    return m


@pytest.fixture
def w(app, monkeypatch):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    t1 = helpers.terminal(helpers.building(donghe, "1栋"))
    t2 = helpers.terminal(helpers.building(donghe, "2栋"))
    t3 = helpers.terminal(helpers.building(tianxin, "田心1栋"))
    for t in (t1, t2, t3):
        t.created_at = datetime(2026, 11, 30, tzinfo=SH)
    db.commit()
    fraud = helpers.approved_image(None, "反诈海报", "反诈", seconds=60)
    alert = helpers.approved_image(None, "暴雨预警", "预警", seconds=60)
    db.add(Broadcast(street_id=alert.street_id, mode="full", content_id=alert.id, reason="气象台",
                     starts_at=at(10)))
    db.commit()
    admin = helpers.user(Role.street_admin)
    # The day is over (and 10 minutes more), so every hour of the window is judged.
    monkeypatch.setattr(mandate_report, "utcnow", lambda: datetime(2026, 12, 2, 0, 10, tzinfo=SH))
    return {"t1": t1, "t2": t2, "t3": t3, "donghe": donghe, "tianxin": tianxin,
            "fraud": fraud, "alert": alert, "admin": Actor.of(admin),
            "donghe_staff": Actor.of(helpers.user(Role.viewer, donghe)),
            "m": make_mandate(admin, fraud.topic_id)}


def run(w, actor=None, **kw) -> mandate_report.Report:
    return mandate_report.report(db, actor or w["admin"], w["m"].id, reports.period(DAY, DAY),
                                 **kw)


def row(r: mandate_report.Report, terminal) -> mandate_report.ScreenDay:
    return next(x for x in r.screens if x.terminal_id == terminal.id)


def test_a_met_and_a_missed_mandate_hour_by_hour(w):
    t1, t2, fraud, alert = w["t1"], w["t2"], w["fraud"], w["alert"]
    for h in (8, 9, 10, 11):  # t1: ten minutes of every window hour, online and lit
        ingest(t1, fraud, at(h, 20), 600)
        uptime(t1, h)
    for h in (8, 11):  # ten minutes planned
        db.add(PlannedHour(terminal_id=t2.id, hour=at(h).astimezone(UTC), content_id=fraud.id,
                           building_id=t2.building_id, topic_id=fraud.topic_id,
                           community_id=w["donghe"].id, seconds=600.0))
    db.commit()
    ingest(t2, fraud, at(8, 30), 240)  # 4 minutes where 10 were planned
    uptime(t2, 8)
    uptime(t2, 9, online=25 * MINUTE)  # offline 35 minutes, nothing played
    uptime(t2, 10)
    ingest(t2, alert, at(10, 5), 600)  # a full-screen broadcast held the screen
    uptime(t2, 11, lit=20 * MINUTE)  # planned, online, but dark for 40 minutes
    for h in (8, 9, 10, 11):
        uptime(w["t3"], h)

    r = run(w, hours=True)
    met, missed = row(r, t1), row(r, t2)
    assert (met.met, met.hours_met, met.hours_total, met.reason) == (True, 4, 4, None)
    assert [h.played_s for h in met.hours] == [600.0] * 4
    assert (missed.met, missed.hours_met, missed.hours_total) == (False, 0, 4)
    assert [(h.start.hour, h.reason, h.reason_s) for h in missed.hours] == [
        (8, "played_short", 240.0), (9, "offline", 35 * MINUTE), (10, "broadcast", 600.0),
        (11, "screen_off", 40 * MINUTE)]
    # Offline time counts as lit (the hour still requires 10 minutes); dark time does not.
    assert [h.required_s for h in missed.hours] == [600.0, 600.0, 600.0, 600.0]
    # Tianxin's screen, reached street-wide, had nothing planned and played nothing.
    t3 = row(r, w["t3"])
    assert (t3.hours_met, t3.reason, t3.reason_hours) == (0, "plan_short", 4)
    assert [(d.day, d.screens, d.screens_met, d.hours, d.hours_met) for d in r.days] == [
        (DAY, 3, 1, 12, 4)]
    assert (r.screen_days, r.screen_days_met, r.hours, r.hours_met) == (3, 1, 12, 4)
    # Without `hours` the screen-days carry their figures only.
    assert run(w).screens[0].hours is None


def test_the_local_window_is_read_in_utc_hours(w):
    t1, fraud = w["t1"], w["fraud"]
    ingest(t1, fraud, at(7, 50), 600)  # 07:50-08:00 before the window, 08:00-08:00 in it
    uptime(t1, 8)
    first = PlayHour.__table__
    stored = db.execute(first.select().where(first.c.terminal_id == t1.id)
                        .order_by(first.c.hour)).all()
    # 08:00 in Shanghai is midnight UTC: the window's first hour is that UTC hour.
    assert [(r.hour.astimezone(UTC), r.seconds) for r in stored] == [
        (datetime(2026, 11, 30, 23, tzinfo=UTC), 600.0)]
    hours = row(run(w, terminal_id=t1.id), t1).hours
    assert hours[0].start == at(8) and hours[0].start.astimezone(UTC) == datetime(
        2026, 12, 1, 0, tzinfo=UTC)
    assert hours[0].played_s == 0.0  # 07:50's plays are the 07:00 hour's
    ingest(t1, fraud, at(8, 0), 600)
    assert row(run(w, terminal_id=t1.id), t1).hours[0].played_s == 600.0


def test_window_hours_run_past_midnight():
    m = Mandate(window_start="22:00", window_end="02:00")
    assert [h.isoformat() for h, _ in mandate_report.window_hours(m, DAY)] == [
        "2026-12-01T22:00:00+08:00", "2026-12-01T23:00:00+08:00",
        "2026-12-02T00:00:00+08:00", "2026-12-02T01:00:00+08:00"]
    m = Mandate(window_start="08:30", window_end="10:00")  # every hour it touches
    assert [(h.hour, part) for h, part in mandate_report.window_hours(m, DAY)] == [
        (8, 1800.0), (9, 3600.0)]


def test_percent_of_lit_time_and_hours_not_over(w, monkeypatch):
    w["m"].share_kind, w["m"].share = "percent", 25
    db.commit()
    t1, fraud = w["t1"], w["fraud"]
    uptime(t1, 8, lit=20 * MINUTE)  # 25 % of 20 lit minutes: 5 minutes required
    ingest(t1, fraud, at(8, 10), 300)
    uptime(t1, 9)
    ingest(t1, fraud, at(9, 10), 600)
    monkeypatch.setattr(mandate_report, "utcnow", lambda: at(10, 30))
    hours = row(run(w, terminal_id=t1.id), t1).hours
    # 10:00-11:00 is not over at 10:30: judged hours are the two that are.
    assert [(h.start.hour, h.required_s, h.met) for h in hours] == [(8, 300.0, True),
                                                                    (9, 900.0, False)]


def test_community_staff_see_their_screens_and_mandates_only(w):
    t1 = w["t1"]
    mine = run(w, w["donghe_staff"])
    assert {r.terminal_id for r in mine.screens} == {t1.id, w["t2"].id}
    tianxin_staff = Actor.of(helpers.user(Role.viewer, w["tianxin"]))
    donghe_only = make_mandate(helpers.user(Role.community_admin, w["donghe"]),
                               w["fraud"].topic_id, community=w["donghe"],
                               targets=(("building", t1.building_id),))
    with pytest.raises(NotFound):
        mandate_report.report(db, tianxin_staff, donghe_only.id, reports.period(DAY, DAY))
    assert [m for m, _ in mandate_report.visible(db, tianxin_staff)] == [w["m"].id]
    # A mandate on one building reaches its screens only.
    r = mandate_report.report(db, w["admin"], donghe_only.id, reports.period(DAY, DAY))
    assert [x.terminal_id for x in r.screens] == [t1.id]


def test_a_screen_its_plan_turns_off_is_short_of_plan_not_of_light(w):
    t1, fraud = w["t1"], w["fraud"]
    uptime(t1, 8, lit=30 * MINUTE)  # the screen plan lights it at 08:30
    ingest(t1, fraud, at(8, 40), 60)
    db.add(PlannedHour(terminal_id=t1.id, hour=at(8).astimezone(UTC), content_id=fraud.id,
                       building_id=t1.building_id, topic_id=fraud.topic_id,
                       community_id=w["donghe"].id, seconds=60.0))
    db.commit()
    first = row(run(w, terminal_id=t1.id), t1).hours[0]
    assert (first.required_s, first.reason, first.reason_s) == (600.0, "plan_short", 60.0)
