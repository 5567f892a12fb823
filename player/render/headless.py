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
    describe_frame,
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
                 monotonic: Callable[[], float] = time.monotonic, *, lazy: bool = False,
                 freeze_after_s: float | None = None) -> None:
        self.size = size
        # lazy: decode a still only when a screenshot asks for it (the fleet simulator runs
        # thousands of these; an undecodable file then goes unnoticed until a screenshot)
        self.lazy = lazy
        # A test and diagnostic aid: after this many seconds the picture stops changing,
        # whatever the playback loop asks (a hung decoder or display), while the player
        # itself carries on; the server's stuck detection must notice.
        self._freeze_at = None if freeze_after_s is None else monotonic() + freeze_after_s
        self._frozen: Image.Image | None = None
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
        if self.frozen():
            return
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
        if self.frozen():
            return
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
        if self.frozen():
            return
        img = builtin_screen(self.size, title, lines)
        with self._lock:
            self._frame, self._video, self._still = img, None, None
            self._scroll = None
            self.shown.append(("text", title))

    def prepare(self, path: Path, media: str) -> None:
        pass  # nothing to gain: show_* is already instant here

    def blank(self) -> None:
        if self.frozen():
            return
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

    def frozen(self) -> bool:
        """True once the simulated freeze began (the picture is then kept as it was)."""
        if self._freeze_at is None or self.monotonic() < self._freeze_at:
            return False
        if self._frozen is None:
            self._frozen = self._content_frame()
            self._freeze_at = -1.0  # frozen for good, whatever the clock does
        return True

    def _content_frame(self) -> Image.Image:
        """The picture as the content shows it, before dimming."""
        if self._frozen is not None:
            return self._frozen
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
        return frame

    def current_frame(self) -> Image.Image:
        self.frozen()
        return dim(self._content_frame(), self.brightness)

    def screenshot(self) -> bytes:
        return png_bytes(self.current_frame())

    def frame_probe(self) -> tuple[str, bool] | None:
        if self.lazy:
            return None  # thousands of simulated players cannot decode every frame
        self.frozen()
        return describe_frame(self._content_frame())

    def close(self) -> None:
        pass
