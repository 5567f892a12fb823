"""The benchmark runs and reports the agreed keys (figures themselves are not asserted)."""

from __future__ import annotations

import math

from bench.bench_resolver import run


def test_quick_benchmark_shape() -> None:
    figures = run(quick=True)
    assert [f["unit"] for f in figures] == ["s", "ms", "s"]
    for f in figures:
        assert set(f) == {"name", "value", "unit", "baseline", "ratio", "goal"}
        value, baseline, ratio = f["value"], f["baseline"], f["ratio"]
        assert isinstance(value, float) and isinstance(baseline, float) and value > 0
        assert isinstance(ratio, float) and math.isclose(ratio, value / baseline, rel_tol=0.05)
