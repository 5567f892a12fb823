"""The one sort key for names: numbers as numbers, Chinese by pinyin."""

from __future__ import annotations

import random

from server.services.naming import by_name, name_key


def _sorted(names: list[str]) -> list[str]:
    shuffled = names[:]
    random.Random(21).shuffle(shuffled)
    return sorted(shuffled, key=name_key)


def test_numbers_sort_as_numbers() -> None:
    assert _sorted(["10栋", "1栋", "2栋", "9栋"]) == ["1栋", "2栋", "9栋", "10栋"]
    assert _sorted(["海滨花园10栋-LED", "海滨花园2栋-LED", "海滨花园1栋-LED"]) == [
        "海滨花园1栋-LED", "海滨花园2栋-LED", "海滨花园10栋-LED"]


def test_chinese_sorts_by_pinyin_not_code_point() -> None:
    # By code point 中 (U+4E2D) would come second, before 沙 (U+6C99) and 田 (U+7530).
    assert _sorted(["中英街", "沙头角", "东和", "田心", "桥东"]) == [
        "东和", "桥东", "沙头角", "田心", "中英街"]
    assert _sorted(["沙头角", "东和"]) == ["东和", "沙头角"]


def test_mixed_latin_numbers_and_chinese() -> None:
    assert _sorted(["A座10单元", "B座1单元", "a座2单元", "A座3单元", "东和"]) == [
        "a座2单元", "A座3单元", "A座10单元", "B座1单元", "东和"]
    assert _sorted(["1栋2单元", "1栋10单元", "10栋1单元", "2栋"]) == [
        "1栋2单元", "1栋10单元", "2栋", "10栋1单元"]


def test_full_width_digits_and_ties_have_one_order() -> None:
    assert _sorted(["１０栋", "9栋", "10栋"]) == ["9栋", "10栋", "１０栋"]
    assert name_key("东") != name_key("冬")  # homophones differ, so a sort is repeatable
    assert name_key(None) == name_key("")


def test_by_name_sorts_objects() -> None:
    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

    items = [Named("10栋"), Named("1栋"), Named("2栋")]
    assert [i.name for i in by_name(items)] == ["1栋", "2栋", "10栋"]
    assert by_name(["10", "9"], lambda x: x) == ["9", "10"]
