"""Reconnect storm (issue 19): the real server (bench_hub's one node on SQLite, gunicorn
with one gevent-websocket worker) killed and started again under a connected fleet,
against bench/bare_server.py under the same worker killed and started again under the
same number of plain clients, in the same run.

Each simulated terminal (bench/swarm.py with --reconnect) retries on the player's own
schedule, `player.client.Backoff` itself (1 s doubling to a 30 s cap, full jitter,
starting over after 60 s connected). A round: wait until every terminal of the side is
connected with a back-off that would start over (the fleet had been up a while), kill
the side's gunicorn with SIGKILL to its process group (master, worker and job workers:
the crash, not a graceful restart), wait --outage seconds, start it again on the same
port, and time the fleet back. Rounds alternate, product then bare, --rounds of each,
so the machine's drift falls on both alike; both fleets stay connected (and heartbeat)
throughout, so each storm runs beside the other fleet's steady load.

Figures (N from --counts; the default 1,000 and 5,000, --quick 200):
- reconnect_storm_N_last: from the new server's first 200 on a readiness probe (GET
  /login every 50 ms from the restart on) to the last terminal connected and re-synced;
  median over the rounds; baseline: the bare server's. Goal ≤ 1.5x. _p50 and _p95: the
  same over terminals (nearest rank over all N; null where the fleet was not back within
  STORM_TIMEOUT_S in most rounds). Re-synced, product: the terminal's `hello` (the manifest version
  it holds; what the player sends on every connect, and nothing before it) was answered
  with the current version, so it holds the current manifest (the answer would carry it
  otherwise; `manifests_resent` counts those). Bare: one event answered with an ack as
  large as the product's re-sync answer (measured in the product's rounds).
  With full jitter the back-off dominates these times; both sides use the same Backoff,
  so the ratio compares how each server takes the storm.
- reconnect_failed_attempts_N: connection attempts that failed after the server's first
  200 (refused, reset, timed out or turned away under the storm), median over rounds;
  those made while it was down (refused, as expected) are in the detail.
- reconnect_online_truth_N: right after a product round, the terminals the product's
  database marks online, against the swarm's connected clients (and /healthz's count
  of connections in the detail); read again before the next kill.
- reconnect_down_alerts_N: terminal alerts opened by the product's restarts, read from
  its database once the restart's grace (60 s, server/services/nodes.py) and two runs of
  down detection have passed. Goal 0: a restart within the grace opens none.

Before the product's first start its planned time is written (`--plan`, in the server's
environment), as a running server has it: left to that start on a street just grown to
5,000 terminals, the planned-time job ran on the worker's loop and held it past
`_gunicorn`'s 60 s (docs/benchmarks.md, "Reconnect storm").

Run alone: `.venv/bin/python -m bench.bench_reconnect --counts 200 [--outage 5]
[--rounds 2]`. `python -m bench.run bench_reconnect` registers its figures (bench/run.py
finds every bench_*.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.bench_hub import (
    CONNECT_S,
    ROOT,
    Node,
    Swarm,
    _cpu_s,
    _gunicorn,
    _print_server_errors,
    _product,
    _raise_nofile,
    _ratio,
)
from bench.swarm import RECONNECT_ENV
from player.protocol import STATUS_INTERVAL_S

OUTAGE_S = 5.0
ROUNDS = 2
PROBE_S = 0.05
STORM_TIMEOUT_S = 300.0  # a fleet not back by then is reported with what came back
FRESH_TIMEOUT_S = 180.0  # Backoff.HEALTHY_S (60 s) after the last terminal came back, and more
# The bare server's ack around its padding ({"ok": true, "pad": "xx…"}, bench/bare_server.py):
# taken off, so that its answer is as large as the product's.
BARE_ENVELOPE = len(json.dumps({"ok": True, "pad": ""}))


@contextlib.contextmanager
def _reconnecting() -> Iterator[None]:
    """bench_hub's Swarm starts bench.swarm with its own arguments; --reconnect reaches the
    processes through the environment they inherit (only while they start)."""
    os.environ[RECONNECT_ENV] = "1"
    try:
        yield
    finally:
        os.environ.pop(RECONNECT_ENV, None)


def _ask(swarm: Swarm, msg: dict) -> list[dict]:
    """Swarm.ask with arguments (`arm` takes the bare clients' reply size)."""
    for p in swarm.procs:
        p.stdin.write(json.dumps(msg) + "\n")
        p.stdin.flush()
    return [json.loads(p.stdout.readline()) for p in swarm.procs]


class _Probe(threading.Thread):
    """GET /login until the first 200: the moment the new server answers HTTP."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.ready_at: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/login", timeout=10).status_code == 200:
                    self.ready_at = time.time()
                    break
            except requests.RequestException:
                pass
            time.sleep(PROBE_S)
        self.done.set()


def _quantile(xs: list[float], q: int, n: int) -> float:
    """Nearest rank over all n terminals (xs sorted): NaN where the rank is a terminal
    that did not come back in time."""
    rank = max(0, math.ceil(q / 100 * n) - 1)
    return xs[rank] if rank < len(xs) else float("nan")


@dataclass
class Storm:
    side: str
    n: int
    outage_s: float
    start_s: float  # from the restart to the first 200 (the server's own start-up)
    resynced: int  # terminals connected and re-synced since the kill
    last_s: float  # from the first 200, to the last terminal re-synced
    p50_s: float
    p95_s: float
    last_from_kill_s: float
    connected_p95_s: float  # from the first 200, connected (before the re-sync)
    attempts: int
    failed_down: Counter  # failed attempts before the first 200, by kind
    failed_up: Counter  # after it: what the storm cost
    resync_failures: int
    manifests_resent: int
    resync_bytes: float
    server_cpu_s: float  # the new server's CPU (all its processes) from start to the last
    client_cpu_s: list[float]  # each swarm process over the round
    truth: dict = field(default_factory=dict)  # product only
    t_ready: float = 0.0
    alerts_before: dict = field(default_factory=dict)


class _Side:
    """One server under test, on a port of its own, with its reconnecting fleet."""

    def __init__(self, name: str, app: str, env: dict, n: int, tmp: Path, *,
                 credentials: list[str] | None = None, reply_bytes: int = 0,
                 db: Path | None = None) -> None:
        from tests.live import free_port

        self.name, self.app, self.env, self.n, self.db = name, app, env, n, db
        self.port = free_port()
        self.log = tmp / f"{name}.log"
        self.node: Node = _gunicorn(app, env, self.port, self.log)
        with _reconnecting():
            self.swarm = Swarm([self.node.url], "hub" if credentials else "bare", n, tmp,
                               credentials, reply_bytes)

    def status(self) -> dict:
        parts = self.swarm.ask("status")
        out = {k: sum(p[k] for p in parts) for k in
               ("connected", "up", "linked", "resynced", "fresh", "dropped", "heartbeat_errors",
                "manifest_bytes")}
        out["cpu_s"] = [p["cpu_s"] for p in parts]
        out["errors"] = [e for p in parts for e in p["errors"]][:5]
        return out

    def wait_fresh(self, timeout: float) -> dict:
        """Every terminal up, and its back-off would start from the first step if it lost
        the connection now: a fleet that had been up, not one just back from a storm."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st["fresh"] >= self.n or time.monotonic() > deadline:
                if st["fresh"] < self.n:
                    print(f"   {self.name}: only {st['fresh']} of {self.n} terminals up with a "
                          f"fresh back-off after {timeout:.0f} s ({st['up']} up)",
                          file=sys.stderr, flush=True)
                return st
            time.sleep(1.0)

    def storm(self, outage: float, reply_bytes: int | None = None) -> Storm:
        alerts = _alerts(self.db) if self.db else {}
        _ask(self.swarm, {"cmd": "arm"} | ({"reply_bytes": reply_bytes} if reply_bytes else {}))
        cpu0 = self.status()["cpu_s"]
        t_kill = time.time()
        self.node.stop()  # SIGKILL to the process group: master, worker, job workers
        time.sleep(max(0.0, t_kill + outage - time.time()))
        probe = _Probe(self.node.url)
        t_start = time.time()
        probe.start()
        self.node = _gunicorn(self.app, self.env, self.port, self.log)
        probe.done.wait()
        t_ready = probe.ready_at or t_start
        deadline = time.monotonic() + STORM_TIMEOUT_S
        while (st := self.status())["resynced"] < self.n and time.monotonic() < deadline:
            time.sleep(0.25)
        server_cpu = _cpu_s(self.node.process.pid)
        parts = _ask(self.swarm, {"cmd": "recon"})
        resynced = sorted(t - t_ready for p in parts for t in p["resynced_at"] if t)
        connected = sorted(t - t_ready for p in parts for t in p["connected_at"] if t)
        failures = [f for p in parts for f in p["failures"]]
        sizes = [p["resync_bytes"] for p in parts if p["resync_bytes"]]
        storm = Storm(
            self.name, self.n, outage, round(t_ready - t_start, 2), len(resynced),
            round(_quantile(resynced, 100, self.n), 2),
            round(_quantile(resynced, 50, self.n), 2), round(_quantile(resynced, 95, self.n), 2),
            round(_quantile(resynced, 100, self.n) + t_ready - t_kill, 2),
            round(_quantile(connected, 95, self.n), 2), sum(p["attempts"] for p in parts),
            Counter(kind for t, kind in failures if t < t_ready),
            Counter(kind for t, kind in failures if t >= t_ready),
            sum(p["resync_failures"] for p in parts), sum(p["manifests_resent"] for p in parts),
            round(statistics.mean(sizes)) if sizes else 0, round(server_cpu, 2),
            [round(b - a, 2) for a, b in zip(cpu0, st["cpu_s"], strict=True)],
            t_ready=t_ready, alerts_before=alerts)
        if self.db:
            storm.truth["after_storm"] = self.truth(st)
        return storm

    def truth(self, st: dict | None = None) -> dict:
        """What the product says is online, against what is connected."""
        st = st or self.status()
        with contextlib.closing(sqlite3.connect(self.db, timeout=30)) as c:
            online = c.execute("SELECT count(*) FROM terminal_state WHERE online").fetchone()[0]
        try:
            health = requests.get(self.node.url + "/healthz", timeout=30).json()
        except (requests.RequestException, ValueError) as err:
            health = {"error": repr(err)}
        return {"db_online": online, "swarm_connected": st["linked"], "swarm_up": st["up"],
                "healthz_terminals": health.get("terminals"),
                "server_events": len(health.get("server_events") or [])}

    def settle(self, storm: Storm) -> None:
        """After the restart's grace and two runs of down detection: the alerts it opened,
        and what is online now."""
        from server.services.nodes import GRACE

        wait = storm.t_ready + GRACE.total_seconds() + 2 * STATUS_INTERVAL_S + 2 - time.time()
        if wait > 0:
            time.sleep(wait)
        after = _alerts(self.db)
        storm.truth["alerts_opened"] = {k: v - storm.alerts_before.get(k, 0)
                                        for k, v in after.items()
                                        if v != storm.alerts_before.get(k, 0)}
        storm.truth["settled"] = self.truth()
        print(f"   {self.name}: alerts opened by the restart {storm.truth['alerts_opened']}; "
              f"settled {storm.truth['settled']}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        self.swarm.quit()
        self.node.stop()
        _print_server_errors(self.log)


def write_planned() -> None:
    """Inside the server's environment: the planned time a running server has written
    long before it is restarted (the scheduler's planned-time job). Left to the first
    start on a freshly grown street, that job ran on the worker's event loop (the
    scheduler starts before the job pool, so a job due meanwhile runs inline) and held
    it 12-56 s at 5,000 terminals, past `_gunicorn`'s 60 s start-up limit."""
    from server import create_app
    from server.db import session_scope
    from server.services import planned

    with create_app().app_context(), session_scope() as s:
        print(planned.run(s))


def _alerts(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as c:
        return dict(c.execute("SELECT kind, count(*) FROM terminal_alert GROUP BY kind"))


def _say(s: Storm, r: int) -> None:
    print(f"   {s.side} round {r + 1}: {s.resynced}/{s.n} back; last {s.last_s} s, p50 "
          f"{s.p50_s} s, p95 {s.p95_s} s after the first 200 (start-up {s.start_s} s); "
          f"{s.attempts} attempts, failed while down {dict(s.failed_down)}, while up "
          f"{dict(s.failed_up)}; re-sync failures {s.resync_failures}"
          + (f"; {s.truth['after_storm']}" if s.truth else ""), file=sys.stderr, flush=True)


def _storms(n: int, tmp: Path, outage: float, rounds: int) -> dict[str, list[Storm]]:
    db = tmp / "bench.db"
    product = _product(n, tmp, f"sqlite:///{db}", None)
    subprocess.run([sys.executable, "-m", "bench.bench_reconnect", "--plan"], env=product.env,
                   cwd=ROOT, capture_output=True, text=True, check=True)
    sides: list[_Side] = []
    out: dict[str, list[Storm]] = {"product": [], "bare": []}
    try:
        hub = _Side("product", "server.wsgi:app", product.env, n, tmp,
                    credentials=product.credentials, db=db)
        sides.append(hub)
        st = hub.wait_fresh(CONNECT_S)
        # Until the product's re-sync answer is measured: its hello answer with a manifest.
        reply = int(st["manifest_bytes"] / max(1, st["connected"]))
        bare = _Side("bare", "bench.bare_server:app", dict(os.environ), n, tmp,
                     reply_bytes=reply)
        sides.append(bare)
        bare.wait_fresh(CONNECT_S)
        for r in range(rounds):
            if out["product"]:
                hub.settle(out["product"][-1])
            hub.wait_fresh(FRESH_TIMEOUT_S)
            out["product"].append(hub.storm(outage))
            _say(out["product"][-1], r)
            reply = int(statistics.median(s.resync_bytes for s in out["product"])) - BARE_ENVELOPE
            bare.wait_fresh(FRESH_TIMEOUT_S)
            out["bare"].append(bare.storm(outage, reply_bytes=reply))
            _say(out["bare"][-1], r)
        if out["product"]:
            hub.settle(out["product"][-1])
    finally:
        for side in sides:
            side.stop()
    return out


def _median(storms: list[Storm], key: str) -> float | None:
    """None: not reached in most rounds (a round whose fleet was not back in time counts as
    infinitely slow, not as missing)."""
    xs = [math.inf if getattr(s, key) != getattr(s, key) else getattr(s, key) for s in storms]
    m = statistics.median(xs) if xs else math.inf
    return round(m, 2) if m != math.inf else None


def _figures(n: int, storms: dict[str, list[Storm]]) -> list[dict]:
    hub, bare = storms["product"], storms["bare"]
    detail = {"rounds": {side: [{k: v for k, v in s.__dict__.items()
                                 if k not in ("t_ready", "alerts_before")} for s in ss]
                         for side, ss in storms.items()}}
    out = []
    for key, goal in (("last_s", "≤ 1.5x bare"), ("p50_s", "informational"),
                      ("p95_s", "informational")):
        a, b = _median(hub, key), _median(bare, key)
        out.append({"name": f"reconnect_storm_{n}_{key.removesuffix('_s')}", "value": a,
                    "unit": "s from the first 200 to connected and re-synced (null: not "
                            f"back within {STORM_TIMEOUT_S:.0f} s)",
                    "baseline": b, "ratio": _ratio(a, b) if a and b else None, "goal": goal,
                    **({"detail": detail} if key == "last_s" else {})})
    failed = [sum(s.failed_up.values()) for s in hub]
    bare_failed = [sum(s.failed_up.values()) for s in bare]
    a, b = statistics.median(failed or [0]), statistics.median(bare_failed or [0])
    out.append({"name": f"reconnect_failed_attempts_{n}", "value": a,
                "unit": "failed attempts after the first 200", "baseline": b,
                "ratio": _ratio(a, b), "goal": "informational",
                "detail": {"product": [dict(s.failed_up) for s in hub],
                           "bare": [dict(s.failed_up) for s in bare],
                           "product_while_down": [dict(s.failed_down) for s in hub],
                           "bare_while_down": [dict(s.failed_down) for s in bare]}})
    truths = [s.truth for s in hub]
    online = [t["after_storm"]["db_online"] for t in truths]
    up = [t["after_storm"]["swarm_connected"] for t in truths]
    out.append({"name": f"reconnect_online_truth_{n}", "value": min(online or [0]),
                "unit": "terminals online in the database after a restart",
                "baseline": min(up or [0]), "ratio": _ratio(min(online or [0]), min(up or [0])),
                "goal": "equal to the terminals connected", "detail": truths})
    alerts = sum(t.get("alerts_opened", {}).get("down", 0) for t in truths)
    out.append({"name": f"reconnect_down_alerts_{n}", "value": alerts,
                "unit": f"down alerts opened by {len(hub)} restarts", "baseline": 0,
                "ratio": None, "goal": "0 (back within the 60 s grace)",
                "detail": [t.get("alerts_opened") for t in truths]})
    return out


def run(quick: bool = False, counts: tuple[int, ...] | None = None,
        outage: float = OUTAGE_S, rounds: int = ROUNDS) -> list[dict]:
    _raise_nofile()
    counts = counts or ((200,) if quick else (1000, 5000))
    figures: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp_:
        for n in counts:
            tmp = Path(tmp_) / f"n-{n}"
            tmp.mkdir()
            print(f"   {n} terminals (one node, SQLite) and {n} bare clients, {rounds} "
                  f"restarts each after a {outage:g} s outage", file=sys.stderr, flush=True)
            figures += _figures(n, _storms(n, tmp, outage, rounds))
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", help="comma-separated terminal counts, e.g. 200,1000")
    p.add_argument("--quick", action="store_true", help="200 terminals only")
    p.add_argument("--outage", type=float, default=OUTAGE_S,
                   help="seconds between the kill and the new server's start")
    p.add_argument("--rounds", type=int, default=ROUNDS, help="restarts of each server")
    p.add_argument("--plan", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.plan:
        return write_planned()
    counts = tuple(int(c) for c in args.counts.split(",")) if args.counts else None
    figures = run(quick=args.quick, counts=counts, outage=args.outage,
                  rounds=max(1, args.rounds))
    print(json.dumps(figures, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
