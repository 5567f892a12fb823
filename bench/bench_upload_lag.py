"""How long the server's event loop stalls while it takes a heavy upload (DESIGN.md: the
event loop belongs to the terminals).

The real server (gunicorn, gevent-websocket worker, as `make run` starts it) takes two
animated GIFs with a new picture in every frame (the worst case for decoding): 300 frames
of 2000x2000 (1,200 megapixels: over the decode budget, refused before decoding) and 125
frames of 2000x2000 (500 megapixels: just inside it, decoded in a job worker). Meanwhile a
probe asks GET /healthz every 20 ms on its own connection; the slowest answer during an
upload is how long the loop was held (a terminal's heartbeat would have waited as long).

Figures: upload_lag_worst_ms_<case>: the slowest probe answer during that upload, against
the slowest while idle (baseline); goal: under the 250 ms a stall is logged at. The
server's own loop_lag_ms worst (server/looplag.py) is printed where it has one.

Run alone: `.venv/bin/python -m bench.bench_upload_lag [--root DIR]`, where DIR is another
checkout (e.g. `git archive` of an older commit) to measure it with this venv.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "bench-admin-password-1"
CASES = (("300x2000x2000", 300), ("125x2000x2000", 125))


def gif(path: Path, frames: int, size: int = 2000) -> Path:
    """Frames alternating three flat colours: every frame redraws the whole canvas."""
    if path.exists():
        return path
    from PIL import Image

    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (252 * 3)
    flats = []
    for c in range(3):
        im = Image.new("P", (size, size), c + 1)
        im.putpalette(palette)
        flats.append(im)
    seq = [flats[i % 3] for i in range(frames)]
    tmp = path.with_suffix(".tmp")
    seq[0].save(tmp, "GIF", save_all=True, append_images=seq[1:], duration=40, loop=0,
                disposal=1)
    tmp.replace(path)
    return path


class Probe:
    """GET /healthz every 20 ms; the slowest answer in a window is the loop's stall."""

    def __init__(self, url: str) -> None:
        self.url, self.samples, self.running = url, [], True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        s = requests.Session()
        while self.running:
            began = time.monotonic()
            with contextlib.suppress(requests.RequestException):
                s.get(self.url + "/healthz", timeout=120)
            self.samples.append((began, time.monotonic() - began))
            time.sleep(0.02)

    def worst_since(self, t: float) -> float:
        return max((d for began, d in self.samples if began >= t), default=0.0)

    def stop(self) -> None:
        self.running = False
        self.thread.join(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(root: Path, data: Path) -> tuple[subprocess.Popen, str, dict]:
    env = {**os.environ, "SIGNAGE_DATA_DIR": str(data),
           "SIGNAGE_DATABASE_URL": f"sqlite:///{data / 'signage.db'}",
           "SIGNAGE_ADMIN_PASSWORD": ADMIN_PASSWORD, "SIGNAGE_ASYNC_MODE": "gevent",
           "PORT": str(_free_port()), "PYTHONPATH": str(root)}
    for args in (("init",), ("seed-demo", "--no-content")):
        subprocess.run([str(BIN / "flask"), "--app", "server", *args], cwd=root, env=env,
                       check=True, capture_output=True)
    log = (data / "server.log").open("a")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "server/gunicorn_conf.py",
                             "server.wsgi:app"], cwd=root, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{env['PORT']}"
    for _ in range(150):
        try:
            if requests.get(url + "/login", timeout=2).status_code == 200:
                return proc, url, env
        except requests.RequestException:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("server did not start: " + (data / "server.log").read_text()[-2000:])


def _login(url: str) -> tuple[requests.Session, str, str]:
    s = requests.Session()
    page = s.get(url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    s.post(url + "/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                 "csrf_token": token}, timeout=30)
    page = s.get(url + "/content/upload", timeout=10).text
    token = page.split('data-csrf="')[1].split('"')[0]
    topic = re.search(r'name="topic_id"[^>]*>\s*<option[^>]*value="(\d+)"', page).group(1)
    return s, token, topic


def measure(root: Path = ROOT, media: Path | None = None) -> dict:
    media = media or Path(tempfile.gettempdir()) / "signage-bench-gifs"
    media.mkdir(parents=True, exist_ok=True)
    files = {name: gif(media / f"{name}.gif", frames) for name, frames in CASES}
    with tempfile.TemporaryDirectory(prefix="bench-upload-lag-") as tmp:
        proc, url, _env = _serve(root, Path(tmp))
        try:
            s, token, topic = _login(url)
            time.sleep(3)  # the job workers warm up; the probe starts on a settled server
            probe = Probe(url)
            time.sleep(3)
            out: dict = {"idle_worst_ms": round(probe.worst_since(0) * 1000, 1), "cases": {}}
            for name, path in files.items():
                began = time.monotonic()
                r = s.post(url + "/content/upload", params={"title": name, "topic_id": topic},
                           data=path.read_bytes(), timeout=600,
                           headers={"X-CSRFToken": token, "X-Filename": path.name,
                                    "Content-Type": "application/octet-stream"})
                took = time.monotonic() - began
                time.sleep(0.5)
                body = r.json() if r.headers.get("content-type", "").startswith(
                    "application/json") else {}
                out["cases"][name] = {
                    "status": r.status_code, "code": (body.get("error") or {}).get("code"),
                    "answer_s": round(took, 2),
                    "probe_worst_ms": round(probe.worst_since(began) * 1000, 1)}
            probe.stop()
            out["server_loop_lag_ms"] = s.get(url + "/healthz", timeout=30).json().get(
                "loop_lag_ms")
            log = (Path(tmp) / "server.log").read_text()
            out["worker_restarts"] = log.count("WORKER TIMEOUT")
            out["stalls_logged"] = [line[:300] for line in log.splitlines()
                                    if "event loop stalled" in line]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
    return out


def run(quick: bool = False) -> list[dict]:
    result = measure()
    idle = result["idle_worst_ms"]
    return [{"name": f"upload_lag_worst_ms_{name}", "value": case["probe_worst_ms"],
             "unit": "ms", "baseline": idle,
             "ratio": round(case["probe_worst_ms"] / idle, 2) if idle else None,
             "goal": "< 250"} for name, case in result["cases"].items()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree to serve")
    args = parser.parse_args()
    print(json.dumps(measure(args.root.resolve()), ensure_ascii=False, indent=2))
