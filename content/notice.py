"""Render text notices for LED panels at an exact pixel size.

Pipeline: normalise text -> refuse characters the font lacks -> pick the largest font
size whose layout fits one page -> otherwise scroll (wide short panels) or paginate at
the fewest pages -> otherwise the same again down to the panel's own legible minimum
(legible_floor: 12 px bitmaps on the small modules) -> draw (1-bit without
anti-aliasing for mono panels). A refusal is for one panel size only; the server lets
the editor leave that size out.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from os import PathLike

from PIL import Image, ImageDraw

from playlists.layouts import SMALL_PANEL_MAX_H

from .errors import ContentError
from .fonts import (
    FontSpec,
    bitmap_strikes,
    draw_text,
    find_cjk_font,
    missing_glyphs,
    pixel_face,
    text_length,
)
from .notice_layout import Block, Layout, block_height, largest, layout_at, metrics, must, pages_at
from .themes import TEMPLATES, Theme

COLOR_MODES = ("full", "mono")
_MAX_SCROLL_WIDTH = 200_000  # px; keeps a strip's memory bounded (~190 MB RGB at 320 px)
_LIT = 255  # mode "1" pixels must be 0 or 255; other values do not survive all operations


@dataclass(frozen=True)
class Notice:
    body: str
    title: str = ""
    footer: str | None = None  # e.g. "便民热线 0755-12345678"
    template: str = "notice"


@dataclass(frozen=True)
class Target:
    width: int
    height: int
    color_mode: str = "full"  # "full" | "mono"


@dataclass(frozen=True)
class RenderOptions:
    min_font_px: int = 16  # smallest legible size for a Chinese character
    max_pages: int = 10
    allow_scroll: bool = True
    scroll_min_aspect: float = 4.0  # width/height at or above which scrolling is offered
    scroll_chars_per_s: float = 3.0  # reading speed used for the suggested scroll speed
    font: str | PathLike[str] | FontSpec | None = None  # else $SIGNAGE_FONT, else fontconfig
    # Below min_font_px only where the panel can still read it (see legible_floor).
    pixel_font_fallback: bool = True


@dataclass
class NoticeRender:
    images: list[Image.Image]  # each exactly width x height (pages) or height H (scroll)
    mode: str  # "pages" | "scroll"
    font_px: int  # body size
    title_px: int | None
    footer_px: int | None
    line_count: int  # body lines in total (1 for scroll)
    pages: list[list[str]] = field(default_factory=list)  # body lines per page
    titles: list[list[str]] = field(default_factory=list)  # title lines per page (if any)
    scroll_speed_px_s: float | None = None
    font: FontSpec | None = None

    def png_pages(self) -> list[bytes]:
        out = []
        for im in self.images:
            buf = io.BytesIO()
            # zlib level 1, not the default 6 nor optimize=True: a typed emergency
            # broadcast is rendered for every screen size while people wait. On flat
            # notice pages level 1 encoded 5 sizes in 11 ms instead of 16 ms and the
            # files came out no bigger (137 kB against 138 kB in all); optimize=True was
            # 2-9x slower for 1-4 % smaller files.
            im.save(buf, "PNG", compress_level=1)
            out.append(buf.getvalue())
        return out

def _clean(text: str | None, *, keep_newlines: bool) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\n" if keep_newlines else " ")
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) in {"Cc", "Cf"} or "\ufe00" <= ch <= "\ufe0f":
            continue  # invisible: nothing to draw, and must not become tofu
        else:
            out.append(ch)
    cleaned = "".join(out)
    if not keep_newlines:
        cleaned = re.sub(r" {2,}", " ", cleaned)
    return cleaned.strip()



def _padding(t: Target) -> int:
    return max(1, min(t.width, t.height) // 48)


def _new_canvas(t: Target, theme: Theme, width: int | None = None) -> Image.Image:
    size = (width or t.width, t.height)
    if t.color_mode == "mono":
        return Image.new("1", size, 0)
    return Image.new("RGB", size, theme.background)


def _draw(im: Image.Image, mono: bool) -> ImageDraw.ImageDraw:
    d = ImageDraw.Draw(im)
    if mono:
        d.fontmode = "1"  # no anti-aliasing: single-colour panels show only on/off pixels
    return d


def _draw_block(d: ImageDraw.ImageDraw, spec: FontSpec, block: Block, y0: int, pad: int,
                inner_w: int, fill: int | tuple[int, int, int], centre: bool) -> None:
    m = metrics(spec, block.px)
    # Body is a left-aligned block centred as a whole; title and footer lines are centred.
    block_w = max(text_length(spec, block.px, line) for line in block.lines)
    for i, line in enumerate(block.lines):
        width = text_length(spec, block.px, line) if centre else block_w
        x = pad + max(0, round((inner_w - width) / 2))
        draw_text(d, (x, y0 + i * (m.ink_h + m.gap) - m.top), line, spec, block.px, fill)


def _render_pages(spec: FontSpec, t: Target, theme: Theme, lay: Layout) -> NoticeRender:
    mono = t.color_mode == "mono"
    pad = _padding(t)
    inner_w = t.width - 2 * pad
    fg = _LIT if mono else theme.text
    accent = _LIT if mono else theme.accent
    images: list[Image.Image] = []
    pages: list[list[str]] = []
    titles: list[list[str]] = []
    for blocks in lay.pages:
        pages.append([line for b in blocks if b.role == "body" for line in b.lines])
        titles.append([line for b in blocks if b.role == "title" for line in b.lines])
        im = _new_canvas(t, theme)
        d = _draw(im, mono)
        top, bottom = pad, t.height - pad
        rest = list(blocks)
        if rest and rest[0].role == "title":  # pinned to the top
            title = rest.pop(0)
            th = block_height(spec, title.px, len(title.lines))
            inverted = mono and theme.invert_title_in_mono
            if inverted:
                d.rectangle((0, 0, t.width - 1, top + th + lay.sep // 2 - 1), fill=_LIT)
            _draw_block(d, spec, title, top, pad, inner_w, 0 if inverted else accent, True)
            top += th + lay.sep
            if lay.sep >= 3 and not inverted:
                y = top - lay.sep // 2 - 1
                d.line((pad, y, t.width - 1 - pad, y), fill=accent)
        if rest and rest[-1].role == "footer":  # pinned to the bottom
            footer = rest.pop()
            fh = block_height(spec, footer.px, len(footer.lines))
            _draw_block(d, spec, footer, bottom - fh, pad, inner_w, accent, True)
            bottom -= fh + lay.sep
            if lay.sep >= 3:
                y = bottom + lay.sep // 2
                d.line((pad, y, t.width - 1 - pad, y), fill=accent)
        # Whatever remains (body, or a flowed title/footer) is centred in the space left.
        heights = [block_height(spec, b.px, len(b.lines)) for b in rest]
        total = sum(heights) + lay.sep * max(0, len(rest) - 1)
        y = top + max(0, (bottom - top - total) // 2)
        for b, bh in zip(rest, heights, strict=True):
            colour = fg if b.role == "body" else accent
            _draw_block(d, spec, b, y, pad, inner_w, colour, b.role != "body")
            y += bh + lay.sep
        images.append(im)
    return NoticeRender(
        images=images, mode="pages", font_px=lay.size, title_px=lay.title_px,
        footer_px=lay.footer_px, line_count=len(lay.body_lines), pages=pages, font=spec,
        titles=titles,
    )


def _render_scroll(spec: FontSpec, n: Notice, t: Target, theme: Theme, opts: RenderOptions,
                   min_px: int) -> NoticeRender:
    pad = _padding(t)
    inner_h = t.height - 2 * pad
    gap = "\u3000\u3000"
    segments: list[tuple[str, str]] = []  # (text, role)
    if n.title:
        segments.append((n.title + gap, "accent"))
    segments.append((" ".join(n.body.split("\n")), "text"))
    if n.footer:
        segments.append((gap + n.footer, "accent"))
    full = "".join(s for s, _ in segments)
    hi = max(min_px, t.height)
    size = largest(min_px, hi, lambda s: metrics(spec, s).ink_h <= inner_h)
    if size is None:
        raise ContentError(
            "notice_does_not_fit", "panel is too short for the minimum font size",
            width=t.width, height=t.height, min_font_px=min_px,
            reason="panel_too_short",
        )
    # Shrink if the strip would be absurdly long (memory, player texture limits).
    size = largest(min_px, size,
                    lambda s: text_length(spec, s, full) + 2 * pad <= _MAX_SCROLL_WIDTH)
    if size is None:
        raise ContentError(
            "notice_does_not_fit", "text is too long even for a scrolling strip",
            width=t.width, height=t.height, min_font_px=min_px,
            reason="too_long_for_scroll", max_scroll_width=_MAX_SCROLL_WIDTH,
        )
    m = metrics(spec, size)
    width = math.ceil(text_length(spec, size, full)) + 2 * pad
    mono = t.color_mode == "mono"
    im = _new_canvas(t, theme, width)
    d = _draw(im, mono)
    y = pad + (inner_h - m.ink_h) // 2 - m.top
    x = float(pad)
    for text, role in segments:
        colour = _LIT if mono else (theme.accent if role == "accent" else theme.text)
        draw_text(d, (x, y), text, spec, size, colour)
        x += text_length(spec, size, text)
    speed = min(960.0, max(24.0, round(opts.scroll_chars_per_s * size, 1)))
    return NoticeRender(
        images=[im], mode="scroll", font_px=size, title_px=size if n.title else None,
        footer_px=size if n.footer else None, line_count=1, pages=[[full]],
        scroll_speed_px_s=speed, font=spec,
    )


def render_notice(notice: Notice, target: Target, options: RenderOptions | None = None
                  ) -> NoticeRender:
    """Render `notice` for a panel; raises ContentError (notice_* / no_cjk_font codes)."""
    opts = options or RenderOptions()
    if notice.template not in TEMPLATES:
        raise ContentError("invalid_template", "unknown template",
                           template=notice.template, accepted=list(TEMPLATES))
    if (target.color_mode not in COLOR_MODES or not 8 <= target.width <= 16384
            or not 8 <= target.height <= 16384):
        raise ContentError("invalid_target", "invalid panel size or colour mode",
                           width=target.width, height=target.height,
                           color_mode=target.color_mode)
    n = Notice(
        body=_clean(notice.body, keep_newlines=True),
        title=_clean(notice.title, keep_newlines=False),
        footer=_clean(notice.footer, keep_newlines=False) or None,
        template=notice.template,
    )
    if not n.body:
        raise ContentError("notice_empty_body", "the notice body is empty")
    spec = find_cjk_font(opts.font)
    missing = missing_glyphs(n.title + n.body + (n.footer or ""), spec)
    if missing:
        raise ContentError(
            "notice_missing_glyphs", "the font cannot draw some characters",
            characters=missing, codepoints=[f"U+{ord(c):04X}" for c in missing],
            font=spec.path,
        )
    theme = TEMPLATES[n.template]
    try:
        return _fit(spec, n, target, theme, opts, opts.min_font_px)
    except ContentError as err:
        floor = legible_floor(target, spec, opts)
        if err.code != "notice_does_not_fit" or floor is None:
            raise
    # Neither more pages nor a scroll strip fit at the usual minimum: go down to this
    # panel's own legible minimum before refusing (the refusal then names that size).
    return _fit(floor[0], n, target, theme, opts, floor[1])


def legible_floor(target: Target, spec: FontSpec, opts: RenderOptions
                  ) -> tuple[FontSpec, int] | None:
    """The smaller (face, size) a panel can still read, below opts.min_font_px, or None.

    Decided per panel. The usual 16 px is the least at which an outline CJK font keeps
    every stroke of a complex character apart; below it a rasterised outline merges or
    drops strokes (without anti-aliasing) or blurs (with it). A font with hand-drawn
    bitmaps for those sizes (WenQuanYi Zen Hei Sharp: 12-16 px, drawn by FreeType as they
    are, on mono and full-colour panels alike) stays legible down to its smallest bitmap,
    12 px: the 12x12 dot matrix Chinese LED modules use for full GB2312 text.
    That floor is for the small modules, at most 128 px high (128x64, 192x96, 256x128):
    they hang in lift lobbies and are read from a metre or two, and they have few pixels
    to give. A taller panel keeps 16 px: a 1920x320 gate strip or a 384x192 lobby panel
    is read from across the road or the hall, where a 12 px character (a few centimetres
    at outdoor pitch) is too small, and its pixels already hold a long text at 16 px."""
    if not opts.pixel_font_fallback or target.height > SMALL_PANEL_MAX_H:
        return None
    face = pixel_face(spec)
    strikes = bitmap_strikes(face)
    if not strikes or min(strikes) >= opts.min_font_px:
        return None
    return face, min(strikes)


def _fit(spec: FontSpec, n: Notice, target: Target, theme: Theme, opts: RenderOptions,
         min_px: int) -> NoticeRender:
    """One page at the largest size, else a scroll strip (wide panels), else the fewest
    pages, all at min_px or more."""
    pad = _padding(target)
    inner_w, inner_h = target.width - 2 * pad, target.height - 2 * pad

    # Words and numbers are split only when no size keeps them whole ("strict" first).
    def layout(size: int, strict: bool) -> Layout | None:
        return layout_at(spec, n.title, n.body, n.footer, size, inner_w, inner_h, min_px,
                         split_words=not strict)

    for strict in (True, False):
        best = largest(min_px, inner_h, lambda s, st=strict: pages_at(layout(s, st)) == 1)
        if best is not None:
            return _render_pages(spec, target, theme, must(layout(best, strict)))
    wide = target.width / target.height >= opts.scroll_min_aspect
    if wide and opts.allow_scroll:
        return _render_scroll(spec, n, target, theme, opts, min_px)
    strict = True
    smallest = layout(min_px, strict)
    if smallest is None:
        strict = False
        smallest = layout(min_px, strict)
    if smallest is None:
        raise ContentError(
            "notice_does_not_fit", "panel too small for the text at the minimum font size",
            width=target.width, height=target.height, min_font_px=min_px,
            reason="panel_too_small",
        )
    if smallest.page_count > opts.max_pages:
        raise ContentError(
            "notice_does_not_fit", "text needs too many pages at the minimum font size",
            width=target.width, height=target.height, min_font_px=min_px,
            reason="too_many_pages", pages_needed=smallest.page_count,
            max_pages=opts.max_pages,
        )
    # Fewest pages first, then the largest size that keeps that page count.
    size = largest(min_px, inner_h,
                    lambda s: pages_at(layout(s, strict)) <= smallest.page_count) or min_px
    return _render_pages(spec, target, theme, must(layout(size, strict)))
