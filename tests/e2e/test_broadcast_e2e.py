"""Emergency broadcast end to end: real players acknowledge it, a player that connects later
shows it, cancel returns every screen to its schedule, and its play time is accounted for."""

from __future__ import annotations

import json

import requests
from sqlalchemy import create_engine, text

from tests.e2e.conftest import wait_for
from tests.e2e.test_terminals_e2e import same, server_seconds, terminal_version


def progress(server, token, bid: int) -> dict:
    return requests.get(f"{server.url}/api/v1/broadcasts/{bid}", headers=token,
                        timeout=10).json()


def playing(server, token, tid: int) -> int | None:
    return requests.get(f"{server.url}/api/v1/terminals/{tid}/state", headers=token,
                        timeout=10).json()["playing_content_id"]


def broadcast_seconds(database_url: str, tid: int, content_id: int) -> float:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT coalesce(sum(seconds), 0) FROM play_record WHERE "
                                  "terminal_id = :t AND content_id = :c"),
                             {"t": tid, "c": content_id}).scalar()
    engine.dispose()
    return float(value)


def test_broadcast_is_acknowledged_by_every_screen_and_cancels_cleanly(
        server, admin_token, make_player, database_url):
    players = [make_player() for _ in range(4)]
    for p in players[:3]:
        p.start()
    for p in players[:3]:
        wait_for(lambda p=p: p.manifest_version() == terminal_version(server, admin_token,
                                                                      p.terminal_id),
                 what="the first manifest")
    r = requests.post(f"{server.url}/api/v1/broadcasts", headers=admin_token, timeout=30, json={
        "mode": "full", "title": "台风红色预警", "reason": "市气象台 08:10 发布",
        "text": "台风“海燕”今晚登陆，请居民关好门窗，非必要不外出。",
        "targets": [{"kind": "terminal", "ref_id": p.terminal_id} for p in players]})
    assert r.status_code == 201, r.text
    bid = r.json()["id"]
    wait_for(lambda: progress(server, admin_token, bid)["shown"] == 3, timeout=30,
             what="3 of 4 screens acknowledging")
    p = progress(server, admin_token, bid)
    late = next(t for t in p["terminals"] if t["shown_at"] is None)
    assert late["terminal_id"] == players[3].terminal_id and late["problem"] == "offline"
    players[3].start()  # was off when it was sent: shows it as soon as it connects
    wait_for(lambda: progress(server, admin_token, bid)["shown"] == 4, timeout=60,
             what="the late screen acknowledging")
    for p in players:
        wait_for(lambda p=p: playing(server, admin_token, p.terminal_id) is not None,
                 timeout=30, what=f"a status from {p.terminal_id}")
    on_screen = {playing(server, admin_token, p.terminal_id) for p in players}
    assert len(on_screen) == 1  # all four show the same thing: the broadcast
    bc_content = on_screen.pop()
    r = requests.delete(f"{server.url}/api/v1/broadcasts/{bid}", headers=admin_token, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    for p in players:
        wait_for(lambda p=p: playing(server, admin_token, p.terminal_id) not in (None, bc_content),
                 timeout=30, what="the schedule back on screen")
        assert json.loads((p.data / "broadcasts.json").read_text())["broadcasts"] == []
    for p in players:
        p.stop()
        t = p.totals()
        assert t["pending_n"] == 0
        assert same(server_seconds(database_url, p.terminal_id), t["accepted_s"], t["recorded_s"])
        assert broadcast_seconds(database_url, p.terminal_id, bc_content) > 0
