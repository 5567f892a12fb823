"""Socket.IO across nodes: the Redis message queue, and a watch on it.

With several server processes, python-socketio's RedisManager publishes every emit on one
Redis channel and a listener in each process delivers what the others published. That
listener can die or go deaf without a word (python-socketio issue #1581), and Redis can be
down or restarting: pushes are then lost. Nothing depends on them (the database is the truth
and terminals catch up with their periodic version check), but staff must see the problem.

So each process publishes a small heartbeat on the same channel every `interval_s` seconds
and listens for it. A process that does not hear its own heartbeat back within
`LATE_AFTER` intervals has a problem; the heartbeats of other processes say which nodes
are alive and what each of them sees (a deaf node can still publish its own complaint).
`QueueWatch.report()` is what the fleet wall and /healthz show.

The same channel carries one more message of ours, DROP: credentials that ended (a terminal
revoked, re-paired or deleted), so that every node closes the sockets that hold them
(server.hub.drop). python-socketio can disconnect a socket on another node only by its sid,
which the node that ended the credential does not know.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import socketio
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
HEARTBEAT = "signage_heartbeat"  # a pubsub "method" python-socketio itself never uses
DROP = "signage_drop"  # [[terminal id, its credential now or None, reason], ...]
_OURS = b"signage_"  # what both methods start with: other messages are not parsed
LATE_AFTER = 3  # heartbeat intervals without hearing ourselves before it is a problem
PEER_GONE_AFTER = 6  # intervals without a peer's heartbeat before we stop listing it


class QueueWatch:
    """What one process knows about the message queue (pure state, no I/O; thread-safe
    enough: single assignments only, read by requests, written by two background tasks)."""

    def __init__(self, node: str, interval_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.node = node
        self.interval_s = interval_s
        self.clock = clock
        self.started_at: float | None = None
        self.last_heard: float | None = None  # our own heartbeat, back through Redis
        self.publish_error: str | None = None
        self.receivers: int | None = None  # subscribers that took our last heartbeat
        self.peers: dict[str, tuple[float, str | None]] = {}  # node -> (heard at, problem)
        self._logged: str | None = None

    def start(self) -> None:
        self.started_at = self.clock()

    def sent(self, receivers: int | None, error: str | None = None) -> None:
        """After publishing a heartbeat: `receivers` is Redis's count, None if it failed."""
        self.receivers = receivers
        self.publish_error = error if receivers is None else None

    def heard(self, message: dict[str, Any], own: bool) -> None:
        now = self.clock()
        if own:
            self.last_heard = now
        else:
            problem = message.get("problem")
            self.peers[str(message.get("node"))] = (now, str(problem) if problem else None)

    def problem(self) -> str | None:
        """None when pushes work; else a sentence for staff saying what is wrong."""
        if self.started_at is None:
            return None  # nothing was pushed from this process yet: nothing to watch
        if self.publish_error is not None:
            return (f"node {self.node} cannot publish to the message queue "
                    f"({self.publish_error}); terminals on other nodes miss its pushes and "
                    "catch up at their periodic check")
        now = self.clock()
        if now - self.started_at <= LATE_AFTER * self.interval_s:
            return None  # the listener may still be subscribing
        if self.receivers == 0:
            return (f"node {self.node}: nobody is subscribed to the message queue channel, "
                    "not even this node; pushes between nodes are lost")
        silent = now - (self.last_heard or self.started_at)
        if silent > LATE_AFTER * self.interval_s:
            return (f"node {self.node} has not heard its own heartbeat for {silent:.0f} s: "
                    "its message-queue listener is dead or Redis drops messages; it misses "
                    "pushes from other nodes until it hears again")
        return None

    def check(self) -> str | None:
        """problem(), logged once when it appears and once when it clears."""
        problem = self.problem()
        if problem != self._logged:
            if problem:
                log.error("message queue: %s", problem)
            elif self._logged:
                log.warning("message queue: node %s hears its heartbeat again", self.node)
            self._logged = problem
        return problem

    def report(self) -> dict[str, Any]:
        now = self.clock()
        peers = {name: {"seen_s_ago": round(now - at, 1), "problem": problem}
                 for name, (at, problem) in sorted(self.peers.items())
                 if now - at <= PEER_GONE_AFTER * self.interval_s}
        return {"node": self.node, "problem": self.problem(),
                "heard_own_s_ago": None if self.last_heard is None
                else round(now - self.last_heard, 1),
                "peers": peers}


