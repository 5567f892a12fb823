"""What becomes of a warning message: the policy, the broadcast that shows it, updates,
cancels, approvals, timeouts and expiry. No Flask.

A message shown is a broadcast (services.broadcasts): stored with its deliveries, pushed
after the commit, given again to a screen that reconnects while it is active, ended at the
message's `expires` or when its sender cancels it. Its card is rendered for every screen
size it reaches in a job worker, before the transaction's first write (a write lock held
while waiting for the render would stall every other writer on SQLite).

Messages of one warning form a thread through CAP `references`: an Update replaces what is
shown of its thread (on the screens of its own area), a Cancel ends it, and a message older
than the newest of its thread changes nothing (feeds and retries deliver out of order).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

import content as lib
from content.warning_card import WarningCard, render_warning_pngs
from server import workpool
from server.cap import signals
from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import (
    SCREEN,
    Broadcast,
    ColourMode,
    ContentItem,
    ContentStatus,
    TargetKind,
    Terminal,
    WarningMessage,
    WarningRule,
    WarningSource,
)
from server.services import audit, broadcasts, changes
from server.services import content as contents
from server.services.access import Actor
from server.services.errors import N_, Invalid, NotFound
from server.services.warnings import SYSTEM_NAME

log = logging.getLogger(__name__)

# Why a message was not (or is no longer) shown: English msgids, stored as they are in
# WarningMessage.state_reason and translated where they are shown.
NOT_ACTUAL = N_("not an actual warning")
NO_SCREEN = N_("no screen in the area")
EXPIRED_ON_ARRIVAL = N_("it had expired when it arrived")
NO_RULE = N_("no rule of the source applies to it")
POLICY_IGNORES = N_("the source's policy ignores it")
OLDER = N_("older than the warning now shown")
CANCELS_UNKNOWN = N_("it cancels a message that was never received")
CANCELS_ENDED = N_("the warning it cancels is no longer shown")
CANCELLED = N_("cancelled by its sender")
ENDED_OTHERS = N_("ended the warning it cancels")
SUPERSEDED = N_("replaced by a newer message")
NO_CARD = N_("the warning card fits no screen it reaches")
EXPIRED = N_("expired")
REASONS = (NOT_ACTUAL, NO_SCREEN, EXPIRED_ON_ARRIVAL, NO_RULE, POLICY_IGNORES, OLDER,
           CANCELS_UNKNOWN, CANCELS_ENDED, CANCELLED, ENDED_OTHERS, SUPERSEDED, NO_CARD,
           EXPIRED)
IN_EFFECT = ("pending", "sent")
# How far back a warning's messages are looked for: a signal lasts hours or days.
THREAD_SPAN = timedelta(days=30)
CARD_TEMPLATE = "warning"
TZ = ZoneInfo(PEOPLE_TZ)


def system(street_id: int) -> Actor:
    return Actor.system(street_id, SYSTEM_NAME)


def _ignore(m: WarningMessage, reason: str) -> None:
    m.state, m.state_reason, m.approve_deadline = "ignored", reason, None


# --- threads: a warning's messages through their references -----------------------------


def _key(sender: str, identifier: str) -> tuple[str, str]:
    return (sender, identifier)


def thread(s: Session, m: WarningMessage) -> list[WarningMessage]:
    """The other messages of m's warning: linked to it through references either way,
    transitively (an Update may arrive before the Alert it updates). A street receives
    tens a year, so the links are followed in Python."""
    keys = {_key(m.sender, m.identifier)} | {_key(r[0], r[1]) for r in m.references or []}
    q = (select(WarningMessage).where(WarningMessage.street_id == m.street_id,
                                      WarningMessage.sender.in_({k[0] for k in keys}),
                                      WarningMessage.sent >= m.sent - THREAD_SPAN)
         .options(defer(WarningMessage.raw_xml)))
    every = [x for x in s.scalars(q) if x is not m and x.id != m.id]
    found: dict[int, WarningMessage] = {}
    grew = True
    while grew:
        grew = False
        for x in every:
            if x.id in found:
                continue
            links = {_key(x.sender, x.identifier)} | {_key(r[0], r[1])
                                                     for r in x.references or []}
            if not links.isdisjoint(keys):
                found[x.id] = x
                keys |= links
                grew = True
    return sorted(found.values(), key=lambda x: (x.sent, x.id))


def _counts(x: WarningMessage) -> bool:
    """Whether a message of the thread says what the warning is now: an exercise or a
    message refused as out of date does not."""
    return x.status == "Actual" and not (x.state == "ignored" and x.state_reason == OLDER)


def _newer_in(m: WarningMessage, others: list[WarningMessage]) -> bool:
    return any(_counts(x) and x.sent > m.sent for x in others)


# --- the policy ------------------------------------------------------------------------


def rule_for(source: WarningSource, event: str, level: str | None) -> WarningRule | None:
    """The first rule of the source for this event at or above its level. A message with
    no colour counts as the lowest level (white)."""
    rank = signals.level_rank(level) if level else 0
    for r in source.rules:
        if r.event in ("", event) and rank >= signals.level_rank(r.min_level):
            return r
    return None


def decide(s: Session, message: WarningMessage, now: datetime) -> str | None:
    """Apply the policy to a message just received (maybe not yet in the session): sets its
    state, reason, mode and approval deadline. Returns the decision to send it with now
    ("auto") or None. Writes only to other messages of its thread (a cancel, an update
    that ends what is shown); nothing is rendered here."""
    m = message
    if m.status != "Actual":
        _ignore(m, NOT_ACTUAL)
        return None
    others = thread(s, m)
    if m.msg_type == "Cancel":
        _cancel(s, m, others, now)
        return None
    if _newer_in(m, others):  # also an Alert arriving after its own Update
        _ignore(m, OLDER)
        return None
    live = [x for x in others if x.state in IN_EFFECT]
    for x in live:  # a newer message of the warning makes an older one's approval moot
        if x.state == "pending":
            _end(s, x, "superseded", SUPERSEDED, now)
    if m.expires is not None and m.expires <= now:
        reason = EXPIRED_ON_ARRIVAL
    elif not m.matched:
        reason = NO_SCREEN
    else:
        source = m.source or s.get(WarningSource, m.source_id)
        rule = rule_for(source, m.event, m.level)
        if rule is None:
            reason = NO_RULE
        elif rule.action == "ignore":
            reason = POLICY_IGNORES
        else:
            m.mode = rule.mode
            if rule.action == "auto":
                return "auto"
            m.state, m.state_reason = "pending", ""
            m.approve_deadline = (now + timedelta(seconds=rule.timeout_s)
                                  if rule.timeout_s else None)
            return None
    # Not shown: what it replaces is not shown any longer either (its sender replaced it).
    _ignore(m, reason)
    for x in live:
        if x.state == "sent":
            _end(s, x, "superseded", SUPERSEDED, now)
    return None


def _cancel(s: Session, m: WarningMessage, others: list[WarningMessage],
            now: datetime) -> None:
    m.mode = "full"
    if not others:
        _ignore(m, CANCELS_UNKNOWN)
        return
    if _newer_in(m, others):
        _ignore(m, OLDER)
        return
    live = [x for x in others if x.state in IN_EFFECT]
    if not live:
        _ignore(m, CANCELS_ENDED)
        return
    for x in live:
        _end(s, x, "cancelled", CANCELLED, now)
    m.state, m.state_reason, m.decision, m.decided_at = "cancelled", ENDED_OTHERS, "auto", now


def _end(s: Session, x: WarningMessage, state: str, reason: str, now: datetime) -> None:
    """End a message of the thread: its broadcast, if one is still active, and its state."""
    was = x.state
    x.state, x.state_reason, x.approve_deadline = state, reason, None
    if x.broadcast_id is not None:
        bc = s.get(Broadcast, x.broadcast_id)
        if bc is not None and bc.active_at(now):
            broadcasts.cancel(s, system(x.street_id), bc.id)
    audit.record(s, system(x.street_id), "cancel" if state == "cancelled" else "supersede",
                 "warning", x.id, label=x.headline, before={"state": was},
                 after={"state": state, "reason": reason, "broadcast_id": x.broadcast_id})


# --- sending -----------------------------------------------------------------------------


@dataclass
class Prepared:
    """A send worked out and rendered, nothing written yet."""

    message: WarningMessage
    decision: str
    terminals: list  # rows of SCREEN the card can be shown on
    variants: list[contents.Variant] = field(default_factory=list)
    left_out: list[int] = field(default_factory=list)  # screens of a size the card refused


def card_of(m: WarningMessage, source_name: str = "") -> WarningCard:
    issued = (m.effective or m.sent).astimezone(TZ)
    return WarningCard(event_zh=signals.EVENTS.get(m.event, signals.EVENTS["other"]),
                       level=m.level, headline=m.headline, instruction=m.instruction,
                       sender=m.sender_name or source_name,
                       issued=f"{issued.month}月{issued.day}日 {issued:%H:%M} 发布")


def _screens(s: Session, ids: list[int]) -> list:
    if not ids:
        return []
    return list(s.execute(select(*SCREEN).where(
        Terminal.id.in_(ids), Terminal.credential_hash.is_not(None),
        Terminal.revoked_at.is_(None)).order_by(Terminal.id)))


def prepare(s: Session, m: WarningMessage, decision: str, font: str | None) -> Prepared:
    """Read and render (in a job worker): no write. Changes made before (a decision's
    state) stay unflushed until the render is done: no write lock is held meanwhile."""
    with s.no_autoflush:
        return _prepare(s, m, decision, font)


def _prepare(s: Session, m: WarningMessage, decision: str, font: str | None) -> Prepared:
    terminals = _screens(s, [row["terminal_id"] for row in m.matched or []])
    p = Prepared(m, decision, terminals)
    if m.mode != "full" or not terminals:
        return p  # a ticker's text is drawn by the player
    sizes = sorted({(t.width, t.height, t.colour_mode) for t in terminals})
    source = m.source or s.get(WarningSource, m.source_id)
    card = asdict(card_of(m, source.name if source else ""))
    results = workpool.run(render_warning_pngs, [(w, h, ColourMode(c).value) for w, h, c in sizes],
                           card, font, urgent=True)
    refused = set()
    for (w, h, c), r in zip(sizes, results, strict=True):
        v = contents.Variant(w, h, ColourMode(c))
        if isinstance(r, lib.ContentError):
            v.error, v.excluded = contents.refusal(r, "notice_body"), True
            refused.add((w, h, c))
        else:
            v.render = contents.Rendered(*r)
        p.variants.append(v)
    p.left_out = [t.id for t in terminals if (t.width, t.height, t.colour_mode) in refused]
    p.terminals = [t for t in terminals if (t.width, t.height, t.colour_mode) not in refused]
    return p


def write(s: Session, p: Prepared, actor: Actor | None, store: lib.BlobStore,
          font: str | None, now: datetime | None = None) -> WarningMessage:
    """Store the card, the broadcast and the message's new state; end what it replaces."""
    m, now = p.message, now or utcnow()
    if m not in s:
        s.add(m)
        s.flush()
    if not p.terminals:
        _ignore(m, NO_CARD if p.left_out else NO_SCREEN)
        return m
    sender = actor or system(m.street_id)
    writer = system(m.street_id)  # the card is the system's, whoever approved it
    item = _card_item(s, writer, store, m, p, font)
    item.status, item.reviewed_by, item.reviewed_at = ContentStatus.approved, sender.id, now
    item.broadcast_text = True
    text = f"【{m.headline}】{m.instruction}".strip()
    # In force from its `effective` time (CAP: the alert applies from then; usually when it
    # was sent), until `expires`.
    starts = max(now, m.effective) if m.effective is not None else now
    ends = starts + timedelta(days=broadcasts.MAX_DAYS)
    if m.expires is not None:
        ends = min(ends, m.expires)
    bc = broadcasts.send_prepared(s, sender, item, m.mode,
                                  targets(s, m.street_id, {t.id for t in p.terminals}),
                                  reason=f"{m.headline}（{m.sender_name or m.sender}）",
                                  text=text, ends_at=ends, starts_at=starts)
    m.broadcast_id, m.state, m.state_reason = bc.id, "sent", ""
    m.decision, m.decided_at, m.approve_deadline = p.decision, now, None
    m.decided_by = actor.id if actor is not None else None
    audit.record(s, sender, "send", "warning", m.id, label=m.headline,
                 after={"decision": p.decision, "broadcast_id": bc.id, "mode": m.mode,
                        "terminals": len(p.terminals), "left_out": p.left_out,
                        "ends_at": ends.isoformat()})
    for x in thread(s, m):  # shown only now: what it replaces ends now (after it, on screen)
        if x.state in IN_EFFECT and x.sent <= m.sent:
            _end(s, x, "superseded", SUPERSEDED, now)
    return m


