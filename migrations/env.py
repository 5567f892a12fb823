"""Alembic environment: the same migrations for SQLite and PostgreSQL."""

from alembic import context

import server.models  # noqa: F401  (registers every table)
from server.config import Settings
from server.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _broken_references(connection) -> set[tuple]:
    """(table, rowid, referred table) of each broken reference (not the key's number: a
    rebuilt table may list its keys in another order)."""
    return {tuple(r[:3]) for r in connection.exec_driver_sql("PRAGMA foreign_key_check")}


def _sqlite_foreign_keys(connection, on: bool, broken_before: set[tuple] = frozenset()) -> None:
    """SQLite alters a table by rebuilding it (batch mode), and dropping the old table with
    foreign keys on would cascade-delete the rows that reference it, or refuse. SQLite's
    procedure for schema changes: keys off (outside any transaction), change, check, on.
    The check fails only for references the migrations broke, not for older ones."""
    if on:
        broken = _broken_references(connection) - broken_before
        if broken:
            raise RuntimeError(f"migrations broke references: {sorted(broken)[:10]}")
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()  # ends the autobegun block: Alembic begins its own transactions


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            broken_before = _broken_references(connection)
            _sqlite_foreign_keys(connection, on=False)
        # Batch mode lets later migrations ALTER tables on SQLite too.
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            _sqlite_foreign_keys(connection, on=True, broken_before=broken_before)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
