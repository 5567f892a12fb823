"""Socket.IO namespace for terminals (see player/protocol.py and docs/protocol.md).

The handlers are registered on python-socketio's server itself (`register`), not through
Flask-SocketIO: a terminal's event needs no Flask request (no cookie, no signed-in user),
and building one for every event was a fifth of the worker's time at a thousand events a
second. Each event runs in an app context with its own database session; events stored
by group commit run only their batch's write in one.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

from flask import Flask
from socketio.exceptions import ConnectionRefusedError

from player import protocol
from server import looplag
from server.db import db, session_scope, utcnow
from server.extensions import socketio
from server.hub import http as blob_http
from server.hub import queue, room, staff
from server.hub.batch import GroupCommit, Slot
from server.models import Terminal
from server.services import broadcasts, fleet, health, manifests, plays, wall

log = logging.getLogger(__name__)
NS = protocol.TERMINAL_NAMESPACE


class Link(NamedTuple):
    """A connection: its terminal, the hash of the credential it connected with, and the
    protocol version it speaks (auth["protocol"]: what its manifests may carry). Its
    events count only while that is still the terminal's credential; the id alone would
    let a socket outlive its pairing, or its terminal and speak for the next one to get
    the id."""

    terminal_id: int
    credential: str
    protocol: int


connections: dict[str, Link] = {}  # connections held by this process, by sid
held: Counter[int] = Counter()  # how many of them each terminal has
frames: dict[int, str | None] = {}  # last screenshot_sha256 per terminal connected here
_handlers: dict[str, Callable] = {}  # event -> handler(sid, ...)
_app: list[Flask] = []  # the app the handlers run in (tests build many, one at a time)

REVOKED = {"ok": False, "error": "credential revoked"}
# A HELLO from a screen holding no signing key while its street enforces signatures.
NO_KEY = {"ok": False,
          "error": "signatures are enforced and this screen holds no signing key: pair it again"}
OK = {"ok": True}


def register(app: Flask) -> None:
    """Put the handlers on this app's Socket.IO server (init_app makes a new one)."""
    _app[:] = [app]
    connections.clear()  # a new server holds no connections yet
    held.clear()
    frames.clear()
    for event, fn in _handlers.items():
        socketio.server.on(event, fn, namespace=NS)
    queue.on_drop(drop_ended)


def _in_app(fn: Callable, event: str) -> Callable:
    label = f"socket {NS} {event}"  # names the event in a stall report (server/looplag.py)

    @functools.wraps(fn)
    def in_app(*args):
        with looplag.activity(label), _app[0].app_context():
            return fn(*args)

    return in_app


def on(event: str):
    def wrap(fn):
        _handlers[event] = _in_app(fn, event)
        return fn

    return wrap


def _refuse(sid: str, reason: str = "credential revoked") -> dict:
    """A connection whose credential ended is told so and dropped."""
    socketio.server.emit(protocol.REVOKED, {"reason": reason}, to=sid, namespace=NS)
    socketio.server.disconnect(sid, namespace=NS)
    return REVOKED


def drop_ended(ended: Iterable[tuple[int, str | None, str]]) -> None:
    """Close this node's connections that hold a credential which ended: (terminal id,
    its credential now or None, reason), from server.hub.drop or another node's DROP."""
    now = {int(tid): (current, str(reason)) for tid, current, reason in ended}
    for sid, link in list(connections.items()):
        current, reason = now.get(link.terminal_id, (link.credential, ""))
        if current != link.credential:
            _refuse(sid, reason)


def _holds(credential: str | None, current: str | None) -> bool:
    """A connection accepted with `credential` still speaks for a terminal holding `current`."""
    return credential is not None and credential == current


def _terminal(sid: str) -> Terminal | None:
    """The connection's terminal, re-checked on every event: it still has the credential
    this connection was accepted with, so a revocation or re-pairing bites at once."""
    link = connections.get(sid)
    t = db.get(Terminal, link.terminal_id) if link is not None else None
    if t is None or t.revoked_at is not None or not _holds(link.credential, t.credential_hash):
        return None
    return t


def handler(name: str):
    """One session per event, protocol errors answered in the ack, never raised."""

    def wrap(fn):
        @on(name)
        def inner(sid, payload=None):
            try:
                with session_scope():
                    t = _terminal(sid)
                    if t is None:
                        return _refuse(sid)
                    return fn(t, payload)
            except protocol.ProtocolError as err:
                return {"ok": False, "error": err.reason}
            except Exception:
                log.exception("terminal event %s failed", name)
                return {"ok": False, "error": "internal error; the server logged it"}

        return inner

    return wrap


