"""Proof of play per layout region: each record keeps its region, every rollup keeps each
region's time apart, a retried batch adds nothing, and migration 0019 makes the rows there
were the main region's, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from player import protocol
from server import migrate
from server.db import db
from server.models import (
    PlayContentDay,
    PlayContentMonth,
    PlayDay,
    PlayHour,
    PlayHourCommunity,
    PlayMonth,
    PlayRecord,
    PlayTerminalDay,
    PlayTerminalMonth,
)
from server.services import plays
from tests import helpers

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 1, 31, tzinfo=UTC)
START = datetime(2026, 12, 1, 9, 30, tzinfo=SH)  # 01:30 UTC
ROLLUPS = (PlayHour, PlayDay, PlayMonth, PlayHourCommunity, PlayTerminalDay,
           PlayTerminalMonth, PlayContentDay, PlayContentMonth)


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    return {"t": helpers.terminal(helpers.building(donghe, "1栋")),
            "clip": helpers.approved_image(donghe, "宣传片", "社区宣传"),
            "line": helpers.approved_image(donghe, "停水通知", "停水停电")}


def record(item, seconds: float, region: str | None, at: datetime = START,
           record_id: str | None = None) -> dict:
    rec = protocol.play_record(content_id=item.id, schedule_id=None, sha256=item.blob_sha256,
                               start=at, end=at + timedelta(seconds=seconds),
                               record_id=record_id)
    if region is None:
        del rec["region"]  # as a version-1 player sends it
    else:
        rec["region"] = region
    return rec


def ingest(terminal, recs: list[dict]) -> list[str]:
    accepted, rejected = plays.ingest(db, terminal, recs, now=NOW)
    db.commit()
    assert rejected == []
    return accepted


def by_region(model) -> dict[str, tuple[float, int]]:
    rows = db.execute(select(model.region, model.seconds, model.plays)).all()
    assert len({r.region for r in rows}) == len(rows)  # one row per region here
    return {r.region: (r.seconds, r.plays) for r in rows}


def test_each_region_is_kept_apart_in_the_record_and_every_rollup(w):
    """A main clip, two passes of a ticker line and an image region's time, in one hour:
    each rollup has one row per region with exactly that region's seconds and plays."""
    recs = [record(w["clip"], 600, "main"), record(w["line"], 20, "ticker"),
            record(w["line"], 20, "ticker", START + timedelta(seconds=20)),
            record(w["clip"], 1800, "image"), record(w["clip"], 30, None)]
    ingest(w["t"], recs)
    stored = dict(db.execute(select(PlayRecord.id, PlayRecord.region)).all())
    assert stored == {r["id"]: r.get("region", "main") for r in recs}
    want = {"main": (630.0, 2), "ticker": (40.0, 2), "image": (1800.0, 1)}
    for model in ROLLUPS:
        assert by_region(model) == want, model.__tablename__
    # Each region's rows carry its own item and topic (the content slice and play_hour).
    ticker = db.scalar(select(PlayContentDay).where(PlayContentDay.region == "ticker"))
    assert (ticker.content_id, ticker.topic_id) == (w["line"].id, w["line"].topic_id)
    assert db.scalar(select(PlayHour.hour).where(PlayHour.region == "image")) == \
        datetime(2026, 12, 1, 1, tzinfo=UTC)


def test_a_retried_batch_with_regions_never_counts_twice(w):
    recs = [record(w["clip"], 600, "main"), record(w["line"], 20, "ticker"),
            record(w["clip"], 900, "image")]
    first = ingest(w["t"], recs)
    before = {m.__tablename__: by_region(m) for m in ROLLUPS}
    again = ingest(w["t"], recs)  # the player did not get the acknowledgement
    assert again == first
    # The same ids inside a new batch with one new pass: only the new pass is added.
    ingest(w["t"], [*recs, record(w["line"], 20, "ticker", START + timedelta(seconds=20))])
    after = {m.__tablename__: by_region(m) for m in ROLLUPS}
    for name, regions in before.items():
        assert after[name] == {**regions, "ticker": (40.0, 2)}, name
    assert db.scalar(select(PlayRecord.id).where(PlayRecord.region == "ticker")
                     .order_by(PlayRecord.start).limit(1)) == recs[1]["id"]


def test_an_unknown_region_is_refused_and_the_rest_of_the_batch_lands(w):
    bad = record(w["line"], 20, "clock")  # a clock is not recorded
    accepted, rejected = plays.ingest(db, w["t"], [bad, record(w["clip"], 60, "main")],
                                      now=NOW)
    db.commit()
    assert [r["id"] for r in rejected] == [bad["id"]] and "region" in rejected[0]["reason"]
    assert len(accepted) == 1 and by_region(PlayDay) == {"main": (60.0, 1)}


