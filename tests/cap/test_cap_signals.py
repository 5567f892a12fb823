"""What a warning shows: event, signal colour, Chinese headline, across the samples and the
fallbacks (English-only messages, event codes, CAP severity, no info at all)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.cap.message import CapMessage, Geocode, Info
from server.cap.parse import parse
from server.cap.signals import (
    EVENTS,
    LEVEL_RGB,
    LEVEL_ZH,
    LEVELS,
    Signal,
    colour_in,
    event_key,
    level_rank,
    signal_of,
)
from tests.cap.samples import sample


@pytest.mark.parametrize(("name", "event", "level", "headline"), [
    ("typhoon_orange_yantian", "typhoon", "orange", "深圳市气象台发布盐田区台风橙色预警信号"),
    ("typhoon_red_yantian_update", "typhoon", "red",
     "深圳市气象台将盐田区台风橙色预警信号升级为红色"),
    ("typhoon_cancel_yantian", "typhoon", None, "深圳市气象台解除盐田区台风预警信号"),
    ("rainstorm_futian", "rainstorm", "yellow", "深圳市气象台发布福田区暴雨黄色预警信号"),
    ("rainstorm_polygon_donghe", "rainstorm", "orange",
     "深圳市气象台发布沙头角片区暴雨橙色预警信号"),
    ("hail_circle_donghe", "hail", "orange", "深圳市气象台发布东和片区冰雹橙色预警信号"),
    ("gb_typhoon_orange", "typhoon", "orange", "沙头角街道台风预警"),
    ("gale_bilingual", "gale", "yellow", "深圳市气象台发布盐田区大风黄色预警信号"),
])
def test_signal_of_each_sample(name, event, level, headline):
    msg = parse(sample(name))
    s = signal_of(msg)
    assert (s.event, s.event_zh, s.level, s.headline) == (event, EVENTS[event], level, headline)
    assert s.instruction == msg.info.instruction and s.description == msg.info.description


def test_the_orange_typhoon_signal():
    s = signal_of(parse(sample("typhoon_orange_yantian")))
    assert s == Signal(event="typhoon", event_zh="台风", level="orange",
                       headline="深圳市气象台发布盐田区台风橙色预警信号",
                       instruction=s.instruction, description=s.description)
    assert s.instruction.startswith("防御指引：")


def message(*infos: Info, msg_type: str = "Alert", gb_level: str | None = None) -> CapMessage:
    return CapMessage(identifier="x", sender="s", sent=datetime(2026, 9, 15, tzinfo=UTC),
                      status="Actual", msg_type=msg_type, scope="Public", infos=infos,
                      profile="gb" if gb_level else "cap", gb_level=gb_level)


def info(event: str = "", severity: str = "Unknown", headline: str = "",
         language: str = "zh-CN", codes: tuple[str, ...] = ()) -> Info:
    return Info(event=event, urgency="Expected", severity=severity, certainty="Likely",
                language=language, headline=headline,
                event_codes=tuple(Geocode("event", c) for c in codes))


@pytest.mark.parametrize(("inf", "event", "level", "headline"), [
    # English only: the Chinese headline is made from the event and the colour.
    (info("Typhoon", "Extreme", "Typhoon Signal No. 10", "en-US"), "typhoon", "red",
     "台风红色预警信号"),
    (info("Tropical Cyclone", "Severe", language="en-US"), "typhoon", "orange",
     "台风橙色预警信号"),
    (info("Heavy Rain", "Minor", "Amber rain", "en"), "rainstorm", "blue", "暴雨蓝色预警信号"),
    (info("Heat Wave", "Moderate", language="en"), "heat", "yellow", "高温黄色预警信号"),
    # The event only in an event code.
    (info("Weather warning", "Severe", codes=("rainstorm",)), "rainstorm", "orange",
     "暴雨橙色预警信号"),
    (info("Met", "Moderate", codes=("FOG",)), "fog", "yellow", "大雾黄色预警信号"),
    # A colour in the event or headline wins over the CAP severity.
    (info("暴雨红色预警", "Minor"), "rainstorm", "red", "暴雨红色预警信号"),
    (info("Rainstorm", "Minor", "Red Rainstorm Warning", "en"), "rainstorm", "red",
     "暴雨红色预警信号"),
    (info("台风", "Severe", "台风白色预警信号"), "typhoon", "white", "台风白色预警信号"),
    # Longer names first: 雷雨大风 is not 大风, 寒潮 is not 寒冷, 森林火险 is not 火.
    (info("雷雨大风", "Severe"), "thunderstorm_gale", "orange", "雷雨大风橙色预警信号"),
    (info("寒潮", "Moderate"), "coldwave", "yellow", "寒潮黄色预警信号"),
    (info("寒冷", "Moderate"), "cold", "yellow", "寒冷黄色预警信号"),
    (info("森林火险", "Extreme"), "fire", "red", "森林火险红色预警信号"),
    (info("Thunderstorm", "Moderate", language="en"), "thunder", "yellow", "雷电黄色预警信号"),
    (info("灰霾", "Moderate"), "haze", "yellow", "灰霾黄色预警信号"),
    (info("地质灾害气象风险", "Severe"), "geohazard", "orange", "地质灾害橙色预警信号"),
    # Nothing known: "other", and no colour from an Unknown severity.
    (info("Civil emergency", "Unknown", language="en"), "other", None, "预警信息"),
    (info("Civil emergency", "Extreme", language="en"), "other", "red", "红色预警信息"),
    # "redeployment" is not "red", "Colder" is not "cold" as a word.
    (info("Redeployment notice", "Unknown", language="en"), "other", None, "预警信息"),
])
def test_signal_fallbacks(inf, event, level, headline):
    s = signal_of(message(inf))
    assert (s.event, s.event_zh, s.level, s.headline) == (event, EVENTS[event], level, headline)


def test_the_gb_colour_comes_first():
    s = signal_of(message(info("台风", "Minor", "台风红色预警"), gb_level="blue"))
    assert s.level == "blue" and s.headline == "台风红色预警"


def test_a_cancel_without_a_chinese_headline_says_lifted():
    assert signal_of(message(info("Typhoon", "Severe", language="en"),
                             msg_type="Cancel")).headline == "解除台风橙色预警信号"
    bare = signal_of(message(msg_type="Cancel"))
    assert (bare.event, bare.level, bare.headline, bare.instruction) == (
        "other", None, "解除预警信息", "")


def test_the_chinese_info_is_the_one_shown():
    en = info("Gale", "Extreme", "Red Gale Warning", "en-US")
    zh = info("大风", "Moderate", "大风黄色预警信号")
    assert signal_of(message(en, zh)).level == "yellow"
    assert signal_of(message(en)).level == "red"


@pytest.mark.parametrize(("text", "colour"), [
    ("台风橙色预警信号", "orange"), ("Orange Typhoon Warning", "orange"),
    ("深圳市气象台将盐田区台风橙色预警信号升级为红色", "red"),
    ("暴雨红色预警信号降级为黄色", "yellow"), ("暴雨红色预警信号调整为 橙色", "orange"),
    ("Rainstorm warning upgraded to Red from Amber", "red"),
    ("蓝色预警", "blue"), ("", None), ("台风预警", None), ("Bluetooth notice", None),
])
def test_colour_in(text, colour):
    assert colour_in(text) == colour


@pytest.mark.parametrize(("text", "key"), [
    ("台风", "typhoon"), ("热带气旋", "typhoon"), ("TYPHOON", "typhoon"),
    ("storm_surge", "storm_surge"), ("Storm Surge", "storm_surge"), ("道路结冰", "icing"),
    ("沙尘暴", "sandstorm"), ("", None), ("人防警报试鸣", None),
])
def test_event_key(text, key):
    assert event_key(text) == key


def test_levels_and_tables_agree():
    assert LEVELS == ("white", "blue", "yellow", "orange", "red")
    assert [level_rank(lv) for lv in LEVELS] == [0, 1, 2, 3, 4]
    assert level_rank(None) == level_rank("purple") == -1
    assert set(LEVEL_ZH) == set(LEVEL_RGB) == set(LEVELS)
    assert LEVEL_ZH["red"] == "红色" and LEVEL_ZH["orange"] == "橙色"
    assert all(len(rgb) == 3 and all(0 <= c <= 255 for c in rgb) for rgb in LEVEL_RGB.values())
    for key, zh in {"typhoon": "台风", "rainstorm": "暴雨", "heat": "高温", "cold": "寒冷",
                    "fog": "大雾", "haze": "灰霾", "gale": "大风", "hail": "冰雹",
                    "thunder": "雷电", "drought": "干旱", "fire": "森林火险",
                    "geohazard": "地质灾害", "other": "预警"}.items():
        assert EVENTS[key] == zh
