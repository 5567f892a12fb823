"""The community tree: street -> communities -> buildings -> terminals."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow


class ColourMode(enum.StrEnum):
    full = "full"
    mono = "mono"  # single-colour panels: 1-bit rendering, no anti-aliasing


class Street(Base):
    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # Administrative division code (GB/T 2260 district, 9 or 12 digits for a street):
    # official warnings name their area by such codes (server/cap/area.py)
    area_code: Mapped[str | None] = mapped_column(String(12))
    # Screens holding a signing key always verify; with this on, a screen without one (an
    # old player, paired before keys) is refused until it is paired again.
    signatures_enforced: Mapped[bool] = mapped_column(default=False, server_default=false())
    communities: Mapped[list[Community]] = relationship(
        back_populates="street", order_by="Community.name"
    )


class Community(Base):
    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    area_code: Mapped[str | None] = mapped_column(String(12))  # 12-digit statistical code
    street: Mapped[Street] = relationship(back_populates="communities")
    buildings: Mapped[list[Building]] = relationship(
        back_populates="community", order_by="Building.name"
    )


class Building(Base):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200), default="")
    # WGS 84 degrees, for warnings whose area is a polygon or circle
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    community: Mapped[Community] = relationship(back_populates="buildings")
    terminals: Mapped[list[Terminal]] = relationship(
        back_populates="building", order_by="Terminal.name"
    )


class Terminal(Base):
    __tablename__ = "terminal"
    __table_args__ = (
        UniqueConstraint("building_id", "name"),
        CheckConstraint("width > 0 AND height > 0", name="positive_size"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    location: Mapped[str] = mapped_column(String(200), default="")
    width: Mapped[int]
    height: Mapped[int]
    colour_mode: Mapped[ColourMode] = mapped_column(
        Enum(ColourMode, native_enum=False, length=8), default=ColourMode.full
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped (in the same transaction) by every change that concerns this terminal;
    # the player asks for the manifest when its version is older.
    manifest_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The terminal's own credential ("trm_<id>_<secret>"): only its SHA-256 is kept.
    credential_hash: Mapped[str | None] = mapped_column(String(64))
    credential_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Planned time (server/services/planned.py): planned_hour is written up to
    # `planned_until` (None: not yet, it starts at created_at), and is stale from
    # `replan_from` on (set by every change that concerns the terminal).
    planned_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replan_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    building: Mapped[Building] = relationship(back_populates="terminals")
    tag_rows: Mapped[list[TerminalTag]] = relationship(
        cascade="all, delete-orphan", order_by="TerminalTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]

    @property
    def community_id(self) -> int:
        return self.building.community_id


class Screen(Protocol):
    """What sending to a terminal needs of it: a Terminal, or a row of SCREEN (read as
    columns where a whole fleet is answered at once: loading a thousand Terminal objects
    cost more than building their manifests)."""

    id: int
    name: str
    width: int
    height: int
    colour_mode: ColourMode
    manifest_version: int


SCREEN = (Terminal.id, Terminal.name, Terminal.width, Terminal.height, Terminal.colour_mode,
          Terminal.manifest_version)


class TerminalTag(Base):
    """Free tags ("电梯口", "outdoor") that schedules can target."""

    __tablename__ = "terminal_tag"
    terminal_id: Mapped[int] = mapped_column(
        ForeignKey("terminal.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
