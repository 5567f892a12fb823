"""Backends: the headless one (PIL frames) and the SDL one under the dummy driver / Xvfb."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from player_helpers import make_video, png

from player.render.headless import HeadlessBackend
from player.render.images import builtin_screen, fit
from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 200, 0)


def colour_of(png_data: bytes, xy: tuple[int, int] = (32, 16)) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(png_data)).convert("RGB").getpixel(xy)


def near(c: tuple[int, int, int], want: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(c, want, strict=True))


@pytest.fixture
def clip(tmp_path) -> Path:
    # 2 s at 12 fps: red for the first second, blue for the second
    return make_video(tmp_path / "clip.mp4", colours=[RED, BLUE])


def test_fit_leaves_exact_size_untouched_and_letterboxes_others() -> None:
    exact = Image.new("RGB", (64, 32), GREEN)
    assert fit(exact, (64, 32)).tobytes() == exact.tobytes()
    wide = fit(Image.new("RGB", (128, 32), GREEN), (64, 32))
    assert wide.size == (64, 32)
    assert wide.getpixel((32, 0)) == (0, 0, 0) and near(wide.getpixel((32, 16)), GREEN)


def test_builtin_screen_is_never_black() -> None:
    img = builtin_screen((192, 96), "三号楼大堂 Block 3", ["pairing code 123-456"])
    assert img.size == (192, 96)
    assert img.getpixel((0, 0)) != (0, 0, 0)
    assert len(img.getcolors(10_000) or []) > 2  # some text was drawn on the background


def test_headless_image_screenshot(tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(png(GREEN))
    b = HeadlessBackend((64, 32))
    b.show_image(tmp_path / "a.png")
    assert colour_of(b.screenshot()) == GREEN
    b.set_brightness(50)
    assert near(colour_of(b.screenshot()), (0, 100, 0), 2)
    b.blank()
    assert colour_of(b.screenshot()) == (0, 0, 0)


def test_headless_video_screenshot_decodes_the_current_frame(clip) -> None:
    mono = [100.0]
    b = HeadlessBackend((64, 32), monotonic=lambda: mono[0])
    b.show_video(clip, 0.0)
    mono[0] = 100.3
    assert near(colour_of(b.screenshot()), RED)
    mono[0] = 101.5
    assert near(colour_of(b.screenshot()), BLUE)
    b.show_video(clip, 1.2)  # joined mid-way
    assert near(colour_of(b.screenshot()), BLUE)
    mono[0] = 200.0  # long past the end: the last frame stays
    assert near(colour_of(b.screenshot()), BLUE)


@pytest.fixture
def sdl():
    from player.render.sdl import SdlBackend

    backend = SdlBackend((64, 32))
    yield backend
    backend.close()


def test_sdl_window_has_the_exact_size_and_shows_an_image(sdl, tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(png(GREEN))
    (tmp_path / "big.png").write_bytes(png(RED, (640, 320)))
    shot = Image.open(io.BytesIO(sdl.screenshot()))
    assert shot.size == (64, 32)
    sdl.show_image(tmp_path / "a.png")
    assert colour_of(sdl.screenshot()) == GREEN
    sdl.show_image(tmp_path / "big.png")  # scaled down to the panel
    assert near(colour_of(sdl.screenshot()), RED, 5)
    sdl.set_brightness(50)
    assert near(colour_of(sdl.screenshot()), (127, 0, 0), 3)


def test_sdl_plays_video_frames_in_order(sdl, clip) -> None:
    sdl.show_video(clip, 0.0)
    assert near(colour_of(sdl.screenshot()), RED)  # the first frame is up at once
    assert wait_for(lambda: sdl.video_frames >= 5)
    assert wait_for(lambda: near(colour_of(sdl.screenshot()), BLUE))


def test_sdl_prepared_item_replaces_the_frame_without_black(sdl, clip, tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(png(GREEN))
    sdl.show_image(tmp_path / "a.png")
    sdl.prepare(clip, "video")
    sdl.show_video(clip, 0.0)
    assert near(colour_of(sdl.screenshot()), RED)
    sdl.prepare(tmp_path / "a.png", "image")
    sdl.show_image(tmp_path / "a.png")
    assert colour_of(sdl.screenshot()) == GREEN


def test_sdl_builtin_text_and_blank(sdl) -> None:
    sdl.show_text("Block 3 lobby")
    assert colour_of(sdl.screenshot(), (0, 0)) != (0, 0, 0)
    sdl.blank()
    assert colour_of(sdl.screenshot(), (0, 0)) == (0, 0, 0)


XVFB_CHILD = """
import sys, time
from pathlib import Path
from PIL import ImageGrab
from player.render.sdl import SdlBackend
b = SdlBackend((160, 80))
b.show_image(Path(sys.argv[1]))
time.sleep(0.5)
ImageGrab.grab(xdisplay=sys.argv[3]).save(sys.argv[2])
b.close()
"""


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_real_x11_screenshot_under_xvfb(tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(png((250, 180, 20), (160, 80)))
    display = f":{90 + os.getpid() % 500}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "320x240x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: Path(f"/tmp/.X11-unix/X{display[1:]}").exists(), 10)
        env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11"}
        out = tmp_path / "screen.png"
        subprocess.run([sys.executable, "-c", XVFB_CHILD, str(tmp_path / "a.png"), str(out),
                        display], cwd=ROOT, env=env, check=True, timeout=60)
        grab = Image.open(out).convert("RGB")
        assert grab.size == (320, 240)  # the whole X screen, read back from the X server
        colours = {c for _, c in grab.getcolors(1 << 20)}
        assert any(near(c, (250, 180, 20), 10) for c in colours)  # our window's pixels
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def test_playback_loop_drives_the_sdl_window_in_real_time(sdl, tmp_path) -> None:
    """The production pairing: RealClock + Playback + SdlBackend, an image then a clip."""
    import threading

    from player_helpers import item, plan, playlist, sched, sha

    from player.clock import RealClock
    from player.outbox import Outbox
    from player.playback import Playback

    still = png(GREEN)
    clip_path = make_video(tmp_path / "c.mp4", colours=[RED, BLUE])
    clip = clip_path.read_bytes()
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / sha(still)).write_bytes(still)
    (blobs / sha(clip)).write_bytes(clip)
    box = Outbox(tmp_path)
    pb = Playback(RealClock(), sdl, box, blob_ready=lambda s: True, blob_path=blobs.joinpath)
    # the loop restarts every 3 s: 1 s of green, then the 2 s clip
    pb.set_plan(plan(sched(1, playlist(item(1, 1, sha(still)),
                                       item(2, 2, sha(clip), media="video")))))
    runner = threading.Thread(target=pb.run)
    runner.start()
    try:
        seen = set()

        def saw_all() -> bool:
            c = colour_of(sdl.screenshot())
            for name, want in (("green", GREEN), ("red", RED), ("blue", BLUE)):
                if near(c, want):
                    seen.add(name)
            return seen == {"green", "red", "blue"}

        assert wait_for(saw_all, 30)
        assert wait_for(lambda: box.totals()["recorded_n"] >= 2, 30)
    finally:
        pb.stop()
        runner.join(10)
    assert not runner.is_alive()
    assert {r["content_id"] for r in box.batch(100)} == {1, 2}


def _strip(tmp_path: Path) -> Path:
    """A 192×32 scroll strip: red on its left half, blue on its right half."""
    img = Image.new("RGB", (192, 32), RED)
    img.paste(BLUE, (96, 0, 192, 32))
    path = tmp_path / "strip.png"
    img.save(path)
    return path


def test_headless_scroll_strip_crosses_the_panel_once_per_play(tmp_path) -> None:
    from player.render.headless import HeadlessBackend

    now = [100.0]
    b = HeadlessBackend((64, 32), monotonic=lambda: now[0])
    # 192 + 64 px to travel in 8 s: 32 px/s; it enters from the right
    b.show_scroll(_strip(tmp_path), duration_s=8.0)
    assert b.current_frame().getpixel((63, 16)) == (0, 0, 0)  # not in yet
    now[0] += 2.0  # x = 64 - 64 = 0: the red half fills the panel
    assert b.current_frame().getpixel((0, 16)) == RED
    now[0] += 3.0  # x = 64 - 160 = -96: the blue half fills it
    assert b.current_frame().getpixel((0, 16)) == BLUE and b.current_frame().getpixel(
        (63, 16)) == BLUE
    b.show_scroll(_strip(tmp_path), duration_s=8.0, offset_s=2.0)  # joined mid-way
    assert b.current_frame().getpixel((10, 16)) == RED


def test_sdl_scroll_strip_moves(sdl, tmp_path) -> None:

    sdl.show_scroll(_strip(tmp_path), duration_s=8.0, offset_s=2.0)  # red fills the panel
    assert near(colour_of(sdl.screenshot(), (5, 16)), RED)
    time.sleep(0.5)
    sdl.show_scroll(_strip(tmp_path), duration_s=8.0, offset_s=5.0)
    assert near(colour_of(sdl.screenshot(), (5, 16)), BLUE)
    assert wait_for(lambda: colour_of(sdl.screenshot(), (60, 16)) == (0, 0, 0), 10)


def test_sdl_describes_its_frame_before_dimming(sdl, tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(png(GREEN))
    sdl.show_image(tmp_path / "a.png")
    shown = sdl.frame_probe()
    assert len(shown[0]) == 64 and shown[1] is False
    sdl.set_brightness(10)
    assert sdl.frame_probe() == shown
    sdl.blank()
    assert sdl.frame_probe()[1] is True
