"""The playback loop under layouts, on a simulated clock: what frames the screen when, and
the proof of play of each region (main, ticker passes, image), hand-computed.

Geometry used throughout, the backends' own (player.render.compose.ticker_geometry; a 384 x
192 panel, times from T0 = 08:00:00 UTC, a multiple of every ticker cycle below since the
epoch): the ticker band is 336 x 20, so its text is ticker_font_px(20, 192) = 16 px, drawn
with the 16 px bitmap face where a Chinese character is 16 px wide, and it moves 5
characters = 80 px a second. A pass takes (width + 336) / 80 s: "停水通知" (64 px) 5 s, the
14-character line (224 px) 7 s, so the two loop in 12 s: line 1 [0, 5), line 2 [5, 12),
line 1 [12, 17), line 2 [17, 24)...
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time, timedelta
from pathlib import Path

from player_helpers import item, plan, playlist, sched, screen, utc
from test_player_broadcasts import bc
from test_player_playback import T0, Rig

from player.broadcasts import BroadcastStore
from player.manifest_store import Manifest
from player.outbox import Outbox
from player.playback import Playback, plan_shas
from player.protocol import check_play_record
from player.regions import text_sha
from player.render.compose import ticker_geometry
from player.render.headless import HeadlessBackend
from playlists.clock import to_us
from playlists.layouts import Layout, LayoutSchedule, MainVariant, Region, TickerLine
from playlists.model import Item, Window

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SHORT, LONG = "停水通知", "明天九点至十七点全楼停水储水"
assert len(LONG) == 14
LINES = (TickerLine(41, 4, SHORT, True), TickerLine(42, 4, LONG, True))


def framed(lines: tuple[TickerLine, ...] = LINES, logo: Item | None = None,
           ticker: bool = True) -> Layout:
    regions = [Region("main", "main", 0, 0, 384, 172),
               Region("clock", "clock", 300, 0, 84, 20)]
    if ticker:
        regions.append(Region("ticker", "ticker", 0, 172, 336, 20, lines=lines, speed_cps=5.0))
    if logo is not None:
        regions.append(Region("logo", "image", 336, 172, 48, 20, image=logo))
    return Layout(1, "东和标准", 384, 192, tuple(regions))


def at(start: str, end: str) -> tuple[Window, ...]:
    return (Window(time.fromisoformat(start), time.fromisoformat(end)),)


class Screen(HeadlessBackend):
    """The headless backend, noting every frame it is given and what showed when."""

    def __init__(self, clock_now: Callable[[], datetime]) -> None:
        super().__init__((384, 192))
        self.now = clock_now
        self.frames: list[tuple[str, Layout | None, Layout | None, dict, dict]] = []
        self.calls: list[tuple[str, str]] = []
        self.clock: tuple[Callable[[], int], str] | None = None

    def set_clock(self, now_us: Callable[[], int], tz: str) -> None:
        self.clock = (now_us, tz)
        super().set_clock(now_us, tz)

    def show_layout(self, layout: Layout | None, overlay: Layout | None,
                    tickers: Mapping[str, Sequence[str]], images: Mapping[str, Path]) -> None:
        stamp = self.now().strftime("%H:%M:%S")
        self.frames.append((stamp, layout, overlay, dict(tickers), dict(images)))
        self.calls.append(("layout", stamp))
        super().show_layout(layout, overlay, tickers, images)

    def show_image(self, path: Path) -> None:
        self.calls.append(("image", path.name))
        super().show_image(path)

    def blank(self) -> None:
        self.calls.append(("blank", ""))
        super().blank()


class LayoutRig(Rig):
    def __init__(self, tmp_path: Path, start: datetime = T0) -> None:
        super().__init__(tmp_path, start)
        self.store = BroadcastStore(tmp_path)
        self.acks: list[int] = []
        self.backend = Screen(self.clock.now)
        self.pb = Playback(self.clock, self.backend, self.outbox,
                           blob_ready=self.ready.__contains__, blob_path=lambda s: self.dir / s,
                           name="Block 3 lobby", broadcasts=self.store,
                           on_broadcast_shown=self.acks.append)

    def records(self, end: datetime) -> list[tuple]:
        """Run to `end`; every record as (region, content_id, start, end, reason)."""
        self.clock.at(end, self.pb.stop)
        self.pb.run()
        return self.written(end)

    def written(self, now: datetime) -> list[tuple]:
        recs = self.outbox.batch(100_000)
        for r in recs:
            check_play_record(r, now=now)  # the server would accept every one
        return [(r["region"], r["content_id"], r["start"][11:19], r["end"][11:19],
                 r["reason"]) for r in recs]

    def send(self, when: datetime, raw: dict) -> None:
        def go() -> None:
            self.store.add(raw)
            self.pb.broadcasts_changed()
        self.clock.at(when, go)


def of(region: str, got: list[tuple]) -> list[tuple]:
    return [r[1:] for r in got if r[0] == region]


def secs(s: int) -> datetime:
    return T0 + timedelta(seconds=s)


def test_the_hand_model_is_the_backends_geometry() -> None:
    layout = framed()
    band = next(r for r in layout.regions if r.role == "ticker")
    assert ticker_geometry(layout, band, [SHORT, LONG, "台风预警"]) == (16, [64, 224, 64], 80.0)


# --- what frames the screen ----------------------------------------------------------------


def test_a_layout_in_its_window_frames_the_screen_and_the_main_region_plays_its_pages(
        tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    full, small, logo = rig.blob(1), rig.blob(2), rig.blob(9)
    logo_item = Item(9, logo, 10, 4, True)
    layout = framed(logo=logo_item)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 10, full))),
                         layouts=(LayoutSchedule(20, layout, windows=at("08:00:20",
                                                                        "08:00:40")),),
                         variants=(MainVariant(384, 172, (playlist(item(1, 10, small)),)),)))
    got = rig.records(secs(50))
    mains = [(r["start"][11:19], r["sha256"]) for r in rig.outbox.batch(100)
             if r["region"] == "main"]
    # the notice's pages for the 384 x 172 main region while the layout frames the screen
    assert mains == [("08:00:00", full), ("08:00:10", full), ("08:00:20", small),
                     ("08:00:30", small), ("08:00:40", full)]
    assert [f[:3] for f in rig.backend.frames] == [("08:00:20", layout, None),
                                                   ("08:00:40", None, None)]
    assert rig.backend.frames[0][3:] == ({"ticker": (SHORT, LONG)}, {logo: rig.dir / logo})
    assert rig.backend.frames[1][3:] == ({}, {})
    # the layout is set before the main region's first item shows in it
    i = rig.backend.calls.index(("layout", "08:00:20"))
    assert rig.backend.calls[i + 1] == ("image", small)
    # 08:00:20 is 8 s into a 12 s cycle: line 2's pass [17, 24) is joined at 20
    assert of("ticker", got) == [(42, "08:00:20", "08:00:24", "completed"),
                                 (41, "08:00:24", "08:00:29", "completed"),
                                 (42, "08:00:29", "08:00:36", "completed"),
                                 (41, "08:00:36", "08:00:40", "preempted")]
    assert of("image", got) == [(9, "08:00:20", "08:00:40", "preempted")]
    assert {r[0] for r in got} == {"main", "ticker", "image"}  # a clock is not recorded
    now_us, tz = rig.backend.clock  # type: ignore[misc]
    assert tz == "UTC" and now_us() == to_us(rig.clock.now())


def test_a_main_region_page_not_cached_yet_gives_way_like_any_missing_file(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    full, small, filler = rig.blob(1), rig.blob(2, cached=False), rig.blob(8)
    p = plan(sched(5, playlist(item(1, 10, full))),
             sched(6, playlist(item(8, 5, filler), pid=2), kind="filler"),
             layouts=(LayoutSchedule(20, framed()),),
             variants=(MainVariant(384, 172, (playlist(item(1, 10, small)),)),))
    assert {full, small, filler} <= plan_shas(p)
    rig.pb.set_plan(p)

    def arrives() -> None:
        rig.ready.add(small)
        rig.pb.cache_changed()

    rig.clock.at(secs(10), arrives)
    rig.records(secs(20))
    mains = [(r["start"][11:19], r["sha256"]) for r in rig.outbox.batch(100)
             if r["region"] == "main"]
    # never the full panel's page in the region: the filler until the region's page is here
    assert mains == [("08:00:00", filler), ("08:00:05", filler), ("08:00:10", small)]


def test_an_overlay_runs_over_the_full_frame_playlist(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a = rig.blob(1)
    band = Layout(2, "午间提示", 384, 192, (Region("t", "ticker", 0, 172, 336, 20, lines=LINES,
                                                    speed_cps=5.0),), overlay=True)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 30, a))),
                         layouts=(LayoutSchedule(30, band),)))
    got = rig.records(secs(13))
    assert [f[1:4] for f in rig.backend.frames] == [(None, band, {"t": (SHORT, LONG)})]
    assert of("ticker", got) == [(41, "08:00:00", "08:00:05", "completed"),
                                 (42, "08:00:05", "08:00:12", "completed"),
                                 (41, "08:00:12", "08:00:13", "shutdown")]
    assert of("main", got) == [(1, "08:00:00", "08:00:13", "shutdown")]


def test_an_overlay_ticker_keyed_like_the_layouts_keeps_its_own_lines(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a = rig.blob(1)
    band = Layout(2, "午间提示", 384, 192, (Region("ticker", "ticker", 0, 0, 336, 20,
                                                    lines=LINES[:1], speed_cps=5.0),),
                  overlay=True)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 30, a))),
                         layouts=(LayoutSchedule(20, framed(LINES[1:])),
                                  LayoutSchedule(30, band))))
    got = rig.records(secs(7))
    [(_, layout, overlay, tickers, _)] = rig.backend.frames
    assert [r.key for r in overlay.regions] == ["overlay_ticker"]
    assert tickers == {"ticker": (LONG,), "overlay_ticker": (SHORT,)}
    # each loops alone from the epoch: 5 s passes, and 7 s passes (T0 is 1,772,438,400 s,
    # 5 s past a multiple of 7: the pass under way at T0 ends at 08:00:02)
    assert sorted(of("ticker", got)) == [(41, "08:00:00", "08:00:05", "completed"),
                                         (41, "08:00:05", "08:00:07", "shutdown"),
                                         (42, "08:00:00", "08:00:02", "completed"),
                                         (42, "08:00:02", "08:00:07", "shutdown")]
    sids = {(r["content_id"], r["schedule_id"]) for r in rig.outbox.batch(100)}
    assert {(41, 30), (42, 20)} <= sids


def test_a_plan_without_layouts_never_frames_the_screen(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a, b = rig.blob(1), rig.blob(2)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 10, a), item(2, 20, b)))))
    got = rig.records(secs(40))
    assert rig.backend.frames == []
    assert got == [("main", 1, "08:00:00", "08:00:10", "completed"),
                   ("main", 2, "08:00:10", "08:00:30", "completed"),
                   ("main", 1, "08:00:30", "08:00:40", "completed")]
    assert rig.clock.sleeps <= 4  # no ticker: it wakes only for the main region


# --- ticker passes --------------------------------------------------------------------------


def test_each_pass_of_a_line_is_a_play_of_it(tmp_path) -> None:
    rig = LayoutRig(tmp_path, secs(2))
    a = rig.blob(1)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, framed()),)))
    got = rig.records(secs(30))
    # joined 2 s into line 1's pass: shown from then, and it ran to its end
    assert of("ticker", got) == [(41, "08:00:02", "08:00:05", "completed"),
                                 (42, "08:00:05", "08:00:12", "completed"),
                                 (41, "08:00:12", "08:00:17", "completed"),
                                 (42, "08:00:17", "08:00:24", "completed"),
                                 (41, "08:00:24", "08:00:29", "completed"),
                                 (42, "08:00:29", "08:00:30", "shutdown")]
    ticker = [r for r in rig.outbox.batch(100) if r["region"] == "ticker"]
    assert {(r["content_id"], r["sha256"], r["schedule_id"]) for r in ticker} == {
        (41, text_sha(SHORT), 20), (42, text_sha(LONG), 20)}
    # each pass was written as it ended, not at the stop
    assert rig.clock.sleeps >= 6


def test_a_line_whose_validity_ends_stops_scrolling(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a = rig.blob(1)
    lines = (LINES[0], TickerLine(42, 4, LONG, True, valid_until=secs(8)))
    layout = framed(lines)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, layout),)))
    got = rig.records(secs(20))
    # line 2 is cut at 08:00:08; line 1 alone loops every 5 s from the epoch
    assert of("ticker", got) == [(41, "08:00:00", "08:00:05", "completed"),
                                 (42, "08:00:05", "08:00:08", "preempted"),
                                 (41, "08:00:08", "08:00:10", "completed"),
                                 (41, "08:00:10", "08:00:15", "completed"),
                                 (41, "08:00:15", "08:00:20", "completed")]
    assert [(f[0], f[3]) for f in rig.backend.frames] == [
        ("08:00:00", {"ticker": (SHORT, LONG)}), ("08:00:08", {"ticker": (SHORT,)})]


def test_unapproved_lines_never_scroll_and_a_ticker_with_none_shows_its_background(
        tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a = rig.blob(1)
    pending = (TickerLine(43, 4, "待审核的通知", False),)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, framed(pending)),)))
    got = rig.records(secs(20))
    assert rig.backend.frames[0][3] == {"ticker": ()}
    assert of("ticker", got) == []


def test_reload_restarts_the_regions_too(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a, logo = rig.blob(1), rig.blob(9)
    layout = framed(logo=Item(9, logo, 10, 4, True))
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, layout),)))
    rig.clock.at(secs(3), rig.pb.reload)
    got = rig.records(secs(6))
    assert of("ticker", got) == [(41, "08:00:00", "08:00:03", "reload"),
                                 (41, "08:00:03", "08:00:05", "completed"),
                                 (42, "08:00:05", "08:00:06", "shutdown")]
    assert of("image", got) == [(9, "08:00:00", "08:00:03", "reload"),
                                (9, "08:00:03", "08:00:06", "shutdown")]
    assert [f[0] for f in rig.backend.frames] == ["08:00:00", "08:00:03"]  # framed anew


# --- broadcasts and the screen --------------------------------------------------------------


def test_a_ticker_broadcast_takes_over_the_ticker_region_and_is_recorded_there(
        tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a = rig.blob(1)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, framed()),)))
    # "台风预警": 4 characters, a 5 s pass like line 1
    rig.send(secs(3), bc(11, None, mode="ticker", start=secs(3), end=secs(20), text="台风预警"))
    got = rig.records(secs(24))
    assert of("ticker", got) == [(41, "08:00:00", "08:00:03", "broadcast"),
                                 (911, "08:00:03", "08:00:05", "completed"),
                                 (911, "08:00:05", "08:00:10", "completed"),
                                 (911, "08:00:10", "08:00:15", "completed"),
                                 (911, "08:00:15", "08:00:20", "completed"),
                                 (42, "08:00:20", "08:00:24", "completed")]
    warning = [r for r in rig.outbox.batch(100) if r["content_id"] == 911]
    assert {(r["sha256"], r["schedule_id"]) for r in warning} == {(text_sha("台风预警"), None)}
    assert [(f[0], f[3]) for f in rig.backend.frames] == [
        ("08:00:00", {"ticker": (SHORT, LONG)}), ("08:00:03", {"ticker": ("台风预警",)}),
        ("08:00:20", {"ticker": (SHORT, LONG)})]
    assert rig.backend.ticker is None and not [s for s in rig.backend.shown
                                               if s[0] == "ticker"]  # no bottom band
    assert rig.acks == [11]


def test_without_a_ticker_region_a_ticker_broadcast_runs_along_the_bottom(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a = rig.blob(1)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, framed(ticker=False)),)))
    rig.send(secs(3), bc(12, "c" * 64, mode="ticker", start=secs(3), end=secs(9)))
    got = rig.records(secs(10))
    assert of("ticker", got) == [(912, "08:00:03", "08:00:09", "completed")]
    assert ("ticker", "台风红色预警") in rig.backend.shown and rig.backend.ticker is None
    assert rig.outbox.batch(100)[0]["sha256"] == "c" * 64  # the payload's, as before layouts


def test_a_full_screen_broadcast_ends_every_regions_play(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a, logo, alert = rig.blob(1), rig.blob(9), rig.blob(3)
    layout = framed(logo=Item(9, logo, 10, 4, True))
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, layout),)))
    rig.send(secs(7), bc(7, alert, start=secs(7), end=secs(15), dur=8.0))
    got = rig.records(secs(20))
    assert of("ticker", got) == [(41, "08:00:00", "08:00:05", "completed"),
                                 (42, "08:00:05", "08:00:07", "broadcast"),
                                 (41, "08:00:15", "08:00:17", "completed"),
                                 (42, "08:00:17", "08:00:20", "shutdown")]
    assert of("image", got) == [(9, "08:00:00", "08:00:07", "broadcast"),
                                (9, "08:00:15", "08:00:20", "shutdown")]
    assert of("main", got) == [(1, "08:00:00", "08:00:07", "broadcast"),
                               (907, "08:00:07", "08:00:15", "completed"),
                               (1, "08:00:15", "08:00:20", "shutdown")]
    # full-frame before the broadcast shows, the layout again after it
    i = rig.backend.calls.index(("image", alert))
    assert rig.backend.calls[i - 1] == ("layout", "08:00:07")
    assert [f[1] for f in rig.backend.frames] == [layout, None, layout]


def test_screen_off_ends_every_regions_play(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a, logo = rig.blob(1), rig.blob(9)
    layout = framed(logo=Item(9, logo, 10, 4, True))
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a))),
                         layouts=(LayoutSchedule(20, layout),),
                         screen_plans=(screen(1, False, "08:00:10", "08:00:20"),)))
    got = rig.records(secs(24))
    assert of("ticker", got) == [(41, "08:00:00", "08:00:05", "completed"),
                                 (42, "08:00:05", "08:00:10", "screen_off"),
                                 (42, "08:00:20", "08:00:24", "completed")]
    assert of("image", got) == [(9, "08:00:00", "08:00:10", "screen_off"),
                                (9, "08:00:20", "08:00:24", "shutdown")]
    assert [(f[0], f[1]) for f in rig.backend.frames] == [
        ("08:00:00", layout), ("08:00:10", None), ("08:00:20", layout)]
    i = rig.backend.calls.index(("blank", ""))
    assert rig.backend.calls[i - 1] == ("layout", "08:00:10")


# --- image regions --------------------------------------------------------------------------


def test_an_image_region_is_written_hour_by_hour_while_it_shows(tmp_path) -> None:
    rig = LayoutRig(tmp_path, utc(2026, 3, 2, 8, 59))
    a, logo = rig.blob(1), rig.blob(9)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 7200, a))),  # 08:00-10:00
                         layouts=(LayoutSchedule(20, framed(logo=Item(9, logo, 10, 4, True),
                                                            ticker=False)),)))
    seen: list[list[tuple]] = []
    rig.clock.at(utc(2026, 3, 2, 9, 0, 30), lambda: seen.append(
        of("image", rig.written(utc(2026, 3, 2, 9, 0, 30)))))
    got = rig.records(utc(2026, 3, 2, 9, 1))
    assert seen == [[(9, "08:59:00", "09:00:00", "completed")]]  # on disk as the hour closed
    assert of("image", got) == [(9, "08:59:00", "09:00:00", "completed"),
                                (9, "09:00:00", "09:01:00", "shutdown")]


def test_an_image_not_cached_yet_shows_the_background_and_is_not_recorded(tmp_path) -> None:
    rig = LayoutRig(tmp_path)
    a, logo = rig.blob(1), rig.blob(9, cached=False)
    layout = framed(logo=Item(9, logo, 10, 4, True), ticker=False)
    p = plan(sched(5, playlist(item(1, 60, a))), layouts=(LayoutSchedule(20, layout),))
    assert logo in plan_shas(p)
    rig.pb.set_plan(p)

    def arrives() -> None:
        rig.ready.add(logo)
        rig.pb.cache_changed()

    rig.clock.at(secs(12), arrives)
    got = rig.records(secs(20))
    assert [(f[0], f[4]) for f in rig.backend.frames] == [
        ("08:00:00", {}), ("08:00:12", {logo: rig.dir / logo})]
    assert of("image", got) == [(9, "08:00:12", "08:00:20", "shutdown")]
    assert of("main", got) == [(1, "08:00:00", "08:00:20", "shutdown")]  # never cut


def test_the_terminal_downloads_a_layouts_image(tmp_path) -> None:
    from player.terminal import Terminal

    logo = "9" * 64
    p = plan(sched(5, playlist(item(1, 60, "1" * 64))),
             layouts=(LayoutSchedule(20, framed(logo=Item(9, logo, 10, 4, True))),))
    m = Manifest.from_dict({"version": 1, "terminal": {"id": 1, "width": 384, "height": 192},
                            "plan": p.to_dict(),
                            "blobs": [{"sha256": "1" * 64, "size": 10, "mime": "image/png"},
                                      {"sha256": logo, "size": 20, "mime": "image/png"}]})
    t = Terminal("http://127.0.0.1:9", tmp_path, credential="cred", size=(384, 192))
    try:
        assert set(t.wanted_blobs(m, T0)) == {("1" * 64, 10), (logo, 20)}
    finally:
        t.stop()


# --- kill and restart -----------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import os, sys
    from datetime import timedelta
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from test_player_layout_playback import LayoutRig, framed, secs
    from player_helpers import item, plan, playlist, sched
    from playlists.layouts import LayoutSchedule
    rig = LayoutRig(Path(sys.argv[1]))
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 10, rig.blob(1)))),
                         layouts=(LayoutSchedule(20, framed()),)))
    rig.clock.at(secs(20), lambda: os._exit(9))  # killed: nothing closes, nothing flushes
    rig.pb.run()
""")