def targets(s: Session, street_id: int, ids: set[int]) -> list[tuple[TargetKind, int | None]]:
    """These terminals as few broadcast targets: the street, whole communities and
    buildings (every paired screen of it wanted), then single terminals. A district's
    warning is one row, not a thousand; the deliveries are the same."""
    places = changes.places(s, street_id)
    paired = set(s.scalars(select(Terminal.id).where(
        Terminal.id.in_([p.terminal_id for p in places]),
        Terminal.credential_hash.is_not(None), Terminal.revoked_at.is_(None))))
    if ids == paired:
        return [(TargetKind.street, None)]
    communities: dict[int, set[int]] = defaultdict(set)
    buildings: dict[int, set[int]] = defaultdict(set)
    for p in places:
        if p.terminal_id in paired:
            communities[p.community_id].add(p.terminal_id)
            buildings[p.building_id].add(p.terminal_id)
    out: list[tuple[TargetKind, int | None]] = []
    left = set(ids)
    for kind, units in ((TargetKind.community, communities), (TargetKind.building, buildings)):
        for unit, have in sorted(units.items()):
            if have <= left:
                out.append((kind, unit))
                left -= have
    return out + [(TargetKind.terminal, t) for t in sorted(left)]


def _card_item(s: Session, writer: Actor, store: lib.BlobStore, m: WarningMessage,
               p: Prepared, font: str | None) -> ContentItem:
    text = contents.NoticeText(title=m.headline[:80], body=(m.instruction or m.headline)[:2000],
                               template=CARD_TEMPLATE,
                               exclude=[v.key for v in p.variants if v.excluded])
    meta = contents.Meta(title=m.headline[:120] or m.event_text[:120] or "预警",
                         topic_id=broadcasts.broadcast_topic(s, m.street_id).id,
                         tags=["预警", m.event] if m.event else ["预警"])
    return contents.create_notice(s, writer, store, meta, text, font, variants=p.variants,
                                  regions=False)


