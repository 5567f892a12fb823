"""SDL backend (pygame-ce): a window at the terminal's exact pixel size.

pygame is driven from one render thread that owns the window; the playback loop sends it
commands through a queue, so a decision never waits for a frame and video keeps its own
frame rate. Stills are scaled only if they do not already match the panel. A new item
replaces the previous frame only once its first frame is decoded, and `prepare()` decodes
the next item ahead of time: there is no black gap between items.

Layouts: the window is a stack of layers in the layout's region order (the main content
fitted into the main region, tickers, the clock, image regions), then the overlay's, then
the emergency ticker. Each frame redraws only the rectangles that changed (a ticker band
that moved, the main region when a video frame is due, the clock when its text changes),
every layer under them clipped to them, and presents them with one display update. While
anything scrolls the loop runs at FRAME_RATE, paced by a deadline per frame; video frames
are picked by their presentation time at each frame, and late ones are dropped.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# SDL2 on X11 backs the window surface with an OpenGL texture by default; on a box without a
# GPU driver that is Mesa's llvmpipe, two extra threads rasterising every update (a 1920x320
# ticker at 60 fps: 17 % of a core against 2 % through X11's own shared-memory images). A
# screen with a real GPU may set SDL_FRAMEBUFFER_ACCELERATION=1 in the environment.
os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")

import av  # noqa: E402
import pygame  # noqa: E402
from PIL import Image  # noqa: E402

from player.render.compose import (  # noqa: E402
    clock_image,
    fit_picture,
    line_strip,
    region_bg,
    strip_y,
    threshold,
    ticker_geometry,
    ticker_place,
)
from player.render.images import (  # noqa: E402
    builtin_screen,
    describe_frame,
    fit,
    fitted_size,
    load_image,
    load_strip,
    png_bytes,
    ticker_offset,
    ticker_strip,
)
from playlists.clock import from_us  # noqa: E402
from playlists.layouts import Layout, Region, clock_text  # noqa: E402

log = logging.getLogger(__name__)
IDLE_TICK_S = 0.05  # how often the window is serviced when nothing moves
FRAME_RATE = 60  # while something scrolls: a frame per display refresh
FRAME_S = 1 / FRAME_RATE
TICKER_SPEED_PX_S = 60.0
DEFAULT_TZ = "Asia/Shanghai"
Colour = tuple[int, int, int]


def _surface(img: Image.Image) -> pygame.Surface:
    img = img.convert("RGB")
    return pygame.image.frombytes(img.tobytes(), img.size, "RGB")


def _image(surf: pygame.Surface) -> Image.Image:
    return Image.frombytes("RGB", surf.get_size(), pygame.image.tobytes(surf, "RGB"))


def _still_surface(path: Path, size: tuple[int, int], bg: Colour, mono: bool
                   ) -> pygame.Surface:
    """A still fitted into size on bg (thresholded on a single-colour panel)."""
    img = load_image(path, size, bg)
    return _surface(threshold(img) if mono else img)


def wall_clock_us() -> int:
    return time.time_ns() // 1000


class _Video:
    """One open clip: decodes frames as their presentation time comes, dropping late ones.

    Frames are scaled by the decoder's own scaler straight to the size they show at (the
    main region's, aspect kept), never decoded at full size and resized after."""

    def __init__(self, path: Path, box: tuple[int, int], offset_s: float = 0.0,
                 mono: bool = False) -> None:
        self.path, self.offset_s, self.mono = path, offset_s, mono
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.source = (self.stream.codec_context.width, self.stream.codec_context.height)
        self.resize(box)
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
        self.dropped = 0  # frames whose time came while a later one was already due
        self.first: pygame.Surface | None = self._advance(offset_s, initial=True)  # ready before it is shown

    def resize(self, box: tuple[int, int]) -> None:
        self.box = box
        self.out = fitted_size(self.source, box) if all(self.source) else box

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
            if due is not None and not initial:
                self.dropped += 1
            due = f
        if due is None:
            return None
        self.shown += 1
        w, h = self.out
        img = due.to_image() if (due.width, due.height) == self.out else \
            due.to_image(width=w, height=h)
        return _surface(threshold(img) if self.mono else img)

    def update(self, mono: float) -> pygame.Surface | None:
        if self.started is None or self.ended and self._pending is None:
            return None
        return self._advance(self.offset_s + mono - self.started)

    def close(self) -> None:
        self.container.close()


# --- layers: what the window stacks, each redrawn only inside the rectangles that changed --


