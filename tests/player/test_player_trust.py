"""Signed manifests and broadcasts in the player (player/trust.py, docs/player.md): what a
screen holding a street key accepts, what it refuses and reports, rotation, and what it
re-checks on disk."""

from __future__ import annotations

import copy
import json
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fake_server import FakeServer
from player_helpers import Signer, item, plan, playlist, png, sched, sha, utc
from test_player_terminal import manifest

from player import cache as cache_module
from player.__main__ import build_parser
from player.cache import BlobCache
from player.clock import SimClock
from player.pairing import pair
from player.protocol import check_hello, check_status, iso
from player.terminal import Terminal
from player.trust import Keyring, Refused, verify_manifest
from tests.polling import wait_for

RED, GREEN, BLUE = (250, 0, 0), (0, 250, 0), (0, 0, 250)


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


@pytest.fixture
def key() -> Signer:
    return Signer()


def terminal(server: FakeServer, tmp_path: Path, keys: list[Signer] | None = None,
             **kw) -> Terminal:
    return Terminal(server.url, tmp_path / "data", credential="cred-1", size=(64, 32),
                    trust_keys=[k.public for k in keys or []], **kw)


def build(server: FakeServer, version: int, colours: list) -> dict:
    """An unsigned manifest with its blobs on the server, not yet served."""
    served = server.manifest
    m = manifest(server, version, colours)
    server.manifest = served
    return m


def refusal(t: Terminal) -> dict | None:
    status = t.status_payload()
    check_status(status)
    return status["trust"]["refused"]


def broadcast(bid: int, sha256: str | None = None, mode: str = "full") -> dict:
    return {"id": bid, "mode": mode, "content_id": 900 + bid, "topic_id": 9, "sha256": sha256,
            "size": 10, "media": "image", "duration_s": 10.0, "text": "台风红色预警",
            "starts_at": "2020-01-01T00:00:00Z", "ends_at": None}


# --- no key: as before ---------------------------------------------------------------------

def test_a_keyless_player_accepts_signed_and_unsigned_as_before(server, tmp_path, key) -> None:
    t = terminal(server, tmp_path)
    try:
        t.apply_manifest(build(server, 1, [RED]))
        other = Signer()
        t.apply_manifest(key.manifest(build(server, 2, [GREEN]), key=other.endorse(key)))
        t.apply_manifest(build(server, 1, [BLUE]))  # older: a restored server, as before
        fake = "a" * 64
        t.on_broadcast(broadcast(1, fake))
        assert t.store.version == 1 and t.broadcasts.blobs() == [(fake, 10)]
        assert t.hello_payload()["trust"] == {"key_id": None}
        assert refusal(t) is None
        assert not (t.data_dir / "trust.json").exists()
    finally:
        t.stop(flush_timeout_s=0)


# --- a real player: refused, keeps playing, reports, clears --------------------------------

def test_a_forged_manifest_is_refused_while_the_last_good_one_plays(server, tmp_path,
                                                                  key) -> None:
    good = server.manifest = key.manifest(build(server, 1, [RED]))
    t = terminal(server, tmp_path, [key])
    try:
        t.start()
        assert wait_for(lambda: t.store.version == 1)
        hello = server.received("hello")[0]
        check_hello(hello)
        assert hello["trust"] == {"key_id": key.kid}
        v1 = {b["sha256"] for b in good["blobs"]}
        assert wait_for(lambda: server.plays)
        forged = key.manifest(build(server, 2, [GREEN]))
        forged["plan"]["schedules"][0]["playlist"]["items"][0]["duration_s"] = 99  # after signing
        server.manifest = forged
        server.nudge()
        assert wait_for(lambda: any(s["trust"]["refused"] for s in server.received("status")))
        refused = next(s["trust"]["refused"] for s in server.received("status")
                       if s["trust"]["refused"])
        assert (refused["what"], refused["reason"], refused["version"]) == (
            "manifest", "bad_signature", 2)
        assert t.store.version == 1
        assert json.loads((t.data_dir / "manifest.json").read_bytes())["version"] == 1
        seen = len(server.plays)
        assert wait_for(lambda: len(server.plays) > seen + 1)  # still playing...
        assert {r["sha256"] for r in server.plays.values()} <= v1  # ...the last good one
        n_status = len(server.received("status"))
        server.manifest = key.manifest(build(server, 3, [BLUE]))
        server.nudge()
        assert wait_for(lambda: t.store.version == 3)
        assert wait_for(lambda: len(server.received("status")) > n_status
                        and server.received("status")[-1]["trust"]["refused"] is None)
    finally:
        t.stop(flush_timeout_s=0)


