"""Publish receipts: did a change reach the screens (docs/receipts.md). No Flask.

Capture: `changes.touch`, the one place every change that alters what screens play goes
through, notes the terminals it touched (`touched`); at the commit of that transaction
(a `before_commit` listener on every session, so no service can forget it) one Receipt is
made, belonging to the first audit entry the transaction wrote, with one ReceiptScreen
per terminal at the manifest version the commit gives it (one executemany).

Stages, fed by the hub: `statuses` (STATUS batches: acknowledged = the player accepted a
manifest at least that version; ready = the same with every file cached) and `plays`
(proof of play: the first play of the changed content that started after the screen
acknowledged it). A row is
closed once every stage that applies is done; the hub reads open rows only, through the
partial index, one query per batch.

Reading: `summary`, `recent`, `latest_for` count with SQL aggregates (a receipt may
reach 5,000 screens and its page polls) and explain at most `laggards` screens.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, event, func, select
from sqlalchemy.orm import Session

from server.db import execute_many, to_driver, utcnow
from server.models import (
    AuditEntry,
    Building,
    Community,
    ContentItem,
    ContentStatus,
    Layout,
    Mandate,
    PlannedHour,
    PlaylistEntry,
    Receipt,
    ReceiptScreen,
    Schedule,
    Terminal,
    TerminalState,
)
from server.services import audit
from server.services.access import Actor

TOUCHED_KEY = "signage_receipt_terminals"
WHY_CODES = ("offline", "refused", "waiting", "downloading", "screen_off", "not_scheduled")


def touched(s: Session, terminal_ids: Iterable[int]) -> None:
    """Called by changes.touch: these terminals' manifests change in this transaction."""
    s.info.setdefault(TOUCHED_KEY, set()).update(terminal_ids)


@event.listens_for(Session, "before_commit")
def _make_at_commit(s: Session) -> None:
    ids = s.info.pop(TOUCHED_KEY, None)
    entries = s.info.pop(audit.ENTRIES_KEY, None)
    if ids:
        make(s, ids, entries[0] if entries else None)


@event.listens_for(Session, "after_rollback")
def _forget(s: Session) -> None:
    s.info.pop(TOUCHED_KEY, None)
    s.info.pop(audit.ENTRIES_KEY, None)


def make(s: Session, terminal_ids: set[int], entry: AuditEntry | None) -> Receipt | None:
    """The receipt of one transaction's change (None: its terminals are all gone)."""
    s.flush()  # the audit entry's id; the manifest versions are already updated
    rows = s.execute(select(Terminal.id, Terminal.manifest_version, Community.street_id)
                     .join(Building, Terminal.building_id == Building.id)
                     .join(Community, Building.community_id == Community.id)
                     .where(Terminal.id.in_(terminal_ids)).order_by(Terminal.id)).all()
    if not rows:
        return None
    r = Receipt(street_id=rows[0].street_id, screens=len(rows))
    if entry is None:
        r.action, r.object_type, r.label, r.content_ids = "system", "system", "", []
    else:
        r.audit_entry_id, r.community_id = entry.id, entry.community_id
        r.action, r.object_type, r.object_id = entry.action, entry.object_type, entry.object_id
        r.label = entry.object_label
        r.content_ids = _content_of(s, entry.object_type, entry.object_id)
    s.add(r)
    s.flush()
    execute_many(s, "INSERT INTO receipt_screen (receipt_id, terminal_id, manifest_version)"
                    " VALUES (?, ?, ?)", [(r.id, tid, version) for tid, version, _ in rows])
    return r


