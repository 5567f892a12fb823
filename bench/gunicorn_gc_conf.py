"""server/gunicorn_conf.py, plus a garbage-collector callback in the worker that logs every
full (generation 2) collection and any other one over 20 ms, with how long it held the
worker: `gc generation 2: 118 ms, collected 0`. A diagnostic for the benchmarks
(`python -m bench.bench_staff_load --gc-log`), not a setting to serve with.

The product's file is executed here, not imported: importing the package `server` in the
gunicorn master would import its libraries before the worker's gevent patching.
"""

import sys
from pathlib import Path

_BASE = Path(__file__).resolve().parent.parent / "server" / "gunicorn_conf.py"
exec(compile(_BASE.read_text(), str(_BASE), "exec"))  # noqa: S102 - the product's settings
_product_post_worker_init = post_worker_init  # noqa: F821 - defined by the file above


def post_worker_init(worker) -> None:
    _product_post_worker_init(worker)
    import gc
    import time

    began = {"t": 0.0}

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            began["t"] = time.perf_counter()
            return
        ms = (time.perf_counter() - began["t"]) * 1000
        if info["generation"] == 2 or ms > 20:
            sys.stderr.write(f"gc generation {info['generation']}: {ms:.0f} ms, "
                             f"collected {info['collected']}\n")

    gc.callbacks.append(timed)
