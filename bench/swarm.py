"""Many simulated terminals in one asyncio process, driven over stdin/stdout by
bench/bench_hub.py (one JSON object per line each way).

Each simulated terminal is one python-socketio AsyncClient on the WebSocket transport
(no polling), no reconnection (a drop is counted, not hidden) unless `--reconnect` (below).
In `hub` mode it speaks player/protocol.py like a real player: `hello` with its held
manifest version on connect, `status` every STATUS_INTERVAL_S, `sync` every
SYNC_INTERVAL_S ± 20 % and after every `manifest_changed` nudge, and answers `broadcast`
with `broadcast_shown`. In `bare` mode (against bench/bare_server.py) it sends the same
`status` payloads and answers any pushed event with one ack-carrying event asking for a
reply of `--reply-bytes`.

`--download` (bench/bench_receipts.py): a change also brings a file, fetched over HTTP as
the player fetches it (GET, hash-checked; kept in memory, not on disk). In `hub` mode a
terminal holds the files of the manifest it got at `hello` (a warm cache); after a nudge's
`sync` brings a manifest it downloads every blob it does not hold from BLOB_PATH with its
credential, then sends `status` with the accepted `manifest_version`, `cache_ready` true
and `download_percent` null; its time is recorded when that `status` is answered (its
periodic `status` carries the same fields). In `bare` mode the pushed event names the file
(`sha`): the terminal answers as above (the reply as large as the manifest), downloads
/terminal-api/v1/blobs/<sha> from the bare server, then sends one small ack-carrying event,
whose answer is its time.

Commands: {"cmd": "status"} -> counts and this process's CPU seconds;
{"cmd": "arm"} -> forget recorded answer times; {"cmd": "times"} -> the wall-clock
times (time.time()) at which each terminal got the answer to its reaction since `arm`;
{"cmd": "acks"} -> the latency (ms, send to ack) of every heartbeat answered since the
previous `acks`, which it forgets; the first `acks` answers [] and starts the recording
(bench_hub never asks, so nothing accumulates there). A drain of its own, independent of
`arm`, so that a reaction timed inside a window of heartbeats does not cut the window
(bench/bench_staff_load.py); {"cmd": "quit"}.

`--reconnect` (or RECONNECT_ENV=1 in its environment, which is how bench/bench_reconnect.py
reaches it through bench_hub's `Swarm`): each terminal runs the player's own loop
(player/client.py `TerminalClient.run`): after a drop or a failed attempt it tries again
after `player.client.Backoff`'s delay, the player's object itself (1 s doubling to 30 s,
full jitter, starting over after 60 s connected), not python-socketio's reconnection,
whose schedule differs. After each connect it re-syncs: in `hub` mode `hello` with the
manifest version it holds (the player sends nothing else first: the hello ack carries the
manifest when the terminal's is not the current one), in `bare` mode one event acked with
`reply_bytes`; a failed re-sync is retried every RETRY_S while connected, as the player's
loop does. Then heartbeats (the first at once, as the player's loop sends it after a
reconnect) and periodic syncs until the next drop. `arm` also forgets the per-terminal
record and takes an optional "reply_bytes" (bare: the size of the product's re-sync
answer, known only once the product has been timed); {"cmd": "recon"} -> per terminal,
the wall-clock times it was connected and re-synced since `arm` (null: not yet), with the
connection attempts, each failed attempt as [time, kind] and the re-sync answers' size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import json
import os
import random
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from player import protocol  # noqa: E402
from player.client import ACK_TIMEOUT_S, Backoff  # noqa: E402

NS = protocol.TERMINAL_NAMESPACE
BROADCAST = "broadcast"  # the live-operations contract (issue #7)
BROADCAST_SHOWN = "broadcast_shown"
BARE_PUSHES = ("manifest_changed", BROADCAST)
RECONNECT_ENV = "BENCH_SWARM_RECONNECT"
# --reconnect: the player's bounds on one attempt (player/client.py): the namespace's answer
# within its wait_timeout of 15 s, after engine.io's 5 s request timeout for the handshake
# (aiohttp's WebSocket handshake has no bound of its own short of 5 minutes).
CONNECT_WAIT_S = 15.0
ATTEMPT_TIMEOUT_S = 5.0 + CONNECT_WAIT_S
RETRY_S = 1.0  # the player's loop turns once a second while connected


ITEM_S = 10  # the seed's playlist shows each item for about this long


def status_payload(held: dict | None = None) -> dict:
    """What a player sends every few seconds (player/protocol.py STATUS): the item on screen
    and since when, which changes when the next item starts, not with every heartbeat.
    `held` (--download): the manifest accepted and how far its files are."""
    now = protocol.now_utc()
    since = now.replace(second=now.second // ITEM_S * ITEM_S, microsecond=0)
    out = {"playing": {"content_id": 1, "sha256": "0" * 64, "since": protocol.iso(since)},
           "screen_on": True, "brightness": 80, "cache_ready": True,
           "free_disk_bytes": 12_000_000_000, "clock_offset_s": 0.012,
           "player_version": "bench-swarm", "screenshot_sha256": None}
    if held is not None and "blobs" in held:
        out |= {"manifest_version": held["version"], "cache_ready": held["percent"] is None,
                "download_percent": held["percent"]}
    return out


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Recon:
    """One terminal under --reconnect: its back-off, and its record since the last `arm`."""

    backoff: Backoff
    up: bool = False  # connected and re-synced now
    ever: bool = False  # has been up once (`connected` counts terminals, not connections)
    connected_at: float | None = None
    resynced_at: float | None = None
    attempts: int = 0

    def starts_over(self, now: float) -> bool:
        """Would its back-off start from the first step if it lost the connection now?
        Asked of a copy, so the answer is Backoff's own rule."""
        probe = copy.copy(self.backoff)
        probe.lost(now)
        return probe.attempt == 0


