"""The server's own availability, against which terminal health is judged. No Flask.

Every server process (a node: one gunicorn worker, named SIGNAGE_NODE_NAME) registers when
it starts and says it is alive every TICK_S from its own event loop (server/liveness.py),
so a stalled loop stops saying so. From that:
- `start` records one event when the whole server was away (no node alive for more than
  OUTAGE_S), instead of an alert for every screen, and marks offline at once the
  terminals whose connections were held by nodes that are gone (this node's earlier self
  among them): the wall never shows a dead connection as online;
- `tick` records a stall of the node's own loop (it came back late);
- `available_since` says from when each node was last up and listening, which
  services/health.py uses: a terminal is silent only for time its server listened, and
  gets GRACE to come back after any restart, stall or change of node.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from server.models import ServerEvent, ServerNode, TerminalEvent, TerminalState

TICK_S = 2.0
GONE = timedelta(seconds=3 * TICK_S)  # a node silent this long is gone (or frozen)
OUTAGE = timedelta(seconds=30)  # the whole server away longer than this is an event
STALL = timedelta(seconds=5)  # a loop held this long kept every heartbeat waiting
# A terminal's reconnection waits at most player.client.Backoff.CAP_S (30 s); add the
# connection itself and a heartbeat on a loaded machine.
GRACE = timedelta(seconds=60)
FORGET = timedelta(days=1)  # node rows are kept this long after they were last seen


def _pid_gone(name: str) -> bool:
    """A node of this machine whose process has ended (names are host-pid by default):
    known at once, not only after GONE."""
    host, _, pid = name.rpartition("-")
    return process_gone(host, pid)


def process_gone(host: str, pid: str) -> bool:
    """A process of this machine (`host` its hostname) that no longer runs; False for
    another machine's, or this process's own."""
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def alive(s: Session, now: datetime, me: str | None = None) -> dict[str, datetime]:
    """{name: available since} of the nodes alive now (`me` counted alive whatever)."""
    rows = s.execute(select(ServerNode.name, ServerNode.seen_at, ServerNode.available_since)
                     .where(ServerNode.seen_at >= now - GONE)).all()
    return {name: since for name, seen, since in rows if name == me or not _pid_gone(name)}


def last_seen(s: Session) -> dict[str, datetime]:
    """{name: seen at} of every node known: when a gone one went away."""
    return dict(s.execute(select(ServerNode.name, ServerNode.seen_at)).all())


def start(s: Session, name: str, now: datetime) -> ServerEvent | None:
    """This node is up. Returns the outage it ends, if the whole server had been away."""
    last = s.scalar(select(func.max(ServerNode.seen_at)).where(ServerNode.name != name))
    own = s.get(ServerNode, name)
    if own is not None:  # this name's earlier process, killed before it could say so
        last = max(last or own.seen_at, own.seen_at)
    others = alive(s, now)
    others.pop(name, None)
    event = None
    if last is not None and not others and now - last > OUTAGE:
        event = ServerEvent(kind="down", node=name, started_at=last, ended_at=now,
                            detail=f"{(now - last).total_seconds():.0f}")
        s.add(event)
    if own is None:
        s.add(ServerNode(name=name, started_at=now, seen_at=now, available_since=now))
    else:
        own.started_at = own.seen_at = own.available_since = now
    s.flush()
    # Connections of nodes that are not alive are gone: offline until they reconnect.
    held_elsewhere = TerminalState.node.in_(list(others)) if others else None
    gone = [TerminalState.online]
    if held_elsewhere is not None:
        gone.append(or_(TerminalState.node.is_(None), ~held_elsewhere))
    ids = list(s.scalars(select(TerminalState.terminal_id).where(*gone)))
    if ids:
        s.execute(update(TerminalState).where(TerminalState.terminal_id.in_(ids))
                  .values(online=False))
        s.add_all(TerminalEvent(terminal_id=tid, kind="offline", reason="server", at=now)
                  for tid in ids)
    s.execute(delete(ServerNode).where(ServerNode.seen_at < now - FORGET))
    return event


def tick(s: Session, name: str, now: datetime, stalled_since: datetime | None = None
         ) -> ServerEvent | None:
    """This node is alive; `stalled_since`: its loop was held from then until now."""
    values: dict = {"seen_at": now}
    event = None
    if stalled_since is not None:
        values["available_since"] = now
        event = ServerEvent(kind="stalled", node=name, started_at=stalled_since, ended_at=now,
                            detail=f"{(now - stalled_since).total_seconds():.0f}")
        s.add(event)
    if not s.execute(update(ServerNode).where(ServerNode.name == name).values(**values)
                     ).rowcount:
        s.add(ServerNode(name=name, started_at=now, seen_at=now, available_since=now))
    return event


def recent_events(s: Session, now: datetime, within: timedelta = timedelta(days=1)
                  ) -> list[ServerEvent]:
    """The server's outages and stalls that ended within `within`, newest first."""
    return list(s.scalars(select(ServerEvent).where(ServerEvent.ended_at >= now - within)
                          .order_by(ServerEvent.ended_at.desc()).limit(20)))
