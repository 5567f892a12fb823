"""Official early warnings (CAP 1.2 / GB/T 35965.1): where they come from, each message as
received, what the policy decided and the broadcast that showed it.

Their meaning (parsing, signal levels, area geometry) lives in server/cap/; the chain from
intake to receipt in server/services/warnings/.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow


class WarningSource(Base):
    """One publisher of warnings to one street: a feed we poll, a system that pushes to our
    webhook, or the street's own uploads (kind "upload", made once per street)."""

    __tablename__ = "warning_source"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(8))  # feed | webhook | upload
    enabled: Mapped[bool] = mapped_column(default=True)
    # feed: a CAP/Atom index or one CAP message, fetched with conditional requests
    url: Mapped[str] = mapped_column(String(500), default="")
    poll_seconds: Mapped[int] = mapped_column(default=60)
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # webhook: HMAC-SHA256 of the body with this secret (also signs receipts posted back);
    # kept readable because verifying needs it
    secret: Mapped[str | None] = mapped_column(String(100))
    # where receipts are posted (JSON), if the source asked for them
    receipt_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rules: Mapped[list[WarningRule]] = relationship(
        cascade="all, delete-orphan", order_by="WarningRule.position")


class WarningRule(Base):
    """The source's policy, read in order, the first match deciding: for an event ("" any)
    at or above a signal level, send at once (auto), wait for a staff approval (approve;
    with timeout_s, sent anyway when it runs out) or only record it (ignore)."""

    __tablename__ = "warning_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("warning_source.id", ondelete="CASCADE"),
                                           index=True)
    position: Mapped[int] = mapped_column(default=0)
    event: Mapped[str] = mapped_column(String(20), default="")  # server.cap.signals key
    min_level: Mapped[str] = mapped_column(String(8))  # white < blue < yellow < orange < red
    action: Mapped[str] = mapped_column(String(8))  # auto | approve | ignore
    mode: Mapped[str] = mapped_column(String(8), default="full")  # full | ticker
    timeout_s: Mapped[int | None]


class WarningMessage(Base):
    """A valid message as received (refused ones are in warning_intake), the meaning read
    from it, the screens its area matched and what became of it."""

    __tablename__ = "warning_message"
    __table_args__ = (UniqueConstraint("street_id", "sender", "identifier"),
                      Index("ix_warning_message_state", "state", "approve_deadline"))
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("warning_source.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_via: Mapped[str] = mapped_column(String(8))  # feed | webhook | upload
    raw_xml: Mapped[str] = mapped_column(Text)
    # CAP fields (one <info>: the zh-CN one if there are several)
    identifier: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(200))
    sent: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # Actual | Exercise | System | Test | Draft
    msg_type: Mapped[str] = mapped_column(String(8))  # Alert | Update | Cancel
    references: Mapped[list] = mapped_column(JSON, default=list)  # [[sender, identifier, sent]]
    profile: Mapped[str] = mapped_column(String(8), default="cap")  # cap | gb (GB/T 35965.1)
    event: Mapped[str] = mapped_column(String(20), default="")  # server.cap.signals key
    event_text: Mapped[str] = mapped_column(String(100), default="")  # as the message says
    level: Mapped[str | None] = mapped_column(String(8))  # signal colour, None if none
    severity: Mapped[str] = mapped_column(String(10), default="Unknown")
    urgency: Mapped[str] = mapped_column(String(10), default="Unknown")
    certainty: Mapped[str] = mapped_column(String(10), default="Unknown")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    headline: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    instruction: Mapped[str] = mapped_column(Text, default="")
    area_desc: Mapped[str] = mapped_column(String(500), default="")
    effective: Mapped[datetime | None] = mapped_column(UTCDateTime)
    onset: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What became of it: pending (awaiting approval) | sent | superseded (an update took
    # over) | cancelled | expired | rejected (by staff) | ignored (policy, not Actual, no
    # screen matched, or older than what we show)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    state_reason: Mapped[str] = mapped_column(String(300), default="")
    decision: Mapped[str | None] = mapped_column(String(8))  # auto | approved | timeout
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approve_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(8), default="full")  # full | ticker
    # [{"terminal_id", "building_id", "community_id", "why"}]: the match, shown to staff
    matched: Mapped[list] = mapped_column(JSON, default=list)
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id"), index=True)
    receipt_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_error: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[WarningSource] = relationship()
    broadcast = relationship("Broadcast")


class WarningIntake(Base):
    """Every message that arrived, accepted or not: refusals keep their reason (logged and
    shown to admins), repeats are recorded as such."""

    __tablename__ = "warning_intake"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("warning_source.id",
                                                             ondelete="SET NULL"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    via: Mapped[str] = mapped_column(String(8))  # feed | webhook | upload
    outcome: Mapped[str] = mapped_column(String(10))  # accepted | duplicate | refused
    reason: Mapped[str] = mapped_column(String(500), default="")
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("warning_message.id", ondelete="SET NULL"))
