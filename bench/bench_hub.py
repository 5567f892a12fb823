"""The terminal hub under load: the real server (gunicorn, gevent-websocket worker, as
`make run` starts it) holding thousands of simulated terminals (bench/swarm.py), against
a bare Flask-SocketIO app (bench/bare_server.py) under the same worker in the same run,
their timed rounds taken in turn (one node on SQLite; see `_hub`).

Figures (N from --counts; `make bench` uses 76, 1,000 and 5,000):
- hub_held_N: terminals that connected with their own credential, said `hello` and stayed
  connected while sending `status` every 5 s; baseline: plain clients the bare server held.
- hub_memory_per_terminal_N: server RSS (gunicorn master + worker) with N connected, minus
  its idle RSS, per terminal; baseline: the same for the bare server. Goal ≤ 1.5x.
- hub_heartbeats_per_s_N: `status` events answered with ok per second while holding,
  against N/5 (everyone every 5 s); the bare server's rate is the baseline.
- hub_manifest_fanout_1000: one schedule edit through the REST API (PATCH
  /api/v1/schedules/<id>) that concerns all 1,000 terminals, to the last terminal holding
  the new manifest (nudge, `sync`, manifest in the ack); median over rounds; baseline: the
  bare server emits one event to all, each client answers with an event whose ack is as
  large as the manifest. Goal ≤ 1.25x.
- hub_broadcast_N_p50 / _p99: POST /api/v1/broadcasts to the last `broadcast_shown`
  acknowledgement (issue #7); baseline: bare emit + ack at the same N. Skipped, with a
  message, while the server has no broadcast endpoint (404).
- hub_2nodes_*: issue #8, two server processes on PostgreSQL and Redis, half the swarm on
  each, against one node on the same PostgreSQL.

Times are wall-clock times on one machine: the controller notes time.time() before its
request, each swarm process notes it when an answer arrives. The swarm runs in several
processes; their CPU share is reported so a saturated client shows up as such.

Run alone: `.venv/bin/python -m bench.bench_hub --counts 200 [--pg] [--two-nodes]`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("SIGNAGE_BENCH_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test_hub")
REDIS_URL = os.environ.get("SIGNAGE_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
ADMIN_PASSWORD = "bench-admin-password-1"
SWARM_PROCESSES = 3
HOLD_S = 30.0  # six heartbeat rounds with everyone connected before memory is read
CONNECT_S = 300.0  # a swarm not connected by then is held with what it has
ROUNDS = 5
BROADCAST = {"text": "台风预警：请关好门窗，非必要不外出。", "mode": "full",
             "targets": [{"kind": "street"}], "reason": "benchmark", "ends_at": None}
BROADCAST_BYTES = 200  # roughly what a broadcast event carries


def _raise_nofile() -> None:
    """5,000 sockets need more than the usual 1,024 descriptors (runs in the swarm child;
    gunicorn raises its own in server/gunicorn_conf.py)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- processes ----------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pids
    for c in children:
        pids += _tree(int(c))
    return pids


def _rss_mb(pid: int) -> float:
    total = 0.0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _cpu_s(pid: int) -> float:
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


@dataclass
class Node:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _gunicorn(app: str, env: dict, port: int, log: Path,
              conf: str = "server/gunicorn_conf.py") -> Node:
    env = {**env, "PORT": str(port)}
    with log.open("a") as out:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", conf, app], env=env, cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{app} exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(url + "/login", timeout=5).status_code == 200:
                time.sleep(1.0)  # let the worker settle before its idle RSS is read
                return Node(url, proc, log)
        except requests.RequestException:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"{app} did not start: {log.read_text()[-2000:]}")


