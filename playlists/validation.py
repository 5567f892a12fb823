"""Semantic validation: a list of FieldError(code, field, message), empty when all is well.

Codes are stable (the server's API returns them; the UI translates them):

  playlist_empty          playlist has no items
  duration_not_positive   duration is 0, negative or NaN
  duration_too_long       duration above 24 h (or infinite)
  sha256_invalid          not 64 lowercase hex characters
  media_unknown           media not image/text/video
  validity_inverted       valid_until (or entry_valid_until) not after the matching *_from
  datetime_naive          an instant without a UTC offset
  kind_unknown            schedule kind not normal/filler/interrupt
  priority_out_of_range   priority outside [-1000, 1000]
  date_range_inverted     end_date before start_date
  weekdays_empty          no weekday selected
  weekday_out_of_range    weekday outside 0-6 (Mon=0)
  windows_empty           no daily window
  windows_overlap         two daily windows of one schedule overlap (on the 24 h circle)
  brightness_out_of_range screen brightness outside 0-100
  timezone_unknown        plan zone is not an IANA zone name
  id_duplicate            two schedules (or screen plans) of one plan share an id
  fallback_empty          the plan's built-in filler has no items
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from playlists.clock import DAY_US, time_us
from playlists.model import (
    KINDS,
    MAX_DURATION_S,
    MEDIA,
    PRIORITY_RANGE,
    Item,
    Playlist,
    Schedule,
    ScreenPlan,
    TerminalPlan,
    Window,
)

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class FieldError:
    code: str
    field: str  # dotted path, e.g. "schedules[2].playlist.items[0].duration_s"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


def _p(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _validity(
    lo: datetime | None, hi: datetime | None, lo_name: str, hi_name: str, prefix: str
) -> list[FieldError]:
    errs = []
    for value, name in ((lo, lo_name), (hi, hi_name)):
        if value is not None and value.utcoffset() is None:
            errs.append(
                FieldError("datetime_naive", _p(prefix, name), "instant needs a UTC offset")
            )
    if not errs and lo is not None and hi is not None and hi <= lo:
        errs.append(
            FieldError(
                "validity_inverted", _p(prefix, hi_name), f"{hi_name} must be after {lo_name}"
            )
        )
    return errs


def validate_item(item: Item, prefix: str = "") -> list[FieldError]:
    errs: list[FieldError] = []
    d = item.duration_s
    field = _p(prefix, "duration_s")
    if isinstance(d, bool) or not isinstance(d, int | float) or math.isnan(d) or d <= 0:
        errs.append(FieldError("duration_not_positive", field, "duration must be > 0 seconds"))
    elif d > MAX_DURATION_S:
        errs.append(
            FieldError("duration_too_long", field, f"duration must be <= {MAX_DURATION_S} s")
        )
    if not isinstance(item.sha256, str) or not _SHA256.fullmatch(item.sha256):
        errs.append(FieldError("sha256_invalid", _p(prefix, "sha256"), "64 lowercase hex digits"))
    if item.media not in MEDIA:
        errs.append(FieldError("media_unknown", _p(prefix, "media"), f"one of {', '.join(MEDIA)}"))
    errs += _validity(item.valid_from, item.valid_until, "valid_from", "valid_until", prefix)
    errs += _validity(
        item.entry_valid_from,
        item.entry_valid_until,
        "entry_valid_from",
        "entry_valid_until",
        prefix,
    )
    return errs


def validate_playlist(p: Playlist, prefix: str = "playlist") -> list[FieldError]:
    if not p.items:
        return [FieldError("playlist_empty", _p(prefix, "items"), "a playlist needs an item")]
    errs: list[FieldError] = []
    for n, item in enumerate(p.items):
        errs += validate_item(item, _p(prefix, f"items[{n}]"))
    return errs


def _arcs(w: Window) -> list[tuple[int, int]]:
    """The window as arcs on [0, 24 h): a midnight-crossing window becomes two."""
    s, e = time_us(w.start), time_us(w.end)
    if e > s:
        return [(s, e)]
    return [(s, DAY_US), (0, e)] if e > 0 else [(s, DAY_US)] if s > 0 else [(0, DAY_US)]


def _recurrence(
    obj: Schedule | ScreenPlan,
    prefix: str,
) -> list[FieldError]:
    errs: list[FieldError] = []
    if obj.start_date and obj.end_date and obj.end_date < obj.start_date:
        errs.append(
            FieldError("date_range_inverted", _p(prefix, "end_date"), "end_date before start_date")
        )
    if not obj.weekdays:
        errs.append(FieldError("weekdays_empty", _p(prefix, "weekdays"), "select a weekday"))
    bad = sorted(w for w in obj.weekdays if not (type(w) is int and 0 <= w <= 6))
    if bad:
        errs.append(
            FieldError("weekday_out_of_range", _p(prefix, "weekdays"), f"not in 0-6: {bad}")
        )
    if not obj.windows:
        errs.append(FieldError("windows_empty", _p(prefix, "windows"), "add a daily window"))
    arcs = [(a, n) for n, w in enumerate(obj.windows) for a in _arcs(w)]
    clash: set[int] = set()
    for i, ((s1, e1), n1) in enumerate(arcs):
        for (s2, e2), n2 in arcs[i + 1 :]:
            if n1 != n2 and s1 < e2 and s2 < e1:
                clash.add(max(n1, n2))
    for n in sorted(clash):
        errs.append(
            FieldError("windows_overlap", _p(prefix, f"windows[{n}]"), "overlaps another window")
        )
    errs += _validity(obj.valid_from, obj.valid_until, "valid_from", "valid_until", prefix)
    if not PRIORITY_RANGE[0] <= obj.priority <= PRIORITY_RANGE[1]:
        errs.append(
            FieldError(
                "priority_out_of_range",
                _p(prefix, "priority"),
                f"priority must be within {PRIORITY_RANGE[0]}..{PRIORITY_RANGE[1]}",
            )
        )
    return errs


def validate_schedule(s: Schedule, prefix: str = "") -> list[FieldError]:
    errs: list[FieldError] = []
    if s.kind not in KINDS:
        errs.append(FieldError("kind_unknown", _p(prefix, "kind"), f"one of {', '.join(KINDS)}"))
    errs += _recurrence(s, prefix)
    errs += validate_playlist(s.playlist, _p(prefix, "playlist"))
    return errs


def validate_screen_plan(p: ScreenPlan, prefix: str = "") -> list[FieldError]:
    errs = _recurrence(p, prefix)
    if not 0 <= p.brightness <= 100:
        errs.append(
            FieldError("brightness_out_of_range", _p(prefix, "brightness"), "must be 0-100")
        )
    return errs


def validate_plan(plan: TerminalPlan) -> list[FieldError]:
    errs: list[FieldError] = []
    try:
        ZoneInfo(plan.tz)
    except (ZoneInfoNotFoundError, ValueError):
        errs.append(FieldError("timezone_unknown", "tz", f"unknown time zone {plan.tz!r}"))
    for name, objs in (("schedules", plan.schedules), ("screen_plans", plan.screen_plans)):
        seen: set[int] = set()
        for n, o in enumerate(objs):
            prefix = f"{name}[{n}]"
            if o.id in seen:
                errs.append(FieldError("id_duplicate", _p(prefix, "id"), f"id {o.id} repeated"))
            seen.add(o.id)
            if isinstance(o, Schedule):
                errs += validate_schedule(o, prefix)
            else:
                errs += validate_screen_plan(o, prefix)
    if not plan.fallback.items:
        errs.append(FieldError("fallback_empty", "fallback.items", "the built-in filler is empty"))
    else:
        errs += validate_playlist(plan.fallback, "fallback")
    if not 0 <= plan.screen_default_brightness <= 100:
        errs.append(
            FieldError("brightness_out_of_range", "screen_default.brightness", "must be 0-100")
        )
    return errs
