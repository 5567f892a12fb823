"""SDL backend (pygame-ce): a window at the terminal's exact pixel size.

pygame is driven from one render thread that owns the window; the playback loop sends it
commands through a queue, so a decision never waits for a frame and video keeps its own
frame rate. Stills are scaled only if they do not already match the panel. A new item
replaces the previous frame only once its first frame is decoded, and `prepare()` decodes
the next item ahead of time: there is no black gap between items.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import av  # noqa: E402
import pygame  # noqa: E402
from PIL import Image  # noqa: E402

from player.render.images import (  # noqa: E402
    builtin_screen,
    describe_frame,
    fit,
    load_image,
    load_strip,
    png_bytes,
    ticker_offset,
    ticker_strip,
)

log = logging.getLogger(__name__)
IDLE_TICK_S = 0.05  # how often the window is serviced when nothing moves
TICKER_TICK_S = 1 / 30
TICKER_SPEED_PX_S = 60.0


def _surface(img: Image.Image) -> pygame.Surface:
    img = img.convert("RGB")
    return pygame.image.frombytes(img.tobytes(), img.size, "RGB")


class _Video:
    """One open clip: decodes frames as their presentation time comes, dropping late ones."""

    def __init__(self, path: Path, size: tuple[int, int], offset_s: float = 0.0) -> None:
        self.path, self.size, self.offset_s = path, size, offset_s
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.frame_s = 1 / float(rate) if rate else 1 / 25
        if offset_s > 0 and self.stream.time_base is not None:
            self.container.seek(int(offset_s / self.stream.time_base), stream=self.stream,
                                backward=True)
        self._frames = self.container.decode(self.stream)
        self._pending: Any = None  # decoded, not yet due
        self.started: float | None = None
        self.ended = False
        self.shown = 0
        self.first: pygame.Surface | None = self._advance(offset_s, initial=True)  # ready before it is shown

    def start(self, mono: float) -> None:
        self.started = mono

    def _next(self) -> Any:
        if self._pending is not None:
            f, self._pending = self._pending, None
            return f
        try:
            return next(self._frames)
        except (StopIteration, av.error.EOFError):
            self.ended = True
            return None

    def _advance(self, position_s: float, initial: bool = False) -> pygame.Surface | None:
        """The latest frame due at `position_s`, or None if the current one is still due."""
        due = None
        while True:
            f = self._next()
            if f is None:
                break
            t = f.time if f.time is not None else 0.0
            if t > position_s + 1e-6:
                if due is None and initial:  # a clip starting after 0: show its first frame
                    due = f
                else:
                    self._pending = f  # not due yet
                break
            due = f
        if due is None:
            return None
        self.shown += 1
        return _surface(fit(due.to_image(), self.size))

    def update(self, mono: float) -> pygame.Surface | None:
        if self.started is None or self.ended and self._pending is None:
            return None
        return self._advance(self.offset_s + mono - self.started)

    def close(self) -> None:
        self.container.close()


class SdlBackend:
    def __init__(self, size: tuple[int, int] = (192, 96), *, fullscreen: bool = False,
                 title: str = "signage player", on_quit: Callable[[], None] | None = None
                 ) -> None:
        self.size = size
        self.fullscreen = fullscreen
        self.title = title
        self.on_quit = on_quit
        self.brightness = 100
        self.frames_presented = 0
        self.video_frames = 0  # video frames actually put on screen
        self._q: queue.Queue[tuple[str, tuple[Any, ...], Future[Any] | None]] = queue.Queue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sdl-render", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise RuntimeError("cannot open the SDL window") from self._error

    # --- the interface (any thread) -----------------------------------------------------

    def _call(self, name: str, *args: Any, wait: bool = True) -> Any:
        fut: Future[Any] | None = Future() if wait else None
        self._q.put((name, args, fut))
        return fut.result(timeout=30) if fut else None

    def show_image(self, path: Path) -> None:
        self._call("image", path)

    def show_video(self, path: Path, offset_s: float = 0.0) -> None:
        self._call("video", path, offset_s)

    def show_scroll(self, path: Path, duration_s: float, offset_s: float = 0.0) -> None:
        self._call("scroll", path, duration_s, offset_s)

    def show_text(self, title: str, lines: Sequence[str] = ()) -> None:
        self._call("text", title, tuple(lines))

    def prepare(self, path: Path, media: str) -> None:
        self._call("prepare", path, media, wait=False)

    def blank(self) -> None:
        self._call("blank")

    def set_brightness(self, percent: int) -> None:
        self._call("brightness", percent)

    def set_ticker(self, text: str | None) -> None:
        self._call("ticker", text)

    def screenshot(self) -> bytes:
        return self._call("screenshot")

    def frame_probe(self) -> tuple[str, bool] | None:
        return self._call("probe")

    def close(self) -> None:
        if self._thread.is_alive():
            self._call("quit")
            self._thread.join(5)

    # --- the render thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            pygame.display.init()
            flags = pygame.FULLSCREEN if self.fullscreen else 0
            self._screen = pygame.display.set_mode(self.size, flags)
            pygame.display.set_caption(self.title)
            if self.fullscreen:
                pygame.mouse.set_visible(False)
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._frame: pygame.Surface | None = None
        self._video: _Video | None = None
        self._prepared: dict[Path, pygame.Surface | _Video] = {}
        self._ticker: tuple[pygame.Surface, float] | None = None  # strip, started
        self._scroll: tuple[pygame.Surface, float, float] | None = None  # strip, speed, t0
        self._dirty = True
        self._ready.set()
        try:
            self._loop()
        finally:
            self._drop_video()
            for p in self._prepared.values():
                if isinstance(p, _Video):
                    p.close()
            pygame.display.quit()

    def _loop(self) -> None:
        while True:
            wait = self._video.frame_s / 2 if self._video else IDLE_TICK_S
            if self._ticker is not None or self._scroll is not None:
                wait, self._dirty = min(wait, TICKER_TICK_S), True
            try:
                name, args, fut = self._q.get(timeout=wait)
            except queue.Empty:
                name = ""
            if name == "quit":
                if fut:
                    fut.set_result(None)
                return
            if name:
                try:
                    result = getattr(self, f"_do_{name}")(*args)
                    if fut:
                        fut.set_result(result)
                except Exception as e:
                    if fut:
                        fut.set_exception(e)
                    else:
                        log.warning("render command %s failed: %s", name, e)
            for event in pygame.event.get():
                if event.type == pygame.QUIT and self.on_quit:
                    self.on_quit()
            if self._video is not None:
                surf = self._video.update(time.monotonic())
                if surf is not None:
                    self._frame, self._dirty = surf, True
                    self.video_frames += 1
            if self._dirty:
                self._present()

    def _present(self) -> None:
        self._screen.fill((0, 0, 0))
        if self._scroll is not None:
            strip, speed, started = self._scroll
            x = ticker_offset(strip.get_width(), self.size[0], time.monotonic() - started, speed)
            self._screen.blit(strip, (x, 0))
        elif self._frame is not None:
            self._screen.blit(self._frame, (0, 0))
            if self._ticker is not None:
                strip, started = self._ticker
                x = ticker_offset(strip.get_width(), self.size[0], time.monotonic() - started,
                                  TICKER_SPEED_PX_S)
                self._screen.blit(strip, (x, self.size[1] - strip.get_height()))
            if self.brightness < 100:
                b = max(0, self.brightness) * 255 // 100
                self._screen.fill((b, b, b), special_flags=pygame.BLEND_MULT)
        pygame.display.flip()
        self.frames_presented += 1
        self._dirty = False

    def _drop_video(self) -> None:
        self._scroll = None  # whatever shows next replaces a scrolling strip too
        if self._video is not None:
            self._video.close()
            self._video = None

    def _take_prepared(self, path: Path) -> pygame.Surface | _Video | None:
        return self._prepared.pop(path, None)

    def _do_image(self, path: Path) -> None:
        p = self._take_prepared(path)
        surf = p if isinstance(p, pygame.Surface) else _surface(load_image(path, self.size))
        if isinstance(p, _Video):
            p.close()
        self._drop_video()
        self._frame, self._dirty = surf, True

    def _do_video(self, path: Path, offset_s: float) -> None:
        p = self._take_prepared(path)
        if isinstance(p, _Video) and abs(offset_s) < p.frame_s:
            video = p
        else:
            if isinstance(p, _Video):
                p.close()
            video = _Video(path, self.size, offset_s)
        self._drop_video()
        self._video = video
        video.start(time.monotonic())
        if video.first is not None:  # the old frame stays up until this one is ready
            self._frame, self._dirty = video.first, True
            self.video_frames += 1

    def _do_scroll(self, path: Path, duration_s: float, offset_s: float) -> None:
        strip = _surface(load_strip(path, self.size[1]))
        self._drop_video()
        speed = (strip.get_width() + self.size[0]) / max(duration_s, 0.001)
        self._scroll, self._dirty = (strip, speed, time.monotonic() - offset_s), True

    def _do_text(self, title: str, lines: tuple[str, ...]) -> None:
        self._drop_video()
        self._frame, self._dirty = _surface(builtin_screen(self.size, title, lines)), True

    def _do_prepare(self, path: Path, media: str) -> None:
        for old in self._prepared.values():  # keep only the next item
            if isinstance(old, _Video):
                old.close()
        self._prepared.clear()
        if media == "video":
            self._prepared[path] = _Video(path, self.size)
        else:
            self._prepared[path] = _surface(load_image(path, self.size))

    def _do_blank(self) -> None:
        self._drop_video()
        self._frame, self._dirty = None, True

    def _do_ticker(self, text: str | None) -> None:
        self._ticker = (_surface(ticker_strip(text, self.size)), time.monotonic()) if text else None
        self._dirty = True

    def _do_brightness(self, percent: int) -> None:
        self.brightness, self._dirty = percent, True

    def _do_probe(self) -> tuple[str, bool]:
        if self._scroll is not None:  # where the strip is now, as _present draws it
            strip, speed, started = self._scroll
            surf = pygame.Surface(self.size)
            surf.blit(strip, (ticker_offset(strip.get_width(), self.size[0],
                                            time.monotonic() - started, speed), 0))
            return describe_frame(Image.frombytes("RGB", self.size,
                                                  pygame.image.tobytes(surf, "RGB")))
        if self._frame is None:  # blanked
            return describe_frame(Image.new("RGB", self.size))
        raw = pygame.image.tobytes(self._frame, "RGB")
        return describe_frame(Image.frombytes("RGB", self._frame.get_size(), raw))

    def _do_screenshot(self) -> bytes:
        raw = pygame.image.tobytes(self._screen, "RGB")
        return png_bytes(Image.frombytes("RGB", self.size, raw))
