"""A layout's regions drawn into one panel-sized picture (Pillow only, no pygame).

The headless backend's frame, the wall's screenshots and the server's editor preview are all
``compose_frame``; the SDL backend draws the same pieces (``line_strip``, ``clock_image``,
``fit``) as surfaces and puts them where the same geometry says, so every view of a layout
shows the same pixels.

Ticker geometry is shared with proof of play (see docs/player.md, "Layouts on screen"):
font_px = ticker_font_px(region.h, layout.height), a line's width = line_width(text, font_px,
mono), speed = ticker_speed_px(region, font_px), position = ticker_position(...), and a
right-moving ticker mirrors it.

Single-colour panels (``layout.mono``): colours are ignored, text is lit on unlit without
anti-aliasing, pictures are thresholded, so every pixel of the frame is black or LIT.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from player.render.images import fit, outline_font
from playlists.layouts import (
    Layout,
    Region,
    clock_text,
    mirror_x,
    ticker_font_px,
    ticker_position,
    ticker_speed_px,
)

LIT = (255, 255, 255)  # a lit pixel of a single-colour panel, as the frame stores it
UNLIT = (0, 0, 0)
# WenQuanYi Zen Hei Sharp: hand-drawn 12-16 px bitmaps (one pixel per stroke, the dot-matrix
# fonts of Chinese LED signs); FreeType draws them instead of the outline at those sizes.
SHARP_FONT = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 2)
SHARP_MAX_PX = 16
MIN_CLOCK_PX = 6

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def text_font(px: int) -> Font:
    """The font for px-high text: the Sharp bitmaps where they exist (<= 16 px), else the
    first CJK outline font found. The player may not import content/: its own lookup."""
    if px <= SHARP_MAX_PX and Path(SHARP_FONT[0]).exists():
        # Its 13 and 14 px strikes draw digits and colons apart ("14 :00", "1 8"), seen on
        # a 192x96 ticker; the 12 px one is whole.
        px = 12 if px in (13, 14) else px
        try:
            font = ImageFont.truetype(SHARP_FONT[0], px, index=SHARP_FONT[1])
            if "Sharp" in (font.getname()[0] or ""):
                return font
        except OSError:
            pass
    return outline_font(px)


def rgb(colour: str) -> tuple[int, int, int]:
    """#rrggbb as a tuple."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def one_line(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=1024)
def line_width(text: str, font_px: int, mono: bool) -> int:
    """Pixels one ticker line takes (== line_strip(...).width); mono draws the same glyphs,
    so the width does not depend on it, but the argument keeps the call sites honest."""
    return max(1, math.ceil(text_font(font_px).getlength(one_line(text))))


def _baseline_y(font: Font, box_h: int) -> int:
    """Where to draw ("la" anchor) so a CJK character's ink is centred in box_h rows."""
    _x0, y0, _x1, y1 = font.getbbox("中", anchor="la")
    return (box_h - (y1 - y0)) // 2 - y0


def _canvas(size: tuple[int, int], fg: str, bg: str, mono: bool
            ) -> tuple[Image.Image, ImageDraw.ImageDraw, int | tuple[int, int, int]]:
    if mono:
        img = Image.new("1", size, 0)
        d = ImageDraw.Draw(img)
        d.fontmode = "1"  # on/off pixels only
        return img, d, 255  # mode "1" keeps 0 and 255 through every operation, not 1
    img = Image.new("RGB", size, rgb(bg))
    return img, ImageDraw.Draw(img), rgb(fg)


def line_strip(text: str, font_px: int, fg: str, bg: str, mono: bool) -> Image.Image:
    """One ticker line on one row, font_px high and exactly line_width wide (mono: mode
    "1", lit text on unlit)."""
    font = text_font(font_px)
    img, d, fill = _canvas((line_width(text, font_px, mono), font_px), fg, bg, mono)
    d.text((0, _baseline_y(font, font_px)), one_line(text), font=font, fill=fill, anchor="la")
    return img


def clock_px(text: str, w: int, h: int) -> int:
    """The largest text size (most of the box's height) at which text fits w."""
    px = max(MIN_CLOCK_PX, min(h, round(h * 0.8)))
    while px > MIN_CLOCK_PX and text_font(px).getlength(text) > w:
        px -= 1
    return px


