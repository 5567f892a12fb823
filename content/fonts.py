"""Find a CJK font and know exactly which characters it can draw (via its cmap)."""

from __future__ import annotations

import functools
import os
import shutil
import struct
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from .errors import ContentError

FONT_ENV = "SIGNAGE_FONT"  # "path" or "path#index" (face index inside a .ttc)
# Families tried first, in order, when fontconfig offers several Chinese fonts.
_PREFERRED = ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans")
_PROBE = "中文字体"


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int = 0

    @classmethod
    def parse(cls, value: str | os.PathLike[str]) -> FontSpec:
        text = os.fspath(value)
        path, _, idx = text.partition("#")
        return cls(path, int(idx) if idx.isdigit() else 0)


def _fc_list_zh() -> list[tuple[str, int, str]]:
    if not shutil.which("fc-list"):
        return []
    out = subprocess.run(
        ["fc-list", ":lang=zh", "-f", "%{file}|%{index}|%{family}\n"],
        capture_output=True, text=True, timeout=20, check=False,
    ).stdout
    fonts = []
    for line in out.splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3 and parts[1].isdigit():
            fonts.append((parts[0], int(parts[1]), parts[2]))
    return sorted(set(fonts))


def _rank(entry: tuple[str, int, str]) -> tuple[int, int, str, int]:
    path, index, family = entry
    first = family.split(",")[0]
    pref = _PREFERRED.index(first) if first in _PREFERRED else len(_PREFERRED)
    # Proportional faces before "Mono"/"Sharp" variants of the same family.
    variant = 1 if any(v in first for v in ("Mono", "Sharp")) else 0
    return (variant, pref, path, index)


@functools.lru_cache(maxsize=8)
def _discover() -> FontSpec | None:
    candidates = sorted(_fc_list_zh(), key=_rank)
    return FontSpec(candidates[0][0], candidates[0][1]) if candidates else None


def find_cjk_font(explicit: str | os.PathLike[str] | FontSpec | None = None) -> FontSpec:
    """Explicit font > $SIGNAGE_FONT > fontconfig (`fc-list :lang=zh`)."""
    searched: list[str] = []
    for source in (explicit, os.environ.get(FONT_ENV) or None):
        if source is None:
            continue
        spec = source if isinstance(source, FontSpec) else FontSpec.parse(source)
        searched.append(spec.path)
        if Path(spec.path).is_file() and all(ord(c) in font_cmap(spec) for c in _PROBE):
            return spec
    searched.append("fc-list :lang=zh")
    spec = _discover()
    if spec is None:
        raise ContentError("no_cjk_font", "no font able to draw Chinese was found",
                           searched=searched)
    return spec


@functools.lru_cache(maxsize=8)
def font_cmap(spec: FontSpec) -> frozenset[int]:
    """Code points the font really has glyphs for (not .notdef tofu)."""
    try:
        with TTFont(spec.path, fontNumber=spec.index, lazy=True) as tt:
            return frozenset(tt.getBestCmap() or {})
    except Exception:
        return frozenset()


