"""Layouts: one screen in regions (the main playlist, a 滚动字幕 ticker, the date and time, a
title image), fitted to a panel's exact pixels.

Staff draw a layout on a reference canvas (its ``width`` x ``height``, pixels); ``fit`` turns
it into pixel rectangles for one panel by the rules below. The server fits (the editor's
preview and the manifest use the same call) and the manifest carries the fitted layout, so a
player draws exactly what the editor showed and never decides geometry itself.

Fitting a layout to a W x H panel:
1. Every edge scales with the panel (x * W / width, rounded), so regions that touch on the
   reference canvas touch on every panel.
2. A text region (ticker, clock) below the panel's legible height (``text_floor_px``: 12 px
   bitmaps on the small modules, at most SMALL_PANEL_MAX_H high, 16 px above) grows to it,
   away from the panel edge it sits on; the warning says so.
3. Where a region spans the main region's whole width (a band: a title bar, a ticker) the main
   region gives up those rows; where it spans the main's whole height (a side column) the
   columns; where rule 2 grew a region over the main's top or bottom edge, those rows. A
   box drawn over the main region (a clock in its corner) stays over it.
4. The main region keeps at least MAIN_MIN_SHARE of the panel's height and width: if it would
   not, regions are dropped, images first, then clocks, then tickers, each with a warning,
   and the main region takes over the rows of a dropped band that touches it.
5. A clock too narrow for its format falls back to a shorter one (date and time, then time),
   else it is dropped.
6. On a single-colour panel image regions are left out (a logo or a photo does not survive
   one bit per pixel at a module's resolution), colours are ignored (lit or unlit) and text
   is drawn without anti-aliasing; the player does the drawing, fitting records ``mono``.

A schedule puts a layout on screens the way it puts a playlist (``LayoutSchedule``: dates,
weekdays, windows, priority). The resolver picks the highest-priority layout schedule in force
(else the panel plays full-frame) and, separately, the highest-priority *overlay* (a layout
with ``overlay=True``: tickers, images or a clock drawn over whatever plays).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from playlists.clock import INF, US, to_us
from playlists.model import (
    ALL_DAY,
    ALL_WEEKDAYS,
    Item,
    Playlist,
    Window,
    _get,
    _instant_in,
    _instant_out,
    _path,
    _recurrence_in,
    _recurrence_out,
)

ROLES = ("main", "ticker", "clock", "image")
TEXT_ROLES = ("ticker", "clock")
# What a play record's `region` may say: the role of the region that showed it (a clock
# shows no content, so it has no plays).
PLAY_REGIONS = ("main", "ticker", "image")
DIRECTIONS = ("left", "right")  # which way a ticker's text moves; Chinese tickers move left
CLOCK_FORMATS = ("datetime", "date", "time")  # longest first: fitting falls back along it
MAX_REGIONS = 8
MAX_LINE_CHARS = 500
SPEED_RANGE = (0.5, 20.0)  # characters per second
SMALL_PANEL_MAX_H = 128  # panels this high or lower are read from a metre or two
MAIN_MIN_SHARE = 0.5
_KEY = re.compile(r"[a-z][a-z0-9_]{0,19}\Z")
_COLOUR = re.compile(r"#[0-9a-f]{6}\Z")
WEEKDAYS_ZH = "一二三四五六日"


def text_floor_px(panel_h: int) -> int:
    """The smallest legible Chinese text on a panel this high (see content.notice's
    legible_floor for why the small modules may go to 12 px bitmaps)."""
    return 12 if panel_h <= SMALL_PANEL_MAX_H else 16


# --- model ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TickerLine:
    """One approved text that scrolls in a ticker (a notice's body, on one line)."""

    content_id: int
    topic_id: int
    text: str
    approved: bool
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def live_at(self, t_us: int) -> bool:
        if not self.approved or not self.text.strip():
            return False
        lo = self.valid_from is None or to_us(self.valid_from) <= t_us
        return lo and (self.valid_until is None or t_us < to_us(self.valid_until))

    def to_dict(self) -> dict[str, Any]:
        return {"content_id": self.content_id, "topic_id": self.topic_id, "text": self.text,
                "approved": self.approved, "valid_from": _instant_out(self.valid_from),
                "valid_until": _instant_out(self.valid_until)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> TickerLine:
        return cls(content_id=_get(d, "content_id", where, int),
                   topic_id=_get(d, "topic_id", where, int),
                   text=_get(d, "text", where, str),
                   approved=_get(d, "approved", where, bool),
                   valid_from=_instant_in(d.get("valid_from"), _path(where, "valid_from")),
                   valid_until=_instant_in(d.get("valid_until"), _path(where, "valid_until")))


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle of the layout's canvas, in pixels, and what it shows.

    main: the schedule's item; ticker: ``lines`` scrolling one after another at
    ``speed_cps`` characters a second; clock: the date and time in ``clock_format``;
    image: ``image`` (an approved still), scaled to fit. Later regions draw over earlier."""

    key: str
    role: str
    x: int
    y: int
    w: int
    h: int
    lines: tuple[TickerLine, ...] = ()
    speed_cps: float = 4.0
    direction: str = "left"
    clock_format: str = "datetime"
    image: Item | None = None
    fg: str = "#ffd200"
    bg: str = "#000000"

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.w, self.h

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "role": self.role, "x": self.x, "y": self.y,
                             "w": self.w, "h": self.h, "fg": self.fg, "bg": self.bg}
        if self.role == "ticker":
            d.update(lines=[x.to_dict() for x in self.lines], speed_cps=self.speed_cps,
                     direction=self.direction)
        elif self.role == "clock":
            d["clock_format"] = self.clock_format
        elif self.role == "image":
            d["image"] = self.image.to_dict() if self.image else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> Region:
        image = d.get("image")
        return cls(
            key=_get(d, "key", where, str), role=_get(d, "role", where, str),
            x=_get(d, "x", where, int), y=_get(d, "y", where, int),
            w=_get(d, "w", where, int), h=_get(d, "h", where, int),
            lines=tuple(TickerLine.from_dict(x, _path(where, f"lines[{n}]"))
                        for n, x in enumerate(d.get("lines") or [])),
            speed_cps=d.get("speed_cps", 4.0), direction=d.get("direction", "left"),
            clock_format=d.get("clock_format", "datetime"),
            image=Item.from_dict(image, _path(where, "image")) if image else None,
            fg=d.get("fg", "#ffd200"), bg=d.get("bg", "#000000"))


@dataclass(frozen=True, slots=True)
class Layout:
    """Regions on a width x height canvas: the reference canvas as staff drew it, or one
    panel's pixels once fitted. An overlay has no main region and is drawn over whatever
    plays."""

    id: int
    name: str
    width: int
    height: int
    regions: tuple[Region, ...]
    overlay: bool = False
    mono: bool = False

    def main(self) -> Region | None:
        return next((r for r in self.regions if r.role == "main"), None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height,
                "overlay": self.overlay, "mono": self.mono,
                "regions": [r.to_dict() for r in self.regions]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "layout") -> Layout:
        return cls(
            id=_get(d, "id", where, int), name=_get(d, "name", where, str),
            width=_get(d, "width", where, int), height=_get(d, "height", where, int),
            overlay=bool(d.get("overlay", False)), mono=bool(d.get("mono", False)),
            regions=tuple(Region.from_dict(r, _path(where, f"regions[{n}]"))
                          for n, r in enumerate(_get(d, "regions", where, list))))


@dataclass(frozen=True, slots=True)
class LayoutSchedule:
    """When a (fitted) layout frames the screen; same recurrence rules as a Schedule."""

    id: int
    layout: Layout
    priority: int = 0
    start_date: date | None = None
    end_date: date | None = None
    weekdays: frozenset[int] = ALL_WEEKDAYS
    windows: tuple[Window, ...] = (ALL_DAY,)
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "priority": self.priority, **_recurrence_out(self),  # type: ignore[arg-type]
                "layout": self.layout.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> LayoutSchedule:
        return cls(id=_get(d, "id", where, int), priority=_get(d, "priority", where, int),
                   layout=Layout.from_dict(_get(d, "layout", where, dict),
                                           _path(where, "layout")),
                   **_recurrence_in(d, where))


@dataclass(frozen=True, slots=True)
class MainVariant:
    """The playlists as they play in a main region of this size: a notice is rendered for the
    region, so its pages differ from the full panel's. Playlists not listed are the same."""

    width: int
    height: int
    playlists: tuple[Playlist, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height,
                "playlists": [p.to_dict() for p in self.playlists]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> MainVariant:
        return cls(width=_get(d, "width", where, int), height=_get(d, "height", where, int),
                   playlists=tuple(Playlist.from_dict(p, _path(where, f"playlists[{n}]"))
                                   for n, p in enumerate(_get(d, "playlists", where, list))))


# --- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LayoutProblem:
    """A layout staff cannot save: a stable code, the region key (or ""), and why."""

    code: str
    region: str
    message: str


def check_layout(layout: Layout) -> list[LayoutProblem]:
    """What is wrong with a layout as drawn (empty when it can be saved)."""
    out: list[LayoutProblem] = []

    def bad(code: str, region: str, message: str) -> None:
        out.append(LayoutProblem(code, region, message))

    if not (16 <= layout.width <= 8192 and 16 <= layout.height <= 8192):
        bad("canvas_size", "", "the canvas must be 16 to 8192 pixels each way")
    if not layout.regions:
        bad("no_regions", "", "a layout needs at least one region")
    if len(layout.regions) > MAX_REGIONS:
        bad("too_many_regions", "", f"a layout has at most {MAX_REGIONS} regions")
    mains = [r for r in layout.regions if r.role == "main"]
    if layout.overlay and mains:
        bad("overlay_main", mains[0].key, "an overlay is drawn over the main playlist: "
            "it cannot have a main region")
    if not layout.overlay and len(mains) != 1:
        bad("main_count", "", "a layout needs exactly one main region")
    seen: set[str] = set()
    for r in layout.regions:
        if not _KEY.match(r.key):
            bad("key_invalid", r.key, "a region key is a-z, 0-9 and _, at most 20")
        if r.key in seen:
            bad("key_duplicate", r.key, "two regions have the same key")
        seen.add(r.key)
        if r.role not in ROLES:
            bad("role_unknown", r.key, f"role must be one of {', '.join(ROLES)}")
        if r.w < 1 or r.h < 1 or r.x < 0 or r.y < 0 or r.x + r.w > layout.width \
                or r.y + r.h > layout.height:
            bad("outside_canvas", r.key, "the region must lie inside the canvas")
        if r.role == "ticker":
            if not SPEED_RANGE[0] <= r.speed_cps <= SPEED_RANGE[1]:
                bad("speed_out_of_range", r.key,
                    f"speed is {SPEED_RANGE[0]} to {SPEED_RANGE[1]} characters a second")
            if r.direction not in DIRECTIONS:
                bad("direction_unknown", r.key, "direction is left or right")
            if any(len(x.text) > MAX_LINE_CHARS for x in r.lines):
                bad("line_too_long", r.key, f"a ticker line has at most {MAX_LINE_CHARS} "
                    "characters")
        if r.role == "clock" and r.clock_format not in CLOCK_FORMATS:
            bad("clock_format_unknown", r.key, f"format is one of {', '.join(CLOCK_FORMATS)}")
        if not (_COLOUR.match(r.fg) and _COLOUR.match(r.bg)):
            bad("colour_invalid", r.key, "colours are #rrggbb")
    return out


# --- fitting --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FitWarning:
    """Why a panel shows a region differently from the drawing: grown, short_format,
    dropped. ``detail`` is for people (the editor translates the code)."""

    code: str
    region: str
    detail: dict[str, Any] = field(default_factory=dict)


def text_width_px(text: str, px: int) -> int:
    """Estimated width of one line at px: a CJK character is px wide, ASCII half (good
    enough to decide what fits; the player measures with its font)."""
    return sum(px if ord(ch) > 0x2E7F else (px + 1) // 2 for ch in text)


def clock_sample(fmt: str) -> str:
    """The widest text a clock in this format shows (for fitting)."""
    return clock_text(fmt, datetime(2026, 12, 30, 23, 59))


def clock_text(fmt: str, local: datetime) -> str:
    """What a clock shows at a local wall-clock time: 12月6日 星期日 18:49, and so on."""
    d = f"{local.month}月{local.day}日 星期{WEEKDAYS_ZH[local.weekday()]}"
    t = f"{local.hour:02d}:{local.minute:02d}"
    return {"date": d, "time": t}.get(fmt, f"{d} {t}")


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _scale(v: int, ref: int, to: int) -> int:
    return round(v * to / ref)


def fit(layout: Layout, width: int, height: int, mono: bool = False
        ) -> tuple[Layout, list[FitWarning]]:
    """The layout on a width x height panel, and what differs from the drawing (module doc)."""
    warnings: list[FitWarning] = []
    floor = text_floor_px(height)
    boxes: dict[str, list[int]] = {}
    drawn: dict[str, tuple[int, int, int, int]] = {}  # scaled, before any growth
    for r in layout.regions:
        x0, x1 = _scale(r.x, layout.width, width), _scale(r.x + r.w, layout.width, width)
        y0, y1 = _scale(r.y, layout.height, height), _scale(r.y + r.h, layout.height, height)
        x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
        drawn[r.key] = (x0, y0, x1, y1)
        if r.role in TEXT_ROLES and y1 - y0 < floor:
            was = y1 - y0
            if y1 >= height:
                y0 = max(0, height - floor)
            elif y0 <= 0:
                y1 = min(height, floor)
            else:
                y0 = max(0, (y0 + y1 - floor) // 2)
                y1 = min(height, y0 + floor)
            warnings.append(FitWarning("grown", r.key, {"from": was, "to": y1 - y0}))
        boxes[r.key] = [x0, y0, x1, y1]
    kept = {r.key: r for r in layout.regions}
    for r in layout.regions:
        if mono and r.role == "image":
            del kept[r.key]
            warnings.append(FitWarning("dropped", r.key, {"why": "mono"}))
    fmt = {r.key: r.clock_format for r in layout.regions if r.role == "clock"}
    for key, f in list(fmt.items()):
        x0, y0, x1, y1 = boxes[key]
        options = CLOCK_FORMATS[CLOCK_FORMATS.index(f):]
        fits = [o for o in options if text_width_px(clock_sample(o), max(floor, y1 - y0 - 2))
                <= x1 - x0]
        if not fits:
            del kept[key]
            warnings.append(FitWarning("dropped", key, {"why": "too_narrow"}))
        elif fits[0] != f:
            fmt[key] = fits[0]
            warnings.append(FitWarning("short_format", key, {"from": f, "to": fits[0]}))

    main = next((r.key for r in layout.regions if r.role == "main"), None)
    base = list(boxes[main]) if main is not None else None

    def main_box() -> list[int] | None:
        if base is None:
            return None
        mx0, my0, mx1, my1 = base
        for key in kept:
            if key == main:
                continue
            x0, y0, x1, y1 = boxes[key]
            if x0 <= mx0 and x1 >= mx1 and y0 < my1 and y1 > my0:  # a band across the main
                if y0 <= my0:
                    my0 = max(my0, y1)
                elif y1 >= my1:
                    my1 = min(my1, y0)
            elif y0 <= my0 and y1 >= my1 and x0 < mx1 and x1 > mx0:  # a column beside it
                if x0 <= mx0:
                    mx0 = max(mx0, x1)
                elif x1 >= mx1:
                    mx1 = min(mx1, x0)
            elif x0 < mx1 and x1 > mx0 and y0 < my1 and y1 > my0 and not _overlap(
                    drawn[key], drawn[main]):  # grown over the main's edge: never over text
                if y0 <= my0:
                    my0 = max(my0, y1)
                elif y1 >= my1:
                    my1 = min(my1, y0)
        return [mx0, my0, mx1, my1]

    def take_over(gone: list[str]) -> None:
        """The main region takes the rows (or columns) of dropped bands that touch it."""
        if base is None:
            return
        grew = True
        while grew:
            grew = False
            for key in gone:
                x0, y0, x1, y1 = boxes[key]
                if x0 <= base[0] and x1 >= base[2] and y0 <= base[3] and y1 >= base[1] \
                        and (y0 < base[1] or y1 > base[3]):
                    base[1], base[3], grew = min(base[1], y0), max(base[3], y1), True
                elif y0 <= base[1] and y1 >= base[3] and x0 <= base[2] and x1 >= base[0] \
                        and (x0 < base[0] or x1 > base[2]):
                    base[0], base[2], grew = min(base[0], x0), max(base[2], x1), True

    drop_order = [r.key for role in ("image", "clock", "ticker")
                  for r in reversed(layout.regions) if r.role == role]
    gone = [r.key for r in layout.regions if r.key not in kept]
    take_over(gone)
    box = main_box()
    while box is not None and (box[3] - box[1] < height * MAIN_MIN_SHARE
                               or box[2] - box[0] < width * MAIN_MIN_SHARE):
        victim = next((k for k in drop_order if k in kept), None)
        if victim is None:
            break
        del kept[victim]
        gone.append(victim)
        warnings.append(FitWarning("dropped", victim, {"why": "main_too_small"}))
        take_over(gone)
        box = main_box()
    if main is not None and box is not None:
        boxes[main] = box
    regions = tuple(
        replace(r, x=boxes[r.key][0], y=boxes[r.key][1], w=boxes[r.key][2] - boxes[r.key][0],
                h=boxes[r.key][3] - boxes[r.key][1],
                clock_format=fmt.get(r.key, r.clock_format))
        for r in layout.regions if r.key in kept)
    return replace(layout, width=width, height=height, regions=regions, mono=mono), warnings


def live_lines(region: Region, t_us: int) -> tuple[TickerLine, ...]:
    """The ticker's lines that may scroll at t (approved, inside their validity)."""
    return tuple(x for x in region.lines if x.live_at(t_us))


def next_line_edge(layout: Layout, t_us: int) -> int:
    """The first instant after t at which a ticker line of the layout starts or stops."""
    edges = [to_us(v) for r in layout.regions for x in r.lines
             for v in (x.valid_from, x.valid_until) if v is not None]
    return min((e for e in edges if e > t_us), default=INF)


# --- tickers --------------------------------------------------------------------------------


def ticker_font_px(region_h: int, panel_h: int) -> int:
    """The text size in a ticker band: most of the band, never below the legible floor."""
    return max(text_floor_px(panel_h), min(region_h, round(region_h * 0.8)))


def ticker_speed_px(region: Region, font_px: int) -> float:
    """Pixels a second for the region's speed in characters a second."""
    return max(1.0, region.speed_cps * font_px)


def ticker_position(widths: Sequence[int], region_w: int, speed_px_s: float, t_us: int
                    ) -> tuple[int, int, int, int]:
    """Which line is crossing the band at t and where: (index, x of the line's left edge in
    the band, the pass's start and end in us).

    Each line enters at one edge and has left at the other before the next enters, so a pass
    takes (line width + band width) / speed. The passes loop from the Unix epoch: every screen
    with the same lines and band shows the same text at the same place at the same moment,
    and the position is a pure function of time (a frame late is a frame, never a jump)."""
    passes = [max(1, round((w + region_w) / speed_px_s * US)) for w in widths]
    total = sum(passes)
    pos = t_us % total
    start = t_us - pos
    for i, p in enumerate(passes):
        if pos < p:
            moved = round(pos * speed_px_s / US)
            return i, region_w - moved, start, start + p
        pos -= p
        start += p
    raise AssertionError("unreachable: pos < total")


def mirror_x(x: int, line_w: int, region_w: int) -> int:
    """A left-moving position turned into the same pass moving right."""
    return region_w - line_w - x
