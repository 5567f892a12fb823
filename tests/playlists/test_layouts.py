"""Layouts: checks, fitting to panel sizes, and the resolver's answer per region (hand-computed)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from playlists import Item, Playlist, Schedule, TerminalPlan, Window, planned_by_hour
from playlists.clock import US, from_us, to_us
from playlists.layouts import (
    Layout,
    LayoutSchedule,
    MainVariant,
    Region,
    TickerLine,
    check_layout,
    clock_text,
    fit,
    live_lines,
    next_line_edge,
    ticker_position,
)
from playlists.resolver import blobs_needed, compile_plan

SH = ZoneInfo("Asia/Shanghai")
LOGO = "b" * 64
STANDARD = Layout(1, "东和标准", 384, 192, (
    Region("title", "image", 0, 0, 384, 24, image=Item(9, LOGO, 1, 1, True)),
    Region("main", "main", 0, 24, 384, 144),
    Region("clock", "clock", 264, 0, 120, 24),
    Region("ticker", "ticker", 0, 168, 384, 24,
           lines=(TickerLine(5, 1, "今日14:00-18:00停水", True),)),
))


def local(h: int, m: int = 0, s: int = 0) -> int:
    return to_us(datetime(2026, 12, 7, h, m, s, tzinfo=SH))


def rects(layout: Layout) -> dict[str, tuple[int, int, int, int]]:
    return {r.key: r.rect for r in layout.regions}


def codes(warnings) -> set[tuple[str, str]]:
    return {(w.code, w.region) for w in warnings}


# --- checks ---------------------------------------------------------------------------------


def test_a_drawn_layout_is_checked_region_by_region() -> None:
    assert check_layout(STANDARD) == []
    bad = Layout(2, "x", 384, 192, (
        Region("main", "main", 0, 0, 384, 100),
        Region("main", "ticker", 0, 150, 400, 60, speed_cps=99, fg="red"),
        Region("Up", "weather", 0, 0, 10, 10),
    ))
    found = {(p.code, p.region) for p in check_layout(bad)}
    assert found == {("key_duplicate", "main"), ("outside_canvas", "main"),
                     ("speed_out_of_range", "main"), ("colour_invalid", "main"),
                     ("key_invalid", "Up"), ("role_unknown", "Up")}
    no_main = Layout(3, "x", 384, 192, (Region("t", "ticker", 0, 0, 384, 24),))
    assert [p.code for p in check_layout(no_main)] == ["main_count"]
    overlay = Layout(4, "x", 384, 192, (Region("main", "main", 0, 0, 384, 192),), overlay=True)
    assert [p.code for p in check_layout(overlay)] == ["overlay_main"]


# --- fitting --------------------------------------------------------------------------------


def test_on_its_own_canvas_only_the_clock_shortens() -> None:
    # 22 px text in a 120 px box: "12月30日 星期三 23:59" needs 11 x 11 + 5 x 22 = 231 px,
    # the date alone 5 x 11 + 5 x 22 = 165 px; the time, 5 x 11 = 55 px, fits.
    fitted, warnings = fit(STANDARD, 384, 192)
    assert rects(fitted) == rects(STANDARD)
    assert codes(warnings) == {("short_format", "clock")}
    assert {r.key: r.clock_format for r in fitted.regions}["clock"] == "time"


def test_a_gate_strip_scales_every_edge_and_keeps_the_long_clock() -> None:
    fitted, warnings = fit(STANDARD, 1920, 320)
    assert rects(fitted) == {"title": (0, 0, 1920, 40), "main": (0, 40, 1920, 240),
                             "clock": (1320, 0, 600, 40), "ticker": (0, 280, 1920, 40)}
    assert warnings == []  # 38 px text: 11 x 19 + 5 x 38 = 399 px of 600
    assert not fitted.mono


def test_a_small_mono_module_grows_text_to_12_px_and_the_main_region_gives_way() -> None:
    fitted, warnings = fit(STANDARD, 128, 64, mono=True)
    # A third of everything. The title image goes (one bit per pixel), and the main region
    # takes its rows (0-8); the ticker (8 px) grows up from the bottom edge to 12 px and the
    # main region gives up those rows; the clock grows down from the top to 12 px, over the
    # main's top edge where the drawing had them apart, so the main starts below it: a
    # notice's first line is never under the clock.
    assert rects(fitted) == {"main": (0, 12, 128, 40), "clock": (88, 0, 40, 12),
                             "ticker": (0, 52, 128, 12)}
    assert codes(warnings) == {("dropped", "title"), ("grown", "clock"), ("grown", "ticker"),
                               ("short_format", "clock")}
    details = {w.region: w.detail for w in warnings if w.code in ("grown", "dropped")}
    assert details == {"title": {"why": "mono"}, "clock": {"from": 8, "to": 12},
                       "ticker": {"from": 8, "to": 12}}
    assert fitted.mono and (fitted.width, fitted.height) == (128, 64)
    # The same panel in full colour keeps the title bar.
    assert "title" in rects(fit(STANDARD, 128, 64)[0])


def test_regions_go_images_first_when_the_main_region_would_shrink_below_half() -> None:
    crowded = Layout(5, "挤", 384, 192, (
        Region("logo", "image", 0, 0, 384, 48),
        Region("clock", "clock", 0, 48, 384, 24),
        Region("main", "main", 0, 72, 384, 96),
        Region("ticker", "ticker", 0, 168, 384, 24),
    ))
    # Here the main region has 96 of 192 rows: exactly half, nothing goes.
    assert [w.code for w in fit(crowded, 384, 192)[1]] == []
    # On 128 x 64: logo 0-16; the 8 px clock (16-24) grows to 12 about its middle, 14-26;
    # main 24-56; the ticker grows up from the bottom, 52-64. The main keeps 26-52: 26 rows,
    # under half of 64. The logo goes first (it does not touch the main: no rows gained),
    # then the clock, whose rows the main takes, and then the logo's too (now touching):
    # 0-52, 52 rows. The ticker stays.
    fitted, warnings = fit(crowded, 128, 64)
    assert [(w.code, w.region) for w in warnings if w.code == "dropped"] == [
        ("dropped", "logo"), ("dropped", "clock")]
    assert rects(fitted) == {"main": (0, 0, 128, 52), "ticker": (0, 52, 128, 12)}


def test_a_clock_too_narrow_for_even_the_time_is_dropped() -> None:
    narrow = Layout(6, "窄", 384, 192, (
        Region("main", "main", 0, 0, 384, 192),
        Region("clock", "clock", 360, 0, 24, 24),
    ))
    fitted, warnings = fit(narrow, 384, 192)
    assert "clock" not in rects(fitted)
    assert [(w.code, w.region, w.detail) for w in warnings] == [
        ("dropped", "clock", {"why": "too_narrow"})]


# --- text -----------------------------------------------------------------------------------


def test_the_clock_speaks_chinese() -> None:
    at = datetime(2026, 12, 6, 18, 49)  # a Sunday
    assert clock_text("datetime", at) == "12月6日 星期日 18:49"
    assert clock_text("date", at) == "12月6日 星期日"
    assert clock_text("time", at) == "18:49"


def test_ticker_passes_loop_from_the_epoch() -> None:
    # Lines 300 and 200 px wide in a 384 px band at 60 px/s: passes of 684/60 = 11.4 s
    # and 584/60 = 9.7333 s, a cycle of 21.1333 s that starts at the epoch.
    assert ticker_position([300, 200], 384, 60.0, 5 * US) == (0, 384 - 300, 0, 11_400_000)
    assert ticker_position([300, 200], 384, 60.0, 12 * US) == (1, 384 - 36, 11_400_000,
                                                               21_133_333)
    cycle = 21_133_333
    assert ticker_position([300, 200], 384, 60.0, cycle + 5 * US) == (
        0, 84, cycle, cycle + 11_400_000)


def test_ticker_lines_live_by_approval_and_validity() -> None:
    noon = datetime(2026, 12, 7, 4, tzinfo=UTC)
    region = Region("t", "ticker", 0, 0, 100, 16, lines=(
        TickerLine(1, 1, "停水", True, valid_until=noon),
        TickerLine(2, 1, "待审", False),
        TickerLine(3, 1, "   ", True),
        TickerLine(4, 1, "疫苗接种", True, valid_from=noon),
    ))
    before = to_us(noon) - US
    assert [x.content_id for x in live_lines(region, before)] == [1]
    assert [x.content_id for x in live_lines(region, to_us(noon))] == [4]
    layout = Layout(1, "x", 100, 16, (region,), overlay=True)
    assert next_line_edge(layout, before) == to_us(noon)
    assert next_line_edge(layout, to_us(noon)) > 2**61  # none left


# --- the resolver with layouts --------------------------------------------------------------


def item(cid: int, seconds: float, sha: str = "a" * 64) -> Item:
    return Item(cid, sha, seconds, 1, True)


MAIN = Playlist(1, "通知", (item(1, 10), item(2, 10)))
# The same playlist in a 384 x 160 main region: notice 1 needs two pages of 5 s there.
MAIN_AT_160 = Playlist(1, "通知", (item(1, 5), item(1, 5, "c" * 64), item(2, 10)))
FRAMED = Layout(1, "字幕", 384, 192, (Region("main", "main", 0, 0, 384, 160),
                                      Region("t", "ticker", 0, 160, 384, 32)))
OVERLAY = Layout(2, "午间提示", 384, 192, (Region("t", "ticker", 0, 168, 384, 24),),
                 overlay=True)
OTHER = Layout(3, "节日", 384, 192, (Region("main", "main", 0, 0, 384, 192),))
PLAN = TerminalPlan(
    7, schedules=(Schedule(1, MAIN),),
    layouts=(LayoutSchedule(10, FRAMED, windows=(Window(time(8), time(20)),)),
             LayoutSchedule(11, OVERLAY, priority=5, windows=(Window(time(12), time(13)),)),
             LayoutSchedule(12, OTHER, priority=1, windows=(Window(time(18), time(19)),))),
    variants=(MainVariant(384, 160, (MAIN_AT_160,)),))


def test_the_layout_and_the_overlay_in_force_are_answered_apart() -> None:
    c = compile_plan(PLAN)

    def frame(t: int) -> tuple[int | None, int | None, datetime]:
        layout, overlay, change = c.frame_us(t)
        return (layout and layout.id, overlay and overlay.id, from_us(change))

    assert frame(local(7)) == (None, None, from_us(local(8)))
    assert frame(local(9)) == (10, None, from_us(local(12)))
    assert frame(local(12, 30)) == (10, 11, from_us(local(13)))
    # 18:00-19:00 two layouts hold; the higher priority frames the screen.
    assert frame(local(18, 30)) == (12, None, from_us(local(19)))
    assert frame(local(19, 30)) == (10, None, from_us(local(20)))


def test_equal_priorities_pick_the_lower_id() -> None:
    twin = LayoutSchedule(9, OTHER, windows=(Window(time(8), time(20)),))
    plan = TerminalPlan(7, schedules=(Schedule(1, MAIN),), layouts=(PLAN.layouts[0], twin))
    layout, _overlay, _change = compile_plan(plan).frame_us(local(9))
    assert layout is twin


def test_the_main_region_plays_its_sizes_pages_while_the_layout_frames_it() -> None:
    c = compile_plan(PLAN)
    # 07:00:03, full-frame: item 1 (0-10 s of the 20 s cycle from midnight).
    r = c.resolve_us(local(7, 0, 3))
    assert (r.item.content_id, r.item.sha256, r.item_end_us) == (1, "a" * 64, local(7, 0, 10))
    # 07:59:55: item 2 would run to 08:00:00, exactly when the layout starts.
    assert c.resolve_us(local(7, 59, 55)).valid_until_us == local(8)
    # 08:00:07 inside the layout: the 5 s pages, anchored at midnight too (a 20 s cycle):
    # page 1 0-5 s, page 2 5-10 s, item 2 10-20 s.
    r = c.resolve_us(local(8, 0, 7))
    assert (r.item.content_id, r.item.sha256, r.item_start_us) == (1, "c" * 64, local(8, 0, 5))
    # 18:30 the other layout's main region is full size: no variant, the panel's pages.
    r = c.resolve_us(local(18, 30, 3))
    assert (r.item.content_id, r.item.sha256) == (1, "a" * 64)


def test_planned_time_follows_the_main_regions_pages() -> None:
    start = datetime(2026, 12, 7, 7, tzinfo=SH)
    planned = planned_by_hour(PLAN, start, datetime(2026, 12, 7, 9, tzinfo=SH))
    h7, h8 = start.astimezone(UTC), datetime(2026, 12, 7, 8, tzinfo=SH).astimezone(UTC)
    # Per content, a notice's pages add up: 1800 s each either way, here.
    assert planned == {(h7, 1, 1): 1800.0, (h7, 2, 1): 1800.0,
                       (h8, 1, 1): 1800.0, (h8, 2, 1): 1800.0}


def test_a_plan_with_layouts_round_trips_and_one_without_keeps_its_old_shape() -> None:
    plan = TerminalPlan(7, schedules=(Schedule(1, MAIN),),
                        layouts=(LayoutSchedule(10, STANDARD),))
    again = TerminalPlan.from_dict(plan.to_dict())
    assert again == plan
    plain = TerminalPlan(7, schedules=(Schedule(1, MAIN),)).to_dict()
    assert "layouts" not in plain and "variants" not in plain


def test_a_layouts_image_is_a_blob_the_terminal_keeps() -> None:
    plan = TerminalPlan(7, schedules=(Schedule(1, MAIN),),
                        layouts=(LayoutSchedule(10, STANDARD),))
    lo, hi = datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC)
    assert blobs_needed(plan, lo, hi) == {"a" * 64, LOGO}


def test_a_box_drawn_over_the_main_region_stays_over_it() -> None:
    corner = Layout(7, "角落时钟", 384, 192, (Region("main", "main", 0, 0, 384, 192),
                                             Region("clock", "clock", 284, 0, 100, 8)))
    fitted, _warnings = fit(corner, 384, 192)
    assert rects(fitted) == {"main": (0, 0, 384, 192), "clock": (284, 0, 100, 16)}


@pytest.mark.parametrize("size", [(128, 64), (192, 96), (384, 192), (1920, 320), (256, 128)])
def test_every_panel_size_keeps_one_main_region_inside_the_panel(size) -> None:
    fitted, _warnings = fit(STANDARD, *size)
    w, h = size
    assert [r.role for r in fitted.regions].count("main") == 1
    for r in fitted.regions:
        assert r.x >= 0 and r.y >= 0 and r.x + r.w <= w and r.y + r.h <= h, r
