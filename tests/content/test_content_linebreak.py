from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from content.linebreak import (
    NO_LINE_END,
    NO_LINE_START,
    kinsoku_violations,
    tokenize,
    wrap_paragraph,
    wrap_text,
)


def cells(s: str) -> float:
    """Fake font: CJK and full-width punctuation 2 cells, everything else 1."""
    return float(sum(2 if ord(c) > 0x2000 else 1 for c in s))


def test_forbidden_line_starts_are_pulled_back() -> None:
    # Width 10 = 5 CJK chars: a naive wrap would start line 2 with "，".
    lines = wrap_text("一二三四五，六七八九十。", 10, cells)
    assert lines is not None and kinsoku_violations(lines) == []
    assert all(not line.startswith(("，", "。")) for line in lines)
    assert "".join(lines) == "一二三四五，六七八九十。"


def test_opening_bracket_never_ends_a_line() -> None:
    lines = wrap_text("一二三四（五六）七八", 10, cells)
    assert lines is not None
    assert not any(line.endswith("（") for line in lines)
    assert kinsoku_violations(lines) == []


def test_latin_words_and_phone_numbers_stay_whole() -> None:
    text = "请拨打便民热线0755-12345678咨询，WiFi密码见前台"
    lines = wrap_text(text, 18, cells)
    assert lines is not None
    assert any("0755-12345678" in line for line in lines)
    assert any("WiFi" in line for line in lines)
    assert "".join(lines) == text


def test_word_wider_than_line_is_split_by_character() -> None:
    assert wrap_text("Supercalifragilistic", 10, cells) == ["Supercalif", "ragilistic"]
    lines = wrap_text("https://example.org/notices", 10, cells)
    assert lines is not None and all(cells(line) <= 10 for line in lines)
    assert "".join(lines) == "https://example.org/notices"


def test_spaces_between_words_are_break_points_and_trimmed() -> None:
    assert wrap_text("hello big world", 9, cells) == ["hello big", "world"]


def test_explicit_newlines_are_paragraphs() -> None:
    assert wrap_text("第一段\n\n第二段", 100, cells) == ["第一段", "第二段"]


def test_impossible_width_returns_none() -> None:
    assert wrap_text("中文", 1, cells) is None


def test_tokenize_glues_punctuation() -> None:
    assert tokenize("（注意）：WiFi 0755-1234。") == ["（注意）：", "WiFi", " ", "0755-1234。"]


_ALPHABET = "中文社区公告停水电梯维修abcXYZ0123-. " + "".join(NO_LINE_START) + "".join(NO_LINE_END)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, min_size=1, max_size=60), st.integers(min_value=6, max_value=40))
def test_wrap_never_breaks_kinsoku_and_keeps_all_text(text: str, width: int) -> None:
    lines = wrap_text(text, width, cells)
    if lines is None:
        return  # too narrow at this size: the renderer then tries a smaller font
    # Breaks we introduce obey the rules (a paragraph may itself begin with "，").
    assert not any(line[0] in NO_LINE_START for line in lines[1:])
    assert not any(line[-1] in NO_LINE_END for line in lines[:-1])
    assert all(cells(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_chinese_words_are_units_and_the_segmenter_loads_once() -> None:
    toks = tokenize("“东和花园”南门车行道将临时改为单向通行。")
    assert "花园”" in toks and "车行道" in toks and "通行。" in toks
    assert not any(t.endswith("花") for t in toks)
    assert "".join(toks) == "“东和花园”南门车行道将临时改为单向通行。"
    from content.linebreak import _segmenter

    assert _segmenter() is _segmenter()  # one per process
    lines = wrap_paragraph("东和花园东和花园东和花园", 60, lambda s: 12 * len(s),
                           split_words=False)
    assert lines is not None and "".join(lines) == "东和花园" * 3
    assert not any(line.endswith("花") or line.startswith("园") for line in lines), lines
