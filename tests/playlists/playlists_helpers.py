"""Shared builders and a deliberately naive oracle (datetime + zoneinfo, no resolver code)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playlists import Item, Playlist, Schedule, Window

SH = ZoneInfo("Asia/Shanghai")
KIND_ORDER = {"interrupt": 2, "normal": 1, "filler": 0}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def item(cid: int, dur: float = 10, *, approved: bool = True, **kw: datetime | None) -> Item:
    return Item(cid, f"{cid:064x}", dur, topic_id=cid % 3, approved=approved, **kw)  # type: ignore[arg-type]


def playlist(*items: Item, pid: int = 1) -> Playlist:
    return Playlist(pid, f"p{pid}", tuple(items))


def window(a: str, b: str) -> Window:
    return Window(time.fromisoformat(a), time.fromisoformat(b))


def sched(sid: int, items: tuple[Item, ...], **kw: object) -> Schedule:
    return Schedule(sid, playlist(*items, pid=sid), **kw)  # type: ignore[arg-type]


def naive_in_window(s: Schedule, t: datetime, tz: ZoneInfo = SH) -> bool:
    """Independent reading of the window/date rules, straight from the docs."""
    if s.valid_from is not None and t < s.valid_from:
        return False
    if s.valid_until is not None and t >= s.valid_until:
        return False
    loc = t.astimezone(tz)
    if s.start_date is not None and loc.date() < s.start_date:
        return False
    if s.end_date is not None and loc.date() > s.end_date:
        return False
    for d in (loc.date() - timedelta(days=1), loc.date()):
        if d.weekday() not in s.weekdays:
            continue
        if (s.start_date and d < s.start_date) or (s.end_date and d > s.end_date):
            continue
        for w in s.windows:
            a = datetime.combine(d, w.start, tzinfo=tz)
            end_day = d if w.end > w.start else d + timedelta(days=1)
            b = datetime.combine(end_day, w.end, tzinfo=tz)
            if a <= t < b:
                return True
    return False


def naive_eligible(it: Item, t: datetime) -> bool:
    if not it.approved or not 0 < it.duration_s <= 86400:
        return False
    for lo in (it.valid_from, it.entry_valid_from):
        if lo is not None and t < lo:
            return False
    return all(hi is None or t < hi for hi in (it.valid_until, it.entry_valid_until))


def naive_applies(s: Schedule, t: datetime) -> bool:
    return naive_in_window(s, t) and any(naive_eligible(i, t) for i in s.playlist.items)


def rank(s: Schedule) -> tuple[int, int]:
    return KIND_ORDER[s.kind], s.priority


def day(d: str) -> date:
    return date.fromisoformat(d)
