"""What a warning message means on a screen: the event, its signal colour, a Chinese headline.

Chinese meteorological warning signals (预警信号) are graded white (Shenzhen's typhoon
only), blue, yellow, orange, red. A message says its colour in GB/T 35965.1's severity,
in its event or headline text ("台风橙色预警信号", "Orange Typhoon Warning"), or only as a
CAP severity, which is mapped last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.cap.message import CapMessage, Info

LEVELS = ("white", "blue", "yellow", "orange", "red")  # ascending
LEVEL_ZH = {"white": "白色", "blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
# Display colours: the signal colours as printed on the official icons, a white that stays
# visible on a black LED panel.
LEVEL_RGB = {"white": (235, 235, 235), "blue": (0, 112, 224), "yellow": (255, 214, 0),
             "orange": (255, 128, 0), "red": (230, 0, 18)}
SEVERITY_LEVEL = {"Extreme": "red", "Severe": "orange", "Moderate": "yellow", "Minor": "blue"}

# key → Chinese display name, as the signals are named in China's warning signal rules.
EVENTS: dict[str, str] = {
    "typhoon": "台风", "rainstorm": "暴雨", "snowstorm": "暴雪", "coldwave": "寒潮",
    "cold": "寒冷", "heat": "高温", "fog": "大雾", "haze": "灰霾", "gale": "大风",
    "thunderstorm_gale": "雷雨大风", "sandstorm": "沙尘暴", "hail": "冰雹", "thunder": "雷电",
    "frost": "霜冻", "icing": "道路结冰", "drought": "干旱", "fire": "森林火险",
    "geohazard": "地质灾害", "flood": "洪水", "storm_surge": "风暴潮", "tsunami": "海啸",
    "earthquake": "地震", "other": "预警",
}

# Names that identify an event, longest first when matched so that 雷雨大风 is not 大风
# and 寒潮 is not 寒冷. English names are matched as whole words, case-insensitive.
_ALIASES: dict[str, tuple[str, ...]] = {
    "typhoon": ("台风", "热带气旋", "typhoon", "tropical cyclone", "hurricane"),
    "rainstorm": ("暴雨", "rainstorm", "heavy rain"),
    "snowstorm": ("暴雪", "snowstorm", "blizzard", "heavy snow"),
    "coldwave": ("寒潮", "cold wave", "coldwave"),
    "cold": ("寒冷", "低温", "cold"),
    "heat": ("高温", "heat", "heat wave", "high temperature"),
    "fog": ("大雾", "浓雾", "fog", "dense fog"),
    "haze": ("灰霾", "霾", "haze", "smog"),
    "thunderstorm_gale": ("雷雨大风", "thunderstorm gale", "thunderstorm wind"),
    "gale": ("大风", "gale", "strong wind", "high wind"),
    "sandstorm": ("沙尘暴", "sandstorm", "dust storm"),
    "hail": ("冰雹", "hail"),
    "thunder": ("雷电", "雷暴", "thunder", "lightning", "thunderstorm"),
    "frost": ("霜冻", "frost"),
    "icing": ("道路结冰", "结冰", "icing", "road icing", "icy road"),
    "drought": ("干旱", "drought"),
    "fire": ("森林火险", "森林火灾", "火险", "forest fire", "wildfire", "fire danger"),
    "geohazard": ("地质灾害", "山体滑坡", "泥石流", "landslide", "geological hazard",
                  "geohazard", "debris flow"),
    "flood": ("洪水", "山洪", "内涝", "flood", "flash flood"),
    "storm_surge": ("风暴潮", "storm surge"),
    "tsunami": ("海啸", "tsunami"),
    "earthquake": ("地震", "earthquake"),
}
_MATCHERS: list[tuple[str, str]] = sorted(
    ((alias, key) for key, names in _ALIASES.items() for alias in (*names, key)),
    key=lambda pair: -len(pair[0]))

_COLOUR_WORDS = {"白色": "white", "蓝色": "blue", "黄色": "yellow", "橙色": "orange",
                 "红色": "red", "white": "white", "blue": "blue", "yellow": "yellow",
                 "orange": "orange", "red": "red"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def level_rank(level: str | None) -> int:
    """0 for white ... 4 for red; -1 for no level (below every colour)."""
    return LEVELS.index(level) if level in LEVELS else -1


@dataclass(frozen=True)
class Signal:
    event: str  # a key of EVENTS
    event_zh: str
    level: str | None  # one of LEVELS
    headline: str
    instruction: str
    description: str


def _is_ascii_word(alias: str) -> bool:
    return alias.isascii()


def event_key(text: str) -> str | None:
    """The event a text names ("台风橙色预警信号", "Typhoon", "rainstorm"), or None."""
    if not text:
        return None
    lowered = text.lower()
    for alias, key in _MATCHERS:
        if _is_ascii_word(alias):
            if re.search(rf"(?<![a-z]){re.escape(alias)}(?![a-z])", lowered.replace("_", " ")) \
                    or (alias == key and lowered.strip() == key):
                return key
        elif alias in text:
            return key
    return None


_CHANGED_TO = re.compile(
    r"(?:升级|降级|调整|变更|更新|改)为\s*(白|蓝|黄|橙|红)色"
    r"|\b(?:upgraded|downgraded|raised|lowered|changed|updated)\s+to\s+"
    r"(white|blue|yellow|orange|red)\b", re.IGNORECASE)


def colour_in(text: str) -> str | None:
    """A signal colour written in the text (橙色, "Orange"), or None: the colour a signal is
    changed to ("橙色预警信号升级为红色" is red), else the first one met."""
    if not text:
        return None
    changed = _CHANGED_TO.search(text)
    if changed:
        word = changed.group(1) and changed.group(1) + "色" or changed.group(2).lower()
        return _COLOUR_WORDS[word]
    found = []
    for word, level in _COLOUR_WORDS.items():
        if word.isascii():
            m = re.search(rf"\b{word}\b", text, re.IGNORECASE)
        else:
            m = re.search(word, text)
        if m:
            found.append((m.start(), level))
    return min(found)[1] if found else None


def _event_of(info: Info | None) -> str:
    if info is None:
        return "other"
    for text in (info.event, *(c.value for c in info.event_codes), info.headline):
        key = event_key(text)
        if key:
            return key
    return "other"


def _level_of(msg: CapMessage, info: Info | None) -> str | None:
    if msg.gb_level in LEVELS:
        return msg.gb_level
    if info is None:
        return None
    for text in (info.event, info.headline):
        level = colour_in(text)
        if level:
            return level
    return SEVERITY_LEVEL.get(info.severity)


def signal_of(msg: CapMessage) -> Signal:
    """The signal a message shows: event, colour, and a headline in Chinese."""
    info = msg.info
    event = _event_of(info)
    event_zh = EVENTS[event]
    level = _level_of(msg, info)
    given = info.headline if info else ""
    if given and _CJK.search(given):
        headline = given
    else:
        name = event_zh if event != "other" else ""
        colour = LEVEL_ZH[level] if level else ""
        headline = f"{name}{colour}预警信号" if name else f"{colour}预警信息"
        if msg.msg_type == "Cancel":
            headline = f"解除{headline}"
    return Signal(event=event, event_zh=event_zh, level=level, headline=headline,
                  instruction=info.instruction if info else "",
                  description=info.description if info else "")