# --- each refusal, at the terminal ----------------------------------------------------------

def _unsigned(server: FakeServer, key: Signer) -> dict:
    return build(server, 2, [GREEN])


def _other_key(server: FakeServer, key: Signer) -> dict:
    return Signer().manifest(build(server, 2, [GREEN]))


def _forged(server: FakeServer, key: Signer) -> dict:
    m = key.manifest(build(server, 2, [GREEN]))
    m["blobs"][0]["sha256"] = "f" * 64  # a blob swapped in the list after signing
    return m


def _replayed(server: FakeServer, key: Signer) -> dict:
    return key.manifest(build(server, 0, [GREEN]))


def _bad_sig(server: FakeServer, key: Signer) -> dict:
    m = key.manifest(build(server, 2, [GREEN]))
    m["signature"]["sig"] = "not base64!"
    return m


def _endorsed_by_stranger(server: FakeServer, key: Signer) -> dict:
    new, stranger = Signer(), Signer()
    return new.manifest(build(server, 2, [GREEN]), key=stranger.endorse(new))


def _endorsement_forged(server: FakeServer, key: Signer) -> dict:
    new = Signer()
    block = key.endorse(new)
    block["endorsement"] = Signer().endorse(new)["endorsement"]  # not by `key`
    return new.manifest(build(server, 2, [GREEN]), key=block)


def _endorsed_other_key(server: FakeServer, key: Signer) -> dict:
    new, other = Signer(), Signer()
    return new.manifest(build(server, 2, [GREEN]), key=key.endorse(other))


@pytest.mark.parametrize("make, reason", [
    (_unsigned, "unsigned"),
    (_other_key, "unknown_key"),
    (_forged, "bad_signature"),
    (_bad_sig, "bad_signature"),
    (_replayed, "replayed"),
    (_endorsed_by_stranger, "endorsement"),
    (_endorsement_forged, "endorsement"),
    (_endorsed_other_key, "endorsement"),
])
def test_each_bad_manifest_is_refused_and_changes_nothing(server, tmp_path, key, make,
                                                           reason) -> None:
    t = terminal(server, tmp_path, [key])
    try:
        t.apply_ack({"manifest": key.manifest(build(server, 1, [RED]))}, None, None)
        saved = (t.data_dir / "manifest.json").read_bytes()
        trust_before = (t.data_dir / "trust.json").read_bytes()
        t.apply_ack({"manifest": make(server, key)}, None, None)
        assert t.store.version == 1 and t.store.current.raw["version"] == 1
        assert (t.data_dir / "manifest.json").read_bytes() == saved
        assert (t.data_dir / "trust.json").read_bytes() == trust_before  # nothing learned
        assert t.trust.trusted() == {key.kid: key.public}
        got = refusal(t)
        assert (got["what"], got["reason"]) == ("manifest", reason)
    finally:
        t.stop(flush_timeout_s=0)


# --- rotation -------------------------------------------------------------------------------

def test_rotation_takes_the_endorsed_key_without_a_gap_and_retires_the_old(server, tmp_path,
                                                                           key) -> None:
    new = Signer()
    t = terminal(server, tmp_path, [key])
    try:
        t.apply_manifest(key.manifest(build(server, 1, [RED])))
        t.apply_manifest(new.manifest(build(server, 2, [GREEN]), key=key.endorse(new)))
        assert t.store.version == 2 and refusal(t) is None  # taken at once: no gap
        assert t.trust.trusted() == {new.kid: new.public} and t.trust.retired() == {key.kid}
        assert t.hello_payload()["trust"] == {"key_id": new.kid}
        with pytest.raises(Refused) as e:  # the old key cannot sign any more
            t.apply_manifest(key.manifest(build(server, 3, [BLUE])))
        assert e.value.reason == "unknown_key" and t.store.version == 2
        t.on_broadcast(key.broadcast(broadcast(5, "b" * 64)))
        assert t.broadcasts.blobs() == []
        t.apply_manifest(new.manifest(build(server, 4, [BLUE])))  # no endorsement needed
    finally:
        t.stop(flush_timeout_s=0)
    # after a restart the old key stays retired, even when --trust-key still names it
    t = terminal(server, tmp_path, [key])
    try:
        assert t.trust.trusted() == {new.kid: new.public}
        assert t.store.version == 4
    finally:
        t.stop(flush_timeout_s=0)


