"""Signed content end to end (issue #24): real players that hold the street's key, behind a
tampering proxy (tests/e2e/tamper_proxy.py), against a real server on the demo street.

A manifest altered on the wire, one re-signed by another key and a replayed older one are
each refused by a real player, which keeps playing its last good manifest, reports the
refusal, and the server opens an alert for that screen; a blob swapped on the wire is
refused and one swapped on disk is found and fetched again; a planned key rotation while
they play leaves no refusal and no gap in proof of play; with enforcement on, a screen that
holds no key is refused at HELLO and the others go on.

One server, one proxy and four players (three holding the key, one old player without)
for the whole module: the tests run in order and each leaves the players healthy."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from player import protocol
from player import signatures as sig
from server.models import Alert, PlayRecord, SigningKey, TerminalState
from tests import live
from tests.e2e.conftest import Player, TerminalSocket, pair_keys, wait_for
from tests.e2e.tamper_proxy import Link, TamperProxy, invert
from tests.helpers import csrf_token

# SQLite only (tests/conftest.py, one_database): the subject is what a real player accepts
# and refuses on the wire and on disk. The server's side of it (signing, the trust state and
# alerts it stores, enforcement at HELLO) runs on both databases in
# tests/server/services/test_signing.py and tests/server/hub/test_signing_hub.py.
pytestmark = [pytest.mark.slow, pytest.mark.one_database]
SYNC_INTERVAL = "2"  # seconds: the proxy's injected answers reach the players soon


@dataclass
class Fleet:
    keyed: dict[str, Player]  # "a", "b", "c": paired, holding the street's key
    old: Player  # paired, started without a key: an old player
    key_id: str  # the street's key at pairing
    spare: int  # a terminal no player uses (the proxy's own socket test)
    started: datetime  # when the players were started

    @property
    def everyone(self) -> list[Player]:
        return [*self.keyed.values(), self.old]


@pytest.fixture(scope="module")
def proxy(server) -> Iterator[TamperProxy]:
    with TamperProxy(server.url) as p:
        yield p


@pytest.fixture(autouse=True)
def honest_proxy(proxy) -> Iterator[None]:
    """Every test starts and ends with a proxy that changes nothing."""
    yield
    proxy.rewrite_ack = proxy.rewrite_event = proxy.swap_blob = None


@pytest.fixture(scope="module")
def staff(server) -> requests.Session:
    """The street admin, signed in: the signing page's buttons."""
    return live.login(server.url)


def press(server, staff: requests.Session, action: str, **form: str) -> None:
    """A button of the signing page (/signing), as the street admin presses it."""
    page = staff.get(f"{server.url}/signing", timeout=30)
    assert page.status_code == 200, page.text[:300]
    r = staff.post(f"{server.url}/signing/{action}",
                   data={"csrf_token": csrf_token(page.text), **form}, timeout=30)
    assert r.status_code == 200 and 'class="flash error' not in r.text, r.text[:500]


@pytest.fixture(scope="module")
def engine(database_url) -> Iterator[Engine]:
    e = create_engine(database_url)
    yield e
    e.dispose()


@pytest.fixture(scope="module")
def fleet(server, admin_token, proxy, tmp_path_factory) -> Iterator[Fleet]:
    base = tmp_path_factory.mktemp("trust-players")
    terminals = sorted(t["id"] for t in requests.get(
        f"{server.url}/api/v1/terminals", headers=admin_token, timeout=10).json())
    via_proxy = dataclasses.replace(server, url=proxy.url)
    players: dict[str, Player] = {}
    key_ids = set()
    started = datetime.now(UTC)
    for name, tid in zip(("a", "b", "c", "old"), terminals, strict=False):
        credential, keys = pair_keys(server.url, admin_token, tid)
        key_ids.update(k["key_id"] for k in keys)
        cred = base / f"cred-{tid}"
        cred.write_text(credential)
        trust = [] if name == "old" else [a for k in keys
                                           for a in ("--trust-key", k["public_key"])]
        players[name] = Player(tid, cred, base / f"data-{name}", via_proxy).start(
            "--sync-interval", SYNC_INTERVAL, *trust)
    assert len(key_ids) == 1, key_ids  # the street's one current key
    wait_for(lambda: all(p.manifest_version() for p in players.values()), timeout=90,
             interval=0.2, what="every player's first manifest")
    old = players.pop("old")
    yield Fleet(players, old, key_ids.pop(), terminals[4], started)
    for p in [*players.values(), old]:
        if p.process and p.process.poll() is None:
            p.process.kill()
            p.process.wait()