def _content_of(s: Session, object_type: str, object_id: int | None) -> list[int]:
    """The items whose first play after the change counts as "played": what the changed
    object puts on screens, if it plays at all (empty: that stage does not apply)."""
    if object_id is None:
        return []
    ids: set[int] = set()
    if object_type == "content":
        ids = {object_id}
    elif object_type in ("schedule", "playlist"):
        sc = s.get(Schedule, object_id) if object_type == "schedule" else None
        playlist_id = object_id if object_type == "playlist" else (
            sc.playlist_id if sc is not None and sc.active else None)
        if playlist_id is not None:
            ids = set(s.scalars(select(PlaylistEntry.content_id)
                                .where(PlaylistEntry.playlist_id == playlist_id)))
        elif sc is not None and sc.active and sc.layout_id is not None:
            ids = _layout_content(s, sc.layout_id)
    elif object_type == "layout":
        ids = _layout_content(s, object_id)
    elif object_type == "mandate":
        m = s.get(Mandate, object_id)
        if m is not None and m.enforce and m.active:
            ids = set(m.content_ids or ())
            if m.topic_id is not None:
                ids |= set(s.scalars(select(ContentItem.id)
                                     .where(ContentItem.topic_id == m.topic_id)))
    if not ids:
        return []
    # Only what can play: approved, and not a pending edit (a rejected or archived item is
    # taken off screens; nothing of it will be played).
    return sorted(s.scalars(select(ContentItem.id).where(
        ContentItem.id.in_(ids), ContentItem.status == ContentStatus.approved,
        ContentItem.draft_of_id.is_(None))))


def _layout_content(s: Session, layout_id: int) -> set[int]:
    from server.services.layouts import content_ids  # layouts imports changes, which imports us

    layout = s.get(Layout, layout_id)
    return content_ids(layout.regions) if layout is not None else set()


# --- stages ------------------------------------------------------------------------------

_SET_STATUS = ("UPDATE receipt_screen SET acked_at = ?, ready_at = ?, closed_at = ?"
               " WHERE receipt_id = ? AND terminal_id = ?")
_SET_PLAYED = ("UPDATE receipt_screen SET played_at = ?, closed_at = ?"
               " WHERE receipt_id = ? AND terminal_id = ?")


def statuses(s: Session, items: list[tuple[int, int | None, bool, datetime]]) -> None:
    """A STATUS batch, in arrival order: (terminal id, manifest version the player accepted
    or None (a player that does not say), cache ready, when). One query for the batch's
    open rows still waiting for a STATUS (usually none), one executemany."""
    said = [i for i in items if i[1] is not None]
    if not said:
        return
    rows = s.execute(
        select(ReceiptScreen.receipt_id, ReceiptScreen.terminal_id,
               ReceiptScreen.manifest_version, ReceiptScreen.acked_at,
               ReceiptScreen.played_at, Receipt.content_ids)
        .join(Receipt, Receipt.id == ReceiptScreen.receipt_id)
        .where(ReceiptScreen.terminal_id.in_({tid for tid, *_ in said}),
               ReceiptScreen.closed_at.is_(None), ReceiptScreen.ready_at.is_(None))).all()
    if not rows:
        return
    by_terminal: dict[int, list[tuple[int, bool, datetime]]] = {}
    for tid, version, ready, at in said:
        by_terminal.setdefault(tid, []).append((version, ready, at))
    to_db = to_driver(s)
    changed = []
    for receipt_id, tid, wanted, was_acked, played, content_ids in rows:
        acked = was_acked
        ready_at = None
        for version, ready, at in by_terminal[tid]:
            if version >= wanted:
                acked = acked or at
                if ready:
                    ready_at = at
                    break
        if acked is None or (acked == was_acked and ready_at is None):
            continue  # nothing new
        closed = ready_at if ready_at and (played or not content_ids) else None
        changed.append((to_db(acked), ready_at and to_db(ready_at), closed and to_db(closed),
                        receipt_id, tid))
    execute_many(s, _SET_STATUS, sorted(changed, key=lambda c: (c[3], c[4])))


def plays(s: Session, terminal_id: int, records: list[tuple[int, datetime]],
          now: datetime) -> None:
    """Proof of play newly stored for a terminal, as (content id, start): the first play of
    a receipt's content that started once the screen had acknowledged the change (a play
    from the manifest before it, of an item the change kept, never counts). One query
    (usually empty)."""
    if not records:
        return
    rows = s.execute(
        select(ReceiptScreen.receipt_id, ReceiptScreen.acked_at, ReceiptScreen.ready_at,
               Receipt.content_ids)
        .join(Receipt, Receipt.id == ReceiptScreen.receipt_id)
        .where(ReceiptScreen.terminal_id == terminal_id, ReceiptScreen.closed_at.is_(None),
               ReceiptScreen.played_at.is_(None), ReceiptScreen.acked_at.is_not(None))).all()
    to_db = to_driver(s)
    changed = []
    for receipt_id, acked_at, ready_at, content_ids in rows:
        wanted = set(content_ids or ())
        first = min((start for cid, start in records if cid in wanted and start >= acked_at),
                    default=None)
        if first is not None:
            changed.append((to_db(first), to_db(now) if ready_at else None, receipt_id,
                            terminal_id))
    execute_many(s, _SET_PLAYED, sorted(changed, key=lambda c: c[2]))


