"""A live server of its own for the API fuzzer: gunicorn as `make run` starts it, on a
database nobody else's tests touch (a temporary SQLite file; on PostgreSQL a database
named after SIGNAGE_TEST_DATABASE_URL's with `_fuzz` added, made and dropped here), seeded
with the demo street so ids 1, 2, ... name real rows."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from server import create_app
from server.db import db
from server.models import User
from server.services import accounts
from tests import live

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("SIGNAGE_TEST_DATABASE_URL") else [])
ROLES = {"street_admin": "admin", "community_editor": "donghe_editor"}  # seed-demo's staff


def _own_postgres_database() -> Iterator[str]:
    base = make_url(os.environ["SIGNAGE_TEST_DATABASE_URL"])
    name = f"{base.database}_fuzz"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # Each API request commits (the token's last use): without waiting for the disk
            # at every commit the run takes half the time, and nothing here needs to
            # survive a crash.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="module", params=DATABASES)
def fuzz_database(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz-db') / 'fuzz.db'}"
    else:
        yield from _own_postgres_database()


@pytest.fixture(scope="module")
def fuzz_server(fuzz_database, tmp_path_factory) -> Iterator[live.LiveServer]:
    srv = live.start(fuzz_database, tmp_path_factory.mktemp("fuzz"), content=True)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def fuzz_session(fuzz_server) -> Iterator[requests.Session]:
    """One keep-alive connection for the run, as a script would hold."""
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def fuzz_tokens(fuzz_server) -> dict[str, dict[str, str]]:
    """A personal API token per role, made by the service the account page calls (a
    login through the page waits on password hashing behind the seeded street's first
    planning jobs, past its time-out on a busy machine)."""
    app = create_app({"SIGNAGE_DATABASE_URL": fuzz_server.env["SIGNAGE_DATABASE_URL"],
                      "SIGNAGE_DATA_DIR": fuzz_server.env["SIGNAGE_DATA_DIR"],
                      "SIGNAGE_SECRET_KEY": "fuzz"}, TESTING=True)
    tokens = {}
    try:
        with app.app_context():
            for role, username in ROLES.items():
                user = db.scalar(select(User).where(User.username == username))
                _row, plaintext = accounts.create_token(db, user, f"fuzz-{role}")
                tokens[role] = {"Authorization": f"Bearer {plaintext}"}
            db.commit()
            db.remove()
    finally:
        app.extensions["signage_engine"].dispose()
    return tokens


@dataclass
class Tally:
    """What the fuzzer sent one server and what it got, printed when the server stops."""

    started: float = field(default_factory=time.monotonic)
    operations: set[str] = field(default_factory=set)
    statuses: Counter = field(default_factory=Counter)

    waited: float = 0.0  # for answers: the server's share of the time

    def add(self, operation: str, status: int, waited: float) -> None:
        self.operations.add(operation)
        self.statuses[status] += 1
        self.waited += waited

    def summary(self) -> str:
        requests = sum(self.statuses.values())
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (f"{len(self.operations)} operations, {requests} requests (examples) in "
                f"{time.monotonic() - self.started:.0f} s, {self.waited:.0f} s of it waiting "
                f"for answers ({codes})")


# The editor goes first on each server: the admin's run may reset, move or deactivate the
# editor's account (ids 1, 2, ... are real rows), which ends the editor's token.
ROLE_ORDER = ("community_editor", "street_admin")


@pytest.fixture(params=ROLE_ORDER)
def fuzz_role(request) -> str:
    return request.param


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items) -> None:
    """Each server's editor items, then its admin items; operations in document order."""
    def key(item) -> tuple[int, int]:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "fuzz_database" not in params:
            return (-1, -1)
        return (DATABASES.index(params["fuzz_database"]),
                ROLE_ORDER.index(params.get("fuzz_role", ROLE_ORDER[0])))
    fuzz = [i for i in items if "tests/fuzz/" in i.nodeid]
    if fuzz:
        first = items.index(fuzz[0])
        rest = [i for i in items if "tests/fuzz/" not in i.nodeid]
        items[:] = rest[:first] + sorted(fuzz, key=key) + rest[first:]


@pytest.fixture
def fuzz_headers(fuzz_tokens, fuzz_role) -> dict[str, str]:
    return fuzz_tokens[fuzz_role]


SUMMARIES: list[str] = []


@pytest.fixture(scope="module")
def fuzz_tallies(fuzz_database) -> Iterator[dict[str, Tally]]:
    tallies: dict[str, Tally] = {}
    yield tallies
    db = "postgresql" if fuzz_database.startswith("postgresql") else "sqlite"
    SUMMARIES.extend(f"API fuzz [{db}, {role}]: {tally.summary()}"
                     for role, tally in sorted(tallies.items()))


def pytest_terminal_summary(terminalreporter) -> None:
    for line in SUMMARIES:
        terminalreporter.write_line(line)


@pytest.fixture
def fuzz_tally(fuzz_tallies, fuzz_role) -> Tally:
    return fuzz_tallies.setdefault(fuzz_role, Tally())
