"""Time-share mandates, hand-computed (times are Asia/Shanghai, UTC+8; the 2026-12 dates
are ordinary days). The mandate's content is topic 7; other items are topic 1."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playlists_helpers import SH, local, window

from playlists import (
    MANDATE_PRIORITY,
    HourShare,
    Item,
    MandateSpec,
    Playlist,
    Schedule,
    ScreenPlan,
    TerminalPlan,
    enforce,
    planned_share,
    required_s,
    resolve,
    validate_plan,
)
from playlists.mandates import ID_BASE, mandate_of

D = date(2026, 12, 2)
DAYS = [D, D + timedelta(days=1), D + timedelta(days=2)]
FALLBACK = Playlist(900, "built-in", (Item(900, "f" * 64, 30, 0, True),))


def it(cid: int, dur: float, topic: int = 1) -> Item:
    return Item(cid, f"{cid:064x}", dur, topic, True)


def sched(sid: int, items: tuple[Item, ...], a: str = "00:00", b: str = "00:00",
          **kw: object) -> Schedule:
    return Schedule(sid, Playlist(sid, f"p{sid}", items), windows=(window(a, b),),
                    **kw)  # type: ignore[arg-type]


def plan(*schedules: Schedule, **kw: object) -> TerminalPlan:
    return TerminalPlan(1, schedules=schedules, fallback=FALLBACK, **kw)  # type: ignore[arg-type]


def spec(share: float = 10, a: str = "08:00", b: str = "22:00", kind: str = "minutes",
         start: date = date(2026, 12, 1), end: date = date(2026, 12, 31)) -> MandateSpec:
    return MandateSpec(5, frozenset({80}), 7, kind, share, window(a, b), start, end)


# The mandate's insertion: two of its items (item 80 by id, 81 by topic), 75 s a turn.
INSERT = Playlist(0, "反诈", (it(80, 30), it(81, 45, topic=7)))


def inserted(p: TerminalPlan) -> list[Schedule]:
    return [s for s in p.schedules if s.id >= ID_BASE]


def windows_on(p: TerminalPlan, day: date) -> list[str]:
    """The inserted windows playing on a local day, "HH:MM:SS-HH:MM:SS", in order."""
    return sorted(f"{w.start}-{w.end}" for s in inserted(p) if s.start_date == day
                  == s.end_date for w in s.windows)


def shares(p: TerminalPlan, sp: MandateSpec, day: date) -> dict[int, HourShare]:
    """The day's planned share by local hour."""
    got = planned_share(p, [sp], local(day.year, day.month, day.day),
                        local(day.year, day.month, day.day) + timedelta(days=1))
    return {h.astimezone(SH).hour: share for (_m, h), share in got.items()}


def test_required_seconds() -> None:
    assert required_s(spec(10), 3600) == 600
    assert required_s(spec(10), 420) == 420  # lit 7 minutes: no more than that
    assert required_s(spec(10), 1800, span_s=1800) == 300  # half an hour in the window
    assert required_s(spec(15, kind="percent"), 2400) == 360


def test_dayparts_get_their_shortfall_spread_through_each_hour() -> None:
    # Morning 08:00-12:00 loops [topic 60 s, other 660 s]: a 12-minute turn from 08:00,
    # so the topic plays :00, :12, :24, :36, :48 -> 5 min/h; the afternoon plays none.
    morning = sched(10, (it(70, 60, topic=7), it(2, 660)), "08:00", "12:00")
    afternoon = sched(11, (it(3, 600),), "12:00", "22:00")
    base = plan(morning, afternoon)
    sp = spec(10)
    assert shares(base, sp, D)[8] == HourShare(600, 300, 3600)
    assert shares(base, sp, D)[12] == HourShare(600, 0, 3600)

    out = enforce(base, [(sp, INSERT)], DAYS)
    # Morning: 5 min in one slot. The free time is the hour less the topic's five
    # minutes (3,300 s); the 3,000 s left over go half before, half after: the slot
    # starts 1,500 s into the free time = 11 + 11 + 3 minutes of it -> 08:28.
    # Afternoon: 10 min in two 5-minute slots, 3,000 s left over in two gaps of 1,500 s
    # with half a gap at each end: :12:30 and :42:30.
    expected = ([f"{h:02}:28:00-{h:02}:33:00" for h in range(8, 12)]
                + [f"{h:02}:{m}-{h:02}:{n}" for h in range(12, 22)
                   for m, n in (("12:30", "17:30"), ("42:30", "47:30"))])
    assert windows_on(out, D) == sorted(expected)
    assert windows_on(out, DAYS[2]) == sorted(expected)
    for hour, share in shares(out, sp, D).items():
        assert share == HourShare(600, 600, 3600), hour
    # The staff's own topic item still plays where it did; the slot holds the insertion.
    assert resolve(out, local(2026, 12, 2, 8, 24, 30)).item.content_id == 70  # type: ignore[union-attr]
    r = resolve(out, local(2026, 12, 2, 8, 28, 40))
    assert (r.item.content_id, r.kind) == (81, "interrupt")  # type: ignore[union-attr]
    assert mandate_of(r.schedule_id) == 5 and mandate_of(10) is None

    # Each day its own schedule (that day only); after the last day one schedule at the
    # full share, 10 min in every hour, morning too (no subtraction so far ahead).
    days = [s for s in inserted(out) if s.start_date == s.end_date]
    assert sorted(s.start_date for s in days) == DAYS  # type: ignore[type-var]
    assert all(s.kind == "interrupt" and s.priority == MANDATE_PRIORITY == 900
               for s in inserted(out))
    (beyond,) = [s for s in inserted(out) if s.start_date != s.end_date]
    assert (beyond.start_date, beyond.end_date) == (date(2026, 12, 5), date(2026, 12, 31))
    assert sorted(f"{w.start}-{w.end}" for w in beyond.windows) == sorted(
        f"{h:02}:{m}-{h:02}:{n}" for h in range(8, 22)
        for m, n in (("12:30", "17:30"), ("42:30", "47:30")))
    # There the 08:12:30 slot takes the last half minute of the staff's 08:12 topic item:
    # 300 - 30 + 600 s.
    assert shares(out, sp, date(2026, 12, 9))[8] == HourShare(600, 870, 3600)
    assert len({s.id for s in out.schedules}) == len(out.schedules)
    assert validate_plan(out) == []
    # A manifest round trip keeps it (old players just see schedules).
    assert TerminalPlan.from_dict(out.to_dict()) == out


