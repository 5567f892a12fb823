"""Headless backend: the same decisions as on screen, the current frame kept as a PIL image.

Used by tests, by the fleet simulator and with `--headless`. A video is not decoded while it
plays (thousands of simulated players could not afford it); a screenshot decodes the frame
at the current position instead. Under a layout the frame is `compose_frame`: the main
content fitted into the main region, the tickers where the corrected clock puts them, the
clock, the image regions, then the overlay; it is composed only when a screenshot or a probe
asks (so a lazy fleet of these costs nothing per frame).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from player.render.compose import compose_frame, region_bg
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
from playlists.clock import from_us
from playlists.layouts import Layout

DEFAULT_TZ = "Asia/Shanghai"


def wall_clock_us() -> int:
    return time.time_ns() // 1000


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
        self._frozen: Image.Image | None = None  # the whole panel as it froze
        self.monotonic = monotonic
        self.brightness = 100
        self._lock = threading.Lock()
        # The main content: a still/text frame (kept at the main region's size and redrawn by
        # `_redraw` when that size changes), or a video, a scroll strip or a lazy still.
        self._frame: Image.Image = Image.new("RGB", size)
        self._redraw: Callable[[tuple[int, int]], Image.Image] | None = None
        self._still: Path | None = None
        self._video: tuple[Path, float, float] | None = None  # path, offset, started
        self._scroll: tuple[Path, float, float] | None = None  # path, duration, started
        self._dark = False  # blanked: nothing lit, the layout's regions neither
        self.ticker: str | None = None
        self.now_us: Callable[[], int] = wall_clock_us
        self.tz = ZoneInfo(DEFAULT_TZ)
        self.layout: Layout | None = None
        self.overlay: Layout | None = None
        self._tickers: dict[str, tuple[str, ...]] = {}
        self._images: dict[str, Path] = {}
        # (what, detail) of the latest shows, in order: for tests and logs, bounded for long runs
        self.shown: deque[tuple[str, str]] = deque(maxlen=1000)

    # --- the main content ---------------------------------------------------------------

    def main_size(self) -> tuple[int, int]:
        """Where the main content goes: the layout's main region, else the whole panel."""
        main = self.layout.main() if self.layout is not None else None
        return (main.w, main.h) if main is not None else self.size

    def main_bg(self) -> tuple[int, int, int]:
        """What shows around a picture that does not fill the main region."""
        main = self.layout.main() if self.layout is not None else None
        return region_bg(self.layout, main) if self.layout and main else (0, 0, 0)

    def _set_main(self, what: str, detail: str, *, frame: Image.Image | None = None,
                  redraw: Callable[[tuple[int, int]], Image.Image] | None = None,
                  still: Path | None = None, video: tuple[Path, float, float] | None = None,
                  scroll: tuple[Path, float, float] | None = None, dark: bool = False) -> None:
        with self._lock:
            self._frame = frame if frame is not None else self._frame
            self._redraw, self._still, self._video, self._scroll = redraw, still, video, scroll
            self._dark = dark
            self.shown.append((what, detail))

    def show_image(self, path: Path) -> None:
        if self.frozen():
            return
        if self.lazy:
            self._set_main("image", path.name, still=path)
            return
        redraw = lambda size: load_image(path, size, self.main_bg())  # noqa: E731
        self._set_main("image", path.name, frame=redraw(self.main_size()), redraw=redraw)

    def show_video(self, path: Path, offset_s: float = 0.0) -> None:
        if self.frozen():
            return
        self._set_main("video", path.name, video=(path, offset_s, self.monotonic()))

    def show_scroll(self, path: Path, duration_s: float, offset_s: float = 0.0) -> None:
        self._set_main("scroll", path.name,
                       scroll=(path, duration_s, self.monotonic() - offset_s))

    def show_text(self, title: str, lines: Sequence[str] = ()) -> None:
        if self.frozen():
            return
        redraw = lambda size: builtin_screen(size, title, lines)  # noqa: E731
        self._set_main("text", title, frame=redraw(self.main_size()), redraw=redraw)

    def prepare(self, path: Path, media: str) -> None:
        pass  # nothing to gain: show_* is already instant here

    def blank(self) -> None:
        if self.frozen():
            return
        self._set_main("blank", "", frame=Image.new("RGB", self.size), dark=True)

    def set_brightness(self, percent: int) -> None:
        self.brightness = percent

    def set_ticker(self, text: str | None) -> None:
        with self._lock:
            self.ticker = text
            self.shown.append(("ticker", text or ""))

    # --- layouts ------------------------------------------------------------------------

    def set_clock(self, now_us: Callable[[], int], tz: str) -> None:
        self.now_us, self.tz = now_us, ZoneInfo(tz)

    def show_layout(self, layout: Layout | None, overlay: Layout | None,
                    tickers: Mapping[str, Sequence[str]], images: Mapping[str, Path]) -> None:
        with self._lock:
            self.layout, self.overlay = layout, overlay
            self._tickers = {k: tuple(v) for k, v in tickers.items()}
            self._images = dict(images)
            redraw = self._redraw
            self.shown.append(("layout", " + ".join(x.name for x in (layout, overlay) if x)))
        size = self.main_size()
        if redraw is not None and not self.lazy and self._frame.size != size:
            frame = redraw(size)  # the still as the new main region shows it
            with self._lock:
                if self._redraw is redraw:
                    self._frame = frame

    # --- frames -------------------------------------------------------------------------

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
            self._frozen = self._panel()
            self._freeze_at = -1.0  # frozen for good, whatever the clock does
        return True

    def _main_picture(self) -> Image.Image:
        """What the main content shows now, at the main region's size, before dimming."""
        size = self.main_size()
        with self._lock:
            video, frame, still, scroll, dark = (self._video, self._frame, self._still,
                                                 self._scroll, self._dark)
        if dark:
            return Image.new("RGB", size)
        if still is not None:
            frame = load_image(still, size, self.main_bg())
        if scroll is not None:
            path, duration, started = scroll
            frame = scroll_frame(load_strip(path, size[1]), size,
                                 self.monotonic() - started, duration)
        if video is not None:
            path, offset, started = video
            decoded = video_frame_at(path, offset + self.monotonic() - started)
            frame = fit(decoded, size, self.main_bg()) if decoded is not None else frame
        return frame if frame.size == size else fit(frame, size, self.main_bg())

    def _region_images(self) -> dict[str, Image.Image]:
        out = {}
        for sha, path in self._images.items():
            try:
                with Image.open(path) as im:
                    out[sha] = im.convert("RGB")
            except OSError:
                pass  # gone or undecodable: the region shows its background
        return out

    def _panel(self) -> Image.Image:
        """The whole panel as it shows now, before dimming."""
        if self._frozen is not None:
            return self._frozen
        main = self._main_picture()
        with self._lock:
            layout, overlay, tickers, dark = self.layout, self.overlay, self._tickers, self._dark
        if dark:
            return Image.new("RGB", self.size)
        if layout is not None or overlay is not None:
            t_us = self.now_us()
            local = from_us(t_us).astimezone(self.tz)
            images = self._region_images()
            if layout is not None:
                main = compose_frame(layout, main, images, tickers, local, t_us)
            if overlay is not None:
                main = compose_frame(overlay, main, images, tickers, local, t_us)
        return self._with_ticker(main)

    def _with_ticker(self, frame: Image.Image) -> Image.Image:
        """The emergency ticker along the bottom, over everything, drawn at its starting
        position: a screenshot shows that it runs."""
        if not self.ticker:
            return frame
        frame = frame.copy()
        strip = ticker_strip(self.ticker, self.size)
        frame.paste(strip.crop((0, 0, self.size[0], strip.height)),
                    (0, self.size[1] - strip.height))
        return frame

    def current_frame(self) -> Image.Image:
        self.frozen()
        return dim(self._panel(), self.brightness)

    def screenshot(self) -> bytes:
        return png_bytes(self.current_frame())

    def frame_probe(self) -> tuple[str, bool] | None:
        """The MAIN region only: a scrolling ticker or a ticking clock must not make a
        frozen main region look alive (and a lit clock must not hide a black one)."""
        if self.lazy:
            return None  # thousands of simulated players cannot decode every frame
        if self.frozen():
            main = self.layout.main() if self.layout is not None else None
            frozen = self._panel()
            return describe_frame(frozen.crop((main.x, main.y, main.x + main.w,
                                               main.y + main.h)) if main else frozen)
        if self.layout is None and self.overlay is None:
            return describe_frame(self._with_ticker(self._main_picture()))
        return describe_frame(self._main_picture())

    def close(self) -> None:
        pass
