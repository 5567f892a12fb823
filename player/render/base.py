"""The small interface every backend implements; the playback loop only talks to this."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from playlists.layouts import Layout


class Backend(Protocol):
    size: tuple[int, int]

    def show_image(self, path: Path) -> None:
        """Show a still (a photo or a rendered notice page), scaled to fit if needed."""

    def show_video(self, path: Path, offset_s: float = 0.0) -> None:
        """Start a clip `offset_s` seconds in (a play resumed mid-way starts mid-clip)."""

    def show_scroll(self, path: Path, duration_s: float, offset_s: float = 0.0) -> None:
        """A notice's scroll strip (wider than the panel): it enters on the right and has
        left on the left after `duration_s`; `offset_s` seconds of that have passed."""

    def show_text(self, title: str, lines: Sequence[str] = ()) -> None:
        """The built-in screen (terminal name, pairing code): never a black screen."""

    def prepare(self, path: Path, media: str) -> None:
        """Load the next item ahead of time so switching to it leaves no black gap."""

    def blank(self) -> None:
        """Screen off: nothing lit."""

    def set_brightness(self, percent: int) -> None: ...

    def set_ticker(self, text: str | None) -> None:
        """Run an emergency ticker along the bottom over whatever shows (None: remove it)."""

    def set_clock(self, now_us: Callable[[], int], tz: str) -> None:
        """The server-corrected clock (microseconds since the epoch, UTC) and the plan's zone:
        tickers are positioned by it (playlists.layouts.ticker_position: every screen with the
        same lines shows the same place at the same moment) and the clock region reads it."""

    def show_layout(self, layout: Layout | None, overlay: Layout | None,
                    tickers: Mapping[str, Sequence[str]], images: Mapping[str, Path]) -> None:
        """Frame the screen: `layout` (fitted to this panel) or None for full-frame, and
        `overlay` (fitted) or None drawn over everything. tickers: region key -> the texts
        that scroll in that ticker region now, in order (empty: the region shows its
        background). images: sha256 -> cached file for image regions (a region whose image
        is missing shows its background). While a layout is set, show_image / show_video /
        show_scroll / show_text put the main content into the main region (scaled to fit
        it, the scroll strip at the region's height). Tickers scroll and the clock ticks on
        their own, frame-paced by the backend. Called only when something changed."""

    def screenshot(self) -> bytes:
        """PNG bytes of the whole panel as it shows now (every region, after dimming)."""

    def frame_probe(self) -> tuple[str, bool] | None:
        """(SHA-256 of the frame's pixels before dimming, nearly black?) for STATUS, or None
        when this backend cannot afford to look (see render.images.describe_frame). Under a
        layout: the main region's content only (a ticker or clock moving must not make a
        frozen main region look alive)."""

    def close(self) -> None: ...
