"""Write and read the audit log. Every service change calls `record`.

Every entry is a link of the "audit" hash chain (server/services/chains.py): `record`
takes the chain's lock, so the entry's seq, time and hash are fixed before it is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import AuditEntry
from server.services import chains
from server.services.access import Actor
from server.services.errors import N_

ACTIONS = (N_("create"), N_("update"), N_("delete"), N_("login"), N_("revoke"), N_("submit"),
           N_("purge"))
OBJECT_TYPES = (N_("content"), N_("topic"), N_("log_chain"))
# The entries a transaction wrote, in order: a change's publish receipt belongs to its
# first (server/services/receipts.py takes them at the commit).
ENTRIES_KEY = "signage_audit_entries"


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
    if action == "delete" and object_type == "terminal" and object_id is not None:
        # The terminal's play chain goes with it; this entry commits to its last head.
        head = chains.drop(s, chains.plays_chain(object_id))
        if head is not None:
            after = {**(after or {}), "play_chain": head}
    link = chains.begin(s, chains.AUDIT)
    fields = {
        "at": utcnow(),  # after the lock: times follow the chain's order
        "user_id": actor.id,
        "actor": actor.name,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_label": label[:200],
        "community_id": community_id,
        # Stored as JSON gives them back (string keys, lists), so the hash matches.
        "before": chains.stored_json(before),
        "after": chains.stored_json(after),
    }
    entry_hash = chains.audit_hash(link.seq, link.prev_hash, fields)
    entry = AuditEntry(**fields, chain_seq=link.seq, prev_hash=link.prev_hash,
                       entry_hash=entry_hash)
    s.add(entry)
    chains.finish(s, link, entry_hash)
    s.info.setdefault(ENTRIES_KEY, []).append(entry)
    return entry


def record_purge(s: Session, actor: Actor, removed: dict) -> AuditEntry:
    """Retention's removal of chain links, in the audit chain: what went, up to which
    seq, and the last removed hash (where verification of the rest starts)."""
    return record(s, actor, "purge", "log_chain", None, label=str(removed.get("label", "")),
                  after=removed)


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


def purge(s: Session, keep_days: int, now: datetime | None = None) -> int:
    """Remove entries older than `keep_days` (a prefix of the chain), recorded by a purge
    entry in the chain itself. Returns the entries removed."""
    removed = chains.purge_audit(s, keep_days, now)
    if removed is None:
        return 0
    record_purge(s, Actor.system(0, "retention"),
                 {"label": "audit", "keep_days": keep_days, **removed})
    return removed["rows"]
