"""How late the event loop wakes a sleeper: the number that says whether the terminals'
heartbeats wait behind something else (DESIGN.md: the event loop belongs to the terminals).

A sampler (a greenlet under gevent) sleeps `interval_s` and notes how much later than that
it woke: the current lag, the worst since start and the 99th percentile of the last
minute, shown by /healthz and read by benchmarks through `snapshot()`.

It can only wake after a stall has ended. To say who stalled the loop, a real thread (not
a greenlet: it runs while the loop is held) watches greenlet switches with gevent's
compiled tracer, as gevent's own monitor thread does, and notes the greenlet that ran
through a whole check without switching, with its innermost frames and the request or
socket event it serves (`activity`, `LabelRequests`). gevent's own report is not used: it
walks every object in the heap to list all greenlets, which would lengthen the stall.
A stall past `stall_s` is then logged as a WARNING naming that request.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from greenlet import getcurrent

log = logging.getLogger(__name__)
INTERVAL_S = 0.05
STALL_S = 0.25
WINDOW_S = 60.0  # the p99 is of this many seconds of samples

# Who each greenlet works for now: id(greenlet) -> "POST /content/upload", "socket status".
_labels: dict[int, str] = {}


class activity:
    """`with activity("socket status"):` names what the current greenlet does, for the
    stall report. A class, not a generator: it wraps every terminal event."""

    __slots__ = ("label", "key", "previous")

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> None:
        self.key = id(getcurrent())
        self.previous = _labels.get(self.key)
        _labels[self.key] = self.label

    def __exit__(self, *exc: object) -> None:
        if self.previous is None:
            _labels.pop(self.key, None)
        else:
            _labels[self.key] = self.previous


class LabelRequests:
    """WSGI middleware: each HTTP request's greenlet is named "METHOD /path"."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        with activity(f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '')}"):
            return self.app(environ, start_response)


class Monitor:
    def __init__(self, interval_s: float = INTERVAL_S, stall_s: float = STALL_S) -> None:
        self.interval_s, self.stall_s = interval_s, stall_s
        self.current = self.worst = 0.0
        self.samples: deque[float] = deque(maxlen=int(WINDOW_S / interval_s))
        self.blocked: deque[tuple[float, str, str]] = deque(maxlen=64)  # (when, who, where)
        self.stalls = 0
        self._running = False
        self._tracer = None

    # --- the sampler (a greenlet under gevent) ------------------------------------------

    def start(self) -> Monitor:
        self._running = True
        threading.Thread(target=self._sample, name="looplag", daemon=True).start()
        self._watch_blocking()
        return self

    def stop(self) -> None:
        self._running = False
        if self._tracer is not None:
            self._tracer.kill()
            self._tracer = None

    def _sample(self) -> None:
        with activity("loop-lag monitor"):
            while self._running:
                began = time.perf_counter()
                time.sleep(self.interval_s)
                self.note(max(0.0, time.perf_counter() - began - self.interval_s))

    def note(self, lag: float) -> None:
        self.current = lag
        self.samples.append(lag)
        if lag > self.worst:
            self.worst = lag
        if lag >= self.stall_s:
            self.stalls += 1
            log.warning("event loop stalled %.0f ms (worst since start %.0f ms): %s",
                        lag * 1000, self.worst * 1000, self.culprit(lag))

    def culprit(self, lag: float) -> str:
        """Who held the loop during the stall that just ended, as the watcher saw it."""
        since = time.monotonic() - lag - self.interval_s - 0.1
        seen = [(who, where) for when, who, where in self.blocked if when >= since]
        if not seen:
            return ("held by an unknown greenlet (no switch watcher: not under gevent)"
                    if self._tracer is None else "held between two watcher checks")
        who, where = seen[-1]
        return f"{who} held it, in {where}"

    def snapshot(self) -> dict[str, float | None]:
        samples = sorted(self.samples)
        p99 = samples[int(0.99 * (len(samples) - 1))] if samples else 0.0
        return {"current": round(self.current * 1000, 1), "worst": round(self.worst * 1000, 1),
                "p99": round(p99 * 1000, 1)}

    # --- the watcher (a real thread) ----------------------------------------------------

    def _watch_blocking(self) -> None:
        if "gevent" not in sys.modules:
            return
        from gevent import get_hub, monkey

        if not monkey.is_module_patched("time"):
            return
        from gevent._tracer import GreenletTracer  # compiled; chains any previous tracer

        hub = get_hub()
        self._tracer = tracer = GreenletTracer()
        sleep = monkey.get_original("time", "sleep")
        period = self.stall_s / 2  # a greenlet running a whole period is seen in a stall

        def watch() -> None:
            while self._running and self._tracer is tracer:
                sleep(period)
                blocked = tracer.did_block_hub(hub)
                if blocked:
                    self._record(blocked[1], hub)

        monkey.get_original("_thread", "start_new_thread")(watch, ())

    def _record(self, glet: object, hub: object) -> None:
        who = _labels.get(id(glet)) or str(glet)[:120]
        frame = sys._current_frames().get(getattr(hub, "thread_ident", None))
        # The innermost frame, then the innermost two of the product's own code (a stall
        # is usually deep in a library, called from a line of ours worth naming).
        where: list[str] = []
        ours = 0
        depth = 0
        while frame is not None and ours < 2 and depth < 80:
            path = frame.f_code.co_filename
            mine = path.startswith(_ROOT) and _VENV not in path
            if depth == 0 or mine:
                where.append(f"{_short(path)}:{frame.f_lineno} {frame.f_code.co_name}")
                ours += mine
            frame, depth = frame.f_back, depth + 1
        self.blocked.append((time.monotonic(), who, " <- ".join(where) or "?"))


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_VENV = os.sep + ".venv" + os.sep


def _short(path: str) -> str:
    return path[len(_ROOT):] if path.startswith(_ROOT) and _VENV not in path \
        else os.path.basename(path)


_monitor: Monitor | None = None


def start(interval_s: float = INTERVAL_S, stall_s: float = STALL_S) -> Monitor:
    """Start this process's monitor (gunicorn's post_worker_init)."""
    global _monitor
    if _monitor is None:
        _monitor = Monitor(interval_s, stall_s).start()
    return _monitor


def stop() -> None:
    global _monitor
    if _monitor is not None:
        _monitor.stop()
        _monitor = None


def snapshot() -> dict[str, float | None]:
    """{"current", "worst", "p99"} in ms; None each where no monitor runs here."""
    if _monitor is None:
        return {"current": None, "worst": None, "p99": None}
    return _monitor.snapshot()
