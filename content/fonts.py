"""Find a CJK font and know exactly which characters it can draw (via its cmap)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont

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
