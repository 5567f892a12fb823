"""One real player against the real server: bytes it downloads against the unique bytes
its manifest needs, and its footprint.

Figures:
- terminal_bytes_first_sync: bytes the player's cache downloaded until every blob of its
  manifest was ready; baseline: the sum of those blobs' sizes. Goal 1.00x.
- terminal_bytes_after_reconnect: bytes downloaded by a second run of the same player
  (restart, reconnect, same manifest); baseline: the unique bytes. Goal 0 (ratio 0.00).
- player_rss_headless / player_rss_sdl: resident memory after 20 s of playing; baseline:
  a bare interpreter that imports the same libraries (pygame, av, socketio, PIL).
- player_cpu_headless_still / player_cpu_sdl_still: CPU share over 10 s while a still notice
  is on screen; baseline: the bare interpreter idling. Goal: a few percent at most.
- player_first_frame_offline: seconds from process start to the first frame with the
  server down, from its cache; baseline: the bare interpreter's import time.

Run alone: `.venv/bin/python -m bench.bench_terminal`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORTS = "import pygame, av, socketio, PIL.Image, requests"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_share(pid: int, seconds: float = 10.0) -> float:
    a, t0 = _cpu_s(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (_cpu_s(pid) - a) / (time.monotonic() - t0)


def _player(url: str, cred: Path, data: Path, headless: bool, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    cmd = [sys.executable, "-m", "player", "--server", url, "--credential", str(cred),
           "--data", str(data), "--log-level", "DEBUG"]
    if headless:
        cmd.append("--headless")
    with log.open("a") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(p: subprocess.Popen) -> None:
    p.send_signal(signal.SIGTERM)
    p.wait(60)


def _wait(pred, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise RuntimeError("benchmark condition not reached")


def _cache_complete(data: Path) -> bool:
    m = data / "manifest.json"
    if not m.exists():
        return False
    blobs = json.loads(m.read_text())["blobs"]
    return bool(blobs) and all((data / "blobs" / b["sha256"]).exists() for b in blobs)


def _bare() -> tuple[float, float, float]:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True, capture_output=True,
                   env={**os.environ, "PYGAME_HIDE_SUPPORT_PROMPT": "1"})
    import_s = time.monotonic() - t0
    p = subprocess.Popen([sys.executable, "-c", IMPORTS + "; import time; time.sleep(60)"],
                         env={**os.environ, "PYGAME_HIDE_SUPPORT_PROMPT": "1"})
    time.sleep(3)
    rss, cpu = _rss_mb(p.pid), _cpu_share(p.pid, 5)
    p.kill()
    p.wait()
    return rss, cpu, import_s


def run(quick: bool = False) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from tests import live

    figures = []
    bare_rss, bare_cpu, bare_import = _bare()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        server = live.start(f"sqlite:///{tmp}/bench.db", tmp, content=True)
        try:
            out = server.flask("terminals", "provision", "--community", "东和")
            rows = list(csv.DictReader(io.StringIO(out.stdout)))
            cred = tmp / "cred"
            cred.write_text(rows[1]["credential"])  # a 384×192 lobby panel
            data, log = tmp / "player", tmp / "player.log"
            p = _player(server.url, cred, data, True, log)
            _wait(lambda: _cache_complete(data))
            time.sleep(2 if quick else 15)
            rss_headless, cpu_headless = _rss_mb(p.pid), _cpu_share(p.pid, 4 if quick else 10)
            _stop(p)
            needed = sum(b["size"] for b in json.loads((data / "manifest.json").read_text())
                         ["blobs"])
            first = json.loads((data / "totals.json").read_text())["bytes_downloaded"]
            figures.append({"name": "terminal_bytes_first_sync", "value": first, "unit": "bytes",
                            "baseline": needed, "ratio": round(first / needed, 3),
                            "goal": "1.00x the unique bytes needed"})
            p = _player(server.url, cred, data, False, log)  # SDL window, dummy driver
            time.sleep(5 if quick else 20)
            rss_sdl, cpu_sdl = _rss_mb(p.pid), _cpu_share(p.pid, 4 if quick else 10)
            _stop(p)
            again = json.loads((data / "totals.json").read_text())["bytes_downloaded"]
            figures.append({"name": "terminal_bytes_after_reconnect", "value": again,
                            "unit": "bytes", "baseline": needed,
                            "ratio": round(again / needed, 3), "goal": "0 (nothing re-sent)"})
            server.stop()
            t0 = time.monotonic()
            marker = log.stat().st_size
            p = _player(server.url, cred, data, True, log)
            _wait(lambda: "showing content" in log.read_text()[marker:], timeout=60)
            first_frame = time.monotonic() - t0
            _stop(p)
        finally:
            if server.process.poll() is None:
                server.stop()
    for name, value, base, unit, goal in (
        ("player_rss_headless", rss_headless, bare_rss, "MB", "≤ 2x the bare imports"),
        ("player_rss_sdl", rss_sdl, bare_rss, "MB", "≤ 2x the bare imports"),
        ("player_cpu_headless_still", cpu_headless, bare_cpu, "% of a core", "≤ 5 %"),
        ("player_cpu_sdl_still", cpu_sdl, bare_cpu, "% of a core", "≤ 5 %"),
        ("player_first_frame_offline", first_frame, bare_import, "s", "≤ 5 s"),
    ):
        figures.append({"name": name, "value": round(value, 2), "unit": unit,
                        "baseline": round(base, 2), "ratio": round(value / base, 2) if base
                        else None, "goal": goal})
    return figures


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), ensure_ascii=False, indent=2))
