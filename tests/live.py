"""A real server for tests that need real HTTP and sockets: gunicorn with the gevent
worker, exactly as `make run` starts it, on a free port; or several of them sharing one
database (tests/multinode puts Redis and nginx around them)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "admin-password-for-tests"
DEMO_PASSWORD = "demo-password-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        return flask(self.env, *args)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """kill -9 the whole server (gunicorn master and worker), as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        """Start the same server again: same port, database and data folder."""
        self.process = _serve(self.env, self.log)
        _wait_ready(self.url, self.process, self.log)


def login(url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Session:
    """A browser-like session signed in through the real login form."""
    from tests.helpers import csrf_token

    s = requests.Session()
    page = s.get(url + "/login", timeout=10).text
    # The password check waits for a job worker; right after a server starts on a loaded
    # machine its workers may still be warming up (workpool.READY_S): seconds, not a fault.
    r = s.post(url + "/login", data={"username": username, "password": password,
                                     "csrf_token": csrf_token(page)}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    return s


def admin_token(url: str, name: str) -> dict[str, str]:
    """A personal API token of the street admin, made on the account page."""
    from tests.helpers import csrf_token

    s = login(url)
    page = s.get(url + "/account/", timeout=10).text
    page = s.post(url + "/account/tokens", data={"name": name, "csrf_token": csrf_token(page)},
                  timeout=10).text
    return {"Authorization": "Bearer " + page.split('id="new-token">')[1].split("<")[0]}


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`flask --app server ...`; a failure says what the command printed."""
    done = subprocess.run([str(BIN / "flask"), "--app", "server", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f"flask {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def start(database_url: str, data_dir: Path, *, seed: bool = True, content: bool = False,
          extra_env: dict[str, str] | None = None,
          serve_env: dict[str, str] | None = None) -> LiveServer:
    """`seed`: the demo street and staff; `content`: also its scheduled demo content;
    `serve_env`: settings for the server only, not for making the database."""
    env = prepare(database_url, data_dir, seed=seed, content=content, extra_env=extra_env)
    return serve({**env, **(serve_env or {})}, data_dir)


def start_nodes(count: int, database_url: str, data_dir: Path, *, seed: bool = True,
                content: bool = False, extra_env: dict[str, str] | None = None,
                serve_env: dict[str, str] | None = None) -> list[LiveServer]:
    """Several server processes on their own ports sharing one database and data dir
    (extra_env brings the message queue), named node1, node2... (SIGNAGE_NODE_NAME);
    `serve_env`: settings for the servers only, as in `start`."""
    env = prepare(database_url, data_dir, seed=seed, content=content, extra_env=extra_env)
    nodes: list[LiveServer] = []
    try:
        for n in range(1, count + 1):
            nodes.append(serve({**env, **(serve_env or {}), "SIGNAGE_NODE_NAME": f"node{n}"},
                               data_dir))
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def prepare(database_url: str, data_dir: Path, *, seed: bool = True, content: bool = False,
            extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The servers' environment, with the database migrated (and seeded) once."""
    env = {
        **os.environ,
        "SIGNAGE_DATABASE_URL": database_url,
        "SIGNAGE_DATA_DIR": str(data_dir),
        "SIGNAGE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SIGNAGE_DEMO_PASSWORD": DEMO_PASSWORD,
        "SIGNAGE_ASYNC_MODE": "gevent",
        **(extra_env or {}),
    }
    key = (database_url, seed, content, *sorted((extra_env or {}).items()))
    empty = _empty(database_url)
    if empty and key in _seeded:
        _restore(database_url, data_dir, *_seeded[key])
        return env
    flask(env, "init")
    if seed:
        flask(env, "seed-demo", "--content" if content else "--no-content")
    if empty:
        _seeded[key] = _snapshot(database_url, data_dir)
    return env


# `init` and `seed-demo` make the same rows and files every time from the same
# environment (fixed passwords, the demo's fixed content): the first server on an empty
# database has them made by the CLI, later ones on the emptied database with the same
# environment get a copy of the result, in well under a second instead of two `flask`
# processes (4 to 17 s of CPU, and dozens of servers a run).
_seeded: dict[tuple, tuple[dict[str, list[dict]], Path]] = {}


def _empty(database_url: str) -> bool:
    """Migrated, and no row in any table."""
    from sqlalchemy import create_engine, exists, inspect, select

    from server.db import Base

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if not set(Base.metadata.tables) <= set(inspect(conn).get_table_names()):
                return False  # a new database: `flask init` migrates it
            return not any(conn.scalar(select(exists().select_from(table)))
                           for table in Base.metadata.sorted_tables)
    finally:
        engine.dispose()


def _snapshot(database_url: str, data_dir: Path) -> tuple[dict[str, list[dict]], Path]:
    """Every row of every table, and a copy of the data folder (blobs, secret key)."""
    from sqlalchemy import create_engine, select

    from server.db import Base

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = {table.name: [dict(r) for r in conn.execute(select(table)).mappings()]
                    for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()
    copy = data_dir.with_name(data_dir.name + "-seeded")
    shutil.copytree(data_dir, copy)
    return rows, copy


def _restore(database_url: str, data_dir: Path, rows: dict[str, list[dict]],
             copy: Path) -> None:
    from sqlalchemy import create_engine, text

    from server.db import Base

    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                if not rows[table.name]:
                    continue
                conn.execute(table.insert(), rows[table.name])
                if conn.dialect.name == "postgresql" and "id" in table.c:
                    # The copied ids are taken: new rows get higher ones, as after a
                    # seed (SQLite's AUTOINCREMENT counter follows inserted ids itself).
                    name = conn.dialect.identifier_preparer.quote(table.name)
                    seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                      {"t": name})
                    if seq:
                        conn.execute(text(f"SELECT setval('{seq}', GREATEST("
                                          f"(SELECT max(id) FROM {name}), "
                                          f"(SELECT last_value FROM {seq})))"))
    finally:
        engine.dispose()
    shutil.copytree(copy, data_dir, dirs_exist_ok=True)


def serve(env: dict[str, str], data_dir: Path) -> LiveServer:
    """One gunicorn server with this environment on a free port."""
    port = free_port()
    env = {**env, "PORT": str(port)}
    log = data_dir / f"server-{port}.log"
    proc = _serve(env, log)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, proc, log)
    return LiveServer(url, env, proc, log)


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "server/gunicorn_conf.py", "server.wsgi:app"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


# A polled deadline, so a long one costs nothing when the server is quick: on the 2-core CI
# machine under load a worker took 31 s from boot to serving and the old 30 s failed a
# multinode run at random. A server that exits is still reported at once.
START_TIMEOUT_S = 120


def _wait_ready(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(url + "/login", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
