"""The SDL player composing a three-region layout against the same clip played full-frame.

Workload: an H.264 1280x720 30 fps clip (made here with PyAV, moving picture and texture so
the decoder has real work; cached in var/bench/) plays in a real X window under Xvfb, looped
as a playlist of one clip would (prepared ahead, shown again at its end). Two modes per panel:
- full: no layout, the clip scaled into the whole panel (the player as it was);
- layout: the clip scaled into the main region, a ticker band beside it scrolling at 60 fps
  and the clock (LAYOUT below, fitted to the panel).
Panels: 384x192 (a lobby panel) and 1920x320 (a gate strip). Each run is its own process
(the X window, the decoder threads and the memory are the player's alone); modes alternate
per round so load from other jobs falls on both alike.

Figures, per panel:
- player_layout_cpu_<panel>: CPU share of one core (process CPU time / wall, decoder threads
  included, the X server not) with the layout; baseline: full-frame. Goal <= 1.3x.
- player_layout_video_dropped_<panel>: video frames due but never shown, % of frames due,
  with the layout; baseline: full-frame. Goal <= 1 %.
- player_layout_ticker_dropped_<panel>: 60 fps frame deadlines passed without a frame, % of
  the frames expected over the run (wall x 60). Goal <= 1 %.
- player_layout_rss_<panel>: peak resident memory with the layout; baseline: full-frame.

Run alone: `.venv/bin/python -m bench.bench_player_layout [--seconds 60] [--rounds 1]`
(merges its figures into bench/results.json); `make bench` runs it with the others.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "var" / "bench" / "clip_h264_1280x720_30fps_10s.mp4"
CLIP_S = 10.0
PANELS = ((384, 192), (1920, 320))
TEXT = "东和社区温馨提示：本周六上午9:00在社区广场举办义诊活动，欢迎居民参加；今日14:00-18:00停水，请提前储水"
WARM_S = 2.0  # the window opens and the first frames decode before anything is counted


def layout_dict() -> dict[str, Any]:
    """The three regions on a 384x192 canvas: the clip above, the ticker and the clock below."""
    return {"id": 1, "name": "bench", "width": 384, "height": 192, "regions": [
        {"key": "main", "role": "main", "x": 0, "y": 0, "w": 384, "h": 168},
        {"key": "ticker", "role": "ticker", "x": 0, "y": 168, "w": 288, "h": 24,
         "speed_cps": 6.0, "lines": [{"content_id": 1, "topic_id": 1, "text": TEXT,
                                      "approved": True}]},
        {"key": "clock", "role": "clock", "x": 288, "y": 168, "w": 96, "h": 24,
         "clock_format": "datetime"}]}


def make_clip(path: Path = CLIP) -> Path:
    """10 s of 1280x720 at 30 fps: a texture and gradient panning, a box moving across."""
    if path.exists():
        return path
    import av
    from PIL import Image, ImageChops, ImageDraw

    path.parent.mkdir(parents=True, exist_ok=True)
    w, h, rate = 1280, 720, 30
    texture = Image.effect_noise((640, 360), 50).resize((w, h), Image.Resampling.BILINEAR)
    base = Image.merge("RGB", (texture, Image.linear_gradient("L").resize((w, h)),
                               Image.linear_gradient("L").rotate(90).resize((w, h))))
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "veryfast", "crf": "23"}
        for i in range(int(CLIP_S * rate)):
            im = ImageChops.offset(base, i * 4, i)
            ImageDraw.Draw(im).rectangle((i * 4 % w, 200, i * 4 % w + 160, 360),
                                         fill=(255, 210, 0))
            for p in s.encode(av.VideoFrame.from_image(im)):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    tmp.rename(path)
    return path


# --- one run (a child process with its own X window) -----------------------------------------


def child(args: dict[str, Any]) -> dict[str, Any]:
    import resource

    from player.render.sdl import SdlBackend
    from playlists.layouts import Layout, fit

    w, h = args["size"]
    clip, seconds = Path(args["clip"]), args["seconds"]
    b = SdlBackend((w, h))
    if args["layout"]:
        layout, _ = fit(Layout.from_dict(args["layout"]), w, h)
        b.show_layout(layout, None, {"ticker": [TEXT]}, {})
    start = time.monotonic()
    b.show_video(clip)
    shown_at, prepared = start, False

    def sleep_until(t: float) -> None:
        """Waits, restarting the clip at its end (prepared half a second ahead)."""
        nonlocal shown_at, prepared
        while (now := time.monotonic()) < t:
            nxt = shown_at + CLIP_S
            if not prepared and now >= nxt - 0.5:
                b.prepare(clip, "video")
                prepared = True
            if now >= nxt:
                b.show_video(clip)
                shown_at, prepared = nxt, False
                continue
            time.sleep(max(0.0, min(t, nxt if prepared else nxt - 0.5) - now))

    sleep_until(start + WARM_S)
    s0, cpu0, wall0 = b.stats(), time.process_time(), time.monotonic()
    sleep_until(wall0 + seconds)
    s1, cpu1, wall1 = b.stats(), time.process_time(), time.monotonic()
    b.close()
    d = {k: s1[k] - s0[k] for k in s1}
    wall = wall1 - wall0
    return {**d, "wall_s": wall, "cpu_share": (cpu1 - cpu0) / wall,
            "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _free_display() -> str:
    for n in range(700 + os.getpid() % 100, 1000):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return f":{n}"
    raise RuntimeError("no free X display number")


def _one(display: str, size: tuple[int, int], layout: bool, seconds: float) -> dict[str, Any]:
    env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11",
           "SDL_VIDEO_WINDOW_POS": "0,0", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    args = {"size": size, "clip": str(make_clip()), "seconds": seconds,
            "layout": layout_dict() if layout else None}
    out = subprocess.run([sys.executable, "-m", "bench.bench_player_layout", "--child",
                          json.dumps(args)], cwd=ROOT, env=env, check=True, timeout=seconds + 120,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(seconds: float, rounds: int) -> dict[tuple[int, int], dict[str, list[dict]]]:
    """{panel: {"full": [run, ...], "layout": [run, ...]}}, modes alternating."""
    if shutil.which("Xvfb") is None:
        raise RuntimeError("the benchmark needs Xvfb (make test-deps installs it)")
    make_clip()
    display = _free_display()
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1920x1080x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.1)
        runs: dict[tuple[int, int], dict[str, list[dict]]] = {}
        for size in PANELS:
            runs[size] = {"full": [], "layout": []}
            for n in range(rounds):
                order = ("full", "layout") if n % 2 == 0 else ("layout", "full")
                for mode in order:
                    r = _one(display, size, mode == "layout", seconds)
                    runs[size][mode].append(r)
                    print(f"   {size[0]}x{size[1]} {mode}: {_line(r)}", file=sys.stderr,
                          flush=True)
        return runs
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def _line(r: dict[str, Any]) -> str:
    return (f"cpu {100 * r['cpu_share']:.1f} %, video {r['video_shown']} shown "
            f"{r['video_dropped']} dropped, paced {r['paced']} missed {r['paced_missed']}, "
            f"rss {r['rss_peak_mb']:.1f} MB")


def _pct_dropped(r: dict[str, Any]) -> float:
    due = r["video_shown"] + r["video_dropped"]
    return 100 * r["video_dropped"] / due if due else 0.0


def _pct_missed(r: dict[str, Any]) -> float:
    expected = r["wall_s"] * 60
    return 100 * max(0.0, expected - r["paced"]) / expected if expected else 0.0


def figures(runs: dict[tuple[int, int], dict[str, list[dict]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    med = statistics.median
    for (w, h), modes in runs.items():
        panel = f"{w}x{h}"
        full, lay = modes["full"], modes["layout"]
        cpu_l, cpu_f = med(100 * r["cpu_share"] for r in lay), med(
            100 * r["cpu_share"] for r in full)
        ratio = round(cpu_l / cpu_f, 3) if cpu_f else None
        out.append({"name": f"player_layout_cpu_{panel}", "value": round(cpu_l, 1),
                    "unit": "% of a core", "baseline": round(cpu_f, 1), "ratio": ratio,
                    "goal": "<= 1.3x full-frame", "met": ratio is not None and ratio <= 1.3,
                    "runs": len(lay)})
        drop_l, drop_f = med(_pct_dropped(r) for r in lay), med(_pct_dropped(r) for r in full)
        out.append({"name": f"player_layout_video_dropped_{panel}", "value": round(drop_l, 2),
                    "unit": "% of video frames due", "baseline": round(drop_f, 2),
                    "ratio": None, "goal": "<= 1 %", "met": drop_l <= 1.0})
        missed = med(_pct_missed(r) for r in lay)
        out.append({"name": f"player_layout_ticker_dropped_{panel}", "value": round(missed, 2),
                    "unit": "% of 60 fps frames", "baseline": 0.0, "ratio": None,
                    "goal": "<= 1 %", "met": missed <= 1.0,
                    "detail": {"paced": [r["paced"] for r in lay],
                               "wall_s": [round(r["wall_s"], 2) for r in lay]}})
        rss_l, rss_f = med(r["rss_peak_mb"] for r in lay), med(r["rss_peak_mb"] for r in full)
        out.append({"name": f"player_layout_rss_{panel}", "value": round(rss_l, 1),
                    "unit": "MB", "baseline": round(rss_f, 1),
                    "ratio": round(rss_l / rss_f, 3), "goal": "informational"})
    return out


def run(quick: bool = False, seconds: float | None = None, rounds: int = 1
        ) -> list[dict[str, Any]]:
    return figures(measure(seconds or (8.0 if quick else 60.0), rounds))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(child(json.loads(argv[1]))), flush=True)
        return 0
    seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else None
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 1
    figs = run("--quick" in argv, seconds, rounds)
    results = ROOT / "bench" / "results.json"
    data = json.loads(results.read_text()) if results.exists() else {"figures": []}
    suite = Path(__file__).stem
    data["figures"] = [f for f in data.get("figures", []) if f.get("suite") != suite] + [
        {**f, "suite": suite} for f in figs]
    results.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    for f in figs:
        print(f"{f['name']}: {f['value']} {f['unit']} (baseline {f['baseline']}, "
              f"ratio {f['ratio']}, goal {f['goal']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
