"""The playback loop on a simulated clock: exact seconds, no waiting."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from player_helpers import item, plan, playlist, png, sched, screen, sha, utc

from player.clock import SimClock
from player.outbox import Outbox
from player.playback import Playback
from player.protocol import check_play_record
from player.render.headless import HeadlessBackend

T0 = utc(2026, 3, 2, 8, 0, 0)  # a Monday


class Rig:
    """A playback loop with real images on disk, a real outbox and a headless screen."""

    def __init__(self, tmp_path: Path, start: datetime = T0) -> None:
        self.dir = tmp_path / "blobs"
        self.dir.mkdir()
        self.ready: set[str] = set()
        self.clock = SimClock(start)
        self.outbox = Outbox(tmp_path)
        self.backend = HeadlessBackend((64, 32))
        self.pb = Playback(self.clock, self.backend, self.outbox, blob_ready=self.ready.__contains__,
                           blob_path=lambda s: self.dir / s, name="Block 3 lobby")

    def blob(self, cid: int, cached: bool = True) -> str:
        data = png(((cid * 40) % 256, 200, 30))
        h = sha(data)
        (self.dir / h).write_bytes(data)
        if cached:
            self.ready.add(h)
        return h

    def run_until(self, end: datetime) -> list[tuple]:
        self.clock.at(end, self.pb.stop)
        self.pb.run()
        recs = self.outbox.batch(100_000)
        for r in recs:
            check_play_record(r, now=end)  # the server would accept every one
        return [(r["content_id"], r["start"][11:19], r["end"][11:19], r["reason"]) for r in recs]


def test_plays_recorded_with_exact_seconds(tmp_path) -> None:
    rig = Rig(tmp_path)
    a, b = rig.blob(1), rig.blob(2)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 10, a), item(2, 20, b)))))
    got = rig.run_until(T0 + timedelta(seconds=55))
    assert got == [(1, "08:00:00", "08:00:10", "completed"),
                   (2, "08:00:10", "08:00:30", "completed"),
                   (1, "08:00:30", "08:00:40", "completed"),
                   (2, "08:00:40", "08:00:55", "shutdown")]
    assert rig.outbox.batch(1)[0]["schedule_id"] == 5
    assert rig.outbox.totals()["recorded_s"] == 55
    assert rig.clock.sleeps <= 5  # it woke only when something changed


def test_a_day_of_plays_adds_up_to_the_day(tmp_path) -> None:
    rig = Rig(tmp_path, utc(2026, 3, 2, 0, 0))
    a, b = rig.blob(1), rig.blob(2)
    rig.pb.set_plan(plan(sched(1, playlist(item(1, 7, a), item(2, 13.5, b)))))
    rig.run_until(utc(2026, 3, 3, 0, 0))
    recs = rig.outbox.batch(100_000)  # run_until checked each with check_play_record
    assert rig.outbox.totals()["recorded_s"] == pytest.approx(86_400, abs=1e-6)
    # one wake per item change (the loop never polls)
    assert rig.clock.sleeps <= len(recs) + 2


def test_plays_split_at_hour_boundaries(tmp_path) -> None:
    rig = Rig(tmp_path, utc(2026, 3, 2, 8, 55))
    a = rig.blob(1)
    rig.pb.set_plan(plan(sched(1, playlist(item(1, 600, a)), windows=(("08:55", "12:00"),))))
    got = rig.run_until(utc(2026, 3, 2, 10, 2))
    assert got[:2] == [(1, "08:55:00", "09:00:00", "completed"),
                       (1, "09:00:00", "09:05:00", "completed")]
    assert got[-2:] == [(1, "09:55:00", "10:00:00", "shutdown"),
                        (1, "10:00:00", "10:02:00", "shutdown")]
    assert rig.outbox.totals()["recorded_s"] == 67 * 60


def test_screen_off_is_not_play_time_and_blanks(tmp_path) -> None:
    rig = Rig(tmp_path)
    a, b = rig.blob(1), rig.blob(2)
    p = plan(sched(1, playlist(item(1, 10, a), item(2, 20, b))),
             screen_plans=(screen(1, False, "08:00:25", "08:01:00", priority=5),))
    rig.pb.set_plan(p)
    rig.clock.at(T0 + timedelta(seconds=40),
                 lambda: rig.backend.current_frame().getextrema() == ((0, 0),) * 3
                 and rig.seen.append("black"))
    rig.seen = []  # type: ignore[attr-defined]
    got = rig.run_until(T0 + timedelta(seconds=75))
    # 08:01:00 is 60 s into the 30 s loop: item 1 again, from its start, until 08:01:10
    assert got == [(1, "08:00:00", "08:00:10", "completed"),
                   (2, "08:00:10", "08:00:25", "screen_off"),
                   (1, "08:01:00", "08:01:10", "completed"),
                   (2, "08:01:10", "08:01:15", "shutdown")]
    assert rig.seen == ["black"]  # type: ignore[attr-defined]
    assert ("blank", "") in rig.backend.shown


def test_screen_on_mid_item_records_only_the_visible_part(tmp_path) -> None:
    rig = Rig(tmp_path)
    a = rig.blob(1)
    p = plan(sched(1, playlist(item(1, 60, a))),
             screen_plans=(screen(1, False, "07:00", "08:00:20", priority=5),))
    rig.pb.set_plan(p)
    got = rig.run_until(T0 + timedelta(seconds=90))
    assert got == [(1, "08:00:20", "08:01:00", "completed"),
                   (1, "08:01:00", "08:01:30", "shutdown")]


def test_item_not_cached_gives_way_to_the_filler(tmp_path) -> None:
    rig = Rig(tmp_path)
    missing, filler = rig.blob(1, cached=False), rig.blob(9)
    p = plan(sched(1, playlist(item(1, 10, missing))),
             sched(2, playlist(item(9, 5, filler), pid=2), kind="filler"))
    rig.pb.set_plan(p)

    def arrives() -> None:
        rig.ready.add(missing)
        rig.pb.cache_changed()

    rig.clock.at(T0 + timedelta(seconds=12), arrives)
    got = rig.run_until(T0 + timedelta(seconds=30))
    assert got[:3] == [(9, "08:00:00", "08:00:05", "completed"),
                       (9, "08:00:05", "08:00:10", "completed"),
                       (9, "08:00:10", "08:00:12", "preempted")]
    # then the normal schedule, in its own phase (10 s loop from midnight: 08:00:12 is 2 s in)
    assert got[3:] == [(1, "08:00:12", "08:00:20", "completed"),
                       (1, "08:00:20", "08:00:30", "completed")]  # its natural end


def test_nothing_playable_shows_the_builtin_screen_never_black(tmp_path) -> None:
    rig = Rig(tmp_path)
    missing = rig.blob(1, cached=False)
    rig.pb.set_plan(plan(sched(1, playlist(item(1, 10, missing))),
                         fallback=playlist(item(2, 10, rig.blob(2, cached=False)), pid=900)))
    frames = []
    rig.clock.at(T0 + timedelta(seconds=5), lambda: frames.append(rig.backend.screenshot()))
    assert rig.run_until(T0 + timedelta(seconds=60)) == []
    assert list(rig.backend.shown) == [("text", "Block 3 lobby")]
    img = Image.open(io.BytesIO(frames[0])).convert("RGB")
    assert img.size == (64, 32)
    assert max(hi for _, hi in img.getextrema()) > 0


def test_no_manifest_yet_shows_the_builtin_screen(tmp_path) -> None:
    rig = Rig(tmp_path)
    assert rig.run_until(T0 + timedelta(seconds=60)) == []
    assert rig.backend.shown[0] == ("text", "Block 3 lobby")


def test_interrupt_cuts_a_play_short_as_preempted(tmp_path) -> None:
    rig = Rig(tmp_path)
    a, n = rig.blob(1), rig.blob(7)
    p = plan(sched(1, playlist(item(1, 30, a))),
             sched(2, playlist(item(7, 5, n), pid=2), kind="interrupt",
                   windows=(("08:00:15", "08:00:25"),)))
    rig.pb.set_plan(p)
    got = rig.run_until(T0 + timedelta(seconds=40))
    assert got == [(1, "08:00:00", "08:00:15", "preempted"),
                   (7, "08:00:15", "08:00:20", "completed"),
                   (7, "08:00:20", "08:00:25", "completed"),
                   (1, "08:00:25", "08:00:30", "completed"),  # resumed in its own phase
                   (1, "08:00:30", "08:00:40", "shutdown")]


def test_reload_cuts_and_restarts(tmp_path) -> None:
    rig = Rig(tmp_path)
    a = rig.blob(1)
    rig.pb.set_plan(plan(sched(1, playlist(item(1, 30, a)))))
    rig.clock.at(T0 + timedelta(seconds=12), rig.pb.reload)
    got = rig.run_until(T0 + timedelta(seconds=40))
    assert got == [(1, "08:00:00", "08:00:12", "reload"),
                   (1, "08:00:12", "08:00:30", "completed"),
                   (1, "08:00:30", "08:00:40", "shutdown")]
    assert [s for s in rig.backend.shown if s[0] == "image"].__len__() == 3


def test_new_manifest_keeps_an_unchanged_play_going(tmp_path) -> None:
    rig = Rig(tmp_path)
    a = rig.blob(1)
    p = plan(sched(1, playlist(item(1, 30, a))))
    rig.clock.at(T0 + timedelta(seconds=10), lambda: rig.pb.set_plan(p))  # same plan again
    rig.pb.set_plan(p)
    got = rig.run_until(T0 + timedelta(seconds=30))
    assert got == [(1, "08:00:00", "08:00:30", "completed")]
    assert len(rig.backend.shown) == 1


def test_screen_command_overrides_the_plan(tmp_path) -> None:
    rig = Rig(tmp_path)
    a = rig.blob(1)
    rig.pb.set_plan(plan(sched(1, playlist(item(1, 30, a)))))
    rig.clock.at(T0 + timedelta(seconds=5), lambda: rig.pb.override_screen(on=False))
    rig.clock.at(T0 + timedelta(seconds=20), lambda: (rig.pb.override_screen(None),
                                                       rig.pb.override_brightness(40)))
    got = rig.run_until(T0 + timedelta(seconds=30))
    assert got == [(1, "08:00:00", "08:00:05", "screen_off"),
                   (1, "08:00:20", "08:00:30", "completed")]
    assert rig.pb.brightness == 40 and rig.backend.brightness == 40


def test_video_joined_mid_way_starts_mid_clip(tmp_path) -> None:
    calls = []

    class Recording(HeadlessBackend):
        def show_video(self, path: Path, offset_s: float = 0.0) -> None:
            calls.append(offset_s)
            super().show_video(path, offset_s)

    rig = Rig(tmp_path, T0 + timedelta(seconds=7.5))
    rig.backend = rig.pb.backend = Recording((64, 32))
    v = rig.blob(3)
    rig.pb.set_plan(plan(sched(1, playlist(item(3, 10, v, media="video")))))
    got = rig.run_until(T0 + timedelta(seconds=20))
    assert calls == [7.5, 0.0]
    assert got[0] == (3, "08:00:07", "08:00:10", "completed")
    assert rig.outbox.batch(1)[0]["start"] == "2026-03-02T08:00:07.500000Z"


def test_undecodable_blob_is_skipped_not_fatal(tmp_path) -> None:
    rig = Rig(tmp_path)
    bad = b"this is not an image"
    (rig.dir / sha(bad)).write_bytes(bad)
    rig.ready.add(sha(bad))
    good = rig.blob(2)
    rig.pb.set_plan(plan(sched(1, playlist(item(1, 10, sha(bad)), item(2, 10, good)))))
    got = rig.run_until(T0 + timedelta(seconds=30))
    # the bad one is skipped from then on; the good one loops on its own
    assert got == [(2, "08:00:00", "08:00:10", "completed"),
                   (2, "08:00:10", "08:00:20", "completed"),
                   (2, "08:00:20", "08:00:30", "completed")]


def test_a_failing_turn_is_retried_not_fatal(tmp_path) -> None:
    class Flaky(HeadlessBackend):
        fails = 2

        def show_text(self, title: str, lines=()) -> None:  # type: ignore[override]
            if self.fails:
                self.fails -= 1
                raise OSError("display hiccup")
            super().show_text(title, lines)

    rig = Rig(tmp_path)
    rig.backend = rig.pb.backend = Flaky((64, 32))
    rig.run_until(T0 + timedelta(seconds=10))
    assert list(rig.backend.shown) == [("text", "Block 3 lobby")]
    assert rig.backend.fails == 0


def test_a_scroll_strip_item_scrolls(tmp_path) -> None:
    rig = Rig(tmp_path)
    strip = rig.blob(1)
    rig.pb.set_plan(plan(sched(1, playlist(item(1, 12, strip, media="text")))))
    got = rig.run_until(T0 + timedelta(seconds=12))
    assert got == [(1, "08:00:00", "08:00:12", "completed")]
    assert ("scroll", strip) in rig.backend.shown
