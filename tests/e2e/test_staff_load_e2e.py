"""Nothing staff do stalls the screens: while a year-long and a week-long report, two large
GIF uploads and a year's XLSX export run at once on the real server (gunicorn, one gevent worker), a real
player and twenty simulated terminals (bench/swarm.py) stay connected and every heartbeat
is acknowledged within its interval; the worker is never restarted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import create_engine, insert, select, text

from server.models import Building, Community, ContentItem, PlayDay, PlayHourCommunity, Terminal
from tests import live
from tests.e2e.conftest import ROOT, wait_for
from tests.media import gif_on_canvas

SH = ZoneInfo("Asia/Shanghai")
SIMULATED = 20


def _a_year_of_plays(database_url: str) -> tuple[date, date]:
    """Played rollups for every day and hour of the year up to today, for 东和's terminals
    (what makes the year's report and its hourly export long)."""
    engine = create_engine(database_url)
    today = datetime.now(SH).date()
    first = today - timedelta(days=364)
    with engine.begin() as conn:
        community, item, topic = conn.execute(
            select(Community.id, ContentItem.id, ContentItem.topic_id)
            .join(ContentItem, ContentItem.community_id == Community.id)
            .where(Community.name == "东和").limit(1)).one()
        terminals = conn.execute(select(Terminal.id, Terminal.building_id).join(Building)
                                 .where(Building.community_id == community)).all()
        start = datetime.combine(first, datetime.min.time(), SH).astimezone(UTC)
        conn.execute(insert(PlayHourCommunity), [
            {"hour": start + timedelta(hours=h), "community_id": community,
             "seconds": 1800.0, "plays": 180} for h in range(365 * 24)])
        conn.execute(insert(PlayDay), [
            {"day": first + timedelta(days=d), "terminal_id": tid, "content_id": item,
             "building_id": bid, "topic_id": topic, "community_id": community,
             "seconds": 600.0, "plays": 60} for d in range(365) for tid, bid in terminals])
    engine.dispose()
    return first, today


def _swarm(url: str, credentials: list[str], tmp_path) -> subprocess.Popen:
    path = tmp_path / "swarm-credentials"
    path.write_text("\n".join(credentials))
    return subprocess.Popen([sys.executable, "-m", "bench.swarm", "--url", url, "--mode", "hub",
                             "--credentials", str(path)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def _ask(swarm: subprocess.Popen, cmd: str) -> dict:
    swarm.stdin.write(json.dumps({"cmd": cmd}) + "\n")
    swarm.stdin.flush()
    return json.loads(swarm.stdout.readline())


def _staff(url: str, first: date, last: date) -> list[tuple[str, int]]:
    """A street admin's three heavy actions at once; returns (what, HTTP status)."""
    s = live.login(url)
    page = s.get(url + "/content/upload", timeout=30).text
    token = page.split('data-csrf="')[1].split('"')[0]
    topic = re.search(r'name="topic_id"[^>]*>\s*<option[^>]*value="(\d+)"', page).group(1)
    period = {"from": first.isoformat(), "to": last.isoformat()}
    week = {"from": (last - timedelta(days=6)).isoformat(), "to": last.isoformat()}
    # 450 million pixels to decode each (under the 500 MP budget): ~5 s of one core. On the
    # event loop, the two together held every heartbeat for over an interval.
    gif = gif_on_canvas(1500, 1500, 200)

    def upload(n: int):
        return s.post(url + "/content/upload", params={"title": f"动图{n}", "topic_id": topic},
                      data=gif, timeout=120,
                      headers={"X-CSRFToken": token, "X-Filename": f"animation-{n}.gif",
                               "Content-Type": "application/octet-stream"})

    actions = {
        "year report by hour": lambda: s.get(url + "/reports/", params={**period, "by": "hour"},
                                             timeout=120),
        "week report by terminal": lambda: s.get(url + "/reports/",
                                                 params={**week, "by": "terminal"},
                                                 timeout=120),
        "gif upload 1": lambda: upload(1),
        "gif upload 2": lambda: upload(2),
        "xlsx export by hour": lambda: s.get(url + "/reports/",
                                             params={**period, "by": "hour", "format": "xlsx"},
                                             timeout=120),
    }
    results: list[tuple[str, int | str]] = []

    def act(name: str, action) -> None:
        try:
            r = action()
            results.append((name, r.status_code if r.ok else f"{r.status_code} {r.text[:300]}"))
        except Exception as exc:  # noqa: BLE001 - reported in the assertion, not lost
            results.append((name, repr(exc)))

    threads = [threading.Thread(target=act, args=item) for item in actions.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


def test_heavy_staff_work_does_not_delay_a_single_heartbeat(server, credentials, make_player,
                                                             database_url, tmp_path):
    first, last = _a_year_of_plays(database_url)
    node = requests.get(server.url + "/healthz", timeout=10).json()["node"]
    player = make_player().start()
    ids = sorted(credentials)[-SIMULATED:]  # make_player takes terminals from the front
    swarm = _swarm(server.url, [credentials[t] for t in ids], tmp_path)
    try:
        wait_for(lambda: _ask(swarm, "status")["connected"] == SIMULATED, timeout=60,
                 what="the simulated terminals to connect")
        wait_for(lambda: _online(database_url, player.terminal_id), timeout=60,
                 what="the player to connect")
        before = _ask(swarm, "status")["heartbeats"]

        assert _staff(server.url, first, last) == [
            ("gif upload 1", 201), ("gif upload 2", 201), ("week report by terminal", 200),
            ("xlsx export by hour", 200), ("year report by hour", 200)]

        # A full round of heartbeats after the load, so one held back would have shown.
        wait_for(lambda: _ask(swarm, "status")["heartbeats"] >= before + 3 * SIMULATED,
                 timeout=60, what="heartbeats after the staff load")
        st = _ask(swarm, "status")
        assert (st["connected"], st["failed"], st["dropped"]) == (SIMULATED, 0, 0), st
        lag = requests.get(server.url + "/healthz", timeout=10).json().get("loop_lag_ms")
        assert (st["heartbeat_errors"], st["late_heartbeats"]) == (0, 0), (st, lag)
    finally:
        swarm.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
        swarm.stdin.close()
        swarm.wait(30)
        swarm.stdout.close()

    assert _online(database_url, player.terminal_id)
    assert _offline_events(database_url, player.terminal_id) == 0
    health = requests.get(server.url + "/healthz", timeout=10).json()
    assert health["node"] == node  # the same worker process throughout
    log = server.log.read_text()
    assert "WORKER TIMEOUT" not in log and log.count("Booting worker") == 1


def _online(database_url: str, terminal_id: int) -> bool:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        online = conn.execute(text("SELECT online FROM terminal_state WHERE terminal_id = :t"),
                              {"t": terminal_id}).scalar()
    engine.dispose()
    return bool(online)


def _offline_events(database_url: str, terminal_id: int) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM terminal_event WHERE terminal_id = :t "
                              "AND kind = 'offline'"), {"t": terminal_id}).scalar()
    engine.dispose()
    return n