def _accept_connections(batch: list[Slot]) -> None:
    """Connections are checked and marked online in batches too: after a restart the
    whole fleet reconnects at once. Each joins its room before its tile says online, so
    a command sent the moment staff see it online reaches it."""
    with session_scope():
        found = fleet.terminals_for_credentials(db, [b.data[1] for b in batch])
        for b, t in zip(batch, found, strict=True):
            if t is not None:
                connections[b.data[0]] = Link(t.id, t.credential_hash, b.data[2])
                held[t.id] += 1
                socketio.server.enter_room(b.data[0], room(t.id), namespace=NS)
        ids = {t.id for t in found if t is not None}
        fleet.mark_online_many(db, ids, node=_app[0].config["SIGNAGE"].node_name)
        db.commit()
        staff.publish_terminals(db, sorted(ids))
    for b, t in zip(batch, found, strict=True):
        b.result = {"ok": t is not None}


_connections = GroupCommit(_accept_connections)


@on("connect")
def connect(sid, _environ, auth=None):
    if not isinstance(auth, dict):
        raise ConnectionRefusedError("unknown or revoked terminal credential")
    if auth.get("protocol") not in protocol.PROTOCOLS:
        raise ConnectionRefusedError(
            f"protocol {' or '.join(map(str, protocol.PROTOCOLS))} required")
    if not _connections.submit(0, (sid, auth.get("credential"), auth["protocol"]),
                               utcnow())["ok"]:
        raise ConnectionRefusedError("unknown or revoked terminal credential")


@on("disconnect")
def on_disconnect(sid, *_args):
    link = connections.pop(sid, None)
    if link is None:
        return
    tid = link.terminal_id
    held[tid] -= 1
    if held[tid] <= 0:
        del held[tid]
        frames.pop(tid, None)
        with session_scope():
            fleet.mark_offline(db, tid)
            db.commit()
            staff.publish_terminal(db, tid)


@handler(protocol.PLAYS)
def plays_event(t: Terminal, payload):
    records = protocol.check_plays(payload)
    accepted, rejected = plays.ingest(db, t, records)
    return {"ok": True, "accepted": accepted, "rejected": rejected}


@handler(protocol.COMMAND_RESULT)
def command_result(t: Terminal, payload):
    cmd = fleet.command_result(db, t, protocol.check_command_result(payload))
    if cmd.kind == "screenshot" and cmd.ok:  # the wall's thumbnail
        db.commit()
        staff.publish_terminal(db, t.id)
    return {"ok": True}


def batched(name: str, check, write, linger_s: float = 0.005, with_protocol: bool = False):
    """Like `handler`, for events written by group commit (server/hub/batch.py): the
    payload is checked before any database work, and the credential is re-checked for
    the whole batch in one query, so a revocation still bites at the next event. Only the
    batch's writer needs an app context: an event that waits for it does no database work
    (pushing a context per event was a twentieth of the worker's time). `with_protocol`:
    the data's "protocol" is the connection's (what the answer may carry)."""
    group = GroupCommit(_in_app(write, f"{name} (group commit)"), linger_s)

    def inner(sid, payload=None):
        link = connections.get(sid)
        try:
            data = check(payload)
        except protocol.ProtocolError as err:
            return {"ok": False, "error": err.reason}
        if with_protocol and link is not None:
            data = {**data, "protocol": link.protocol}
        result = (group.submit(link.terminal_id, data, utcnow(), link.credential)
                  if link is not None else REVOKED)
        if result is NO_KEY:
            socketio.start_background_task(_close_soon, sid)
        return _refuse(sid) if result is REVOKED else result

    _handlers[name] = inner
    return inner


def _close_soon(sid: str) -> None:
    """A screen refused for holding no key is told why, then disconnected: its reconnect
    back-off (doubling to 30 s) paces its next HELLO, where an open socket would send one
    a second, every old player of the street at once."""
    socketio.sleep(1.0)
    socketio.server.disconnect(sid, namespace=NS)


def _current(batch: list[Slot], creds: dict[int, str]) -> tuple[list[Slot], set[int]]:
    """The events whose connection still holds its terminal's credential (`creds`: what
    the batch's one query says each live terminal holds now), and their terminals; the
    others are answered REVOKED."""
    mine = []
    for b in batch:
        if _holds(b.credential, creds.get(b.terminal_id)):
            mine.append(b)
        else:
            b.result = REVOKED
    return mine, {b.terminal_id for b in mine}


