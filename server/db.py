"""Database engine and session: SQLAlchemy only, nothing SQLite- or PostgreSQL-only.

One session per Flask app context (each request, CLI command or job has its own),
or per thread outside any context. HTTP requests remove it at app-context teardown;
Socket.IO handlers must use `session_scope()` because Flask's teardown does not run
for socket events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter

from sqlalchemy import BigInteger, Date, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on both SQLite (naive storage) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect, coltype) -> Callable | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite hands back the stored text, which SQLAlchemy parses with a regular
        # expression: 15 µs a value, 130 ms for a year of hours. fromisoformat reads the
        # same text in C.
        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            t = datetime.fromisoformat(value)
            return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)

        return process


# Byte counts (file sizes, free disk) pass 2 GiB: 64 bits on PostgreSQL. SQLite's INTEGER
# already holds 64 bits, and keeping it INTEGER there spares a table rebuild.
ByteCount = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PoolSize:
    """Connections one process may hold (PostgreSQL only; SQLite needs no pool sizing).

    Under gevent one worker runs thousands of greenlets, but a greenlet holds a connection
    only for one event or request (a few ms), so a few connections serve them all; more
    would only queue inside PostgreSQL. The bound matters more than the size: every node
    may open size + overflow, and nodes x that must stay under max_connections. A greenlet
    that waits longer than `timeout_s` for a connection fails that one event (logged,
    answered as an error; the terminal retries) instead of piling up behind it.
    """

    size: int = 10
    overflow: int = 10
    timeout_s: float = 10.0
    application_name: str = "signage"  # shown in pg_stat_activity: which node holds what


# SQLite folds its write-ahead log into the database in the commit that grows it past this
# many pages (4 kB each). The worker's checkpointer (server/checkpointer.py) does it in the
# background every second; this is the fallback for processes without one.
WAL_AUTOCHECKPOINT_PAGES = 10_000


def make_engine(url: str, pool: PoolSize | None = None) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            cur.close()

        return engine
    pool = pool or PoolSize()
    connect_args = {"application_name": pool.application_name[:63]} if "postgresql" in url else {}
    # pre_ping: after a database restart or failover the first checkout reconnects instead
    # of failing the event; recycle: idle connections do not outlive a proxy's idle timeout.
    return create_engine(url, pool_size=pool.size, max_overflow=pool.overflow,
                         pool_timeout=pool.timeout_s, pool_pre_ping=True, pool_recycle=1800,
                         connect_args=connect_args)


def _scope() -> object:
    from flask.globals import _cv_app

    ctx = _cv_app.get(None)
    return ctx if ctx is not None else threading.get_ident()


SessionFactory = sessionmaker(expire_on_commit=False)
db: scoped_session[Session] = scoped_session(SessionFactory, scopefunc=_scope)


def bind(engine: Engine) -> None:
    db.remove()
    SessionFactory.configure(bind=engine)


@contextmanager
def session_scope() -> Iterator[Session]:
    """For socket handlers and jobs: commit on success, always release the connection.

    Nested inside a scope that already has a session (a request whose code triggers a
    socket handler inline), it commits but leaves removing the session to its owner.
    """
    owner = not db.registry.has()
    try:
        yield db()
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        if owner:
            db.remove()


def to_driver(s: Session) -> Callable[[datetime], datetime | str]:
    """How the driver takes an aware instant, for statements run around SQLAlchemy's
    types: PostgreSQL the datetime itself; SQLite the naive UTC text UTCDateTime stores
    (so comparisons with its own binds hold)."""
    return _to_driver_of(_INSTANT, s.get_bind().dialect.name) or (lambda t: t)


def _sqlite_instant(t: datetime) -> str:
    if t.tzinfo is not UTC:  # instants are UTC almost always: cutting "+00:00" is cheaper
        t = t.astimezone(UTC)
    return t.isoformat(" ", "microseconds")[:26]


def execute_many(s: Session, statement: str, rows: list[tuple]) -> None:
    """One statement for many rows through the driver's own executemany, values already
    in the driver's types (see `to_driver`): at a thousand rows SQLAlchemy's per-row
    parameter processing cost more than the statement. `statement` marks its parameters
    with "?" (and holds no other "?" or "%")."""
    if not rows:
        return
    conn = s.connection()
    if conn.dialect.paramstyle != "qmark":
        statement = statement.replace("?", "%s")
    conn.exec_driver_sql(statement, rows)


_UPSERTS: dict[tuple, tuple[str, tuple]] = {}


def add_to(s: Session, model, key: tuple[str, ...], added: tuple[str, ...],
           values: list[dict]) -> None:
    """INSERT, or on a key conflict add the `added` columns to the row's (counters and
    sums kept per hour or day). One executemany for all `values` (dicts with the same
    keys), through the driver with values in its own types, which cut the ingest's
    rollups from 4.7 to 4.2 µs a record (SQLAlchemy's per-row parameter processing is
    skipped). The SQL text is built once per dialect, table and column set; SQLite
    (3.24+) and PostgreSQL share its syntax."""
    if not values:
        return
    conn = s.connection()
    dialect = conn.dialect
    columns = tuple(values[0])
    cache_key = (dialect.name, model, key, added, columns)
    built = _UPSERTS.get(cache_key)
    if built is None:
        table = model.__table__
        q = dialect.identifier_preparer.quote
        name = q(table.name)
        sql = (f"INSERT INTO {name} ({', '.join(q(c) for c in columns)}) "
               f"VALUES ({', '.join('?' * len(columns))}) "
               f"ON CONFLICT ({', '.join(q(c) for c in key)}) DO UPDATE SET "
               + ", ".join(f"{q(c)} = {name}.{q(c)} + excluded.{q(c)}" for c in added))
        built = _UPSERTS[cache_key] = (sql, tuple(_to_driver_of(table.c[c].type, dialect.name)
                                                  for c in columns))
    sql, converters = built
    pick = itemgetter(*columns)  # by name: every dict must carry the same keys
    execute_many(s, sql, [tuple(v if f is None or v is None else f(v)
                                for f, v in zip(converters, pick(row), strict=True))
                          for row in values])


_INSTANT = UTCDateTime()


def _to_driver_of(column_type, dialect: str) -> Callable | None:
    """How a value of `column_type` goes to the driver as SQLAlchemy would send it (None:
    as it is): the one rule for `to_driver` and `add_to`. On SQLite an instant is naive
    UTC text and a date ISO text; PostgreSQL's driver takes both as they are."""
    if dialect != "sqlite":
        return None
    if isinstance(column_type, UTCDateTime):
        return _sqlite_instant
    if isinstance(column_type, Date):
        return date.isoformat
    return None
