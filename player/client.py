"""The network side: Socket.IO to the server's /terminal namespace (python-socketio Client).

One thread runs everything that talks to the server, in order: HELLO after every connect,
SYNC on a MANIFEST_CHANGED nudge and every sync interval (SYNC_INTERVAL_S unless told; + up to 20 % jitter, so a fleet
rebooting together does not ask at the same second), STATUS every STATUS_INTERVAL_S, outbox
uploads, and the answers to COMMANDs. Event handlers only queue work for that thread: an
ack cannot arrive while a handler blocks the client's read loop.

Reconnection is ours (`Backoff`: 1 s doubling to a cap of 30 s, full jitter) rather than
the library's, so the same loop handles "never connected yet", "refused" and "dropped".
Playback never waits for any of this: the player keeps playing from its saved manifest.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import socketio

from player.protocol import (
    BROADCAST,
    BROADCAST_END,
    BROADCAST_SHOWN,
    COMMAND,
    COMMAND_RESULT,
    HELLO,
    MANIFEST_CHANGED,
    MAX_BATCH,
    PLAYS,
    PROTOCOL_VERSION,
    REVOKED,
    STATUS,
    STATUS_INTERVAL_S,
    SYNC,
    SYNC_INTERVAL_S,
    TERMINAL_NAMESPACE,
)

log = logging.getLogger(__name__)
ACK_TIMEOUT_S = 30.0
PLAYS_INTERVAL_S = 2.0
RETRY_S = 10.0


class TerminalSide(Protocol):
    """What the client needs from the rest of the player (player.terminal.Terminal)."""

    def hello_payload(self) -> dict[str, Any]: ...
    def sync_payload(self) -> dict[str, Any]: ...
    def apply_ack(self, ack: Any, sent: Any, received: Any) -> None: ...
    def status_payload(self) -> dict[str, Any]: ...
    def run_command(self, kind: str, args: dict[str, Any]) -> tuple[bool, Any]: ...
    def system_now(self) -> Any: ...
    def on_revoked(self, reason: str) -> None: ...
    def on_broadcast(self, raw: Any) -> None: ...
    def on_broadcast_end(self, broadcast_id: Any) -> None: ...
    def broadcast_acks(self) -> list[dict[str, Any]]: ...
    def broadcast_acked(self, broadcast_id: int) -> None: ...

    @property
    def outbox(self) -> Any: ...


class Backoff:
    """How long to wait before the next connection attempt, for a lobby screen.

    The first retries come within a second or two; the step doubles to a cap of CAP_S, so
    a screen is back at most CAP_S after its server is; each wait is drawn uniformly
    between zero and the step ("full jitter"), so a fleet that lost its server together
    does not come back in lock-step; and the steps start over only after a connection
    held HEALTHY_S, so a server that drops every connection at once is not hammered.
    bench/bench_reconnect.py measures what these numbers give a fleet.
    """

    FIRST_S = 1.0
    CAP_S = 30.0
    HEALTHY_S = 60.0

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.attempt = 0
        self.up_since: float | None = None

    def delay(self) -> float:
        step = min(self.CAP_S, self.FIRST_S * 2 ** min(self.attempt, 16))
        self.attempt += 1
        return self.rng.uniform(0.0, step)

    def connected(self, now: float) -> None:
        self.up_since = now

    def lost(self, now: float) -> None:
        """The connection is gone (or never was): start over if it had held long enough."""
        if self.up_since is not None and now - self.up_since >= self.HEALTHY_S:
            self.attempt = 0
        self.up_since = None


class TerminalClient:
    def __init__(self, side: TerminalSide, server_url: str, credential: str, *,
                 rng: random.Random | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 transports: list[str] | None = None,
                 sync_interval_s: float = SYNC_INTERVAL_S) -> None:
        self.side = side
        # None: Engine.IO's default (long-polling, upgraded to WebSocket when the server
        # can); ["websocket"] skips the polling phase, so behind several server nodes any
        # node can take the connection (polling needs every request on the same node).
        self.transports = transports
        self.sync_interval_s = sync_interval_s
        self.server_url = server_url
        self.credential = credential
        self.rng = rng or random.Random()
        self.monotonic = monotonic
        self.backoff = Backoff(self.rng)
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False)
        ns = TERMINAL_NAMESPACE
        self.sio.on("connect", self._on_connect, namespace=ns)
        self.sio.on("disconnect", self._on_disconnect, namespace=ns)
        self.sio.on(MANIFEST_CHANGED, self._on_manifest_changed, namespace=ns)
        self.sio.on(COMMAND, self._on_command, namespace=ns)
        self.sio.on(REVOKED, self._on_revoked, namespace=ns)
        self.sio.on(BROADCAST, self._on_broadcast, namespace=ns)
        self.sio.on(BROADCAST_END, self._on_broadcast_end, namespace=ns)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._need_hello = False
        self._need_sync = False
        self._commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.revoked: str | None = None
        self.connected = threading.Event()
        self.hellos = 0  # counters for tests and the fleet summary
        self.connects = 0
        self.disconnects = 0
        self.connect_failures = 0
        self.plays_sent = 0
        self.last_error: str | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="terminal-client", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout_s: float = 5.0) -> None:
        """Stop; first try once to upload what the outbox holds (if connected)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(ACK_TIMEOUT_S + 5)
        if self.sio.connected and flush_timeout_s > 0:
            try:
                self.upload_plays(timeout_s=flush_timeout_s)
            except Exception as e:  # best effort: whatever is left goes next run
                log.info("final upload failed: %s", e)
        self._disconnect()

    def _disconnect(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            log.debug("disconnect failed", exc_info=True)

    def kick(self) -> None:
        """New play records or another reason to look at the queue now."""
        self._wake.set()

    # --- handlers (library threads: only record what to do) ----------------------------

    def _on_connect(self) -> None:
        self.connects += 1
        log.info("connected to %s", self.server_url)
        self._need_hello = True
        self.connected.set()
        self._wake.set()

    def _on_disconnect(self, *args: Any) -> None:
        self.disconnects += 1
        log.info("disconnected from %s", self.server_url)
        self.connected.clear()
        self._wake.set()

    def _on_manifest_changed(self, data: Any = None) -> None:
        self._need_sync = True
        self._wake.set()

    def _on_command(self, data: Any = None) -> None:
        if isinstance(data, dict):
            self._commands.put(data)
            self._wake.set()

    def _on_broadcast(self, data: Any = None) -> None:
        # Straight to the screen (no network involved); the acknowledgement goes from the loop.
        self.side.on_broadcast(data)

    def _on_broadcast_end(self, data: Any = None) -> None:
        if isinstance(data, dict):
            self.side.on_broadcast_end(data.get("id"))

    def _on_revoked(self, data: Any = None) -> None:
        reason = str((data or {}).get("reason", "revoked")) if isinstance(data, dict) else "revoked"
        self.revoked = reason
        self._wake.set()

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        next_status = next_sync = next_plays = 0.0
        while not self._stop.is_set():
            if self.revoked is not None:
                log.warning("credential revoked (%s): not connecting again", self.revoked)
                self._disconnect()
                self.side.on_revoked(self.revoked)
                return
            if not self.sio.connected:
                self.backoff.lost(self.monotonic())
                if not self._connect():
                    self._stop.wait(self.backoff.delay())
                    continue
                self.backoff.connected(self.monotonic())
            self._wake.clear()  # before the work: a nudge arriving during it is not lost
            now = self.monotonic()
            if self._need_hello and self._try(self.hello):
                self._need_hello = self._need_sync = False
                next_sync = now + self._sync_interval()
            if not self._need_hello:  # nothing else goes before the server has our HELLO
                if self._need_sync or now >= next_sync:
                    if self._try(self.sync):
                        self._need_sync = False
                        next_sync = now + self._sync_interval()
                    else:
                        next_sync = now + RETRY_S
                for ack in self.side.broadcast_acks():
                    self._try(self.broadcast_shown, ack)
                while not self._commands.empty():
                    self._try(self.command, self._commands.get_nowait())
                if now >= next_status:
                    self._try(self.status)
                    next_status = now + STATUS_INTERVAL_S
                if now >= next_plays:
                    # each exchange stands alone: a refused STATUS must not hold up the plays
                    self._try(self.upload_plays)
                    next_plays = now + PLAYS_INTERVAL_S
            if self.sio.connected:
                self._wake.wait(1.0)
        # still connected on purpose: stop() uploads the last records, then disconnects

    def _try(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Run one exchange; a timeout, a drop or a refusal is logged and retried later."""
        try:
            fn(*args)
            return True
        except (socketio.exceptions.SocketIOError, OSError, ValueError, TypeError,
                KeyError) as e:
            self.last_error = f"{fn.__name__}: {type(e).__name__}: {e}"
            log.info("server exchange failed: %s", self.last_error)
            return False

    def _connect(self) -> bool:
        try:
            self.sio.connect(self.server_url,
                             auth={"credential": self.credential, "protocol": PROTOCOL_VERSION},
                             namespaces=[TERMINAL_NAMESPACE], transports=self.transports,
                             wait_timeout=15, retry=False)
            return True
        except (socketio.exceptions.ConnectionError, ValueError, OSError) as e:
            self.connect_failures += 1
            self.last_error = f"connect: {e}"
            log.info("cannot connect to %s: %s", self.server_url, e)
            self._disconnect()
            return False

    def _sync_interval(self) -> float:
        return self.sync_interval_s * (1 + 0.2 * self.rng.random())

    def _call(self, event: str, data: dict[str, Any], timeout_s: float = ACK_TIMEOUT_S) -> Any:
        return self.sio.call(event, data, namespace=TERMINAL_NAMESPACE, timeout=timeout_s)

    # --- exchanges (the loop's thread) --------------------------------------------------

    def _timed(self, event: str, payload: dict[str, Any]) -> None:
        sent = self.side.system_now()
        ack = self._call(event, payload)
        received = self.side.system_now()
        if not isinstance(ack, dict) or not ack.get("ok", False):
            raise ValueError(f"{event} refused: {ack!r}")
        self.side.apply_ack(ack, sent, received)

    def hello(self) -> None:
        self._timed(HELLO, self.side.hello_payload())
        self.hellos += 1

    def sync(self) -> None:
        self._timed(SYNC, self.side.sync_payload())

    def status(self) -> None:
        self._call(STATUS, self.side.status_payload())

    def broadcast_shown(self, ack: dict[str, Any]) -> None:
        answer = self._call(BROADCAST_SHOWN, ack)
        if isinstance(answer, dict) and (answer.get("ok") or "no such broadcast" in str(
                answer.get("error", ""))):
            self.side.broadcast_acked(ack["id"])  # confirmed, or the server will never want it
        else:
            raise ValueError(f"broadcast_shown refused: {answer!r}")

    def command(self, cmd: dict[str, Any]) -> None:
        cid, kind = cmd.get("id"), str(cmd.get("kind", ""))
        args = cmd.get("args") if isinstance(cmd.get("args"), dict) else {}
        try:
            ok, result = self.side.run_command(kind, args)
        except Exception as e:
            log.exception("command %s failed", kind)
            ok, result = False, {"error": str(e)}
        self._call(COMMAND_RESULT, {"id": cid, "ok": ok, "result": result})

    def upload_plays(self, timeout_s: float = ACK_TIMEOUT_S) -> int:
        """Send the outbox in batches of at most MAX_BATCH; delete exactly what the ack lists.
        Returns how many records the server confirmed."""
        confirmed = 0
        while True:
            batch = self.side.outbox.batch(MAX_BATCH)
            if not batch:
                return confirmed
            ack = self._call(PLAYS, {"records": batch}, timeout_s)
            if not isinstance(ack, dict):
                raise ValueError(f"plays ack is not an object: {ack!r}")
            sent = {r["id"] for r in batch}
            # Only ids we sent: a confused ack must not delete records it never saw.
            accepted = [i for i in ack.get("accepted") or [] if i in sent]
            rejected = [r.get("id") for r in ack.get("rejected") or []
                        if isinstance(r, dict) and r.get("id") in sent]
            for r in ack.get("rejected") or []:
                log.warning("server rejected play record %s: %s", r.get("id"), r.get("reason"))
            n = self.side.outbox.remove(accepted, rejected)
            confirmed += n
            self.plays_sent += len(batch)
            if n == 0 or len(batch) < MAX_BATCH:
                return confirmed  # nothing confirmed: do not spin; retry next turn
