"""Playlists, schedules and screen plans as staff store them.

Their meaning lives in playlists/ (the resolver); these tables only hold the rules.
`server/services/manifests.py` turns them into a playlists.model.TerminalPlan.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow
from server.models.layout import Layout


class Playlist(Base):
    __tablename__ = "playlist"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entries: Mapped[list[PlaylistEntry]] = relationship(
        cascade="all, delete-orphan", order_by="PlaylistEntry.position"
    )


class PlaylistEntry(Base):
    __tablename__ = "playlist_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(
        ForeignKey("playlist.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    content_id: Mapped[int] = mapped_column(ForeignKey("content_item.id"), index=True)
    duration_s: Mapped[float | None]  # None: the item's own duration
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content = relationship("ContentItem")


class ScheduleKind(enum.StrEnum):
    normal = "normal"
    filler = "filler"  # plays when nothing else does
    interrupt = "interrupt"  # above every normal schedule (emergency broadcasts)


class TargetKind(enum.StrEnum):
    street = "street"
    community = "community"
    building = "building"
    terminal = "terminal"
    tag = "tag"


class _Recurring:
    """Date range, weekdays and daily windows, as the resolver reads them."""

    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    weekdays: Mapped[list] = mapped_column(JSON, default=lambda: list(range(7)))
    windows: Mapped[list] = mapped_column(JSON, default=lambda: [["00:00", "00:00"]])
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Schedule(_Recurring, Base):
    __tablename__ = "schedule"
    __table_args__ = (
        CheckConstraint("priority BETWEEN -1000 AND 1000", name="priority_range"),
        # A schedule plays a playlist or frames the screen with a layout, never both.
        CheckConstraint("(playlist_id IS NULL) <> (layout_id IS NULL)",
                        name="playlist_or_layout"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    playlist_id: Mapped[int | None] = mapped_column(ForeignKey("playlist.id"), index=True)
    layout_id: Mapped[int | None] = mapped_column(ForeignKey("layout.id"), index=True)
    kind: Mapped[ScheduleKind] = mapped_column(
        Enum(ScheduleKind, native_enum=False, length=10), default=ScheduleKind.normal
    )
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    playlist: Mapped[Playlist | None] = relationship()
    layout: Mapped[Layout | None] = relationship()
    targets: Mapped[list[ScheduleTarget]] = relationship(cascade="all, delete-orphan")


class ScreenPlan(_Recurring, Base):
    """Screen on/off and brightness by time of day (night cap for the residents)."""

    __tablename__ = "screen_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    screen_on: Mapped[bool] = mapped_column(default=True)
    brightness: Mapped[int] = mapped_column(default=100)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    targets: Mapped[list[ScreenPlanTarget]] = relationship(cascade="all, delete-orphan")


class _Target:
    kind: Mapped[TargetKind] = mapped_column(Enum(TargetKind, native_enum=False, length=10))
    ref_id: Mapped[int | None]  # community, building or terminal id
    tag: Mapped[str | None] = mapped_column(String(40))


class ScheduleTarget(_Target, Base):
    __tablename__ = "schedule_target"
    __table_args__ = (Index("ix_schedule_target_ref", "kind", "ref_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"),
                                             index=True)


class ScreenPlanTarget(_Target, Base):
    __tablename__ = "screen_plan_target"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("screen_plan.id", ondelete="CASCADE"),
                                         index=True)
