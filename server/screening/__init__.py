"""Screening staff text against a street's word lists (pure: no Flask, no database).

`normalise` folds what people use to slip a word past a plain search: full-width forms
(NFKC), traditional characters (OpenCC t2s), capitals, and anything that is not a letter
or a digit put between the characters ("诈 骗", "诈*骗", "诈\u200b骗"). It keeps, for each
character it returns, where that character came from, so a hit found in the folded text
is reported at its place in the text as typed (the review page highlights it there).

A `Matcher` is one Aho-Corasick automaton over a list's folded words: one pass over the
text finds every word, however long the list. Building it is the costly part, so
`matcher` keeps the last few, keyed by the list itself (any change makes a new one).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache

import ahocorasick
import opencc

ACTIONS = ("block", "flag")
_t2s = opencc.OpenCC("t2s")


def _fold(ch: str) -> str:
    """One character as matched: NFKC (full width → half width), lower case, and nothing
    at all for spaces, punctuation, symbols and invisible characters."""
    return "".join(c for c in unicodedata.normalize("NFKC", ch).lower() if c.isalnum())


def normalise(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index of the character of
    `text` it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in _fold(ch):
            chars.append(c)
            origin.append(i)
    folded = "".join(chars)
    simple = _t2s.convert(folded)
    if len(simple) != len(folded):  # a phrase rule changed the length: map char by char
        simple = "".join(_t2s.convert(c) or c for c in folded)
        if len(simple) != len(folded):
            simple = folded
    return simple, origin


@dataclass(frozen=True)
class Hit:
    word: str  # as the list has it
    action: str  # block | flag
    field: str  # which text: title, notice_body, file, ocr...
    start: int  # in the text as typed: text[start:end] is what matched
    end: int

    def as_dict(self) -> dict:
        return asdict(self)


class Matcher:
    """Every word of one list, found in one pass over a text."""

    def __init__(self, words: Iterable[tuple[str, str]]) -> None:
        self._automaton = ahocorasick.Automaton()
        self.size = 0
        for word, action in words:
            key, _ = normalise(word)
            if not key:
                continue  # nothing left to match ("***")
            old = self._automaton.get(key, None)
            # Two words that fold alike: the stricter action wins.
            if old is None or (action == "block" and old[1] != "block"):
                self._automaton.add_word(key, (word, action, len(key)))
                self.size += old is None
        if self.size:
            self._automaton.make_automaton()

    def find(self, field: str, text: str) -> list[Hit]:
        if not self.size or not text:
            return []
        folded, origin = normalise(text)
        out: dict[tuple[int, int, str], Hit] = {}
        for end, (word, action, n) in self._automaton.iter(folded):
            hit = Hit(word, action, field, origin[end - n + 1], origin[end] + 1)
            out.setdefault((hit.start, hit.end, word), hit)
        return sorted(out.values(), key=lambda h: (h.start, h.end))

    def screen(self, fields: Mapping[str, str | None]) -> list[Hit]:
        return [h for name, text in fields.items() for h in self.find(name, text or "")]


@lru_cache(maxsize=32)
def matcher(words: tuple[tuple[str, str], ...]) -> Matcher:
    """The matcher of a list given as sorted (word, action) pairs: built once per list
    version, as the list itself is the key."""
    return Matcher(words)


def blocked(hits: Iterable[Hit]) -> list[Hit]:
    return [h for h in hits if h.action == "block"]


def words_of(hits: Iterable[Hit]) -> list[str]:
    """The distinct words, in the order they were found."""
    return list(dict.fromkeys(h.word for h in hits))
