"""The small interface every backend implements; the playback loop only talks to this."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


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

    def screenshot(self) -> bytes:
        """PNG bytes of what is on screen now."""

    def frame_probe(self) -> tuple[str, bool] | None:
        """(SHA-256 of the frame's pixels before dimming, nearly black?) for STATUS, or None
        when this backend cannot afford to look (see render.images.describe_frame)."""

    def close(self) -> None: ...
