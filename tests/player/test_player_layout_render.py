"""Layouts on screen: compose_frame's pixels region by region, the headless backend's frame,
and a real SDL window under Xvfb read back from the X server."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from player.render.compose import (
    LIT,
    clock_image,
    compose_frame,
    line_strip,
    line_width,
    ticker_geometry,
    ticker_place,
)
from playlists.clock import US, to_us
from playlists.layouts import Item, Layout, Region, TickerLine, clock_text, fit
from tests.polling import wait_for

SH = ZoneInfo("Asia/Shanghai")
LOGO = "b" * 64
TEXT = "今日14:00-18:00停水 请提前储水"
RED, BLUE, GREEN, AMBER = (255, 0, 0), (0, 0, 255), (0, 200, 0), (255, 210, 0)
# the reference canvas of the demo's lobby panels: title image, clock, main, ticker
DRAWN = Layout(1, "东和标准", 384, 192, (
    Region("title", "image", 0, 0, 264, 24, image=Item(9, LOGO, 1, 1, True)),
    Region("main", "main", 0, 24, 384, 144),
    Region("clock", "clock", 264, 0, 120, 24, clock_format="time"),
    Region("ticker", "ticker", 0, 168, 384, 24, lines=(TickerLine(5, 1, TEXT, True),),
           fg="#ffd200", bg="#200000"),
))
NOW = datetime(2026, 12, 7, 9, 41, 30, tzinfo=SH)
T0 = to_us(NOW)


def region(layout: Layout, key: str) -> Region:
    return next(r for r in layout.regions if r.key == key)


def crop(img: Image.Image, r: Region) -> Image.Image:
    return img.crop((r.x, r.y, r.x + r.w, r.y + r.h))


def colours(img: Image.Image) -> set:
    """The distinct pixel values (tuples; ints for a mode "1" image)."""
    return {c for _, c in img.getcolors(1 << 24)}


def near(c: tuple[int, int, int], want: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(c, want, strict=True))


def frame_at(layout: Layout, t_us: int, main: Image.Image | None = None,
             images: dict | None = None) -> Image.Image:
    local = datetime.fromtimestamp(t_us / US, UTC).astimezone(SH)
    return compose_frame(layout, main, images or {}, {"ticker": [TEXT]}, local, t_us)


# --- the pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize("px", [12, 16, 24, 40])
@pytest.mark.parametrize("mono", [False, True])
def test_a_ticker_line_is_one_row_exactly_as_wide_as_line_width_says(px, mono) -> None:
    strip = line_strip(TEXT, px, "#ffd200", "#200000", mono)
    assert strip.size == (line_width(TEXT, px, mono), px)
    assert line_width(TEXT, px, mono) > len(TEXT) * px // 2  # really the text's width
    if mono:  # on/off pixels only: no anti-aliasing on a single-colour panel
        assert strip.mode == "1" and colours(strip) == {0, 255}
    else:
        assert {AMBER, (32, 0, 0)} <= colours(strip)
    assert line_width(" a\n b ", px, mono) == line_width("a b", px, mono)  # one line


def test_at_12_px_the_sharp_bitmaps_draw_each_stroke_on_the_grid() -> None:
    # full colour too: the hand-drawn bitmap has no grey edge pixels at 12-16 px
    strip = line_strip("东和社区", 12, "#ffffff", "#000000", False)
    assert colours(strip) == {(0, 0, 0), (255, 255, 255)}


def test_the_clock_is_centred_in_its_box_and_shrinks_to_fit() -> None:
    img = clock_image("12月7日 星期一 09:41", 240, 32, "#ffd200", "#000000", False)
    assert img.size == (240, 32)
    box = Image.eval(img.convert("L"), lambda v: 255 if v > 60 else 0).getbbox()
    assert box is not None and abs(box[0] - (240 - box[2])) <= 2  # centred left to right
    narrow = clock_image("12月7日 星期一 09:41", 120, 32, "#ffd200", "#000000", False)
    assert narrow.convert("L").getbbox()[2] <= 120
    mono = clock_image("09:41", 60, 16, "#ffd200", "#000000", True)
    assert mono.mode == "1" and colours(mono) == {0, 255}


# --- compose_frame --------------------------------------------------------------------------


def test_each_region_shows_its_own_content() -> None:
    layout, _ = fit(DRAWN, 384, 192)
    logo = Image.new("RGB", (264, 24), BLUE)
    frame = frame_at(layout, T0, main=Image.new("RGB", (384, 144), GREEN),
                     images={LOGO: logo})
    assert frame.size == (384, 192)
    assert colours(crop(frame, region(layout, "main"))) == {GREEN}
    assert colours(crop(frame, region(layout, "title"))) == {BLUE}
    clock = region(layout, "clock")
    want = clock_image(clock_text("time", NOW), clock.w, clock.h, clock.fg, clock.bg, False)
    assert crop(frame, clock).tobytes() == want.tobytes()
    assert clock_text("time", NOW) == "09:41"
    ticker = crop(frame, region(layout, "ticker"))
    assert (32, 0, 0) in colours(ticker)  # its background, and whatever of the text is in


def test_the_main_picture_is_fitted_into_the_region_and_a_missing_image_shows_background(
        ) -> None:
    layout, _ = fit(DRAWN, 384, 192)
    frame = frame_at(layout, T0, main=Image.new("RGB", (1280, 720), RED))
    main = crop(frame, region(layout, "main"))
    assert main.getpixel((192, 72)) == RED  # 1280x720 fits 256x144 in a 384x144 box
    assert main.getpixel((10, 72)) == (0, 0, 0)  # letterboxed on the region's background
    assert colours(crop(frame, region(layout, "title"))) == {(0, 0, 0)}  # logo not cached
    assert colours(crop(frame_at(layout, T0), region(layout, "main"))) == {(0, 0, 0)}


def test_the_ticker_moves_with_the_clock_at_its_speed() -> None:
    layout, _ = fit(DRAWN, 384, 192)
    r = region(layout, "ticker")
    font_px, widths, speed = ticker_geometry(layout, r, [TEXT])
    # find an instant where the line is well inside the band, then move 1 s on
    t = T0
    while not 0 < ticker_place(r, widths, speed, t)[1] < r.w // 4:
        t += US // 10
    x0, x1 = ticker_place(r, widths, speed, t)[1], ticker_place(r, widths, speed, t + US)[1]
    assert x0 - x1 == round(speed)  # left by the speed in px/s
    a, b = crop(frame_at(layout, t), r), crop(frame_at(layout, t + US), r)
    assert a.tobytes() != b.tobytes()
    # the same pixels, shifted left by exactly what the clock says
    assert a.crop((x0, 0, r.w, r.h)).tobytes() == b.crop((x1, 0, x1 + r.w - x0, r.h)).tobytes()
    strip = line_strip(TEXT, font_px, r.fg, r.bg, False)
    y = (r.h - font_px) // 2
    seen = min(strip.width, r.w - x0)
    assert a.crop((x0, y, x0 + seen, y + font_px)).tobytes() == \
        strip.crop((0, 0, seen, font_px)).tobytes()


def test_a_right_moving_ticker_mirrors_the_left_one() -> None:
    layout, _ = fit(DRAWN, 384, 192)
    r = region(layout, "ticker")
    right = Layout(1, "x", 384, 192, tuple(
        Region(**{**{f: getattr(x, f) for f in x.__slots__}, "direction": "right"})
        if x.key == "ticker" else x for x in layout.regions))
    _, widths, speed = ticker_geometry(layout, r, [TEXT])
    t = T0
    while not 0 < ticker_place(r, widths, speed, t)[1] < r.w // 2:
        t += US // 10
    _, x_left = ticker_place(r, widths, speed, t)
    _, x_right = ticker_place(region(right, "ticker"), widths, speed, t)
    assert x_right == r.w - widths[0] - x_left


def test_an_empty_ticker_shows_its_background() -> None:
    layout, _ = fit(DRAWN, 384, 192)
    frame = compose_frame(layout, None, {}, {}, NOW, T0)
    assert colours(crop(frame, region(layout, "ticker"))) == {(32, 0, 0)}


@pytest.mark.parametrize(("w", "h", "mono"), [(128, 64, True), (384, 192, False),
                                               (1920, 320, False), (1920, 320, True)])
def test_every_panel_size_composes_and_mono_is_pure_on_off(w, h, mono) -> None:
    layout, _ = fit(DRAWN, w, h, mono)
    gradient = Image.linear_gradient("L").resize((640, 360)).convert("RGB")
    frame = frame_at(layout, T0, main=gradient,
                     images={LOGO: Image.new("RGB", (264, 24), (120, 200, 40))})
    assert frame.size == (w, h) and frame.mode == "RGB"
    found = colours(frame)
    if mono:
        assert found == {(0, 0, 0), LIT}
    else:
        assert len(found) > 20  # the gradient kept its shades
    for r in layout.regions:
        assert crop(frame, r).size == (r.w, r.h)


def test_an_overlay_is_drawn_over_the_picture_under_it() -> None:
    overlay = Layout(7, "停水通知", 384, 192, (
        Region("band", "ticker", 0, 168, 384, 24, lines=(TickerLine(5, 1, TEXT, True),),
               bg="#200000"),), overlay=True)
    frame = compose_frame(overlay, Image.new("RGB", (384, 192), GREEN), {},
                          {"band": [TEXT]}, NOW, T0)
    assert frame.getpixel((10, 10)) == GREEN
    assert (32, 0, 0) in colours(frame.crop((0, 168, 384, 192)))


# --- the headless backend -------------------------------------------------------------------


class FakeClock:
    """The corrected clock set_clock is given (us since the epoch, UTC)."""

    def __init__(self, t_us: int) -> None:
        self.t = t_us

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, colour, size in (("green", GREEN, (384, 144)), ("logo", BLUE, (264, 24)),
                               ("red", RED, (64, 32))):
        out[name] = tmp_path / f"{name}.png"
        Image.new("RGB", size, colour).save(out[name])
    return out


def headless_with_layout(files, w: int = 384, h: int = 192, mono: bool = False):
    from player.render.headless import HeadlessBackend

    layout, _ = fit(DRAWN, w, h, mono)
    clock = FakeClock(T0)
    b = HeadlessBackend((w, h))
    b.set_clock(clock, "Asia/Shanghai")
    b.show_image(files["green"])
    b.show_layout(layout, None, {"ticker": [TEXT]}, {LOGO: files["logo"]})
    return b, layout, clock


def test_headless_screenshot_is_the_whole_composed_panel(files) -> None:
    b, layout, clock = headless_with_layout(files)
    shot = Image.open(io.BytesIO(b.screenshot())).convert("RGB")
    assert shot.tobytes() == compose_frame(
        layout, Image.new("RGB", (384, 144), GREEN), {LOGO: Image.new("RGB", (264, 24), BLUE)},
        {"ticker": [TEXT]}, NOW, T0).tobytes()
    assert colours(crop(shot, region(layout, "main"))) == {GREEN}
    assert colours(crop(shot, region(layout, "title"))) == {BLUE}
    clock.t += 61 * US  # the simulated time moves on: the clock region follows it
    later = b.current_frame()
    c = region(layout, "clock")
    assert crop(later, c).tobytes() == clock_image("09:42", c.w, c.h, c.fg, c.bg,
                                                   False).tobytes()
    assert crop(later, region(layout, "ticker")).tobytes() != \
        crop(shot, region(layout, "ticker")).tobytes()
    b.set_brightness(50)
    assert b.current_frame().getpixel((5, 100)) == (0, 100, 0)  # dims the whole panel
    b.blank()  # screen off: nothing lit, the regions neither
    assert colours(b.current_frame()) == {(0, 0, 0)}


def test_headless_probe_looks_at_the_main_region_only(files) -> None:
    b, layout, clock = headless_with_layout(files)
    still = b.frame_probe()
    clock.t += 3 * US  # the ticker moved and the clock ticked: the main region did not
    assert b.frame_probe() == still and still[1] is False
    b.show_image(files["red"])
    assert b.frame_probe() != still
    b.blank()
    assert b.frame_probe()[1] is True
    b.show_layout(None, None, {}, {})  # full-frame again: the probe sees the whole panel
    b.show_image(files["green"])
    assert b.current_frame().size == (384, 192) and b.frame_probe()[1] is False


def test_headless_still_shown_before_the_layout_is_refitted_to_the_main_region(files
                                                                               ) -> None:
    from player.render.headless import HeadlessBackend

    layout, _ = fit(DRAWN, 384, 192)
    b = HeadlessBackend((384, 192))
    b.show_image(files["green"])  # 384x144 letterboxed into the 384x192 panel
    b.show_layout(layout, None, {}, {})
    assert colours(crop(b.current_frame(), region(layout, "main"))) == {GREEN}  # exact again


def test_headless_video_plays_in_the_main_region(tmp_path, files) -> None:
    from player_helpers import make_video

    from player.render.headless import HeadlessBackend

    clip = make_video(tmp_path / "clip.mp4", w=128, h=72, colours=[RED, BLUE])
    layout, _ = fit(DRAWN, 384, 192)
    mono = [100.0]
    b = HeadlessBackend((384, 192), monotonic=lambda: mono[0])
    b.set_clock(FakeClock(T0), "Asia/Shanghai")
    b.show_layout(layout, None, {"ticker": [TEXT]}, {})
    b.show_video(clip)
    mono[0] += 0.3
    main = crop(b.current_frame(), region(layout, "main"))
    assert near(main.getpixel((192, 72)), RED) and main.getpixel((5, 72)) == (0, 0, 0)
    mono[0] += 1.2
    assert near(crop(b.current_frame(), region(layout, "main")).getpixel((192, 72)), BLUE)


def test_headless_mono_panel_is_on_off_and_the_emergency_ticker_runs_over_all(files
                                                                               ) -> None:
    b, layout, _ = headless_with_layout(files, 128, 64, mono=True)
    assert colours(b.current_frame()) == {(0, 0, 0), LIT}
    b.set_ticker("台风红色预警")
    bottom = b.current_frame().crop((0, 48, 128, 64))
    assert (200, 0, 0) in colours(bottom)  # the red band, over the layout


def test_headless_overlay_over_full_frame_content(files) -> None:
    from player.render.headless import HeadlessBackend

    overlay = Layout(7, "停水通知", 384, 192, (
        Region("band", "ticker", 0, 168, 384, 24, lines=(TickerLine(5, 1, TEXT, True),),
               bg="#200000"),), overlay=True)
    b = HeadlessBackend((384, 192))
    b.set_clock(FakeClock(T0), "Asia/Shanghai")
    b.show_image(files["green"])
    b.show_layout(None, overlay, {"band": [TEXT]}, {})
    frame = b.current_frame()
    assert frame.getpixel((192, 96)) == GREEN
    assert (32, 0, 0) in colours(frame.crop((0, 168, 384, 192)))
    probe = b.frame_probe()
    b.set_clock(FakeClock(T0 + 2 * US), "Asia/Shanghai")
    assert b.frame_probe() == probe  # the overlay's ticker moved; the content did not


# --- the SDL backend ------------------------------------------------------------------------


@pytest.fixture
def sdl_panel(request):
    from player.render.sdl import SdlBackend

    backend = SdlBackend(request.param)
    yield backend
    backend.close()


@pytest.mark.parametrize(("sdl_panel", "mono"), [((128, 64), True), ((1920, 320), False)],
                         indirect=["sdl_panel"])
def test_sdl_layout_at_each_panel_size(sdl_panel, mono, tmp_path, files) -> None:
    from player_helpers import make_video

    w, h = sdl_panel.size
    layout, _ = fit(DRAWN, w, h, mono)
    clip = make_video(tmp_path / "clip.mp4", w=128, h=72, colours=[(90, 200, 120), RED])
    sdl_panel.set_clock(FakeClock(T0), "Asia/Shanghai")
    sdl_panel.show_layout(layout, None, {"ticker": [TEXT]}, {LOGO: files["logo"]})
    sdl_panel.show_video(clip)
    shot = Image.open(io.BytesIO(sdl_panel.screenshot())).convert("RGB")
    assert shot.size == (w, h)
    want = compose_frame(layout, None, {LOGO: Image.new("RGB", (264, 24), BLUE)},
                         {"ticker": [TEXT]}, NOW, T0)
    for key in [r.key for r in layout.regions if r.role != "main"]:  # pixel for pixel
        r = region(layout, key)
        assert crop(shot, r).tobytes() == crop(want, r).tobytes(), key
    main = crop(shot, region(layout, "main"))
    if mono:
        assert colours(shot) == {(0, 0, 0), LIT}
    else:
        assert near(main.getpixel((main.width // 2, main.height // 2)), (90, 200, 120)) or \
            near(main.getpixel((main.width // 2, main.height // 2)), RED)


@pytest.mark.parametrize("sdl_panel", [(384, 192)], indirect=True)
def test_sdl_layout_follows_the_content_and_the_screen_state(sdl_panel, files) -> None:
    b = sdl_panel
    layout, _ = fit(DRAWN, 384, 192)
    clock = FakeClock(T0)
    b.set_clock(clock, "Asia/Shanghai")
    b.show_image(files["red"])  # full-frame first: 64x32 scaled to the panel
    b.show_layout(layout, None, {"ticker": [TEXT]}, {LOGO: files["logo"]})
    b.show_image(files["green"])
    shot = Image.open(io.BytesIO(b.screenshot())).convert("RGB")
    assert colours(crop(shot, region(layout, "main"))) == {GREEN}
    probe = b.frame_probe()
    clock.t += 2 * US
    moved = Image.open(io.BytesIO(b.screenshot())).convert("RGB")
    assert crop(moved, region(layout, "ticker")).tobytes() != \
        crop(shot, region(layout, "ticker")).tobytes()
    assert b.frame_probe() == probe  # the main region did not change
    b.set_ticker("台风红色预警")  # the emergency band over a layout, entering from the right
    assert wait_for(lambda: (200, 0, 0) in colours(Image.open(io.BytesIO(
        b.screenshot())).crop((0, 150, 384, 192)).convert("RGB")))
    b.set_ticker(None)
    b.set_brightness(50)
    dimmed = Image.open(io.BytesIO(b.screenshot())).convert("RGB")
    assert near(dimmed.getpixel((192, 96)), (0, 100, 0), 3)
    assert near(dimmed.getpixel((5, 5)), (0, 0, 127), 3)  # the title image dims too
    b.blank()
    assert colours(Image.open(io.BytesIO(b.screenshot())).convert("RGB")) == {(0, 0, 0)}
    b.set_brightness(100)
    b.show_image(files["green"])  # back from blank: every region is drawn again
    back = Image.open(io.BytesIO(b.screenshot())).convert("RGB")
    assert colours(crop(back, region(layout, "title"))) == {BLUE}
    b.show_layout(None, None, {}, {})  # full-frame again
    b.show_image(files["red"])
    assert colours(Image.open(io.BytesIO(b.screenshot())).convert("RGB")) == {RED}


XVFB_CHILD = """
import json, sys
from pathlib import Path
from PIL import ImageGrab
from player.render.sdl import SdlBackend
from playlists.layouts import Layout
args = json.loads(sys.argv[1])
layout = Layout.from_dict(args["layout"])
now = [args["t0"]]
b = SdlBackend((layout.width, layout.height))
b.set_clock(lambda: now[0], "Asia/Shanghai")
b.show_layout(layout, None, {"ticker": [args["text"]]}, {args["logo_sha"]: Path(args["logo"])})
b.show_video(Path(args["clip"]))
for n, t in enumerate(args["instants"]):
    now[0] = t
    b.screenshot()  # drawn and presented for this instant before the X server is read
    box = (0, 0, layout.width, layout.height)
    ImageGrab.grab(bbox=box, xdisplay=args["display"]).save(f"{args['out']}/x{n}.png")
