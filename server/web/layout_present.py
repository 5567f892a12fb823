"""The layout editor's form and words: the regions table as posted or stored, role and
warning labels in the reader's language, and the true-pixel preview pictures (drawn by the
player's own compositor in a job worker process, never in the web worker).

The form posts ``region=<n>`` once per region, in order, and ``r<n>-<field>`` for its
fields (static/layouts.js adds and removes regions); ``n`` only ties a region's fields
together and is not stored.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from playlists.clock import US
from playlists.layouts import (
    CLOCK_FORMATS,
    DIRECTIONS,
    ROLES,
    FitWarning,
    Layout,
    Region,
    ticker_font_px,
    ticker_speed_px,
)

ROLE_LABELS = {"main": _l("Main screen"), "ticker": _l("Ticker"), "clock": _l("Clock"),
               "image": _l("Image")}
CLOCK_LABELS = {"datetime": _l("Date and time"), "date": _l("Date only"),
                "time": _l("Time only")}
DIRECTION_LABELS = {"left": _l("Right to left"), "right": _l("Left to right")}
DEFAULT_FG, DEFAULT_BG = "#ffd200", "#000000"
# Which field of a region a checks' code (services/layouts.MESSAGES) is about.
FIELD_OF_CODE = {"key_invalid": "key", "key_duplicate": "key", "role_unknown": "role",
                 "overlay_main": "role", "outside_canvas": "geometry",
                 "speed_out_of_range": "speed", "direction_unknown": "direction",
                 "line_too_long": "lines", "clock_format_unknown": "clock_format",
                 "colour_invalid": "colours"}
MAX_FORM_REGIONS = 20  # more than a layout may have (the service says so); not a flood


@dataclass
class RegionRow:
    """One region as the form shows it: what was typed (strings, shown again as typed) and
    the messages for its fields."""

    n: int
    key: str = ""
    role: str = "main"
    x: str = "0"
    y: str = "0"
    w: str = ""
    h: str = ""
    fg: str = DEFAULT_FG
    bg: str = DEFAULT_BG
    line_ids: list[int] = field(default_factory=list)
    new_line: str = ""
    speed: str = "4"
    direction: str = "left"
    clock_format: str = "datetime"
    image_id: int | None = None
    topic_id: int | None = None  # the topic of a typed line's notice
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        if message not in self.errors.get(name, []):
            self.errors.setdefault(name, []).append(message)

    @property
    def messages(self) -> list[str]:
        return [m for ms in self.errors.values() for m in ms]


def _number(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def rows_from_stored(regions: Sequence[Mapping[str, Any]]) -> list[RegionRow]:
    """The stored regions (the layout table's JSON) as form rows."""
    return [RegionRow(
        n=n, key=str(r.get("key", "")), role=str(r.get("role", "main")),
        x=_number(r.get("x")), y=_number(r.get("y")), w=_number(r.get("w")),
        h=_number(r.get("h")), fg=str(r.get("fg", DEFAULT_FG)), bg=str(r.get("bg", DEFAULT_BG)),
        line_ids=[int(i) for i in r.get("content_ids") or []],
        speed=_number(r.get("speed_cps", 4.0)), direction=str(r.get("direction", "left")),
        clock_format=str(r.get("clock_format", "datetime")),
        image_id=r.get("content_id") if r.get("role") == "image" else None)
        for n, r in enumerate(regions)]


def rows_from_form(form: MultiDict) -> list[RegionRow]:
    """The regions as posted, in order (at most MAX_FORM_REGIONS)."""
    rows = []
    for raw in form.getlist("region")[:MAX_FORM_REGIONS]:
        try:
            n = int(raw)
        except ValueError:
            continue

        def get(name: str, default: str = "", n: int = n) -> str:
            return (form.get(f"r{n}-{name}") or default).strip()

        ids = []
        for v in form.getlist(f"r{n}-lines"):
            try:
                ids.append(int(v))
            except ValueError:
                continue
        image, topic = get("image"), get("topic")
        rows.append(RegionRow(
            n=n, key=get("key").lower(), role=get("role", "main"), x=get("x"), y=get("y"),
            w=get("w"), h=get("h"), fg=get("fg", DEFAULT_FG).lower(),
            bg=get("bg", DEFAULT_BG).lower(), line_ids=list(dict.fromkeys(ids)),
            new_line=get("new_line"), speed=get("speed", "4"),
            direction=get("direction", "left"), clock_format=get("clock_format", "datetime"),
            image_id=int(image) if image.isdigit() else None,
            topic_id=int(topic) if topic.isdigit() else None))
    return rows


def _int(row: RegionRow, name: str) -> int | None:
    raw = getattr(row, name).replace("，", ".").replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or value != int(value):
        row.error(name, gettext("Write a whole number of pixels."))
        return None
    return int(value)


def stored_regions(rows: list[RegionRow]) -> list[dict[str, Any]] | None:
    """The rows in the layout table's JSON shape, or None when a row has a number that is
    not one (marked on the row; the service checks everything else)."""
    out: list[dict[str, Any]] = []
    ok = True
    for row in rows:
        nums = {k: _int(row, k) for k in ("x", "y", "w", "h")}
        if None in nums.values():
            ok = False
            continue
        d: dict[str, Any] = {"key": row.key, "role": row.role, **nums, "fg": row.fg,
                             "bg": row.bg}
        if row.role == "ticker":
            try:
                speed = float(row.speed.replace("，", ".").replace(",", "."))
            except ValueError:
                row.error("speed", gettext("The speed is a number of characters a second, "
                                           "e.g. 4."))
                ok = False
                continue
            d.update(content_ids=row.line_ids, speed_cps=speed, direction=row.direction)
        elif row.role == "clock":
            d["clock_format"] = row.clock_format
        elif row.role == "image":
            d["content_id"] = row.image_id
        out.append(d)
    return out if ok else None


# --- words -----------------------------------------------------------------------------


def size_label(w: int, h: int) -> str:
    return f"{w}×{h}"


def region_label(region: Region | Mapping[str, Any]) -> str:
    role = region.role if isinstance(region, Region) else region.get("role", "")
    return str(ROLE_LABELS.get(role, role))


def warning_text(w: FitWarning, layout: Layout, width: int, height: int) -> str:
    """A fitting warning in the reader's words: 滚动字幕 在 128×64 上放大到 12 像素高."""
    region = next((r for r in layout.regions if r.key == w.region), None)
    name = region_label(region) if region is not None else w.region
    size = size_label(width, height)
    if w.code == "grown":
        return gettext("%(region)s on %(size)s grows to %(px)d pixels high to stay legible",
                       region=name, size=size, px=w.detail.get("to", 0))
    if w.code == "short_format":
        return gettext("%(region)s on %(size)s shows only the %(what)s", region=name,
                       size=size, what=SHORT_WHAT.get(w.detail.get("to", ""), ""))
    if w.code == "dropped" and w.detail.get("why") == "mono":
        return gettext("%(region)s is not shown on the single-colour %(size)s: a picture in "
                       "one colour at this few pixels cannot be read", region=name, size=size)
    if w.code == "dropped" and w.detail.get("why") == "too_narrow":
        return gettext("%(region)s on %(size)s is too narrow for its text and is left out",
                       region=name, size=size)
    if w.code == "dropped":
        return gettext("%(region)s does not fit on %(size)s and is left out", region=name,
                       size=size)
    return f"{name}: {w.code}"


SHORT_WHAT = {"date": _l("date"), "time": _l("time")}


def clock_options(now_local: datetime) -> list[tuple[str, str]]:
    """(format, label with an example at now): 日期和时间（12月6日 星期日 18:49）."""
    from playlists.layouts import clock_text

    return [(f, gettext("%(label)s (%(example)s)", label=CLOCK_LABELS[f],
                        example=clock_text(f, now_local))) for f in CLOCK_FORMATS]


def role_options() -> list[tuple[str, str]]:
    return [(r, str(ROLE_LABELS[r])) for r in ROLES]


def direction_options() -> list[tuple[str, str]]:
    return [(d, str(DIRECTION_LABELS[d])) for d in DIRECTIONS]


def regions_summary(regions: Sequence[Mapping[str, Any]]) -> str:
    """主画面；滚动字幕；时钟 (the stored regions' roles, in drawing order)."""
    return gettext("; ").join(region_label(r) for r in regions)


# --- the preview pictures ---------------------------------------------------------------


@dataclass(frozen=True)
class PreviewJob:
    """One panel's preview, as sent to a job worker: everything is plain data."""

    layout: Layout  # fitted to the panel
    main_label: str  # what the main region's placeholder says
    tickers: dict[str, tuple[str, ...]]  # region key -> texts (pending ones too: see below)


def ticker_time(layout: Layout, tickers: Mapping[str, Sequence[str]], now_us: int) -> int:
    """An instant near now at which the first ticker's first line has just fully entered
    its band (its start at the band's edge), so a still picture shows readable text."""
    from player.render.compose import line_width

    region = next((r for r in layout.regions if r.role == "ticker" and tickers.get(r.key)),
                  None)
    if region is None:
        return now_us
    font_px = ticker_font_px(region.h, layout.height)
    widths = [line_width(t, font_px, layout.mono) for t in tickers[region.key]]
    speed = ticker_speed_px(region, font_px)
    total = sum(max(1, round((w + region.w) / speed * US)) for w in widths)
    return now_us - now_us % total + round(region.w / speed * US)


def _placeholder(w: int, h: int, label: str, mono: bool):
    """What the main region shows in a preview: a plain box that says what goes there."""
    from PIL import Image, ImageDraw

    from player.render.compose import line_strip, line_width

    img = Image.new("RGB", (w, h), (0, 0, 0) if mono else (30, 58, 95))
    ImageDraw.Draw(img).rectangle([0, 0, w - 1, h - 1], outline=(255, 255, 255) if mono
                                  else (120, 150, 190))
    px = max(8, min(24, h // 4))
    while px > 8 and line_width(label, px, mono) > w - 4:
        px -= 1
    if line_width(label, px, mono) <= w - 2 and px + 2 <= h:
        strip = line_strip(label, px, "#ffffff", "#1e3a5f", mono).convert("RGB")
        img.paste(strip, ((w - strip.width) // 2, (h - strip.height) // 2))
    return img


def render_previews(jobs: list[PreviewJob], images: dict[str, str], now_us: int,
                    tz: str) -> list[bytes]:
    """Each job's panel as PNG bytes, composed exactly as the player's headless backend
    composes it (player.render.compose). Runs in a job worker (server/workpool.py)."""
    from zoneinfo import ZoneInfo

    from PIL import Image

    from player.render.compose import compose_frame

    pictures = {}
    for sha, path in images.items():
        try:
            with Image.open(path) as im:
                pictures[sha] = im.convert("RGB")
        except OSError:
            continue  # a missing file shows the region's background, as on a screen
    out = []
    for job in jobs:
        lay = job.layout
        main = lay.main()
        under = (main.w, main.h) if main is not None else (lay.width, lay.height)
        placeholder = _placeholder(*under, job.main_label, lay.mono)
        t_us = ticker_time(lay, job.tickers, now_us)
        local = datetime.fromtimestamp(t_us / US, UTC).astimezone(ZoneInfo(tz))
        frame = compose_frame(lay, placeholder, pictures, job.tickers, local, t_us)
        buf = io.BytesIO()
        frame.save(buf, "PNG", optimize=False)
        out.append(buf.getvalue())
    return out


# --- what frames a screen (calendar, "what plays at t") -------------------------------


PREVIEW_WIDTH = 640  # a small panel's picture is enlarged by a whole factor to about this


def enlargement(panel_w: int) -> int:
    """The whole factor a panel's true-pixel picture is enlarged by on a page (nearest
    neighbour, in CSS), so a 128x64 module is not a stamp; 1 for wide panels."""
    return max(1, min(6, round(PREVIEW_WIDTH / panel_w)))


def playlist_label(name: str) -> str:
    return gettext("playlist %(name)s", name=name) if name else ""


def layout_kind(layout: Layout | Any) -> str:
    return gettext("Overlay") if layout.overlay else gettext("Layout")


def describe_layout(layout: Layout, main: str = "") -> str:
    """版式 东和标准：主画面 = 大堂日常；滚动字幕；时钟 (a fitted layout: only the regions this
    panel shows). `main`: what its main region plays, if known."""
    parts = []
    for r in layout.regions:
        label = region_label(r)
        if r.role == "main" and main:
            label = gettext("%(region)s = %(what)s", region=label, what=main)
        elif r.role == "clock":
            label = gettext("%(region)s (%(what)s)", region=label,
                            what=CLOCK_LABELS.get(r.clock_format, r.clock_format))
        parts.append(label)
    return gettext("%(kind)s %(name)s: %(regions)s", kind=layout_kind(layout),
                   name=layout.name, regions=gettext("; ").join(parts))


def screen_tickers(layout: Layout | None, t_us: int) -> dict[str, tuple[str, ...]]:
    """What each ticker of a (fitted) layout scrolls at t on a screen: approved lines inside
    their validity only."""
    from playlists.layouts import live_lines

    if layout is None:
        return {}
    return {r.key: tuple(x.text for x in live_lines(r, t_us))
            for r in layout.regions if r.role == "ticker"}


def render_screen(width: int, height: int, layout: Layout | None, overlay: Layout | None,
                  main_path: str | None, main_label: str, images: dict[str, str], t_us: int,
                  tz: str) -> bytes:
    """The whole panel at t as PNG bytes: the main item in the layout's main region (or the
    whole panel), the layout's other regions, the overlay over it; composed by the
    player's compositor. Runs in a job worker (server/workpool.py)."""
    from zoneinfo import ZoneInfo

    from PIL import Image

    from player.render.compose import compose_frame
    from player.render.images import fit

    def picture(path: str) -> Image.Image | None:
        try:
            with Image.open(path) as im:
                return im.convert("RGB")
        except OSError:
            return None

    pictures = {sha: p for sha, path in images.items() if (p := picture(path)) is not None}
    main_region = layout.main() if layout is not None else None
    box = (main_region.w, main_region.h) if main_region is not None else (width, height)
    mono = (layout or overlay).mono if (layout or overlay) else False
    main = picture(main_path) if main_path else None
    if main is None:
        main = _placeholder(*box, main_label, mono)
    local = datetime.fromtimestamp(t_us / US, UTC).astimezone(ZoneInfo(tz))
    frame = fit(main, (width, height))
    if layout is not None:
        frame = compose_frame(layout, main, pictures, screen_tickers(layout, t_us), local, t_us)
    if overlay is not None:
        frame = compose_frame(overlay, frame, pictures, screen_tickers(overlay, t_us), local,
                              t_us)
    buf = io.BytesIO()
    frame.save(buf, "PNG")
    return buf.getvalue()


def region_rows(layout: Layout, t_us: int, local: datetime, main: str,
                title_of) -> list[dict[str, str]]:
    """What each region of a (fitted) layout shows at t, for people: the main item, the
    ticker's lines, the clock's text, the image's title."""
    from playlists.layouts import clock_text, live_lines

    out = []
    for r in layout.regions:
        if r.role == "main":
            text = main or gettext("nothing")
        elif r.role == "ticker":
            lines = [x.text for x in live_lines(r, t_us)]
            text = (ngettext_lines(len(lines)) + gettext(": ") + " / ".join(lines)) if lines \
                else gettext("no approved line to scroll")
        elif r.role == "clock":
            text = clock_text(r.clock_format, local)
        else:
            shown = r.image is not None and r.image.approved
            text = title_of(r.image.content_id) if shown else gettext("no approved picture")
        out.append({"role": r.role, "label": region_label(r), "text": text})
    return out


def ngettext_lines(n: int) -> str:
    from flask_babel import ngettext

    return ngettext("%(num)d line", "%(num)d lines", n)
