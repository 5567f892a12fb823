"""The terminal hub under staff load: does what staff do on the server delay the screens?

One product server as `make run` starts it (gunicorn, one gevent-websocket worker,
`server/gunicorn_conf.py`: its job pool and loop-lag monitor started in post_worker_init),
on SQLite, with the demo (`flask init`, `seed-demo --content`) grown to N terminals in 东和
(bench_hub's setup) and report data (below). N simulated terminals (bench/swarm.py, hub
mode) connect with their own credentials and heartbeat every 5 s as players do. Then
rounds of WINDOW_S seconds alternate (ABAB, as bench_hub takes its bare comparison):
- A: no staff activity;
- B: a staff script in its own process (this module with --staff), signed in through the
  real login form as the street admin, runs three loops at once, back to back: the year's
  report page for every grouping in turn (`/reports/?from=…&to=…&by=…`), uploads of a
  450-megapixel animated GIF (tests/media.py `gif_on_canvas(1500, 1500, 200)`, under the
  500 MP decode budget) through POST /content/upload, and the year's XLSX export by hour
  (`format=xlsx`). Every answer is checked (page: 200 with a non-empty #report-table;
  upload: 201; export: 200 with a workbook); anything else is an error and is reported.
  At the end of the window the loops stop after their current request.

Measured in each round:
- heartbeat ack latency: every `status` the swarm sent in the window, send to ack (the
  swarm's `acks` command); p99 over all terminals' heartbeats of the round;
- broadcast: one POST /api/v1/broadcasts to the whole street (bench_hub's typed text,
  rendered for the street's screen sizes in a job worker) in the middle of the window, to
  the last and the p99 `broadcast_shown` ack (bench_hub's `_timed_round`), cancelled
  after; and, as a control, one of an approved demo notice (`content_id`: nothing to
  render, no job) right after it. Each one's POST is timed on its own too;
- loop lag: the server's own `loop_lag_ms.p99` (server/looplag.py: a 50 ms sleeper's
  lateness, p99 over the last 60 s) read from /healthz once, at the end of the window. The
  window is 60 s, so the figure covers exactly the round (with --quick's 30 s window it
  also covers the 30 s before it: a smoke run only);
- the server log's "event loop stalled" warnings (each names the request or event that
  held the loop), the worker's and the job workers' CPU, the machine's load average.

Figures (value: median of the B rounds; baseline: median of the A rounds; ratio B/A):
- staff_load_heartbeat_ack_p99, staff_load_broadcast_N_p99, staff_load_loop_lag_p99:
  goal ≤ 1.25x;
- staff_load_worker_restarts: "Booting worker" lines after the first in the gunicorn log,
  or a change of /healthz's node name (goal 0);
- informational: the broadcast of an approved item (the control) and each broadcast's
  POST alone, B against A; what the staff script got done per B round (pages, uploads,
  exports), and its errors (goal 0); heartbeats acked after more than 5 s.

Report data: a year (the 365 local days ending today) for the 76 demo terminals and the
current day for the N - 76 added ones, generated set-based in the database with
bench_report_page's statements (`_hour_statements`, `_rollup_statements`: played, planned
and uptime hours, their day and month rollups and slices for the closed hours, the
closed-hours mark), each span's terminals created at its first local midnight and planned
to the end of tomorrow, so the server's planned-time job has nothing to catch up. A year
for all 1,000 would be 13 times the 76's rows (over 20 minutes on this machine). The demo
has 6 items, so a terminal-hour gets the generator's 8-of-36 picks that fall on them
(1.3 items × 450 s on average).

Run alone: `.venv/bin/python -m bench.bench_staff_load [--quick] [--terminals N]
[--rounds R] [--window S]` (JSON on stdout, progress on stderr). Diagnostic runs, not to
take figures from: `--profile DIR` records the gevent worker with py-spy (`record
--nonblocking`, raw folded stacks) through every window, one file per round, prints each
round's heaviest frames, and dumps the job workers' stacks during each typed broadcast's
POST; `--gc-log` serves with bench/gunicorn_gc_conf.py (the product's settings plus a
gc callback) and counts the worker's full garbage collections per round, with their
durations; `--kinds page,upload,export` chooses the B rounds' staff loops, and
`--kinds burn,burn` replaces them with two busy loops at nice 10 (as the job workers run):
the machine's CPU taken without any request to the server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.bench_hub import (
    BIN,
    BROADCAST,
    ROOT,
    Node,
    Swarm,
    _cancel_broadcasts,
    _gunicorn,
    _print_server_errors,
    _product,
    _timed_round,
)

TERMINALS, QUICK_TERMINALS = 1000, 200
ROUNDS, QUICK_ROUNDS = 5, 2  # of each kind
WINDOW_S, QUICK_WINDOW_S = 60.0, 30.0  # looplag's p99 is over the last 60 s
CONNECT_S = 300.0
SETTLE_S = 10.0  # heartbeats of everyone before the first round
PAUSE_S = 3.0  # between rounds, after the staff's last request ended
GOAL = "≤ 1.25x"
GIF = (1500, 1500, 200)  # 450 megapixels to decode, under the 500 MP budget
KINDS = ("page", "upload", "export")


def _log(msg: str) -> None:
    print(f"   {msg}", file=sys.stderr, flush=True)


def _pct(xs: list[float], p: int) -> float:
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


# --- report data ---------------------------------------------------------------------------


def _report_data(url: str, added_prefix: str = "压测楼") -> dict:
    """A year for the demo terminals, the current day for the ones bench_hub's setup added
    (their buildings are named `added_prefix…`), with bench_report_page's statements. Its
    `_generate` fills one period for every terminal; here the hour statements run once per
    span, over that span's terminals, and the rollups once over all of them."""
    from sqlalchemy import create_engine, text

    from bench.bench_report_page import (
        HOUR,
        TABLES,
        Clock,
        DataSet,
        _hour_statements,
        _rollup_statements,
        local_midnight,
    )
    from server.models import PlannedDay, PlannedHour, PlannedMonth, PlayDay, PlayHour, PlayMonth

    clock = Clock.of(DataSet("365d", 365, 76, 1), datetime.now(UTC))
    spans = (("year", clock.start, f"b.name NOT LIKE '{added_prefix}%'"),
             ("today", local_midnight(clock.today), f"b.name LIKE '{added_prefix}%'"))
    engine = create_engine(url)
    dialect = engine.dialect.name

    def instant(t: datetime):
        return t if dialect == "postgresql" else t.strftime("%Y-%m-%d %H:%M:%S.000000")

    t0 = time.perf_counter()
    terminals = {}
    with engine.begin() as conn:
        if dialect == "sqlite":
            conn.execute(text("PRAGMA cache_size = -524288"))
        conn.execute(text("CREATE TEMP TABLE bt (idx integer PRIMARY KEY, terminal_id integer,"
                          " building_id integer, community_id integer)"))
        conn.execute(text("CREATE TEMP TABLE bc (idx integer PRIMARY KEY, content_id integer, "
                          "topic_id integer)"))
        conn.execute(text("INSERT INTO bc SELECT row_number() OVER (ORDER BY id) - 1, id, "
                          "topic_id FROM content_item"))
        indexes = [i for m in (PlayHour, PlayDay, PlayMonth, PlannedHour, PlannedDay,
                               PlannedMonth) for i in m.__table__.indexes]
        for index in indexes:
            index.drop(conn)
        for _name, start, where in spans:
            conn.execute(text("DELETE FROM bt"))
            conn.execute(text(
                "INSERT INTO bt SELECT row_number() OVER (ORDER BY t.id) - 1, t.id, b.id, "
                f"b.community_id FROM terminal t JOIN building b ON b.id = t.building_id "
                f"WHERE {where}"))
            terminals[_name] = conn.execute(text("SELECT count(*) FROM bt")).scalar_one()
            # Created at the span's start, planned to the end of tomorrow, no change pending.
            conn.execute(text(
                "UPDATE terminal SET created_at = :start, planned_until = :until, "
                "replan_from = NULL WHERE id IN (SELECT terminal_id FROM bt)"),
                {"start": instant(start), "until": instant(clock.planned_until)})
            hours = {"played": round((clock.played_until - start) / HOUR),
                     "planned": round((clock.planned_until - start) / HOUR)}
            for _, stmt, which in _hour_statements(dialect):
                conn.execute(text(stmt), {"start": instant(start), "hours": hours[which]})
        for _, stmt in _rollup_statements(dialect):
            conn.execute(text(stmt), {"closed": instant(clock.closed_until)}
                         if ":closed" in stmt else {})
        for index in indexes:
            index.create(conn)
        conn.execute(text("DROP TABLE bt"))
        conn.execute(text("DROP TABLE bc"))
    with engine.connect() as conn:
        if dialect == "sqlite":
            conn.execute(text("PRAGMA analysis_limit = 1000"))
            conn.execute(text("ANALYZE"))
            conn.commit()
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in TABLES}
    engine.dispose()
    return {"first": clock.first.isoformat(), "last": clock.today.isoformat(),
            "terminals": terminals, "seconds": round(time.perf_counter() - t0, 1),
            "rows": counts}


