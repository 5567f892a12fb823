"""Line breaking for mixed Chinese/Latin/digit text, following Chinese kinsoku rules.

- No line starts with closing punctuation (，。、；：！？）」』》… etc.).
- No line ends with opening punctuation (（「『《 etc.).
- Latin words and numbers ("WiFi", "0755-12345678") stay whole unless a single word is
  wider than the line; then it is split by character.
- Chinese words stay whole the same way: a line breaks between the words a real
  segmenter (jieba's dictionary and HMM, through rjieba, its Rust port) finds, so
  东和花园 may break as 东和|花园 but never as 东和花|园.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

# 行首禁则: may not begin a line.
NO_LINE_START = frozenset(
    "，。、；：！？）」』》〉】〕〗〙〛’”…‥·・ー～—–%％‰℃°,.;:!?)]}>"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ々〻"
)
# 行尾禁则: may not end a line.
NO_LINE_END = frozenset("（「『《〈【〔〖〘〚‘“([{<¥￥$＄£€#＃")

_WORD_RE = re.compile(
    r"[A-Za-z0-9\u00c0-\u024f\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+"
    r"(?:[-.'’@/:_+&#=~][A-Za-z0-9\u00c0-\u024f\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+)*"
)
_SPACE_RE = re.compile(r"[ \t\u3000]+")

Measure = Callable[[str], float]


@functools.cache
def _segmenter() -> Callable[[str], list[tuple[str, int, int]]]:
    """Loaded on first use, once per process (a job worker renders many notices): the
    dictionary takes ~0.2 s and ~30 MB, which a process that never lays out Chinese text
    should not pay. rjieba rather than jieba itself: the same dictionary and HMM, loaded
    8x faster in a third of the memory (jieba: 1.7 s, 83 MB, per worker process)."""
    import rjieba

    return rjieba.tokenize


@functools.lru_cache(maxsize=256)
def word_ends(text: str) -> frozenset[int]:
    """Offsets in text where a segmented word ends (a break is allowed there). Cached: a
    notice's paragraphs are wrapped at many sizes while its layout is searched."""
    return frozenset(end for _word, _start, end in _segmenter()(text))


def _is_cjk_word_char(ch: str) -> bool:
    return ch.isalpha() and ord(ch) >= 0x2E80  # ideographs, kana; not punctuation


def tokenize(text: str) -> list[str]:
    """Split one paragraph into unbreakable units; spaces are their own tokens (' ')."""
    raw: list[str] = []
    ends = word_ends(text) if any(_is_cjk_word_char(c) for c in text) else frozenset()
    i = 0
    while i < len(text):
        m = _SPACE_RE.match(text, i)
        if m:
            raw.append(" ")
            i = m.end()
            continue
        m = _WORD_RE.match(text, i)
        if m:
            raw.append(m.group())
            i = m.end()
            continue
        j = i + 1
        if _is_cjk_word_char(text[i]):  # a Chinese word: up to where the segmenter ends it
            while j < len(text) and j not in ends and _is_cjk_word_char(text[j]):
                j += 1
        raw.append(text[i:j])
        i = j
    # Glue closers to what precedes them and openers to what follows them.
    glued: list[str] = []
    pending_open = ""
    for tok in raw:
        if tok == " " and pending_open:
            continue  # "（ 中" -> keep the opener with the next real token
        tok = pending_open + tok
        pending_open = ""
        if tok[-1] in NO_LINE_END:
            pending_open = tok
            continue
        if tok[0] in NO_LINE_START and glued and glued[-1] != " ":
            glued[-1] += tok
        elif tok[0] in NO_LINE_START and len(glued) >= 2 and glued[-1] == " ":
            glued.pop()  # "word ," -> "word,"
            glued[-1] += tok
        else:
            glued.append(tok)
    if pending_open:
        if glued and glued[-1] != " ":
            glued[-1] += pending_open
        else:
            glued.append(pending_open)
    return glued


def _split_long(token: str, max_width: float, measure: Measure) -> list[str] | None:
    """Hard-split a token wider than the line by character, still honouring kinsoku."""
    pieces: list[str] = []
    cur = ""
    for ch in token:
        if cur and measure(cur + ch) > max_width:
            pieces.append(cur)
            cur = ch
        else:
            cur += ch
    pieces.append(cur)
    # Fix pieces that start with a closer / end with an opener by moving one char down.
    for k in range(1, len(pieces)):
        while pieces[k] and pieces[k][0] in NO_LINE_START and len(pieces[k - 1]) > 1:
            pieces[k] = pieces[k - 1][-1] + pieces[k]
            pieces[k - 1] = pieces[k - 1][:-1]
        while len(pieces[k - 1]) > 1 and pieces[k - 1][-1] in NO_LINE_END:
            pieces[k] = pieces[k - 1][-1] + pieces[k]
            pieces[k - 1] = pieces[k - 1][:-1]
    if any(measure(p) > max_width for p in pieces) or kinsoku_violations(pieces):
        # Too narrow for even one character plus its glued punctuation: the caller
        # must use a smaller font rather than break the rules.
        return None
    return pieces


def wrap_paragraph(text: str, max_width: float, measure: Measure, split_words: bool = True
                   ) -> list[str] | None:
    """Greedy wrap of one paragraph; None if some character cannot fit at all (or, with
    split_words=False, if some word/glued group is wider than the line)."""
    lines: list[str] = []
    cur = ""
    for tok in tokenize(text):
        if tok == " ":
            if cur:
                cur += " "
            continue
        candidate = cur + tok
        if measure(candidate) <= max_width:
            cur = candidate
            continue
        if cur.strip():
            lines.append(cur.rstrip())
        cur = ""
        if measure(tok) <= max_width:
            cur = tok
            continue
        if not split_words:
            return None
        pieces = _split_long(tok, max_width, measure)
        if pieces is None:
            return None
        lines.extend(pieces[:-1])
        cur = pieces[-1]
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def wrap_text(text: str, max_width: float, measure: Measure, split_words: bool = True
              ) -> list[str] | None:
    """Wrap text with explicit newlines as paragraph breaks (blank lines are dropped)."""
    out: list[str] = []
    for para in text.split("\n"):
        if not para.strip():
            continue
        lines = wrap_paragraph(para.strip(), max_width, measure, split_words)
        if lines is None:
            return None
        out.extend(lines)
    return out


def kinsoku_violations(lines: list[str]) -> list[str]:
    """Lines that break the rules (for tests and debugging)."""
    bad = []
    for line in lines:
        if line and (line[0] in NO_LINE_START or line[-1] in NO_LINE_END):
            bad.append(line)
    return bad
