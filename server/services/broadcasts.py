"""Emergency broadcasts. No Flask.

A broadcast is stored first (with its deliveries: the terminals its targets reach at send
time), then pushed after the commit (`pending_pushes`, read by server.hub). It bypasses
review but needs a reason and is audited. What it shows is always a content item, so
proof of play, blobs and reports treat it like any other content:
- typed text becomes a notice rendered for every LED size in scope, approved by the
  sender, under the street's broadcast topic;
- a prepared alert template or any approved item is shown as it is.
Terminals that were offline get it in their next HELLO/SYNC answer while it is active.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import content as lib
from player import protocol
from server.db import execute_many, to_driver, utcnow
from server.models import (
    SCREEN,
    AlertTemplate,
    Blob,
    Broadcast,
    BroadcastDelivery,
    BroadcastTarget,
    ColourMode,
    Community,
    ContentItem,
    ContentKind,
    ContentStatus,
    EscalationPeriod,
    Role,
    Screen,
    TargetKind,
    Terminal,
    TerminalState,
    Topic,
)
from server.services import audit, changes, escalation, review_rules, screening
from server.services import content as contents
from server.services.access import Actor
from server.services.errors import N_, Conflict, Forbidden, Invalid, NotFound, ServiceError
from server.services.naming import by_name, name_key
from server.services.schedules import TargetIn, check_targets, owner_community

BROADCAST_TOPIC = "紧急广播"  # reports count broadcast play time under this topic
PUSH_KEY = "signage_broadcast_push"
MAX_TEXT = 500
PENDING, REFUSED = "pending", "refused"  # Broadcast.approval (two people, see send)
MAX_DAYS = 7
TICKER_TITLE_CHARS = 40


@dataclass
class BroadcastIn:
    mode: str  # "full" | "ticker"
    targets: list[TargetIn]
    reason: str
    text: str = ""  # typed now; or one of:
    content_id: int | None = None  # any approved item
    template_id: int | None = None  # a prepared alert template
    title: str = ""
    ends_at: datetime | None = None  # None: until cancelled
    community_id: int | None = None  # owner; None: street-wide (street admins)
    tags: list[str] = field(default_factory=list)


# --- topics and templates ---------------------------------------------------------


def broadcast_topic(s: Session, street_id: int) -> Topic:
    t = s.scalar(select(Topic).where(Topic.street_id == street_id,
                                     Topic.name == BROADCAST_TOPIC))
    if t is None:
        t = Topic(street_id=street_id, name=BROADCAST_TOPIC)
        s.add(t)
        s.flush()
    return t


def list_templates(s: Session, actor: Actor) -> list[AlertTemplate]:
    q = select(AlertTemplate).where(AlertTemplate.street_id == actor.street_id,
                                    actor.community_clause(AlertTemplate.community_id))
    return by_name(s.scalars(q))


def _approved_item(s: Session, actor: Actor, content_id: int) -> ContentItem:
    item = contents.get_item(s, actor, content_id)
    if not contents.is_playable(item, utcnow()):
        raise Invalid(N_("Only approved content inside its validity can be broadcast; "
                         "“%(title)s” is not."), field="content_id", title=item.title)
    return item


def create_template(s: Session, actor: Actor, name: str, content_id: int,
                    community_id: int | None = None) -> AlertTemplate:
    """A template points at an item that went through normal review."""
    owner = owner_community(s, actor, community_id)
    actor.require_broadcast(owner, "alert template")
    name = (name or "").strip()
    if not 1 <= len(name) <= 40:
        raise Invalid(N_("%(field)s must be 1 to %(max)d characters."), field="name", max=40)
    item = _approved_item(s, actor, content_id)
    if owner is not None and item.community_id not in (None, owner):
        raise NotFound(N_("No such %(what)s."), what="content item", field="content_id")
    tpl = AlertTemplate(street_id=actor.street_id, community_id=owner, name=name,
                        content_id=item.id)
    s.add(tpl)
    s.flush()
    audit.record(s, actor, "create", "alert_template", tpl.id, label=name,
                 community_id=owner, after={"name": name, "content_id": item.id})
    changes.touch(s, _terminals_in(s, actor.street_id, owner))  # cached ahead on every player
    return tpl


def delete_template(s: Session, actor: Actor, template_id: int) -> None:
    tpl = s.get(AlertTemplate, template_id)
    if tpl is None or tpl.street_id != actor.street_id:
        raise NotFound(N_("No such %(what)s."), what="alert template")
    actor.require_broadcast(tpl.community_id, "alert template")
    audit.record(s, actor, "delete", "alert_template", tpl.id, label=tpl.name,
                 community_id=tpl.community_id, before={"content_id": tpl.content_id})
    changes.touch(s, _terminals_in(s, tpl.street_id, tpl.community_id))
    s.delete(tpl)


def street_templates(s: Session, street_id: int) -> list[AlertTemplate]:
    return list(s.scalars(
        select(AlertTemplate).where(AlertTemplate.street_id == street_id)
        .options(selectinload(AlertTemplate.content).selectinload(ContentItem.renditions))))


def blobs_of_templates(templates: list[AlertTemplate], place: changes.Place,
                       terminal: Screen, now: datetime) -> set[str]:
    """The blobs of every approved template reaching this terminal (its manifest lists them
    so the player downloads them before the day they are needed)."""
    out: set[str] = set()
    for tpl in templates:
        if tpl.community_id in (None, place.community_id) and \
                contents.is_playable(tpl.content, now):
            sha, _media = _blob_for(tpl.content, terminal)
            if sha:
                out.add(sha)
    return out


def template_blobs(s: Session, terminal: Terminal) -> set[str]:
    place = changes.place_of(s, terminal)
    return blobs_of_templates(street_templates(s, place.street_id), place, terminal, utcnow())


# --- sending ----------------------------------------------------------------------


def _terminals_in(s: Session, street_id: int, community_id: int | None) -> set[int]:
    return {p.terminal_id for p in changes.places(s, street_id)
            if community_id is None or p.community_id == community_id}


def _blob_for(item: ContentItem, terminal: Screen) -> tuple[str | None, str]:
    """The file this terminal shows for the item: the notice page rendered for its size
    (a broadcast shows the first page), or the media file itself."""
    if item.kind != ContentKind.notice:
        return item.blob_sha256, "video" if item.kind == ContentKind.video else "image"
    pages = sorted((r for r in item.renditions if (r.width, r.height, r.colour_mode) ==
                    (terminal.width, terminal.height, terminal.colour_mode)),
                   key=lambda r: r.page)
    if not pages:
        return None, "image"
    return pages[0].blob_sha256, "text" if pages[0].mode == "scroll" else "image"


def _notice_text(b: BroadcastIn) -> contents.NoticeText:
    text = b.text.strip()
    if not 1 <= len(text) <= MAX_TEXT:
        raise Invalid(N_("%(field)s must be 1 to %(max)d characters."), field="text",
                      max=MAX_TEXT)
    notice = contents.NoticeText(title=(b.title or "").strip(), body=text)
    notice.check()
    return notice


def _typed_item(s: Session, actor: Actor, store: lib.BlobStore, b: BroadcastIn,
                owner: int | None, font: str | None, sizes: list[SizeGroup]) -> ContentItem:
    """Rendered for the sizes of the screens it goes to (what the confirmation showed), so a
    panel it does not reach cannot refuse it."""
    notice = _notice_text(b)
    # Rendered (in a job worker) before this transaction's first write, which may be the
    # broadcast topic just below: on SQLite a write lock held while the request waits for
    # the render would stall every other writer of the worker.
    variants = contents.render_variants([(g.width, g.height, g.colour_mode) for g in sizes],
                                        notice.title, notice.body, notice.footer,
                                        notice.template, font, urgent=True)
    meta = contents.Meta(title=notice.title or notice.body[:TICKER_TITLE_CHARS],
                         topic_id=broadcast_topic(s, actor.street_id).id, community_id=owner,
                         tags=b.tags)
    # The broadcast right covers writing the broadcast's own text, also for a reviewer
    # granted it (the library's rule lets only editors and admins write notices).
    writer = actor if actor.role != Role.reviewer else replace(actor, role=Role.editor)
    item = contents.create_notice(s, writer, store, meta, notice, font, variants=variants,
                                  regions=False)
    # Sent under the sender's authority (and audited with the reason), not reviewed; listed
    # with the broadcasts, not in the library.
    item.status, item.reviewed_by, item.reviewed_at = ContentStatus.approved, actor.id, utcnow()
    item.broadcast_text = True
    return item


@dataclass
class SizeGroup:
    """The target screens of one size and colour mode, and what they will show."""

    width: int
    height: int
    colour_mode: ColourMode
    terminals: int
    png: bytes | None = None  # true pixels: the first page (a broadcast shows only it)
    pages: int = 0  # pages the text needs at this size (more than one: only the first shows)
    scroll: bool = False  # a strip that scrolls across the screen
    blob: str | None = None  # an existing item's file (template or approved item)
    media: str = "image"
    error: Invalid | None = None  # why this size cannot show it


@dataclass
class Plan:
    """What a send would do, checked and not yet written: the confirmation shows it."""

    owner: int | None
    checked: list[tuple]
    terminals: list  # rows of SCREEN
    communities: list[str]
    sizes: list[SizeGroup]
    item: ContentItem | None  # a template's or approved item's; None for typed text
    community_ids: set[int] = field(default_factory=set)  # of the screens reached


def check(s: Session, actor: Actor, b: BroadcastIn) -> Plan:
    """Everything `send` refuses, refused without writing or rendering; and the screens the
    targets reach, by size and community (what the sender confirms)."""
    owner = owner_community(s, actor, b.community_id)
    actor.require_broadcast(owner)
    if b.mode not in protocol.BROADCAST_MODES:
        raise Invalid(N_("Choose full screen or ticker."), field="mode")
    reason = (b.reason or "").strip()
    if not 1 <= len(reason) <= 500:
        raise Invalid(N_("Give the reason for this broadcast (1 to 500 characters)."),
                      field="reason")
    now = utcnow()
    if b.ends_at is not None:
        if b.ends_at.tzinfo is None:
            raise Invalid(N_("%(field)s needs a time zone."), field="ends_at")
        if b.ends_at <= now:
            raise Invalid(N_("The end must be in the future."), field="ends_at")
        if b.ends_at > now + timedelta(days=MAX_DAYS):
            raise Invalid(N_("A broadcast lasts at most %(days)d days; schedule longer "
                             "campaigns as content."), field="ends_at", days=MAX_DAYS)
    checked = check_targets(s, actor, owner, b.targets)
    sources = sum(x is not None and x != "" for x in (b.text.strip(), b.content_id,
                                                      b.template_id))
    if sources != 1:
        raise Invalid(N_("Type a text, or choose one template or one approved item."),
                      field="text")
    item = None
    if b.template_id is not None:
        tpl = s.get(AlertTemplate, b.template_id)
        if tpl is None or tpl.street_id != actor.street_id or not actor.sees(tpl.community_id):
            raise NotFound(N_("No such %(what)s."), what="alert template", field="template_id")
        item = _approved_item(s, actor, tpl.content_id)
    elif b.content_id is not None:
        item = _approved_item(s, actor, b.content_id)
    else:
        _notice_text(b)
        screening.screen_texts(s, actor.street_id, {"title": b.title, "text": b.text})
    targets = [SimpleNamespace(kind=k, ref_id=r, tag=t) for k, r, t in checked]
    terminals = _reached(s, SimpleNamespace(street_id=actor.street_id, community_id=owner,
                                            targets=targets))
    if not terminals:
        raise Invalid(N_("These targets contain no paired terminal."), field="targets")
    by_size = Counter((t.width, t.height, t.colour_mode) for t in terminals)
    sizes = [SizeGroup(w, h, ColourMode(m), n) for (w, h, m), n in
             sorted(by_size.items(), key=lambda kv: (-kv[1], -kv[0][0] * kv[0][1]))]
    ids = {p.terminal_id: p.community_id for p in changes.places(
        s, actor.street_id, [t.id for t in terminals])}
    names = dict(s.execute(select(Community.id, Community.name)
                           .where(Community.id.in_(set(ids.values())))).all())
    return Plan(owner, checked, terminals, sorted(names.values()), sizes, item,
                set(ids.values()))


def held_by(s: Session, actor: Actor, plan: Plan) -> EscalationPeriod | None:
    """The escalated-review period that makes this send wait for a second person: one
    covering a community the broadcast reaches (or its owner), or None."""
    owner = {plan.owner} if plan.owner is not None else set()
    return escalation.any_in_force(s, actor.street_id, plan.community_ids | owner)


def preview(s: Session, actor: Actor, b: BroadcastIn, font: str | None = None) -> Plan:
    """`check`, and what each target screen size will show: typed text rendered for each
    size (in a job worker, as sending renders it), a template's or item's own file."""
    plan = check(s, actor, b)
    if b.mode == "ticker":
        return plan  # the player draws the ticker's text itself, over what plays
    if plan.item is not None:
        for g in plan.sizes:
            g.blob, g.media = _blob_for(plan.item, g)  # type: ignore[arg-type]
            if plan.item.kind != ContentKind.notice:
                g.blob = plan.item.thumbnail_sha256 or g.blob
        return plan
    notice = _notice_text(b)
    variants = contents.render_variants([(g.width, g.height, g.colour_mode) for g in plan.sizes],
                                        notice.title, notice.body, notice.footer,
                                        notice.template, font, urgent=True)
    for g, v in zip(plan.sizes, variants, strict=True):
        if v.error is not None:
            g.error = v.error
        elif v.render is not None:
            g.png, g.pages = v.render.pages[0], len(v.render.pages)
            g.scroll = v.render.mode == "scroll"
    return plan


def send(s: Session, actor: Actor, store: lib.BlobStore, b: BroadcastIn,
         font: str | None = None, confirmed_terminals: int | None = None) -> Broadcast:
    """`confirmed_terminals`: the count the sender confirmed; if the targets now reach a
    different number of screens the send is refused, to be confirmed again."""
    plan = check(s, actor, b)
    if confirmed_terminals is not None and confirmed_terminals != len(plan.terminals):
        raise Invalid(N_("The targets now reach %(count)d screens, not the %(confirmed)d you "
                         "confirmed; check and confirm again."), field="targets",
                      count=len(plan.terminals), confirmed=confirmed_terminals)
    owner, checked, now = plan.owner, plan.checked, utcnow()
    item = plan.item or _typed_item(s, actor, store, b, owner, font, plan.sizes)
    reason = b.reason.strip()
    ticker_text = b.text.strip() or item.notice_body or item.title
    bc = Broadcast(street_id=actor.street_id, community_id=owner, mode=b.mode,
                   content_id=item.id, text=ticker_text[:MAX_TEXT], reason=reason,
                   created_by=actor.id, starts_at=now, ends_at=b.ends_at)
    period = held_by(s, actor, plan)
    if period is None:
        return _deliver(s, actor, bc, item, checked)
    # Two people: stored, not delivered; a second street-level person approves it.
    bc.approval = PENDING
    _store(s, bc, checked)
    audit.record(s, actor, "broadcast_pending", "broadcast", bc.id, label=item.title,
                 community_id=bc.community_id,
                 after={"mode": bc.mode, "content_id": item.id, "reason": bc.reason,
                        "targets": sorted([k.value, r, t] for k, r, t in checked),
                        "ends_at": protocol.iso(bc.ends_at) if bc.ends_at else None,
                        "escalation_period": period.id, "approval": PENDING})
    return bc


def approval_refusal(s: Session, actor: Actor, bc: Broadcast) -> ServiceError | None:
    """Why `actor` may not approve this waiting broadcast, or None: a second person (not its
    sender) with the broadcast right at street level."""
    if bc.approval != PENDING:
        return Conflict(N_("This broadcast does not wait for an approval."))
    if not (actor.may_broadcast and review_rules.is_street_level(actor.role,
                                                                 actor.community_id)):
        return Forbidden(N_("During an escalated-review period a broadcast needs the "
                            "approval of a street administrator."))
    if actor.id is not None and actor.id == bc.created_by:
        return Forbidden(N_("You sent this broadcast; a second person must approve it."))
    return None


def may_approve(s: Session, actor: Actor, bc: Broadcast) -> bool:
    return approval_refusal(s, actor, bc) is None


def may_refuse(s: Session, actor: Actor, bc: Broadcast) -> bool:
    """The approvers refuse it; its sender may withdraw it."""
    if bc.approval != PENDING:
        return False
    return (actor.id is not None and actor.id == bc.created_by) or may_approve(s, actor, bc)


def approve(s: Session, actor: Actor, broadcast_id: int) -> Broadcast:
    """The second person's approval: delivered now, exactly as a send without a period
    (the targets reached now, pushed after the commit)."""
    bc = _get(s, actor, broadcast_id)
    refused = approval_refusal(s, actor, bc)
    if refused is not None:
        raise refused
    now = utcnow()
    if bc.ends_at is not None and bc.ends_at <= now:
        raise Invalid(N_("This broadcast ended before it was approved; send it again."),
                      field="id")
    bc.approval, bc.approved_by, bc.approved_at = "", actor.id, now
    bc.starts_at = now
    audit.record(s, actor, "approve", "broadcast", bc.id, label=bc.content.title,
                 community_id=bc.community_id, before={"approval": PENDING},
                 after={"approval": "approved", "sender": bc.created_by})
    _fan_out(s, actor, bc, bc.content, [(t.kind, t.ref_id, t.tag) for t in bc.targets])
    return bc


def refuse(s: Session, actor: Actor, broadcast_id: int, reason: str = "") -> Broadcast:
    """Refused by an approver, or withdrawn by its sender: it never reaches a screen."""
    bc = _get(s, actor, broadcast_id)
    if not may_refuse(s, actor, bc):
        raise approval_refusal(s, actor, bc) or Forbidden(
            N_("Your role does not allow this action."))
    now = utcnow()
    bc.approval, bc.approved_by, bc.approved_at = REFUSED, actor.id, now
    bc.cancelled_at, bc.cancelled_by = now, actor.id  # never active, whatever reads it
    audit.record(s, actor, "refuse", "broadcast", bc.id, label=bc.content.title,
                 community_id=bc.community_id, before={"approval": PENDING},
                 after={"approval": REFUSED, "reason": (reason or "").strip()[:500]})
    return bc


def send_prepared(s: Session, actor: Actor, item: ContentItem, mode: str,
                  targets: list[tuple[TargetKind, int | None]], reason: str, text: str,
                  ends_at: datetime | None, starts_at: datetime | None = None) -> Broadcast:
    """A street-wide broadcast of a ready item to targets already chosen, stored, audited
    and pushed as `send` does: an official warning's card, whose policy chose the screens
    and whose sender may be the system (services.warnings.dispatch). `starts_at` later
    than now: pushed now, shown from then (the player holds it until its start)."""
    bc = Broadcast(street_id=actor.street_id, community_id=None, mode=mode, content_id=item.id,
                   text=text[:MAX_TEXT], reason=reason[:500], created_by=actor.id,
                   starts_at=max(utcnow(), starts_at or utcnow()), ends_at=ends_at)
    return _deliver(s, actor, bc, item, [(k, r, None) for k, r in targets])


def _store(s: Session, bc: Broadcast, checked: list[tuple]) -> None:
    bc.targets = [BroadcastTarget(kind=k, ref_id=r, tag=t) for k, r, t in checked]
    s.add(bc)
    s.flush()


def _deliver(s: Session, actor: Actor, bc: Broadcast, item: ContentItem,
             checked: list[tuple]) -> Broadcast:
    _store(s, bc, checked)
    return _fan_out(s, actor, bc, item, checked)


def _fan_out(s: Session, actor: Actor, bc: Broadcast, item: ContentItem,
             checked: list[tuple]) -> Broadcast:
    """The deliveries to the terminals the targets reach now, audited, pushed after the
    commit."""
    terminals = _reached(s, bc)
    if not terminals:
        raise Invalid(N_("These targets contain no paired terminal."), field="targets")
    execute_many(s, "INSERT INTO broadcast_delivery (broadcast_id, terminal_id) VALUES (?, ?)",
                 [(bc.id, t.id) for t in terminals])
    audit.record(s, actor, "broadcast", "broadcast", bc.id, label=item.title,
                 community_id=bc.community_id,
                 after={"mode": bc.mode, "content_id": item.id, "reason": bc.reason,
                        "targets": sorted([k.value, r, t] for k, r, t in checked),
                        "ends_at": protocol.iso(bc.ends_at) if bc.ends_at else None,
                        "terminals": len(terminals)})
    _push(s, protocol.BROADCAST, bc, terminals)
    return bc


def _reached(s: Session, bc: Broadcast | SimpleNamespace) -> list:
    reached = changes.reach(bc)
    ids = [p.terminal_id for p in changes.places(s, bc.street_id) if reached(p)]
    if not ids:
        return []
    q = (select(*SCREEN).where(Terminal.id.in_(ids), Terminal.credential_hash.is_not(None),
                               Terminal.revoked_at.is_(None)).order_by(Terminal.id))
    return list(s.execute(q))


def _get(s: Session, actor: Actor, broadcast_id: int) -> Broadcast:
    bc = s.get(Broadcast, broadcast_id)
    if bc is None or bc.street_id != actor.street_id or not actor.sees(bc.community_id):
        raise NotFound(N_("No such %(what)s."), what="broadcast")
    return bc


def require_cancel(s: Session, actor: Actor, broadcast_id: int) -> Broadcast:
    """The broadcast, if `actor` may cancel it (access.may_broadcast, and its scope): the
    cancel's check, also asked by the confirmation page before it offers the button."""
    bc = _get(s, actor, broadcast_id)
    actor.require_broadcast(bc.community_id)
    return bc


