"""Why the server runs on gevent: the same app under gunicorn's gevent-websocket worker
(what `make run` starts) against gunicorn's threaded worker (Flask-SocketIO in threading
mode), in the same run.

Figures:
- server_gevent_page_ms_with_N_parked_polls: how long a page takes while N Socket.IO
  (Engine.IO long-polling) connections wait on the server; baseline: gunicorn's threaded
  worker with 64 threads under the same load, where every waiting poll holds a thread.
- server_gevent_requests_per_s: plain page requests with 32 concurrent clients; baseline:
  the threaded worker. Goal ≥ 0.8x (greenlets should cost little on short requests).

Run alone: `.venv/bin/python -m bench.bench_server [--quick]`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _start(mode: str, data: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "SIGNAGE_DATA_DIR": str(data), "PORT": str(port),
           "SIGNAGE_DATABASE_URL": f"sqlite:///{data}/bench.db", "SIGNAGE_ASYNC_MODE": mode,
           "SIGNAGE_ADMIN_PASSWORD": "bench-password-123"}
    subprocess.run([str(BIN / "flask"), "--app", "server", "init"], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    cmd = [str(BIN / "gunicorn"), "-c", "server/gunicorn_conf.py", "server.wsgi:app"]
    if mode == "threading":
        cmd += ["-k", "gthread", "--threads", "64"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{mode} server did not start")


def _latency_with_parked_polls(port: int, n: int) -> float:
    """Park n Engine.IO long-polls (each waits for server data), then time a page request.
    A threaded worker spends one thread per waiting poll; greenlets cost almost nothing."""
    base = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
    sids = [json.loads(requests.get(base, timeout=10).text[1:])["sid"] for _ in range(n)]

    def park(sid: str) -> None:
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{base}&sid={sid}", timeout=40)

    for sid in sids:
        threading.Thread(target=park, args=(sid,), daemon=True).start()
    time.sleep(2)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        with contextlib.suppress(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/login", timeout=30)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _rps(port: int, total: int) -> float:
    url = f"http://127.0.0.1:{port}/login"
    session_per_thread = threading.local()

    def one(_i: int) -> None:
        s = getattr(session_per_thread, "s", None) or requests.Session()
        session_per_thread.s = s
        s.get(url, timeout=10).raise_for_status()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(total)))
    return total / (time.perf_counter() - t0)


def _measure(mode: str, quick: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = 5600 + (1 if mode == "gevent" else 2)
        proc = _start(mode, Path(tmp), port)
        try:
            rps = statistics.median(_rps(port, 300 if quick else 1500) for _ in range(3))
            held = _latency_with_parked_polls(port, 100 if quick else 300)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return held, rps


def run(quick: bool = False) -> list[dict]:
    g_held, g_rps = _measure("gevent", quick)
    t_held, t_rps = _measure("threading", quick)
    n = 100 if quick else 300
    return [
        {"name": f"server_gevent_page_ms_with_{n}_parked_polls", "value": round(g_held, 1),
         "unit": "ms", "baseline": round(t_held, 1), "ratio": round(g_held / t_held, 4),
         "goal": "pages stay fast (ms) while connections wait; threaded worker: 64 threads"},
        {"name": "server_gevent_requests_per_s", "value": round(g_rps, 1), "unit": "requests/s",
         "baseline": round(t_rps, 1), "ratio": round(g_rps / t_rps, 2),
         "goal": "≥ 0.8x the threaded worker"},
    ]


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
