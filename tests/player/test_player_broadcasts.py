"""Emergency broadcasts in the player: over the schedule, in cycles, recorded, acknowledged
once, kept across restarts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from player_helpers import item, plan, playlist, sched, utc
from test_player_playback import T0, Rig

from player.broadcasts import BroadcastStore
from player.playback import Playback
from player.protocol import iso


def bc(bid: int, sha: str | None, *, mode: str = "full", start=T0, end=None, dur=10.0,
       text: str = "台风红色预警") -> dict:
    return {"id": bid, "mode": mode, "content_id": 900 + bid, "topic_id": 9, "sha256": sha,
            "size": 10, "media": "image", "duration_s": dur, "text": text,
            "starts_at": iso(start), "ends_at": iso(end) if end else None}


class BroadcastRig(Rig):
    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.store = BroadcastStore(tmp_path)
        self.shown: list[int] = []
        self.pb = Playback(self.clock, self.backend, self.outbox,
                           blob_ready=self.ready.__contains__, blob_path=lambda s: self.dir / s,
                           name="Block 3 lobby", broadcasts=self.store,
                           on_broadcast_shown=self.shown.append)

    def send(self, at, raw: dict) -> None:
        def go() -> None:
            self.store.add(raw)
            self.pb.broadcasts_changed()
        self.clock.at(at, go)

    def cancel(self, at, bid: int) -> None:
        def go() -> None:
            self.store.end(bid)
            self.pb.broadcasts_changed()
        self.clock.at(at, go)


def test_full_broadcast_cuts_the_schedule_plays_in_cycles_and_ends_on_time(tmp_path) -> None:
    rig = BroadcastRig(tmp_path)
    a, b, alert = rig.blob(1), rig.blob(2), rig.blob(3)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 10, a), item(2, 20, b)))))
    rig.send(T0 + timedelta(seconds=15),
             bc(7, alert, start=T0 + timedelta(seconds=15), end=T0 + timedelta(seconds=40)))
    got = rig.run_until(T0 + timedelta(seconds=55))
    assert got == [(1, "08:00:00", "08:00:10", "completed"),
                   (2, "08:00:10", "08:00:15", "broadcast"),
                   (907, "08:00:15", "08:00:25", "completed"),
                   (907, "08:00:25", "08:00:35", "completed"),
                   (907, "08:00:35", "08:00:40", "completed"),
                   (2, "08:00:40", "08:00:55", "shutdown")]
    assert set(rig.shown) == {7}  # acknowledged through the store, which keeps it once
    assert ("image", alert) in rig.backend.shown


def test_cancel_returns_to_the_schedule_at_once(tmp_path) -> None:
    rig = BroadcastRig(tmp_path)
    a, alert = rig.blob(1), rig.blob(3)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 30, a)))))
    rig.send(T0 + timedelta(seconds=5), bc(8, alert, start=T0 + timedelta(seconds=5)))
    rig.cancel(T0 + timedelta(seconds=12), 8)
    got = rig.run_until(T0 + timedelta(seconds=20))
    assert got == [(1, "08:00:00", "08:00:05", "broadcast"),
                   (908, "08:00:05", "08:00:12", "preempted"),
                   (1, "08:00:12", "08:00:20", "shutdown")]


def test_a_broadcast_whose_file_is_missing_waits_while_the_schedule_plays(tmp_path) -> None:
    rig = BroadcastRig(tmp_path)
    a = rig.blob(1)
    missing = rig.blob(4, cached=False)
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 30, a)))))
    rig.send(T0 + timedelta(seconds=5), bc(9, missing, start=T0 + timedelta(seconds=5)))

    def arrived() -> None:
        rig.ready.add(missing)
        rig.pb.cache_changed()
    rig.clock.at(T0 + timedelta(seconds=9), arrived)
    got = rig.run_until(T0 + timedelta(seconds=20))
    assert got == [(1, "08:00:00", "08:00:09", "broadcast"),
                   (909, "08:00:09", "08:00:15", "completed"),
                   (909, "08:00:15", "08:00:20", "shutdown")]
    assert set(rig.shown) == {9}  # each cycle reports; the store acknowledges once


def test_ticker_runs_over_the_schedule_and_is_recorded(tmp_path) -> None:
    rig = BroadcastRig(tmp_path)
    a, strip = rig.blob(1), rig.blob(5, cached=False)  # a ticker downloads nothing
    rig.pb.set_plan(plan(sched(5, playlist(item(1, 60, a)))))
    rig.send(T0 + timedelta(seconds=5), bc(10, strip, mode="ticker", start=T0 + timedelta(
        seconds=5), end=T0 + timedelta(seconds=25)))
    got = rig.run_until(T0 + timedelta(seconds=30))
    assert sorted(got) == [(1, "08:00:00", "08:00:30", "shutdown"),
                           (910, "08:00:05", "08:00:25", "completed")]
    assert ("ticker", "台风红色预警") in rig.backend.shown and rig.backend.ticker is None
    assert rig.shown == [10]


def test_ticker_shows_in_the_screenshot(tmp_path) -> None:
    rig = BroadcastRig(tmp_path)
    plain = rig.backend.current_frame()
    rig.backend.set_ticker("停水通知：明天 9:00-17:00")
    framed = rig.backend.current_frame()
    w, h = framed.size
    assert framed.getpixel((w - 1, h - 1)) != plain.getpixel((w - 1, h - 1))  # the red band


def test_store_survives_a_restart_and_acknowledges_once(tmp_path) -> None:
    store = BroadcastStore(tmp_path)
    store.add(bc(3, "a" * 64, start=T0, end=T0 + timedelta(hours=1)))
    store.add({"id": "bad"})  # refused, not stored
    assert store.shown(3, T0 + timedelta(seconds=2), "iVBORw0KGgo=")
    assert not store.shown(3, T0 + timedelta(seconds=9), "another")
    again = BroadcastStore(tmp_path)
    full, ticker = again.active(T0 + timedelta(minutes=1))
    assert full is not None and full["id"] == 3 and ticker is None
    assert again.active(T0 + timedelta(hours=2)) == (None, None)
    assert again.blobs() == [("a" * 64, 10)]
    assert again.pending_acks() == [{"id": 3, "shown_at": iso(T0 + timedelta(seconds=2)),
                                     "thumbnail_png_base64": "iVBORw0KGgo="}]
    again.acked(3)
    assert BroadcastStore(tmp_path).pending_acks() == []
    assert "iVBORw0KGgo=" not in (tmp_path / "broadcasts.json").read_text()  # dropped once acked
    again.replace([])  # the server says nothing is active any more
    assert BroadcastStore(tmp_path).active(T0) == (None, None)
    assert again.next_change(utc(2020, 1, 1)) is None
