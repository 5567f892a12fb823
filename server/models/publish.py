"""Publish receipts and time-share mandates (docs/receipts.md, docs/schedules.md).

A Receipt is made in the transaction of every change that alters what screens play
(server/services/receipts.py, from changes.touch): the screens it reaches, and per screen
the manifest version that carries the change and when that screen acknowledged it, had
every file in its cache, and first played the changed content. It belongs to the audit
entry of the change and goes with it (retention).

A Mandate is a share of screen time an authority requires of some content ("反诈宣传每屏
每小时不少于 10 分钟，08:00-22:00"): checked against the plan, optionally enforced by
inserting its items (playlists/mandates.py), and reported from proof of play.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models.schedule import TargetKind


class Receipt(Base):
    __tablename__ = "receipt"
    __table_args__ = (Index("ix_receipt_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    # The changed object's community (None: street-wide), so community staff see their own.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    audit_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit_entry.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # What changed, copied from the audit entry (the item's and schedule's pages find
    # their receipts by these): e.g. approve content 12, update schedule 3.
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    label: Mapped[str] = mapped_column(String(200), default="")
    # The content whose first play after the change counts as "played" (empty: the change
    # plays nothing new, e.g. a screen plan: that stage does not apply).
    content_ids: Mapped[list] = mapped_column(JSON, default=list)
    screens: Mapped[int] = mapped_column(default=0)  # how many it reaches


class ReceiptScreen(Base):
    """One screen of a receipt. `closed_at`: every stage that applies is done, so the
    hub no longer looks at it (the partial index holds open rows only)."""

    __tablename__ = "receipt_screen"
    __table_args__ = (Index("ix_receipt_screen_open", "terminal_id",
                            postgresql_where=text("closed_at IS NULL"),
                            sqlite_where=text("closed_at IS NULL")),)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipt.id", ondelete="CASCADE"),
                                            primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"),
                                             primary_key=True)
    manifest_version: Mapped[int]  # the first version that carries the change
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    played_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Mandate(Base):
    """`share_kind` "minutes" (minutes in each hour of the window) or "percent" (of the
    hour's lit time); the window is local time, [start, end), like a schedule's; dates
    inclusive. Content: a topic, or items (content_ids), or both (either counts)."""

    __tablename__ = "mandate"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    authority: Mapped[str] = mapped_column(String(200), default="")  # who requires it
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id"))
    content_ids: Mapped[list] = mapped_column(JSON, default=list)
    share_kind: Mapped[str] = mapped_column(String(8), default="minutes")
    share: Mapped[float]
    window_start: Mapped[str] = mapped_column(String(5), default="08:00")
    window_end: Mapped[str] = mapped_column(String(5), default="22:00")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    enforce: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    targets: Mapped[list[MandateTarget]] = relationship(cascade="all, delete-orphan")


class MandateTarget(Base):
    """Street, community or building (changes.reach reads it as it reads a schedule's)."""

    __tablename__ = "mandate_target"
    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[TargetKind] = mapped_column(Enum(TargetKind, native_enum=False, length=10))
    ref_id: Mapped[int | None]
    tag: Mapped[str | None] = mapped_column(String(40))
