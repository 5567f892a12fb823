"""How a picture or clip sits on a panel, by the player's rule (player/render/images.fit):
scaled to fit with its aspect kept, centred, black bars where the shapes differ. A 16:9 clip
on a 1920×320 strip uses a sixth of the panel; staff are told before it goes on air."""

from __future__ import annotations

from dataclasses import dataclass

# Shapes this close count as the same (a 1.2 % difference is a pixel or two of bar).
TOLERANCE = 0.03


@dataclass(frozen=True)
class Fit:
    shown_w: int  # the picture's size on the panel, in panel pixels
    shown_h: int
    bars: str | None  # "sides", "top_bottom" or None when the shapes match
    used: float  # share of the panel's pixels the picture covers, 0..1


def letterbox(src_w: int, src_h: int, panel_w: int, panel_h: int) -> Fit:
    scale = min(panel_w / src_w, panel_h / src_h)
    w, h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    ratio = (src_w / src_h) / (panel_w / panel_h)
    if abs(ratio - 1) <= TOLERANCE:
        return Fit(panel_w, panel_h, None, 1.0)
    return Fit(w, h, "sides" if ratio < 1 else "top_bottom", (w * h) / (panel_w * panel_h))


def mismatch(src_w: int | None, src_h: int | None, panel_w: int, panel_h: int) -> Fit | None:
    """The fit when the shapes differ enough to show bars; None when they match or the
    media's size is unknown (a notice is rendered for each panel size and always matches)."""
    if not src_w or not src_h or panel_w <= 0 or panel_h <= 0:
        return None
    f = letterbox(src_w, src_h, panel_w, panel_h)
    return f if f.bars else None


def mismatches(src_w: int | None, src_h: int | None,
               sizes: list[tuple[int, int, object]]) -> list[tuple[int, int, Fit]]:
    """The panel sizes (of those given, e.g. tree.fleet_sizes) a picture does not fill."""
    out, seen = [], set()
    for w, h, _mode in sizes:
        if (w, h) not in seen and (f := mismatch(src_w, src_h, w, h)) is not None:
            out.append((w, h, f))
        seen.add((w, h))
    return out