class _Layer:
    rect: pygame.Rect

    def tick(self, t_us: int, local: datetime) -> bool:
        """Bring the layer to t; True when its pixels changed."""
        return False

    def moving(self) -> bool:
        return False

    def draw(self, screen: pygame.Surface) -> None: ...


class _Main(_Layer):
    """Marks the main content's place in the stack (SdlBackend draws it, in its rect)."""


class _Fill(_Layer):
    """A region that shows a fixed picture (an image region) or only its background."""

    def __init__(self, rect: pygame.Rect, bg: Colour, surf: pygame.Surface | None) -> None:
        self.rect, self.bg, self.surf = rect, bg, surf

    def draw(self, screen: pygame.Surface) -> None:
        if self.surf is None:
            screen.fill(self.bg, self.rect)
        else:
            screen.blit(self.surf, self.rect)


class _Ticker(_Layer):
    """A ticker band: pre-rendered line strips, placed by the corrected clock each frame."""

    def __init__(self, layout: Layout, region: Region, lines: Sequence[str],
                 strips: Callable[[str, int, Region, bool], pygame.Surface]) -> None:
        self.rect = pygame.Rect(region.rect)
        self.region, self.bg = region, region_bg(layout, region)
        self.font_px, self.widths, self.speed = ticker_geometry(layout, region, lines)
        self.y = strip_y(region, self.font_px)
        self.strips = [strips(t, self.font_px, region, layout.mono) for t in lines]
        self.place: tuple[int, int] | None = None

    def moving(self) -> bool:
        return bool(self.strips)

    def tick(self, t_us: int, local: datetime) -> bool:
        if not self.strips:
            return False
        place = ticker_place(self.region, self.widths, self.speed, t_us)
        changed, self.place = place != self.place, place
        return changed

    def draw(self, screen: pygame.Surface) -> None:
        clip = screen.get_clip()
        screen.set_clip(clip.clip(self.rect))
        screen.fill(self.bg, self.rect)
        if self.place is not None:
            index, x = self.place
            screen.blit(self.strips[index], (self.rect.x + x, self.rect.y + self.y))
        screen.set_clip(clip)