def test_a_screen_paired_during_a_rotation_retires_the_old_key_on_the_first_endorsed(
        tmp_path, key) -> None:
    new = Signer()
    ring = Keyring(tmp_path)
    ring.replace([{"key_id": key.kid, "public_key": key.public},
                  {"key_id": new.kid, "public_key": new.public}])
    assert ring.newest == new.kid
    m = new.manifest({"version": 1, "terminal": {"id": 1}, "plan": {"terminal_id": 1},
                      "blobs": []}, key=key.endorse(new))
    ring.learn(ring.verify_manifest(m, None))
    assert ring.trusted() == {new.kid: new.public} and ring.retired() == {key.kid}


# --- broadcasts -----------------------------------------------------------------------------

def test_a_broadcast_with_a_bad_signature_is_not_shown(server, tmp_path, key) -> None:
    t = terminal(server, tmp_path, [key])
    try:
        good = key.broadcast(broadcast(1, "a" * 64))
        bad = key.broadcast(broadcast(2, "b" * 64))
        bad["text"] = "伪造的通知"  # edited after signing
        t.apply_ack({"broadcasts": [good, bad, broadcast(3, "c" * 64)]}, None, None)
        t.on_broadcast(Signer().broadcast(broadcast(4, "d" * 64)))
        assert t.broadcasts.blobs() == [("a" * 64, 10)]
        full, _ = t.broadcasts.active(utc(2026, 1, 1))
        assert full["id"] == 1
        got = refusal(t)
        assert (got["what"], got["reason"], got["sha256"]) == ("broadcast", "unknown_key",
                                                               "d" * 64)
        # only a blob a verified manifest or broadcast names is ever fetched
        with pytest.raises(cache_module.DownloadError):
            t.cache.fetch("b" * 64, 10)
        assert refusal(t)["reason"] == "unlisted"
        assert not server.events  # nothing asked of the server
    finally:
        t.stop(flush_timeout_s=0)


def test_saved_broadcasts_are_checked_again_at_start(server, tmp_path, key) -> None:
    t = terminal(server, tmp_path, [key])
    t.on_broadcast(key.broadcast(broadcast(1, "a" * 64)))
    t.stop(flush_timeout_s=0)
    path = tmp_path / "data" / "broadcasts.json"
    saved = json.loads(path.read_bytes())
    assert saved["broadcasts"][0]["signature"]["key_id"] == key.kid  # kept with its signature
    saved["broadcasts"][0]["sha256"] = "e" * 64
    path.write_text(json.dumps(saved))
    t = terminal(server, tmp_path)
    try:
        assert t.broadcasts.blobs() == []
        assert refusal(t)["what"] == "broadcast"
    finally:
        t.stop(flush_timeout_s=0)


# --- blobs ----------------------------------------------------------------------------------

