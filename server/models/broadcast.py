"""Emergency broadcasts: stored first, pushed at once, acknowledged by every screen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models.schedule import _Target


class Broadcast(Base):
    """What to show (a content item: a notice typed for the occasion, a prepared template or
    any approved item), how (full screen or ticker), where (targets, resolved to the
    deliveries at send time) and until when."""

    __tablename__ = "broadcast"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))  # full | ticker
    content_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Two people during an escalated-review period: "pending" until a second person with the
    # right approves it (nothing is delivered before), "" when no approval was needed.
    approval: Mapped[str] = mapped_column(String(10), default="", server_default="")
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content = relationship("ContentItem")
    targets: Mapped[list[BroadcastTarget]] = relationship(cascade="all, delete-orphan")
    deliveries: Mapped[list[BroadcastDelivery]] = relationship(cascade="all, delete-orphan")

    def active_at(self, at: datetime) -> bool:
        return (self.cancelled_at is None and self.approval != "pending" and self.starts_at <= at
                and (self.ends_at is None or at < self.ends_at))


class BroadcastTarget(_Target, Base):
    __tablename__ = "broadcast_target"
    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id", ondelete="CASCADE"),
                                              index=True)


class BroadcastDelivery(Base):
    """One target terminal of a broadcast and its acknowledgement (the progress view)."""

    __tablename__ = "broadcast_delivery"
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcast.id", ondelete="CASCADE"), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(
        ForeignKey("terminal.id", ondelete="CASCADE"), primary_key=True, index=True)
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the terminal's word
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when we heard it
    thumbnail_png: Mapped[str | None] = mapped_column(Text)  # base64, a few KB


class AlertTemplate(Base):
    """A prepared, approved alert (typhoon, heavy rain, water cut...): cached on every player
    in its scope before it is needed, so sending it downloads nothing."""

    __tablename__ = "alert_template"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    content_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"))
    content = relationship("ContentItem")
