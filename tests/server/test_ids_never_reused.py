"""Ids that a credential, a URL, an audit entry or a report row can name are never given
again (SQLite would give the highest deleted id to the next row without AUTOINCREMENT;
PostgreSQL's sequences never go back)."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, text
from sqlalchemy.orm import Session

from server import migrate
from server.db import Base, db, make_engine
from server.models import Role, Terminal, TerminalTag
from tests import helpers


def surrogate_id_tables() -> list[str]:
    """Every table whose key is one integer `id` the database hands out."""
    return sorted(t.name for t in Base.metadata.sorted_tables
                  if [c.name for c in t.primary_key.columns] == ["id"]
                  and isinstance(t.c.id.type, Integer))


FACTORIES = {
    "terminal": lambda: helpers.terminal(),
    "building": lambda: helpers.building(),
    "community": lambda: helpers.community(),
    "user_account": lambda: helpers.user(Role.street_admin),
    "content_item": lambda: helpers.approved_image(),
}


@pytest.mark.parametrize("table", sorted(FACTORIES))
def test_create_delete_the_highest_create_again_gives_a_new_id(app, table):
    make = FACTORIES[table]
    make()
    highest = make()
    gone = highest.id
    db.delete(highest)
    db.commit()
    assert make().id > gone


def test_every_surrogate_id_is_handed_out_once(app):
    tables = surrogate_id_tables()
    assert {"terminal", "api_token", "user_account", "content_item", "playlist", "schedule",
            "broadcast", "community", "building", "terminal_command"} <= set(tables)
    if db.get_bind().dialect.name == "sqlite":
        sql = dict(db.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
                   .all())
        assert [t for t in tables if "AUTOINCREMENT" not in sql[t]] == []
    else:  # a sequence (serial or identity): it never goes back
        missing = [t for t in tables if db.scalar(
            text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": t}) is None]
        assert missing == []


def test_migration_0014_keeps_every_row_and_reference_on_sqlite(tmp_path):
    """SQLite gets AUTOINCREMENT by rebuilding tables that other tables reference: their rows,
    ids and ON DELETE CASCADE survive, and foreign keys are on again afterwards."""
    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    migrate.upgrade(url, "0013")
    engine = make_engine(url)
    with Session(engine) as s:
        # The tree in SQL: today's models have columns 0013 did not (0020's area codes, 0021's
        # signature setting).
        s.execute(text("INSERT INTO street (name) VALUES ('沙头角街道')"))
        s.execute(text("INSERT INTO community (street_id, name) VALUES (1, '东和')"))
        s.execute(text("INSERT INTO building (community_id, name, address) "
                       "VALUES (1, '1栋', '东和路')"))
        building_id = 1
        ts = [Terminal(building_id=building_id, name=f"LED-{i}", width=384, height=192,
                       tag_rows=[TerminalTag(tag="电梯口")]) for i in range(3)]
        s.add_all(ts)
        s.flush()
        for t in ts:  # terminal_state in SQL too: 0021 adds columns to it
            s.execute(text("INSERT INTO terminal_state (terminal_id, online, manifest_version,"
                           " screen_on, brightness, cache_ready, clock_offset_s, player_version,"
                           " health) VALUES (:id, 0, 0, 1, 100, 0, 0, '', 'ok')"), {"id": t.id})
        s.commit()
        highest = max(t.id for t in ts)
    engine.dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    count = "SELECT count(*) FROM {}"
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert [conn.exec_driver_sql(count.format(t)).scalar()
                for t in ("terminal", "terminal_tag", "terminal_state")] == [3, 3, 3]
        conn.exec_driver_sql(f"DELETE FROM terminal WHERE id = {highest}")
        assert [conn.exec_driver_sql(count.format(t)).scalar()
                for t in ("terminal_tag", "terminal_state")] == [2, 2]  # cascaded
        conn.exec_driver_sql(
            "INSERT INTO terminal (building_id, name, location, width, height, colour_mode,"
            f" created_at, manifest_version) VALUES ({building_id}, 'LED-new', '', 384, 192, 'full',"
            " '2026-12-06 00:00:00', 1)")
        assert conn.exec_driver_sql("SELECT max(id) FROM terminal").scalar() == highest + 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()
