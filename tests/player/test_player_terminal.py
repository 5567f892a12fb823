"""A real player (headless, real time) against a stand-in server on a real socket."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import time
from datetime import datetime

import pytest
from fake_server import FakeServer
from PIL import Image
from player_helpers import item, plan, playlist, png, sched, sha

from player.terminal import Terminal
from tests.polling import wait_for


def manifest(server: FakeServer, version: int, colours: list[tuple[int, int, int]],
             dur: float = 1.0) -> dict:
    items = []
    for n, c in enumerate(colours, start=1):
        data = png(c, (64, 32))
        server.blobs[sha(data)] = data
        items.append(item(n, dur, sha(data)))
    p = plan(sched(1, playlist(*items)))
    m = {"version": version,
         "terminal": {"id": 1, "name": "Block 3 lobby", "width": 64, "height": 32,
                      "colour_mode": "full"},
         "plan": p.to_dict(),
         "blobs": [{"sha256": i.sha256, "size": len(server.blobs[i.sha256]),
                    "mime": "image/png"} for i in items],
         "generated_at": "2026-01-01T00:00:00Z"}
    server.manifest = m
    return m


@pytest.fixture
def server():
    with FakeServer(clock_offset_s=3600.0) as s:
        yield s


@pytest.fixture
def terminal(server, tmp_path):
    t = Terminal(server.url, tmp_path / "data", credential="cred-1", size=(64, 32))
    yield t
    t.stop(flush_timeout_s=0)


def test_hello_manifest_download_play_and_upload(server, terminal) -> None:
    m = manifest(server, 1, [(250, 0, 0), (0, 250, 0)])
    terminal.start()
    assert wait_for(lambda: server.received("hello"))
    hello = server.received("hello")[0]
    assert hello["manifest_version"] == 0 and hello["cache"] == []
    # the clock follows the server's (an hour ahead here), within the round trip
    assert wait_for(lambda: abs(terminal.server_clock.offset_s - 3600) < 2)
    assert wait_for(lambda: len(server.plays) >= 2)
    shas = {b["sha256"] for b in m["blobs"]}
    assert {r["sha256"] for r in server.plays.values()} <= shas
    # records are in server time: within a few seconds of the server's now
    last = max(datetime.fromisoformat(r["end"]) for r in server.plays.values())
    assert abs((server.now() - last).total_seconds()) < 10
    assert wait_for(lambda: terminal.outbox.pending() == 0 or len(server.plays) > 3)
    assert terminal.cache.bytes_downloaded == sum(b["size"] for b in m["blobs"])
    assert wait_for(lambda: server.received("status"))
    assert server.received("status")[0]["player_version"]
    assert (terminal.data_dir / "manifest.json").exists()


def test_a_refused_hello_is_retried_before_anything_else(server, terminal) -> None:
    server.hello_failures = 2
    manifest(server, 1, [(250, 0, 0)])
    terminal.start()
    assert wait_for(lambda: terminal.store.version == 1)
    kinds = [k for k, _ in server.events]
    assert kinds[:3] == ["hello", "hello", "hello"]  # no SYNC/STATUS/PLAYS before it worked
    assert terminal.client.connects == 1


def test_only_confirmed_ids_leave_the_outbox(server, terminal) -> None:
    from player.protocol import play_record

    t0 = server.now().replace(microsecond=0)
    recs = [play_record(content_id=1, schedule_id=1, sha256="a" * 64,
                        start=t0.replace(minute=0, second=n), end=t0.replace(minute=0,
                                                                            second=n + 1))
            for n in range(5)]
    server.ignore_ids = {recs[1]["id"], recs[3]["id"]}
    server.reject_ids = {recs[4]["id"]}
    terminal.outbox.add(recs)
    terminal.start()
    assert wait_for(lambda: recs[0]["id"] in server.plays and recs[2]["id"] in server.plays)
    assert wait_for(lambda: len(server.received("plays")) >= 2)  # sent again: still there
    left = {r["id"] for r in terminal.outbox.batch(1000) if r["sha256"] == "a" * 64}
    assert left == server.ignore_ids  # rejected (confirmed) went, unconfirmed stayed


def test_nudge_triggers_sync_and_the_new_manifest_is_applied(server, terminal) -> None:
    manifest(server, 1, [(250, 0, 0)])
    terminal.start()
    assert wait_for(lambda: terminal.store.version == 1)
    manifest(server, 2, [(0, 0, 250)])
    server.nudge()
    assert wait_for(lambda: terminal.store.version == 2)
    assert server.received("sync")[-1]["manifest_version"] == 1
    assert wait_for(lambda: any(r["sha256"] == server.manifest["blobs"][0]["sha256"]
                                for r in server.plays.values()))


def test_commands_are_run_and_answered(server, terminal) -> None:
    manifest(server, 1, [(250, 0, 0)], dur=30)
    terminal.start()
    assert wait_for(lambda: terminal.playback.current is not None)
    server.command(11, "screenshot")
    server.command(12, "brightness", {"level": 30})
    server.command(13, "explode")
    assert wait_for(lambda: len(server.received("command_result")) == 3)
    res = {r["id"]: r for r in server.received("command_result")}
    shot = Image.open(io.BytesIO(base64.b64decode(res[11]["result"]["png_base64"])))
    assert shot.size == (64, 32)
    assert shot.convert("RGB").getpixel((10, 10))[0] > 200  # the red item is on screen
    assert res[12]["ok"] and terminal.playback.brightness == 30
    assert res[13]["ok"] is False


def test_revoked_terminal_stops_connecting_but_keeps_playing(server, terminal) -> None:
    manifest(server, 1, [(250, 0, 0)])
    terminal.start()
    assert wait_for(lambda: terminal.store.version == 1)
    assert wait_for(lambda: terminal.client is not None and terminal.client.connected.is_set())
    assert wait_for(lambda: terminal.playback.current is not None)
    server.revoke()
    assert wait_for(lambda: terminal.revoked == "test")
    refused, connects = server.refused_connects, terminal.client.connects
    time.sleep(3)  # long enough for at least one reconnection attempt if it tried
    assert server.refused_connects == refused and terminal.client.connects == connects
    assert terminal.playback.current is not None


def test_plays_from_the_saved_manifest_with_the_server_away(server, tmp_path) -> None:
    m = manifest(server, 1, [(250, 0, 0)])
    first = Terminal(server.url, tmp_path / "data", credential="cred-1", size=(64, 32))
    first.start()
    assert wait_for(lambda: first.cache.ready(m["blobs"][0]["sha256"]))
    first.stop(flush_timeout_s=0)
    again = Terminal("http://127.0.0.1:9", tmp_path / "data", credential="cred-1")
    again.start()
    try:
        assert wait_for(lambda: again.playback.current is not None)
        assert again.backend.size == (64, 32)  # from the saved manifest
        assert again.playback.current.item.sha256 == m["blobs"][0]["sha256"]
    finally:
        again.stop(flush_timeout_s=0)


def test_refused_credential_retries_and_plays_on(server, tmp_path) -> None:
    t = Terminal(server.url, tmp_path / "data", credential="wrong", size=(64, 32))
    t.start()
    try:
        assert wait_for(lambda: server.refused_connects >= 1)
        assert t.backend.shown[0] == ("text", "community signage")  # built-in screen
    finally:
        t.stop(flush_timeout_s=0)


def test_pairing_shows_the_code_and_stores_the_credential(server, tmp_path) -> None:
    t = Terminal(server.url, tmp_path / "data", size=(64, 32), pairing_poll_s=0.1)
    manifest(server, 1, [(250, 0, 0)])
    try:
        t.start()
        assert wait_for(lambda: t.credential == "paired-cred")
        assert server.pairing_polls == 3  # 202, 202, then 200
        cred = tmp_path / "data" / "credential"
        assert cred.read_text().strip() == "paired-cred"
        assert stat.S_IMODE(os.stat(cred).st_mode) == 0o600
        assert ("text", "配对码 482913") in t.backend.shown
        assert wait_for(lambda: t.store.version == 1)  # then it connects with it
    finally:
        t.stop(flush_timeout_s=0)


def test_shutdown_records_the_cut_play_and_flushes_it(server, tmp_path) -> None:
    manifest(server, 1, [(250, 0, 0)], dur=600)
    t = Terminal(server.url, tmp_path / "data", credential="cred-1", size=(64, 32))
    t.start()
    assert wait_for(lambda: t.playback.current is not None and t.client.connected.is_set())
    time.sleep(1.2)
    t.stop()
    reasons = [r["reason"] for r in server.plays.values()]
    assert "shutdown" in reasons
    totals = json.loads((tmp_path / "data" / "totals.json").read_text())
    assert totals["pending_n"] == 0 and totals["accepted_n"] == len(server.plays)
    assert totals["accepted_s"] == pytest.approx(sum(
        (datetime.fromisoformat(r["end"]) - datetime.fromisoformat(r["start"])).total_seconds()
        for r in server.plays.values()))


def test_a_broadcast_acknowledgement_never_leaves_without_its_thumbnail(terminal) -> None:
    # The client thread may ask for acknowledgements at any moment; the server keeps only
    # the first one it gets, so none may be pending before the thumbnail is taken.
    pending_during_screenshot = []
    screenshot = terminal.backend.screenshot

    def watched_screenshot():
        pending_during_screenshot.append(terminal.broadcast_acks())
        return screenshot()
    terminal.backend.screenshot = watched_screenshot
    terminal._broadcast_shown(7)
    assert pending_during_screenshot == [[]]
    [ack] = terminal.broadcast_acks()
    assert ack["id"] == 7 and ack["thumbnail_png_base64"]
    terminal._broadcast_shown(7)  # shown again: no second screenshot, the same ack
    assert len(pending_during_screenshot) == 1 and terminal.broadcast_acks() == [ack]