class _Clock(_Layer):
    """The date and time, re-rendered when the text it shows changes."""

    def __init__(self, layout: Layout, region: Region) -> None:
        self.rect, self.region, self.mono = pygame.Rect(region.rect), region, layout.mono
        self.text = ""
        self.surf: pygame.Surface | None = None

    def tick(self, t_us: int, local: datetime) -> bool:
        text = clock_text(self.region.clock_format, local)
        if text == self.text:
            return False
        r = self.region
        self.text, self.surf = text, _surface(clock_image(text, r.w, r.h, r.fg, r.bg, self.mono))
        return True

    def draw(self, screen: pygame.Surface) -> None:
        if self.surf is not None:
            screen.blit(self.surf, self.rect)


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
        self.video_dropped = 0  # video frames due but never shown (closed clips included)
        self.paced_frames = 0  # frames presented on the FRAME_RATE clock (something scrolled)
        self.paced_missed = 0  # frame deadlines passed without a frame
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
        """Opens and decodes the item here, in the caller's thread: a 720p clip's open and
        first frame take tens of ms, which the render thread would take from the frames."""
        size, bg, mono = self._main.size, self._main_bg, self._mono  # as the window is now
        try:
            item = _Video(path, size, mono=mono) if media == "video" else \
                _still_surface(path, size, bg, mono)
        except Exception as e:
            log.warning("cannot prepare %s: %s", path.name, e)
            return
        self._call("prepared", path, item, wait=False)

    def blank(self) -> None:
        self._call("blank")

    def set_brightness(self, percent: int) -> None:
        self._call("brightness", percent)

    def set_ticker(self, text: str | None) -> None:
        self._call("ticker", text)

    def set_clock(self, now_us: Callable[[], int], tz: str) -> None:
        self._call("clock", now_us, tz)

    def show_layout(self, layout: Layout | None, overlay: Layout | None,
                    tickers: Mapping[str, Sequence[str]], images: Mapping[str, Path]) -> None:
        self._call("layout", layout, overlay, {k: tuple(v) for k, v in tickers.items()},
                   dict(images))

    def screenshot(self) -> bytes:
        return self._call("screenshot")

    def frame_probe(self) -> tuple[str, bool] | None:
        return self._call("probe")

    def stats(self) -> dict[str, int]:
        """Frame counters (for the benchmark and logs): frames presented, video frames shown
        and dropped as late, frames presented on the FRAME_RATE clock and deadlines missed."""
        video = getattr(self, "_video", None)
        return {"presented": self.frames_presented, "video_shown": self.video_frames,
                "video_dropped": self.video_dropped + (video.dropped if video else 0),
                "paced": self.paced_frames, "paced_missed": self.paced_missed}

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
        self._panel = pygame.Rect((0, 0), self.size)
        # the main content: a still or video frame, or a scrolling strip
        self._frame: pygame.Surface | None = None
        self._redraw: Callable[[], pygame.Surface] | None = None  # a still, for a new size
        self._video: _Video | None = None
        self._prepared: dict[Path, pygame.Surface | _Video] = {}
        self._scroll: tuple[pygame.Surface, float, float] | None = None  # strip, speed, t0
        self._scroll_x: int | None = None
        self._dark = False  # blanked: nothing lit
        self._ticker: tuple[pygame.Surface, float] | None = None  # emergency strip, started
        self._ticker_x: int | None = None
        # layouts
        self._now_us: Callable[[], int] = wall_clock_us
        self._tz = ZoneInfo(DEFAULT_TZ)
        self._layout: Layout | None = None
        self._main = pygame.Rect(self._panel)
        self._main_bg: Colour = (0, 0, 0)
        self._mono = False
        self._layers: list[_Layer] = [_Main()]
        self._strips: dict[tuple[str, int, str, str, bool], pygame.Surface] = {}
        self._dirty: list[pygame.Rect] = [pygame.Rect(self._panel)]
        self._ready.set()
        try:
            self._loop()
        finally:
            self._drop_video()
            for p in self._prepared.values():
                if isinstance(p, _Video):
                    p.close()
            pygame.display.quit()

    def _moving(self) -> bool:
        """Something scrolls: frames are presented at FRAME_RATE."""
        if self._dark:
            return False
        return self._ticker is not None or self._scroll is not None or any(
            layer.moving() for layer in self._layers)

    def _loop(self) -> None:
        next_frame: float | None = None  # the paced frame's deadline while something scrolls
        while True:
            now = time.monotonic()
            if self._moving():
                next_frame = now if next_frame is None else next_frame
                wait = max(0.0, next_frame - now)
            else:
                next_frame = None
                wait = self._video.frame_s / 2 if self._video else IDLE_TICK_S
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
                elif event.type in (pygame.VIDEOEXPOSE, pygame.WINDOWEXPOSED):
                    self._dirty.append(pygame.Rect(self._panel))
            if next_frame is not None and time.monotonic() < next_frame:
                continue  # a command between two frames: it shows on the next one
            self._video_frame()
            self._present()
            if next_frame is not None:
                self.paced_frames += 1
                next_frame += FRAME_S
                late = time.monotonic() - next_frame
                if late > FRAME_S:  # whole frame times passed without a frame: skip them
                    missed = int(late / FRAME_S)
                    self.paced_missed += missed
                    next_frame += missed * FRAME_S

    def _video_frame(self) -> None:
        if self._video is None:
            return
        surf = self._video.update(time.monotonic())
        if surf is not None:
            self._set_frame(surf)
            self.video_frames += 1

    def _set_frame(self, surf: pygame.Surface | None) -> None:
        self._frame = surf
        self._dirty.append(pygame.Rect(self._main))

    def _present(self) -> bool:
        """Redraw what changed since the last frame and show it (one display update)."""
        if not self._dark:
            t_us = self._now_us()
            local = from_us(t_us).astimezone(self._tz)
            for layer in self._layers:
                if layer.tick(t_us, local):
                    self._dirty.append(layer.rect)
            self._tick_moving()
        if not self._dirty:
            return False
        dirty = [d.clip(self._panel) for d in self._dirty]
        self._dirty = []
        if any(d == self._panel for d in dirty):
            dirty = [pygame.Rect(self._panel)]
        screen = self._screen
        for d in dirty:
            screen.set_clip(d)
            screen.fill((0, 0, 0))
            if not self._dark:
                for layer in self._layers:
                    if isinstance(layer, _Main):
                        self._draw_main(screen)
                    elif layer.rect.colliderect(d):
                        layer.draw(screen)
                self._draw_ticker(screen)
                if self.brightness < 100:
                    b = max(0, self.brightness) * 255 // 100
                    screen.fill((b, b, b), special_flags=pygame.BLEND_MULT)
        screen.set_clip(None)
        pygame.display.update(dirty)
        self.frames_presented += 1
        return True

    def _tick_moving(self) -> None:
        """The full-frame scroll strip and the emergency ticker move with the monotonic clock
        (they are not shared across screens)."""
        if self._scroll is not None:
            strip, speed, started = self._scroll
            x = ticker_offset(strip.get_width(), self._main.w, time.monotonic() - started, speed)
            if x != self._scroll_x:
                self._scroll_x = x
                self._dirty.append(pygame.Rect(self._main))
        if self._ticker is not None:
            strip, started = self._ticker
            x = ticker_offset(strip.get_width(), self.size[0], time.monotonic() - started,
                              TICKER_SPEED_PX_S)
            if x != self._ticker_x:
                self._ticker_x = x
                self._dirty.append(self._ticker_rect(strip))

    def _ticker_rect(self, strip: pygame.Surface) -> pygame.Rect:
        return pygame.Rect(0, self.size[1] - strip.get_height(), self.size[0],
                           strip.get_height())

    def _draw_main(self, screen: pygame.Surface) -> None:
        clip = screen.get_clip()
        if not clip.colliderect(self._main):
            return
        screen.set_clip(clip.clip(self._main))
        screen.fill(self._main_bg)
        if self._scroll is not None:
            screen.blit(self._scroll[0], (self._main.x + (self._scroll_x or 0), self._main.y))
        elif self._frame is not None:
            frame = self._frame
            if frame.get_width() > self._main.w or frame.get_height() > self._main.h:
                # a frame made for the region before a layout change (a video's, until its
                # next frame): shown scaled rather than cropped
                frame = pygame.transform.smoothscale(
                    frame, fitted_size(frame.get_size(), self._main.size))
            screen.blit(frame, frame.get_rect(center=self._main.center))
        screen.set_clip(clip)

    def _draw_ticker(self, screen: pygame.Surface) -> None:
        if self._ticker is None:
            return
        strip, _ = self._ticker
        rect = self._ticker_rect(strip)
        clip = screen.get_clip()
        if clip.colliderect(rect):
            screen.set_clip(clip.clip(rect))
            screen.blit(strip, (self._ticker_x or 0, rect.y))
            screen.set_clip(clip)

    def _invalidate(self) -> None:
        self._dirty.append(pygame.Rect(self._panel))

    def _drop_video(self) -> None:
        self._scroll = None  # whatever shows next replaces a scrolling strip too
        self._redraw = None
        if self._video is not None:
            self.video_dropped += self._video.dropped
            self._video.close()
            self._video = None

    def _light(self) -> None:
        """Content shows again after a blank: every region comes back."""
        if self._dark:
            self._dark = False
            self._invalidate()

    def _take_prepared(self, path: Path) -> pygame.Surface | _Video | None:
        return self._prepared.pop(path, None)

    # --- the main content ---------------------------------------------------------------

    def _still(self, path: Path) -> pygame.Surface:
        return _still_surface(path, self._main.size, self._main_bg, self._mono)

    def _do_image(self, path: Path) -> None:
        p = self._take_prepared(path)
        ok = isinstance(p, pygame.Surface) and p.get_size() == self._main.size
        surf = p if ok else self._still(path)
        if isinstance(p, _Video):
            p.close()
        self._drop_video()
        self._light()
        self._redraw = lambda: self._still(path)
        self._set_frame(surf)

    def _do_video(self, path: Path, offset_s: float) -> None:
        p = self._take_prepared(path)
        if isinstance(p, _Video) and abs(offset_s) < p.frame_s and p.box == self._main.size \
                and p.mono == self._mono:
            video = p
        else:
            if isinstance(p, _Video):
                p.close()
            video = _Video(path, self._main.size, offset_s, self._mono)
        self._drop_video()
        self._video = video
        video.start(time.monotonic())
        self._light()
        if video.first is not None:  # the old frame stays up until this one is ready
            self._set_frame(video.first)
            self.video_frames += 1

    def _do_scroll(self, path: Path, duration_s: float, offset_s: float) -> None:
        strip = _surface(load_strip(path, self._main.h))
        self._drop_video()
        self._light()
        speed = (strip.get_width() + self._main.w) / max(duration_s, 0.001)
        self._scroll, self._scroll_x = (strip, speed, time.monotonic() - offset_s), None
        self._invalidate()

    def _do_text(self, title: str, lines: tuple[str, ...]) -> None:
        self._drop_video()
        self._light()
        self._redraw = lambda: _surface(builtin_screen(self._main.size, title, lines))
        self._set_frame(self._redraw())

    def _do_prepared(self, path: Path, item: pygame.Surface | _Video) -> None:
        for old in self._prepared.values():  # keep only the next item
            if isinstance(old, _Video):
                old.close()
        self._prepared = {path: item}

    def _do_blank(self) -> None:
        self._drop_video()
        self._frame, self._dark = None, True
        self._invalidate()

    def _do_ticker(self, text: str | None) -> None:
        if self._ticker is not None:
            self._dirty.append(self._ticker_rect(self._ticker[0]))
        self._ticker = (_surface(ticker_strip(text, self.size)), time.monotonic()) if text else None
        self._ticker_x = None

    def _do_brightness(self, percent: int) -> None:
        self.brightness = percent
        self._invalidate()

    # --- layouts ------------------------------------------------------------------------

    def _do_clock(self, now_us: Callable[[], int], tz: str) -> None:
        self._now_us, self._tz = now_us, ZoneInfo(tz)

    def _strip(self, text: str, font_px: int, region: Region, mono: bool) -> pygame.Surface:
        key = (text, font_px, region.fg, region.bg, mono)
        if key not in self._strips:
            self._strips[key] = _surface(line_strip(text, font_px, region.fg, region.bg, mono))
        return self._strips[key]

    def _do_layout(self, layout: Layout | None, overlay: Layout | None,
                   tickers: dict[str, tuple[str, ...]], images: dict[str, Path]) -> None:
        old_strips, self._strips = self._strips, {}
        old_size, old_mono = self._main.size, self._mono
        main = layout.main() if layout is not None else None
        self._layout = layout
        self._main = pygame.Rect(main.rect) if main is not None else pygame.Rect(self._panel)
        self._mono = bool(layout is not None and layout.mono)
        self._main_bg = region_bg(layout, main) if layout and main else (0, 0, 0)
        pictures: dict[str, Image.Image] = {}
        for sha, path in images.items():
            try:
                with Image.open(path) as im:
                    pictures[sha] = im.convert("RGB")
            except OSError:
                log.warning("layout image %s cannot be read: its region shows background", sha)
        layers: list[_Layer] = [] if main is not None else [_Main()]
        for lay in (layout, overlay):
            for r in lay.regions if lay is not None else ():
                rect = pygame.Rect(r.rect)
                if r.role == "main":
                    layers.append(_Main())
                elif r.role == "ticker":
                    self._strips.update((k, v) for k, v in old_strips.items()
                                        if k[0] in tickers.get(r.key, ()))
                    layers.append(_Ticker(lay, r, tickers.get(r.key, ()), self._strip))
                elif r.role == "clock":
                    layers.append(_Clock(lay, r))
                elif r.role == "image":
                    pic = pictures.get(r.image.sha256) if r.image is not None else None
                    layers.append(_Fill(rect, region_bg(lay, r), None if pic is None else
                                        _surface(fit_picture(pic, lay, r))))
        self._layers = layers
        if (self._main.size, self._mono) != (old_size, old_mono):
            self._refit_main()
        self._invalidate()

    def _refit_main(self) -> None:
        """The main content as the new main region shows it (a still is redrawn from its
        file; a video scales its next frames; a strip takes the region's height)."""
        if self._redraw is not None:
            self._frame = self._redraw()
        if self._video is not None:
            self._video.resize(self._main.size)
            self._video.mono = self._mono
        if self._scroll is not None:
            strip, speed, started = self._scroll
            h = self._main.h
            if strip.get_height() != h:
                w = max(1, round(strip.get_width() * h / strip.get_height()))
                self._scroll = (pygame.transform.smoothscale(strip, (w, h)), speed, started)

    # --- looking at the screen ----------------------------------------------------------

    def _main_picture(self) -> Image.Image:
        """The main content as it shows now, before dimming (for the probe)."""
        size = self._main.size
        if self._dark:
            return Image.new("RGB", size)
        if self._scroll is not None:  # where the strip is now, as _present draws it
            strip, speed, started = self._scroll
            surf = pygame.Surface(size)
            surf.fill(self._main_bg)
            surf.blit(strip, (ticker_offset(strip.get_width(), size[0],
                                            time.monotonic() - started, speed), 0))
            return _image(surf)
        if self._frame is None:
            return Image.new("RGB", size, self._main_bg)
        return fit(_image(self._frame), size, self._main_bg)

    def _do_probe(self) -> tuple[str, bool]:
        """The main region's content only: a ticker that scrolls or a clock that ticks must
        not make a frozen main region look alive. Full-frame: the frame as before."""
        if self._frame is not None and self._scroll is None and not self._dark:
            return describe_frame(_image(self._frame))
        return describe_frame(self._main_picture())

    def _do_screenshot(self) -> bytes:
        self._present()  # what changed up to now is on screen before it is read
        return png_bytes(_image(self._screen))