class WatchedRedisManager(socketio.RedisManager):
    """python-socketio's RedisManager plus the heartbeat described above."""

    def __init__(self, url: str, channel: str, watch: QueueWatch, **kwargs: Any) -> None:
        # Connect timeouts: an unreachable Redis fails a publish in seconds instead of
        # holding the request that triggered it. No read timeout: the listener blocks
        # on purpose while the channel is quiet.
        # No retries inside redis-py either (its default backs off for seconds): the
        # manager already tries twice, and a push is only a nudge.
        options = {"socket_connect_timeout": 5, "socket_keepalive": True,
                   "retry": Retry(NoBackoff(), 0), **kwargs.pop("redis_options", {})}
        super().__init__(url, channel=channel, redis_options=options, **kwargs)
        self.watch = watch
        # Called with the DROP of another node (server.hub.terminals.drop_ended).
        self.on_drop: Callable[[list], None] | None = None

    def initialize(self) -> None:
        super().initialize()
        if not self.write_only:
            self.watch.start()
            self.server.start_background_task(self._heartbeats)

    def _heartbeats(self) -> None:
        while True:
            try:
                self.heartbeat()
            except Exception:  # this task must outlive any single failure
                log.exception("message queue heartbeat failed")
            self.server.sleep(self.watch.interval_s)

    def heartbeat(self) -> None:
        receivers = self._publish({"method": HEARTBEAT, "host_id": self.host_id,
                                   "node": self.watch.node, "problem": self.watch.problem()})
        # _publish logs and gives up (returns None) when Redis cannot be reached.
        self.watch.sent(receivers, None if receivers is not None else "Redis unreachable")
        self.watch.check()

    def publish_drop(self, ended: list) -> None:
        """Tell the other nodes (this one has dropped its own sockets already)."""
        self._publish({"method": DROP, "host_id": self.host_id,
                       "ended": [list(e) for e in ended]})

    def _listen(self) -> Iterator[Any]:
        for message in super()._listen():
            if isinstance(message, bytes) and _OURS in message:
                try:
                    data = json.loads(message)
                except ValueError:
                    data = None
                method = data.get("method") if isinstance(data, dict) else None
                if method == HEARTBEAT:
                    self.watch.heard(data, own=data.get("host_id") == self.host_id)
                    continue
                if method == DROP:
                    self._dropped(data)
                    continue
            yield message

    def _dropped(self, data: dict[str, Any]) -> None:
        if data.get("host_id") == self.host_id or self.on_drop is None:
            return
        # Not in this listener: closing sockets runs their disconnect handlers (database
        # work), and the listener must go on delivering the channel's other messages.
        self.server.start_background_task(self.on_drop, data.get("ended") or [])


def _manager() -> WatchedRedisManager | None:
    from server.extensions import socketio as flask_socketio

    manager = getattr(flask_socketio.server, "manager", None)
    return manager if isinstance(manager, WatchedRedisManager) else None


def watch() -> QueueWatch | None:
    """This process's watch, or None when no message queue is configured."""
    manager = _manager()
    return manager.watch if manager is not None else None


def publish_drop(ended: list) -> None:
    """DROP to the other nodes: (terminal id, credential now, reason) for each credential
    that ended. Nothing without a message queue (this process is the only node)."""
    manager = _manager()
    if manager is not None:
        manager.publish_drop(ended)


def on_drop(handler: Callable[[list], None]) -> None:
    """What this node does with another node's DROP."""
    manager = _manager()
    if manager is not None:
        manager.on_drop = handler


def problems() -> list[tuple[str, str]]:
    """(node, what is wrong) for this node and the peers it hears: what the wall shows."""
    w = watch()
    if w is None:
        return []
    r = w.report()
    out = [(r["node"], r["problem"])] if r["problem"] else []
    return out + [(name, p["problem"]) for name, p in r["peers"].items() if p["problem"]]


def client_manager(url: str | None, channel: str, node: str,
                   heartbeat_s: float) -> socketio.Manager:
    """The Socket.IO client manager for these settings (a plain one without a queue)."""
    if not url:
        return socketio.Manager()
    # server.config has checked that the URL is Redis.
    return WatchedRedisManager(url, channel, QueueWatch(node, heartbeat_s))


def start() -> None:
    """Listen and send heartbeats from now on, not only from the first connection (as
    python-socketio would): a node no terminal has reached yet still reports on the queue.
    Called by the production entry point (server/wsgi.py), never by create_app."""
    from server.extensions import socketio as flask_socketio

    server = flask_socketio.server
    if isinstance(server.manager, WatchedRedisManager) and not server.manager_initialized:
        server.manager_initialized = True  # the flag python-socketio checks at a connection
        server.manager.initialize()
