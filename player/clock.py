"""Time as the server sees it, and the `Clock` the playback loop runs on.

Terminals' own clocks drift and some boot without RTC/NTP, but every screen sharing a schedule
must show the same item at the same moment and proof-of-play must line up with the server's
hours. So every decision uses server time = local UTC + an offset measured from the acks
(NTP-style: the server's `server_time` is taken to be the midpoint of send and receive).

The offset is persisted, so a terminal rebooting without a network still uses the last
known correction instead of its raw clock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from player.files import atomic_write_json, read_json
from player.protocol import parse_instant

# Keep this many recent samples; the one with the smallest round trip wins (its midpoint
# assumption has the smallest possible error: at most half its round trip).
SAMPLES_KEPT = 8
# Samples slower than this are too uncertain to use at all.
MAX_RTT_S = 10.0


@dataclass(frozen=True, slots=True)
class Sample:
    offset_s: float
    rtt_s: float


def offset_from(sent: datetime, received: datetime, server_time: datetime) -> Sample:
    """Offset (server - local) assuming the server stamped its reply at the midpoint."""
    rtt = (received - sent).total_seconds()
    midpoint = sent + (received - sent) / 2
    return Sample((server_time - midpoint).total_seconds(), rtt)


class ServerClock:
    """The offset between this machine's UTC clock and the server's; thread-safe."""

    def __init__(self, path: Path | None = None,
                 system_now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = path
        self.system_now = system_now
        self._lock = threading.Lock()
        self._samples: deque[Sample] = deque(maxlen=SAMPLES_KEPT)
        self.offset_s = 0.0
        self.synced = False  # True once a sample arrived in this run (not only loaded)
        saved = read_json(path) if path else None
        if isinstance(saved, dict) and isinstance(saved.get("offset_s"), int | float):
            self.offset_s = float(saved["offset_s"])

    def now(self) -> datetime:
        return self.system_now() + timedelta(seconds=self.offset_s)

    def add_sample(self, sent: datetime, received: datetime, server_time: str | datetime
                   ) -> float | None:
        """Feed one acknowledged request; returns the new offset (None if the sample is unusable).

        `sent`/`received` are this machine's uncorrected UTC (`system_now()`)."""
        try:
            st = server_time if isinstance(server_time, datetime) else parse_instant(
                server_time, "server_time")
        except ValueError:
            return None
        s = offset_from(sent, received, st)
        if not 0 <= s.rtt_s <= MAX_RTT_S:
            return None  # the local clock jumped during the request, or it took far too long
        with self._lock:
            self._samples.append(s)
            best = min(self._samples, key=lambda x: x.rtt_s)
            self.offset_s = best.offset_s
            self.synced = True
            offset = self.offset_s
        if self.path:
            atomic_write_json(self.path, {"offset_s": offset, "rtt_s": best.rtt_s,
                                          "measured_at": self.system_now().isoformat()})
        return offset


class Clock(Protocol):
    """What the playback loop needs from time; real in production, simulated in tests."""

    def now(self) -> datetime: ...

    def sleep_until(self, t: datetime, wake: threading.Event) -> None:
        """Return at `t` or as soon as `wake` is set, whichever is first."""
        ...


class RealClock:
    """Server-corrected wall time; sleeps in short steps so an offset change is followed."""

    def __init__(self, server: ServerClock | None = None, max_step_s: float = 1.0) -> None:
        self.server = server or ServerClock()
        self.max_step_s = max_step_s

    def now(self) -> datetime:
        return self.server.now()

    def sleep_until(self, t: datetime, wake: threading.Event) -> None:
        while not wake.is_set():
            left = (t - self.now()).total_seconds()
            if left <= 0:
                return
            wake.wait(min(left, self.max_step_s))


class SimClock:
    """A simulated clock: sleeping jumps time forward at once.

    `at(t, fn)` schedules a callback (a command, a new manifest, a cache change...) that runs
    when simulated time reaches t, so tests can interrupt the loop at exact instants.
    `stop_at` makes every sleep past it set `stop` instead (the end of a simulated run)."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._events: list[tuple[datetime, int, Callable[[], None]]] = []
        self._seq = 0
        self.sleeps = 0

    def now(self) -> datetime:
        return self._now

    def at(self, t: datetime, fn: Callable[[], None]) -> None:
        self._seq += 1
        self._events.append((t, self._seq, fn))
        self._events.sort(key=lambda e: (e[0], e[1]))

    def sleep_until(self, t: datetime, wake: threading.Event) -> None:
        self.sleeps += 1
        while not wake.is_set():
            if self._events and self._events[0][0] <= t:
                when, _, fn = self._events.pop(0)
                self._now = max(self._now, when)
                fn()
                continue
            self._now = max(self._now, t)
            return
