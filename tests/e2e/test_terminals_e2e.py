"""Real players against the real server: sync, nudges, offline play, and every second of
play accounted for through player kills and server crashes."""

from __future__ import annotations

import time

import requests
from sqlalchemy import create_engine, text

from player.protocol import REVOKED, SYNC
from tests.e2e.conftest import TerminalSocket, pair, wait_for


def server_seconds(database_url: str, terminal_id: int) -> float:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT coalesce(sum(seconds), 0) FROM play_record "
                                  "WHERE terminal_id = :t"), {"t": terminal_id}).scalar()
    engine.dispose()
    return float(value)


def same(*seconds: float) -> bool:
    """Equal to the microsecond (the records' resolution); sums may differ in float order."""
    return max(seconds) - min(seconds) < 1e-6


def terminal_version(server, token, terminal_id: int) -> int:
    r = requests.get(f"{server.url}/api/v1/terminals/{terminal_id}", headers=token, timeout=10)
    return r.json()["manifest_version"]


def test_player_syncs_plays_and_follows_a_nudge(server, admin_token, make_player,
                                                database_url):
    p = make_player().start()
    wait_for(lambda: p.manifest_version() == terminal_version(server, admin_token,
                                                              p.terminal_id),
             what="the first manifest")
    wait_for(lambda: p.totals()["recorded_n"] > 0, timeout=60, what="a recorded play")
    # A change that concerns this terminal reaches it without a restart.
    schedules = requests.get(f"{server.url}/api/v1/schedules", headers=admin_token,
                             timeout=10).json()
    normal = next(s for s in schedules if s["kind"] == "normal")
    r = requests.patch(f"{server.url}/api/v1/schedules/{normal['id']}",
                       json={"priority": normal["priority"] + 1}, headers=admin_token, timeout=10)
    assert r.status_code == 200, r.text
    new = terminal_version(server, admin_token, p.terminal_id)
    wait_for(lambda: p.manifest_version() == new, timeout=30, what="the nudged manifest")
    state = requests.get(f"{server.url}/api/v1/terminals/{p.terminal_id}/state",
                         headers=admin_token, timeout=10).json()
    assert state["online"] and state["manifest_version"] == new
    p.stop()
    t = p.totals()
    assert t["pending_n"] == 0 and t["recorded_n"] == t["accepted_n"] > 0
    assert same(server_seconds(database_url, p.terminal_id), t["accepted_s"])


def test_server_crash_loses_and_doubles_nothing(server, make_player, database_url):
    p = make_player().start()
    wait_for(lambda: p.totals()["accepted_n"] > 0, timeout=90, what="first accepted plays")
    server.kill()  # kill -9 mid-run
    at_kill = p.totals()["accepted_n"]
    time.sleep(4)
    server.restart()
    wait_for(lambda: p.totals()["accepted_n"] > at_kill, timeout=120,
             what="uploads after the restart")
    p.stop()
    t = p.totals()
    assert t["pending_n"] == 0
    assert same(t["recorded_s"], t["accepted_s"])
    assert same(server_seconds(database_url, p.terminal_id), t["accepted_s"])


def test_player_killed_mid_upload_loses_and_doubles_nothing(server, make_player, database_url):
    p = make_player().start()
    wait_for(lambda: p.totals()["recorded_n"] >= 2, timeout=90, what="recorded plays")
    p.kill()  # kill -9, whatever it was doing
    at_kill = p.totals()["accepted_n"]
    p.start()
    wait_for(lambda: p.totals()["accepted_n"] > at_kill, timeout=120,
             what="uploads after the restart")
    p.stop()
    t = p.totals()
    assert t["pending_n"] == 0 and same(t["recorded_s"], t["accepted_s"])
    assert same(server_seconds(database_url, p.terminal_id), t["accepted_s"])


def test_player_plays_from_cache_with_the_server_down(server, make_player, database_url):
    p = make_player().start()
    wait_for(lambda: p.totals()["accepted_n"] > 0, timeout=90, what="a first upload")
    p.stop()
    server.stop()
    try:
        before = p.totals()["recorded_n"]
        p.start()  # no server: manifest and blobs come from its data folder
        wait_for(lambda: p.totals()["recorded_n"] > before, timeout=60,
                 what="plays with the server down")
        p.stop()
        assert p.totals()["pending_n"] > 0  # kept for later, not lost
    finally:
        server.restart()
    p.start()
    wait_for(lambda: p.totals()["pending_n"] == 0, timeout=90, what="the outbox to drain")
    p.stop()
    t = p.totals()
    assert same(server_seconds(database_url, p.terminal_id), t["accepted_s"], t["recorded_s"])