def test_a_blob_swapped_on_disk_is_caught_before_it_shows_and_fetched_again(
        server, tmp_path, key, monkeypatch) -> None:
    t0 = utc(2026, 3, 2, 8)
    a, b = png(RED), png(GREEN)
    server.blobs.update({sha(a): a, sha(b): b})
    p = plan(sched(1, playlist(item(1, 10, sha(a)), item(2, 10, sha(b)))))
    raw = key.manifest({"version": 1, "terminal": {"id": 1, "name": "T", "width": 64,
                                                   "height": 32},
                        "plan": p.to_dict(), "generated_at": "2026-03-02T00:00:00Z",
                        "blobs": [{"sha256": sha(x), "size": len(x), "mime": "image/png"}
                                  for x in (a, b)]})
    clock = SimClock(t0)
    t = terminal(server, tmp_path, [key], clock=clock)
    try:
        m = t.apply_manifest(raw)
        assert t.cache.sync(t.wanted_blobs(m, t0)) == {}
        hashed: list[str] = []
        real = cache_module.sha256_file
        monkeypatch.setattr(cache_module, "sha256_file",
                            lambda path: hashed.append(path.name) or real(path))
        path_a = t.cache.path(sha(a))

        def swap() -> None:  # same size, and the old mtime put back: a careful attacker
            st = os.stat(path_a)
            forged = next(f for n in range(1, 250) if len(f := png((250, n, 0))) == len(a))
            tmp = path_a.with_name("swap")
            tmp.write_bytes(forged)
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.replace(tmp, path_a)

        clock.at(t0 + timedelta(seconds=12), swap)
        clock.at(t0 + timedelta(seconds=45), t.playback.stop)
        t.playback.run()
        records = t.outbox.batch(1000)
        shown = [(r["sha256"], r["start"][11:19]) for r in records]
        assert (sha(a), "08:00:00") in shown
        assert all(s != sha(a) or start < "08:00:12" for s, start in shown)  # never again
        assert (sha(b), "08:00:20") in shown  # in its place
        assert hashed == [sha(a)]  # one re-hash for the swapped file, none per show
        got = refusal(t)
        assert (got["what"], got["reason"], got["sha256"]) == ("blob", "blob_hash", sha(a))
        assert not path_a.exists()
        assert t.cache.sync(t.wanted_blobs(m, clock.now())) == {}  # fetched again
        assert t.cache.ready(sha(a)) and path_a.read_bytes() == a
    finally:
        t.stop(flush_timeout_s=0)


def test_a_download_that_does_not_match_its_hash_is_a_refusal(tmp_path) -> None:
    from player_helpers import BlobServer

    refusals: list[Refused] = []
    with BlobServer() as srv:
        data = png(BLUE)
        h = srv.add(data)
        srv.corrupt_once.add(h)
        c = BlobCache(tmp_path / "blobs", server_url=srv.url, credential="secret",
                      on_refused=refusals.append)
        assert h in c.sync([(h, len(data))])
        assert [(r.what, r.reason, r.sha256) for r in refusals] == [("blob", "blob_hash", h)]
        assert c.sync([(h, len(data))]) == {} and c.ready(h)
        c.close()


# --- on disk: trust.json, manifest.json ------------------------------------------------------

def test_trust_survives_a_restart_and_an_edited_manifest_is_not_played(server, tmp_path,
                                                                       key) -> None:
    t = terminal(server, tmp_path, [key])
    t.apply_manifest(key.manifest(build(server, 1, [RED])))
    t.stop(flush_timeout_s=0)
    t = terminal(server, tmp_path)  # no --trust-key this time
    try:
        assert t.trust.newest == key.kid and t.store.version == 1 and refusal(t) is None
    finally:
        t.stop(flush_timeout_s=0)
    path = tmp_path / "data" / "manifest.json"
    saved = json.loads(path.read_bytes())
    assert saved["signature"]["key_id"] == key.kid
    saved["plan"]["schedules"][0]["playlist"]["items"][0]["duration_s"] = 600
    path.write_text(json.dumps(saved))
    t = terminal(server, tmp_path)
    try:
        assert t.store.current is None  # the built-in screen, and version 0 asks the server
        assert t.hello_payload()["manifest_version"] == 0
        got = refusal(t)
        assert (got["what"], got["reason"], got["version"]) == ("manifest", "bad_signature", 1)
        t.apply_manifest(key.manifest(build(server, 1, [RED])))  # the server's copy
        assert t.store.version == 1 and refusal(t) is None
    finally:
        t.stop(flush_timeout_s=0)


def test_a_damaged_trust_file_refuses_rather_than_trusting_everything(tmp_path, key) -> None:
    (tmp_path / "trust.json").write_text("{not json")
    ring = Keyring(tmp_path)
    assert ring.holds_keys and ring.newest is None
    with pytest.raises(Refused):
        ring.verify_manifest(key.manifest({"version": 1, "terminal": {}, "plan": {},
                                           "blobs": []}), None)


