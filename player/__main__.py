"""python -m player --server URL [--credential FILE] [--data DIR] [--headless] [--size WxH]
[--fullscreen] [--quota-mb N] [--transport websocket|polling] [--sync-interval S]
[--simulate-freeze-after SECONDS] [--trust-key BASE64]... | --totals

Logs to stderr. SIGTERM/SIGINT stop it cleanly: the current play is recorded as cut short
(reason "shutdown"), the outbox is uploaded if the server is reachable, totals.json written.
`--totals` prints the data folder's play totals as JSON and exits (safe while it runs).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from player.outbox import Outbox  # noqa: E402
from player.pairing import load_credential  # noqa: E402
from player.protocol import SYNC_INTERVAL_S  # noqa: E402
from player.trust import parse_public_key  # noqa: E402


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)[xX](\d+)", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise argparse.ArgumentTypeError("size must look like 192x96")
    return int(m.group(1)), int(m.group(2))


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError("the interval must be at least 1 second")
    return value


def public_key(text: str) -> str:
    try:
        return parse_public_key(text)[1]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--trust-key: {e}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m player", description=__doc__.split("\n\n")[1])
    p.add_argument("--server", help="server URL, e.g. http://signage.local:8000")
    p.add_argument("--credential", type=Path, help="file holding the terminal's credential "
                   "(default: DATA/credential; pairing writes it there when missing)")
    p.add_argument("--data", type=Path, default=Path("player-data"), help="data folder")
    p.add_argument("--headless", action="store_true", help="no window (frames kept in memory)")
    p.add_argument("--size", type=parse_size, help="panel size WxH (default: the manifest's)")
    p.add_argument("--fullscreen", action="store_true")
    p.add_argument("--quota-mb", type=float, help="media cache limit in MB")
    p.add_argument("--transport", choices=["websocket", "polling"], default="websocket",
                   help="websocket (default): one connection any server node can take; "
                   "polling: long-polling first, for networks that block WebSocket (needs "
                   "sticky sessions when several nodes serve)")
    p.add_argument("--sync-interval", type=positive_seconds, default=SYNC_INTERVAL_S, metavar="S",
                   help="seconds between periodic manifest version checks, the catch-up "
                   f"for a missed nudge (default {SYNC_INTERVAL_S:.0f}, +up to 20%% jitter)")
    p.add_argument("--trust-key", type=public_key, action="append", metavar="BASE64",
                   help="the street's Ed25519 public signing key (the provisioning CSV's "
                   "public_key column); repeatable. Kept in DATA/trust.json: from then on "
                   "only manifests and broadcasts signed by a trusted key are played")
    p.add_argument("--totals", action="store_true", help="print play totals as JSON and exit")
    p.add_argument("--simulate-freeze-after", type=float, metavar="SECONDS",
                   help="test and diagnostic aid (headless only): the picture stops changing "
                        "after SECONDS while the player carries on, as a hung display would")
    p.add_argument("--log-level", default="INFO")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.totals:
        box = Outbox(args.data)
        print(json.dumps(box.totals(), sort_keys=True))
        box.close()
        return 0
    if not args.server:
        build_parser().error("--server is required")
    from player.terminal import Terminal

    credential = load_credential(args.credential) if args.credential else None
    if args.credential and credential is None:
        logging.error("cannot read a credential from %s", args.credential)
        return 2
    if args.simulate_freeze_after is not None and not args.headless:
        build_parser().error("--simulate-freeze-after needs --headless")
    term = Terminal(args.server, args.data, credential=credential, headless=args.headless,
                    size=args.size, fullscreen=args.fullscreen,
                    quota_bytes=int(args.quota_mb * 1e6) if args.quota_mb else None,
                    transports=["websocket"] if args.transport == "websocket" else None,
                    sync_interval_s=args.sync_interval,
                    freeze_after_s=args.simulate_freeze_after, trust_keys=args.trust_key)
    stop_reason: list[str] = []

    def on_signal(signum: int, frame: object) -> None:
        stop_reason.append(signal.Signals(signum).name)
        term.stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    term.start()
    # The main thread only waits: signal handlers run here, and stop() runs here too
    # rather than inside the handler (it joins threads and may wait for an upload).
    while not term.stop_requested.wait(1.0):
        pass
    logging.info("stopping (%s)", stop_reason[0] if stop_reason else "window closed")
    term.stop("shutdown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