def _demo_notice(url: str) -> int:
    """An approved demo notice (the typhoon warning) to broadcast without typing."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM content_item WHERE title = '台风预警' AND "
                                  "status = 'approved'")).scalar()
    engine.dispose()
    if found is None:
        raise RuntimeError("the demo's approved notice 台风预警 is missing")
    return found


# --- the staff script (its own process) ------------------------------------------------------


class Staff:
    """A street admin signed in through the login form, looping the heavy things staff do,
    one thread per kind; driven over stdin/stdout (one JSON object per line each way):
    {"cmd": "warm"} one of each, in turn; {"cmd": "go"} start the loops (`"kinds": [...]`:
    some of them only, for a diagnosis); {"cmd": "stop"} stop them after their current
    request, answer what was done since `go`."""

    def __init__(self, url: str, gif: Path, first: str, last: str) -> None:
        from bench.bench_upload_lag import _login

        self.url, self.gif = url, gif.read_bytes()
        self.first, self.last = first, last
        try:
            self.session, self.csrf, self.topic = _login(url)
        except (IndexError, AttributeError) as err:  # no upload page: not signed in
            raise RuntimeError(f"staff login failed: {err!r}") from None
        self.running = threading.Event()
        self.lock = threading.Lock()
        self.reset()
        self.uploads = 0

    def reset(self) -> None:
        self.done: Counter[str] = Counter()
        self.seconds: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: list[str] = []
        self.n_errors = 0

    def _period(self, by: str) -> dict:
        return {"from": self.first, "to": self.last, "by": by}

    def page(self, by: str) -> str | None:
        from bench.bench_report_page import _check

        r = self.session.get(self.url + "/reports/", params=self._period(by), timeout=300,
                             allow_redirects=False)
        try:
            _check(r, by)
        except RuntimeError as err:
            return str(err)
        return None

    def upload(self) -> str | None:
        with self.lock:
            self.uploads += 1
            n = self.uploads
        r = self.session.post(self.url + "/content/upload",
                              params={"title": f"压测动图{n}", "topic_id": self.topic},
                              data=self.gif, timeout=300,
                              headers={"X-CSRFToken": self.csrf,
                                       "X-Filename": f"bench-animation-{n}.gif",
                                       "Content-Type": "application/octet-stream"})
        return None if r.status_code == 201 else f"upload: HTTP {r.status_code}: {r.text[:300]}"

    def export(self) -> str | None:
        r = self.session.get(self.url + "/reports/",
                             params={**self._period("hour"), "format": "xlsx"}, timeout=300)
        if r.status_code != 200 or not r.content.startswith(b"PK"):
            return f"export: HTTP {r.status_code}: {r.text[:300]}"
        return None

    def act(self, kind: str, *args) -> None:
        t0 = time.perf_counter()
        try:
            error = getattr(self, kind)(*args)
        except requests.RequestException as err:
            error = f"{kind}: {err!r}"
        took = time.perf_counter() - t0
        with self.lock:
            self.seconds[kind].append(round(took, 3))
            if error is None:
                self.done[kind] += 1
            else:
                self.n_errors += 1
                if len(self.errors) < 10:
                    self.errors.append(error[:400])

    def loop(self, kind: str) -> None:
        from server.services.reports import GROUPS

        if kind == "burn":  # the control: CPU taken at the job workers' priority, no requests
            burner = subprocess.Popen(["nice", "-n", "10", sys.executable, "-c",
                                       "while True: pass"])
            self.running.wait()
            while self.running.is_set():
                time.sleep(0.2)
            burner.kill()
            burner.wait()
            return
        i = 0
        while self.running.is_set():
            if kind == "page":
                self.act("page", GROUPS[i % len(GROUPS)])
                i += 1
            else:
                self.act(kind)

    def summary(self) -> dict:
        return {"done": dict(self.done), "errors": self.errors, "n_errors": self.n_errors,
                "seconds": self.seconds}

    def serve(self) -> None:
        from server.services.reports import GROUPS

        threads: list[threading.Thread] = []
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            msg = json.loads(line)
            cmd = msg["cmd"]
            if cmd == "warm":
                self.reset()
                for by in GROUPS:
                    self.act("page", by)
                self.act("upload")
                self.act("export")
                out = self.summary()
            elif cmd == "go":
                self.reset()
                self.running.set()
                threads = [threading.Thread(target=self.loop, args=(k,), daemon=True)
                           for k in msg.get("kinds", KINDS)]
                for t in threads:
                    t.start()
                out = {"ok": True}
            elif cmd == "stop":
                self.running.clear()
                for t in threads:
                    t.join()
                out = self.summary()
            else:
                break
            print(json.dumps(out), flush=True)


class StaffProcess:
    def __init__(self, url: str, gif: Path, first: str, last: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_staff_load", "--staff", url, "--gif", str(gif),
             "--first", first, "--last", last], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError("the staff script did not start (see stderr)")

    def ask(self, cmd: str, **kw) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the staff script ended on {cmd!r} (see stderr)")
        return json.loads(line)

    def quit(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- the server's side -----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _own_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker_pid(node: Node) -> int:
    kids = _children(node.process.pid)
    if len(kids) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {kids}")
    return kids[0]


def _cpu(worker: int) -> tuple[float, float]:
    """(the gevent worker's CPU seconds, its job workers' together). A job worker replaced
    in between loses its seconds: the share is a lower bound then."""
    return _own_cpu_s(worker), sum(_own_cpu_s(c) for c in _children(worker))


GC_FULL = re.compile(r"gc generation 2: (\d+) ms")
STALL = re.compile(r"event loop stalled (\d+) ms \(worst since start \d+ ms\): (.*)$")


def _stalls(text: str) -> list[tuple[int, str]]:
    """(ms, who held the loop and where) of each stall warning in a piece of the log."""
    return [(int(m.group(1)), m.group(2)[:400]) for m in map(STALL.search, text.splitlines())
            if m]


@dataclass
class RoundResult:
    kind: str  # "A" no staff, "B" staff load
    n_acks: int
    ack_p50: float
    ack_p99: float
    ack_max: float
    late_acks: int  # over one 5 s interval
    broadcast_p99: float
    broadcast_last: float
    broadcast_answered: int
    broadcast_post_ms: float
    item_p99: float  # the control: a broadcast of an approved item, no rendering
    item_post_ms: float
    loop_lag: dict
    node: str
    worker_cpu: float  # share of one core over the window
    jobs_cpu: float
    load: float
    stalls: list[tuple[int, str]]
    gc_full: list[int]  # ms of each full collection (--gc-log)
    staff: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, n: int, rounds: int, window: float, tmp: Path,
                 profile: Path | None = None, kinds: tuple[str, ...] = KINDS,
                 gc_log: bool = False) -> None:
        self.n, self.rounds, self.window, self.tmp = n, rounds, window, tmp
        self.profile, self.kinds, self.gc_log = profile, kinds, gc_log

    def setup(self) -> None:
        from tests.live import free_port
        from tests.media import gif_on_canvas

        t0 = time.monotonic()
        self.product = _product(self.n, self.tmp, f"sqlite:///{self.tmp}/bench.db", None)
        _log(f"demo grown to {self.n} terminals, credentials provisioned "
             f"({time.monotonic() - t0:.0f} s)")
        self.data = _report_data(self.product.env["SIGNAGE_DATABASE_URL"])
        _log(f"report data {self.data['first']} – {self.data['last']} "
             f"({self.data['terminals']}) in {self.data['seconds']} s: " + ", ".join(
                 f"{t} {c:,}" for t, c in self.data["rows"].items()))
        self.item_broadcast = {**BROADCAST, "text": "", "content_id": _demo_notice(
            self.product.env["SIGNAGE_DATABASE_URL"])}
        self.gif = self.tmp / "staff.gif"
        self.gif.write_bytes(gif_on_canvas(*GIF))
        self.log = self.tmp / "node.log"
        self.node = _gunicorn("server.wsgi:app", self.product.env, free_port(), self.log,
                              "bench/gunicorn_gc_conf.py" if self.gc_log
                              else "server/gunicorn_conf.py")
        self.product.nodes.append(self.node)
        self.worker = _worker_pid(self.node)

    def healthz(self) -> dict:
        return requests.get(self.node.url + "/healthz", timeout=60).json()

    def broadcast(self, expected: int, payload: dict) -> tuple[object, float, str | None]:
        """One broadcast to the street, timed to its `broadcast_shown` acks; cancelled."""
        ids: list[int] = []
        posted: dict = {"ms": float("nan"), "error": None}

        def send() -> None:
            t0 = time.perf_counter()
            if self.profile and payload is BROADCAST:  # what the job workers do meanwhile
                threading.Timer(0.2, self.dump_jobs).start()
            try:  # bench_hub's request, with room for a POST that waits behind staff work
                r = requests.post(self.node.url + "/api/v1/broadcasts", json=payload,
                                  timeout=300,
                                  headers={"Authorization": f"Bearer {self.product.token}"})
            except requests.RequestException as err:
                posted["error"] = f"broadcast: {err!r}"
                return
            posted["ms"] = (time.perf_counter() - t0) * 1000
            if r.status_code != 201:
                posted["error"] = f"broadcast: HTTP {r.status_code}: {r.text[:300]}"
            else:
                ids.append(r.json()["id"])

        done = _timed_round(self.swarm, expected, send, timeout=180)
        _cancel_broadcasts(self.product, ids)
        return done, posted["ms"], posted["error"]

    def dump_jobs(self) -> None:
        for pid in _children(self.worker):
            done = subprocess.run([str(BIN / "py-spy"), "dump", "--nonblocking", "-p", str(pid)],
                                  capture_output=True, text=True)
            frames = [x.strip() for x in done.stdout.splitlines() if x.startswith("    ")]
            _log(f"  during the broadcast's POST, job worker {pid}: "
                 + (" <- ".join(frames[:1] + [f for f in frames if "(server/" in f or "/server/" in f][:3])
                    or "idle"))

    def one_round(self, i: int, kind: str) -> RoundResult:
        st0 = self.swarm.status()
        expected = st0["connected"] - st0["dropped"]
        errors: list[str] = []
        if kind == "B":
            self.staff.ask("go", kinds=list(self.kinds))
        self.swarm.ask("acks")  # forget what came before the window
        offset = self.log.stat().st_size
        cpu0, t0, began = _cpu(self.worker), time.monotonic(), time.time()
        spy = None
        if self.profile:
            spy = subprocess.Popen(
                [str(BIN / "py-spy"), "record", "--nonblocking", "--format", "raw", "-r", str(RATE),
                 "-d", str(int(self.window)), "-p", str(self.worker), "-o",
                 str(self.profile / f"round-{i + 1}-{kind}.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(self.window / 2)
        bc, post_ms, error = self.broadcast(expected, BROADCAST)
        time.sleep(2.0)  # as bench_hub leaves after a cancel
        item, item_post_ms, item_error = self.broadcast(expected, self.item_broadcast)
        errors += [e for e in (error, item_error) if e]
        time.sleep(max(0.0, t0 + self.window - time.monotonic()))
        health = self.healthz()
        acks = self.swarm.ask("acks")
        cpu1, wall = _cpu(self.worker), time.monotonic() - t0
        logged = self.log.read_bytes()[offset:].decode(errors="replace")
        stalls = _stalls(logged)
        gc_full = [int(ms) for ms in GC_FULL.findall(logged)]
        staff = self.staff.ask("stop") if kind == "B" else {}
        if spy is not None:
            spy.wait()
        lat = sorted(x for part in acks for x in part["acks"])
        r = RoundResult(
            kind, len(lat), round(_pct(lat, 50), 1), round(_pct(lat, 99), 1),
            round(lat[-1], 1) if lat else float("nan"), sum(x > 5000 for x in lat),
            round(bc.p99_ms, 1), round(bc.last_ms, 1), bc.answered, round(post_ms, 1),
            round(item.p99_ms, 1), round(item_post_ms, 1),
            health.get("loop_lag_ms") or {}, health.get("node", "?"),
            round((cpu1[0] - cpu0[0]) / wall, 2), round((cpu1[1] - cpu0[1]) / wall, 2),
            round(os.getloadavg()[0], 2), stalls, gc_full, staff, errors)
        _log(f"round {i + 1} {kind} ({time.strftime('%H:%M:%S', time.localtime(began))}): "
             f"heartbeat ack p50/p99 {r.ack_p50:.0f}/{r.ack_p99:.0f} ms (n {r.n_acks}, "
             f"max {r.ack_max:.0f}), broadcast p99 {r.broadcast_p99:.0f} ms "
             f"({r.broadcast_answered} shown; POST {r.broadcast_post_ms:.0f} ms; item: p99 "
             f"{r.item_p99:.0f}, POST {r.item_post_ms:.0f} ms), loop lag "
             f"p99 {r.loop_lag.get('p99')} ms, worker {r.worker_cpu} core, jobs "
             f"{r.jobs_cpu} core, load {r.load}, stalls {len(stalls)}"
             + (f"; staff {staff['done']}, errors {staff['n_errors']}" if staff else "")
             + (f"; {len(gc_full)} full gc passes, ms {gc_full}" if self.gc_log else "")
             + (f"; {errors}" if errors else ""))
        if self.profile:
            _top_frames(self.profile / f"round-{i + 1}-{kind}.txt", self.window)
        return r

    def run(self) -> dict:
        self.setup()
        swarm_started = False
        self.staff = None
        try:
            node0 = self.healthz()["node"]
            self.staff = StaffProcess(self.node.url, self.gif, self.data["first"],
                                      self.data["last"])
            t0 = time.monotonic()
            warm = self.staff.ask("warm")
            _log(f"staff warm-up, one of each ({time.monotonic() - t0:.0f} s): {warm['done']}"
                 + (f", errors: {warm['errors']}" if warm["n_errors"] else ""))
            self.swarm = Swarm([self.node.url], "hub", self.n, self.tmp,
                               self.product.credentials)
            swarm_started = True
            t0 = time.monotonic()
            st = self.swarm.wait_connected(CONNECT_S)
            _log(f"{st['connected']} of {self.n} terminals connected in "
                 f"{time.monotonic() - t0:.0f} s ({st['failed']} failed)")
            time.sleep(SETTLE_S)
            st = self.swarm.status()
            for payload in (BROADCAST, self.item_broadcast):  # the first of each is slower
                _, _, error = self.broadcast(st["connected"] - st["dropped"], payload)
                if error:
                    raise RuntimeError(f"warm-up {error}")
            time.sleep(PAUSE_S)
            rounds = []
            for i in range(2 * self.rounds):
                rounds.append(self.one_round(i, "AB"[i % 2]))
                time.sleep(PAUSE_S)
            after = self.swarm.status()
            node1 = self.healthz()["node"]
        finally:
            if self.staff is not None:
                self.staff.quit()
            if swarm_started:
                self.swarm.quit()
            self.node.stop()
            _print_server_errors(self.log)
        log = self.log.read_text(errors="replace")
        return {"rounds": rounds, "after": after, "nodes": sorted({node0, node1}
                                                                   | {r.node for r in rounds}),
                "boots": log.count("Booting worker"), "timeouts": log.count("WORKER TIMEOUT"),
                "warm": warm, "data": self.data, "gc_log": self.gc_log,
                "stalls_total": len(_stalls(log))}


RATE = 50  # py-spy samples per second


def _top_frames(path: Path, window: float, k: int = 10) -> None:
    """The product's frames (and Jinja's render) most often on the gevent worker's stack in
    a py-spy raw profile, inclusive, as a share of the window (py-spy leaves idle samples
    out, so the samples are the time the worker ran Python or waited in a C call)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return
    total, incl = 0, Counter()
    ours = ("(server/", "(content/", "(playlists/", "(player/")
    for line in lines:
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        for frame in set(stack.split(";")):
            if frame.startswith("Template.render") or any(o in frame for o in ours):
                incl[frame] += int(n)
    expected = RATE * window
    _log(f"  profile {path.name}: busy in {total} of {expected:.0f} samples "
         f"({100 * total / expected:.0f} %); frames most often on the stack, of the window:")
    for frame, n in incl.most_common(k):
        _log(f"    {100 * n / expected:5.1f} %  {frame[:150]}")


