"""Three nodes behind nginx: pushes cross nodes, a node can die and Redis can go away, and
every terminal still converges and every second of play is accounted for."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio
from sqlalchemy import create_engine, text

from player.protocol import PROTOCOL_VERSION, REVOKED, SHA256_RE, SYNC, TERMINAL_NAMESPACE
from tests import live
from tests.e2e.conftest import TerminalSocket, pair, wait_for
from tests.multinode.conftest import (
    POOL_OVERFLOW,
    POOL_SIZE,
    assert_every_second_accounted,
    bump_schedule,
    connections_per_node,
    health,
    name,
    terminals_per_node,
    wait_converged,
)

NUDGE_S = 15  # a nudge arrives within seconds; these players' periodic check is 600 s away
CUT_S = 30  # how long Redis stays away
CHECK_S = 10  # the periodic version check of the players in the Redis test
STORM = 40  # terminals connecting at once


def test_a_change_on_one_node_reaches_players_on_the_others(cluster, edge, make_player,
                                                            admin_token):
    players = [make_player().start("--sync-interval", "600") for _ in range(2)]
    wait_converged(players, cluster[0], admin_token, 60, "first manifest")
    # Two players on three nodes: at least one node holds none of them. The change is
    # made there, so every nudge has to cross Redis to reach a player.
    counts = wait_for(lambda: (c := terminals_per_node(cluster)) and sum(c.values()) == 2
                      and c, timeout=30, what="both players connected")
    quiet = next(n for n in cluster if counts[name(n)] == 0)
    bump_schedule(quiet, admin_token)
    wait_converged(players, quiet, admin_token, NUDGE_S, "the nudge from another node")
    assert terminals_per_node(cluster)[name(quiet)] == 0
    for p in players:
        p.stop()


def test_long_polling_sessions_stay_on_one_node(cluster, edge, credentials, unused_terminals):
    """Engine.IO long-polling (staff browsers start with it; some networks allow nothing
    else) is a series of HTTP requests that only the node holding the session can answer:
    nginx must send every one of them to that node."""
    tid = next(unused_terminals)
    sio = socketio.Client(reconnection=False)
    sio.connect(edge.url, auth={"credential": credentials[tid], "protocol": PROTOCOL_VERSION},
                namespaces=[TERMINAL_NAMESPACE], transports=["polling"], wait_timeout=15)
    try:
        for _ in range(10):
            ack = sio.call(SYNC, {"manifest_version": 0}, namespace=TERMINAL_NAMESPACE,
                           timeout=15)
            assert ack["ok"] and ack["manifest"] is not None
        assert sio.transport() == "polling"
        sid = sio.eio.sid
    finally:
        sio.disconnect()
    upstreams = wait_for(lambda: [line.rsplit(" ", 1)[1] for line in
                                  edge.access_log().splitlines() if f"sid={sid}" in line],
                         timeout=10, what="the session's requests in nginx's log")
    assert len(upstreams) >= 10 and len(set(upstreams)) == 1, upstreams


def test_blobs_come_from_nginx_with_ranges(cluster, edge, make_player, admin_token,
                                           credentials):
    p = make_player().start("--sync-interval", "600")
    wait_converged([p], cluster[0], admin_token, 60, "first manifest")
    blobs = wait_for(lambda: [f for f in (p.data / "blobs").iterdir()
                              if SHA256_RE.match(f.name)], timeout=60, what="a downloaded blob")
    p.stop()
    blob = max(blobs, key=lambda f: f.stat().st_size)
    body = blob.read_bytes()
    auth = {"Authorization": f"Bearer {credentials[p.terminal_id]}"}
    path = f"/terminal-api/v1/blobs/{blob.name}"
    # A node alone only decides: the file itself is left to nginx.
    direct = requests.get(cluster[1].url + path, headers=auth, timeout=10)
    assert direct.status_code == 200 and direct.content == b""
    assert direct.headers["X-Accel-Redirect"].endswith(blob.name)
    # Through nginx: the bytes, with ranges for resuming a cut download.
    whole = requests.get(edge.url + path, headers=auth, timeout=30)
    assert whole.status_code == 200 and whole.content == body
    assert "X-Accel-Redirect" not in whole.headers
    part = requests.get(edge.url + path, headers={**auth, "Range": "bytes=100-1099"},
                        timeout=30)
    assert part.status_code == 206 and part.content == body[100:1100]
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(body)}"
    refused = requests.get(edge.url + path, headers={"Authorization": "Bearer nope"},
                           timeout=10)
    assert refused.status_code == 401


def test_a_storm_of_terminals_shares_each_nodes_small_pool(cluster, edge, credentials,
                                                          unused_terminals, pg_url):
    """40 terminals connect at once (as after a node loss) and each asks for its whole
    manifest: thousands of greenlets' worth of work queue for a pool of POOL_SIZE +
    POOL_OVERFLOW per node; every one is answered, no node opens more."""
    ids = [next(unused_terminals) for _ in range(STORM)]
    peak: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for node, n in connections_per_node(pg_url).items():
                peak[node] = max(peak.get(node, 0), n)
            done.wait(0.05)

    def terminal(tid: int) -> dict:
        sio = socketio.Client(reconnection=False)
        try:
            sio.connect(edge.url, auth={"credential": credentials[tid],
                                        "protocol": PROTOCOL_VERSION},
                        namespaces=[TERMINAL_NAMESPACE], transports=["websocket"],
                        wait_timeout=30)
            return sio.call(SYNC, {"manifest_version": 0}, namespace=TERMINAL_NAMESPACE,
                            timeout=60)
        finally:
            sio.disconnect()

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(STORM) as pool:
            acks = list(pool.map(terminal, ids))
    finally:
        done.set()
        sampler.join()
    assert all(a["ok"] and a["manifest"] is not None for a in acks), acks
    assert peak and all(n <= POOL_SIZE + POOL_OVERFLOW for n in peak.values()), peak


def test_redis_away_for_30_s_every_player_converges(cluster, edge, redis_proxy, make_player,
                                                    admin_token, pg_url):
    players = [make_player().start("--sync-interval", str(CHECK_S)) for _ in range(3)]
    wait_converged(players, cluster[0], admin_token, 60, "first manifest")
    wait_for(lambda: all(health(n)["ok"] for n in cluster), timeout=30,
             what="every node hearing its heartbeat")
    redis_proxy.cut()
    cut_at = time.monotonic()
    try:
        # Each node notices, and says so (the fleet wall shows this).
        problems = wait_for(lambda: (h := [health(n) for n in cluster])
                            and all(x["queue"] for x in h) and h,
                            timeout=15, what="every node reporting the queue problem")
        assert all(not x["ok"] and x["database"] is None for x in problems)
        # The database is the truth: a change still saves while pushes are lost, and the
        # players' periodic check brings it to every one of them.
        bump_schedule(cluster[0], admin_token)
        wait_converged(players, cluster[0], admin_token, 1.2 * CHECK_S + 10,
                       "the periodic check, Redis away")
        time.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))  # the outage lasts 30 s
    finally:
        redis_proxy.restore()
    # Listeners resubscribe (python-socketio backs off up to 60 s between attempts).
    wait_for(lambda: all(health(n)["ok"] for n in cluster), timeout=90,
             what="every node hearing its heartbeat again")
    bump_schedule(cluster[0], admin_token)
    wait_converged(players, cluster[0], admin_token, 1.2 * CHECK_S + 10, "Redis back")
    for p in players:
        p.stop()
    assert_every_second_accounted(players, pg_url)


def test_a_node_killed_mid_run_moves_its_players_and_loses_no_play(cluster, edge,
                                                                   make_player, pg_url):
    players = [make_player().start() for _ in range(4)]
    wait_for(lambda: all(p.totals()["accepted_n"] > 0 for p in players), timeout=120,
             what="first accepted plays from every player")
    counts = wait_for(lambda: (c := terminals_per_node(cluster)) and sum(c.values()) == 4
                      and c, timeout=30, what="all players connected")
    victim = max(cluster, key=lambda n: counts[name(n)])
    survivors = [n for n in cluster if n is not victim]
    victim.kill()  # kill -9, gunicorn master and worker, mid-run
    try:
        at_kill = [p.totals()["accepted_n"] for p in players]
        wait_for(lambda: sum(terminals_per_node(survivors).values()) == 4, timeout=60,
                 what="the victim's players back through nginx on the other nodes")
        wait_for(lambda: all(p.totals()["accepted_n"] > n for p, n in zip(players, at_kill,
                                                                        strict=True)),
                 timeout=120, what="uploads after the kill")
        for p in players:
            p.stop()
        assert_every_second_accounted(players, pg_url)
        # Each node stays inside its pool bound (and names itself to PostgreSQL).
        held = connections_per_node(pg_url)
        assert {name(n) for n in survivors} <= set(held), held
        assert all(n <= POOL_SIZE + POOL_OVERFLOW for n in held.values()), held
    finally:
        victim.restart()


def test_a_broadcast_sent_on_one_node_is_acknowledged_from_the_others(cluster, edge,
                                                                     make_player, admin_token):
    players = [make_player().start("--sync-interval", "600") for _ in range(2)]
    wait_converged(players, cluster[0], admin_token, 60, "first manifest")
    counts = wait_for(lambda: (c := terminals_per_node(cluster)) and sum(c.values()) == 2
                      and c, timeout=30, what="both players connected")
    quiet = next(n for n in cluster if counts[name(n)] == 0)
    r = requests.post(f"{quiet.url}/api/v1/broadcasts", headers=admin_token, timeout=30, json={
        "mode": "full", "text": "暴雨红色预警：请勿前往地下车库。", "reason": "气象台",
        "targets": [{"kind": "terminal", "ref_id": p.terminal_id} for p in players]})
    assert r.status_code == 201, r.text
    bid = r.json()["id"]
    # sent where neither player is connected: the push and both acknowledgements cross Redis
    wait_for(lambda: requests.get(f"{edge.url}/api/v1/broadcasts/{bid}", headers=admin_token,
                                  timeout=10).json()["shown"] == 2,
             timeout=NUDGE_S, what="both screens acknowledging")
    r = requests.delete(f"{quiet.url}/api/v1/broadcasts/{bid}", headers=admin_token, timeout=10)
    assert r.status_code == 200
    wait_for(lambda: all(json.loads((p.data / "broadcasts.json").read_text())["broadcasts"] == []
                         for p in players), timeout=NUDGE_S, what="the cancel on both screens")
    for p in players:
        p.stop()


def test_staff_on_one_node_see_terminals_held_by_another(cluster, make_player):
    """The wall's live events cross nodes: a browser session on a node that holds none of
    the player's connections hears it go offline."""
    p = make_player().start("--sync-interval", "600")
    counts = wait_for(lambda: (c := terminals_per_node(cluster)) and sum(c.values()) == 1
                      and c, timeout=60, what="the player connected")
    quiet = next(n for n in cluster if counts[name(n)] == 0)
    web = live.login(quiet.url)
    tiles: list[dict] = []
    staff = socketio.Client(http_session=web)  # the browser's login cookie
    staff.on("terminal", tiles.append, namespace="/staff")
    # the same browser: Flask-Login's strong session protection checks the user agent too
    staff.connect(quiet.url, namespaces=["/staff"], transports=["websocket"],
                  headers={"User-Agent": web.headers["User-Agent"]})
    try:
        p.stop()
        wait_for(lambda: any(t["id"] == p.terminal_id and not t["online"]
                             for t in tiles), timeout=NUDGE_S,
                 what="the offline tile on another node's wall")
    finally:
        staff.disconnect()


