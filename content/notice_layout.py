"""Notice layout: line metrics, pagination and the font-size search (no drawing)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from .fonts import FontSpec, load_font, text_length
from .linebreak import wrap_text

# Reference glyphs spanning CJK, brackets and Latin descenders: their ink box is the line box.
_REF_GLYPHS = "中国永（）「」gjyQ|"


@dataclass(frozen=True)
class Metrics:
    top: int  # ink top below the "la" anchor; drawn at y - top
    ink_h: int
    gap: int  # between lines


@functools.lru_cache(maxsize=512)
def metrics(spec: FontSpec, size: int) -> Metrics:
    left, top, right, bottom = load_font(spec, size).getbbox(_REF_GLYPHS, anchor="la")
    return Metrics(top=top, ink_h=bottom - top, gap=max(1, round(size * 0.12)))


def block_height(spec: FontSpec, size: int, n: int) -> int:
    m = metrics(spec, size)
    return n * m.ink_h + (n - 1) * m.gap if n else 0


def measure(spec: FontSpec, size: int) -> Callable[[str], float]:
    return functools.partial(text_length, spec, size)


@dataclass(frozen=True)
class Block:
    role: str  # "title" | "body" | "footer"
    px: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    size: int  # body font size
    title_px: int | None
    footer_px: int | None
    body_lines: list[str]
    pages: list[list[Block]]
    sep: int  # space between blocks

    @property
    def page_count(self) -> int:
        return len(self.pages)


def _fit_one_line(spec: FontSpec, text: str, width: int, hi: int, lo: int) -> int | None:
    for size in range(hi, lo - 1, -1):
        if text_length(spec, size, text) <= width:
            return size
    return None


def _heading(spec: FontSpec, text: str, w: int, hi: int, lo: int, wrap_px: int,
             split_words: bool) -> tuple[int, list[str]] | None:
    """Title/footer: one line at the largest size in [lo, hi], else wrapped at wrap_px."""
    one = _fit_one_line(spec, text, w, hi, lo)
    if one is not None:
        return one, [text]
    wrapped = wrap_text(text, w, measure(spec, wrap_px), split_words)
    return (wrap_px, wrapped) if wrapped is not None else None


def _pages_fixed(spec: FontSpec, title: Block | None, body: Block, footer: Block | None,
                 h: int, sep: int) -> list[list[Block]] | None:
    """Title and footer repeated on every page, body split between them."""
    used = 0
    for b in (title, footer):
        if b is not None:
            used += block_height(spec, b.px, len(b.lines)) + sep
    m = metrics(spec, body.px)
    per_page = (h - used + m.gap) // (m.ink_h + m.gap)
    if per_page < 1:
        return None
    pages = []
    for i in range(0, len(body.lines), per_page):
        chunk = Block("body", body.px, body.lines[i : i + per_page])
        pages.append([b for b in (title, chunk, footer) if b is not None])
    return pages


def _pages_flow(spec: FontSpec, blocks: list[Block], h: int, sep: int,
                head_px: int | None = None) -> list[list[Block]] | None:
    """Title, body and footer lines flowed through pages (for panels too small to repeat
    the title and footer on every page). With head_px, every page after the title's own
    starts with a one-line running head (filled in by running_heads once the page count
    is known), so a continuation page still says what it continues."""
    pages: list[list[Block]] = []
    page: list[Block] = []
    used = 0
    titled = False  # the title block has been placed: later pages get a head
    for block in blocks:
        m = metrics(spec, block.px)
        if m.ink_h > h:
            return None
        for line in block.lines:
            same = bool(page) and page[-1].role == block.role
            extra = m.ink_h + (m.gap if same else (sep if page else 0))
            if used + extra > h:
                pages.append(page)
                page, used, same, extra = [], 0, False, m.ink_h
                if titled and head_px is not None:
                    page = [Block("title", head_px, ("",))]
                    used = metrics(spec, head_px).ink_h
                    extra += sep
                    if used + extra > h:
                        return None
            if same:
                page[-1] = Block(block.role, block.px, (*page[-1].lines, line))
            else:
                page.append(Block(block.role, block.px, (line,)))
            used += extra
        titled = titled or block.role == "title"
    if page:
        pages.append(page)
    return pages


def running_head(spec: FontSpec, title: str, k: int, n: int, w: int, px: int) -> str:
    """The title with its page mark, e.g. "停水通知(2/3)", shortened with … to fit w."""
    mark = f"({k}/{n})"
    for cut in range(len(title), -1, -1):
        text = title if cut == len(title) else title[:cut].rstrip() + "…"
        if cut == 0:
            text = ""
        if text_length(spec, px, text + mark) <= w:
            return text + mark
    return mark


def _fill_heads(spec: FontSpec, pages: list[list[Block]], title: str, w: int
                ) -> list[list[Block]]:
    n = len(pages)
    out = []
    for k, page in enumerate(pages, 1):
        if page and page[0].role == "title" and page[0].lines == ("",):
            head = page[0]
            page = [Block("title", head.px, (running_head(spec, title, k, n, w, head.px),)),
                    *page[1:]]
        out.append(page)
    return out


def layout_at(spec: FontSpec, title_text: str, body_text: str, footer_text: str | None,
              size: int, w: int, h: int, min_px: int, split_words: bool) -> Layout | None:
    """Lay out at body size `size` inside an inner box w x h; None if impossible."""
    body_lines = wrap_text(body_text, w, measure(spec, size), split_words)
    if body_lines is None:
        return None
    body = Block("body", size, tuple(body_lines))
    sep = max(1, round(size * 0.2))
    footer = None
    if footer_text:
        got = _heading(spec, footer_text, w, max(min_px, round(size * 0.85)), min_px, min_px,
                       split_words)
        if got is None:
            return None
        footer = Block("footer", got[0], tuple(got[1]))
    best: Layout | None = None
    # A title 1.25x the body reads as a heading; fall back to body size if that costs pages.
    for title_hi in ((round(size * 1.25), size) if title_text else (size,)):
        title = None
        if title_text:
            got = _heading(spec, title_text, w, title_hi, size, size, split_words)
            if got is None:
                return None
            title = Block("title", got[0], tuple(got[1]))
        flowed = _pages_flow(spec, [b for b in (title, body, footer) if b], h, sep,
                             size if title else None)
        if flowed is not None and title_text:
            flowed = _fill_heads(spec, flowed, title_text, w)
        candidates = [_pages_fixed(spec, title, body, footer, h, sep), flowed]
        for pages in candidates:  # fixed first: it wins ties
            if pages is not None and (best is None or len(pages) < best.page_count):
                best = Layout(size, title.px if title else None,
                              footer.px if footer else None, body_lines, pages, sep)
    return best


def largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """Largest size in [lo, hi] with ok(size), assuming ok is monotone (binary search)."""
    if hi < lo or not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def pages_at(lay: Layout | None) -> int:
    return lay.page_count if lay is not None else 1 << 30


def must(lay: Layout | None) -> Layout:
    if lay is None:  # the search only returns sizes it saw succeed
        raise AssertionError("layout vanished")
    return lay
