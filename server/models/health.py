"""Terminal health: alerts for staff and each terminal's status history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class Alert(Base):
    """down / stuck stay open until the terminal is healthy again; recovered is an instant
    (opened and closed at once), kept so the list tells the whole story."""

    __tablename__ = "terminal_alert"
    __table_args__ = (Index("ix_terminal_alert_terminal_opened", "terminal_id", "opened_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # down | stuck | recovered
    reason: Mapped[str] = mapped_column(String(20))  # key of services.health.REASONS
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # the reason's parameters
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TerminalEvent(Base):
    """One line of a terminal's status history: online, offline, screen on/off, health."""

    __tablename__ = "terminal_event"
    __table_args__ = (Index("ix_terminal_event_terminal_at", "terminal_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(12))  # see services.health.EVENT_KINDS
    reason: Mapped[str] = mapped_column(String(20), default="")