class Swarm:
    """Simulated terminals spread over SWARM_PROCESSES asyncio processes."""

    def __init__(self, urls: list[str], mode: str, n: int, tmp: Path,
                 credentials: list[str] | None = None, reply_bytes: int = 0,
                 download: bool = False) -> None:
        self.n = n
        self.procs: list[subprocess.Popen] = []
        k = max(1, min(SWARM_PROCESSES, n // 50 or 1))
        if len(urls) > 1:  # the same number of processes, and so of terminals, per node
            k = len(urls) * max(1, min(2, n // 100))
        for i in range(k):
            url = urls[i % len(urls)]
            cmd = [sys.executable, "-m", "bench.swarm", "--url", url, "--mode", mode]
            if download:  # bench/bench_receipts.py: a change brings a file to fetch
                cmd.append("--download")
            share = range(i * n // k, (i + 1) * n // k)
            if mode == "hub":
                path = tmp / f"creds-{i}.txt"
                path.write_text("\n".join(credentials[j] for j in share) + "\n")
                cmd += ["--credentials", str(path)]
            else:
                cmd += ["--count", str(len(share)), "--reply-bytes", str(reply_bytes)]
            self.procs.append(subprocess.Popen(
                cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                preexec_fn=_raise_nofile))

    def ask(self, cmd: str) -> list[dict]:
        for p in self.procs:
            p.stdin.write(json.dumps({"cmd": cmd}) + "\n")
            p.stdin.flush()
        return [json.loads(p.stdout.readline()) for p in self.procs]

    def status(self) -> dict:
        parts = self.ask("status")
        out = {k: sum(p[k] for p in parts) for k in
               ("connected", "failed", "dropped", "heartbeats", "heartbeat_errors",
                "late_heartbeats", "n_times", "manifest_bytes", "downloaded")}
        out["cpu_s"] = [p["cpu_s"] for p in parts]
        out["errors"] = [e for p in parts for e in p["errors"]][:5]
        return out

    def wait_connected(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st["connected"] + st["failed"] >= self.n or time.monotonic() > deadline:
                return st
            time.sleep(1.0)

    def times(self) -> list[float]:
        return sorted(t for part in self.ask("times") for t in part["times"])

    def quit(self) -> None:
        for p in self.procs:
            try:
                p.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                p.stdin.close()
            except OSError:
                pass
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@dataclass
class Round:
    last_ms: float
    p50_ms: float
    p99_ms: float
    answered: int


def _timed_round(swarm: Swarm, expected: int, trigger, timeout: float = 120.0) -> Round:
    """Arm the swarm, call trigger(), wait for `expected` answers (or the timeout)."""
    swarm.ask("arm")
    t0 = time.time()
    trigger()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = swarm.status()  # a terminal that dropped meanwhile will not answer
        if st["n_times"] >= min(expected, st["connected"] - st["dropped"]):
            break
        time.sleep(0.2)
    lat = [(t - t0) * 1000 for t in swarm.times()]
    if not lat:
        return Round(float("nan"), float("nan"), float("nan"), 0)
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
    return Round(lat[-1], q[49], q[98], len(lat))


def _median_rounds(rounds: list[Round]) -> dict:
    ok = [r for r in rounds if r.answered]
    if not ok:
        return {"last_ms": float("nan"), "p50_ms": float("nan"), "p99_ms": float("nan"),
                "answered": 0}
    return {"last_ms": statistics.median(r.last_ms for r in ok),
            "p50_ms": statistics.median(r.p50_ms for r in ok),
            "p99_ms": statistics.median(r.p99_ms for r in ok),
            "answered": min(r.answered for r in rounds)}


# --- the product ----------------------------------------------------------------------


def setup_terminals(n: int) -> None:
    """Inside the server's environment: grow 东和 to n terminals (the seed has 76) in new
    buildings, and print an API token of the street admin. The credentials come from the
    real bulk path (`flask terminals provision`)."""
    from sqlalchemy import func, select

    from server import create_app
    from server.db import db
    from server.models import Building, ColourMode, Community, Role, Terminal, User
    from server.services import accounts

    app = create_app()
    with app.app_context():
        donghe = db.scalar(select(Community).where(Community.name == "东和"))
        have = db.scalar(select(func.count(Terminal.id)).join(Building)
                         .where(Building.community_id == donghe.id))
        for i in range(have, n):
            b = Building(community_id=donghe.id, name=f"压测楼{i + 1}栋", address="benchmark")
            b.terminals = [Terminal(name=f"压测楼{i + 1}栋-LED", location="一楼大堂", width=384,
                                    height=192, colour_mode=ColourMode.full)]
            db.add(b)
        admin = db.scalar(select(User).where(User.role == Role.street_admin))
        _tok, token = accounts.create_token(db, admin, "benchmark")
        db.commit()
        print(token)


def _reset_pg(url: str) -> None:
    """An empty schema in the bench's own database (created on a fresh machine)."""
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                            {"d": target.database}).scalar():
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@dataclass
class Product:
    env: dict
    token: str
    credentials: list[str]
    schedule_id: int
    nodes: list[Node] = field(default_factory=list)

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, self.nodes[0].url + "/api/v1" + path, timeout=60,
                                headers={"Authorization": f"Bearer {self.token}"}, **kw)


def _flask(env: dict, *args: str) -> str:
    done = subprocess.run([str(BIN / "flask"), "--app", "server", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def _product(n: int, tmp: Path, database: str, queue: str | None) -> Product:
    if database.startswith("postgresql"):
        _reset_pg(database)
    env = {**os.environ, "SIGNAGE_DATABASE_URL": database, "SIGNAGE_DATA_DIR": str(tmp),
           "SIGNAGE_ADMIN_PASSWORD": ADMIN_PASSWORD, "SIGNAGE_DEMO_PASSWORD": ADMIN_PASSWORD,
           "SIGNAGE_ASYNC_MODE": "gevent"}
    if queue:
        env["SIGNAGE_MESSAGE_QUEUE"] = queue
    _flask(env, "init")
    _flask(env, "seed-demo", "--content")
    token = subprocess.run([sys.executable, "-m", "bench.bench_hub", "--setup", str(n)],
                           env=env, cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()[-1]
    rows = list(csv.DictReader(io.StringIO(_flask(env, "terminals", "provision",
                                                  "--community", "东和"))))
    return Product(env, token, [r["credential"] for r in rows][:n], 0)


def _schedule_id(product: Product) -> int:
    r = product.api("GET", "/schedules")
    r.raise_for_status()
    return next(s["id"] for s in r.json() if s["name"] == "全天播放")


def _broadcast_available(product: Product) -> bool:
    r = product.api("GET", "/broadcasts")
    if r.status_code == 404:
        print("   broadcast: the server has no /api/v1/broadcasts yet (404); the broadcast "
              "figures are skipped until the live-operations work is merged",
              file=sys.stderr, flush=True)
        return False
    return True


def _send_broadcast(product: Product, ids: list[int]) -> None:
    r = product.api("POST", "/broadcasts", json=BROADCAST)
    if r.status_code != 201:
        raise RuntimeError(f"broadcast refused: {r.status_code} {r.text[:300]}")
    ids.append(r.json()["id"])


def _cancel_broadcasts(product: Product, ids: list[int]) -> None:
    while ids:
        product.api("DELETE", f"/broadcasts/{ids.pop()}")


# --- one scenario ----------------------------------------------------------------------


@dataclass
class Held:
    n: int
    held: int
    failed: int
    dropped: int
    mb_per_1000: float
    idle_mb: float
    loaded_mb: float
    server_cpu: float  # share of one core while holding
    client_cpu: list[float]  # each swarm process, share of one core
    late_heartbeats: int
    heartbeat_errors: int
    heartbeats_per_s: float  # answered while holding; each terminal sends one per 5 s
    connect_s: float  # until every terminal had its `hello` answered (or CONNECT_S)
    manifest_bytes: float = 0.0
    errors: list[str] = field(default_factory=list)


def _idle_mb(nodes: list[Node]) -> float:
    """Read before the swarm starts: its processes connect while other things start."""
    return sum(_rss_mb(x.process.pid) for x in nodes)


def _hold(nodes: list[Node], swarm: Swarm, n: int, idle: float) -> Held:
    started = time.monotonic()
    st = swarm.wait_connected(timeout=CONNECT_S)
    connect_s = time.monotonic() - started
    st0, cpu0, t0 = st, sum(_cpu_s(x.process.pid) for x in nodes), time.monotonic()
    time.sleep(HOLD_S)
    st = swarm.status()
    wall = time.monotonic() - t0
    server_cpu = (sum(_cpu_s(x.process.pid) for x in nodes) - cpu0) / wall
    client_cpu = [round((b - a) / wall, 2) for a, b in zip(st0["cpu_s"], st["cpu_s"],
                                                            strict=True)]
    loaded = sum(_rss_mb(x.process.pid) for x in nodes)
    held = st["connected"] - st["dropped"]
    return Held(n, held, st["failed"], st["dropped"], (loaded - idle) * 1000 / max(1, held),
                round(idle, 1), round(loaded, 1), round(server_cpu, 2), client_cpu,
                st["late_heartbeats"] - st0["late_heartbeats"], st["heartbeat_errors"],
                round((st["heartbeats"] - st0["heartbeats"]) / wall, 1), round(connect_s, 1),
                st["manifest_bytes"] / max(1, st["connected"]), st["errors"])


def _hub(n: int, tmp: Path, *, database: str, nodes: int = 1, manifest_rounds: int = 0,
         broadcast_rounds: int = 0, bare: bool = False) -> dict:
    """The product's figures; with `bare`, the bare server's too, its rounds taken in turn
    with the product's (ABAB) so that the machine's drift falls on both alike (taken one
    after the other, it moved a run's ratio by ±0.25). The bare server and its clients
    start after the product's hold is measured, and both fleets stay connected (and
    heartbeating) through all the rounds."""
    queue = REDIS_URL if nodes > 1 else None
    product = _product(n, tmp, database, queue)
    out: dict = {}
    try:
        from tests.live import free_port

        for i in range(nodes):
            product.nodes.append(_gunicorn("server.wsgi:app", product.env, free_port(),
                                           tmp / f"node-{i}.log"))
        product.schedule_id = _schedule_id(product)
        idle = _idle_mb(product.nodes)
        swarm = Swarm([x.url for x in product.nodes], "hub", n, tmp, product.credentials)
        base = _Bare(n, tmp) if bare else None
        try:
            out["held"] = _hold(product.nodes, swarm, n, idle)
            expected = out["held"].held
            if base:
                out["bare"] = {"held": base.hold(int(out["held"].manifest_bytes))}
            if manifest_rounds:
                rounds, base_rounds = [], []
                for r in range(manifest_rounds):
                    def edit(p=10 + r % 2):
                        product.api("PATCH", f"/schedules/{product.schedule_id}",
                                    json={"priority": p}).raise_for_status()
                    rounds.append(_timed_round(swarm, expected, edit))
                    time.sleep(2)
                    if base:
                        base_rounds.append(base.round("manifest_changed", 0))
                out["manifest"] = _median_rounds(rounds)
                if base:
                    out["bare"]["manifest"] = _median_rounds(base_rounds)
            if broadcast_rounds and _broadcast_available(product):
                rounds, base_rounds, ids = [], [], []
                try:
                    for _ in range(broadcast_rounds):
                        rounds.append(_timed_round(swarm, expected,
                                                   lambda: _send_broadcast(product, ids)))
                        _cancel_broadcasts(product, ids)
                        time.sleep(2)
                        if base:
                            base_rounds.append(base.round("broadcast", BROADCAST_BYTES))
                    out["broadcast"] = _median_rounds(rounds)
                    if base:
                        out["bare"]["broadcast"] = _median_rounds(base_rounds)
                except RuntimeError as err:  # the endpoint exists but refused: say why
                    print(f"   broadcast figures skipped: {err}", file=sys.stderr, flush=True)
            out["after"] = swarm.status()
        finally:
            swarm.quit()
            if base:
                base.stop()
    finally:
        for x in product.nodes:
            x.stop()
            _print_server_errors(x.log)
    return out


class _Bare:
    """The baseline: bench/bare_server.py and its plain clients, answering a pushed
    `manifest_changed` with an event whose ack is as large as the product's manifest,
    and a `broadcast` with a small one."""

    def __init__(self, n: int, tmp: Path) -> None:
        from tests.live import free_port

        self.n, self.tmp = n, tmp
        self.node = _gunicorn("bench.bare_server:app", dict(os.environ), free_port(),
                              tmp / "bare.log")
        self.swarm: Swarm | None = None

    def hold(self, manifest_bytes: int) -> Held:
        idle = _idle_mb([self.node])
        self.swarm = Swarm([self.node.url], "bare", self.n, self.tmp, reply_bytes=manifest_bytes)
        held = _hold([self.node], self.swarm, self.n, idle)
        self.expected = self.swarm.status()["connected"]
        return held

    def round(self, event: str, payload_bytes: int) -> Round:
        def emit() -> None:
            requests.post(self.node.url + "/emit", json={"event": event,
                                                         "payload_bytes": payload_bytes},
                          timeout=60).raise_for_status()

        assert self.swarm is not None
        done = _timed_round(self.swarm, self.expected, emit)
        time.sleep(2)
        return done

    def stop(self) -> None:
        if self.swarm:
            self.swarm.quit()
        self.node.stop()


def _print_server_errors(log: Path) -> None:
    """What the server logged as errors (e.g. an exhausted connection pool), once each."""
    seen: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if "Error" in line and not line.startswith(" "):
            seen[line[-200:]] = seen.get(line[-200:], 0) + 1
    for line, count in list(seen.items())[:5]:
        print(f"   server log ({count}x): {line}", file=sys.stderr)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b and a == a and b == b else None


def _held_figures(label: str, hub: Held, bare: Held, base_name: str = "bare",
                  memory_goal: str = "≤ 1.5x bare") -> list[dict]:
    detail = {"hub": hub.__dict__, base_name: bare.__dict__}
    return [
        {"name": f"{label}_held_{hub.n}", "value": hub.held, "unit": "terminals",
         "baseline": bare.held, "ratio": _ratio(hub.held, bare.held),
         "goal": f"all {hub.n} held, at least 5,000 per process", "detail": detail},
        {"name": f"{label}_memory_per_1000_terminals_{hub.n}",
         "value": round(hub.mb_per_1000, 1), "unit": "MB per 1,000 terminals",
         "baseline": round(bare.mb_per_1000, 1), "ratio": _ratio(hub.mb_per_1000,
                                                                  bare.mb_per_1000),
         "goal": memory_goal},
        {"name": f"{label}_heartbeats_per_s_{hub.n}", "value": hub.heartbeats_per_s,
         "unit": "status events answered per s", "baseline": bare.heartbeats_per_s,
         "ratio": _ratio(hub.heartbeats_per_s, bare.heartbeats_per_s),
         "goal": f"{hub.n / 5:.0f}/s (every terminal every 5 s)"},
    ]


def _timing_figures(name: str, hub: dict, bare: dict, keys: tuple[str, ...], goal: str,
                    n: int) -> list[dict]:
    return [{"name": f"{name}_{k.removesuffix('_ms')}", "value": round(hub[k], 1), "unit": "ms",
             "baseline": round(bare[k], 1), "ratio": _ratio(hub[k], bare[k]), "goal": goal,
             "detail": {"answered": hub["answered"], "of": n,
                        "bare_answered": bare["answered"]}} for k in keys]


def run(quick: bool = False, counts: tuple[int, ...] | None = None, pg: bool | None = None,
        two_nodes: bool | None = None, sqlite: bool = True) -> list[dict]:
    counts = counts or ((76, 200) if quick else (76, 1000, 5000))
    pg = (not quick) if pg is None else pg
    two_nodes = (not quick) if two_nodes is None else two_nodes
    rounds = 3 if quick else ROUNDS
    figures: list[dict] = []
    sqlite_held: dict[int, Held] = {}
    with tempfile.TemporaryDirectory() as tmp_:
        for n in counts if sqlite else ():
            tmp = Path(tmp_) / f"sqlite-{n}"
            tmp.mkdir()
            fanout = rounds if n == max([c for c in counts if c <= 1000] or [0]) else 0
            print(f"   {n} terminals, one node, SQLite, and {n} plain clients of the bare "
                  "server", file=sys.stderr, flush=True)
            hub = _hub(n, tmp, database=f"sqlite:///{tmp}/bench.db", manifest_rounds=fanout,
                       broadcast_rounds=rounds, bare=True)
            sqlite_held[n] = hub["held"]
            bare = hub["bare"]
            if n != 76:  # 76 is there for the broadcast figure only
                figures += _held_figures("hub", hub["held"], bare["held"])
            if "manifest" in hub:
                figures += _timing_figures(f"hub_manifest_fanout_{n}", hub["manifest"],
                                           bare["manifest"], ("last_ms",), "≤ 1.25x bare", n)
            if "broadcast" in hub:
                figures += _timing_figures(f"hub_broadcast_{n}", hub["broadcast"],
                                           bare["broadcast"], ("p50_ms", "p99_ms", "last_ms"),
                                           "p99 ≤ 1.25x bare at 1,000", n)
        if pg or two_nodes:
            n = max(counts)
            results = {}
            for nodes in (1, 2) if two_nodes else (1,):
                tmp = Path(tmp_) / f"pg-{nodes}"
                tmp.mkdir()
                print(f"   {n} terminals, {nodes} node(s), PostgreSQL"
                      + (" + Redis" if nodes > 1 else ""), file=sys.stderr, flush=True)
                # A fan-out to more than 1,000 outlasts a round's timeout on one node.
                results[nodes] = _hub(n, tmp, database=PG_URL, nodes=nodes,
                                      manifest_rounds=rounds if n <= 1000 else 0,
                                      broadcast_rounds=rounds)
            one = results[1]
            if n in sqlite_held:
                figures += _held_figures("hub_pg", one["held"], sqlite_held[n], "sqlite",
                                         "informational: PostgreSQL against SQLite")
            if two_nodes:
                two = results[2]
                figures += _held_figures("hub_2nodes", two["held"], one["held"], "one_node",
                                         "informational: two nodes against one")
                for key, ks in (("manifest", ("last_ms",)), ("broadcast", ("p99_ms",))):
                    if key in two and key in one:
                        figures += _timing_figures(f"hub_2nodes_{key}_{n}", two[key], one[key],
                                                   ks, "baseline: one node on PostgreSQL", n)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", help="comma-separated terminal counts, e.g. 100,500")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--pg", action="store_true", help="also one node on PostgreSQL test_hub")
    p.add_argument("--two-nodes", action="store_true", help="also two nodes (issue #8)")
    p.add_argument("--no-sqlite", action="store_true", help="only the PostgreSQL runs")
    p.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.setup:
        return setup_terminals(args.setup)
    counts = tuple(int(c) for c in args.counts.split(",")) if args.counts else None
    figures = run(quick=args.quick, counts=counts, pg=args.pg or args.two_nodes,
                  two_nodes=args.two_nodes, sqlite=not args.no_sqlite)
    print(json.dumps(figures, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
