"""The reconnection schedule: short first retries, a cap of tens of seconds, full jitter,
and a fresh start only after a connection that held."""

from __future__ import annotations

import random

from player.client import Backoff


class Extremes(random.Random):
    """uniform() at its upper bound, so the steps themselves show."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_steps_double_from_one_second_to_the_cap():
    b = Backoff(Extremes())
    assert [b.delay() for _ in range(8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    for _ in range(1000):  # no overflow however long the server stays away
        assert b.delay() == 30.0


def test_full_jitter_spreads_a_fleet_over_the_whole_step():
    rng = random.Random(7)
    fleet = [Backoff(rng) for _ in range(2000)]
    for b in fleet:
        for _ in range(10):
            b.delay()  # a long outage: every terminal at the cap
    waits = [b.delay() for b in fleet]
    assert 0.0 <= min(waits) < 1.0 and 29.0 < max(waits) <= 30.0
    # Evenly spread: about a tenth of the fleet in each tenth of the cap.
    tenths = [sum(1 for w in waits if k * 3 <= w < (k + 1) * 3) for k in range(10)]
    assert all(150 < n < 250 for n in tenths), tenths


def test_the_steps_start_over_only_after_a_connection_that_held():
    b = Backoff(Extremes())
    for _ in range(6):
        b.delay()
    b.connected(now=100.0)
    b.lost(now=100.0 + Backoff.HEALTHY_S - 1)  # dropped at once: a server in trouble
    assert b.delay() == 30.0
    b.connected(now=200.0)
    b.lost(now=200.0 + Backoff.HEALTHY_S)
    assert b.delay() == 1.0
    b.lost(now=300.0)  # never connected since: nothing to reset
    assert b.delay() == 2.0
