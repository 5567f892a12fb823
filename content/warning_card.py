"""Render an official early warning (预警信号) as one full-screen card for a panel.

The card is one page at the panel's exact pixel size (a broadcast shows only its first
page): the panel in the signal colour, an icon (a square with the event's short name and
level, drawn here), the headline always whole, the instruction (防御指引) shortened with
"…" if it must be, and a small line with the sender and issue time. Wide short panels
(a gate strip) put the icon at the left at full height; others put it under the headline.
What gives way, in order: the sender line, the icon, then the text size down to the
panel's legible floor (content.notice.legible_floor), then the instruction; a panel that
cannot show even the headline whole is refused with a ContentError.

Text layout (wrapping, metrics, fonts, 1-bit drawing) is content.notice's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

from playlists.layouts import SMALL_PANEL_MAX_H

from .errors import ContentError
from .fonts import FontSpec, bitmap_strikes, draw_text, find_cjk_font, missing_glyphs, text_length
from .linebreak import word_ends, wrap_text
from .notice import (
    _LIT,
    COLOR_MODES,
    NoticeRender,
    RenderOptions,
    Target,
    _clean,
    _draw,
    _new_canvas,
    _padding,
    legible_floor,
)
from .notice_layout import block_height, largest, measure, metrics
from .themes import SIGNAL_THEMES, SIGNAL_ZH, Theme, signal_theme

ELLIPSIS = "…"
_ICON_FILL = 0.78  # share of the icon's side its characters may take
_SIDE_ASPECT = 3.0  # inner width / height at or above which the icon goes left, full height
_LABEL = re.compile(r"^\s*(?:防御指引|防御措施|防御指南)\s*[:：]\s*")
_ITEM_MARK = re.compile(r"(?:^|(?<=[；;。，,：:\n]))[(（]?\d{1,2}[.、．)）]?$")
_TRAILING = " ，、；：,;:。.\n"  # dropped before the ellipsis: "关好门窗，…" reads as a glitch


@dataclass(frozen=True)
class WarningCard:
    event_zh: str  # "台风"
    level: str | None  # "white" | "blue" | "yellow" | "orange" | "red" | None
    headline: str  # "台风橙色预警信号"
    instruction: str  # 防御指引
    sender: str = ""  # "深圳市气象台"
    issued: str = ""  # display text, "12月6日 22:10 发布"


@dataclass(frozen=True)
class _Texts:
    headline: str
    instruction: str
    footer: str
    icon_rows: tuple[str, ...]


@dataclass(frozen=True)
class _Try:
    """One way to lay the card out, tried in order until one fits."""

    spec: FontSpec
    min_px: int  # smallest text size
    icon: bool
    footer: bool
    min_lines: int  # instruction lines it must show (unless the whole fits in fewer)


@dataclass(frozen=True)
class CardPlan:
    """Where everything goes on one panel (render_warning draws it)."""

    spec: FontSpec
    side: bool  # icon at the left at full height
    head_px: int
    head_lines: list[str]
    head_box: tuple[int, int, int, int]  # x, y, w, h of the headline band
    head_pad: int  # band padding above/below the headline text
    body_px: int
    body_lines: list[str]
    body_box: tuple[int, int, int, int]
    footer_px: int | None
    footer_box: tuple[int, int, int, int] | None
    icon_box: tuple[int, int, int] | None  # x, y, side
    icon_px: int | None


def texts_of(card: WarningCard) -> _Texts:
    """The text the card shows. The level word is put into a headline that lacks it:
    a mono panel has no colour to tell the level, nor have colour-blind readers."""
    event = _clean(card.event_zh, keep_newlines=False) or "预警"
    level_zh = SIGNAL_ZH.get(card.level or "", "")
    headline = _clean(card.headline, keep_newlines=False)
    if not headline:
        tail = "预警信号" if level_zh else "预警"
        headline = event + level_zh + ("" if event.endswith("预警") else tail)
    elif level_zh and level_zh not in headline:
        headline = f"【{level_zh}】{headline}"
    footer = " ".join(p for p in (_clean(card.sender, keep_newlines=False),
                                  _clean(card.issued, keep_newlines=False)) if p)
    if len(event) <= 2:
        second = level_zh or ("" if event == "预警" else "预警")
        rows = (event, second) if second else (event,)
    else:
        half = (len(event) + 1) // 2
        rows = (event[:half], event[half:])
    # "防御指引：" before the instruction says what the card's layout already shows; on a
    # 128x64 module it would take half of a line.
    instruction = _LABEL.sub("", _clean(card.instruction, keep_newlines=True), count=1)
    return _Texts(headline, instruction, footer, rows)


def _wrap(spec: FontSpec, px: int, text: str, w: int) -> list[str] | None:
    # Words and numbers are split only when the line cannot hold them whole.
    m = measure(spec, px)
    return wrap_text(text, w, m, split_words=False) or wrap_text(text, w, m)


def _headline(spec: FontSpec, text: str, w: int, px: int, hi: int
              ) -> tuple[int, list[str]] | None:
    """One line at the largest size in [px, hi], else wrapped at px."""
    strikes = bitmap_strikes(spec)
    if px in strikes:  # stay on the hand-drawn bitmaps: an outline there breaks strokes
        hi = max(s for s in strikes if s <= max(hi, px))
    one = largest(px, hi, lambda s: text_length(spec, s, text) <= w)
    if one is not None:
        return one, [text]
    m = measure(spec, px)
    lines = wrap_text(text, w, m, split_words=False)
    # Splitting a word is worth it where it saves a line for the instruction (a long
    # official headline on a small module: "深圳市气象台发布盐田区台风橙色预警信号").
    split = wrap_text(text, w, m)
    strict = lines is not None and (split is None or len(lines) <= len(split))
    lines = lines if strict else split
    if not lines:
        return None
    # Lines of even length, not a full line and a stub ("…台风橙色" / "预警信号"): the
    # narrowest width that needs no more lines.
    def at_most(width: int) -> list[str] | None:
        got = wrap_text(text, width, m, split_words=not strict)
        return got if got is not None and len(got) <= len(lines) else None

    narrow = smallest(w // len(lines), w, lambda x: at_most(x) is not None)
    return px, at_most(narrow) or lines


def smallest(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """Smallest value in [lo, hi] with ok(value), hi if none below it (ok monotone)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def _icon_px(spec: FontSpec, rows: tuple[str, ...], side: int, lo: int) -> int | None:
    room = side * _ICON_FILL
    return largest(lo, side, lambda s: max(text_length(spec, s, r) for r in rows) <= room
                   and block_height(spec, s, len(rows)) <= room)


