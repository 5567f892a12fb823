"""Many simulated terminals in one asyncio process, driven over stdin/stdout by
bench/bench_hub.py (one JSON object per line each way).

Each simulated terminal is one python-socketio AsyncClient on the WebSocket transport
(no polling), no reconnection (a drop is counted, not hidden). In `hub` mode it speaks
player/protocol.py like a real player: `hello` with its held manifest version on
connect, `status` every STATUS_INTERVAL_S, `sync` every SYNC_INTERVAL_S ± 20 % and after
every `manifest_changed` nudge, and answers `broadcast` with `broadcast_shown`. In
`bare` mode (against bench/bare_server.py) it sends the same `status` payloads and answers
any pushed event with one ack-carrying event asking for a reply of `--reply-bytes`.

Commands: {"cmd": "status"} -> counts and this process's CPU seconds;
{"cmd": "arm"} -> forget recorded answer times; {"cmd": "times"} -> the wall-clock
times (time.time()) at which each terminal got the answer to its reaction since `arm`;
{"cmd": "acks"} -> the latency (ms, send to ack) of every heartbeat answered since the
previous `acks`, which it forgets; the first `acks` answers [] and starts the recording
(bench_hub never asks, so nothing accumulates there). A drain of its own, independent of
`arm`, so that a reaction timed inside a window of heartbeats does not cut the window
(bench/bench_staff_load.py); {"cmd": "quit"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from player import protocol  # noqa: E402

NS = protocol.TERMINAL_NAMESPACE
BROADCAST = "broadcast"  # the live-operations contract (issue #7)
BROADCAST_SHOWN = "broadcast_shown"
BARE_PUSHES = ("manifest_changed", BROADCAST)


ITEM_S = 10  # the seed's playlist shows each item for about this long


def status_payload() -> dict:
    """What a player sends every few seconds (player/protocol.py STATUS): the item on screen
    and since when, which changes when the next item starts, not with every heartbeat."""
    now = protocol.now_utc()
    since = now.replace(second=now.second // ITEM_S * ITEM_S, microsecond=0)
    return {"playing": {"content_id": 1, "sha256": "0" * 64, "since": protocol.iso(since)},
            "screen_on": True, "brightness": 80, "cache_ready": True,
            "free_disk_bytes": 12_000_000_000, "clock_offset_s": 0.012,
            "player_version": "bench-swarm", "screenshot_sha256": None}


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


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

    def error(self, text: str) -> None:
        if len(self.errors) < 5:
            self.errors.append(text)

    async def terminal(self, credential: str, gate: asyncio.Semaphore) -> None:
        hub = self.args.mode == "hub"
        sio = socketio.AsyncClient(reconnection=False)
        self.clients.append(sio)
        held = {"version": 0}

        async def answer(event: str, payload: dict, *, record: bool) -> None:
            try:
                ack = await sio.call(event, payload, namespace=NS, timeout=120)
            except Exception as err:  # noqa: BLE001 - counted and reported, not raised
                self.error(f"{event}: {err!r}")
                return
            if hub and event == protocol.SYNC and isinstance(ack, dict):
                if ack.get("manifest") is not None:
                    held["version"] = ack["manifest_version"]
                else:
                    record = False  # nothing new yet: not the change being timed
            if record:
                self.times.append(time.time())

        async def on_push(data=None, reply_bytes=self.args.reply_bytes):
            if not hub:
                await answer("answer", {"id": (data or {}).get("id", 0),
                                        "reply_bytes": reply_bytes}, record=True)
            else:
                await answer(protocol.SYNC, {"manifest_version": held["version"]}, record=True)

        async def on_broadcast(data=None):
            if not hub:  # the product's broadcast ack is small
                return await on_push(data, reply_bytes=0)
            await answer(BROADCAST_SHOWN, {"id": (data or {}).get("id"),
                                           "shown_at": protocol.iso(protocol.now_utc())},
                         record=True)

        async def on_disconnect(*_args):
            self.dropped += 1

        sio.on(protocol.MANIFEST_CHANGED, on_push, namespace=NS)
        sio.on(BROADCAST, on_broadcast, namespace=NS)
        sio.on("disconnect", on_disconnect, namespace=NS)
        async with gate:
            try:
                auth = {"credential": credential, "protocol": protocol.PROTOCOL_VERSION}
                await sio.connect(self.args.url, auth=auth if hub else None, namespaces=[NS],
                                  transports=["websocket"], wait_timeout=60)
                if hub:
                    ack = await sio.call(protocol.HELLO, {
                        "protocol": protocol.PROTOCOL_VERSION, "player_version": "bench-swarm",
                        "manifest_version": 0, "cache": [],
                        "clock": protocol.iso(protocol.now_utc())}, namespace=NS, timeout=120)
                    if not isinstance(ack, dict) or "manifest_version" not in ack:
                        raise RuntimeError(f"hello refused: {ack}")
                    held["version"] = ack["manifest_version"]
                    self.manifest_bytes += len(json.dumps(ack.get("manifest"),
                                                          ensure_ascii=False).encode())
            except Exception as err:  # noqa: BLE001
                self.failed += 1
                self.error(f"connect: {err!r}")
                return
        self.connected += 1
        await asyncio.gather(self.heartbeat(sio), self.periodic_sync(sio, held) if hub
                             else asyncio.sleep(0))

    async def heartbeat(self, sio: socketio.AsyncClient) -> None:
        interval = protocol.STATUS_INTERVAL_S
        await asyncio.sleep(random.uniform(0, interval))
        while sio.connected:
            t0 = time.monotonic()
            try:
                ack = await sio.call(protocol.STATUS, status_payload(), namespace=NS,
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

    async def periodic_sync(self, sio: socketio.AsyncClient, held: dict) -> None:
        while sio.connected:
            await asyncio.sleep(protocol.SYNC_INTERVAL_S * random.uniform(0.8, 1.2))
            try:
                ack = await sio.call(protocol.SYNC, {"manifest_version": held["version"]},
                                     namespace=NS, timeout=60)
                if isinstance(ack, dict) and ack.get("manifest") is not None:
                    held["version"] = ack["manifest_version"]
            except Exception as err:  # noqa: BLE001
                self.error(f"sync: {err!r}")

    def report(self) -> dict:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {"connected": self.connected, "failed": self.failed, "dropped": self.dropped,
                "heartbeats": self.heartbeats, "heartbeat_errors": self.heartbeat_errors,
                "late_heartbeats": self.late_heartbeats, "cpu_s": ru.ru_utime + ru.ru_stime,
                "rss_mb": ru.ru_maxrss / 1024, "n_times": len(self.times),
                "manifest_bytes": self.manifest_bytes, "errors": self.errors}

    async def commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            cmd = json.loads(line)["cmd"]
            if cmd == "status":
                out = self.report()
            elif cmd == "arm":
                self.times = []
                out = {"ok": True}
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
        for sio in self.clients:
            if sio.connected:
                await sio.disconnect()
        for t in tasks:
            t.cancel()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--mode", choices=("hub", "bare"), required=True)
    p.add_argument("--credentials", type=Path, help="hub: one credential per line")
    p.add_argument("--count", type=int, help="bare: number of plain clients")
    p.add_argument("--reply-bytes", type=int, default=0, help="bare: size of the ack asked for")
    p.add_argument("--connect-concurrency", type=int, default=20)
    args = p.parse_args()
    raise_nofile()
    hub = args.mode == "hub"
    credentials = args.credentials.read_text().split() if hub else [""] * args.count
    asyncio.run(Swarm(args, credentials).main())
    os._exit(0)  # do not wait for thousands of closing sockets


if __name__ == "__main__":
    main()
