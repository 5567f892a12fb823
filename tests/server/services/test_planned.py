"""Planned time stored like played time: written ahead, rewritten after a change for exactly
the hours it touches, starting when the terminal was created, closed into days and months,
and equal to what the resolver's timeline says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

import playlists as pm
from server.db import SessionFactory, db
from server.models import (
    PlannedContentMonth,
    PlannedDay,
    PlannedHour,
    PlannedMonth,
    PlannedTerminalDay,
    Role,
    Terminal,
)
from server.services import changes, manifests, planned, reports
from server.services import schedules as sched
from server.services.access import Actor
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
D = date(2026, 12, 1)  # a Tuesday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH).astimezone(UTC)


def hours_of(terminal_id: int) -> dict[str, float]:
    """planned_hour of one terminal as {"MM-DD HH:MM" local: seconds}, zero rows left out."""
    rows = db.execute(select(PlannedHour.hour, func.sum(PlannedHour.seconds))
                      .where(PlannedHour.terminal_id == terminal_id)
                      .group_by(PlannedHour.hour)).all()
    return {h.astimezone(SH).strftime("%m-%d %H:%M"): round(sec, 6) for h, sec in rows if sec}


@pytest.fixture
def w(app, monkeypatch):
    donghe = helpers.community("东和")
    t = helpers.terminal(helpers.building(donghe, "1栋"))
    t.created_at = at(D - timedelta(days=1), 0)
    t.planned_until = None
    db.commit()
    editor = Actor.of(helpers.user(Role.editor, donghe))
    item = helpers.approved_image(donghe, "台风海报", "防台风", seconds=10)
    playlist = sched.create_playlist(db, editor, "夜间", [sched.EntryIn(item.id)])
    db.commit()
    clock = {"now": at(D, 12)}
    monkeypatch.setattr(changes, "utcnow", lambda: clock["now"])
    return {"t": t, "editor": editor, "item": item, "playlist": playlist, "clock": clock,
            "donghe": donghe}


def night_schedule(w, windows) -> int:
    sc = sched.create_schedule(db, w["editor"], name="夜间", playlist_id=w["playlist"].id,
                               kind="normal", recurrence=sched.Recurrence(windows=windows),
                               targets=[sched.TargetIn("terminal", w["t"].id)])
    db.commit()
    return sc.id


def test_a_schedule_edit_rewrites_exactly_the_hours_it_changes(w):
    sid = night_schedule(w, [("23:00", "01:00")])
    planned.refresh(db, w["clock"]["now"])  # D 12:00: written from creation to D+1's end
    night = {"11-30 00:00": 3600.0, "11-30 23:00": 3600.0, "12-01 00:00": 3600.0,
             "12-01 23:00": 3600.0, "12-02 00:00": 3600.0, "12-02 23:00": 3600.0}
    assert hours_of(w["t"].id) == night
    assert db.get(Terminal, w["t"].id).planned_until == at(D + timedelta(days=2), 0)

    # At 12:00 on D the window grows to 22:00-02:00: from D's evening on, not before.
    sched.update_schedule(db, w["editor"], sid,
                          recurrence=sched.Recurrence(windows=[("22:00", "02:00")]))
    db.commit()
    assert db.get(Terminal, w["t"].id).replan_from == at(D, 12)
    planned.refresh(db, at(D, 12, 0) + timedelta(seconds=5))
    assert hours_of(w["t"].id) == {
        "11-30 00:00": 3600.0, "11-30 23:00": 3600.0, "12-01 00:00": 3600.0,  # before
        "12-01 22:00": 3600.0, "12-01 23:00": 3600.0, "12-02 00:00": 3600.0,
        "12-02 01:00": 3600.0, "12-02 22:00": 3600.0, "12-02 23:00": 3600.0}
    assert db.get(Terminal, w["t"].id).replan_from is None

    # Switched off at 23:30 on D: that hour keeps its first half, the rest is gone.
    w["clock"]["now"] = at(D, 23, 30)
    sched.update_schedule(db, w["editor"], sid, active=False)
    db.commit()
    planned.refresh(db, at(D, 23, 31))
    assert hours_of(w["t"].id) == {
        "11-30 00:00": 3600.0, "11-30 23:00": 3600.0, "12-01 00:00": 3600.0,
        "12-01 22:00": 3600.0, "12-01 23:00": 1800.0}


def test_planned_time_starts_when_the_terminal_was_created(w, monkeypatch):
    night_schedule(w, [("00:00", "00:00")])  # all day
    late = helpers.terminal(helpers.building(w["donghe"], "2栋"))
    late.created_at = at(D, 15, 40)
    late.planned_until = None
    db.commit()
    sched.update_schedule(db, w["editor"], db.scalar(select(sched.Schedule.id)),
                          targets=[sched.TargetIn("community", w["donghe"].id)])
    db.commit()
    planned.refresh(db, at(D, 16))
    hours = hours_of(late.id)
    assert hours["12-01 15:00"] == 1200.0 and hours["12-01 16:00"] == 3600.0
    assert "12-01 14:00" not in hours and len(hours) == 9 + 24  # 15:00..23:00, then D+1

    # A report counts it up to now, the hour now is in only as far as it has passed.
    admin = Actor.of(helpers.user(Role.street_admin))
    day = reports.period(D, D)
    for now, seconds in ((at(D, 15, 50), 600.0), (at(D, 16, 10), 1800.0)):
        monkeypatch.setattr(reports, "utcnow", lambda now=now: now)
        by_terminal = reports.planned(db, admin, day, "terminal")
        assert by_terminal[late.id] == pytest.approx(seconds)


def test_hours_close_into_day_and_month_rows_once(w):
    night_schedule(w, [("23:00", "01:00")])
    planned.refresh(db, at(D, 12))
    closed = planned.close_hours(db, at(D, 12))  # from the creation, 36 hours ago
    assert (closed[0], closed[-1]) == (at(D - timedelta(days=1), 0), at(D, 10))
    # The hour 23:00 on D is over at midnight but closes only ten minutes later.
    assert planned.close_hours(db, at(D + timedelta(days=1), 0, 5))[-1] == at(D, 22)
    assert planned.close_hours(db, at(D + timedelta(days=1), 0, 15)) == [at(D, 23)]
    assert planned.close_hours(db, at(D + timedelta(days=1), 0, 20)) == []
    days = dict(db.execute(select(PlannedDay.day, PlannedDay.seconds)).all())
    assert days == {D - timedelta(days=1): 7200.0, D: 7200.0}
    assert db.scalar(select(PlannedMonth.seconds).where(PlannedMonth.month == date(2026, 12, 1))
                     ) == 7200.0
    assert db.scalar(select(PlannedMonth.seconds).where(PlannedMonth.month == date(2026, 11, 1))
                     ) == 7200.0
    assert planned.closed_before(db) == at(D + timedelta(days=1), 0)
    # The slices hold the same seconds.
    assert db.scalar(select(func.sum(PlannedTerminalDay.seconds))) == 14400.0
    assert db.scalar(select(func.sum(PlannedContentMonth.seconds))) == 14400.0


def test_a_change_during_the_write_leaves_the_terminal_marked(w, monkeypatch):
    sid = night_schedule(w, [("23:00", "01:00")])
    planned.refresh(db, at(D, 12))
    sched.update_schedule(db, w["editor"], sid,
                          recurrence=sched.Recurrence(windows=[("22:00", "02:00")]))
    db.commit()
    real = pm.planned_by_hour

    def with_a_change_meanwhile(plan, start, end):
        with SessionFactory() as other:  # another request, committed while this one computes
            changes.touch(other, [w["t"].id])
            other.commit()
        return real(plan, start, end)

    monkeypatch.setattr(pm, "planned_by_hour", with_a_change_meanwhile)
    assert planned.refresh(db, at(D, 12, 1)) == 0
    db.expire_all()
    assert db.get(Terminal, w["t"].id).replan_from is not None
    monkeypatch.setattr(pm, "planned_by_hour", real)
    assert planned.refresh(db, at(D, 12, 2)) == 1
    assert hours_of(w["t"].id)["12-01 22:00"] == 3600.0


def test_a_deleted_terminal_plans_nothing_after_its_deletion(w):
    night_schedule(w, [("00:00", "00:00")])
    planned.refresh(db, at(D, 12))
    planned.forget(db, w["t"].id, at(D, 12, 15))
    db.commit()
    hours = hours_of(w["t"].id)
    assert hours["12-01 12:00"] == 900.0 and "12-01 13:00" not in hours


def _old_path(plan, start: datetime, end: datetime) -> dict[int, float]:
    """How reports computed planned seconds per content before they were stored."""
    out: dict[int, float] = {}
    for seg in pm.timeline(pm.compile_plan(plan), start, end):
        if seg.item is not None and pm.screen_state(plan, seg.start).on:
            out[seg.item.content_id] = out.get(seg.item.content_id, 0.0) + seg.seconds
    return out


def test_stored_planned_equals_the_resolvers_timeline(w):
    """The old, computed-per-request path is the oracle, over several terminals and days."""
    other = helpers.approved_image(w["donghe"], "垃圾分类", "垃圾分类", seconds=25)
    both = sched.create_playlist(db, w["editor"], "日常", [sched.EntryIn(w["item"].id),
                                                         sched.EntryIn(other.id)])
    sched.create_schedule(db, w["editor"], name="日常", playlist_id=both.id, kind="normal",
                          recurrence=sched.Recurrence(windows=[("07:00", "21:30")],
                                                      weekdays=[0, 1, 2, 3, 4]),
                          targets=[sched.TargetIn("community", w["donghe"].id)])
    night_schedule(w, [("20:00", "08:00")])
    sched.create_screen_plan(db, Actor.of(helpers.user(Role.community_admin, w["donghe"])),
                             name="夜间关屏", screen_on=False, brightness=0,
                             recurrence=sched.Recurrence(windows=[("01:00", "05:00")]),
                             targets=[sched.TargetIn("community", w["donghe"].id)])
    db.commit()
    small = helpers.terminal(helpers.building(w["donghe"], "3栋"), 128, 64)
    for t in (w["t"], small):
        t.created_at, t.planned_until = at(D - timedelta(days=3), 0), None
    db.commit()
    planned.refresh(db, at(D, 12))
    for t in (w["t"], small):
        plan = manifests.build_plan(db, db.get(Terminal, t.id), D - timedelta(days=3))
        for day in (D - timedelta(days=3), D - timedelta(days=2), D, D + timedelta(days=1)):
            a, b = at(day, 0), at(day + timedelta(days=1), 0)
            stored = dict(db.execute(
                select(PlannedHour.content_id, func.sum(PlannedHour.seconds))
                .where(PlannedHour.terminal_id == t.id, PlannedHour.hour >= a,
                       PlannedHour.hour < b).group_by(PlannedHour.content_id)).all())
            assert stored == pytest.approx(_old_path(plan, a, b)), (t.id, day)


# --- short write transactions -----------------------------------------------------------


class RowsPerTransaction:
    """planned_hour rows each transaction of `engine` writes, counted from the statements
    the driver is given (SQLAlchemy's engine events), closed at every commit or rollback."""

    def __init__(self, engine) -> None:
        self.engine, self.open, self.closed = engine, 0, []
        self._hooks = [("before_cursor_execute", self._statement),
                       ("commit", self._end), ("rollback", self._end)]
        for name, fn in self._hooks:
            event.listen(engine, name, fn)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PLANNED_HOUR"):
            self.open += len(parameters) if executemany else 1

    def _end(self, conn) -> None:
        if self.open:
            self.closed.append(self.open)
        self.open = 0

    def remove(self) -> None:
        for name, fn in self._hooks:
            event.remove(self.engine, name, fn)


def many_items_all_day(w, count: int) -> None:
    """`count` items in one all-day playlist on w's terminal: `count` rows an hour."""
    items = [helpers.approved_image(w["donghe"], f"通知{n}", "便民服务") for n in range(count)]
    playlist = sched.create_playlist(db, w["editor"], "全天",
                                     [sched.EntryIn(item.id) for item in items])
    sched.create_schedule(db, w["editor"], name="全天", playlist_id=playlist.id, kind="normal",
                          recurrence=sched.Recurrence(windows=[("00:00", "00:00")]),
                          targets=[sched.TargetIn("terminal", w["t"].id)])
    db.commit()


def test_the_planned_time_job_writes_in_short_transactions(w):
    """A terminal's 72 hours x 10 items are committed in parts of whole hours, none over
    MAX_ROWS_PER_COMMIT rows, so a sign-in or a heartbeat never waits behind a terminal's
    (or a whole run's) writing for SQLite's one write lock."""
    many_items_all_day(w, 10)
    counter = RowsPerTransaction(db.get_bind())
    try:
        assert planned.refresh(db, at(D, 12)) == 1  # from its creation on D-1 to D+1's end
    finally:
        counter.remove()
    assert sum(counter.closed) == 72 * 10
    assert len(counter.closed) > 1
    assert max(counter.closed) <= planned.MAX_ROWS_PER_COMMIT
    hours = hours_of(w["t"].id)
    assert len(hours) == 72 and set(hours.values()) == {3600.0}
    assert db.get(Terminal, w["t"].id).planned_until == at(D + timedelta(days=2), 0)


def test_a_change_between_two_parts_leaves_the_terminal_marked_from_the_first(w, monkeypatch):
    many_items_all_day(w, 10)
    real = planned._write_part
    parts = []

    def then_a_change(*args, **kwargs):
        done = real(*args, **kwargs)
        parts.append(done)
        if len(parts) == 1:  # another request's change, committed between the two parts
            with SessionFactory() as other:
                changes.touch(other, [w["t"].id])
                other.commit()
        return done

    monkeypatch.setattr(planned, "_write_part", then_a_change)
    assert planned.refresh(db, at(D, 12)) == 0
    assert parts == [True, False]
    db.expire_all()
    t = db.get(Terminal, w["t"].id)
    first_end = at(D - timedelta(days=1), 0) + 50 * HOUR  # 500 rows: 50 hours of 10
    assert (t.planned_until, t.replan_from) == (first_end, at(D, 12))
    assert len(hours_of(t.id)) == 50
    monkeypatch.setattr(planned, "_write_part", real)
    assert planned.refresh(db, at(D, 12, 1)) == 1
    hours = hours_of(t.id)
    assert len(hours) == 72 and set(hours.values()) == {3600.0}


def test_a_change_that_leaves_the_plan_rewrites_only_its_own_hour(w):
    """A new file of an item, or any change whose plan gives the same seconds: the hours
    after the change's own are already right and are not written again (a fleet's worth
    of them held SQLite's write lock for seconds after every publish); the stored time is
    what a full rewrite gives."""
    many_items_all_day(w, 10)
    planned.refresh(db, at(D, 12))
    w["clock"]["now"] = at(D, 15, 30)
    changes.touch(db, [w["t"].id])  # as approving a new file of one of the items does
    db.commit()
    before = hours_of(w["t"].id)
    counter = RowsPerTransaction(db.get_bind())
    try:
        assert planned.refresh(db, at(D, 15, 31)) == 1
    finally:
        counter.remove()
    assert counter.closed == [10]  # the half hour left of 15:00, per item, added
    assert hours_of(w["t"].id) == before
    t = db.get(Terminal, w["t"].id)
    assert (t.planned_until, t.replan_from) == (at(D + timedelta(days=2), 0), None)

    # A change that does alter the plan still rewrites the later hours.
    sc = db.scalar(select(sched.Schedule.id).where(sched.Schedule.name == "全天"))
    w["clock"]["now"] = at(D, 16, 0)
    sched.update_schedule(db, w["editor"], sc,
                          recurrence=sched.Recurrence(windows=[("00:00", "20:00")]))
    db.commit()
    assert planned.refresh(db, at(D, 16, 1)) == 1
    hours = hours_of(w["t"].id)
    assert "12-01 19:00" in hours and "12-01 20:00" not in hours
    assert hours["12-01 15:00"] == 3600.0