def _failure_kind(err: BaseException) -> str:
    """What a failed attempt ran into; python-socketio wraps engine.io's error, which
    hides aiohttp's, so the chain is walked."""
    if isinstance(err, TimeoutError):
        return "timeout"
    seen: BaseException | None = err
    while seen is not None:
        name = type(seen).__name__
        if name == "ClientConnectorError":
            return "refused"
        if name == "WSServerHandshakeError":
            return f"http {getattr(seen, 'status', '?')}"
        if name in ("ServerDisconnectedError", "ClientOSError"):
            return "reset"
        seen = seen.__cause__ or seen.__context__
    text = str(err)
    if "namespaces failed" in text:
        return "connect refused"  # the server's connect handler said no, or did not answer
    return text[:40] or type(err).__name__


class Swarm:
    def __init__(self, args: argparse.Namespace, credentials: list[str]) -> None:
        self.args = args
        self.credentials = credentials
        self.connected = 0
        self.failed = 0
        self.dropped = 0
        self.heartbeats = 0
        self.heartbeat_errors = 0
        self.late_heartbeats = 0  # ack later than one interval: the server fell behind
        self.errors: list[str] = []
        self.times: list[float] = []
        self.acks: list[float] | None = None  # heartbeat latencies (ms) since the last `acks`
        self.manifest_bytes = 0  # size of the manifests received in `hello` answers
        self.clients: list[socketio.AsyncClient] = []
        self.http: aiohttp.ClientSession | None = None  # --download, made in the loop
        self.downloaded = 0  # files fetched (--download)
        self.recon: list[Recon] = []  # --reconnect only; the rest below is since `arm`
        self.fail_log: list[tuple[float, str]] = []
        self.resync_failures = 0
        self.resync_bytes: list[int] = []
        self.manifests_resent = 0  # re-syncs whose answer carried a manifest
        self.quitting = False

    def error(self, text: str) -> None:
        if len(self.errors) < 5:
            self.errors.append(text)

    async def fetch(self, sha: str, credential: str) -> None:
        """One file as the player fetches it: GET with the credential, hash-checked."""
        if self.http is None:
            self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        digest = hashlib.sha256()
        async with self.http.get(f"{self.args.url}{protocol.BLOB_PATH}/{sha}",
                                 headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=300)) as r:
            if r.status != 200:
                raise RuntimeError(f"GET blob {sha[:12]}: HTTP {r.status}")
            async for chunk in r.content.iter_chunked(1 << 16):
                digest.update(chunk)
        if digest.hexdigest() != sha:
            raise RuntimeError(f"blob {sha[:12]}: hash mismatch")
        self.downloaded += 1

    async def take(self, sio: socketio.AsyncClient, held: dict, ack: dict,
                   credential: str) -> bool:
        """--download, hub: accept the manifest a `sync` brought, fetch the files not held,
        then say so in a `status`; True when that `status` was answered with ok."""
        held["version"] = ack["manifest_version"]
        missing = [b["sha256"] for b in ack["manifest"].get("blobs") or []
                   if b["sha256"] not in held["blobs"]]
        for n, sha in enumerate(missing):
            held["percent"] = 100 * n // len(missing)
            await self.fetch(sha, credential)
            held["blobs"].add(sha)
        held["percent"] = None
        answer = await sio.call(protocol.STATUS, status_payload(held), namespace=NS, timeout=120)
        return isinstance(answer, dict) and bool(answer.get("ok"))

    def client(self, held: dict, lost: asyncio.Event | None = None,
               credential: str = "") -> socketio.AsyncClient:
        """One terminal's client with the player's handlers; `lost` is set when it drops."""
        hub = self.args.mode == "hub"
        download = self.args.download
        sio = socketio.AsyncClient(reconnection=False)
        self.clients.append(sio)
        # --download: one change at a time (nudge or periodic sync), as the player takes them
        busy = held.setdefault("busy", asyncio.Lock() if download else contextlib.nullcontext())

        async def answer(event: str, payload: dict, *, record: bool, data=None) -> None:
            try:
                ack = await sio.call(event, payload, namespace=NS, timeout=120)
            except Exception as err:  # noqa: BLE001 - counted and reported, not raised
                self.error(f"{event}: {err!r}")
                return
            if hub and event == protocol.SYNC and isinstance(ack, dict):
                if ack.get("manifest") is None:
                    record = False  # nothing new yet: not the change being timed
                elif not download:
                    held["version"] = ack["manifest_version"]
                else:
                    try:
                        record = await self.take(sio, held, ack, credential)
                    except Exception as err:  # noqa: BLE001 - counted and reported
                        self.error(f"download: {err!r}")
                        return
            if not hub and download and isinstance(data, dict) and data.get("sha"):
                try:
                    await self.fetch(data["sha"], "")
                    await sio.call("answer", {"id": data.get("id", 0)}, namespace=NS,
                                   timeout=120)
                except Exception as err:  # noqa: BLE001 - counted and reported
                    self.error(f"download: {err!r}")
                    return
            if record:
                self.times.append(time.time())

        async def on_push(data=None, reply_bytes=self.args.reply_bytes):
            if not hub:
                await answer("answer", {"id": (data or {}).get("id", 0),
                                        "reply_bytes": reply_bytes}, record=True, data=data)
            else:
                async with busy:
                    await answer(protocol.SYNC, {"manifest_version": held["version"]},
                                 record=True)

        async def on_broadcast(data=None):
            if not hub:  # the product's broadcast ack is small
                return await on_push(data, reply_bytes=0)
            await answer(BROADCAST_SHOWN, {"id": (data or {}).get("id"),
                                           "shown_at": protocol.iso(protocol.now_utc())},
                         record=True)

        async def on_disconnect(*_args):
            self.dropped += 1
            if lost is not None:
                lost.set()

        sio.on(protocol.MANIFEST_CHANGED, on_push, namespace=NS)
        sio.on(BROADCAST, on_broadcast, namespace=NS)
        sio.on("disconnect", on_disconnect, namespace=NS)
        return sio

    async def hello(self, sio: socketio.AsyncClient, held: dict, timeout: float) -> dict:
        ack = await sio.call(protocol.HELLO, {
            "protocol": protocol.PROTOCOL_VERSION, "player_version": "bench-swarm",
            "manifest_version": held["version"], "cache": [],
            "clock": protocol.iso(protocol.now_utc())}, namespace=NS, timeout=timeout)
        if not isinstance(ack, dict) or "manifest_version" not in ack:
            raise RuntimeError(f"hello refused: {ack}")
        held["version"] = ack["manifest_version"]
        return ack

    async def terminal(self, credential: str, gate: asyncio.Semaphore) -> None:
        if self.args.reconnect:
            return await self.reconnecting(credential, gate)
        hub = self.args.mode == "hub"
        held: dict = {"version": 0}
        sio = self.client(held, credential=credential)
        async with gate:
            try:
                auth = {"credential": credential, "protocol": protocol.PROTOCOL_VERSION}
                await sio.connect(self.args.url, auth=auth if hub else None, namespaces=[NS],
                                  transports=["websocket"], wait_timeout=60)
                if hub:
                    ack = await self.hello(sio, held, timeout=120)
                    self.manifest_bytes += len(json.dumps(ack.get("manifest"),
                                                          ensure_ascii=False).encode())
                    if self.args.download:  # a warm cache: what played before is held
                        held |= {"percent": None, "blobs": {
                            b["sha256"] for b in (ack.get("manifest") or {}).get("blobs") or []}}
            except Exception as err:  # noqa: BLE001
                self.failed += 1
                self.error(f"connect: {err!r}")
                return
        self.connected += 1
        await asyncio.gather(self.heartbeat(sio, held=held),
                             self.periodic_sync(sio, held, credential) if hub
                             else asyncio.sleep(0))

    # --- --reconnect ---------------------------------------------------------------------

    async def reconnecting(self, credential: str, gate: asyncio.Semaphore) -> None:
        """The player's loop (TerminalClient.run): Backoff.lost before every attempt,
        Backoff.delay after a failed one, Backoff.connected after a connect; only the
        first attempt waits for the start-up gate (a fleet coming back is not gated: the
        jitter spreads it)."""
        hub = self.args.mode == "hub"
        rec = Recon(Backoff(random.Random()))
        self.recon.append(rec)
        held = {"version": 0}
        lost = asyncio.Event()
        sio = self.client(held, lost)
        gated = True
        while not self.quitting:
            rec.backoff.lost(time.monotonic())
            lost.clear()  # before the attempt: a drop during the re-sync is not missed
            if gated:
                async with gate:
                    ok = await self.attempt(sio, credential, rec)
                gated = False
            else:
                ok = await self.attempt(sio, credential, rec)
            if not ok:
                await asyncio.sleep(rec.backoff.delay())
                continue
            rec.backoff.connected(time.monotonic())
            if rec.connected_at is None:
                rec.connected_at = time.time()
            while sio.connected and not await self.resync(sio, held, rec):
                await asyncio.sleep(RETRY_S)
            if not sio.connected:
                continue  # dropped before its re-sync: start over
            rec.up = True
            # The first connection spreads its heartbeats like the default mode; after a
            # reconnect the player's loop sends its STATUS at once, right after HELLO.
            tasks = [asyncio.create_task(self.heartbeat(sio, 0.0 if rec.ever else None))]
            if hub:
                tasks.append(asyncio.create_task(self.periodic_sync(sio, held)))
            if not rec.ever:
                rec.ever = True
                self.connected += 1
            try:
                await lost.wait()
            finally:
                rec.up = False
                for t in tasks:  # a periodic sync asleep must not outlive its connection
                    t.cancel()

    async def attempt(self, sio: socketio.AsyncClient, credential: str, rec: Recon) -> bool:
        rec.attempts += 1
        auth = ({"credential": credential, "protocol": protocol.PROTOCOL_VERSION}
                if self.args.mode == "hub" else None)
        try:
            await asyncio.wait_for(sio.connect(self.args.url, auth=auth, namespaces=[NS],
                                               transports=["websocket"],
                                               wait_timeout=CONNECT_WAIT_S),
                                   ATTEMPT_TIMEOUT_S)
            return True
        except Exception as err:  # noqa: BLE001 - counted by kind, and retried
            self.fail_log.append((time.time(), _failure_kind(err)))
            with contextlib.suppress(Exception):  # as the player: a clean client to retry
                await sio.disconnect()
            return False

    async def resync(self, sio: socketio.AsyncClient, held: dict, rec: Recon) -> bool:
        """hub: `hello` with the version held; its ack names the current version and carries
        the manifest if the held one is not it, so once answered the terminal holds the
        current manifest. bare: one event acked with the product's answer's size."""
        try:
            if self.args.mode == "hub":
                ack = await self.hello(sio, held, timeout=ACK_TIMEOUT_S)
                if ack.get("manifest") is not None:  # the first connect's, or one it missed
                    self.manifests_resent += 1
                    self.manifest_bytes += len(json.dumps(ack["manifest"],
                                                          ensure_ascii=False).encode())
            else:
                ack = await sio.call("answer", {"id": 0, "reply_bytes": self.args.reply_bytes},
                                     namespace=NS, timeout=ACK_TIMEOUT_S)
                if not isinstance(ack, dict) or not ack.get("ok"):
                    raise RuntimeError(f"answer refused: {ack}")
        except Exception as err:  # noqa: BLE001 - counted, and retried while connected
            self.resync_failures += 1
            self.error(f"re-sync: {err!r}")
            return False
        if rec.resynced_at is None:
            rec.resynced_at = time.time()
        self.resync_bytes.append(len(json.dumps(ack, ensure_ascii=False).encode()))
        return True

    def arm_recon(self) -> None:
        for r in self.recon:
            r.connected_at = r.resynced_at = None
            r.attempts = 0
        self.fail_log, self.resync_bytes = [], []
        self.resync_failures = self.manifests_resent = 0

    def recon_report(self) -> dict:
        return {"connected_at": [r.connected_at for r in self.recon],
                "resynced_at": [r.resynced_at for r in self.recon],
                "attempts": sum(r.attempts for r in self.recon), "failures": self.fail_log,
                "resync_failures": self.resync_failures,
                "manifests_resent": self.manifests_resent,
                "resync_bytes": (sum(self.resync_bytes) / len(self.resync_bytes)
                                 if self.resync_bytes else 0)}

    async def heartbeat(self, sio: socketio.AsyncClient, delay: float | None = None,
                        held: dict | None = None) -> None:
        interval = protocol.STATUS_INTERVAL_S
        await asyncio.sleep(random.uniform(0, interval) if delay is None else delay)
        while sio.connected:
            t0 = time.monotonic()
            try:
                ack = await sio.call(protocol.STATUS, status_payload(held), namespace=NS,
                                     timeout=60)
                if isinstance(ack, dict) and ack.get("ok"):
                    self.heartbeats += 1
                else:  # answered, but refused: not a heartbeat the server kept up with
                    self.heartbeat_errors += 1
                    self.error(f"status refused: {ack}")
            except Exception as err:  # noqa: BLE001
                self.heartbeat_errors += 1
                self.error(f"status: {err!r}")
            took = time.monotonic() - t0
            if self.acks is not None:  # refused or failed too: what the terminal waited
                self.acks.append(took * 1000)
            if took > interval:
                self.late_heartbeats += 1
            await asyncio.sleep(max(0.0, interval - took))

    async def periodic_sync(self, sio: socketio.AsyncClient, held: dict,
                            credential: str = "") -> None:
        while sio.connected:
            await asyncio.sleep(protocol.SYNC_INTERVAL_S * random.uniform(0.8, 1.2))
            try:
                async with held["busy"]:
                    await self.sync_once(sio, held, credential)
            except Exception as err:  # noqa: BLE001
                self.error(f"sync: {err!r}")

    async def sync_once(self, sio: socketio.AsyncClient, held: dict, credential: str) -> None:
        ack = await sio.call(protocol.SYNC, {"manifest_version": held["version"]},
                             namespace=NS, timeout=60)
        if isinstance(ack, dict) and ack.get("manifest") is not None:
            if "blobs" in held:  # --download: a change the nudge missed
                if await self.take(sio, held, ack, credential):
                    self.times.append(time.time())
            else:
                held["version"] = ack["manifest_version"]

    def report(self) -> dict:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        now = time.monotonic()
        return {"connected": self.connected, "failed": self.failed, "dropped": self.dropped,
                "heartbeats": self.heartbeats, "heartbeat_errors": self.heartbeat_errors,
                "late_heartbeats": self.late_heartbeats, "cpu_s": ru.ru_utime + ru.ru_stime,
                "downloaded": self.downloaded,
                "rss_mb": ru.ru_maxrss / 1024, "n_times": len(self.times),
                "manifest_bytes": self.manifest_bytes, "errors": self.errors,
                # --reconnect: up now, re-synced since `arm`, and up with a back-off that
                # would start from its first step (held 60 s, or never failed) if lost now
                "up": sum(r.up for r in self.recon),
                "linked": sum(c.connected for c in self.clients),  # re-synced or not yet
                "resynced": sum(r.resynced_at is not None for r in self.recon),
                "fresh": sum(r.up and r.starts_over(now) for r in self.recon)}

    async def commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            msg = json.loads(line)
            cmd = msg["cmd"]
            if cmd == "status":
                out = self.report()
            elif cmd == "arm":
                self.times = []
                self.arm_recon()
                if "reply_bytes" in msg:
                    self.args.reply_bytes = int(msg["reply_bytes"])
                out = {"ok": True}
            elif cmd == "recon":
                out = self.recon_report()
            elif cmd == "times":
                out = {"times": self.times}
            elif cmd == "acks":
                out, self.acks = {"acks": self.acks or []}, []
            elif cmd == "quit":
                break
            else:
                out = {"error": f"unknown command {cmd}"}
            sys.stdout.write(json.dumps(out) + "\n")
            sys.stdout.flush()

    async def main(self) -> None:
        gate = asyncio.Semaphore(self.args.connect_concurrency)
        tasks = [asyncio.create_task(self.terminal(c, gate)) for c in self.credentials]
        await self.commands()
        self.quitting = True
        if self.args.reconnect:  # first, or a loop would reconnect what is disconnected
            for t in tasks:
                t.cancel()
        for sio in self.clients:
            if sio.connected:
                await sio.disconnect()
        for t in tasks:
            t.cancel()
        if self.http is not None:
            await self.http.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--mode", choices=("hub", "bare"), required=True)
    p.add_argument("--credentials", type=Path, help="hub: one credential per line")
    p.add_argument("--count", type=int, help="bare: number of plain clients")
    p.add_argument("--reply-bytes", type=int, default=0, help="bare: size of the ack asked for")
    p.add_argument("--connect-concurrency", type=int, default=20)
    p.add_argument("--download", action="store_true",
                   help="a change brings a file to fetch over HTTP before the answer")
    p.add_argument("--reconnect", action="store_true",
                   default=os.environ.get(RECONNECT_ENV) == "1",
                   help="retry after a drop or a failed attempt on the player's Backoff")
    args = p.parse_args()
    raise_nofile()
    hub = args.mode == "hub"
    credentials = args.credentials.read_text().split() if hub else [""] * args.count
    asyncio.run(Swarm(args, credentials).main())
    os._exit(0)  # do not wait for thousands of closing sockets


if __name__ == "__main__":
    main()