def cancel(s: Session, actor: Actor, broadcast_id: int) -> Broadcast:
    bc = require_cancel(s, actor, broadcast_id)
    if bc.cancelled_at is not None or not bc.active_at(utcnow()):
        raise Invalid(N_("This broadcast has already ended."), field="id")
    bc.cancelled_at, bc.cancelled_by = utcnow(), actor.id
    audit.record(s, actor, "cancel", "broadcast", bc.id, label=bc.content.title,
                 community_id=bc.community_id)
    terminals = list(s.execute(select(*SCREEN).join(
        BroadcastDelivery, BroadcastDelivery.terminal_id == Terminal.id).where(
        BroadcastDelivery.broadcast_id == bc.id)))
    _push(s, protocol.BROADCAST_END, bc, terminals)
    return bc


# --- what terminals get ---------------------------------------------------------------


def payload(s: Session, bc: Broadcast, terminal: Screen) -> dict:
    """The BROADCAST event for one terminal (the blob differs by screen size). A ticker's
    blob is not downloaded (the player draws the text); it names the play records."""
    item = bc.content
    sha, media = _blob_for(item, terminal)
    blob = s.get(Blob, sha) if sha else None
    body = {"id": bc.id, "mode": bc.mode, "content_id": item.id, "topic_id": item.topic_id,
            "sha256": sha, "size": blob.size if blob else 0, "media": media,
            "duration_s": item.play_seconds, "text": bc.text,
            "starts_at": protocol.iso(bc.starts_at),
            "ends_at": protocol.iso(bc.ends_at) if bc.ends_at else None}
    # Signed by the street (Ed25519 is deterministic: one payload, one signature, so
    # _push's grouping by the body's repr still holds). Imported here: this file's other
    # functions are another change's, and its imports with them.
    from player.signatures import broadcast_statement
    from server.services import signing

    return signing.signed(s, bc.street_id, body, broadcast_statement(body))


