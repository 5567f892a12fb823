"""`python -m player` as a process: starts, plays, stops cleanly on SIGTERM, prints totals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from fake_server import FakeServer
from test_player_terminal import manifest, wait_for

ROOT = Path(__file__).resolve().parents[2]


def seconds(records) -> float:
    return sum((datetime.fromisoformat(r["end"]) - datetime.fromisoformat(r["start"]))
               .total_seconds() for r in records)


@pytest.mark.slow
@pytest.mark.parametrize("display", ["--headless", "--fullscreen"])  # SDL: the dummy driver
def test_cli_plays_stops_on_sigterm_and_totals_match_the_server(tmp_path, display) -> None:
    with FakeServer() as server:
        manifest(server, 1, [(250, 0, 0), (0, 0, 250)], dur=1.5)
        cred = tmp_path / "cred"
        cred.write_text("cred-1\n")
        data = tmp_path / "data"
        proc = subprocess.Popen(
            [sys.executable, "-m", "player", "--server", server.url, "--credential", str(cred),
             "--data", str(data), display, "--size", "64x32"],
            cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(lambda: len(server.plays) >= 3, 60)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "stopping (SIGTERM)" in err
        assert "shutdown" in {r["reason"] for r in server.plays.values()}
        out = subprocess.run([sys.executable, "-m", "player", "--data", str(data), "--totals"],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        totals = json.loads(out.stdout)
        assert totals["pending_n"] == 0
        assert totals["accepted_n"] == len(server.plays) == totals["recorded_n"]
        assert totals["accepted_s"] == pytest.approx(seconds(server.plays.values()))


def test_cli_rejects_a_bad_size() -> None:
    r = subprocess.run([sys.executable, "-m", "player", "--server", "http://x", "--size", "big"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "192x96" in r.stderr


@pytest.mark.slow
def test_fleet_runs_players_with_their_own_credentials_and_folders(tmp_path) -> None:
    creds = {f"fleet-{n}" for n in range(3)}
    with FakeServer(credentials=set(creds)) as server:
        manifest(server, 1, [(250, 0, 0)], dur=1.0)
        csv_path = tmp_path / "creds.csv"
        csv_path.write_text("terminal_id,name,credential\n" + "".join(
            f"{n},Lobby {n},fleet-{n}\n" for n in range(3)) + "9,unused,nope\n")
        r = subprocess.run(
            [sys.executable, "-m", "player.fleet", "--server", server.url, "--count", "3",
             "--credentials", str(csv_path), "--data", str(tmp_path / "fleet"),
             "--duration", "6", "--size", "64x32"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert sorted(out["terminals"]) == ["0", "1", "2"]
        assert len(server.received("hello")) >= 3 and server.refused_connects == 0
        for n in range(3):
            assert (tmp_path / "fleet" / str(n) / "outbox.sqlite3").exists()
            assert out["terminals"][str(n)]["recorded_n"] >= 1
        assert out["total"]["accepted_n"] == len(server.plays)
        assert out["total"]["accepted_s"] == pytest.approx(seconds(server.plays.values()))
        assert out["total"]["connects"] >= 3 and out["total"]["connect_failures"] == 0
        assert r.stderr.count("connected to " + server.url) >= 3  # logged, at INFO


def test_cli_rejects_a_sync_interval_under_a_second() -> None:
    r = subprocess.run([sys.executable, "-m", "player", "--server", "http://x",
                        "--sync-interval", "0"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "at least 1 second" in r.stderr
