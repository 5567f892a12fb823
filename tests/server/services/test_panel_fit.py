"""Pictures and clips on panels of another shape, by the player's letterbox rule."""

from __future__ import annotations

from PIL import Image

from player.render.images import fit
from server.services.panel_fit import letterbox, mismatch


def test_a_16_9_clip_on_a_strip_gets_side_bars():
    f = letterbox(1920, 1080, 1920, 320)
    assert (f.shown_w, f.shown_h, f.bars) == (569, 320, "sides")
    assert round(f.used, 2) == 0.3


def test_a_tall_picture_on_a_wide_panel_and_a_wide_one_on_a_tall_panel():
    assert letterbox(1000, 2000, 384, 192).bars == "sides"
    assert letterbox(2000, 500, 384, 192).bars == "top_bottom"


def test_the_same_shape_fills_the_panel_and_unknown_sizes_say_nothing():
    assert mismatch(768, 384, 384, 192) is None
    assert mismatch(1920, 1082, 1920, 1080) is None  # a pixel or two off is the same shape
    assert mismatch(None, None, 384, 192) is None
    assert mismatch(2000, 1000, 1920, 320).used == 1 / 3


def test_it_agrees_with_what_the_player_draws():
    panel = fit(Image.new("RGB", (1920, 1080), "white"), (1920, 320))
    box = panel.convert("L").point(lambda v: 255 if v > 128 else 0).getbbox()
    f = letterbox(1920, 1080, 1920, 320)
    assert (box[2] - box[0], box[3] - box[1]) == (f.shown_w, f.shown_h)
