"""python -m player.fleet --server URL --count N --credentials CSV [--data DIR]
[--duration S] [--ramp S] [--size WxH]

N headless players in one process, each with its own credential, data folder (DIR/<id>/),
outbox and connection: load for the server, and the source of "play seconds recorded" to
compare with what the server stored. CSV columns: terminal_id,name,credential and optionally
public_key, the street's signing key (`flask --app server terminals provision` writes all four;
a header row is allowed). At the end (SIGTERM/SIGINT or --duration) every player stops cleanly, uploads
what it can, and a JSON summary goes to stdout: per terminal and total play seconds recorded,
accepted, rejected and still pending, and bytes downloaded.

Threads, not asyncio: each player runs the production code unchanged (about five threads: playback,
downloads, the client loop and python-socketio's two websocket threads). Threads get a small stack
so a few thousand fit in memory; they sleep nearly all the time. Beyond a few thousand per process,
run several processes (an asyncio variant on socketio.AsyncClient would need a second client).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from player.__main__ import parse_size  # noqa: E402
from player.render.headless import HeadlessBackend  # noqa: E402
from player.terminal import Terminal  # noqa: E402

log = logging.getLogger("player.fleet")
THREAD_STACK_BYTES = 512 * 1024


def read_credentials(path: Path, count: int) -> list[dict[str, str]]:
    rows = []
    with path.open(newline="") as f:
        for row in csv.reader(f):
            if not row or row[0].strip().lower() == "terminal_id":
                continue
            if len(row) < 3:
                raise ValueError(f"{path}: expected terminal_id,name,credential: {row!r}")
            rows.append({"terminal_id": row[0].strip(), "name": row[1].strip(),
                         "credential": row[2].strip(),
                         "public_key": row[3].strip() if len(row) > 3 else ""})
            if len(rows) == count:
                break
    if len(rows) < count:
        raise ValueError(f"{path} has {len(rows)} credentials, {count} asked for")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m player.fleet")
    p.add_argument("--server", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--credentials", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("fleet-data"))
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--ramp", type=float, default=0.0, help="spread the starts over S seconds")
    p.add_argument("--size", type=parse_size, default=(192, 96))
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    threading.stack_size(THREAD_STACK_BYTES)
    rows = read_credentials(args.credentials, args.count)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    terminals: dict[str, Terminal] = {}
    started = time.monotonic()
    for n, row in enumerate(rows):
        if stop.is_set():
            break
        t = Terminal(args.server, args.data / row["terminal_id"], credential=row["credential"],
                     backend=HeadlessBackend(args.size, lazy=True),
                     trust_keys=[row["public_key"]] if row["public_key"] else None)
        t.start()
        terminals[row["terminal_id"]] = t
        if args.ramp and n + 1 < len(rows):
            stop.wait(args.ramp / len(rows))
    log.warning("%d players started", len(terminals))
    while not stop.wait(1.0):
        if args.duration is not None and time.monotonic() - started >= args.duration:
            break
    with ThreadPoolExecutor(max_workers=min(64, max(1, len(terminals)))) as pool:
        list(pool.map(lambda t: t.stop("shutdown"), terminals.values()))
    # totals were written by stop(); read them back from each data folder's totals.json
    out: dict[str, dict] = {"total": {}, "terminals": {}}
    for tid, t in terminals.items():
        out["terminals"][tid] = json.loads((args.data / tid / "totals.json").read_text())
        c = t.client
        out["terminals"][tid].update(
            connects=c.connects if c else 0, disconnects=c.disconnects if c else 0,
            connect_failures=c.connect_failures if c else 0)
    keys = ("recorded_s", "accepted_s", "rejected_s", "pending_s", "recorded_n",
            "accepted_n", "rejected_n", "pending_n", "bytes_downloaded", "connects",
            "disconnects", "connect_failures")
    out["total"] = {k: sum(v[k] for v in out["terminals"].values()) for k in keys}
    out["total"]["terminals"] = len(terminals)
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