b.close()
"""


def test_a_real_sdl_window_under_xvfb_shows_every_region(tmp_path, files) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from player_helpers import make_video

    layout, _ = fit(DRAWN, 384, 192)
    clip = make_video(tmp_path / "clip.mp4", w=320, h=180, frames=48, colours=[RED, BLUE])
    r = region(layout, "ticker")
    _, widths, speed = ticker_geometry(layout, r, [TEXT])
    t1 = T0
    while not 0 < ticker_place(r, widths, speed, t1)[1] < r.w // 4:
        t1 += US // 10
    t2 = t1 + 61 * US  # a minute on: the clock shows 09:42 or later, the text moved
    t2 += (ticker_place(r, widths, speed, t2)[1] - r.w // 3) * US // round(speed)
    display = f":{600 + os.getpid() % 300}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: Path(f"/tmp/.X11-unix/X{display[1:]}").exists(), 10)
        env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11",
               "SDL_VIDEO_WINDOW_POS": "0,0"}
        args = {"layout": layout.to_dict(), "t0": t1, "instants": [t1, t2], "text": TEXT,
                "logo_sha": LOGO, "logo": str(files["logo"]), "clip": str(clip),
                "display": display, "out": str(tmp_path)}
        root = Path(__file__).resolve().parents[2]
        subprocess.run([sys.executable, "-c", XVFB_CHILD, json.dumps(args)], cwd=root,
                       env=env, check=True, timeout=60)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    shots = [Image.open(tmp_path / f"x{n}.png").convert("RGB") for n in (0, 1)]
    logo = {LOGO: Image.new("RGB", (264, 24), BLUE)}
    for shot, t in zip(shots, (t1, t2), strict=True):
        assert shot.size == (384, 192)  # read back from the X server, not from SDL
        want = compose_frame(layout, None, logo, {"ticker": [TEXT]},
                             datetime.fromtimestamp(t / US, UTC).astimezone(SH), t)
        for key in ("ticker", "clock", "title"):
            assert crop(shot, region(layout, key)).tobytes() == \
                crop(want, region(layout, key)).tobytes(), key
        main = crop(shot, region(layout, "main"))
        centre = main.getpixel((192, 72))
        assert near(centre, RED) or near(centre, BLUE)  # the clip, scaled into the region
        assert main.getpixel((10, 72)) == (0, 0, 0)  # 16:9 in 384x144: letterboxed
    ticker = [crop(s, r).tobytes() for s in shots]
    assert ticker[0] != ticker[1]  # the ticker moved between the two reads
    clock = [crop(s, region(layout, "clock")) for s in shots]
    assert clock[0].tobytes() != clock[1].tobytes()  # 09:41 then 09:42


@pytest.mark.parametrize("sdl_panel", [(384, 192)], indirect=True)
def test_a_still_that_does_not_fill_the_main_region_sits_on_its_background(sdl_panel,
                                                                           files) -> None:
    from dataclasses import replace

    from player.render.headless import HeadlessBackend

    layout, _ = fit(DRAWN, 384, 192)
    layout = replace(layout, regions=tuple(replace(r, bg="#102030") if r.role == "main" else r
                                           for r in layout.regions))
    main = region(layout, "main")
    for b in (HeadlessBackend((384, 192)), sdl_panel):
        b.show_layout(layout, None, {}, {})
        b.show_image(files["red"])  # 2:1 in a 384x144 region: bars left and right
        shot = crop(Image.open(io.BytesIO(b.screenshot())).convert("RGB"), main)
        assert shot.getpixel((5, 72)) == (16, 32, 48) and shot.getpixel((192, 72)) == RED
