"""A man in the middle for trust tests: an HTTP + WebSocket proxy between a real player and
the real server that a test can switch, while they run, to

- swap the bytes of blob downloads (`GET {BLOB_PATH}/<sha256>`): each byte inverted, so the
  size stays and any Range stays consistent, only the hash no longer matches;
- rewrite Socket.IO packets from the server to the player: the answer (ack) to a HELLO or
  SYNC, or an event the server emits (BROADCAST...).

It speaks the server's encoding: Engine.IO 4 text frames ("4" = message) carrying Socket.IO
5 packets whose data is JSON (server/hub/packets.py: orjson on the server; plain `json` here
gives the same values). Binary packets and anything it cannot read pass through untouched.
Only the WebSocket transport is rewritten (the player's default); long-polling requests are
forwarded as plain HTTP.

It runs an asyncio loop (aiohttp) in a thread of the test process on a free port:

    with TamperProxy(server.url) as proxy:
        proxy.rewrite_ack = lambda event, ack, link: ...   # the ack to deliver
        proxy.swap_blob = lambda sha: True

`link` tells which player a packet goes to: the `auth` of its Socket.IO CONNECT (the
terminal's credential), since an ack without a manifest names no terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from player.protocol import BLOB_PATH

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}
BLOB_RE = re.compile(re.escape(BLOB_PATH) + r"/([0-9a-f]{64})$")
SIO_RE = re.compile(r"^(?P<type>[0-6])(?P<ns>/[^,]*,)?(?P<id>\d*)(?P<data>.*)$", re.S)
CONNECT, EVENT, ACK = "0", "2", "3"


@dataclass
class Link:
    """One player's WebSocket through the proxy."""

    auth: dict = field(default_factory=dict)  # what its Socket.IO CONNECT sent
    asked: dict[tuple[str, str], str] = field(default_factory=dict)  # (ns, ack id) -> event

    @property
    def credential(self) -> str | None:
        return self.auth.get("credential")


AckRewriter = Callable[[str, Any, Link], Any]  # (event asked, ack, link) -> ack to deliver
EventRewriter = Callable[[str, Any, Link], Any]  # (event emitted, payload, link) -> payload
BlobSwap = Callable[[str], bool]  # sha256 -> swap this download?


def invert(body: bytes) -> bytes:
    """Same length, every byte different: a wrong hash whatever the range."""
    return bytes(b ^ 0xFF for b in body)


class TamperProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrite_ack: AckRewriter | None = None
        self.rewrite_event: EventRewriter | None = None
        self.swap_blob: BlobSwap | None = None
        # What went through, for tests to look at (appended in the proxy's thread).
        # (event, ack as the server sent it, the credential of the player it went to)
        self.acks: list[tuple[str, Any, str | None]] = []
        self.swapped: list[str] = []  # sha256 of blob downloads whose bytes were swapped
        self.http_requests = 0
        self.ws_opened = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manifests(self) -> list[dict]:
        """Every manifest the server sent through the proxy (in HELLO/SYNC acks), in order."""
        return [a["manifest"] for _e, a, _c in list(self.acks)
                if isinstance(a, dict) and isinstance(a.get("manifest"), dict)]

    # --- lifecycle (test thread) -------------------------------------------------------------

    def start(self) -> TamperProxy:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._serve(sock))
            except BaseException as e:  # reported to start()'s caller
                failed.append(e)
                started.set()
                return
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="tamper-proxy", daemon=True)
        self._thread.start()
        started.wait(10)
        if failed:
            raise failed[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> TamperProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def drop_connections(self) -> None:
        """Close every player socket (the player reconnects and says HELLO again)."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result(10)

    # --- the proxy (its own thread) ----------------------------------------------------------

    async def _serve(self, sock: socket.socket) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _close(self) -> None:
        await self._drop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _drop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        return await self._http(request)

    @staticmethod
    def _forwarded(headers: Any) -> CIMultiDict:
        return CIMultiDict((k, v) for k, v in headers.items()
                           if k.lower() not in HOP_BY_HOP and not k.lower().startswith("sec-websocket"))

    async def _http(self, request: web.Request) -> web.Response:
        self.http_requests += 1
        body = await request.read()
        assert self._session is not None
        async with self._session.request(
                request.method, self.upstream + request.path_qs, data=body or None,
                headers=self._forwarded(request.headers), allow_redirects=False) as r:
            data = await r.read()
            headers = self._forwarded(r.headers)
            status = r.status
        blob = BLOB_RE.search(request.path)
        if (blob and request.method == "GET" and status in (200, 206)
                and "Content-Encoding" not in headers and self.swap_blob is not None
                and self.swap_blob(blob.group(1))):
            data = invert(data)
            self.swapped.append(blob.group(1))
        return web.Response(status=status, body=data, headers=headers)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        assert self._session is not None
        ws_url = "ws" + self.upstream.removeprefix("http") + request.path_qs
        upstream = await self._session.ws_connect(
            ws_url, headers=self._forwarded(request.headers), max_msg_size=0, autoping=True)
        player = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await player.prepare(request)
        self.ws_opened += 1
        self._sockets.add(player)
        link = Link()

        async def to_server() -> None:
            async for msg in player:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._note_question(msg.data, link)
                    await upstream.send_str(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await upstream.send_bytes(msg.data)

        async def to_player() -> None:
            async for msg in upstream:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await player.send_str(self._answer(msg.data, link))
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await player.send_bytes(msg.data)

        tasks = [asyncio.ensure_future(to_server()), asyncio.ensure_future(to_player())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            self._sockets.discard(player)
            await upstream.close()
            await player.close()
        return player

    @staticmethod
    def _parse(frame: str) -> tuple[re.Match, Any] | None:
        """An Engine.IO message frame holding a Socket.IO event or ack: (parts, data)."""
        if not frame.startswith("4"):
            return None
        m = SIO_RE.match(frame[1:])
        if m is None or m["type"] not in (CONNECT, EVENT, ACK) or not m["data"]:
            return None
        try:
            return m, json.loads(m["data"])
        except ValueError:
            return None

    def _note_question(self, frame: str, link: Link) -> None:
        parsed = self._parse(frame)
        if parsed is None:
            return
        m, data = parsed
        if m["type"] == CONNECT and isinstance(data, dict):
            link.auth = data
        elif m["type"] == EVENT and m["id"] and isinstance(data, list) and data:
            link.asked[(m["ns"] or "", m["id"])] = str(data[0])

    def _answer(self, frame: str, link: Link) -> str:
        parsed = self._parse(frame)
        if parsed is None:
            return frame
        m, data = parsed
        if m["type"] == CONNECT or not isinstance(data, list) or not data:
            return frame
        if m["type"] == ACK:
            event = link.asked.pop((m["ns"] or "", m["id"]), "")
            # a copy the rewriter cannot touch
            self.acks.append((event, json.loads(m["data"])[0], link.credential))
            if self.rewrite_ack is None:
                return frame
            data[0] = self.rewrite_ack(event, data[0], link)
        else:
            if self.rewrite_event is None:
                return frame
            data[1:2] = [self.rewrite_event(str(data[0]), data[1] if len(data) > 1 else None,
                                            link)]
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return f"4{m['type']}{m['ns'] or ''}{m['id']}{encoded}"
