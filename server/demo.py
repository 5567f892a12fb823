"""`make demo`: the seed's situation running for real on the embedded default.

Sets up 沙头角街道 with 76 LED terminals in 东和, approved notices and a clip scheduled to
all of them, starts the server and the fleet simulator (real player code, headless).
With --history DAYS it first plays DAYS of that schedule, ending now, through the player's
own playback loop on a simulated clock and the server's ingest (`seed-demo --history`), so
the report page opens on the seed's kind of figure: 36 topics and about 1,500 play hours
for three days.
With --duration it stops the players after that many seconds (their outboxes drain),
prints the playback summary and writes var/demo/report.json: terminals that reported,
play seconds per terminal and per topic, and whether the server's seconds equal what the
players recorded. Without --duration it runs until interrupted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from server.config import ROOT, Settings

BIN = Path(sys.executable).parent


def _flask(*args: str, env: dict) -> str:
    out = subprocess.run([str(BIN / "flask"), "--app", "server", *args], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True)
    return out.stdout + out.stderr


def _wait_ready(url: str, proc: subprocess.Popen) -> None:
    for _ in range(150):
        if proc.poll() is not None:
            raise SystemExit("the server did not start; see var/demo/server.log")
        try:
            if requests.get(url + "/login", timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 30 s")


def _server_totals(settings: Settings, terminal_ids: list[int]) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        per_terminal = dict(conn.execute(text(
            "SELECT terminal_id, sum(seconds) FROM play_record GROUP BY terminal_id")).all())
        per_topic = {name: secs for name, secs in conn.execute(text(
            "SELECT coalesce(t.name, '?'), sum(p.seconds) FROM play_record p "
            "LEFT JOIN topic t ON t.id = p.topic_id GROUP BY t.name ORDER BY 2 DESC")).all()}
    engine.dispose()
    return {"per_terminal": {tid: float(per_terminal.get(tid, 0.0)) for tid in terminal_ids},
            "per_topic": {k: float(v) for k, v in per_topic.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m server.demo")
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--terminals", type=int, default=76)
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    ap.add_argument("--history", type=int, default=None, metavar="DAYS")
    args = ap.parse_args(argv)

    settings = Settings.from_env()
    demo_dir = settings.data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PORT": str(args.port), "SIGNAGE_ASYNC_MODE": "gevent"}
    print(_flask("init", env=env).strip())
    seed = ["seed-demo"] + (["--history", str(args.history)] if args.history else [])
    print(_flask(*seed, env=env).strip())
    creds = demo_dir / "credentials.csv"
    _flask("terminals", "provision", "--community", "东和", "--output", str(creds), env=env)
    with creds.open() as f:
        rows = list(csv.DictReader(f))[: args.terminals]
    terminal_ids = [int(r["terminal_id"]) for r in rows]

    before = _server_totals(settings, terminal_ids)["per_terminal"]  # the history's
    url = f"http://127.0.0.1:{args.port}"
    with (demo_dir / "server.log").open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "server/gunicorn_conf.py", "server.wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(url, server)
        print(f"Server on {url}; starting {len(rows)} headless players.")
        fleet_cmd = [sys.executable, "-m", "player.fleet", "--server", url, "--count",
                     str(len(rows)), "--credentials", str(creds), "--data",
                     str(demo_dir / "fleet"), "--ramp", "5"]
        if args.duration:
            fleet_cmd += ["--duration", str(args.duration)]
        with (demo_dir / "fleet.log").open("w") as flog:
            fleet = subprocess.Popen(fleet_cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=flog,
                                     text=True)
            try:
                out, _ = fleet.communicate()
            except KeyboardInterrupt:
                fleet.send_signal(signal.SIGINT)
                out, _ = fleet.communicate()
        recorded = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        server_side = _server_totals(settings, terminal_ids)
        players = recorded.get("terminals", {})
        per_terminal = {tid: {"recorded_s": players.get(str(tid), {}).get("recorded_s", 0.0),
                              "server_s": server_side["per_terminal"][tid] - before[tid]}
                        for tid in terminal_ids}
        report = {
            "terminals": len(terminal_ids),
            "terminals_reporting": sum(1 for v in per_terminal.values() if v["server_s"] > 0),
            "play_seconds_server": sum(v["server_s"] for v in per_terminal.values()),
            "play_seconds_recorded": sum(v["recorded_s"] for v in per_terminal.values()),
            "pending_in_outboxes": recorded.get("total", {}).get("pending_n"),
            "per_terminal": per_terminal,
            "per_topic": server_side["per_topic"],
        }
        report["match"] = abs(report["play_seconds_server"]
                              - report["play_seconds_recorded"]) < 1e-6
        (demo_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
        print(f"{report['terminals_reporting']} / {report['terminals']} terminals reported "
              f"{report['play_seconds_server']:.1f} play seconds "
              f"({report['play_seconds_server'] / 3600:.3f} h); players recorded "
              f"{report['play_seconds_recorded']:.1f} s; match: {report['match']}.")
        for topic, secs in report["per_topic"].items():
            print(f"  {topic}: {secs:.1f} s")
        print(f"Report written to {demo_dir / 'report.json'}")
        return 0 if report["match"] else 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)


if __name__ == "__main__":
    raise SystemExit(main())
