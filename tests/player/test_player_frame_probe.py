"""How a player describes its frame in STATUS (screenshot_sha256, dark), and the simulated
freeze the stuck-detection tests use."""

from __future__ import annotations

import pytest
from player_helpers import png

from player.protocol import ProtocolError, check_status
from player.render.headless import HeadlessBackend
from player.terminal import Terminal

RED, BLUE, BLACK = (255, 0, 0), (0, 0, 255), (0, 0, 0)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def stills(tmp_path):
    paths = {}
    for name, colour in (("red", RED), ("blue", BLUE), ("black", BLACK), ("dim", (10, 10, 10))):
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(png(colour))
    return paths


def test_the_probe_tells_frames_apart_and_sees_black(stills) -> None:
    b = HeadlessBackend((64, 32))
    b.show_image(stills["red"])
    red = b.frame_probe()
    b.show_image(stills["blue"])
    blue = b.frame_probe()
    assert red[0] != blue[0] and not red[1] and not blue[1]
    b.show_image(stills["red"])
    assert b.frame_probe() == red  # the same picture, the same hash
    b.set_brightness(5)  # a dimmed night screen is neither changed nor "dark"
    assert b.frame_probe() == red
    b.show_image(stills["dim"])
    assert b.frame_probe()[1] is True
    b.show_text("三号楼", ["waiting for schedule"])  # the built-in screen is not black
    assert b.frame_probe()[1] is False
    assert HeadlessBackend((64, 32), lazy=True).frame_probe() is None


def test_a_simulated_freeze_keeps_the_picture_while_playback_carries_on(stills) -> None:
    clock = FakeMonotonic()
    b = HeadlessBackend((64, 32), clock, freeze_after_s=10)
    b.show_image(stills["red"])
    red = b.frame_probe()
    clock.t += 5
    b.show_image(stills["blue"])
    assert b.frame_probe() != red  # not frozen yet
    blue = b.frame_probe()
    clock.t += 6
    b.show_image(stills["red"])  # asked for, never shown
    b.blank()
    b.show_text("x")
    assert b.frame_probe() == blue and b.frozen()


def test_status_carries_the_frame_and_stays_compatible(tmp_path, stills) -> None:
    t = Terminal("http://127.0.0.1:9", tmp_path / "data", credential="c", size=(64, 32),
                 quota_bytes=10_000)
    try:
        status = t.status_payload()
        check_status(status)
        assert len(status["screenshot_sha256"]) == 64 and status["dark"] in (True, False)
    finally:
        t.stop(flush_timeout_s=0)
    old = {k: v for k, v in status.items() if k not in ("screenshot_sha256", "dark")}
    check_status(old)  # a player from before these fields is still understood
    check_status({**old, "screenshot_sha256": None})
    for bad in ({"screenshot_sha256": "ABC"}, {"dark": 1}, {"screenshot_sha256": 5}):
        with pytest.raises(ProtocolError):
            check_status({**old, **bad})


def test_the_freeze_option_needs_headless(tmp_path) -> None:
    from player.__main__ import main

    with pytest.raises(SystemExit):
        main(["--server", "http://127.0.0.1:9", "--data", str(tmp_path),
              "--simulate-freeze-after", "5"])