def shorten(spec: FontSpec, px: int, text: str, w: int, max_lines: int) -> list[str]:
    """The longest start of text, ending in "…" at a character boundary (a word's end
    where one is near), that wraps into max_lines lines of width w (no lines if not even
    "…" fits)."""
    def cut(k: int) -> str:
        # Nor a list item's number without its item: "停课；2…".
        kept = _ITEM_MARK.sub("", text[:k].rstrip(_TRAILING))
        return kept.rstrip(_TRAILING) + ELLIPSIS

    def fits(k: int) -> bool:
        lines = _wrap(spec, px, cut(k), w)
        return lines is not None and len(lines) <= max_lines

    k = largest(0, len(text) - 1, fits) if max_lines > 0 else None
    if k is None:
        return []
    # At the end of a word if one ends a few characters before: "停止室外集体…", not
    # "停止室外集体活…".
    ends = word_ends(text)
    k = next((e for e in range(k, max(0, k - 3), -1) if e in ends and fits(e)), k)
    return _wrap(spec, px, cut(k), w) or []


def _arrange(tx: _Texts, t: Target, tr: _Try, px: int, truncate: bool) -> CardPlan | None:
    """Everything placed with the instruction at px; None if it does not fit (with
    truncate, if fewer than tr.min_lines instruction lines fit)."""
    spec = tr.spec
    pad = _padding(t)
    gap = max(2, pad, round(px * 0.4))  # between the icon and the text
    inner_w, inner_h = t.width - 2 * pad, t.height - 2 * pad
    side = tr.icon and inner_w >= _SIDE_ASPECT * inner_h
    col_x, col_w = pad, inner_w
    icon_box = None
    icon_px = None
    if side:
        icon_box = (pad, pad, inner_h)
        col_x, col_w = pad + inner_h + gap, inner_w - inner_h - gap
    # The headline stands out at 1.2x the instruction, up to twice it in one line, but
    # a short one must not take the lines a small panel has for the instruction. At the
    # smallest size it may be as small as the instruction.
    lo = px if px == tr.min_px else math.ceil(px * 1.2)
    head = _headline(spec, tx.headline, col_w, lo, max(lo, min(2 * px, round(inner_h * 0.3))))
    if head is None:
        return None
    head_px, head_lines = head
    head_pad = max(1, round(head_px * 0.12))
    head_h = block_height(spec, head_px, len(head_lines)) + 2 * head_pad
    sep = max(2, round(px * 0.3))
    if head_h > inner_h:
        return None
    head_box = (col_x, pad, col_w, head_h)
    rest_y = pad + head_h + sep
    rest_h = inner_h - head_h - sep
    if tr.icon and not side:
        s = min(rest_h, round(inner_w * 0.3))
        icon_box = (pad, rest_y, s)
        col_x, col_w = pad + s + gap, inner_w - s - gap
    if icon_box is not None:
        icon_px = _icon_px(spec, tx.icon_rows, icon_box[2], tr.min_px)
        if icon_px is None or col_w < px:
            return None
    footer_px = footer_box = None
    body_h = rest_h
    if tr.footer:
        if not tx.footer:
            return None
        footer_px = largest(tr.min_px, max(tr.min_px, round(px * 0.75)),
                            lambda s: text_length(spec, s, tx.footer) <= col_w)
        if footer_px is None:
            return None
        fh = metrics(spec, footer_px).ink_h
        footer_box = (col_x, pad + inner_h - fh, col_w, fh)
        body_h -= fh + sep
        if body_h < 0:
            return None
    m = metrics(spec, px)
    room = max(0, (body_h + m.gap) // (m.ink_h + m.gap))
    if not truncate and tx.instruction and text_length(
            spec, px, tx.instruction.replace("\n", "").replace(" ", "")) > 1.1 * room * col_w:
        return None  # longer than the lines hold (wrapping only adds): no need to wrap
    lines = _wrap(spec, px, tx.instruction, col_w) if tx.instruction else []
    if lines is None:
        return None
    if len(lines) > room:
        if not truncate or room < tr.min_lines:
            return None
        lines = shorten(spec, px, tx.instruction, col_w, room)
    return CardPlan(spec, side, head_px, head_lines, head_box, head_pad, px, lines,
                 (col_x, rest_y, col_w, max(0, body_h)), footer_px, footer_box, icon_box,
                 icon_px)


def _tries(t: Target, spec: FontSpec, opts: RenderOptions, tx: _Texts) -> list[_Try]:
    # Big panels are read from across a hall or a road: the instruction keeps at least
    # 1/16 of the panel's height before it is shortened.
    readable = max(opts.min_font_px, (t.height - 2 * _padding(t)) // 16)
    # The icon is worth keeping while the instruction still gets 3 lines; the sender 2.
    tries = [_Try(spec, readable, icon, footer, 3 if icon else 2)
             for icon, footer in ((True, True), (True, False), (False, True))
             if tx.footer or not footer]
    floor = legible_floor(t, spec, opts)
    # Where a smaller legible size exists, one line of instruction is not worth keeping
    # the usual size for.
    tries.append(_Try(spec, readable, False, False, 1 if floor is None else 2))
    if floor is not None:
        tries.append(_Try(floor[0], floor[1], False, False, 1))
    last = tries[-1]
    # Last resort: the headline alone (a 64x32 module): better than no warning at all.
    tries.append(_Try(last.spec, last.min_px, False, False, 0))
    return tries


def _plan(tx: _Texts, t: Target, tries: list[_Try]) -> CardPlan:
    inner_h = t.height - 2 * _padding(t)
    for tr in tries:
        # The largest instruction size that shows it whole, else the smallest, shortened.
        best = largest(tr.min_px, inner_h,
                       lambda s, tr=tr: _arrange(tx, t, tr, s, truncate=False) is not None)
        plan = _arrange(tx, t, tr, best or tr.min_px, truncate=best is None)
        if plan is not None:
            return plan
    raise ContentError(
        "notice_does_not_fit", "the warning headline does not fit the panel",
        width=t.width, height=t.height, min_font_px=tries[-1].min_px,
        reason="headline_does_not_fit", headline=tx.headline,
    )


def _draw_lines(d: ImageDraw.ImageDraw, spec: FontSpec, px: int, lines: list[str],
                box: tuple[int, int, int, int], y: int, fill: int | tuple[int, int, int],
                align: str) -> None:
    m = metrics(spec, px)
    x0, _y0, w, _h = box
    for i, line in enumerate(lines):
        lw = text_length(spec, px, line)
        x = x0 + {"left": 0, "centre": max(0, round((w - lw) / 2)), "right": max(0, w - lw)
                  }[align]
        draw_text(d, (round(x), y + i * (m.ink_h + m.gap) - m.top), line, spec, px, fill)


def _draw_card(p: CardPlan, tx: _Texts, t: Target, theme: Theme) -> Image.Image:
    mono = t.color_mode == "mono"
    im = _new_canvas(t, theme)
    d = _draw(im, mono)
    fg = _LIT if mono else theme.text
    spec = p.spec
    # Headline: an inverted band on mono panels (nothing else says "urgent" there), in
    # colour the headline over a rule.
    hx, hy, hw, hh = p.head_box
    if mono:
        if p.side:
            d.rectangle((hx, hy, hx + hw - 1, hy + hh - 1), fill=_LIT)
        else:  # full bleed, like a notice's title band
            d.rectangle((0, 0, t.width - 1, hy + hh - 1), fill=_LIT)
    else:
        rule = max(1, p.head_px // 16)
        if hh + rule <= p.body_box[1] - hy:
            d.rectangle((hx, hy + hh, hx + hw - 1, hy + hh + rule - 1), fill=theme.accent)
    _draw_lines(d, spec, p.head_px, p.head_lines, p.head_box, hy + p.head_pad,
                0 if mono else theme.accent, "centre")
    if p.icon_box is not None and p.icon_px is not None:
        x, y, s = p.icon_box
        d.rounded_rectangle((x, y, x + s - 1, y + s - 1), radius=max(1, s // 10), fill=fg)
        ink = block_height(spec, p.icon_px, len(tx.icon_rows))
        _draw_lines(d, spec, p.icon_px, list(tx.icon_rows), (x, y, s, s),
                    y + (s - ink) // 2, 0 if mono else theme.background, "centre")
    if p.body_lines:
        bx, by, bw, bh = p.body_box
        used = block_height(spec, p.body_px, len(p.body_lines))
        _draw_lines(d, spec, p.body_px, p.body_lines, p.body_box,
                    by + max(0, (bh - used) // 2), fg, "left")
    if p.footer_box is not None and p.footer_px is not None:
        _draw_lines(d, spec, p.footer_px, [tx.footer], p.footer_box, p.footer_box[1], fg,
                    "right")
    return im


def _drawable(card: WarningCard, spec: FontSpec) -> _Texts:
    """The card's text without what the font cannot draw. A notice is refused for such a
    character and its author fixes it; a warning comes from outside and must still reach
    the screens: a character is left out of the instruction and the sender line, and a
    headline with one gives way to the one made from the event and level."""
    tx = texts_of(card)
    missing = set(missing_glyphs(tx.headline + tx.instruction + tx.footer, spec))
    if not missing:
        return tx
    if missing & set(tx.headline):
        tx = texts_of(replace(card, headline=""))
    return replace(tx, instruction="".join(c for c in tx.instruction if c not in missing),
                   footer="".join(c for c in tx.footer if c not in missing))


def plan_card(card: WarningCard, target: Target, options: RenderOptions | None = None
              ) -> tuple[CardPlan, _Texts]:
    """Lay the card out for one panel (nothing drawn); raises ContentError
    (notice_does_not_fit, notice_missing_glyphs, invalid_target, invalid_template)."""
    opts = options or RenderOptions()
    if (target.color_mode not in COLOR_MODES or not 8 <= target.width <= 16384
            or not 8 <= target.height <= 16384):
        raise ContentError("invalid_target", "invalid panel size or colour mode",
                           width=target.width, height=target.height,
                           color_mode=target.color_mode)
    if card.level is not None and card.level not in SIGNAL_THEMES:
        raise ContentError("invalid_template", "unknown warning signal level",
                           template=card.level, accepted=list(SIGNAL_THEMES))
    spec = find_cjk_font(opts.font)
    tx = _drawable(card, spec)
    missing = missing_glyphs(tx.headline + tx.instruction + tx.footer + "".join(tx.icon_rows)
                             + ELLIPSIS, spec)
    if missing:
        raise ContentError(
            "notice_missing_glyphs", "the font cannot draw some characters",
            characters=missing, codepoints=[f"U+{ord(c):04X}" for c in missing],
            font=spec.path,
        )
    try:
        plan: CardPlan | None = _plan(tx, target, _tries(target, spec, opts, tx))
    except ContentError:
        plan = None
    crowded = plan is None or (len(plan.head_lines) > 1 and plan.body_lines != []
                               and plan.body_lines[-1].endswith(ELLIPSIS))
    if target.height <= SMALL_PANEL_MAX_H and crowded and card.event_zh \
            and card.event_zh != "预警":
        # An official headline ("深圳市气象台发布盐田区台风橙色预警信号") takes half of a
        # small module or more: its short form (台风橙色预警信号) leaves the instruction
        # the lines, and reaches a module the whole one does not fit.
        short = replace(tx, headline=texts_of(replace(card, headline="")).headline)
        try:
            short_plan = _plan(short, target, _tries(target, spec, opts, short))
        except ContentError:
            short_plan = None
        if short_plan is not None and (plan is None or
                                       len(short_plan.body_lines) > len(plan.body_lines)):
            return short_plan, short
    if plan is None:
        return _plan(tx, target, _tries(target, spec, opts, tx)), tx  # raises its refusal
    return plan, tx


def render_warning(card: WarningCard, target: Target, options: RenderOptions | None = None
                   ) -> NoticeRender:
    """Render the card for one panel: one page of exactly the panel's size (titles: the
    headline's lines, pages: the instruction's); raises ContentError as plan_card."""
    p, tx = plan_card(card, target, options)
    im = _draw_card(p, tx, target, signal_theme(card.level))
    return NoticeRender(
        images=[im], mode="pages", font_px=p.body_px, title_px=p.head_px,
        footer_px=p.footer_px, line_count=len(p.body_lines), pages=[p.body_lines],
        titles=[p.head_lines], font=p.spec,
    )


def render_warning_pngs(sizes: list[tuple[int, int, str]], card: dict, font: str | None
                        ) -> list[tuple[list[bytes], str, int, list[int], float | None]
                                  | ContentError]:
    """A job for server/workpool.py: the card (WarningCard's fields as a dict) at every
    (width, height, colour mode), as (PNG pages, mode, body px, image widths, scroll
    speed), the shape of the server's Rendered, or the ContentError refusing that size."""
    warning = WarningCard(**card)
    out: list[tuple[list[bytes], str, int, list[int], float | None] | ContentError] = []
    for w, h, mode in sizes:
        try:
            r = render_warning(warning, Target(w, h, mode), RenderOptions(font=font))
        except ContentError as err:
            out.append(err)
            continue
        out.append((r.png_pages(), r.mode, r.font_px, [im.width for im in r.images],
                    r.scroll_speed_px_s))
    return out
