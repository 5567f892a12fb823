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