def purge(s: Session, keep_days: int, now: datetime | None = None) -> int:
    """Receipts go with their audit entry (ON DELETE CASCADE); those of changes no entry
    recorded (the server's own, e.g. renderings for a new panel size) after `keep_days`,
    as audit entries do."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    return s.execute(delete(Receipt).where(Receipt.audit_entry_id.is_(None),
                                           Receipt.created_at < cutoff)).rowcount


# --- reading -----------------------------------------------------------------------------


def _visible(actor: Actor) -> list:
    """A street admin sees the street's receipts; other staff their community's (street-wide
    changes stay with street admins, as their audit entries do)."""
    out = [Receipt.street_id == actor.street_id]
    if not actor.is_street_admin:
        out.append(Receipt.community_id == actor.community_id)
    return out


def _scoped(q, actor: Actor, joined: bool = False):
    """Only the actor's own community's screens of a receipt (community staff)."""
    if actor.is_street_admin:
        return q
    if not joined:
        q = (q.join(Terminal, Terminal.id == ReceiptScreen.terminal_id)
             .join(Building, Building.id == Terminal.building_id))
    return q.where(Building.community_id == actor.community_id)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _counts(s: Session, actor: Actor, receipt_ids: list[int]) -> dict[int, tuple]:
    """receipt id -> (screens, acknowledged, ready, played, closed), one grouped query."""
    q = (select(ReceiptScreen.receipt_id, func.count(), func.count(ReceiptScreen.acked_at),
                func.count(ReceiptScreen.ready_at), func.count(ReceiptScreen.played_at),
                func.count(ReceiptScreen.closed_at))
         .where(ReceiptScreen.receipt_id.in_(receipt_ids))
         .group_by(ReceiptScreen.receipt_id))
    return {rid: tuple(rest) for rid, *rest in s.execute(_scoped(q, actor))}


def _head(r: Receipt, counts: tuple | None) -> dict[str, Any]:
    screens, acked, ready, played, _closed = counts or (0, 0, 0, 0, 0)
    return {"id": r.id, "created_at": _iso(r.created_at), "action": r.action,
            "object_type": r.object_type, "object_id": r.object_id, "label": r.label,
            "screens": screens,
            "stages": {"acknowledged": acked, "ready": ready,
                       "played": played if r.content_ids else None}}


def get(s: Session, actor: Actor, receipt_id: int) -> Receipt | None:
    return s.scalar(select(Receipt).where(Receipt.id == receipt_id, *_visible(actor)))


def latest_for(s: Session, actor: Actor, object_type: str, object_id: int) -> Receipt | None:
    """The newest receipt of a change to this object (the item's and schedule's pages)."""
    return s.scalar(select(Receipt).where(*_visible(actor), Receipt.object_type == object_type,
                                          Receipt.object_id == object_id)
                    .order_by(Receipt.id.desc()).limit(1))


def recent(s: Session, actor: Actor, limit: int = 50, offset: int = 0) -> list[dict]:
    """The newest receipts first, with their stages counted."""
    page = list(s.scalars(select(Receipt).where(*_visible(actor))
                          .order_by(Receipt.id.desc()).limit(limit).offset(offset)))
    counts = _counts(s, actor, [r.id for r in page]) if page else {}
    return [_head(r, counts.get(r.id)) for r in page]


def summary(s: Session, actor: Actor, receipt_id: int, laggards: int = 50,
            now: datetime | None = None) -> dict | None:
    """A receipt with its stages counted and its first `laggards` screens not yet done,
    each with why (offline first, then by stage); None: no such receipt for this actor."""
    r = get(s, actor, receipt_id)
    if r is None:
        return None
    counts = _counts(s, actor, [r.id]).get(r.id) or (0, 0, 0, 0, 0)
    out = _head(r, counts)
    behind = counts[0] - counts[4]  # screens not closed
    out.update(audit_entry_id=r.audit_entry_id, content_ids=list(r.content_ids or ()),
               done=behind == 0, laggards_total=behind,
               laggards=_laggards(s, actor, r, laggards, now or utcnow()))
    return out


def _laggards(s: Session, actor: Actor, r: Receipt, limit: int, now: datetime) -> list[dict]:
    RS, TS = ReceiptScreen, TerminalState  # noqa: N806 - table aliases
    online = TS.online.is_(True)
    q = (select(RS.terminal_id, Terminal.name, Building.name, Community.name, RS.acked_at,
                RS.ready_at, RS.played_at, TS.online, TS.last_seen_at, TS.screen_on,
                TS.download_percent, TS.trust_refusal)
         .join(Terminal, Terminal.id == RS.terminal_id)
         .join(Building, Building.id == Terminal.building_id)
         .join(Community, Community.id == Building.community_id)
         .outerjoin(TS, TS.terminal_id == RS.terminal_id)
         .where(RS.receipt_id == r.id, RS.closed_at.is_(None))
         .order_by(case((online, 1), else_=0),
                   case((RS.acked_at.is_(None), 0), (RS.ready_at.is_(None), 1), else_=2),
                   Terminal.name, RS.terminal_id)
         .limit(limit))
    rows = s.execute(_scoped(q, actor, joined=True)).all()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    waiting_play = [row[0] for row in rows if row[7] and row[5] is not None]
    planned = _next_planned(s, waiting_play, r.content_ids or [], this_hour)
    # Planned time is the main region's only: an item a layout region shows is not in it.
    in_regions = bool(waiting_play) and _in_layout_regions(s, r)
    out = []
    for (tid, name, building, community, acked, ready, played, is_online, last_seen,
         screen_on, percent, refusal) in rows:
        why: dict[str, Any] = {"code": "waiting", "since": None, "percent": None,
                               "until": None}
        if not is_online:
            why.update(code="offline", since=_iso(last_seen))
        elif acked is None:
            if isinstance(refusal, dict) and refusal.get("what") == "manifest":
                why.update(code="refused", since=refusal.get("at"))
        elif ready is None:
            why.update(code="downloading", since=_iso(acked), percent=percent)
        elif screen_on is False:
            why.update(code="screen_off")
        elif (nxt := planned.get(tid)) is not None and nxt > this_hour:
            why.update(code="not_scheduled", until=_iso(nxt))  # the next hour it is planned
        elif nxt is None and not in_regions:
            why.update(code="not_scheduled")  # not planned to the end of the next day
        out.append({"terminal_id": tid, "terminal": name, "building": building,
                    "community": community, "acked_at": _iso(acked), "ready_at": _iso(ready),
                    "played_at": _iso(played), "why": why})
    return out


def _in_layout_regions(s: Session, r: Receipt) -> bool:
    """Whether a layout region of the receipt's street shows one of its items (a street
    has a handful of layouts, read whole)."""
    from server.services.layouts import content_ids  # layouts imports changes, which imports us

    wanted = set(r.content_ids or ())
    return any(wanted & content_ids(regions) for regions in
               s.scalars(select(Layout.regions).where(Layout.street_id == r.street_id)))


def _next_planned(s: Session, terminal_ids: list[int], content_ids: list[int],
                  this_hour: datetime) -> dict[int, datetime]:
    """terminal id -> the first hour from this one its plan gives any of the items time
    (planned_hour is written ahead to the end of the next local day)."""
    if not terminal_ids or not content_ids:
        return {}
    q = (select(PlannedHour.terminal_id, func.min(PlannedHour.hour))
         .where(PlannedHour.terminal_id.in_(terminal_ids),
                PlannedHour.content_id.in_(content_ids), PlannedHour.hour >= this_hour,
                PlannedHour.seconds > 0)
         .group_by(PlannedHour.terminal_id))
    return {tid: hour for tid, hour in s.execute(q)}
