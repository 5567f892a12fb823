"""Resolver benchmark: one instant for many terminals, and a 7-day timeline for one.

Run alone: ``.venv/bin/python -m bench.bench_resolver [--quick]`` prints JSON.  Each figure
comes with a baseline measured in the same run on the same data (the machine is shared and
noisy, so the ratio is the figure to compare across runs):

- resolve_all_terminals: for every terminal, ``resolve`` at one instant.  Baseline: the bare
  loop over the same (terminal, schedule) pairs doing only the date-range and weekday test.
- timeline_7d: ``timeline`` over 7 days for one 200-schedule terminal, freshly compiled (cold
  per-schedule caches); about 33,000 segments.  Baseline: building the same number of Segment
  tuples by stepping through one playlist with no schedule logic at all.
- compile (informational): compiling every plan with one shared CompileCache.  Baseline:
  sorting each plan's schedules by rank, the least any per-plan preparation does.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from playlists.clock import DAY_US, clock, day_number, to_us, weekday_of_day
from playlists.model import Item, Playlist, Schedule, ScreenPlan, TerminalPlan, Window
from playlists.resolver import CompileCache, Segment, compile_plan

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TZ = "Asia/Shanghai"


def _item(rng: random.Random, cid: int) -> Item:
    validity: dict[str, datetime] = {}
    if rng.random() < 0.1:
        validity["valid_until"] = T0 + timedelta(hours=rng.randint(-48, 24 * 14))
    return Item(
        content_id=cid,
        sha256=f"{cid:064x}",
        duration_s=rng.choice([8, 10, 10, 15, 15, 20, 30, 45.5, 60]),
        topic_id=rng.randint(1, 30),
        approved=rng.random() > 0.1,
        media="image",
        **validity,
    )


def _windows(rng: random.Random) -> tuple[Window, ...]:
    r = rng.random()
    if r < 0.2:
        return (Window(time(0), time(0)),)
    if r < 0.3:
        return (Window(time(22), time(6)),)
    starts = sorted(rng.sample(range(6, 22, 2), rng.randint(1, 3)))
    return tuple(Window(time(h), time(h + 1, 30)) for h in starts)


def make_pool(n: int, seed: int = 42) -> list[Schedule]:
    rng = random.Random(seed)
    pool = []
    cid = 0
    for sid in range(1, n + 1):
        items = []
        for _ in range(rng.randint(3, 20)):
            cid += 1
            items.append(_item(rng, cid))
        kind = rng.choices(["normal", "filler", "interrupt"], [80, 15, 5])[0]
        start = date(2026, 12, 1) + timedelta(days=rng.randint(-60, 30))
        end = None if rng.random() < 0.3 else start + timedelta(days=rng.randint(7, 120))
        weekdays = frozenset(rng.sample(range(7), rng.randint(1, 7)))
        windows = _windows(rng)
        if kind == "interrupt":  # notices: a day or two, one short window
            start = date(2026, 12, 1) + timedelta(days=rng.randint(-10, 10))
            end = start + timedelta(days=rng.randint(0, 2))
            h = rng.randint(7, 20)
            windows = (Window(time(h), time(h, 30)),)
        pool.append(
            Schedule(
                id=sid,
                playlist=Playlist(sid, f"playlist {sid}", tuple(items)),
                kind=kind,
                priority=rng.randint(0, 10),
                start_date=start,
                end_date=end,
                weekdays=weekdays,
                windows=windows,
            )
        )
    return pool


FALLBACK = Playlist(0, "built-in", (Item(0, "f" * 64, 20, 0, True),))
SCREENS = (
    ScreenPlan(1, on=True, brightness=80, windows=(Window(time(6, 30), time(23)),)),
    ScreenPlan(2, on=True, brightness=40, priority=10, windows=(Window(time(19), time(23)),)),
)


def make_plans(n_terminals: int, per_terminal: int, pool: list[Schedule]) -> list[TerminalPlan]:
    rng = random.Random(7)
    return [
        TerminalPlan(
            terminal_id=tid,
            tz=TZ,
            schedules=tuple(rng.sample(pool, per_terminal)),
            screen_plans=SCREENS,
            fallback=FALLBACK,
            screen_default_on=False,
            screen_default_brightness=0,
        )
        for tid in range(n_terminals)
    ]


def _median_time(fn: Callable[[int], object], runs: int) -> float:
    """Median wall time of fn(0..runs-1); GC paused while timing, as timeit does."""
    samples = []
    for n in range(runs):
        gc.collect()
        gc.disable()
        try:
            t = _time.perf_counter()
            fn(n)
            samples.append(_time.perf_counter() - t)
        finally:
            gc.enable()
    return statistics.median(samples)


def _figure(name: str, value: float, unit: str, baseline: float, goal: str) -> dict[str, object]:
    return {
        "name": name,
        "value": round(value, 6),
        "unit": unit,
        "baseline": round(baseline, 6),
        "ratio": round(value / baseline, 2) if baseline else None,
        "goal": goal,
    }


def run(quick: bool = False) -> list[dict[str, object]]:
    n_terminals = 1_000 if quick else 10_000
    per_terminal = 200
    runs = 3 if quick else 5
    pool = make_pool(1_000)
    plans = make_plans(n_terminals, per_terminal, pool)

    cache = CompileCache()
    t = _time.perf_counter()
    compiled = [compile_plan(p, cache) for p in plans]
    compile_s = _time.perf_counter() - t
    # Floor for any per-plan preparation: sort each plan's schedules by rank once.
    t = _time.perf_counter()
    for p in plans:
        sorted(p.schedules, key=lambda s: (s.kind, -s.priority, s.id))
    compile_floor_s = _time.perf_counter() - t

    # A different instant per run (spread over day and night) so no run reuses another run's
    # per-schedule states and the quiet night hours, where little applies, are measured too.
    instants = [to_us(T0 + timedelta(minutes=337 * n)) for n in range(runs)]

    def resolve_all(n: int) -> None:
        at = instants[n]
        for c in compiled:
            c.resolve_us(at)

    resolve_s = _median_time(resolve_all, runs)

    # Floor: touch every (terminal, schedule) pair with the cheapest meaningful test.
    clk = clock(TZ)
    flat = [
        [
            (
                day_number(s.start_date) if s.start_date else -(2**40),
                day_number(s.end_date) if s.end_date else 2**40,
                sum(1 << w for w in s.weekdays),
            )
            for s in p.schedules
        ]
        for p in plans
    ]

    def floor_all(n: int) -> None:
        day = clk.to_local(instants[n]) // DAY_US
        wd = weekday_of_day(day)
        hits = 0
        for sched in flat:
            for first, last, mask in sched:
                if first <= day <= last and mask >> wd & 1:
                    hits += 1

    floor_s = _median_time(floor_all, runs)

    # 7-day timeline, cold: a fresh compile (and fresh per-schedule caches) for every run.
    start, end = to_us(T0), to_us(T0 + timedelta(days=7))
    fresh = [compile_plan(plans[0], CompileCache()) for _ in range(runs)]
    counts: list[int] = []

    def timeline_7d(n: int) -> None:
        counts.append(len(fresh[n].timeline_us(start, end)))

    timeline_s = _median_time(timeline_7d, runs)
    n_segments = counts[0]
    item = FALLBACK.items[0]
    step = 15_000_000

    def floor_segments(n: int) -> None:
        out = []
        new = tuple.__new__  # same construction as the resolver's hot loop
        s = start
        for _ in range(n_segments):
            out.append(new(Segment, (s, s + step, item, 1, "normal", s, s + step)))
            s += step

    floor_tl = _median_time(floor_segments, runs)

    return [
        _figure(
            f"resolve_one_instant_{n_terminals}_terminals_{per_terminal}_schedules",
            resolve_s,
            "s",
            floor_s,
            "< 1 s" if not quick else "< 0.1 s (quick: 1,000 terminals)",
        ),
        _figure(
            f"timeline_7d_one_terminal_{per_terminal}_schedules",
            timeline_s * 1000,
            "ms",
            floor_tl * 1000,
            "< 50 ms",
        ),
        _figure(
            f"compile_{n_terminals}_plans_shared_cache",
            compile_s,
            "s",
            compile_floor_s,
            "informational (once per plan change)",
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