def test_region_records_survive_a_kill_and_the_restart_goes_on(tmp_path) -> None:
    r = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), str(HERE)], cwd=ROOT,
                       timeout=120)
    assert r.returncode == 9
    box = Outbox(tmp_path)
    got = [(x["region"], x["content_id"], x["start"][11:19], x["end"][11:19], x["reason"])
           for x in box.batch(100)]
    box.close()
    # everything written as it ended is there: passes to 17 s, the first 10 s item
    assert sorted(got) == [("main", 1, "08:00:00", "08:00:10", "completed"),
                           ("ticker", 41, "08:00:00", "08:00:05", "completed"),
                           ("ticker", 41, "08:00:12", "08:00:17", "completed"),
                           ("ticker", 42, "08:00:05", "08:00:12", "completed")]
    os.rename(tmp_path / "blobs", tmp_path / "old_blobs")  # the new rig makes its own
    rig = LayoutRig(tmp_path, secs(22))
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 10, rig.blob(1)))),
                         layouts=(LayoutSchedule(20, framed()),)))
    after = rig.records(secs(30))
    assert after[:4] == got
    assert of("ticker", after[4:]) == [(42, "08:00:22", "08:00:24", "completed"),
                                       (41, "08:00:24", "08:00:29", "completed"),
                                       (42, "08:00:29", "08:00:30", "shutdown")]