def test_three_nodes_one_scheduler(cluster, pg_url):
    """Every worker of the three nodes is a scheduler candidate (as `make run` starts them);
    the database lease lets exactly one lead, and its jobs keep claiming their periods."""
    engine = create_engine(pg_url)

    def lease() -> tuple[str | None, int | None]:
        with engine.connect() as conn:
            holder = conn.execute(text("SELECT holder FROM scheduler_lease")).scalar()
            slot = conn.execute(text("SELECT slot FROM scheduler_job "
                                     "WHERE id = 'offline-detection'")).scalar()
        return holder, slot

    try:
        wait_for(lambda: lease()[0], timeout=60, what="a scheduler leader")
        start = wait_for(lambda: lease()[1], timeout=60, what="offline detection to run")
        wait_for(lambda: lease()[1] > start, timeout=60, what="offline detection to run again")
        # Each node's current candidate (a node killed by an earlier test restarted with a
        # new one, and its old candidate may have led before the kill): exactly one leads.
        current = [re.findall(r"scheduler candidate (\S+) started", n.log.read_text())[-1]
                   for n in cluster]
        leaders = [n for n, c in zip(cluster, current, strict=True)
                   if f"scheduler {c} leads: running the jobs" in n.log.read_text()]
        assert len(leaders) == 1, [name(n) for n in leaders]
        assert lease()[0] == current[cluster.index(leaders[0])]
    finally:
        engine.dispose()


