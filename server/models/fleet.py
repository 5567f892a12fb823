"""What the fleet tells us: pairing, live status, commands and proof of play."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, PrimaryKeyConstraint, String, false
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, ByteCount, UTCDateTime, utcnow


class PairingRequest(Base):
    """A code a new player shows on its screen until staff claim it for a terminal."""

    __tablename__ = "pairing_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), index=True)
    poll_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"))
    # Held only between the claim and the player's next poll, then erased.
    credential: Mapped[str | None] = mapped_column(String(120))


class TerminalState(Base):
    """The latest word from one terminal (the fleet wall reads this)."""

    __tablename__ = "terminal_state"
    terminal_id: Mapped[int] = mapped_column(
        ForeignKey("terminal.id", ondelete="CASCADE"), primary_key=True
    )
    online: Mapped[bool] = mapped_column(default=False)
    connected_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manifest_version: Mapped[int] = mapped_column(default=0)  # the one the player holds
    playing_content_id: Mapped[int | None]
    playing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    screen_on: Mapped[bool] = mapped_column(default=True)
    brightness: Mapped[int] = mapped_column(default=100)
    cache_ready: Mapped[bool] = mapped_column(default=False)
    free_disk_bytes: Mapped[int | None] = mapped_column(ByteCount)
    clock_offset_s: Mapped[float] = mapped_column(default=0.0)
    player_version: Mapped[str] = mapped_column(String(40), default="")
    # The server process that holds (or last held) its connection (server/models/nodes.py).
    node: Mapped[str | None] = mapped_column(String(120))
    # Health (services/health.py): "ok" | "down" | "stuck", and since when.
    health: Mapped[str] = mapped_column(String(8), default="ok", server_default="ok")
    health_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The frame on screen as the player last described it (STATUS screenshot_sha256, dark),
    # and since when the server has seen that same frame: what stuck detection reads.
    frame_sha256: Mapped[str | None] = mapped_column(String(64))
    frame_dark: Mapped[bool] = mapped_column(default=False, server_default=false())
    frame_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest signing key the player trusts (HELLO), and the last thing it refused
    # (STATUS: {"what", "reason", "at", ...}; None once it accepts again).
    trust_key_id: Mapped[str | None] = mapped_column(String(16))
    trust_refusal: Mapped[dict | None] = mapped_column(JSON)
    # STATUS (publish receipts): the manifest version the player has accepted, and how much
    # of its files' bytes it holds while some are missing (None: all there or not said).
    held_version: Mapped[int | None]
    download_percent: Mapped[int | None]


class Command(Base):
    """A staff command to a terminal, stored before it is sent, with its answer."""

    __tablename__ = "terminal_command"
    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"),
                                             index=True)
    kind: Mapped[str] = mapped_column(String(20))
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool | None]
    result: Mapped[dict | None] = mapped_column(JSON)


# The layout region a play was shown in (playlists.layouts.PLAY_REGIONS: main | ticker |
# image; a clock is not recorded). In the key of every rollup, so each region's time is
# exact; records and rows from before layouts (migration 0019) are the main region's.
REGION_LENGTH = 8


def _region(primary_key: bool = True):
    return mapped_column(String(REGION_LENGTH), primary_key=primary_key, default="main",
                         server_default="main")


class PlayRecord(Base):
    """One proof-of-play record as the terminal made it (split at hour boundaries).

    The id is the player's own UUID, so a retried batch inserts nothing twice.
    """

    __tablename__ = "play_record"
    __table_args__ = (Index("ix_play_record_terminal_start", "terminal_id", "start"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"))
    # No FK: plays outlive content. No index on content or topic either: reports read the
    # rollups, and every index here is paid by every ingested record.
    content_id: Mapped[int]
    schedule_id: Mapped[int | None]
    topic_id: Mapped[int | None]
    sha256: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float]
    reason: Mapped[str] = mapped_column(String(12), default="completed")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    region: Mapped[str] = _region(primary_key=False)
    # The upload it came in (server.models.trust.PlayBatch, a link of a hash chain). No FK,
    # as above: a constraint is paid by every record, and retention removes both together.
    batch_id: Mapped[int | None] = mapped_column(index=True)


class PlayHour(Base):
    """Hourly rollup, terminal x content x UTC hour, kept for good. Read for hour grouping
    with a topic, content, terminal or building filter, and for the hours of a period that
    do not make a whole local day."""

    __tablename__ = "play_hour"
    # A year of one topic by hour reads ~1/36 of the rows, from this index alone (it
    # carries the scope and the sums, so no visit to the table per row).
    __table_args__ = (Index("ix_play_hour_topic_hour", "topic_id", "hour", "community_id",
                            "region", "seconds", "plays"),)
    terminal_id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    # Where the terminal stood when the records arrived (see plays.py): part of the key,
    # so a terminal moved to another building starts new rows there.
    building_id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = _region()
    topic_id: Mapped[int | None]
    community_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)
    plays: Mapped[int] = mapped_column(default=0)


class PlayDay(Base):
    """Daily rollup, Asia/Shanghai local day x terminal x content, kept for good.
    Topic, building and community ride along so reports need no join through the tree."""

    __tablename__ = "play_day"
    __table_args__ = (Index("ix_play_day_topic_day", "topic_id", "day"),)
    # day first: a period is a range of days.
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = _region()
    topic_id: Mapped[int | None]
    community_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)
    plays: Mapped[int] = mapped_column(default=0)


class PlayMonth(Base):
    """Monthly rollup, local month (its first day) x terminal x content, kept for good:
    a year is twelve of these per pair instead of 365 days."""

    __tablename__ = "play_month"
    __table_args__ = (Index("ix_play_month_topic_month", "topic_id", "month"),)
    # month first: a period is a range of months.
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = _region()
    topic_id: Mapped[int | None]
    community_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)
    plays: Mapped[int] = mapped_column(default=0)


class _PlayedByTerminal:
    """Played seconds of one terminal, whatever it played: the page's terminal figures
    read 36 times fewer rows than from play_day. Kept at ingest with the others."""

    terminal_id: Mapped[int]
    building_id: Mapped[int]  # where it stood, as in play_day
    region: Mapped[str] = _region(primary_key=False)  # in the key (__table_args__)
    community_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)
    plays: Mapped[int] = mapped_column(default=0)
    # Of which full-screen emergency broadcasts (pre-empted schedule: a shortfall's reason).
    broadcast_seconds: Mapped[float] = mapped_column(default=0.0)


class PlayTerminalDay(_PlayedByTerminal, Base):
    __tablename__ = "play_terminal_day"
    __table_args__ = (PrimaryKeyConstraint("day", "terminal_id", "building_id", "region"),)
    day: Mapped[date] = mapped_column(Date)


class PlayTerminalMonth(_PlayedByTerminal, Base):
    __tablename__ = "play_terminal_month"
    __table_args__ = (PrimaryKeyConstraint("month", "terminal_id", "building_id", "region"),)
    month: Mapped[date] = mapped_column(Date)


class _PlayedByContent:
    """Played seconds of one item in one community, whichever terminal played it: the
    page's content, topic and community figures, without the terminal dimension."""

    community_id: Mapped[int]
    content_id: Mapped[int]
    region: Mapped[str] = _region(primary_key=False)  # in the key (__table_args__)
    topic_id: Mapped[int | None]
    seconds: Mapped[float] = mapped_column(default=0.0)
    plays: Mapped[int] = mapped_column(default=0)