# --- figures ----------------------------------------------------------------------------------


def _median(rounds: list[RoundResult], get) -> float:
    xs = [get(r) for r in rounds]
    xs = [x for x in xs if x is not None and x == x]
    return round(statistics.median(xs), 1) if xs else float("nan")


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b and a == a and b == b else None


def figures(result: dict, n: int) -> list[dict]:
    rounds: list[RoundResult] = result["rounds"]
    a = [r for r in rounds if r.kind == "A"]
    b = [r for r in rounds if r.kind == "B"]
    out = []
    for name, unit, get in (
            ("staff_load_heartbeat_ack_p99", "ms", lambda r: r.ack_p99),
            (f"staff_load_broadcast_{n}_p99", "ms", lambda r: r.broadcast_p99),
            ("staff_load_loop_lag_p99", "ms", lambda r: r.loop_lag.get("p99"))):
        value, base = _median(b, get), _median(a, get)
        out.append({"name": name, "value": value, "unit": unit, "baseline": base,
                    "ratio": _ratio(value, base), "goal": GOAL,
                    "met": bool(_ratio(value, base) is not None
                                and _ratio(value, base) <= 1.25),
                    "rounds": [(r.kind, get(r)) for r in rounds]})
    for name, get in (
            (f"staff_load_broadcast_item_{n}_p99", lambda r: r.item_p99),
            ("staff_load_broadcast_post", lambda r: r.broadcast_post_ms),
            ("staff_load_broadcast_item_post", lambda r: r.item_post_ms)):
        value, base = _median(b, get), _median(a, get)
        out.append({"name": name, "value": value, "unit": "ms", "baseline": base,
                    "ratio": _ratio(value, base), "goal": "informational (where the time goes)",
                    "rounds": [(r.kind, get(r)) for r in rounds]})
    restarts = max(result["boots"] - 1, len(result["nodes"]) - 1)
    out.append({"name": "staff_load_worker_restarts", "value": restarts, "unit": "restarts",
                "baseline": 0, "ratio": None, "goal": "0", "met": restarts == 0,
                "detail": {"booting_worker_lines": result["boots"],
                           "worker_timeouts": result["timeouts"],
                           "healthz_nodes": result["nodes"]}})
    for kind, label in (("page", "report pages"), ("upload", "GIF uploads"),
                        ("export", "XLSX exports")):
        done = [r.staff["done"].get(kind, 0) for r in b]
        secs = [s for r in b for s in r.staff["seconds"][kind]]
        out.append({"name": f"staff_load_staff_{kind}s_per_round", "value":
                    statistics.median(done) if done else 0, "unit": f"{label} per B round",
                    "baseline": None, "ratio": None, "goal": "informational",
                    "per_round": done, "seconds_p50": round(_pct(secs, 50), 2) if secs else None,
                    "seconds_max": max(secs) if secs else None})
    if result["gc_log"]:
        out.append({"name": "staff_load_gc_full_per_round",
                    "value": _median(b, lambda r: len(r.gc_full)), "unit": "full gc passes",
                    "baseline": _median(a, lambda r: len(r.gc_full)),
                    "ratio": _ratio(_median(b, lambda r: len(r.gc_full)),
                                    _median(a, lambda r: len(r.gc_full))),
                    "goal": "diagnostic (--gc-log)",
                    "ms_p50": {k: _pct(sorted(x for r in rs for x in r.gc_full), 50)
                               if any(r.gc_full for r in rs) else None
                               for k, rs in (("A", a), ("B", b))},
                    "rounds": [(r.kind, r.gc_full) for r in rounds]})
    errors = sum(r.staff["n_errors"] for r in b) + sum(len(r.errors) for r in rounds)
    out.append({"name": "staff_load_staff_errors", "value": errors, "unit": "non-2xx answers",
                "baseline": 0, "ratio": None, "goal": "0", "met": errors == 0,
                "errors": [e for r in rounds for e in r.staff.get("errors", []) + r.errors][:10]})
    late = [r.late_acks for r in rounds]
    out.append({"name": "staff_load_late_heartbeats", "value": sum(r.late_acks for r in b),
                "unit": "heartbeats acked after 5 s, all B rounds",
                "baseline": sum(r.late_acks for r in a), "ratio": None, "goal": "0",
                "per_round": late, "dropped": result["after"]["dropped"],
                "heartbeat_errors": result["after"]["heartbeat_errors"]})
    return out


