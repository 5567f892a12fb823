"""Schedule model: frozen dataclasses with a JSON round trip (the terminal manifest format).

Instants (``valid_from``/``valid_until``) are aware datetimes and serialise as UTC ISO 8601
with a ``Z``; dates and times of day are local to the plan's zone (Asia/Shanghai by default).
``from_dict`` checks structure and types only; semantic checks live in ``validation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playlists.layouts import LayoutSchedule, MainVariant

KINDS = ("normal", "filler", "interrupt")
MEDIA = ("image", "text", "video")
ALL_WEEKDAYS: frozenset[int] = frozenset(range(7))
DEFAULT_TZ = "Asia/Shanghai"
MANIFEST_FORMAT = 1
# A duration above a day is a typo (Anthias's viewer crashed on 9999999999999 seconds).
MAX_DURATION_S = 24 * 3600
PRIORITY_RANGE = (-1000, 1000)


class ModelFormatError(ValueError):
    """A dict does not have the manifest's shape; ``field`` is a dotted path to the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- JSON helpers -------------------------------------------------------------------------


def _instant_out(t: datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant_in(v: Any, where: str) -> datetime | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ModelFormatError(where, "expected an ISO 8601 instant or null")
    try:
        t = datetime.fromisoformat(v)
    except ValueError as e:
        raise ModelFormatError(where, str(e)) from None
    if t.tzinfo is None:
        raise ModelFormatError(where, "instant needs a UTC offset (e.g. trailing Z)")
    return t.astimezone(UTC)


def _date_in(v: Any, where: str) -> date | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ModelFormatError(where, "expected an ISO date or null")
    try:
        return date.fromisoformat(v)
    except ValueError as e:
        raise ModelFormatError(where, str(e)) from None


def _time_out(t: time) -> str:
    return t.isoformat(timespec="seconds" if t.second or t.microsecond else "minutes")


def _time_in(v: Any, where: str) -> time:
    if not isinstance(v, str):
        raise ModelFormatError(where, "expected HH:MM")
    try:
        t = time.fromisoformat(v)
    except ValueError as e:
        raise ModelFormatError(where, str(e)) from None
    if t.tzinfo is not None:
        raise ModelFormatError(where, "times of day are local: no offset allowed")
    return t


def _get(d: Mapping[str, Any], key: str, where: str, types: type | tuple[type, ...]) -> Any:
    if not isinstance(d, Mapping):
        raise ModelFormatError(where, "expected an object")
    if key not in d:
        raise ModelFormatError(f"{where}.{key}".lstrip("."), "missing")
    v = d[key]
    # bool is an int subclass: never accept it where a number is wanted.
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in _as_tuple(types)):
        raise ModelFormatError(f"{where}.{key}".lstrip("."), f"wrong type {type(v).__name__}")
    return v


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# --- model --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a playlist: the content's facts plus its optional validity in this list."""

    content_id: int
    sha256: str
    duration_s: float  # staff-set for stills; the clip's own length for video
    topic_id: int
    approved: bool
    media: str = "image"
    valid_from: datetime | None = None  # the content's own validity [from, until)
    valid_until: datetime | None = None
    entry_valid_from: datetime | None = None  # validity of this entry inside the playlist
    entry_valid_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "sha256": self.sha256,
            "duration_s": self.duration_s,
            "topic_id": self.topic_id,
            "approved": self.approved,
            "media": self.media,
            "valid_from": _instant_out(self.valid_from),
            "valid_until": _instant_out(self.valid_until),
            "entry_valid_from": _instant_out(self.entry_valid_from),
            "entry_valid_until": _instant_out(self.entry_valid_until),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "item") -> Item:
        return cls(
            content_id=_get(d, "content_id", where, int),
            sha256=_get(d, "sha256", where, str),
            duration_s=_get(d, "duration_s", where, (int, float)),
            topic_id=_get(d, "topic_id", where, int),
            approved=_get(d, "approved", where, bool),
            media=d.get("media", "image"),
            valid_from=_instant_in(d.get("valid_from"), _path(where, "valid_from")),
            valid_until=_instant_in(d.get("valid_until"), _path(where, "valid_until")),
            entry_valid_from=_instant_in(
                d.get("entry_valid_from"), _path(where, "entry_valid_from")
            ),
            entry_valid_until=_instant_in(
                d.get("entry_valid_until"), _path(where, "entry_valid_until")
            ),
        )


@dataclass(frozen=True, slots=True)
class Playlist:
    id: int
    name: str
    items: tuple[Item, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "items": [i.to_dict() for i in self.items]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "playlist") -> Playlist:
        items = _get(d, "items", where, list)
        return cls(
            id=_get(d, "id", where, int),
            name=_get(d, "name", where, str),
            items=tuple(
                Item.from_dict(x, _path(where, f"items[{n}]")) for n, x in enumerate(items)
            ),
        )


@dataclass(frozen=True, slots=True)
class Window:
    """Daily window [start, end) in local time; end <= start crosses midnight (24 h if equal)."""

    start: time
    end: time

    def to_dict(self) -> dict[str, Any]:
        return {"start": _time_out(self.start), "end": _time_out(self.end)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "window") -> Window:
        return cls(
            start=_time_in(_get(d, "start", where, str), _path(where, "start")),
            end=_time_in(_get(d, "end", where, str), _path(where, "end")),
        )


ALL_DAY = Window(time(0, 0), time(0, 0))


def _recurrence_out(r: Schedule | ScreenPlan) -> dict[str, Any]:
    """The date range, weekdays, windows and validity that schedules and screen plans share."""
    return {
        "start_date": r.start_date.isoformat() if r.start_date else None,
        "end_date": r.end_date.isoformat() if r.end_date else None,
        "weekdays": sorted(r.weekdays),
        "windows": [w.to_dict() for w in r.windows],
        "valid_from": _instant_out(r.valid_from),
        "valid_until": _instant_out(r.valid_until),
    }