def _push(s: Session, event: str, bc: Broadcast, terminals: list) -> None:
    """Queue the event for after the commit, one message per distinct payload (terminals of
    one screen size share it, so the payload is made once per size)."""
    sizes: dict[tuple, list] = defaultdict(list)  # rows of SCREEN
    for t in terminals:
        sizes[(t.width, t.height, t.colour_mode)].append(t)
    groups: dict[str, tuple[dict, list[int]]] = {}
    for same in sizes.values():
        body = payload(s, bc, same[0]) if event == protocol.BROADCAST else {"id": bc.id}
        key = repr(sorted(body.items()))
        groups.setdefault(key, (body, []))[1].extend(t.id for t in same)
    s.info.setdefault(PUSH_KEY, []).extend((event, body, ids) for body, ids in groups.values())


def pending_pushes(s: Session) -> list[tuple[str, dict, list[int]]]:
    """Taken once, after the commit (or dropped after a rollback)."""
    return s.info.pop(PUSH_KEY, [])


def active_for_many(s: Session, terminals: list[Screen],
                    now: datetime | None = None) -> dict[int, list[dict]]:
    """Every broadcast each terminal should show now (for HELLO/SYNC answers): the
    deliveries read as columns, each broadcast loaded once and its payload made once per
    screen (a fleet shares a few; loading a Broadcast per delivery row cost 0.1 s for
    1,000 terminals and ten broadcasts)."""
    now = now or utcnow()
    by_id = {t.id: t for t in terminals}
    out: dict[int, list[dict]] = {tid: [] for tid in by_id}
    if not by_id:
        return out
    rows = s.execute(
        select(BroadcastDelivery.terminal_id, BroadcastDelivery.broadcast_id).join(Broadcast)
        .where(BroadcastDelivery.terminal_id.in_(by_id), Broadcast.cancelled_at.is_(None),
               Broadcast.starts_at <= now).order_by(Broadcast.id)).all()
    if not rows:
        return out
    active = {bc.id: bc for bc in s.scalars(
        select(Broadcast).where(Broadcast.id.in_({b for _t, b in rows}))
        .options(selectinload(Broadcast.content).selectinload(ContentItem.renditions)))
        if bc.active_at(now)}
    made: dict[tuple, dict] = {}
    for tid, bid in rows:
        if bid in active:
            t = by_id[tid]
            key = (bid, t.width, t.height, t.colour_mode)
            if key not in made:
                made[key] = payload(s, active[bid], t)
            out[tid].append(made[key])
    return out


