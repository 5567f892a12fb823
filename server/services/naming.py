"""The order people expect names in: numbers as numbers (1栋, 2栋 … 10栋), Chinese by
pinyin (东和 before 沙头角), Latin letters before Chinese, case ignored.

One key for every list of communities, buildings, terminals, playlists and topics; the
database's own ORDER BY compares code points, which puts 10栋 before 1栋.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import TypeVar

from natsort import natsort_keygen, ns
from pypinyin.contrib.tone_convert import to_tone3

# One reading per character (13 MB) rather than pypinyin's phrase dictionary (57 MB in every
# worker): a name's order rarely turns on a heteronym (重 zhòng/chóng).
from pypinyin.pinyin_dict import pinyin_dict

T = TypeVar("T")

_split = natsort_keygen(alg=ns.INT)  # "A座3单元" → ("A座", 3, "单元"): text and whole numbers


@lru_cache(maxsize=65536)
def _char_key(ch: str) -> tuple:
    """Latin, punctuation and the like first (case ignored), then Han characters by pinyin
    and tone. Case and homophones (东, 冬) are told apart only after the whole name, as a
    dictionary does."""
    readings = pinyin_dict.get(ord(ch))
    if readings is None:
        return (0, ch.casefold())
    tone3 = to_tone3(readings.split(",", 1)[0], neutral_tone_with_five=True)
    return (1, tone3[:-1], int(tone3[-1]))


@lru_cache(maxsize=16384)
def name_key(name: str | None) -> tuple:
    """Sort key for a name: sorted(names, key=name_key)."""
    text = name or ""
    parts = tuple(tuple(_char_key(ch) for ch in p) if isinstance(p, str) else p
                  for p in _split(text))
    return (parts, text)  # then the text itself: one order for 东/冬, A/a, １０/10


def by_name(items: Iterable[T], name: Callable[[T], str] = lambda x: x.name) -> list[T]:  # type: ignore[attr-defined]
    """The items sorted by their name (or by what `name` returns)."""
    return sorted(items, key=lambda x: name_key(name(x)))