def _write_statuses(batch: list[Slot]) -> None:
    # A heartbeat written after its terminal disconnected would mark it online again.
    for b in batch:
        if b.terminal_id not in held:
            b.result = {"ok": False, "error": "disconnected before the heartbeat was stored"}
    batch = [b for b in batch if b.result is None]
    with session_scope():
        mine, live = _current(batch, fleet.live_credentials(db, {b.terminal_id for b in batch}))
        states = fleet.live_states(db, live)
        before = {tid: wall.signature(states[tid], frames.get(tid)) for tid in live}
        fleet.record_statuses(db, [(b.terminal_id, b.data, b.at) for b in mine], states)
        # Asked again just before the commit: under gevent a PostgreSQL write yields, and a
        # disconnect handled meanwhile has marked its terminal offline, which the write
        # above undid. A disconnect handled after this line waits for this transaction's
        # row lock, so offline wins either way.
        gone = live - held.keys()
        fleet.keep_offline(db, gone)
        for b in mine:
            if b.terminal_id not in gone:
                frames[b.terminal_id] = b.data.get("screenshot_sha256")
        db.commit()
        # Only tiles that changed are sent: steady heartbeats cost the wall nothing.
        staff.publish_terminals(db, [tid for tid in live
                                     if wall.signature(states[tid], frames.get(tid))
                                     != before[tid]])
    for b in mine:
        b.result = OK


def _write_broadcast_acks(batch: list[Slot]) -> None:
    with session_scope():
        mine, _ids = _current(batch, fleet.live_credentials(db, {b.terminal_id for b in batch}))
        errors = broadcasts.acknowledge_many(db, [(b.terminal_id, b.data) for b in mine])
    for b, error in zip(mine, errors, strict=True):
        b.result = {"ok": False, "error": error} if error else OK


def _answer_hellos(batch: list[Slot]) -> None:
    _answer_syncs(batch, hello=True)


def _hello_trust(batch: list[Slot], now) -> set[int]:
    """A HELLO batch's signing keys (docs/protocol.md "trust"): stored, and the terminals
    to refuse returned (no key held, street enforcing). Two queries per batch; HELLOs
    come once per connection."""
    keys = {b.terminal_id: (b.data.get("trust") or {}).get("key_id") for b in batch}
    fleet.note_hello_trust(db, keys)
    cut = fleet.enforcing(db, {tid for tid, kid in keys.items() if kid is None})
    health.note_keyless(db, cut, keys.keys() - cut, now)
    for b in batch:
        if b.terminal_id in cut:
            b.result = NO_KEY
    return cut


def _answer_syncs(batch: list[Slot], hello: bool = False) -> None:
    """HELLO and SYNC: the server's time, active broadcasts, and the manifest if the
    terminal holds an older version (built for the whole batch at once)."""
    with session_scope():
        found = fleet.live_terminals(db, {b.terminal_id for b in batch})
        mine, ids = _current(batch, {tid: t.credential_hash for tid, t in found.items()})
        now = utcnow()
        if hello:
            cut = _hello_trust(mine, now)
            mine = [b for b in mine if b.terminal_id not in cut]
            ids -= cut
        live = {tid: found[tid] for tid in ids}
        behind = {b.terminal_id for b in mine
                  if b.data["manifest_version"] != live[b.terminal_id].manifest_version}
        built = manifests.manifests(db, [live[tid] for tid in sorted(behind)], now,
                                    {b.terminal_id: b.data["protocol"] for b in mine})
        blob_http.note_sent(built, {tid: t.credential_hash for tid, t in live.items()})
        active = broadcasts.active_for_many(db, list(live.values()), now)
        synced = []
        for b in mine:
            t = live[b.terminal_id]
            # What it holds once it has this answer; HELLO says its player version, SYNC not.
            player = str(b.data["player_version"])[:40] if "player_version" in b.data else None
            synced.append((t.id, t.manifest_version, player))
            b.result = {"ok": True, "server_time": protocol.iso(now),
                        "manifest_version": t.manifest_version,
                        "manifest": built[t.id] if t.id in behind else None,
                        "broadcasts": active[t.id]}
        fleet.note_synced(db, synced)


batched(protocol.HELLO, protocol.check_hello, _answer_hellos, with_protocol=True)
batched(protocol.SYNC, protocol.check_sync, _answer_syncs, with_protocol=True)
# A heartbeat's ack may wait a quarter second (5 % of the 5 s interval).
HEARTBEAT_LINGER_S = 0.25
batched(protocol.STATUS, protocol.check_status, _write_statuses, HEARTBEAT_LINGER_S)
batched(protocol.BROADCAST_SHOWN, protocol.check_broadcast_shown, _write_broadcast_acks)


@on("*")
def unknown_event(event, _sid, *_args):
    return {"ok": False, "error": f"unknown event {event!r}"}
