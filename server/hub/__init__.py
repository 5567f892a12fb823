"""The terminal hub: Socket.IO for control and reports, HTTP for pairing and files.

Handlers are thin: check the payload with player.protocol, open a database session
for exactly this event (Flask's teardown does not run for socket events), call a
service, answer in the ack. Pushes are sent only after the commit that caused them.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event

from player import protocol
from server.db import SessionFactory
from server.extensions import socketio
from server.hub import queue
from server.services import broadcasts, changes, fleet

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    from server.hub import health, http, terminals

    terminals.register(app)

    app.register_blueprint(http.bp)
    app.register_blueprint(health.bp)
    from server.extensions import csrf

    csrf.exempt(http.bp)


def room(terminal_id: int) -> str:
    return f"terminal:{terminal_id}"


def nudge(terminal_ids: set[int]) -> None:
    # One emit for all: the packet is encoded once (and published once when scaled out).
    socketio.emit(protocol.MANIFEST_CHANGED, {}, to=[room(t) for t in sorted(terminal_ids)],
                  namespace=protocol.TERMINAL_NAMESPACE)


@event.listens_for(SessionFactory, "after_commit")
def _nudge_after_commit(session) -> None:
    """Save first, then emit: terminals hear of a change only once it is stored."""
    ended = fleet.ended_credentials(session)
    if ended:
        try:
            drop(ended)
        except Exception:  # the commit stands; a socket missed is refused at its next event
            log.exception("dropping the sockets of ended credentials failed")
    ids = changes.pending_nudges(session)
    if ids:
        nudge(ids)
    for event_name, payload, terminal_ids in broadcasts.pending_pushes(session):
        # one message for every terminal sharing this payload (one Redis publish when scaled out)
        socketio.emit(event_name, payload, to=[room(t) for t in terminal_ids],
                      namespace=protocol.TERMINAL_NAMESPACE)


@event.listens_for(SessionFactory, "after_rollback")
def _forget_after_rollback(session) -> None:
    changes.pending_nudges(session)
    broadcasts.pending_pushes(session)
    fleet.ended_credentials(session)


def send_command(terminal_id: int, command_id: int, kind: str, args: dict) -> None:
    socketio.emit(protocol.COMMAND, {"id": command_id, "kind": kind, "args": args},
                  to=room(terminal_id), namespace=protocol.TERMINAL_NAMESPACE)


def send_commands(commands) -> None:
    """Send stored commands (server.models.Command) to their terminals."""
    for c in commands:
        send_command(c.terminal_id, c.id, c.kind, c.args)


def drop(ended: list[fleet.Ended]) -> None:
    """Credentials that ended (revoked, replaced, terminal deleted): the sockets holding
    them are told why and closed, here now and on every other node through the message
    queue (a disconnect by sid could not reach them: a node knows only its own sids).
    Called after the commit that ended them (fleet.ended_credentials)."""
    from server.hub.terminals import drop_ended

    queue.publish_drop(ended)
    drop_ended(ended)