def active_for(s: Session, terminal: Terminal, now: datetime | None = None) -> list[dict]:
    return active_for_many(s, [terminal], now)[terminal.id]


def full_screen_now(s: Session, now: datetime | None = None) -> set[int]:
    """Terminals an active full-screen broadcast holds (their picture stays on purpose)."""
    now = now or utcnow()
    active = [bc.id for bc in s.scalars(select(Broadcast).where(
        Broadcast.mode == "full", Broadcast.cancelled_at.is_(None),
        Broadcast.starts_at <= now)) if bc.active_at(now)]
    return set(s.scalars(select(BroadcastDelivery.terminal_id)
                         .where(BroadcastDelivery.broadcast_id.in_(active)))) if active else set()


def blob_allowed(s: Session, terminal: Terminal, sha: str) -> bool:
    """May this terminal download `sha` because of an active broadcast or a template?"""
    return any(p["sha256"] == sha for p in active_for(s, terminal)) or \
        sha in template_blobs(s, terminal)


def acknowledge_many(s: Session, acks: list[tuple[int, dict]]) -> list[str | None]:
    """Terminals say broadcasts appeared: (terminal id, checked BROADCAST_SHOWN) each, read
    in one query and written in one executemany. Per ack the reason it is refused, or None
    (a repeat is accepted and ignored)."""
    if not acks:
        return []
    d_ = BroadcastDelivery
    shown = {(b, t): done for b, t, done in s.execute(
        select(d_.broadcast_id, d_.terminal_id, d_.shown_at.is_not(None)).where(
            d_.broadcast_id.in_({d["id"] for _t, d in acks}),
            d_.terminal_id.in_({t for t, _d in acks})))}
    out: list[str | None] = []
    first: dict[tuple[int, int], tuple] = {}
    to_db = to_driver(s)
    acked = to_db(utcnow())
    for terminal_id, d in acks:
        key = (d["id"], terminal_id)
        if key not in shown:
            out.append("no such broadcast for this terminal")
            continue
        if not shown[key] and key not in first:
            first[key] = (to_db(d["shown_at"]), acked, d.get("thumbnail_png_base64"), *key)
        out.append(None)
    execute_many(s, "UPDATE broadcast_delivery SET shown_at = ?, acked_at = ?, thumbnail_png = ?"
                 " WHERE broadcast_id = ? AND terminal_id = ? AND shown_at IS NULL",
                 [first[k] for k in sorted(first)])
    return out