# --- where keys come from -------------------------------------------------------------------

def test_pairing_keys_replace_the_keyring(server, tmp_path, key) -> None:
    old = Signer()
    ring = Keyring(tmp_path)
    ring.add(old.public)
    server.pairing_keys = [{"key_id": key.kid, "public_key": key.public},
                           {"key_id": "0" * 16, "public_key": Signer().public},  # mismatch
                           {"key_id": "1" * 16, "public_key": "AAAA"}]
    server.pairing_ready_after = 0
    cred = pair(server.url, tmp_path / "credential", show=lambda code: None,
                stop=threading.Event(), poll_s=0.01, on_keys=ring.replace)
    assert cred == "paired-cred"
    assert Keyring(tmp_path).trusted() == {key.kid: key.public}  # emergency re-key: old gone


def test_the_trust_key_option_checks_the_key(tmp_path, key) -> None:
    args = build_parser().parse_args(["--server", "http://x", "--trust-key", key.public,
                                      "--trust-key", Signer().public])
    assert args.trust_key[0] == key.public and len(args.trust_key) == 2
    for bad in ("AAAA", "not base64", key.public[:-4]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--server", "http://x", "--trust-key", bad])


# --- cost ------------------------------------------------------------------------------------

def realistic_manifest(key: Signer) -> dict:
    """A day of a busy lobby screen: 6 schedules of 40 items, a fallback, 240 blobs."""
    scheds = [sched(s, playlist(*(item(s * 100 + i, 15) for i in range(40)), pid=s),
                    windows=((f"{6 + 2 * s:02d}:00", f"{8 + 2 * s:02d}:00"),))
              for s in range(1, 7)]
    p = plan(*scheds, fallback=playlist(*(item(9000 + i, 10) for i in range(5)), pid=900))
    shas = sorted({i["sha256"] for s in p.to_dict()["schedules"]
                   for i in s["playlist"]["items"]})
    return key.manifest({"version": 7, "terminal": {"id": 1, "name": "T", "width": 192,
                                                    "height": 96},
                         "plan": p.to_dict(), "generated_at": iso(utc(2026, 12, 7)),
                         "blobs": [{"sha256": s, "size": 1000, "mime": "image/png"}
                                   for s in shas]})


def test_verify_manifest_is_the_function_a_benchmark_can_call(key) -> None:
    raw = realistic_manifest(key)
    assert verify_manifest(raw, 6, {key.kid: key.public}) is None
    edited = copy.deepcopy(raw)
    edited["blobs"][3]["size"] = 1001
    with pytest.raises(Refused, match="bad_signature"):
        verify_manifest(edited, 6, {key.kid: key.public})


def test_the_fleet_takes_the_provisioning_csvs_public_key(tmp_path, key) -> None:
    from player.fleet import read_credentials

    csv = tmp_path / "terminals.csv"
    csv.write_text(f"terminal_id,name,credential,public_key\n1,A,c1,{key.public}\n2,B,c2\n")
    rows = read_credentials(csv, 2)
    assert [r["public_key"] for r in rows] == [key.public, ""]


def test_files_saved_before_a_rotation_still_play_after_a_restart(server, tmp_path,
                                                                  key) -> None:
    new = Signer()
    t = terminal(server, tmp_path, [key])
    t.apply_manifest(key.manifest(build(server, 1, [RED])))
    t.on_broadcast(key.broadcast(broadcast(1, "a" * 64)))
    # the rotation arrives with a broadcast, before any manifest signed by the new key
    t.on_broadcast(new.broadcast(broadcast(2, "b" * 64), key=key.endorse(new)))
    assert t.trust.retired() == {key.kid}
    t.stop(flush_timeout_s=0)
    t = terminal(server, tmp_path)
    try:
        assert t.store.version == 1 and refusal(t) is None  # no gap after the restart
        assert sorted(t.broadcasts.blobs()) == [("a" * 64, 10), ("b" * 64, 10)]
        with pytest.raises(Refused, match="unknown_key"):  # but nothing new from the old key
            t.apply_manifest(key.manifest(build(server, 2, [GREEN])))
    finally:
        t.stop(flush_timeout_s=0)
