"""Headless backend: the same decisions as on screen, the current frame kept as a PIL image.

Used by tests, by the fleet simulator and with `--headless`. A video is not decoded while it
plays (thousands of simulated players could not afford it); a screenshot decodes the frame
at the current position instead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from player.render.images import (
    builtin_screen,
    dim,
    fit,
    load_image,
    load_strip,
    png_bytes,
    scroll_frame,
    ticker_strip,
    video_frame_at,
)


class HeadlessBackend:
    def __init__(self, size: tuple[int, int] = (192, 96),
                 monotonic: Callable[[], float] = time.monotonic, *, lazy: bool = False) -> None:
        self.size = size
        # lazy: decode a still only when a screenshot asks for it (the fleet simulator runs
        # thousands of these; an undecodable file then goes unnoticed until a screenshot)
        self.lazy = lazy
        self._still: Path | None = None
        self.monotonic = monotonic
        self.brightness = 100
        self._lock = threading.Lock()
        self._frame: Image.Image = Image.new("RGB", size)
        self._video: tuple[Path, float, float] | None = None  # path, offset, started
        self.ticker: str | None = None
        self._scroll: tuple[Path, float, float] | None = None  # path, duration, started
        # (what, detail) of the latest shows, in order: for tests and logs, bounded for long runs
        self.shown: deque[tuple[str, str]] = deque(maxlen=1000)

    def show_image(self, path: Path) -> None:
        if self.lazy:
            with self._lock:
                self._still, self._video = path, None
                self._scroll = None
                self.shown.append(("image", path.name))
            return
        img = load_image(path, self.size)
        with self._lock:
            self._frame, self._video, self._still = img, None, None
            self._scroll = None
            self.shown.append(("image", path.name))

    def show_video(self, path: Path, offset_s: float = 0.0) -> None:
        with self._lock:
            self._video, self._still = (path, offset_s, self.monotonic()), None
            self._scroll = None
            self.shown.append(("video", path.name))

    def show_scroll(self, path: Path, duration_s: float, offset_s: float = 0.0) -> None:
        with self._lock:
            self._video, self._still = None, None
            self._scroll = (path, duration_s, self.monotonic() - offset_s)
            self.shown.append(("scroll", path.name))

    def show_text(self, title: str, lines: Sequence[str] = ()) -> None:
        img = builtin_screen(self.size, title, lines)
        with self._lock:
            self._frame, self._video, self._still = img, None, None
            self._scroll = None
            self.shown.append(("text", title))

    def prepare(self, path: Path, media: str) -> None:
        pass  # nothing to gain: show_* is already instant here

    def blank(self) -> None:
        with self._lock:
            self._frame, self._video, self._still = Image.new("RGB", self.size), None, None
            self._scroll = None
            self.shown.append(("blank", ""))

    def set_brightness(self, percent: int) -> None:
        self.brightness = percent

    def set_ticker(self, text: str | None) -> None:
        with self._lock:
            self.ticker = text
            self.shown.append(("ticker", text or ""))

    def position_s(self) -> float | None:
        with self._lock:
            if self._video is None:
                return None
            _, offset, started = self._video
            return offset + self.monotonic() - started

    def current_frame(self) -> Image.Image:
        with self._lock:
            video, frame, still, scroll = self._video, self._frame, self._still, self._scroll
        if still is not None:
            frame = load_image(still, self.size)
        if scroll is not None:
            path, duration, started = scroll
            frame = scroll_frame(load_strip(path, self.size[1]), self.size,
                                 self.monotonic() - started, duration)
        if video is not None:
            path, offset, started = video
            decoded = video_frame_at(path, offset + self.monotonic() - started)
            frame = fit(decoded, self.size) if decoded is not None else frame
        if self.ticker:  # drawn at its starting position: a screenshot shows that it runs
            frame = frame.copy()
            strip = ticker_strip(self.ticker, self.size)
            frame.paste(strip.crop((0, 0, self.size[0], strip.height)),
                        (0, self.size[1] - strip.height))
        return dim(frame, self.brightness)

    def screenshot(self) -> bytes:
        return png_bytes(self.current_frame())

    def close(self) -> None:
        pass