def test_filler_only_hour_and_a_slot_split_around_the_topic() -> None:
    # 12:00-13:00 only the filler plays: [other 540 s, topic 60 s] from local midnight,
    # so the topic is at :09, :19, ... :59 -> 6 min/h; 4 minutes are missing.
    filler = sched(20, (it(4, 540), it(71, 60, topic=7)), kind="filler")
    base = plan(sched(10, (it(2, 600),), "08:00", "12:00"), filler)
    sp = spec(10, "12:00", "13:00")
    assert shares(base, sp, D) == {12: HourShare(600, 360, 3600)}
    out = enforce(base, [(sp, INSERT)], [D])
    # Free: the hour less 6 topic minutes = 3,240 s; 3,000 s left over, half before:
    # 1,500 s = 9 + 9 + 7 minutes of free time -> 12:27, and the 4 minutes run into
    # the topic's minute at 12:29, so the slot goes around it: 12:27-12:29, 12:30-12:32.
    assert windows_on(out, D) == ["12:27:00-12:29:00", "12:30:00-12:32:00"]
    assert shares(out, sp, D) == {12: HourShare(600, 600, 3600)}
    r = resolve(out, local(2026, 12, 2, 12, 29, 30))
    assert (r.item.content_id, r.kind) == (71, "filler")  # type: ignore[union-attr]


def test_staff_interrupts_by_priority() -> None:
    all_day = sched(10, (it(2, 600),))
    high = sched(30, (it(5, 60),), "15:00", "15:30", kind="interrupt", priority=950)
    low = sched(31, (it(6, 60),), "16:00", "16:30", kind="interrupt", priority=0)
    tie = sched(32, (it(7, 60),), "17:00", "18:00", kind="interrupt", priority=900)
    sp = spec(10, "15:00", "18:00")
    out = enforce(plan(all_day, high, low, tie), [(sp, INSERT)], [D])
    # 15:00: the 950 notice keeps its half hour; 10 min go into 15:30-16:00 (1,800 s,
    # 1,200 left over: gaps of 600 s, half a gap at each end) -> 15:35 and 15:50.
    # 16:00: a priority-0 notice is pre-empted like any schedule: :12:30 and :42:30.
    # 17:00: a 900 notice holds the whole hour: nothing is inserted, the hour is short.
    assert windows_on(out, D) == ["15:35:00-15:40:00", "15:50:00-15:55:00",
                                  "16:12:30-16:17:30", "16:42:30-16:47:30"]
    got = shares(out, sp, D)
    assert got[15].met and got[16].met
    assert got[17] == HourShare(600, 0, 3600) and not got[17].met
    assert resolve(out, local(2026, 12, 2, 15, 10)).item.content_id == 5  # type: ignore[union-attr]
    assert resolve(out, local(2026, 12, 2, 16, 15)).item.content_id == 80  # type: ignore[union-attr]


