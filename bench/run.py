"""Run every benchmark (bench/bench_*.py) and write bench/results.json.

Each module exposes `run(quick: bool) -> list[dict]`, one dict per figure with
name, value, unit, baseline, ratio and goal; the baseline is measured in the same
run because the machine is shared and noisy. `python -m bench.run --quick` is a
smoke run; `make bench` runs the full set.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = ("name", "value", "unit", "baseline", "ratio", "goal")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    only = [a for a in argv if not a.startswith("--")]
    figures: list[dict] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        started = time.monotonic()
        print(f"== {path.stem}", file=sys.stderr, flush=True)
        for fig in module.run(quick=quick):
            missing = [k for k in KEYS if k not in fig]
            if missing:
                raise SystemExit(f"{path.stem}: figure {fig.get('name')} lacks {missing}")
            figures.append({**fig, "suite": path.stem})
            print(f"   {fig['name']}: {fig['value']} {fig['unit']} "
                  f"(baseline {fig['baseline']}, ratio {fig['ratio']}, goal {fig['goal']})",
                  file=sys.stderr)
        print(f"   [{time.monotonic() - started:.1f} s]", file=sys.stderr)
    out = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": __import__("os").cpu_count()},
        "quick": quick,
        "figures": figures,
    }
    (HERE / "results.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {HERE / 'results.json'} ({len(figures)} figures)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
