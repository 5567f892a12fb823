"""Instants as integer microseconds, and wall-clock <-> UTC conversion for one time zone.

The resolver works on integers (microseconds since the Unix epoch, UTC) so results are exact
and never depend on float rounding or on the machine's local time zone.  "Local microseconds"
are the same count on the zone's wall clock: ``local_us // DAY_US`` is the local date's ordinal
since 1970-01-01 and ``local_us % DAY_US`` the time of day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

US = 1_000_000
MINUTE_US = 60 * US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
# "Never" as an integer instant: far beyond any schedule, still compares cheaply.
INF = 2**62

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_US = timedelta(microseconds=1)
# Offsets are cached per bucket of UTC time; a bucket is treated as linear only when the
# offset is the same at both ends (no zone changes offset twice within 15 minutes).
_BUCKET_US = 15 * MINUTE_US


def to_us(t: datetime) -> int:
    """Microseconds since the epoch for an aware datetime; naive ones are refused."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t!r}: instants must be timezone-aware")
    return (t - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """Aware UTC datetime for an integer instant."""
    return _EPOCH + timedelta(microseconds=us)


def day_number(d: date) -> int:
    """Days since 1970-01-01 (local date ordinal used by the resolver)."""
    return d.toordinal() - _EPOCH_ORDINAL


def time_us(t: time) -> int:
    """Microseconds since midnight for a wall-clock time of day."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * US + t.microsecond


def weekday_of_day(day: int) -> int:
    """Mon=0..Sun=6 for a day number (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


class TzClock:
    """Conversions for one zone, cached: zoneinfo calls cost ~1 us and we make millions."""

    __slots__ = ("name", "tz", "_utc_bucket", "_local_day")

    def __init__(self, name: str) -> None:
        self.name = name
        self.tz = ZoneInfo(name)
        self._utc_bucket: dict[int, int | None] = {}
        self._local_day: dict[int, int | None] = {}

    def _offset_at_utc(self, us: int) -> int:
        return from_us(us).astimezone(self.tz).utcoffset() // _ONE_US  # type: ignore[operator]

    def _offset_for_local(self, local_us: int) -> int:
        # fold=0: an ambiguous wall time means its first occurrence; a skipped one maps forward.
        naive = _EPOCH_NAIVE + timedelta(microseconds=local_us)
        return self.tz.utcoffset(naive) // _ONE_US  # type: ignore[operator]

    def to_local(self, us: int) -> int:
        """Wall-clock microseconds for a UTC instant."""
        bucket = us // _BUCKET_US
        off = self._utc_bucket.get(bucket, False)
        if off is False:
            lo = self._offset_at_utc(bucket * _BUCKET_US)
            hi = self._offset_at_utc((bucket + 1) * _BUCKET_US - 1)
            off = lo if lo == hi else None
            self._utc_bucket[bucket] = off
        if off is None:
            off = self._offset_at_utc(us)
        return us + off

    def to_utc(self, local_us: int) -> int:
        """UTC instant for a wall-clock time (first occurrence if ambiguous)."""
        day = local_us // DAY_US
        off = self._local_day.get(day, False)
        if off is False:
            lo = self._offset_for_local(day * DAY_US)
            hi = self._offset_for_local((day + 1) * DAY_US - 1)
            off = lo if lo == hi else None
            self._local_day[day] = off
        if off is None:
            off = self._offset_for_local(local_us)
        return local_us - off


_CLOCKS: dict[str, TzClock] = {}


def clock(name: str) -> TzClock:
    """Shared clock per zone name (its caches are pure functions of the zone data)."""
    c = _CLOCKS.get(name)
    if c is None:
        c = _CLOCKS[name] = TzClock(name)
    return c