# --- migration 0019 --------------------------------------------------------------------

TREE = (  # where terminal 1 stands (play_record's foreign key)
    "INSERT INTO street (id, name) VALUES (1, 's')",
    "INSERT INTO community (id, street_id, name) VALUES (7, 1, 'c')",
    "INSERT INTO building (id, community_id, name, address) VALUES (5, 7, 'b', '')",
    "INSERT INTO terminal (id, building_id, name, location, width, height, colour_mode, "
    "created_at) VALUES (1, 5, 't', '', 384, 192, 'full', :hour)",
)
OLD_ROWS = (  # one row of each play table as revision 0018 stores them
    "INSERT INTO play_record (id, terminal_id, content_id, topic_id, sha256, start, \"end\", "
    "seconds, reason, received_at) VALUES (:rid, 1, 10, 3, :sha, :hour, :later, 60, "
    "'completed', :later)",
    "INSERT INTO play_hour (terminal_id, content_id, hour, building_id, topic_id, "
    "community_id, seconds, plays) VALUES (1, 10, :hour, 5, 3, 7, 60, 1)",
    "INSERT INTO play_day (day, terminal_id, content_id, building_id, topic_id, community_id,"
    " seconds, plays) VALUES (:day, 1, 10, 5, 3, 7, 60, 1)",
    "INSERT INTO play_month (month, terminal_id, content_id, building_id, topic_id, "
    "community_id, seconds, plays) VALUES (:month, 1, 10, 5, 3, 7, 60, 1)",
    "INSERT INTO play_hour_community (hour, community_id, seconds, plays) "
    "VALUES (:hour, 7, 60, 1)",
    "INSERT INTO play_terminal_day (day, terminal_id, building_id, community_id, seconds, "
    "plays, broadcast_seconds) VALUES (:day, 1, 5, 7, 60, 1, 0)",
    "INSERT INTO play_terminal_month (month, terminal_id, building_id, community_id, "
    "seconds, plays, broadcast_seconds) VALUES (:month, 1, 5, 7, 60, 1, 0)",
    "INSERT INTO play_content_day (day, community_id, content_id, topic_id, seconds, plays) "
    "VALUES (:day, 7, 10, 3, 60, 1)",
    "INSERT INTO play_content_month (month, community_id, content_id, topic_id, seconds, "
    "plays) VALUES (:month, 7, 10, 3, 60, 1)",
)
TABLES = ("play_record", *(m.__tablename__ for m in ROLLUPS))


@pytest.fixture
def old_database(database_url, tmp_path):
    """An empty database of its own for the upgrade: a SQLite file, or on PostgreSQL a
    schema of its own in the test database (dropped afterwards)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    schema = f"upgrade_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_the_upgrade_makes_every_row_there_was_the_main_regions(old_database):
    migrate.upgrade(old_database, "0018")
    engine = create_engine(old_database)
    assert engine.dialect.name == make_url(old_database).get_backend_name()
    if engine.dialect.name == "postgresql":  # in the schema of its own, not the test one's
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_schema()")).scalar().startswith("upgrade_")
    hour = datetime(2026, 12, 1, 1, tzinfo=UTC)
    values = {"rid": str(uuid.uuid4()), "sha": "a" * 64, "day": date(2026, 12, 1),
              "month": date(2026, 12, 1)}
    if engine.dialect.name == "sqlite":  # stored as the app stores them there: naive UTC
        values |= {"hour": "2026-12-01 01:00:00.000000", "later": "2026-12-01 01:01:00.000000",
                   "day": "2026-12-01", "month": "2026-12-01"}
    else:
        values |= {"hour": hour, "later": hour + timedelta(minutes=1)}
    try:
        with engine.begin() as conn:
            for sql in (*TREE, *OLD_ROWS):
                conn.execute(text(sql), values)
        migrate.upgrade(old_database, "0019")
        with engine.connect() as conn:
            for table in TABLES:
                rows = conn.execute(text(f"SELECT region, seconds FROM {table}")).all()
                assert [tuple(r) for r in rows] == [("main", 60.0)], table
        # The region is in each rollup's key: a ticker row beside the main one is new ...
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO play_day (day, terminal_id, content_id, building_id,"
                              " region, topic_id, community_id, seconds, plays) VALUES "
                              "(:day, 1, 10, 5, 'ticker', 3, 7, 20, 1)"), values)
        # ... and a second main row with the same key is refused.
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(OLD_ROWS[2]), values)  # play_day's
    finally:
        engine.dispose()

