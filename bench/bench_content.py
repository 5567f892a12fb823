"""Benchmarks for content/: ingest throughput, notice render time, streaming memory.

Run alone: `.venv/bin/python -m bench.bench_content [--quick]` prints JSON.
Each figure: name, value, unit, baseline (measured in the same run), ratio, goal.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import av
from PIL import Image, ImageDraw

from content import BlobStore, Limits, Notice, Target, ingest, render_notice
from content.fonts import find_cjk_font, load_font

FLEET = [(1920, 320), (960, 160), (384, 192), (256, 128), (192, 96), (128, 64)]
MiB = 1024 * 1024
NOTICE = Notice(
    title="停水通知",
    body="因市政管网维修，本小区将于12月3日（周三）8:00至18:00停水，请居民提前做好储水准备。"
    "如有疑问请联系物业服务中心。",
    footer="便民热线 0755-12345678",
    template="warning",
)


def _figure(name: str, value: float, unit: str, baseline: float, goal: str) -> dict:
    ratio = value / baseline if baseline else 0.0
    return {"name": name, "value": round(value, 3), "unit": unit,
            "baseline": round(baseline, 3), "ratio": round(ratio, 4), "goal": goal}


def _make_images(n: int) -> list[bytes]:
    rnd = random.Random(42)
    out = []
    for i in range(n):
        # Photo-like content: a gradient with noise, 640x360 (a typical poster thumbnail-
        # to-HD mix would only scale the numbers, not the ratio).
        im = Image.linear_gradient("L").resize((640, 360)).convert("RGB")
        im.paste(Image.frombytes("RGB", (64, 36), rnd.randbytes(64 * 36 * 3)), (i % 500, 10))
        buf = io.BytesIO()
        im.save(buf, ("JPEG", "PNG", "WEBP", "GIF")[i % 4])
        out.append(buf.getvalue())
    return out


def _make_clips(n: int, tmp: Path) -> list[bytes]:
    out = []
    for i in range(n):
        path = tmp / f"clip{i}.mp4"
        with av.open(str(path), "w", format="mp4") as c:
            s = c.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = 640, 360, "yuv420p"
            for f in range(50):  # 2 s
                frame = Image.new("RGB", (640, 360), ((i * 30 + f * 5) % 256, 80, 160))
                for p in s.encode(av.VideoFrame.from_image(frame)):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        out.append(path.read_bytes())
    return out


def _copy_and_hash(blobs: list[bytes], tmp: Path) -> float:
    """Baseline: the least any store must do — hash and write each upload once."""
    start = time.perf_counter()
    for i, data in enumerate(blobs):
        h = hashlib.sha256()
        src = io.BytesIO(data)
        with open(tmp / f"copy{i}", "wb") as out:
            while chunk := src.read(MiB):
                h.update(chunk)
                out.write(chunk)
        h.hexdigest()
    return time.perf_counter() - start


def _ingest_all(blobs: list[bytes], root: Path) -> float:
    store = BlobStore(root, fsync=False)  # fsync off in both sides of the comparison
    start = time.perf_counter()
    for i, data in enumerate(blobs):
        ingest(io.BytesIO(data), f"item{i}", store, Limits())
    return time.perf_counter() - start


def _throughput(label: str, blobs: list[bytes], goal: str) -> dict:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        base_s = _copy_and_hash(blobs, Path(a))
        ingest_s = _ingest_all(blobs, Path(b))
    n = len(blobs)
    return _figure(f"ingest_{label}_{n}", n / ingest_s, "items/s", n / base_s, goal)


def _best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _notice_figures(repeat: int) -> list[dict]:
    spec = find_cjk_font()
    figures = []
    for w, h in FLEET:
        for mode in ("full", "mono"):
            target = Target(w, h, mode)
            render_notice(NOTICE, target)  # warm font caches, as a running server would be

            def plain(w: int = w, h: int = h, mode: str = mode) -> None:
                # Baseline: drawing the body once at a fixed 16 px, no layout or search.
                im = Image.new("1" if mode == "mono" else "RGB", (w, h))
                ImageDraw.Draw(im).text((0, 0), NOTICE.body, font=load_font(spec, 16))

            value = _best_of(lambda t=target: render_notice(NOTICE, t), repeat) * 1000
            base = _best_of(plain, repeat) * 1000
            figures.append(_figure(f"notice_render_{w}x{h}_{mode}", value, "ms", base,
                                   "≤ 250 ms"))
    return figures


class _SyntheticStream:
    """size bytes of data produced on demand; never held whole."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = bytes(range(256)) * (MiB // 256)

    def read(self, n: int = -1) -> bytes:
        n = min(n if n >= 0 else MiB, self.left, MiB)
        self.left -= n
        return self.block[:n]


def _stream_once(size: int, trace: bool) -> tuple[float, float]:
    """(tracemalloc peak MB or 0, MB/s) for streaming `size` bytes into a store."""
    with tempfile.TemporaryDirectory() as tmp:
        store = BlobStore(Path(tmp), fsync=False)
        if trace:
            tracemalloc.start()
        t = time.perf_counter()
        with store.ingest_stream(_SyntheticStream(size), max_bytes=size) as pending:
            assert pending.size == size
        elapsed = time.perf_counter() - t
        peak = 0
        if trace:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return peak / MiB, size / MiB / elapsed


def _stream_peak(size: int) -> tuple[float, float]:
    """(tracemalloc peak MB, MB/s measured without tracemalloc's overhead)."""
    peak, _ = _stream_once(size, trace=True)
    _, mbps = _stream_once(size, trace=False)
    return peak, mbps


def _memory_figures(small: int, large: int) -> list[dict]:
    raw_mbps = _raw_write_mbps(large)  # first, so neither side gets a warmer page cache
    peak_small, _ = _stream_peak(small)
    peak_large, mbps = _stream_peak(large)
    s_mb, l_mb = small // MiB, large // MiB
    return [
        _figure(f"stream_peak_mem_{s_mb}MB", peak_small, "MB", s_mb, "flat, < 32 MB"),
        _figure(f"stream_peak_mem_{l_mb}MB", peak_large, "MB", peak_small,
                "flat: ratio ≈ 1 vs the smaller stream"),
        _figure(f"stream_throughput_{l_mb}MB", mbps, "MB/s", raw_mbps,
                "≥ 0.5x baseline"),
    ]


def _raw_write_mbps(size: int) -> float:
    """Baseline for streaming: hash + write the same synthetic bytes, no store logic."""
    src = _SyntheticStream(size)
    h = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "raw", "wb") as out:
        t = time.perf_counter()
        while chunk := src.read(MiB):
            h.update(chunk)
            out.write(chunk)
        elapsed = time.perf_counter() - t
    return size / MiB / elapsed


def run(quick: bool = False) -> list[dict]:
    n_images, n_clips = (40, 4) if quick else (500, 20)
    small, large = (16 * MiB, 128 * MiB) if quick else (100 * MiB, 1024 * MiB)
    figures: list[dict] = []
    figures.append(_throughput("images", _make_images(n_images), "≥ 50 items/s"))
    with tempfile.TemporaryDirectory() as tmp:
        figures.append(_throughput("clips", _make_clips(n_clips, Path(tmp)), "≥ 10 items/s"))
    figures.extend(_notice_figures(repeat=2 if quick else 5))
    figures.extend(_memory_figures(small, large))
    return figures


def main(argv: list[str]) -> None:
    print(json.dumps(run(quick="--quick" in argv), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
