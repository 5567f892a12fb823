"""Three real server nodes (gunicorn, gevent) sharing PostgreSQL and Redis, Debian's nginx
in front of them with deploy/'s configuration, and real player processes connected
through nginx. Redis is reached through a TCP proxy the tests can cut.

PostgreSQL only (SIGNAGE_TEST_DATABASE_URL, as CI sets it): on SQLite these tests are
reported as skipped. Redis at 127.0.0.1:6379 and nginx are required, not optional.
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests import live
from tests.conftest import clean_database
from tests.e2e.conftest import Player, wait_for
from tests.multinode import nginx
from tests.multinode.tcp_proxy import TcpProxy

REDIS = ("127.0.0.1", 6379)
NODES = 3
POOL_SIZE, POOL_OVERFLOW = 3, 2  # small: the machine's PostgreSQL is shared
MAX_UPLOAD = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("multi-node tests need PostgreSQL: set SIGNAGE_TEST_DATABASE_URL "
                    "(CI does); SQLite is one machine's database")
    return database_url


@pytest.fixture(scope="module")
def redis_proxy():
    try:
        redis.Redis(*REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError as e:
        raise RuntimeError(f"multi-node tests need Redis at {REDIS[0]}:{REDIS[1]}: {e}") from e
    proxy = TcpProxy(REDIS)
    yield proxy
    proxy.cut()


@pytest.fixture(scope="module")
def cluster(pg_url, redis_proxy, tmp_path_factory) -> list[live.LiveServer]:
    clean_database(pg_url)
    data = tmp_path_factory.mktemp("multinode")
    env = {
        "SIGNAGE_MESSAGE_QUEUE": f"redis://127.0.0.1:{redis_proxy.port}/0",
        # A channel of its own: other test runs and deployments share this Redis.
        "SIGNAGE_MESSAGE_QUEUE_CHANNEL": f"signage-test-{uuid.uuid4().hex[:12]}",
        "SIGNAGE_QUEUE_HEARTBEAT_S": "1",
        "SIGNAGE_PROXY_HOPS": "1",
        "SIGNAGE_BLOB_ACCEL_PATH": nginx.ACCEL_PATH,
        "SIGNAGE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "SIGNAGE_DB_POOL_SIZE": str(POOL_SIZE),
        "SIGNAGE_DB_MAX_OVERFLOW": str(POOL_OVERFLOW),
        "SIGNAGE_SECRET_KEY": "multinode-test-secret",
    }
    # All of them settings of the servers, none of the database they share: its demo street
    # and content are those the e2e modules' servers had made, copied back (live.prepare)
    # instead of `seed-demo --content` rendering every notice again.
    nodes = live.start_nodes(NODES, pg_url, data, content=True, serve_env=env)
    yield nodes
    try:
        for node in nodes:
            node.stop()
    finally:
        clean_database(pg_url)


@pytest.fixture(scope="module")
def edge(cluster, tmp_path_factory) -> nginx.Nginx:
    """nginx in front of the nodes: what players and staff talk to."""
    proxy = nginx.start([n.url.removeprefix("http://") for n in cluster],
                        data_dir=Path(cluster[0].env["SIGNAGE_DATA_DIR"]),
                        work=tmp_path_factory.mktemp("nginx"), max_upload_bytes=MAX_UPLOAD)
    yield proxy
    proxy.stop()


def name(node: live.LiveServer) -> str:
    return node.env["SIGNAGE_NODE_NAME"]


def health(node: live.LiveServer) -> dict:
    r = requests.get(node.url + "/healthz", timeout=10)
    body = r.json()
    assert r.status_code == (200 if body["ok"] else 503)
    return body


def terminals_per_node(nodes: list[live.LiveServer]) -> dict[str, int]:
    return {name(n): health(n)["terminals"] for n in nodes}


@pytest.fixture(scope="module")
def credentials(cluster) -> dict[int, str]:
    out = cluster[0].flask("terminals", "provision", "--community", "东和")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    return {int(r["terminal_id"]): r["credential"] for r in rows}


@pytest.fixture(scope="module")
def admin_token(edge) -> dict[str, str]:
    """Made through nginx: login, CSRF and session cookie across whatever nodes it picks."""
    return live.admin_token(edge.url, "multinode")


@pytest.fixture(scope="module")
def unused_terminals(credentials):
    return iter(sorted(credentials))


@pytest.fixture
def make_player(edge, credentials, unused_terminals, tmp_path):
    """Players connected through nginx; each test takes terminals nobody used before."""
    made: list[Player] = []

    def make() -> Player:
        tid = next(unused_terminals)
        cred = tmp_path / f"cred-{tid}"
        cred.write_text(credentials[tid])
        p = Player(tid, cred, tmp_path / f"data-{tid}", edge)  # nginx stands in for a node
        made.append(p)
        return p

    yield make
    for p in made:
        if p.process and p.process.poll() is None:
            p.process.kill()
            p.process.wait()


def bump_schedule(node: live.LiveServer, token: dict[str, str]) -> None:
    """A change that concerns every 东和 terminal, made through one node's API."""
    schedules = requests.get(f"{node.url}/api/v1/schedules", headers=token, timeout=10).json()
    normal = next(s for s in schedules if s["kind"] == "normal")
    r = requests.patch(f"{node.url}/api/v1/schedules/{normal['id']}",
                       json={"priority": normal["priority"] + 1}, headers=token, timeout=30)
    assert r.status_code == 200, r.text


def terminal_version(node: live.LiveServer, token: dict[str, str], terminal_id: int) -> int:
    r = requests.get(f"{node.url}/api/v1/terminals/{terminal_id}", headers=token, timeout=10)
    return r.json()["manifest_version"]


def wait_converged(players: list[Player], node: live.LiveServer, token: dict[str, str],
                   timeout: float, what: str) -> None:
    """Every player holds the manifest version the database says is current."""
    for p in players:
        want = terminal_version(node, token, p.terminal_id)
        wait_for(lambda p=p, want=want: p.manifest_version() == want, timeout=timeout,
                 what=f"terminal {p.terminal_id} to hold manifest {want} ({what})")


def server_seconds(database_url: str, terminal_ids: list[int]) -> dict[int, float]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT terminal_id, coalesce(sum(seconds), 0) "
                                 "FROM play_record WHERE terminal_id = ANY(:ids) "
                                 "GROUP BY terminal_id"), {"ids": terminal_ids}).all()
    engine.dispose()
    return {tid: float(s) for tid, s in rows}


def same(*seconds: float) -> bool:
    """Equal to the microsecond (the records' resolution); sums may differ in float order."""
    return max(seconds) - min(seconds) < 1e-6


def assert_every_second_accounted(players: list[Player], database_url: str) -> None:
    """After a clean stop: nothing pending, and the server holds exactly what each player
    recorded and saw accepted, neither lost nor doubled."""
    stored = server_seconds(database_url, [p.terminal_id for p in players])
    for p in players:
        t = p.totals()
        assert t["pending_n"] == 0 and t["recorded_n"] == t["accepted_n"] > 0, t
        assert same(t["recorded_s"], t["accepted_s"], stored.get(p.terminal_id, 0.0)), (
            p.terminal_id, t, stored.get(p.terminal_id))


def connections_per_node(database_url: str) -> dict[str, int]:
    """Database connections each node holds now (make_engine names them)."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT application_name, count(*) FROM pg_stat_activity "
                                 "WHERE datname = current_database() "
                                 "AND application_name LIKE 'signage node%' "
                                 "GROUP BY application_name")).all()
    engine.dispose()
    return {app.removeprefix("signage "): n for app, n in rows}
