from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from server.db import Base, add_to, db, execute_many, to_driver, utcnow
from server.models import AuditEntry, Building, PlayDay, PlayHour
from tests import helpers


def test_migrations_match_the_models(app):
    """Alembic is the only schema source: the models must not drift from it."""
    with app.extensions["signage_engine"].connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_database_specific_settings(app):
    """SQLite: WAL and foreign keys on. PostgreSQL: times are timestamptz."""
    if db.get_bind().dialect.name == "sqlite":
        assert db.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.execute(text("PRAGMA foreign_keys")).scalar() == 1
    else:
        kind = db.execute(text(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'audit_entry' AND column_name = 'at'")).scalar()
        assert kind == "timestamp with time zone"


def test_foreign_keys_are_enforced(app):
    db.add(Building(community_id=999999, name="孤儿楼", address=""))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_datetimes_are_stored_as_utc_and_come_back_aware(app):
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 7, 1, 8, 30, tzinfo=shanghai)
    entry = AuditEntry(actor="t", action="create", object_type="x", at=at)
    db.add(entry)
    db.commit()
    db.expire_all()
    back = db.get(AuditEntry, entry.id).at
    assert back == datetime(2026, 7, 1, 0, 30, tzinfo=UTC)
    assert back.tzinfo is not None


def test_instants_written_around_the_orm_read_back_as_the_orm_writes_them(app):
    """db.execute_many with db.to_driver (the hub's batch writes) stores what the ORM
    would: a Shanghai time comes back as the same instant in UTC, on both databases."""
    shanghai = timezone(timedelta(hours=8))
    entry = AuditEntry(actor="t", action="create", object_type="x", at=utcnow())
    db.add(entry)
    db.commit()
    at = datetime(2026, 7, 1, 8, 30, 0, 250_000, tzinfo=shanghai)
    execute_many(db, "UPDATE audit_entry SET at = ? WHERE id = ?", [(to_driver(db)(at), entry.id)])
    db.commit()
    db.expire_all()
    assert db.get(AuditEntry, entry.id).at == datetime(2026, 7, 1, 0, 30, 0, 250_000, tzinfo=UTC)
    assert db.scalar(select(AuditEntry.id).where(AuditEntry.at == at)) == entry.id


def test_add_to_adds_onto_rows_the_orm_wrote(app):
    """add_to writes through the driver: its instants and dates must land on the keys the
    ORM wrote (a different text form on SQLite would start a second row, not add), and a
    batch may carry several rows and columns in any dict order."""
    hour = datetime(2026, 7, 1, 8, tzinfo=UTC)
    key = {"terminal_id": 1, "content_id": 2, "building_id": 3, "region": "main"}
    db.add(PlayHour(**key, hour=hour, topic_id=4, community_id=5, seconds=10.0, plays=1))
    db.add(PlayDay(**key, day=date(2026, 7, 1), topic_id=4, community_id=5, seconds=10.0,
                   plays=1))
    db.commit()
    add_to(db, PlayHour, ("terminal_id", "content_id", "hour", "building_id", "region"),
           ("seconds", "plays"),
           [{**key, "hour": hour.astimezone(timezone(timedelta(hours=8))), "topic_id": 4,
             "community_id": 5, "seconds": 2.5, "plays": 1},
            {"plays": 1, "seconds": 7.0, **key, "hour": hour + timedelta(hours=1),
             "topic_id": 4, "community_id": 5}])
    add_to(db, PlayDay, ("day", "terminal_id", "content_id", "building_id", "region"),
           ("seconds", "plays"),
           [{**key, "day": date(2026, 7, 1), "topic_id": 4, "community_id": 5,
             "seconds": 5.0, "plays": 2}])
    db.commit()
    db.expire_all()
    hours = db.execute(select(PlayHour.hour, PlayHour.seconds, PlayHour.plays)
                       .order_by(PlayHour.hour)).all()
    assert [tuple(r) for r in hours] == [(hour, 12.5, 2), (hour + timedelta(hours=1), 7.0, 1)]
    days = db.execute(select(PlayDay.day, PlayDay.seconds, PlayDay.plays)).all()
    assert [tuple(r) for r in days] == [(date(2026, 7, 1), 15.0, 3)]


def test_naive_datetimes_are_refused(app):
    db.add(AuditEntry(actor="t", action="create", object_type="x", at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        db.flush()
    db.rollback()


def test_each_app_test_starts_empty(app):
    # Factories commit; the fixture must clean between tests on both databases.
    assert db.query(Building).count() == 0
    helpers.building()
    db.commit()


def test_the_upgrade_to_slices_keeps_every_played_second(tmp_path):
    """Migration 0011 fills the per-terminal and per-item slices from the play rollups
    there are, broadcasts apart, so a report reads the same numbers after the upgrade."""
    from sqlalchemy import create_engine, text

    from server import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0010")
    engine = create_engine(url)  # without server.db's pragmas: foreign keys unchecked
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO play_day (day, terminal_id, content_id, building_id, "
                          "topic_id, community_id, seconds, plays) VALUES "
                          "('2026-11-02', 1, 10, 5, 3, 7, 600, 60), "
                          "('2026-11-02', 1, 11, 5, 4, 7, 30, 1), "
                          "('2026-11-02', 2, 10, 6, 3, 7, 300, 30)"))
        conn.execute(text("INSERT INTO play_month (month, terminal_id, content_id, building_id,"
                          " topic_id, community_id, seconds, plays) VALUES "
                          "('2026-11-01', 1, 10, 5, 3, 7, 600, 60)"))
        conn.execute(text("INSERT INTO broadcast (street_id, mode, content_id, text, reason, "
                          "starts_at) VALUES (1, 'full', 11, '台风', 'x', '2026-11-02')"))
    migrate.upgrade(url)
    with engine.connect() as conn:
        terminals = conn.execute(text("SELECT terminal_id, building_id, seconds, plays, "
                                      "broadcast_seconds FROM play_terminal_day "
                                      "ORDER BY terminal_id")).all()
        items = conn.execute(text("SELECT content_id, topic_id, seconds, plays "
                                  "FROM play_content_day ORDER BY content_id")).all()
        month = conn.execute(text("SELECT seconds FROM play_terminal_month")).scalar()
    engine.dispose()
    assert [tuple(r) for r in terminals] == [(1, 5, 630.0, 61, 30.0), (2, 6, 300.0, 30, 0.0)]
    assert [tuple(r) for r in items] == [(10, 3, 900.0, 90), (11, 4, 30.0, 1)]
    assert month == 600.0