def acknowledge(s: Session, terminal_id: int, d: dict) -> bool:
    """One acknowledgement: True if it was the first, False for a repeat."""
    row = s.get(BroadcastDelivery, (d["id"], terminal_id))
    first = row is not None and row.shown_at is None
    error = acknowledge_many(s, [(terminal_id, d)])[0]
    if error:
        raise protocol.ProtocolError(error)
    s.expire(row)  # written around the ORM
    return first


# --- reading ----------------------------------------------------------------------------


def list_broadcasts(s: Session, actor: Actor, limit: int = 50) -> list[Broadcast]:
    q = (select(Broadcast).where(Broadcast.street_id == actor.street_id,
                                 actor.community_clause(Broadcast.community_id))
         .order_by(Broadcast.id.desc()).limit(limit))
    return list(s.scalars(q))


def get(s: Session, actor: Actor, broadcast_id: int) -> Broadcast:
    return _get(s, actor, broadcast_id)


def progress(s: Session, actor: Actor, broadcast_id: int) -> dict:
    """"71 / 76 showing", and for every terminal not showing it, why as far as we know."""
    bc = _get(s, actor, broadcast_id)
    now = utcnow()
    # Columns, not objects: the page polls this while a thousand screens acknowledge, and
    # a delivery row carries its thumbnail.
    rows = s.execute(
        select(BroadcastDelivery.terminal_id, BroadcastDelivery.shown_at,
               BroadcastDelivery.thumbnail_png.is_not(None), Terminal.name,
               TerminalState.online, TerminalState.last_seen_at)
        .join(Terminal, Terminal.id == BroadcastDelivery.terminal_id)
        .outerjoin(TerminalState, TerminalState.terminal_id == Terminal.id)
        .where(BroadcastDelivery.broadcast_id == bc.id)).all()
    rows.sort(key=lambda r: name_key(r[3]))  # 1栋 before 10栋
    terminals = []
    for terminal_id, shown_at, has_thumbnail, name, online, last_seen_at in rows:
        if shown_at is not None:
            why = None
        elif not online:
            why = ("offline", last_seen_at)
        else:
            why = ("waiting", None)
        terminals.append({"terminal_id": terminal_id, "name": name, "shown_at": shown_at,
                          "thumbnail": bool(has_thumbnail),
                          "problem": why[0] if why else None,
                          "since": why[1] if why else None})
    shown = sum(1 for t in terminals if t["shown_at"] is not None)
    state = (bc.approval if bc.approval in (PENDING, REFUSED) else
             "cancelled" if bc.cancelled_at else "active" if bc.active_at(now) else "ended")
    by_state: dict[str, int] = defaultdict(int)
    for t in terminals:
        by_state[t["problem"] or "showing"] += 1
    return {"id": bc.id, "state": state, "mode": bc.mode, "title": bc.content.title,
            "reason": bc.reason, "starts_at": bc.starts_at, "ends_at": bc.ends_at,
            "cancelled_at": bc.cancelled_at, "shown": shown, "total": len(terminals),
            "approval": bc.approval, "created_by": bc.created_by,
            "approved_by": bc.approved_by, "approved_at": bc.approved_at,
            "counts": dict(by_state), "terminals": terminals}


def thumbnail(s: Session, actor: Actor, broadcast_id: int, terminal_id: int) -> str | None:
    _get(s, actor, broadcast_id)
    row = s.get(BroadcastDelivery, (broadcast_id, terminal_id))
    return row.thumbnail_png if row else None
