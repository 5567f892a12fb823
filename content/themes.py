"""Colour themes per notice template, chosen for strong contrast on LED panels."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Theme:
    background: RGB
    text: RGB  # body
    accent: RGB  # title, footer and rules
    invert_title_in_mono: bool = False  # mono panels have no colour to signal urgency


TEMPLATES: dict[str, Theme] = {
    # white/yellow on dark blue: calm, readable
    "notice": Theme(background=(0, 32, 96), text=(255, 255, 255), accent=(255, 214, 0)),
    # white with yellow title on red: urgent; inverted title band on mono panels
    "warning": Theme(background=(176, 0, 0), text=(255, 255, 255), accent=(255, 235, 0),
                     invert_title_in_mono=True),
    # white with light green on dark green: services, hotlines
    "convenience": Theme(background=(0, 72, 40), text=(255, 255, 255), accent=(140, 255, 170)),
    # white with orange on deep purple: community events
    "event": Theme(background=(48, 0, 80), text=(255, 255, 255), accent=(255, 170, 0)),
}


# Warning cards (content/warning_card.py): the panel in the signal colour of China's
# meteorological warning signals (white is Shenzhen's typhoon white signal), with black
# text where white would not stand out (yellow, white, the bright orange): every pair
# has a WCAG contrast ratio of at least 4.5. Mono panels show the level word instead.
SIGNAL_THEMES: dict[str, Theme] = {
    "white": Theme(background=(240, 240, 240), text=(0, 0, 0), accent=(0, 0, 0),
                   invert_title_in_mono=True),
    "blue": Theme(background=(0, 80, 200), text=(255, 255, 255), accent=(255, 255, 255),
                  invert_title_in_mono=True),
    "yellow": Theme(background=(255, 214, 0), text=(0, 0, 0), accent=(0, 0, 0),
                    invert_title_in_mono=True),
    "orange": Theme(background=(255, 128, 0), text=(0, 0, 0), accent=(0, 0, 0),
                    invert_title_in_mono=True),
    "red": Theme(background=(200, 0, 0), text=(255, 255, 255), accent=(255, 255, 255),
                 invert_title_in_mono=True),
}
SIGNAL_ZH: dict[str, str] = {"white": "白色", "blue": "蓝色", "yellow": "黄色",
                             "orange": "橙色", "red": "红色"}


def signal_theme(level: str | None) -> Theme:
    """The card's colours for a signal level; no level: the urgent "warning" theme."""
    return SIGNAL_THEMES.get(level or "", TEMPLATES["warning"])