def send(s: Session, message: WarningMessage, decision: str, actor: Actor | None = None, *,
         store: lib.BlobStore | None = None, font: str | None = None) -> WarningMessage:
    """Show the message now on its matched screens (`decision`: auto, approved, timeout).
    Call it before writing anything in the transaction (it renders first)."""
    if store is None:
        store, font = _defaults(font)
    p = prepare(s, message, decision, font)
    return write(s, p, actor, store, font)


def _defaults(font: str | None) -> tuple[lib.BlobStore, str | None]:
    from server.storage import blob_store, settings  # the app's, for callers without them

    return blob_store(), font if font is not None else settings().font


# --- staff decisions -------------------------------------------------------------------


def _pending(s: Session, actor: Actor, message_id: int) -> WarningMessage:
    m = s.get(WarningMessage, message_id)
    if m is None or m.street_id != actor.street_id:
        raise NotFound(N_("No such %(what)s."), what="warning")
    actor.require_broadcast(None, "warning")
    if m.state != "pending":
        raise Invalid(N_("This warning is not waiting for a decision."), field="id")
    if m.expires is not None and m.expires <= utcnow():
        raise Invalid(N_("This warning has expired."), field="id")
    return m


def approve(s: Session, actor: Actor, message_id: int, *, store: lib.BlobStore | None = None,
            font: str | None = None) -> WarningMessage:
    """Send a pending message on the screens proposed (street admins with the broadcast
    right)."""
    m = _pending(s, actor, message_id)
    if _newer_in(m, thread(s, m)):
        raise Invalid(N_("A newer message of this warning has arrived; it replaces this "
                         "one."), field="id")
    if store is None:
        store, font = _defaults(font)
    p = prepare(s, m, "approved", font)
    if not p.terminals:
        raise Invalid(N_("None of the proposed screens can show it any more."), field="id")
    write(s, p, actor, store, font)
    audit.record(s, actor, "approve", "warning", m.id, label=m.headline,
                 after={"broadcast_id": m.broadcast_id})
    return m


