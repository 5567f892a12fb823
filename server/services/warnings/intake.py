"""Every warning message that arrives (feed, webhook, upload) goes through `receive`: parsed
with the hardened CAP reader, stored once per street, sender and identifier, matched to the
screens of its area and decided by its source's policy. A bad message never raises: its
refusal is stored in warning_intake with the reason, logged, audited and returned."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import content as lib
from server.cap import parse, signals
from server.cap.message import CapMessage
from server.db import utcnow
from server.models import WarningIntake, WarningMessage, WarningSource
from server.services import audit
from server.services.access import Actor
from server.services.errors import N_
from server.services.warnings import dispatch, matching

log = logging.getLogger(__name__)

SIGNATURE_PREFIX = "sha256="
SOURCE_OFF = N_("the source is turned off")
NOT_A_WARNING = N_("an Ack or Error message is not a warning")
LONG_IDENTIFIER = N_("the identifier or sender is longer than 200 characters")
ALREADY = N_("already received")
KINDS = ("Alert", "Update", "Cancel")


@dataclass
class Outcome:
    outcome: str  # accepted | duplicate | refused
    reason: str  # English; for a refusal, why (CapError's text with its details)
    message: WarningMessage | None
    intake_id: int


def signature(secret: str, body: bytes) -> str:
    """The header value a sender puts on a body: "sha256=<hex HMAC-SHA256>"."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(source: WarningSource, body: bytes, header: str | None) -> bool:
    """The webhook's credential: the HMAC of the raw body with the source's secret,
    compared in constant time."""
    if not source.secret or not header:
        return False
    given = header.strip()
    if not given.lower().startswith(SIGNATURE_PREFIX):
        return False
    given = SIGNATURE_PREFIX + given[len(SIGNATURE_PREFIX):].strip().lower()
    return hmac.compare_digest(signature(source.secret, body).encode(), given.encode())


def _intake(s: Session, source: WarningSource, via: str, outcome: str, reason: str,
            data: bytes, message_id: int | None) -> WarningIntake:
    row = WarningIntake(street_id=source.street_id, source_id=source.id, via=via,
                        outcome=outcome, reason=reason[:500], size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), message_id=message_id)
    s.add(row)
    s.flush()
    return row


def _refuse(s: Session, source: WarningSource, via: str, who: Actor, data: bytes,
            reason: str) -> Outcome:
    row = _intake(s, source, via, "refused", reason, data, None)
    log.warning("warning refused from source %s (%s, %s): %s", source.id, source.name, via,
                reason)
    audit.record(s, who, "refuse", "warning_intake", row.id, label=source.name,
                 after={"via": via, "reason": row.reason, "size": row.size,
                        "sha256": row.sha256})
    return Outcome("refused", reason, None, row.id)


def _message(source: WarningSource, msg: CapMessage, via: str, data: bytes) -> WarningMessage:
    info = msg.info
    sig = signals.signal_of(msg)
    return WarningMessage(
        street_id=source.street_id, source_id=source.id, received_via=via,
        raw_xml=parse.as_utf8(data).decode("utf-8", errors="replace"), identifier=msg.identifier,
        sender=msg.sender, sent=msg.sent, status=msg.status, msg_type=msg.msg_type,
        references=[[r.sender, r.identifier, r.sent.isoformat()] for r in msg.references],
        profile=msg.profile, event=sig.event, event_text=(info.event if info else "")[:100],
        level=sig.level, severity=info.severity if info else "Unknown",
        urgency=info.urgency if info else "Unknown",
        certainty=info.certainty if info else "Unknown",
        sender_name=(info.sender_name if info else "")[:200], headline=sig.headline[:200],
        description=sig.description, instruction=sig.instruction,
        area_desc="、".join(a.desc for a in info.areas)[:500] if info else "",
        effective=info.effective if info else None, onset=info.onset if info else None,
        expires=info.expires if info else None, state="pending", state_reason="",
        mode="full", matched=[])


def receive(s: Session, source: WarningSource, data: bytes, via: str,
            actor: Actor | None = None, *, store: lib.BlobStore | None = None,
            font: str | None = None, now: datetime | None = None) -> Outcome:
    """One arrival. `actor`: the admin who uploaded it (None: the system). A message sent
    at once is rendered before the first write of this transaction."""
    now = now or utcnow()
    who = actor or dispatch.system(source.street_id)
    if not source.enabled:
        return _refuse(s, source, via, who, data, SOURCE_OFF)
    try:
        msg = parse.parse(data)
    except parse.CapError as err:
        return _refuse(s, source, via, who, data, str(err))
    if msg.msg_type not in KINDS:
        return _refuse(s, source, via, who, data, NOT_A_WARNING)
    if len(msg.identifier) > 200 or len(msg.sender) > 200:
        return _refuse(s, source, via, who, data, LONG_IDENTIFIER)
    known = s.scalar(select(WarningMessage).where(
        WarningMessage.street_id == source.street_id, WarningMessage.sender == msg.sender,
        WarningMessage.identifier == msg.identifier))
    if known is not None:
        row = _intake(s, source, via, "duplicate", ALREADY, data, known.id)
        audit.record(s, who, "duplicate", "warning", known.id, label=known.headline,
                     after={"via": via, "intake_id": row.id})
        return Outcome("duplicate", ALREADY, known, row.id)
    m = _message(source, msg, via, data)
    m.matched = matching.match(s, source.street_id, msg)
    decision = dispatch.decide(s, m, now)
    if decision is not None:
        dispatch.send(s, m, decision, store=store, font=font)
    if m not in s:
        s.add(m)
    s.flush()
    row = _intake(s, source, via, "accepted", "", data, m.id)
    log.info("warning %s from %s (%s): %s %s, %d screens, %s", m.identifier, source.name, via,
             m.msg_type, m.headline, len(m.matched), m.state)
    audit.record(s, who, "receive", "warning", m.id, label=m.headline,
                 after={"via": via, "identifier": m.identifier, "msg_type": m.msg_type,
                        "status": m.status, "level": m.level, "matched": len(m.matched),
                        "state": m.state, "reason": m.state_reason,
                        "intake_id": row.id})
    return Outcome("accepted", "", m, row.id)


def receive_committed(s: Session, source: WarningSource, data: bytes, via: str,
                      actor: Actor | None = None) -> Outcome:
    """`receive` and commit. The same message pushed twice at the same instant (a sender's
    retry racing its first try) passes both duplicate checks; the second insert then
    breaks the unique key, and receiving it again finds the first: a duplicate."""
    source_id = source.id
    try:
        out = receive(s, source, data, via, actor)
        s.commit()
    except IntegrityError:
        s.rollback()
        out = receive(s, s.get(WarningSource, source_id), data, via, actor)
        s.commit()
    return out
