from __future__ import annotations

from bench import bench_content  # the repo root is put on sys.path by conftest

MiB = 1024 * 1024


def test_streaming_memory_is_flat() -> None:
    small_peak, _ = bench_content._stream_peak(8 * MiB)
    large_peak, _ = bench_content._stream_peak(96 * MiB)
    assert large_peak < 4, f"streaming 96 MB peaked at {large_peak:.1f} MB of Python memory"
    assert large_peak < small_peak * 1.5 + 0.5


def test_figure_shape() -> None:
    fig = bench_content._figure("x", 10.0, "items/s", 20.0, "≥ 0.5x baseline")
    assert set(fig) == {"name", "value", "unit", "baseline", "ratio", "goal"}
    assert fig["ratio"] == 0.5