def test_a_deleted_terminals_socket_never_speaks_for_the_next_one(server, admin_token):
    """The review's takeover: terminal X of 东和 is connected and deleted; a 田心 terminal
    Y is created and paired next. X's socket is closed at the delete, Y gets an id nobody
    had, and nothing of Y's ever reaches X's socket."""
    api = server.url + "/api/v1"

    def post(path: str, body: dict) -> dict:
        r = requests.post(api + path, json=body, headers=admin_token, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    communities = {c["name"]: c["id"] for c in requests.get(
        api + "/communities", headers=admin_token, timeout=10).json()}
    donghe = requests.get(api + "/buildings", params={"community_id": communities["东和"]},
                          headers=admin_token, timeout=10).json()[0]
    x = post("/terminals", {"building_id": donghe["id"], "name": "将删除的屏", "width": 384,
                            "height": 192})
    old = TerminalSocket(server.url, pair(server.url, admin_token, x["id"]))
    try:
        assert old.call(SYNC, {"manifest_version": 0})["manifest"]["terminal"]["id"] == x["id"]
        deleted_at = time.monotonic()
        r = requests.delete(f"{api}/terminals/{x['id']}", headers=admin_token, timeout=10)
        assert r.status_code == 204
        wait_for(lambda: not old.connected, timeout=5, interval=0.01,
                 what="the deleted terminal's socket to close")
        assert old.closed_at - deleted_at < 1.0
        tianxin = post("/buildings", {"community_id": communities["田心"], "name": "田心一栋"})
        y = post("/terminals", {"building_id": tianxin["id"], "name": "田心屏", "width": 192,
                                "height": 96})
        assert y["id"] > x["id"]  # never X's id again
        new = TerminalSocket(server.url, pair(server.url, admin_token, y["id"]))
        try:
            assert new.call(SYNC, {"manifest_version": 0})["manifest"]["terminal"]["id"] == y["id"]
        finally:
            new.close()
        assert old.received == [(REVOKED, {"reason": "terminal deleted"})]
    finally:
        old.close()


def test_each_connection_gets_the_manifest_of_its_protocol(server, admin_token, credentials,
                                                          unused_terminals):
    """A layout scheduled through the API, then one terminal connected twice over real
    websockets: as a version-1 player (no layouts: it plays full-frame) and as a version-2
    one (the layout fitted to its panel)."""
    import socketio

    from player import protocol

    api = server.url + "/api/v1"
    tid = next(unused_terminals)
    terminal = requests.get(f"{api}/terminals/{tid}", headers=admin_token, timeout=10).json()
    layout = requests.post(f"{api}/layouts", headers=admin_token, timeout=10, json={
        "name": "时钟在上", "width": 384, "height": 192, "regions": [
            {"key": "clock", "role": "clock", "x": 0, "y": 0, "w": 384, "h": 32},
            {"key": "main", "role": "main", "x": 0, "y": 32, "w": 384, "h": 160}]})
    assert layout.status_code == 201, layout.text
    r = requests.post(f"{api}/schedules", headers=admin_token, timeout=10, json={
        "name": "版式", "layout_id": layout.json()["id"],
        "targets": [{"kind": "terminal", "ref_id": tid}]})
    assert r.status_code == 201, r.text
    plans = {}
    for version in (1, 2):
        sio = socketio.Client(reconnection=False)
        sio.connect(server.url, auth={"credential": credentials[tid], "protocol": version},
                    namespaces=[protocol.TERMINAL_NAMESPACE], transports=["websocket"],
                    wait_timeout=15)
        try:
            ack = sio.call(SYNC, {"manifest_version": 0}, namespace=protocol.TERMINAL_NAMESPACE,
                           timeout=15)
        finally:
            sio.disconnect()
        plans[version] = ack["manifest"]["plan"]
    assert "layouts" not in plans[1] and "variants" not in plans[1]
    # (the demo street may schedule layouts of its own too)
    framed = next(x for x in plans[2]["layouts"] if x["id"] == r.json()["id"])
    assert (framed["layout"]["width"], framed["layout"]["height"]) == (
        terminal["width"], terminal["height"])
    assert plans[1]["schedules"] == plans[2]["schedules"]
