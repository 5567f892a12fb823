"""Proof of play for the regions beside the main one: each pass of a ticker line, and the
time an image region is shown.

A ticker's position is a pure function of time (``playlists.layouts.ticker_position``): the
backend draws it from the corrected clock, and this module walks the same passes with the
same geometry (font size, line widths, speed), so the records say which line crossed the
band when without looking at the screen. Each pass of a line is one play of that line's
content; the pass in progress when the ticker stops is cut short with the reason. The record's
sha256 is the SHA-256 of the line's UTF-8 text (a ticker line has no file: this says which
wording scrolled); a ticker broadcast keeps the sha256 its payload names, as before layouts.

An image region is one play for as long as it is shown. Whole hours are written as they
close (reason ``completed``), so a terminal killed mid-day loses at most the current hour of
it; the rest is written when it stops. A clock shows no content and is not recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from player.protocol import play_record, split_at_hours
from playlists.clock import HOUR_US, from_us
from playlists.layouts import ticker_position
from playlists.model import Item


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Line:
    """One text that scrolls, and what its plays are recorded as."""

    content_id: int
    sha256: str
    text: str


def _records(content_id: int, schedule_id: int | None, sha256: str, region: str, a: int,
             b: int, reason: str) -> list[dict[str, Any]]:
    return [play_record(content_id=content_id, schedule_id=schedule_id, sha256=sha256,
                        start=x, end=y, reason=reason, region=region)
            for x, y in split_at_hours(from_us(a), from_us(b))]


@dataclass(slots=True)
class TickerRun:
    """One ticker region scrolling one set of lines; written up to ``since_us``.

    ``until_us``: when it ends by itself (a ticker broadcast's end), if it does."""

    schedule_id: int | None
    lines: tuple[Line, ...]
    widths: tuple[int, ...]
    region_w: int
    speed: float
    since_us: int
    until_us: int | None = None
    broadcast_id: int | None = None

    def same(self, other: TickerRun) -> bool:
        """The same passes at the same instants (so the one running goes on)."""
        return self._what() == other._what()

    def _what(self) -> tuple[Any, ...]:
        return (self.schedule_id, self.lines, self.widths, self.region_w, self.speed,
                self.until_us, self.broadcast_id)

    def pass_end(self, t_us: int) -> int:
        return ticker_position(self.widths, self.region_w, self.speed, t_us)[3]

    def records(self, upto_us: int, reason: str | None = None) -> list[dict[str, Any]]:
        """Records for [since, upto): every pass that ended by then, as completed; with a
        reason the run stops at upto and the pass in progress is cut short with it (or is
        completed, when the run reached its own end)."""
        if reason is not None and self.until_us is not None and self.until_us <= upto_us:
            upto_us, reason = self.until_us, "completed"
        out: list[dict[str, Any]] = []
        t = self.since_us
        while t < upto_us:
            i, _x, _start, end = ticker_position(self.widths, self.region_w, self.speed, t)
            cut = end > upto_us
            if cut:
                if reason is None:
                    break
                end = upto_us
            line = self.lines[i]
            out += _records(line.content_id, self.schedule_id, line.sha256, "ticker", t, end,
                            reason if cut else "completed")  # type: ignore[arg-type]
            t = end
        self.since_us = t
        return out


@dataclass(slots=True)
class ImagePlay:
    """An image region's still on screen since ``since_us`` (written up to there)."""

    schedule_id: int | None
    item: Item
    since_us: int

    def same(self, other: ImagePlay) -> bool:
        return (self.schedule_id, self.item) == (other.schedule_id, other.item)

    def records(self, upto_us: int, reason: str | None = None) -> list[dict[str, Any]]:
        """With a reason: everything up to upto, cut with it. Without: the whole hours
        closed by upto, as completed."""
        if reason is None:
            upto_us, reason = upto_us - upto_us % HOUR_US, "completed"
        if upto_us <= self.since_us:
            return []
        out = _records(self.item.content_id, self.schedule_id, self.item.sha256, "image",
                       self.since_us, upto_us, reason)
        self.since_us = upto_us
        return out
