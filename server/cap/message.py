"""A CAP 1.2 alert message as this product reads it (GB/T 35965.1 messages are CAP-based and
read into the same shape). Plain values: no Flask, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

LatLon = tuple[float, float]  # WGS 84 degrees


@dataclass(frozen=True)
class Geocode:
    name: str  # valueName, e.g. "GB/T 2260" or "行政区划代码"
    value: str  # e.g. "440308" or "440308003000"


@dataclass(frozen=True)
class Area:
    desc: str
    polygons: tuple[tuple[LatLon, ...], ...] = ()  # each closed (first point == last)
    circles: tuple[tuple[LatLon, float], ...] = ()  # centre and radius in km
    geocodes: tuple[Geocode, ...] = ()


@dataclass(frozen=True)
class Reference:
    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class Info:
    event: str  # as written, e.g. "台风" or "台风橙色预警信号"
    urgency: str
    severity: str  # CAP's (GB colour words are mapped: Red→Extreme ... Blue→Minor)
    certainty: str
    language: str = "en-US"
    event_codes: tuple[Geocode, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class CapMessage:
    identifier: str
    sender: str
    sent: datetime  # aware
    status: str  # Actual | Exercise | System | Test | Draft
    msg_type: str  # Alert | Update | Cancel | Ack | Error
    scope: str
    references: tuple[Reference, ...] = ()
    infos: tuple[Info, ...] = ()
    profile: str = "cap"  # "gb" when read as GB/T 35965.1 (colour severities)
    gb_level: str | None = None  # the GB message's own colour, if it gave one
    note: str = ""
    raw: bytes = field(default=b"", repr=False)

    @property
    def info(self) -> Info | None:
        """The info block shown: the first in Chinese, else the first."""
        for i in self.infos:
            if i.language.lower().startswith("zh"):
                return i
        return self.infos[0] if self.infos else None
