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
from collections.abc import Callable

from flask import Flask
from socketio.exceptions import ConnectionRefusedError

from player import protocol
from server import looplag
from server.db import db, session_scope, utcnow
from server.extensions import socketio
from server.hub import room, staff
from server.hub.batch import GroupCommit, Slot
from server.models import Terminal
from server.services import broadcasts, fleet, manifests, plays, wall

log = logging.getLogger(__name__)
NS = protocol.TERMINAL_NAMESPACE
connections: dict[str, int] = {}  # connections held by this process
frames: dict[int, str | None] = {}  # last screenshot_sha256 per terminal connected here
_handlers: dict[str, Callable] = {}  # event -> handler(sid, ...)
_app: list[Flask] = []  # the app the handlers run in (tests build many, one at a time)

REVOKED = {"ok": False, "error": "credential revoked"}
OK = {"ok": True}


def register(app: Flask) -> None:
    """Put the handlers on this app's Socket.IO server (init_app makes a new one)."""
    _app[:] = [app]
    connections.clear()  # a new server holds no connections yet
    frames.clear()
    for event, fn in _handlers.items():
        socketio.server.on(event, fn, namespace=NS)


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


def _refuse(sid: str) -> dict:
    """A revoked terminal is told so and dropped at its next event."""
    socketio.server.emit(protocol.REVOKED, {"reason": "credential revoked"}, to=sid,
                         namespace=NS)
    socketio.server.disconnect(sid, namespace=NS)
    return REVOKED


def _terminal(sid: str) -> Terminal | None:
    """The connection's terminal, re-checked on every event so a revocation bites at once."""
    tid = connections.get(sid)
    t = db.get(Terminal, tid) if tid is not None else None
    if t is None or t.revoked_at is not None or t.credential_hash is None:
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
                connections[b.data[0]] = t.id
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
    if auth.get("protocol") != protocol.PROTOCOL_VERSION:
        raise ConnectionRefusedError(f"protocol {protocol.PROTOCOL_VERSION} required")
    if not _connections.submit(0, (sid, auth.get("credential")), utcnow())["ok"]:
        raise ConnectionRefusedError("unknown or revoked terminal credential")


@on("disconnect")
def on_disconnect(sid, *_args):
    tid = connections.pop(sid, None)
    if tid is not None and tid not in connections.values():
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


def batched(name: str, check, write, linger_s: float = 0.005):
    """Like `handler`, for events written by group commit (server/hub/batch.py): the
    payload is checked before any database work, and the credential is re-checked for
    the whole batch in one query, so a revocation still bites at the next event. Only the
    batch's writer needs an app context: an event that waits for it does no database work
    (pushing a context per event was a twentieth of the worker's time)."""
    group = GroupCommit(_in_app(write, f"{name} (group commit)"), linger_s)

    def inner(sid, payload=None):
        tid = connections.get(sid)
        try:
            data = check(payload)
        except protocol.ProtocolError as err:
            return {"ok": False, "error": err.reason}
        result = group.submit(tid, data, utcnow()) if tid is not None else REVOKED
        return _refuse(sid) if result is REVOKED else result

    _handlers[name] = inner
    return inner


def _write_statuses(batch: list[Slot]) -> None:
    # A heartbeat written after its terminal disconnected would mark it online again.
    here = set(connections.values())
    for b in batch:
        if b.terminal_id not in here:
            b.result = {"ok": False, "error": "disconnected before the heartbeat was stored"}
    batch = [b for b in batch if b.terminal_id in here]
    with session_scope():
        live = fleet.live_terminal_ids(db, {b.terminal_id for b in batch})
        mine = [b for b in batch if b.terminal_id in live]
        states = fleet.live_states(db, live)
        before = {tid: wall.signature(states[tid], frames.get(tid)) for tid in live}
        fleet.record_statuses(db, [(b.terminal_id, b.data, b.at) for b in mine], states)
        # Asked again just before the commit: under gevent a PostgreSQL write yields, and a
        # disconnect handled meanwhile has marked its terminal offline, which the write
        # above undid. A disconnect handled after this line waits for this transaction's
        # row lock, so offline wins either way.
        gone = {b.terminal_id for b in mine} - set(connections.values())
        fleet.keep_offline(db, gone)
        for b in mine:
            if b.terminal_id not in gone:
                frames[b.terminal_id] = b.data.get("screenshot_sha256")
        db.commit()
        # Only tiles that changed are sent: steady heartbeats cost the wall nothing.
        staff.publish_terminals(db, [tid for tid in live
                                     if wall.signature(states[tid], frames.get(tid))
                                     != before[tid]])
    for b in batch:
        b.result = OK if b.terminal_id in live else REVOKED


def _write_broadcast_acks(batch: list[Slot]) -> None:
    with session_scope():
        live = fleet.live_terminal_ids(db, {b.terminal_id for b in batch})
        mine = [b for b in batch if b.terminal_id in live]
        errors = broadcasts.acknowledge_many(db, [(b.terminal_id, b.data) for b in mine])
    for b, error in zip(mine, errors, strict=True):
        b.result = {"ok": False, "error": error} if error else OK
    for b in batch:
        if b.terminal_id not in live:
            b.result = REVOKED


def _answer_syncs(batch: list[Slot]) -> None:
    """HELLO and SYNC: the server's time, active broadcasts, and the manifest if the
    terminal holds an older version (built for the whole batch at once)."""
    with session_scope():
        live = fleet.live_terminals(db, {b.terminal_id for b in batch})
        now = utcnow()
        behind = {b.terminal_id for b in batch if b.terminal_id in live
                  and b.data["manifest_version"] != live[b.terminal_id].manifest_version}
        built = manifests.manifests(db, [live[tid] for tid in sorted(behind)], now)
        active = broadcasts.active_for_many(db, list(live.values()), now)
        synced = []
        for b in batch:
            t = live.get(b.terminal_id)
            if t is None:
                b.result = REVOKED
                continue
            # What it holds once it has this answer; HELLO says its player version, SYNC not.
            player = str(b.data["player_version"])[:40] if "player_version" in b.data else None
            synced.append((t.id, t.manifest_version, player))
            b.result = {"ok": True, "server_time": protocol.iso(now),
                        "manifest_version": t.manifest_version,
                        "manifest": built[t.id] if t.id in behind else None,
                        "broadcasts": active[t.id]}
        fleet.note_synced(db, synced)


batched(protocol.HELLO, protocol.check_hello, _answer_syncs)
batched(protocol.SYNC, protocol.check_sync, _answer_syncs)
# A heartbeat's ack may wait a quarter second (5 % of the 5 s interval).
HEARTBEAT_LINGER_S = 0.25
batched(protocol.STATUS, protocol.check_status, _write_statuses, HEARTBEAT_LINGER_S)
batched(protocol.BROADCAST_SHOWN, protocol.check_broadcast_shown, _write_broadcast_acks)


@on("*")
def unknown_event(event, _sid, *_args):
    return {"ok": False, "error": f"unknown event {event!r}"}


def disconnect_terminal(terminal_id: int) -> None:
    for sid, tid in list(connections.items()):
        if tid == terminal_id:
            socketio.server.disconnect(sid, namespace=NS)