def clock_image(text: str, w: int, h: int, fg: str, bg: str, mono: bool) -> Image.Image:
    """The clock's w x h box with text centred, as large as fits (mono: mode "1")."""
    px = clock_px(text, w, h)
    font = text_font(px)
    img, d, fill = _canvas((w, h), fg, bg, mono)
    x = (w - font.getlength(text)) / 2
    d.text((round(x), (h - px) // 2 + _baseline_y(font, px)), text, font=font, fill=fill,
           anchor="la")
    return img


def ticker_geometry(layout: Layout, region: Region, lines: Sequence[str]
                    ) -> tuple[int, list[int], float]:
    """(font_px, each line's width, speed in px/s): the numbers every view must share."""
    font_px = ticker_font_px(region.h, layout.height)
    widths = [line_width(t, font_px, layout.mono) for t in lines]
    return font_px, widths, ticker_speed_px(region, font_px)


def ticker_place(region: Region, widths: Sequence[int], speed: float, t_us: int
                 ) -> tuple[int, int]:
    """(index of the line crossing the band at t, its left edge's x inside the band)."""
    index, x, _start, _end = ticker_position(widths, region.w, speed, t_us)
    if region.direction == "right":
        x = mirror_x(x, widths[index], region.w)
    return index, x


def strip_y(region: Region, font_px: int) -> int:
    """The strip's top inside its band (centred)."""
    return (region.h - font_px) // 2


def threshold(img: Image.Image) -> Image.Image:
    """A picture as a single-colour panel shows it: each pixel lit or unlit."""
    return img.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("RGB")


def region_bg(layout: Layout, region: Region) -> tuple[int, int, int]:
    return UNLIT if layout.mono else rgb(region.bg)


def fit_picture(img: Image.Image, layout: Layout, region: Region) -> Image.Image:
    """A picture (main content or an image region's still) fitted into the region."""
    out = fit(img, (region.w, region.h), region_bg(layout, region))
    return threshold(out) if layout.mono else out


def paste_picture(frame: Image.Image, img: Image.Image | None, layout: Layout,
                  region: Region) -> None:
    """A picture fitted into its region of the frame (None: the region's background)."""
    if img is None:
        frame.paste(region_bg(layout, region), (region.x, region.y, region.x + region.w,
                                                region.y + region.h))
    else:
        frame.paste(fit_picture(img, layout, region), (region.x, region.y))


def draw_ticker(frame: Image.Image, layout: Layout, region: Region, lines: Sequence[str],
                t_us: int) -> None:
    band = Image.new("RGB", (region.w, region.h), region_bg(layout, region))
    if lines:
        font_px, widths, speed = ticker_geometry(layout, region, lines)
        index, x = ticker_place(region, widths, speed, t_us)
        strip = line_strip(lines[index], font_px, region.fg, region.bg, layout.mono)
        band.paste(strip.convert("RGB"), (x, strip_y(region, font_px)))
    frame.paste(band, (region.x, region.y))


def compose_frame(layout: Layout, main: Image.Image | None, images: Mapping[str, Image.Image],
                  tickers: Mapping[str, Sequence[str]], local_now: datetime, t_us: int
                  ) -> Image.Image:
    """The whole panel as the player shows it at t (RGB, layout.width x layout.height).

    main: what the main region shows (fitted into it; None: its background). For an overlay
    (no main region) main is the picture under it, already at the panel's size, or black.
    images: sha256 -> still for image regions (a missing one shows the background).
    tickers: region key -> the texts scrolling there now (none: the background).
    local_now: the corrected clock in the plan's zone; t_us: the same instant in us (UTC)."""
    size = (layout.width, layout.height)
    frame = Image.new("RGB", size)
    if layout.overlay and main is not None:
        under = fit(main, size)
        frame.paste(threshold(under) if layout.mono else under)
    for r in layout.regions:
        if r.role == "main":
            paste_picture(frame, main, layout, r)
        elif r.role == "ticker":
            draw_ticker(frame, layout, r, tickers.get(r.key, ()), t_us)
        elif r.role == "clock":
            img = clock_image(clock_text(r.clock_format, local_now), r.w, r.h, r.fg, r.bg,
                              layout.mono)
            frame.paste(img.convert("RGB"), (r.x, r.y))
        elif r.role == "image":
            paste_picture(frame, images.get(r.image.sha256) if r.image else None, layout, r)
    return frame