class PlayContentDay(_PlayedByContent, Base):
    __tablename__ = "play_content_day"
    __table_args__ = (PrimaryKeyConstraint("day", "community_id", "content_id", "region"),)
    day: Mapped[date] = mapped_column(Date)


class PlayContentMonth(_PlayedByContent, Base):
    __tablename__ = "play_content_month"
    __table_args__ = (PrimaryKeyConstraint("month", "community_id", "content_id", "region"),)
    month: Mapped[date] = mapped_column(Date)


class PlayHourCommunity(Base):
    """UTC hour x community, kept for good: what the day and hour groupings read when no
    finer filter than the community is asked (a year is 8,760 rows per community)."""

    __tablename__ = "play_hour_community"
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    community_id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = _region()
    seconds: Mapped[float] = mapped_column(default=0.0)
    plays: Mapped[int] = mapped_column(default=0)


class UptimeHour(Base):
    """Seconds a terminal was connected, and had its screen lit, per UTC hour."""

    __tablename__ = "uptime_hour"
    terminal_id: Mapped[int] = mapped_column(
        ForeignKey("terminal.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    online_seconds: Mapped[float] = mapped_column(default=0.0)
    screen_on_seconds: Mapped[float] = mapped_column(default=0.0)
    # Online while the player said some file of its manifest was not yet in its cache.
    cache_missing_seconds: Mapped[float] = mapped_column(default=0.0, server_default="0")


class UptimeDay(Base):
    """A closed local day of uptime_hour (server/models/planned.py says when)."""

    __tablename__ = "uptime_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(primary_key=True)
    online_seconds: Mapped[float] = mapped_column(default=0.0)
    screen_on_seconds: Mapped[float] = mapped_column(default=0.0)
    cache_missing_seconds: Mapped[float] = mapped_column(default=0.0)


class UptimeMonth(Base):
    """The closed days of a local month (its first day) of uptime, summed."""

    __tablename__ = "uptime_month"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(primary_key=True)
    online_seconds: Mapped[float] = mapped_column(default=0.0)
    screen_on_seconds: Mapped[float] = mapped_column(default=0.0)
    cache_missing_seconds: Mapped[float] = mapped_column(default=0.0)