def test_deleting_or_re_pairing_on_one_node_drops_the_socket_another_holds(
        cluster, admin_token, credentials, unused_terminals):
    """A socket lives exactly as long as its credential, whichever node holds it: the
    node that ends the credential tells the others through Redis."""
    holder, staff_node = cluster[1], cluster[0]
    for end in ("delete", "re-pair"):
        tid = next(unused_terminals)
        sock = TerminalSocket(holder.url, credentials[tid])
        try:
            assert sock.call(SYNC, {"manifest_version": 0})["ok"]
            ended_at = time.monotonic()
            if end == "delete":
                r = requests.delete(f"{staff_node.url}/api/v1/terminals/{tid}",
                                    headers=admin_token, timeout=10)
                assert r.status_code == 204
            else:
                fresh = pair(staff_node.url, admin_token, tid)
            wait_for(lambda sock=sock: not sock.connected, timeout=5, interval=0.01,
                     what=f"the socket on another node to close after the {end}")
            assert sock.closed_at - ended_at < 1.0, end
            reason = "terminal deleted" if end == "delete" else "credential replaced"
            assert sock.received == [(REVOKED, {"reason": reason})]
        finally:
            sock.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        TerminalSocket(holder.url, credentials[tid])  # the old credential is dead
    TerminalSocket(holder.url, fresh).close()  # the new one works
