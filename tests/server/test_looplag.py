"""The loop-lag monitor: /healthz's numbers, and a stall logged with the request that
held the loop (under gevent, in a process of its own)."""

from __future__ import annotations

import json
import subprocess
import sys

from server import looplag
from server.config import ROOT


def test_healthz_has_no_lag_figures_where_no_monitor_runs(client):
    looplag.stop()
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json["loop_lag_ms"] == {"current": None, "worst": None, "p99": None}


def test_requests_are_named_while_they_run():
    seen = []

    def app(environ, start_response):
        seen.append(looplag._labels.get(id(looplag.getcurrent())))
        return [b""]

    looplag.LabelRequests(app)({"REQUEST_METHOD": "POST", "PATH_INFO": "/content/upload"},
                               None)
    assert seen == ["POST /content/upload"]
    assert id(looplag.getcurrent()) not in looplag._labels


def test_the_figures_are_current_worst_and_p99_in_ms():
    m = looplag.Monitor(interval_s=0.05, stall_s=10)
    for lag in [0.001] * 98 + [0.2, 0.003]:
        m.note(lag)
    assert m.snapshot() == {"current": 3.0, "worst": 200.0, "p99": 3.0}


GEVENT_SCRIPT = """
from gevent import monkey
monkey.patch_all()
import json, logging, time
import gevent
from server import looplag

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
monitor = looplag.start()
gevent.sleep(0.3)

def upload():
    with looplag.activity("POST /content/upload"):
        end = time.perf_counter() + 0.8
        while time.perf_counter() < end:  # CPU work on the loop: what must not happen
            pass

gevent.spawn(upload).join()
gevent.sleep(0.3)
print(json.dumps({"snapshot": looplag.snapshot(), "stalls": monitor.stalls}))
"""


def test_a_stall_is_logged_naming_the_request_that_held_the_loop():
    done = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stalls"] >= 1
    assert result["snapshot"]["worst"] >= looplag.STALL_S * 1000
    warning = next(line for line in done.stderr.splitlines() if "event loop stalled" in line)
    assert warning.startswith("WARNING")
    assert "POST /content/upload held it" in warning
    assert "upload" in warning.split("held it, in ")[1]  # the function, from its stack