@functools.lru_cache(maxsize=256)
def load_font(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(spec.path, size, index=spec.index)


@functools.lru_cache(maxsize=16)
def bitmap_strikes(spec: FontSpec) -> frozenset[int]:
    """Pixel sizes at which the face carries hand-drawn bitmaps (its EBLC strikes).

    Read from the table's header (the ppemY byte of each 48-byte BitmapSize record):
    fontTools' full decompile of WenQuanYi's EBLC takes seconds, in every job worker."""
    try:
        with TTFont(spec.path, fontNumber=spec.index, lazy=True) as tt:
            if "EBLC" not in tt:
                return frozenset()
            data = tt.reader["EBLC"]
        count = struct.unpack_from(">I", data, 4)[0]
        return frozenset(data[8 + i * 48 + 45] for i in range(count))
    except Exception:
        return frozenset()


def _face_facts(spec: FontSpec) -> tuple[str, int]:
    with TTFont(spec.path, fontNumber=spec.index, lazy=True) as tt:
        return tt["name"].getDebugName(4) or "", tt["maxp"].numGlyphs


@functools.lru_cache(maxsize=16)
def pixel_face(spec: FontSpec) -> FontSpec:
    """The face of the same font file drawn for on/off pixels, if it has one.

    WenQuanYi Zen Hei ships a "Sharp" face (index 2 of wqy-zenhei.ttc): the same glyphs
    plus hand-drawn bitmaps at 12-16 px, each stroke one pixel on the grid, the way the
    12x12 and 16x16 dot-matrix fonts of Chinese LED signs are made. FreeType draws those
    bitmaps instead of rasterising the outline at exactly those sizes. Other fonts: the
    face itself."""
    if bitmap_strikes(spec):
        return spec
    try:
        _name, glyphs = _face_facts(spec)
        for index in range(8):
            if index == spec.index:
                continue
            other = FontSpec(spec.path, index)
            name, other_glyphs = _face_facts(other)
            # Same glyph set (a sibling face), proportional like the face asked for.
            if other_glyphs == glyphs and "Mono" not in name and bitmap_strikes(other):
                return other
    except Exception:  # not a collection, or no more faces in it
        pass
    return spec


# Punctuation that Chinese typesetting sets on a full em (GB/T 15834) but that CJK fonts
# share with Latin text and give a narrow advance: “东和花园”消 then crowds the quote into
# the next character (on the 12 px bitmaps the quote's bitmap is a full cell wide, so it
# even overlaps it). Next to a Chinese character each of these gets its own em cell, its
# ink in the half facing the text it belongs to: opening right, closing left.
_EM_PUNCT = {"“": "open", "‘": "open", "”": "close", "’": "close", "·": "centre"}


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def _em_cells(text: str) -> list[int]:
    """Indexes of the punctuation in text that gets a full em cell."""
    out = []
    for i, ch in enumerate(text):
        if ch in _EM_PUNCT and ((i > 0 and _is_cjk(text[i - 1]))
                                or (i + 1 < len(text) and _is_cjk(text[i + 1]))):
            out.append(i)
    return out


@functools.lru_cache(maxsize=1024)
def _ink_x(spec: FontSpec, size: int, ch: str) -> tuple[int, int]:
    """Horizontal ink extent of ch drawn at x=0, as drawn (bitmap strike or outline)."""
    font = load_font(spec, size)
    im = Image.new("1", (size * 3, size * 2), 0)
    d = ImageDraw.Draw(im)
    d.fontmode = "1"
    d.text((size, 0), ch, font=font, fill=255, anchor="la")
    box = im.getbbox()
    return (box[0] - size, box[2] - size) if box else (0, 0)


@functools.lru_cache(maxsize=32768)
def text_length(spec: FontSpec, size: int, text: str) -> float:
    """Advance width of a line as draw_text draws it."""
    font = load_font(spec, size)
    cells = _em_cells(text)
    if not cells:
        return font.getlength(text)
    width, start = 0.0, 0
    for i in cells:
        width += font.getlength(text[start:i]) + size
        start = i + 1
    return width + font.getlength(text[start:])


def draw_text(d: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, spec: FontSpec,
              size: int, fill: int | tuple[int, int, int]) -> None:
    """Draw one line ("la" anchor), setting full-width punctuation on its own em."""
    font = load_font(spec, size)
    x, y = xy
    start = 0
    for i in [*_em_cells(text), len(text)]:
        run = text[start:i]
        if run:
            d.text((round(x), y), run, font=font, fill=fill, anchor="la")
            x += font.getlength(run)
        if i == len(text):
            break
        ch = text[i]
        left, right = _ink_x(spec, size, ch)
        ink, half = right - left, size // 2
        if _EM_PUNCT[ch] == "open":
            at = half if ink <= size - half else size - ink
        elif _EM_PUNCT[ch] == "close":
            at = half - ink if ink <= half else 0
        else:
            at = (size - ink) // 2
        d.text((round(x) + max(0, at) - left, y), ch, font=font, fill=fill, anchor="la")
        x += size
        start = i + 1


def _needs_glyph(ch: str) -> bool:
    # Whitespace and invisible format characters are laid out, not drawn.
    if "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
        return False  # variation selectors
    return not (ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf"})


def missing_glyphs(text: str, spec: FontSpec) -> list[str]:
    """Characters of text that the font cannot draw, unique, in order of appearance."""
    cmap = font_cmap(spec)
    seen: dict[str, None] = {}
    for ch in text:
        if _needs_glyph(ch) and ord(ch) not in cmap:
            seen.setdefault(ch)
    # Emoji presentation selectors / ZWJ are Cf and skipped; the emoji itself is reported.
    return list(seen)
