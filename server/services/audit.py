"""Write and read the audit log. Every service change calls `record`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import AuditEntry
from server.services.access import Actor
from server.services.errors import N_

ACTIONS = (N_("create"), N_("update"), N_("delete"), N_("login"), N_("revoke"), N_("submit"))
OBJECT_TYPES = (N_("content"), N_("topic"))


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict:
    out = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value if isinstance(value, (int, str, bool, list, type(None))) else str(value)
    return out


def record(
    s: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    label: str = "",
    community_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        user_id=actor.id,
        actor=actor.name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=label[:200],
        community_id=community_id,
        before=before,
        after=after,
    )
    s.add(entry)
    return entry


def search(
    s: Session,
    actor: Actor,
    *,
    actor_name: str | None = None,
    object_type: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    q = select(AuditEntry).where(actor.community_clause(AuditEntry.community_id))
    if not actor.is_street_admin:
        # Street-wide entries (accounts of street admins, settings) stay with street admins.
        q = q.where(AuditEntry.community_id.is_not(None))
    if actor_name:
        q = q.where(AuditEntry.actor == actor_name)
    if object_type:
        q = q.where(AuditEntry.object_type == object_type)
    if action:
        q = q.where(AuditEntry.action == action)
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at < until)
    q = q.order_by(AuditEntry.id.desc()).limit(min(limit, 1000))
    return list(s.scalars(q))
