"""End to end: a real gunicorn server and real player processes over real sockets."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests import live
from tests.conftest import clean_database

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Player:
    terminal_id: int
    credential: Path
    data: Path
    server: live.LiveServer
    process: subprocess.Popen | None = None

    def start(self, *extra_args: str) -> Player:
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
        log = (self.data.parent / f"player-{self.terminal_id}.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "player", "--server", self.server.url, "--credential",
             str(self.credential), "--data", str(self.data), "--headless", *extra_args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM: the player closes its current play and drains what it can."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def totals(self) -> dict:
        """What `python -m player --totals` prints (its outbox, safe to read while the player
        runs; the command itself is tested in tests/player), read in this process: polled
        every half second for ten players, a Python process per read kept a core of the
        2-core CI machine busy, slowing the very players and server being waited for."""
        from player.outbox import Outbox

        box = Outbox(self.data)
        try:
            return box.totals()
        finally:
            box.close()

    def manifest_version(self) -> int | None:
        path = self.data / "manifest.json"
        return json.loads(path.read_text())["version"] if path.exists() else None


def wait_for(predicate, timeout: float = 60, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def demo_server(database_url: str, data_dir: Path, serve_env: dict[str, str] | None = None):
    """A live server on the demo street with its content, on a database cleaned before
    and after; `serve_env`: settings of the server process."""
    clean_database(database_url)
    srv = live.start(database_url, data_dir, content=True, serve_env=serve_env)
    try:
        yield srv
    finally:
        try:
            srv.stop()
        finally:
            clean_database(database_url)


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    with demo_server(database_url, tmp_path_factory.mktemp("e2e")) as srv:
        yield srv


@pytest.fixture(scope="module")
def credentials(server) -> dict[int, str]:
    out = server.flask("terminals", "provision", "--community", "东和")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 76
    return {int(r["terminal_id"]): r["credential"] for r in rows}


@pytest.fixture(scope="module")
def admin_token(server) -> dict[str, str]:
    """A personal API token of the street admin, made through the real login and page."""
    return live.admin_token(server.url, "e2e")


@pytest.fixture(scope="module")
def unused_terminals(credentials):
    """Each test takes terminals nobody used before, so server sums are its own."""
    return iter(sorted(credentials))


@pytest.fixture
def make_player(server, credentials, unused_terminals, tmp_path):
    made: list[Player] = []
    ids = unused_terminals

    def make() -> Player:
        tid = next(ids)
        cred = tmp_path / f"cred-{tid}"
        cred.write_text(credentials[tid])
        p = Player(tid, cred, tmp_path / f"data-{tid}", server)
        made.append(p)
        return p

    yield make
    for p in made:
        if p.process and p.process.poll() is None:
            p.process.kill()
            p.process.wait()


def pair(url: str, token: dict[str, str], terminal_id: int) -> str:
    """Pair a terminal as a new player would (code on its screen, staff type it in) and
    return the credential the player gets."""
    from player import protocol

    start = requests.post(url + protocol.PAIRING_PATH, timeout=10).json()
    r = requests.post(f"{url}/api/v1/terminals/{terminal_id}/pair", json={"code": start["code"]},
                      headers=token, timeout=10)
    assert r.status_code == 200, r.text
    poll = url + protocol.PAIRING_POLL_PATH.format(poll_token=start["poll_token"])
    return requests.get(poll, timeout=10).json()["credential"]


class TerminalSocket:
    """A bare terminal connection (python-socketio, websocket) that keeps what it receives:
    for tests about the socket itself rather than a player's behaviour."""

    def __init__(self, url: str, credential: str) -> None:
        import socketio

        from player import protocol

        self.ns = protocol.TERMINAL_NAMESPACE
        self.received: list[tuple[str, object]] = []
        self.closed_at: float | None = None
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", lambda event, data=None: self.received.append((event, data)),
                    namespace=self.ns)
        self.sio.on("disconnect", self._closed, namespace=self.ns)
        self.sio.connect(url, auth={"credential": credential,
                                    "protocol": protocol.PROTOCOL_VERSION},
                         namespaces=[self.ns], transports=["websocket"], wait_timeout=15)

    def _closed(self, *_reason) -> None:
        self.closed_at = time.monotonic()

    def call(self, event: str, payload: dict) -> dict:
        return self.sio.call(event, payload, namespace=self.ns, timeout=15)

    @property
    def connected(self) -> bool:
        return self.closed_at is None and self.sio.connected

    def close(self) -> None:
        self.sio.disconnect()


def pair_keys(url: str, token: dict[str, str], terminal_id: int) -> tuple[str, list[dict]]:
    """`pair`, also returning the signing keys the pairing answer gives the player (the
    street's current key: what a player started with `--trust-key` holds)."""
    from player import protocol

    start = requests.post(url + protocol.PAIRING_PATH, timeout=10).json()
    r = requests.post(f"{url}/api/v1/terminals/{terminal_id}/pair", json={"code": start["code"]},
                      headers=token, timeout=10)
    assert r.status_code == 200, r.text
    poll = url + protocol.PAIRING_POLL_PATH.format(poll_token=start["poll_token"])
    answer = requests.get(poll, timeout=10).json()
    return answer["credential"], answer["keys"]
