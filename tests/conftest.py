"""Shared fixtures. App tests run once per database: SQLite always, and PostgreSQL
when SIGNAGE_TEST_DATABASE_URL is set (as .ci/run does)."""

from __future__ import annotations

import contextvars
import os
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import URL, create_engine, make_url, text

from server import create_app, migrate
from server.db import Base, db
from server.extensions import limiter

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("SIGNAGE_TEST_DATABASE_URL") else [])

# A module whose subject is not the database (a page's layout and scripts, the job pool's
# limits) marks itself `one_database`: it runs on SQLite only, not again on PostgreSQL (its
# PostgreSQL runs are deselected, so they are not counted as skipped). What the database
# does under it is proved on both elsewhere: every page and fetch opened as every role
# (tests/browser/test_every_page.py), the services and views (tests/server). Anything
# written or read concurrently, SQL of its own, migrations: keep both.


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "one_database: the database plays no part in the "
                                       "module's subject: run on SQLite only")


def pytest_runtest_teardown(item) -> None:
    """A test process left real-time (SCHED_FIFO 99) starves the machine: every server,
    player and Chromium it starts inherits the policy, and one spinning Chromium then
    holds a core. SVT-AV1's encoder did it (tests/media.py now undoes it); should anything
    else, it is put back and the test named in the report."""
    if os.sched_getscheduler(0) != os.SCHED_OTHER:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        item.user_properties.append(("scheduling", "real-time policy found after this test"))


def pytest_terminal_summary(terminalreporter) -> None:
    named = {r.nodeid for reports in terminalreporter.stats.values() for r in reports
             if ("scheduling", "real-time policy found after this test")
             in getattr(r, "user_properties", ())}
    for nodeid in sorted(named):
        terminalreporter.write_line(f"real-time scheduling found (and reset) after {nodeid}")


def pytest_collection_modifyitems(config, items) -> None:
    def other_database(item) -> bool:
        params = getattr(item, "callspec", None)
        return (item.get_closest_marker("one_database") is not None and params is not None
                and params.params.get("database_url", "sqlite") != "sqlite")

    dropped = [item for item in items if other_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not other_database(item)]


def pytest_sessionstart(session) -> None:
    """Under pytest-xdist (`make test` runs two workers) each worker has a PostgreSQL
    database of its own, named after SIGNAGE_TEST_DATABASE_URL's with the worker's name
    added, made here and dropped when the worker ends; the modules that make further
    databases (the fuzz run's) name theirs after it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or "SIGNAGE_TEST_DATABASE_URL" not in os.environ:
        return
    base = make_url(os.environ["SIGNAGE_TEST_DATABASE_URL"])
    own = base.set(database=f"{base.database}_{worker}")
    _postgres_admin(base, f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)',
                    f'CREATE DATABASE "{own.database}"',
                    # Nothing here must survive a crash of PostgreSQL itself; servers killed
                    # in tests lose nothing committed either way.
                    f'ALTER DATABASE "{own.database}" SET synchronous_commit = off')
    os.environ["SIGNAGE_TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)
    session.config.stash[_OWN_DATABASE] = own


def pytest_sessionfinish(session) -> None:
    own = session.config.stash.get(_OWN_DATABASE, None)
    if own is not None:
        _postgres_admin(own, f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')


_OWN_DATABASE = pytest.StashKey[URL]()


def _postgres_admin(url: URL, *statements: str) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


# Each database is made and migrated once per run (per worker): the tests are ordered so
# that a worker's modules alternate between the two, and the fixture is set up again at
# each change of parameter.
_migrated: dict[str, str] = {}


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory) -> str:
    if request.param in _migrated:
        return _migrated[request.param]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = os.environ["SIGNAGE_TEST_DATABASE_URL"]
        engine = create_engine(url)
        with engine.begin() as conn:  # the test database starts empty every run
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    _migrated[request.param] = url
    return url


def clean_database(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    app = create_app(
        {
            "SIGNAGE_DATABASE_URL": database_url,
            "SIGNAGE_DATA_DIR": str(tmp_path / "var"),
            "SIGNAGE_SECRET_KEY": "test-secret",
        },
        TESTING=True,
    )
    limiter.reset()
    with app.app_context():
        yield app
        db.remove()
    clean_database(database_url)
    app.extensions["signage_engine"].dispose()


class IsolatedClient(FlaskClient):
    """Runs each request in its own context, with its own app context and database
    session, as in production; the test's own app context is not shared."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
