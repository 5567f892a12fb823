"""Who sees which warning messages. No Flask.

Staff see the messages of their own street; community staff only those whose matched
screens include one of their community (WarningMessage.matched, the same list the
message page shows), so a warning for another district is not theirs to read.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import WarningMessage
from server.services.access import Actor
from server.services.errors import N_, NotFound

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
        raise NotFound(N_("No such %(what)s."), what="warning")
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