def test_percent_of_lit_time_with_the_screen_off_half_an_hour() -> None:
    off = ScreenPlan(1, on=False, priority=1, windows=(window("20:30", "21:00"),))
    base = plan(sched(10, (it(2, 600),)), screen_plans=(off,))
    sp = spec(20, "20:00", "22:00", kind="percent")
    assert shares(base, sp, D) == {20: HourShare(360, 0, 1800), 21: HourShare(720, 0, 3600)}
    out = enforce(base, [(sp, INSERT)], [D])
    # 20:00: lit 20:00-20:30, 360 s in two slots of 180 s, 1,440 s left over -> gaps of
    # 720 s: 20:06 and 20:21. 21:00: 720 s in three slots of 240 s, 2,880 s left over
    # -> gaps of 960 s: 21:08, 21:28, 21:48.
    assert windows_on(out, D) == ["20:06:00-20:09:00", "20:21:00-20:24:00",
                                  "21:08:00-21:12:00", "21:28:00-21:32:00",
                                  "21:48:00-21:52:00"]
    assert shares(out, sp, D) == {20: HourShare(360, 360, 1800), 21: HourShare(720, 720, 3600)}


def test_window_across_midnight_and_dates_outside_the_range() -> None:
    # 6 min/h, 23:00-01:00, on 12-02 and 12-03 only; enforced over 12-01..12-05. As for a
    # schedule, the last night stops at the midnight ending 12-03.
    base = plan(sched(10, (it(2, 600),)))
    sp = spec(6, "23:00", "01:00", start=D, end=D + timedelta(days=1))
    out = enforce(base, [(sp, INSERT)], [D - timedelta(days=1), *DAYS])
    # 360 s in two slots of 180 s, 3,240 s left over -> gaps of 1,620 s: :13:30, :43:30.
    night = ["23:13:30-23:16:30", "23:43:30-23:46:30"]
    after = ["00:13:30-00:16:30", "00:43:30-00:46:30"]
    assert windows_on(out, date(2026, 12, 1)) == []
    assert windows_on(out, D) == night
    assert windows_on(out, D + timedelta(days=1)) == after + night
    assert windows_on(out, D + timedelta(days=2)) == []
    # No schedule after the horizon: the dates end in it.
    assert all(s.start_date == s.end_date for s in inserted(out))
    got = planned_share(out, [sp], local(2026, 12, 1), local(2026, 12, 6))
    assert sorted(h.astimezone(SH).strftime("%d %H") for _m, h in got) == [
        "02 23", "03 00", "03 23"]
    assert all(share == HourShare(360, 360, 3600) for share in got.values())
    assert resolve(out, local(2026, 12, 4, 0, 15)).item.content_id == 2  # type: ignore[union-attr]


def test_slots_take_turns_through_a_long_insertion() -> None:
    # Four items of 100 s: a 5-minute slot shows three, so the next starts at the fourth,
    # (a schedule whose playlist starts there), then the third, ...
    long = Playlist(0, "反诈", tuple(it(80 + n, 100, topic=7) for n in range(4)))
    sp = spec(10, "12:00", "13:00")
    out = enforce(plan(sched(10, (it(2, 600),))), [(sp, long)], [D])
    firsts = {w.start.isoformat(): [i.content_id for i in s.playlist.items]
              for s in inserted(out) if s.start_date == D for w in s.windows}
    assert firsts == {"12:12:30": [80, 81, 82, 83], "12:42:30": [83, 80, 81, 82]}
    assert resolve(out, local(2026, 12, 2, 12, 42, 31)).item.content_id == 83  # type: ignore[union-attr]


def test_two_mandates_never_share_a_slot() -> None:
    other = MandateSpec(6, frozenset({90}), None, "minutes", 10, window("12:00", "13:00"),
                        date(2026, 12, 1), date(2026, 12, 31))
    sp = spec(10, "12:00", "13:00")
    out = enforce(plan(sched(10, (it(2, 600),))),
                  [(other, Playlist(0, "b", (it(90, 60),))), (sp, INSERT)], [D])
    got = planned_share(out, [sp, other], local(2026, 12, 2, 12), local(2026, 12, 2, 13))
    assert [share.planned_s for share in got.values()] == [600, 600]
    # Mandate 5 first, at :12:30 and :42:30. Mandate 6 in the 3,000 s left around them,
    # 2,400 s of it over: 600 s in -> 12:10:00, across mandate 5's first slot to 12:20;
    # 2,100 s in -> 12:40:00, across its second to 12:50.
    assert windows_on(out, D) == [
        "12:10:00-12:12:30", "12:12:30-12:17:30", "12:17:30-12:20:00",
        "12:40:00-12:42:30", "12:42:30-12:47:30", "12:47:30-12:50:00"]


def test_enforcing_needs_a_known_id_and_a_short_horizon() -> None:
    with pytest.raises(ValueError):
        enforce(plan(), [(spec(), INSERT)], [D + timedelta(days=n) for n in range(11)])
    with pytest.raises(ValueError):
        enforce(plan(), [(MandateSpec(10**6, frozenset(), 7, "minutes", 10, window(
            "08:00", "09:00"), D, D), INSERT)], [D])