def reject(s: Session, actor: Actor, message_id: int, reason: str = "") -> WarningMessage:
    m = _pending(s, actor, message_id)
    reason = (reason or "").strip()[:300]
    m.state, m.state_reason, m.approve_deadline = "rejected", reason, None
    m.decision, m.decided_by, m.decided_at = None, actor.id, utcnow()
    audit.record(s, actor, "reject", "warning", m.id, label=m.headline,
                 after={"reason": reason})
    return m


# --- the deadlines job -----------------------------------------------------------------


def run_deadlines(s: Session, now: datetime, *, store: lib.BlobStore | None = None,
                  font: str | None = None) -> dict[str, list[int]]:
    """Pending messages whose approval time ran out are sent (decision "timeout"), and
    messages past their `expires` are marked expired (their broadcasts end by themselves
    at ends_at). Every card is rendered before the first write."""
    due = list(s.scalars(select(WarningMessage).where(
        WarningMessage.state == "pending", WarningMessage.approve_deadline.is_not(None),
        WarningMessage.approve_deadline <= now).order_by(WarningMessage.id)))
    prepared, stale = [], []
    if due and store is None:
        store, font = _defaults(font)
    for m in due:
        if (m.expires is not None and m.expires <= now) or _newer_in(m, thread(s, m)):
            stale.append(m)
        else:
            prepared.append(prepare(s, m, "timeout", font))
    sent = []
    for p in prepared:
        assert store is not None
        write(s, p, None, store, font, now)
        if p.message.state == "sent":
            sent.append(p.message.id)
    for m in stale:  # expired ones are marked just below
        if m.state == "pending" and not (m.expires is not None and m.expires <= now):
            _end(s, m, "superseded", SUPERSEDED, now)
    expired = expire(s, now)
    return {"sent": sent, "expired": expired}


def state_at(m: WarningMessage, now: datetime) -> str:
    """The message's state as of now, for readers between two runs of the deadlines job
    (which stores it): one past its expiry is expired already."""
    if m.state in IN_EFFECT and m.expires is not None and m.expires <= now:
        return "expired"
    return m.state


def expire(s: Session, now: datetime, street_id: int | None = None) -> list[int]:
    """Mark sent and pending messages whose `expires` passed as expired (a reader may call
    it before listing, the deadlines job calls it every few seconds)."""
    q = select(WarningMessage).where(WarningMessage.state.in_(IN_EFFECT),
                                     WarningMessage.expires.is_not(None),
                                     WarningMessage.expires <= now)
    if street_id is not None:
        q = q.where(WarningMessage.street_id == street_id)
    out = []
    for m in s.scalars(q):
        was = m.state
        m.state, m.state_reason, m.approve_deadline = "expired", EXPIRED, None
        audit.record(s, system(m.street_id), "expire", "warning", m.id, label=m.headline,
                     before={"state": was}, after={"state": "expired"})
        out.append(m.id)
    return out
