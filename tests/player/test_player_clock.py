from __future__ import annotations

import threading
from datetime import timedelta

from player_helpers import utc

from player.clock import RealClock, ServerClock, SimClock, offset_from


def test_offset_is_server_time_minus_midpoint() -> None:
    sent, received = utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 0, 0, 2)
    s = offset_from(sent, received, utc(2026, 1, 1, 0, 0, 11))
    assert s.rtt_s == 2.0
    assert s.offset_s == 10.0  # server said 00:00:11 at our 00:00:01


def test_clock_applies_offset_and_prefers_the_fastest_sample(tmp_path) -> None:
    local = [utc(2026, 1, 1, 12)]
    c = ServerClock(tmp_path / "clock.json", system_now=lambda: local[0])
    assert c.now() == local[0]
    t0 = local[0]
    # slow sample (rtt 4 s) says +30 s; fast sample (rtt 0.2 s) says -5 s: the fast one wins
    c.add_sample(t0, t0 + timedelta(seconds=4), "2026-01-01T12:00:32Z")
    assert c.offset_s == 30.0
    c.add_sample(t0, t0 + timedelta(seconds=0.2), "2026-01-01T11:59:55.1Z")
    assert abs(c.offset_s - -5.0) < 1e-9
    assert c.now() == local[0] - timedelta(seconds=5)
    # a later slower sample does not displace it
    c.add_sample(t0, t0 + timedelta(seconds=3), "2026-01-01T12:10:00Z")
    assert abs(c.offset_s - -5.0) < 1e-9


def test_unusable_samples_are_ignored(tmp_path) -> None:
    t0 = utc(2026, 1, 1)
    c = ServerClock(tmp_path / "clock.json", system_now=lambda: t0)
    assert c.add_sample(t0, t0 - timedelta(seconds=1), "2026-01-01T00:00:00Z") is None
    assert c.add_sample(t0, t0 + timedelta(seconds=60), "2026-01-01T00:00:00Z") is None
    assert c.add_sample(t0, t0, "not a time") is None
    assert c.add_sample(t0, t0, "2026-01-01T00:00:00") is None  # naive: no offset given
    assert c.offset_s == 0.0 and not c.synced


def test_offset_survives_a_restart(tmp_path) -> None:
    t0 = utc(2026, 1, 1)
    c = ServerClock(tmp_path / "clock.json", system_now=lambda: t0)
    c.add_sample(t0, t0, "2026-01-01T00:01:40Z")
    again = ServerClock(tmp_path / "clock.json", system_now=lambda: t0)
    assert again.offset_s == 100.0
    assert again.now() == utc(2026, 1, 1, 0, 1, 40)


def test_damaged_clock_file_means_no_offset(tmp_path) -> None:
    (tmp_path / "clock.json").write_text("{not json")
    assert ServerClock(tmp_path / "clock.json").offset_s == 0.0


def test_sim_clock_runs_callbacks_in_order_and_wakes() -> None:
    clk = SimClock(utc(2026, 1, 1))
    wake = threading.Event()
    seen = []
    clk.at(utc(2026, 1, 1, 0, 0, 20), lambda: seen.append(("b", clk.now())))
    clk.at(utc(2026, 1, 1, 0, 0, 10), lambda: (seen.append(("a", clk.now())), wake.set()))
    clk.sleep_until(utc(2026, 1, 1, 0, 1), wake)
    assert seen == [("a", utc(2026, 1, 1, 0, 0, 10))]
    assert clk.now() == utc(2026, 1, 1, 0, 0, 10)
    wake.clear()
    clk.sleep_until(utc(2026, 1, 1, 0, 1), wake)
    assert seen[1] == ("b", utc(2026, 1, 1, 0, 0, 20))
    assert clk.now() == utc(2026, 1, 1, 0, 1)


def test_real_clock_returns_when_woken() -> None:
    clk = RealClock()
    wake = threading.Event()
    wake.set()
    target = clk.now() + timedelta(hours=1)
    clk.sleep_until(target, wake)  # would take an hour if the event were ignored
    assert clk.now() < target
