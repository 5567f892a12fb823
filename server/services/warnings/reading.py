"""Who sees which warning messages. No Flask.

Staff see the messages of their own street; community staff only those whose matched
screens include one of their community (WarningMessage.matched, the same list the
message page shows), so a warning for another district is not theirs to read.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import BroadcastDelivery, Building, Community, Terminal, WarningMessage
from server.services.access import Actor
from server.services.errors import N_, NotFound

WHAT = N_("warning message")  # the %(what)s of "No such %(what)s."
LIST_LIMIT = 200
STATES = ("pending", "sent", "superseded", "cancelled", "expired", "rejected", "ignored")


def visible(actor: Actor, m: WarningMessage) -> bool:
    if m.street_id != actor.street_id:
        return False
    if actor.is_street_admin or actor.community_id is None:
        return True
    return any(row.get("community_id") == actor.community_id for row in m.matched or [])


def get_message(s: Session, actor: Actor, message_id: int) -> WarningMessage:
    m = s.get(WarningMessage, message_id)
    if m is None or not visible(actor, m):
        raise NotFound(N_("No such %(what)s."), what=WHAT)
    return m


def list_messages(s: Session, actor: Actor, state: str | None = None,
                  limit: int = LIST_LIMIT) -> list[WarningMessage]:
    """Newest first. A community's filter reads the matched lists in Python: a street
    receives tens of warnings a year, and the list is bounded."""
    q = (select(WarningMessage).where(WarningMessage.street_id == actor.street_id)
         .order_by(WarningMessage.id.desc()))
    if state:
        q = q.where(WarningMessage.state == state)
    if actor.is_street_admin:
        return list(s.scalars(q.limit(limit)))
    out = []
    for m in s.scalars(q.limit(limit * 5)):
        if visible(actor, m):
            out.append(m)
            if len(out) == limit:
                break
    return out


def matched_of(actor: Actor, m: WarningMessage) -> list[dict]:
    """The matched screens the actor may see (community staff: their community's)."""
    rows = m.matched or []
    if actor.is_street_admin:
        return list(rows)
    return [r for r in rows if actor.sees(r.get("community_id"))]


def matched_named(s: Session, actor: Actor, m: WarningMessage) -> list[dict]:
    """matched_of with the screens', buildings' and communities' names (None for a row
    deleted since)."""
    rows = matched_of(actor, m)
    names = {}
    for model, key in ((Terminal, "terminal_id"), (Building, "building_id"),
                       (Community, "community_id")):
        ids = {r.get(key) for r in rows if r.get(key)}
        names[key] = dict(s.execute(select(model.id, model.name).where(model.id.in_(ids))).all()
                          ) if ids else {}
    return [{**r, "terminal": names["terminal_id"].get(r.get("terminal_id")),
             "building": names["building_id"].get(r.get("building_id")),
             "community": names["community_id"].get(r.get("community_id"))} for r in rows]


def acknowledged(s: Session, actor: Actor, messages: list[WarningMessage]) -> dict[int, int]:
    """Message id → screens (of those the actor sees) that showed its broadcast."""
    by_broadcast = {m.broadcast_id: m.id for m in messages if m.broadcast_id}
    if not by_broadcast:
        return {}
    d = BroadcastDelivery
    q = (select(d.broadcast_id, func.count()).where(d.broadcast_id.in_(by_broadcast),
                                                    d.shown_at.is_not(None))
         .group_by(d.broadcast_id))
    if not actor.is_street_admin:
        q = (q.join(Terminal, Terminal.id == d.terminal_id)
             .join(Building, Building.id == Terminal.building_id)
             .where(Building.community_id == actor.community_id))
    return {by_broadcast[b]: n for b, n in s.execute(q).all()}