# --- reading what the server and the players hold --------------------------------------


def state(engine: Engine, terminal_id: int) -> TerminalState:
    with Session(engine) as s:
        return s.get(TerminalState, terminal_id) or TerminalState(terminal_id=terminal_id)


def open_alerts(engine: Engine, terminal_id: int) -> list[Alert]:
    with Session(engine) as s:
        return list(s.scalars(select(Alert).where(Alert.terminal_id == terminal_id,
                                                  Alert.closed_at.is_(None))))


def refused_alert(engine: Engine, terminal_id: int, reason: str) -> bool:
    return any(a.kind == "refused" and a.reason == reason
               for a in open_alerts(engine, terminal_id))


def refusal(engine: Engine, terminal_id: int) -> dict | None:
    return state(engine, terminal_id).trust_refusal


def plays(engine: Engine, terminal_id: int) -> list[tuple[datetime, datetime]]:
    """(start, end) of the main region's plays the server holds, in order."""
    with engine.connect() as conn:
        rows = conn.execute(select(PlayRecord.start, PlayRecord.end).where(
            PlayRecord.terminal_id == terminal_id, PlayRecord.region == "main")
            .order_by(PlayRecord.start)).all()
    return [(_aware(s), _aware(e)) for s, e in rows]


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def held(p: Player) -> dict:
    """The manifest the player holds (its data folder)."""
    return json.loads((p.data / "manifest.json").read_text())


def cached(p: Player) -> set[str]:
    """The complete files in the player's media cache (named by their sha256)."""
    return {f.name for f in (p.data / "blobs").iterdir() if protocol.SHA256_RE.match(f.name)}


