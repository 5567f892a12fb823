"""`seed-demo --history`: two days of the demo schedule played by the player's own loop on a
simulated clock, stored through the server's ingest, read back by the reports."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from server.db import db
from server.models import Playlist, PlayRecord, Schedule, Terminal, Topic, User
from server.services import demo, demo_history, plays, reports
from server.services.access import Actor
from tests.helpers import PASSWORD, login

ON = ((time(7, 0), time(9, 30)), (time(17, 30), time(21, 30)))  # the rush-hours plan's
ON_SECONDS_A_DAY = 6.5 * 3600


def _one_of_each_size(terminals: list[Terminal]) -> list[Terminal]:
    sizes: dict[tuple, Terminal] = {}
    for t in terminals:
        sizes.setdefault((t.width, t.height, t.colour_mode), t)
    return list(sizes.values())


def _local(t: datetime) -> datetime:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(plays.TZ)  # SQLite: naive UTC


def _lit(start: datetime, end: datetime) -> bool:
    """[start, end) lies in one of the day's screen-on windows, in Shanghai time."""
    a, b = _local(start), _local(end)
    return a < b and a.date() == b.date() and any(
        lo <= a.time() and b.time() <= hi for lo, hi in ON)


def test_demo_history_is_the_seeds_headline_backed_by_proof_of_play(
        runner, client, monkeypatch) -> None:
    monkeypatch.setenv("SIGNAGE_DEMO_PASSWORD", PASSWORD)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert demo.ensure_rush_hours(db)
    db.commit()
    chosen = _one_of_each_size(demo_history.donghe_terminals(db))
    assert len(chosen) == 5  # every panel size of 东和, mono included
    done = demo_history.run(db, 2, terminals=chosen)
    ids = [t.id for t in chosen]

    every = db.execute(select(PlayRecord.terminal_id, PlayRecord.content_id,
                              PlayRecord.schedule_id, PlayRecord.topic_id, PlayRecord.region,
                              PlayRecord.start, PlayRecord.end, PlayRecord.seconds)).all()
    assert {r.terminal_id for r in every} == set(ids) and len(every) == done.records
    # Each terminal: exactly its 6.5 lit hours a day in the main region and in the standard
    # layout's 滚动字幕, and in its title image except on the single-colour module (no image
    # there); nothing while the screen is off.
    mono = {t.id for t in chosen if t.colour_mode.value == "mono"}
    for tid in ids:
        for region, want in (("main", 2), ("ticker", 2), ("image", 0 if tid in mono else 2)):
            assert sum(r.seconds for r in every if r.terminal_id == tid and r.region == region
                       ) == pytest.approx(want * ON_SECONDS_A_DAY, abs=1e-3), (tid, region)
    assert all(_lit(r.start, r.end) for r in every)
    records = [r for r in every if r.region == "main"]
    # What played is the demo schedule's playlist, all 36 topics of it.
    main = db.scalar(select(Schedule).where(Schedule.name == "全天播放"))
    playlist = db.get(Playlist, main.playlist_id)
    assert {r.schedule_id for r in records} == {main.id}
    assert {r.content_id for r in records} == {e.content_id for e in playlist.entries}
    played_topics = set(db.scalars(select(Topic.name).where(
        Topic.id.in_({r.topic_id for r in records}))))
    assert played_topics == set(demo.DEMO_TOPICS) and len(played_topics) == 36

    # The report over the history: its headline is the records' seconds.
    admin = Actor.of(db.scalar(select(User).where(User.username == "donghe_admin")))
    today = done.end.astimezone(plays.TZ).date()
    p = reports.period(done.start.astimezone(plays.TZ).date(), today)
    head = reports.headline(db, admin, p)
    assert head.topics == 36
    assert head.seconds == pytest.approx(db.scalar(select(func.sum(PlayRecord.seconds))
                                                   .where(PlayRecord.region == "main")),
                                         abs=1e-3)
    assert head.hours_figure == "65.0"  # 5 screens x 6.5 h x 2 days
    # Yesterday, a whole day of the history (today's planned time still grows with the
    # clock): planned against played is 100 %, the screens lit exactly their 6.5 hours.
    yesterday = reports.period(today - timedelta(days=1), today - timedelta(days=1))
    assert reports.headline(db, admin, yesterday).share_played == pytest.approx(1.0)
    rows = {r.key: r for r in reports.planned_vs_played(db, admin, yesterday, "terminal")}
    for tid in ids:
        row = rows[tid]
        assert row.seconds == pytest.approx(ON_SECONDS_A_DAY, abs=1e-3)
        assert row.extra["planned"] == pytest.approx(ON_SECONDS_A_DAY, abs=1e-3)
        assert row.extra["online_seconds"] == pytest.approx(86_400, abs=1e-3)
        assert row.extra["screen_on_seconds"] == pytest.approx(ON_SECONDS_A_DAY, abs=1e-3)
        assert not row.extra["reasons"] and not row.extra["unexplained"]

    # The page's header shows the headline for the chosen period.
    login(client, db.scalar(select(User).where(User.username == "donghe_admin")))
    page = client.get(f"/reports/?from={p.first}&to={p.last}").get_data(as_text=True)
    assert "36 个主题 · 65.0 播放小时" in page

    # Once there is proof of play, a second history is refused, not added on top.
    with pytest.raises(demo_history.HistoryRefused):
        demo_history.run(db, 1, terminals=chosen)
