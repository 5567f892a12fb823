"""The staff namespace: logged-in browsers (the fleet wall, broadcast progress) receive
live events here, each only for the communities its user may see.

Rooms: "street" for street admins (they see every community), f"community:{id}" for
everyone else. `publish` sends an event to one community's room and to "street"; it goes
through server.extensions.socketio, so with a message queue it reaches staff on every node.
"""

from __future__ import annotations

import logging

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room
from socketio import PubSubManager
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.db import SessionFactory, db, session_scope
from server.extensions import socketio
from server.services import accounts, tree, wall
from server.services.access import Actor

NS = "/staff"
STREET_ROOM = "street"
TERMINAL_EVENT = "terminal"  # payload: a wall tile (server.services.wall)
log = logging.getLogger(__name__)

# This process's staff sockets: sid -> (user id, hash of the sign-in key that let it in).
# A socket must not outlive its sign-in: it would go on hearing the community's events.
_sign_ins: dict[str, tuple[int, str]] = {}


def community_room(community_id: int) -> str:
    return f"community:{community_id}"


def rooms_for(s: Session, actor: Actor) -> list[str]:
    """The one rule: what a user may see on the tree is what they hear about live."""
    if actor.is_street_admin:
        return [STREET_ROOM]
    return [community_room(c.id) for c in tree.list_communities(s, actor)]


def publish(event: str, payload: dict, community_id: int) -> None:
    socketio.emit(event, payload, to=[community_room(community_id), STREET_ROOM], namespace=NS)


def publish_terminal(s: Session, terminal_id: int) -> None:
    publish_terminals(s, [terminal_id])


def _anyone_watching() -> bool:
    """A staff socket on this process, or other processes (a message queue) that may
    hold some. Tiles for nobody cost the terminals: after a restart, building them for
    every reconnecting terminal was a fifth of the worker's time (bench_reconnect)."""
    return bool(_sign_ins) or isinstance(socketio.server.manager, PubSubManager)


def publish_terminals(s: Session, terminal_ids: list[int]) -> None:
    """Send fresh tiles; call it after the commit that changed the terminals. (A wall
    opened later reads the tiles from the database.)"""
    if not _anyone_watching():
        return
    for tile in wall.tiles_of(s, terminal_ids):
        publish(TERMINAL_EVENT, tile, tile["community_id"])


@socketio.on("connect", namespace=NS)
def connect(auth=None):
    with session_scope():
        if not current_user.is_authenticated:
            raise ConnectionRefusedError("sign in first")
        for r in rooms_for(db, Actor.of(current_user)):
            join_room(r)
        _sign_ins[request.sid] = (current_user.id, accounts.key_hash(current_user.login_key))


@socketio.on("disconnect", namespace=NS)
def disconnect(*_reason) -> None:
    _sign_ins.pop(request.sid, None)


def close_signed_out(ended: list[accounts.SignOut]) -> None:
    """Close this process's sockets of the sign-ins that ended. (With several nodes, one
    held by another node stays open until its page is left; none can open anew.)"""
    for sid, (user_id, key_hash) in list(_sign_ins.items()):
        if any(e.covers(user_id, key_hash) for e in ended):
            _sign_ins.pop(sid, None)
            socketio.server.disconnect(sid, namespace=NS)


@event.listens_for(SessionFactory, "after_commit")
def _close_after_commit(session) -> None:
    ended = accounts.signed_out(session)
    if ended and _sign_ins:
        try:
            close_signed_out(ended)
        except Exception:  # the commit stands; the sign-in is over for any new request
            log.exception("closing the staff sockets of ended sign-ins failed")


@event.listens_for(SessionFactory, "after_rollback")
def _forget_after_rollback(session) -> None:
    accounts.signed_out(session)


@socketio.on("*", namespace=NS)
def unknown_event(event, *_args):
    return {"ok": False, "error": f"staff browsers only listen here (got {event!r})"}
