"""Planned time, stored like played time (server/services/planned.py writes it).

planned_hour is what the schedule says each terminal should show, per content and UTC
hour, while its screen is planned on; it is written ahead and rewritten from the moment
of any change that concerns the terminal. Once an hour is over, it is closed into
planned_day and planned_month and their per-terminal and per-item slices (and
uptime_hour into uptime_day and uptime_month), so a report of any length reads months
and days, and hour rows only for the hour or two not yet closed. Rows carry building, community and topic like the played rollups, so one
`_where` scopes both.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class PlannedHour(Base):
    __tablename__ = "planned_hour"
    # Reports read the open days by hour across all terminals: the index carries the
    # scope and the sums, so SQLite answers from it alone.
    __table_args__ = (Index("ix_planned_hour_hour", "hour", "community_id", "terminal_id",
                            "content_id", "building_id", "topic_id", "seconds"),)
    terminal_id: Mapped[int] = mapped_column(primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    content_id: Mapped[int] = mapped_column(primary_key=True)
    # Where the terminal stood (as in play_hour): a move splits the hour it happens in.
    building_id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int | None]
    community_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)


class _PlannedByTerminalContent:
    """A closed day's or month's planned seconds of one terminal and item."""

    terminal_id: Mapped[int]
    content_id: Mapped[int]
    building_id: Mapped[int]
    topic_id: Mapped[int | None]
    community_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)


class PlannedDay(_PlannedByTerminalContent, Base):
    """Local days (Asia/Shanghai) of planned_hour: its closed hours."""

    __tablename__ = "planned_day"
    __table_args__ = (PrimaryKeyConstraint("day", "terminal_id", "content_id", "building_id"),
                      Index("ix_planned_day_topic_day", "topic_id", "day"))
    day: Mapped[date] = mapped_column(Date)


class PlannedMonth(_PlannedByTerminalContent, Base):
    """Local months (their first day) of planned_hour: its closed hours."""

    __tablename__ = "planned_month"
    __table_args__ = (PrimaryKeyConstraint("month", "terminal_id", "content_id", "building_id"),
                      Index("ix_planned_month_topic_month", "topic_id", "month"))
    month: Mapped[date] = mapped_column(Date)


class _PlannedByTerminal:
    """Closed days' planned seconds of one terminal, whatever content (as play_terminal_*)."""

    terminal_id: Mapped[int]
    building_id: Mapped[int]
    community_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)


class PlannedTerminalDay(_PlannedByTerminal, Base):
    __tablename__ = "planned_terminal_day"
    __table_args__ = (PrimaryKeyConstraint("day", "terminal_id", "building_id"),)
    day: Mapped[date] = mapped_column(Date)


class PlannedTerminalMonth(_PlannedByTerminal, Base):
    __tablename__ = "planned_terminal_month"
    __table_args__ = (PrimaryKeyConstraint("month", "terminal_id", "building_id"),)
    month: Mapped[date] = mapped_column(Date)


class _PlannedByContent:
    """Closed days' planned seconds of one item in one community (as play_content_*)."""

    community_id: Mapped[int]
    content_id: Mapped[int]
    topic_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)


class PlannedContentDay(_PlannedByContent, Base):
    __tablename__ = "planned_content_day"
    __table_args__ = (PrimaryKeyConstraint("day", "community_id", "content_id"),)
    day: Mapped[date] = mapped_column(Date)


class PlannedContentMonth(_PlannedByContent, Base):
    __tablename__ = "planned_content_month"
    __table_args__ = (PrimaryKeyConstraint("month", "community_id", "content_id"),)
    month: Mapped[date] = mapped_column(Date)


class ClosedHours(Base):
    """Every hour before `before` is closed: it is in the day and month rollups of planned
    time and uptime, and its hour rows are no longer rewritten."""

    __tablename__ = "closed_hours"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    before: Mapped[datetime] = mapped_column(UTCDateTime)