def _recurrence_in(d: Mapping[str, Any], where: str) -> dict[str, Any]:
    wd = d.get("weekdays", sorted(ALL_WEEKDAYS))
    if not isinstance(wd, list) or any(type(x) is not int for x in wd):
        raise ModelFormatError(_path(where, "weekdays"), "expected a list of integers")
    windows = _get(d, "windows", where, list)
    return {
        "start_date": _date_in(d.get("start_date"), _path(where, "start_date")),
        "end_date": _date_in(d.get("end_date"), _path(where, "end_date")),
        "weekdays": frozenset(wd),
        "windows": tuple(
            Window.from_dict(w, _path(where, f"windows[{n}]")) for n, w in enumerate(windows)
        ),
        "valid_from": _instant_in(d.get("valid_from"), _path(where, "valid_from")),
        "valid_until": _instant_in(d.get("valid_until"), _path(where, "valid_until")),
    }


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a playlist plays: dates (inclusive, local), weekdays (Mon=0), daily windows."""

    id: int
    playlist: Playlist
    kind: str = "normal"
    priority: int = 0
    start_date: date | None = None
    end_date: date | None = None
    weekdays: frozenset[int] = ALL_WEEKDAYS
    windows: tuple[Window, ...] = (ALL_DAY,)
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "priority": self.priority,
            **_recurrence_out(self),
            "playlist": self.playlist.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "schedule") -> Schedule:
        return cls(
            id=_get(d, "id", where, int),
            playlist=Playlist.from_dict(_get(d, "playlist", where, dict), _path(where, "playlist")),
            kind=_get(d, "kind", where, str),
            priority=_get(d, "priority", where, int),
            **_recurrence_in(d, where),
        )


@dataclass(frozen=True, slots=True)
class ScreenPlan:
    """Screen power and brightness over time; the highest priority active plan decides."""

    id: int
    on: bool = True
    brightness: int = 100  # percent, 0-100
    priority: int = 0
    start_date: date | None = None
    end_date: date | None = None
    weekdays: frozenset[int] = ALL_WEEKDAYS
    windows: tuple[Window, ...] = (ALL_DAY,)
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "on": self.on,
            "brightness": self.brightness,
            "priority": self.priority,
            **_recurrence_out(self),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "screen_plan") -> ScreenPlan:
        return cls(
            id=_get(d, "id", where, int),
            on=_get(d, "on", where, bool),
            brightness=_get(d, "brightness", where, int),
            priority=_get(d, "priority", where, int),
            **_recurrence_in(d, where),
        )


EMPTY_FALLBACK = Playlist(id=0, name="built-in", items=())


@dataclass(frozen=True, slots=True)
class TerminalPlan:
    """Everything the resolver needs for one terminal; serialised, it is the manifest."""

    terminal_id: int
    tz: str = DEFAULT_TZ
    schedules: tuple[Schedule, ...] = ()
    screen_plans: tuple[ScreenPlan, ...] = ()
    fallback: Playlist = EMPTY_FALLBACK
    # Screen state when no screen plan is active.  Defaults keep a plan-less screen on (a
    # missing plan must not blank a lobby); "off at night" = default off + daytime plans.
    screen_default_on: bool = True
    screen_default_brightness: int = 100
    # Layouts and overlays for this panel, fitted (playlists.layouts); a plan without any
    # plays full-frame, as an old player does with a plan that has them.
    layouts: tuple[LayoutSchedule, ...] = ()
    variants: tuple[MainVariant, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {
            "format": MANIFEST_FORMAT,
            "terminal_id": self.terminal_id,
            "tz": self.tz,
            "schedules": [s.to_dict() for s in self.schedules],
            "screen_plans": [p.to_dict() for p in self.screen_plans],
            "fallback": self.fallback.to_dict(),
            "screen_default": {
                "on": self.screen_default_on,
                "brightness": self.screen_default_brightness,
            },
        }
        if self.layouts:
            d["layouts"] = [x.to_dict() for x in self.layouts]
            d["variants"] = [v.to_dict() for v in self.variants]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "") -> TerminalPlan:
        fmt = d.get("format", MANIFEST_FORMAT) if isinstance(d, Mapping) else None
        if fmt != MANIFEST_FORMAT:
            raise ModelFormatError(_path(where, "format"), f"unsupported format {fmt!r}")
        from playlists.layouts import LayoutSchedule, MainVariant  # it imports this module

        default = d.get("screen_default", {"on": True, "brightness": 100})
        return cls(
            terminal_id=_get(d, "terminal_id", where, int),
            tz=_get(d, "tz", where, str),
            schedules=tuple(
                Schedule.from_dict(s, _path(where, f"schedules[{n}]"))
                for n, s in enumerate(_get(d, "schedules", where, list))
            ),
            screen_plans=tuple(
                ScreenPlan.from_dict(p, _path(where, f"screen_plans[{n}]"))
                for n, p in enumerate(d.get("screen_plans", []))
            ),
            fallback=Playlist.from_dict(_get(d, "fallback", where, dict), _path(where, "fallback")),
            screen_default_on=_get(default, "on", _path(where, "screen_default"), bool),
            screen_default_brightness=_get(
                default, "brightness", _path(where, "screen_default"), int
            ),
            layouts=tuple(
                LayoutSchedule.from_dict(x, _path(where, f"layouts[{n}]"))
                for n, x in enumerate(d.get("layouts") or [])
            ),
            variants=tuple(
                MainVariant.from_dict(x, _path(where, f"variants[{n}]"))
                for n, x in enumerate(d.get("variants") or [])
            ),
        )
