"""Occurrences of a recurring daily window, as UTC intervals (shared by schedules and screens).

Semantics (see docs/schedules.md):
- An occurrence belongs to the local date D it starts on.  D must be within
  [start_date, end_date] and D's weekday must be in ``weekdays``.
- A window [s, e) with e > s spans D s..D e; e <= s crosses midnight and ends on D+1 at e
  (00:00-00:00, or any s == e, is a 24 h occurrence).
- Everything is then clipped to the hard bounds: local midnight starting start_date, local
  midnight ending end_date, and the optional valid_from/valid_until instants.  So a 22:00-06:00
  window whose end_date is Friday plays Friday 22:00-24:00 and no Saturday morning.
- If occurrences overlap (invalid input; validation flags it) the one that started first, then
  the longer one, is "the" occurrence, which keeps state constant between edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from playlists.clock import DAY_US, INF, TzClock, day_number, time_us, to_us, weekday_of_day
from playlists.model import Window

# Scanning this many local days is enough to find the next occurrence of any non-empty
# weekday set (7 days), plus the day before and slack for clipping at a bound.
_SCAN_DAYS = 9


class Recurrence:
    __slots__ = ("clock", "lo", "hi", "first_day", "last_day", "mask", "windows")

    def __init__(
        self,
        clk: TzClock,
        start_date: date | None,
        end_date: date | None,
        weekdays: Iterable[int],
        windows: Iterable[Window],
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> None:
        self.clock = clk
        self.first_day = day_number(start_date) if start_date else -(2**40)
        self.last_day = day_number(end_date) if end_date else 2**40
        lo = clk.to_utc(self.first_day * DAY_US) if start_date else -INF
        hi = clk.to_utc((self.last_day + 1) * DAY_US) if end_date else INF
        if valid_from is not None:
            lo = max(lo, to_us(valid_from))
        if valid_until is not None:
            hi = min(hi, to_us(valid_until))
        self.lo, self.hi = lo, hi
        self.mask = 0
        for wd in weekdays:
            if 0 <= wd <= 6:  # out-of-range weekdays are a validation error, ignored here
                self.mask |= 1 << wd
        spans = []
        for w in windows:
            s, e = time_us(w.start), time_us(w.end)
            spans.append((s, e if e > s else e + DAY_US))
        self.windows = tuple(sorted(spans))

    def _day_ok(self, day: int) -> bool:
        return self.first_day <= day <= self.last_day and bool(
            (self.mask >> weekday_of_day(day)) & 1
        )

    def occurrence_at(self, t: int) -> tuple[int, int] | None:
        """The clipped occurrence [a, b) containing instant t, or None."""
        if t < self.lo or t >= self.hi:
            return None
        to_utc = self.clock.to_utc
        d = self.clock.to_local(t) // DAY_US
        best: tuple[int, int] | None = None
        for day in (d - 1, d):
            if not self._day_ok(day):
                continue
            base = day * DAY_US
            for s, e in self.windows:
                a = max(to_utc(base + s), self.lo)
                b = min(to_utc(base + e), self.hi)
                if a <= t < b and (best is None or a < best[0] or (a == best[0] and b > best[1])):
                    best = (a, b)
        return best

    def next_start_after(self, t: int) -> int:
        """Smallest clipped occurrence start strictly after t (INF if none)."""
        if t >= self.hi:
            return INF
        to_utc = self.clock.to_utc
        d = self.clock.to_local(max(t, self.lo)) // DAY_US
        best = INF
        for day in range(max(d - 1, self.first_day), min(d + _SCAN_DAYS, self.last_day + 1)):
            if not (self.mask >> weekday_of_day(day)) & 1:
                continue
            base = day * DAY_US
            for s, e in self.windows:
                a = max(to_utc(base + s), self.lo)
                if t < a < best and a < min(to_utc(base + e), self.hi):
                    best = a
        return best

    def next_change(self, t: int) -> tuple[tuple[int, int] | None, int]:
        """(occurrence containing t or None, first instant after t where that answer changes)."""
        occ = self.occurrence_at(t)
        if occ is not None:
            return occ, occ[1]
        return None, self.next_start_after(t)
