from __future__ import annotations

from content import safe_display_name


def test_strips_directories_and_dotdot() -> None:
    assert safe_display_name("../../etc/passwd") == "passwd"
    assert safe_display_name("..\\..\\windows\\evil.jpg") == "evil.jpg"
    assert safe_display_name("photos/../公告.png") == "公告.png"
    assert ".." not in safe_display_name("a..b..c.jpg")


def test_removes_nul_and_control_characters() -> None:
    name = safe_display_name("ev\x00il\x1b[31m.jpg")
    assert "\x00" not in name and "\x1b" not in name
    assert name == "evil[31m.jpg"


def test_removes_bidi_override() -> None:
    assert safe_display_name("photo\u202egpj.exe") == "photogpj.exe"


def test_long_chinese_name_is_shortened_not_refused() -> None:
    name = safe_display_name("社" * 300 + ".jpg")
    assert len(name) <= 80
    assert name.endswith(".jpg") and name.startswith("社社社")


def test_empty_or_only_dots_gets_fallback() -> None:
    assert safe_display_name("") == "untitled"
    assert safe_display_name("../..") == "untitled"
    assert safe_display_name(None) == "untitled"