def run(quick: bool = False, terminals: int | None = None, rounds: int | None = None,
        window: float | None = None, profile: Path | None = None,
        kinds: tuple[str, ...] = KINDS, gc_log: bool = False) -> list[dict]:
    n = terminals or (QUICK_TERMINALS if quick else TERMINALS)
    rounds = rounds or (QUICK_ROUNDS if quick else ROUNDS)
    window = window or (QUICK_WINDOW_S if quick else WINDOW_S)
    _log(f"{n} terminals, one node, SQLite; {rounds} rounds without and {rounds} with staff "
         f"load, {window:.0f} s each, alternating")
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-staff-") as tmp:
        result = Bench(n, rounds, window, Path(tmp), profile, kinds, gc_log).run()
    figs = figures(result, n)
    figs[0]["detail"] = {"rounds": [r.__dict__ for r in result["rounds"]],
                         "data": result["data"], "warm": result["warm"],
                         "stalls_total": result["stalls_total"]}
    return figs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--terminals", type=int)
    p.add_argument("--rounds", type=int, help="rounds of each kind")
    p.add_argument("--window", type=float, help="seconds per round")
    p.add_argument("--profile", type=Path, help="py-spy the gevent worker into this folder")
    p.add_argument("--kinds", default=",".join(KINDS),
                   help="the staff loops of the B rounds (diagnosis: one kind at a time; "
                   "`burn,burn`: two busy loops at nice 10 instead, CPU without requests)")
    p.add_argument("--gc-log", action="store_true",
                   help="serve with bench/gunicorn_gc_conf.py: full gc passes per round")
    p.add_argument("--staff", help=argparse.SUPPRESS)  # the staff script's own process
    p.add_argument("--gif", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--first", help=argparse.SUPPRESS)
    p.add_argument("--last", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.staff:
        return Staff(args.staff, args.gif, args.first, args.last).serve()
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if not kinds or set(kinds) - {*KINDS, "burn"}:
        p.error(f"--kinds: some of {','.join(KINDS)}, or burn (repeatable)")
    figs = run(quick=args.quick, terminals=args.terminals, rounds=args.rounds,
               window=args.window, profile=args.profile, kinds=kinds, gc_log=args.gc_log)
    print(json.dumps(figs, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