def content_ids(manifest: dict) -> set[int]:
    """Every content id the manifest's plan could put on the main region."""
    out: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("content_id"), int):
                out.add(node["content_id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(manifest["plan"])
    return out


def api(server, token, method: str, path: str, **kw) -> requests.Response:
    r = requests.request(method, f"{server.url}/api/v1{path}", headers=token, timeout=30, **kw)
    assert r.status_code < 300, r.text
    return r


def rename(server, token, p: Player, name: str) -> int:
    """A change for this one screen (its name is in its manifest): the server makes and
    signs a new manifest and nudges it. Returns the new version."""
    api(server, token, "PATCH", f"/terminals/{p.terminal_id}", json={"name": name})
    return api(server, token, "GET", f"/terminals/{p.terminal_id}").json()["manifest_version"]


def keeps_playing(engine: Engine, p: Player, since: datetime) -> bool:
    """Plays recorded after `since` reached the server, and what it reports on air comes
    from the manifest it holds."""
    on_air = state(engine, p.terminal_id).playing_content_id
    return (any(start > since for start, _ in plays(engine, p.terminal_id))
            and on_air in content_ids(held(p)))


# --- what the attacker does ----------------------------------------------------------------

ATTACKER = Ed25519PrivateKey.generate()


def hijack(manifest: dict) -> dict:
    """What a hijacker wants on air: one picture of each playlist, an hour at a time."""
    m = copy.deepcopy(manifest)
    for sc in m["plan"]["schedules"]:
        sc["playlist"]["items"] = [{**sc["playlist"]["items"][0], "duration_s": 3600}]
    return m


def resign(manifest: dict) -> dict:
    """The hijacked manifest with a valid signature by the attacker's own key."""
    m = hijack(manifest)
    m.pop(sig.KEY, None)
    public = sig.b64(sig.public_raw(ATTACKER.public_key()))
    m[sig.SIGNATURE] = {"alg": sig.ALG, "key_id": sig.key_id(sig.unb64(public)),
                        "sig": sig.sign(ATTACKER, sig.manifest_statement(m))}
    return m


def credential(p: Player) -> str:
    return p.credential.read_text().strip()


# --- the tests, in order ---------------------------------------------------------------------


def test_the_proxy_forwards_pages_sockets_and_files(server, admin_token, proxy, fleet):
    page = requests.get(proxy.url + "/login", timeout=10)
    assert page.status_code == 200 and "csrf_token" in page.text
    cred, _keys = pair_keys(proxy.url, admin_token, fleet.spare)  # pairing through it
    sock = TerminalSocket(proxy.url, cred)
    try:
        ack = sock.call(protocol.SYNC, {"manifest_version": 0})
        assert ack["ok"] and ack["manifest"]["terminal"]["id"] == fleet.spare
        assert [m["version"] for m in proxy.manifests()
                if m["terminal"]["id"] == fleet.spare] == [ack["manifest"]["version"]]
        proxy.rewrite_ack = lambda event, a, link: (
            {**a, "manifest_version": -1} if link.credential == cred else a)
        assert sock.call(protocol.SYNC, {"manifest_version": 0})["manifest_version"] == -1
    finally:
        sock.close()
    blob = ack["manifest"]["blobs"][0]["sha256"]
    auth = {"Authorization": f"Bearer {cred}"}
    direct = requests.get(f"{server.url}{protocol.BLOB_PATH}/{blob}", headers=auth, timeout=10)
    through = requests.get(f"{proxy.url}{protocol.BLOB_PATH}/{blob}", headers=auth, timeout=10)
    assert through.content == direct.content
    assert hashlib.sha256(direct.content).hexdigest() == blob
    proxy.swap_blob = lambda sha: sha == blob
    swapped = requests.get(f"{proxy.url}{protocol.BLOB_PATH}/{blob}", headers=auth, timeout=10)
    assert swapped.content == invert(direct.content) and blob in proxy.swapped


def test_signed_manifests_play(fleet, engine):
    since = fleet.started
    for p in fleet.keyed.values():
        m = held(p)
        assert m[sig.SIGNATURE]["key_id"] == fleet.key_id
        trust = json.loads((p.data / "trust.json").read_text())
        assert trust["newest"] == fleet.key_id
    for p in fleet.everyone:
        wait_for(lambda p=p: keeps_playing(engine, p, since), timeout=60, interval=0.5,
                 what=f"{p.terminal_id} playing")
        wait_for(lambda p=p: state(engine, p.terminal_id).manifest_version
                 == p.manifest_version(), timeout=30, what=f"{p.terminal_id} reported")
    for p in fleet.keyed.values():
        wait_for(lambda p=p: state(engine, p.terminal_id).trust_key_id == fleet.key_id,
                 timeout=30, what=f"{p.terminal_id} reporting the street's key")
        assert refusal(engine, p.terminal_id) is None
    # The old player holds no key and plays as before.
    assert state(engine, fleet.old.terminal_id).trust_key_id is None
    assert not (fleet.old.data / "trust.json").exists()


def test_forged_resigned_and_replayed_manifests_are_refused(server, admin_token, proxy,
                                                            fleet, engine):
    a, b, c = (fleet.keyed[k] for k in "abc")
    first_c = held(c)  # signed and genuine, soon older than what c holds
    good = {p.terminal_id: p.manifest_version() for p in (a, b)}
    replaying: list[bool] = []
    who = {credential(p): name for name, p in fleet.keyed.items()}

    def tamper(event: str, ack: Any, link: Link) -> Any:
        if event not in (protocol.HELLO, protocol.SYNC) or not isinstance(ack, dict):
            return ack
        m, name = ack.get("manifest"), who.get(link.credential)
        if name == "a" and m:
            return {**ack, "manifest": hijack(m)}  # altered on the wire, signature kept
        if name == "b" and m:
            return {**ack, "manifest": resign(m)}  # re-signed by the attacker's key
        if name == "c" and replaying and m is None:
            return {**ack, "manifest": first_c}  # an older manifest, answered again
        return ack

    proxy.rewrite_ack = tamper
    since = datetime.now(UTC)
    new = {p.terminal_id: rename(server, admin_token, p, f"信任测试屏{p.terminal_id}")
           for p in (a, b, c)}
    wait_for(lambda: c.manifest_version() == new[c.terminal_id], timeout=30,
             what="c taking its new, genuine manifest")
    replaying.append(True)
    expected = {a.terminal_id: "bad_signature", b.terminal_id: "unknown_key",
                c.terminal_id: "replayed"}
    for p in (a, b, c):
        reason = expected[p.terminal_id]
        wait_for(lambda p=p, reason=reason: (refusal(engine, p.terminal_id) or {}).get(
            "reason") == reason, timeout=45, interval=0.3,
            what=f"{p.terminal_id} reporting a {reason} refusal")
        wait_for(lambda p=p, reason=reason: refused_alert(engine, p.terminal_id, reason),
                 timeout=30, interval=0.3, what=f"the server's alert for {p.terminal_id}")
        r = refusal(engine, p.terminal_id)
        assert r["what"] == "manifest"
    assert refusal(engine, a.terminal_id)["version"] == new[a.terminal_id]
    assert refusal(engine, c.terminal_id)["version"] == first_c["version"]
    # Each keeps playing its last good manifest: a and b the one before the change (what
    # the hijacked one would have put on air never plays), c its new one.
    for p in (a, b):
        assert p.manifest_version() == good[p.terminal_id]
        assert held(p)[sig.SIGNATURE]["key_id"] == fleet.key_id
    assert c.manifest_version() == new[c.terminal_id]
    for p in (a, b, c):
        wait_for(lambda p=p: keeps_playing(engine, p, since + timedelta(seconds=1)),
                 timeout=45, interval=0.5, what=f"{p.terminal_id}'s plays after the refusal")

    # The wire is honest again: the genuine manifests arrive, the refusals and alerts clear
    # (c gets a newer manifest by a change of its own).
    proxy.rewrite_ack = None
    new[c.terminal_id] = rename(server, admin_token, c, f"信任测试屏{c.terminal_id}-2")
    for p in (a, b, c):
        wait_for(lambda p=p: p.manifest_version() == new[p.terminal_id]
                 and refusal(engine, p.terminal_id) is None
                 and not refused_alert(engine, p.terminal_id, expected[p.terminal_id]),
                 timeout=45, interval=0.3, what=f"{p.terminal_id} accepting again")


def test_swapped_blobs_are_refused_on_the_wire_and_fetched_again_from_disk(
        server, admin_token, proxy, fleet, engine):
    a, b = fleet.keyed["a"], fleet.keyed["b"]
    for p in (a, b):
        wait_for(lambda p=p: cached(p) >= {x["sha256"] for x in held(p)["blobs"]}, timeout=60,
                 interval=0.5, what=f"{p.terminal_id}'s files")
    target = sorted(cached(a))[0]
    # On the wire: a's copy is gone, its next download comes through the proxy swapped.
    proxy.swap_blob = lambda sha: sha == target
    (a.data / "blobs" / target).unlink()
    api(server, admin_token, "POST", f"/terminals/{a.terminal_id}/commands",
        json={"kind": "reload"})  # look at the cache now rather than in 30 s
    wait_for(lambda: target in proxy.swapped, timeout=30, what="the swapped download")
    wait_for(lambda: (refusal(engine, a.terminal_id) or {}).get("reason") == "blob_hash",
             timeout=30, interval=0.3, what="a reporting the swapped blob")
    r = refusal(engine, a.terminal_id)
    assert r["what"] == "blob" and r["sha256"] == target
    assert refused_alert(engine, a.terminal_id, "blob_hash")
    assert not (a.data / "blobs" / target).exists()  # never kept, never shown

    # On disk: every file in b's cache swapped for bytes of the same size.
    files = cached(b)
    for name in files:
        path = b.data / "blobs" / name
        path.write_bytes(invert(path.read_bytes()))
    proxy.swap_blob = None
    api(server, admin_token, "POST", f"/terminals/{a.terminal_id}/commands",
        json={"kind": "reload"})

    def restored(folder, names) -> bool:
        for name in names:
            path = folder / name
            if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != name:
                return False
        return True

    wait_for(lambda: restored(b.data / "blobs", files), timeout=60, interval=0.5,
             what="b finding its swapped files and fetching them again")
    wait_for(lambda: restored(a.data / "blobs", [target]), timeout=60, interval=0.5,
             what="a fetching the blob again over an honest wire")
    # A good manifest clears the refusals (a change for each).
    for p in (a, b):
        version = rename(server, admin_token, p, f"信任测试屏{p.terminal_id}-3")
        wait_for(lambda p=p, v=version: p.manifest_version() == v
                 and refusal(engine, p.terminal_id) is None, timeout=45, interval=0.3,
                 what=f"{p.terminal_id} clear again")


def test_key_rotation_while_they_play_leaves_no_refusal_and_no_gap(server, admin_token,
                                                                    staff, fleet, engine):
    rotated_at = datetime.now(UTC)
    press(server, staff, "rotate")
    with Session(engine) as s:
        key = s.scalars(select(SigningKey).order_by(SigningKey.id.desc()).limit(1)).one()
        new = key.key_id
    assert new != fleet.key_id and key.endorsed_by == fleet.key_id
    # Each moves to the new key with the next manifest it gets (docs/security.md
    # "Rotation"): the new key rides along, endorsed by the old one.
    for p in fleet.keyed.values():
        rename(server, admin_token, p, f"信任测试屏{p.terminal_id}-4")
    for p in fleet.keyed.values():
        wait_for(lambda p=p: state(engine, p.terminal_id).trust_key_id == new, timeout=60,
                 interval=0.3, what=f"{p.terminal_id} reporting the new key")
        assert held(p)[sig.SIGNATURE]["key_id"] == new
        trust = json.loads((p.data / "trust.json").read_text())
        assert trust["newest"] == new
        assert fleet.key_id in {k["key_id"] for k in trust["retired"]}  # never again
    after = datetime.now(UTC) + timedelta(seconds=5)
    for p in fleet.keyed.values():
        wait_for(lambda p=p: any(end > after for _, end in plays(engine, p.terminal_id)),
                 timeout=60, interval=0.5, what=f"{p.terminal_id}'s plays after the rotation")
        assert refusal(engine, p.terminal_id) is None
        assert not [a for a in open_alerts(engine, p.terminal_id) if a.kind == "refused"]
        window = [(s, e) for s, e in plays(engine, p.terminal_id)
                  if e > rotated_at - timedelta(seconds=20) and s < after]
        gaps = [(s2 - e1).total_seconds() for (_s1, e1), (s2, _e2) in pairwise(window)]
        assert window and max(gaps, default=0) < 1.0, gaps


def test_enforcement_refuses_a_keyless_screen_at_hello_and_the_others_go_on(
        server, staff, proxy, fleet, engine):
    old = fleet.old
    since = datetime.now(UTC)
    press(server, staff, "enforce", enforced="1")
    seen = len(proxy.acks)
    proxy.drop_connections()  # everyone connects again and says HELLO

    def hellos(p: Player) -> list[dict]:
        return [a for event, a, cred in proxy.acks[seen:]
                if event == protocol.HELLO and cred == credential(p)]

    for p in fleet.keyed.values():
        wait_for(lambda p=p: any(a.get("ok") for a in hellos(p)), timeout=60, interval=0.2,
                 what=f"{p.terminal_id}'s HELLO accepted")
    wait_for(lambda: hellos(old), timeout=30, interval=0.2, what="the keyless HELLO")
    assert not any(a.get("ok") for a in hellos(old))
    assert "signatures are enforced" in hellos(old)[0]["error"]
    wait_for(lambda: any(a.kind == "refused" and _aware(a.opened_at) >= since
                         for a in open_alerts(engine, old.terminal_id)),
             timeout=30, interval=0.3, what="the alert for the keyless screen")
    # The others go on: their heartbeats are taken again after the new HELLO.
    for p in fleet.keyed.values():
        wait_for(lambda p=p: _aware(state(engine, p.terminal_id).last_seen_at) > since,
                 timeout=30, interval=0.3, what=f"{p.terminal_id}'s heartbeat")
        assert refusal(engine, p.terminal_id) is None
    assert old.process.poll() is None  # it keeps playing what it holds, and asks again
    press(server, staff, "enforce", enforced="0")
