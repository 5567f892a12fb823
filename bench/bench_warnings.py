"""Early warnings (issue #23): from a CAP message arriving at the webhook to the last of N
screens acknowledging it shown, against the bare emit + ack baseline in the same run.

The machinery is bench/bench_hub.py's: the real server as `make run` starts it (gunicorn,
one gevent-websocket worker) on the demo street grown to N terminals in 东和, its
simulated terminals (bench/swarm.py, `hub` mode: they speak the player's protocol and
answer `broadcast` with `broadcast_shown`), and bench/bare_server.py with plain clients
as the baseline, the rounds taken in turn (ABAB) while both fleets stay connected.

A round: a fresh CAP Alert (the orange typhoon sample of tests/cap/samples, a new
identifier and a new line in its instruction each round, so the server parses, matches
and renders a new card every time) signed with the source's secret and POSTed to
`/api/v1/warnings/webhook/<id>`; the clock starts before the request and stops at each
terminal's `broadcast_shown` answer. The area: 东和's division code (440308003005) lies in
the message's 440308 (盐田区), so the message reaches every terminal of the street. After
the round the message's Cancel goes through the webhook too (not timed). The staff
broadcast of bench_hub (`POST /api/v1/broadcasts`, a typed text) is timed in the same
turn as a detail: what the parse, match and card add over the existing broadcast path.

Figures (N in --counts; `make bench`: 76 and 1,000):
- warning_webhook_N_p50 / _p99 / _last: ms over terminals, median over rounds; baseline:
  the bare server's emit + ack at the same N. Goal ≤ 1.5x bare.

Anchor: a commercial emergency-notification system reports 75 % of 1,000 endpoints
playing within 6 s.

Run alone: `.venv/bin/python -m bench.bench_warnings --counts 76,1000 [--pg]`.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.bench_hub import (
    BROADCAST_BYTES,
    PG_URL,
    ROUNDS,
    Product,
    Swarm,
    _Bare,
    _cancel_broadcasts,
    _gunicorn,
    _hold,
    _idle_mb,
    _median_rounds,
    _print_server_errors,
    _product,
    _send_broadcast,
    _timed_round,
    _timing_figures,
)

DONGHE_CODE = "440308003005"  # in the sample's 440308 (盐田区)
STREET_CODE = "440308003000"  # 沙头角街道
GOAL = "≤ 1.5x bare (parse, match and render included)"


def _area(database: str) -> None:
    """The demo's area codes, set (again) as a street admin would: every terminal of 东和,
    the benchmark's new buildings included, lies in the message's area."""
    from server.models import Community, Street
    from server.services.access import Actor
    from server.services.warnings import sources

    engine = create_engine(database)
    with Session(engine) as s:
        street = s.scalar(select(Street))
        donghe = s.scalar(select(Community).where(Community.name == "东和",
                                                  Community.street_id == street.id))
        sources.set_area_codes(s, Actor.system(street.id, "bench"), STREET_CODE,
                               {donghe.id: DONGHE_CODE})
        s.commit()
    engine.dispose()


def _source(product: Product) -> tuple[int, str]:
    """A webhook source with the default policy (orange: sent at once), and its secret."""
    r = product.api("POST", "/warning-sources", json={"name": "压测气象台", "kind": "webhook"})
    if r.status_code != 201:
        raise RuntimeError(f"webhook source refused: {r.status_code} {r.text[:300]}")
    return r.json()["id"], r.json()["secret"]


class Webhook:
    """Fresh messages to one source: each Alert new, each cancelled after its round."""

    def __init__(self, product: Product, n: int) -> None:
        self.url = product.nodes[0].url
        self.n = n
        self.source_id, self.secret = _source(product)
        self.sent: list[tuple[str, datetime]] = []
        self.message_ids: list[int] = []
        self.post_ms: list[float] = []  # each alert's POST, request to answer

    def post(self, body: bytes) -> dict:
        from server.services.warnings.intake import signature
        from server.services.warnings.receipts import SIGNATURE_HEADER

        r = requests.post(f"{self.url}/api/v1/warnings/webhook/{self.source_id}", data=body,
                          headers={"Content-Type": "application/cap+xml",
                                   SIGNATURE_HEADER: signature(self.secret, body)}, timeout=60)
        if r.status_code != 200:
            raise RuntimeError(f"webhook refused: {r.status_code} {r.text[:300]}")
        return r.json()

    def alert(self) -> None:
        from tests.cap.samples import sample

        i = len(self.sent) + 1
        ident = f"BENCH-{self.n}-{int(time.time())}-{i}"
        # sent a minute ago: its Cancel, sent now, is the later message
        sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        body = sample("typhoon_orange_yantian", sent=sent, identifier=ident)
        # A new line in the instruction: a new card to render, as a real update would be.
        body = re.sub(rb"<instruction>", f"<instruction>第{i}次发布。".encode(), body, count=1)
        t0 = time.monotonic()
        answer = self.post(body)
        self.post_ms.append((time.monotonic() - t0) * 1000)
        if answer.get("outcome") != "accepted":
            raise RuntimeError(f"alert not accepted: {answer}")
        self.sent.append((ident, sent))
        self.message_ids.append(answer["message_id"])

    def cancel_last(self) -> None:
        from tests.cap.samples import sample

        ident, sent = self.sent[-1]
        body = sample("typhoon_cancel_yantian", identifier=f"{ident}-cancel",
                      references=[(ident, sent)])
        answer = self.post(body)
        if answer.get("outcome") != "accepted":
            raise RuntimeError(f"cancel not accepted: {answer}")


# The demo's panels (server/services/demo.py) and the benchmark's added lobby panels.
SIZES = [(1920, 320, "full"), (384, 192, "full"), (256, 128, "full"), (192, 96, "full"),
         (128, 64, "mono")]


def _parts() -> dict:
    """In this process, medians of 3: the parse (hardened reader and the OASIS schema) and
    the card's rendering at the street's five panel sizes, the two steps a warning adds to
    the broadcast path (on the server the rendering runs in a job worker)."""
    from content.warning_card import render_warning_pngs
    from server.cap import parse, signals
    from tests.cap.samples import sample

    body = sample("typhoon_orange_yantian")
    parse_ms, render_ms = [], []
    for i in range(3):
        t0 = time.perf_counter()
        msg = parse.parse(body)
        parse_ms.append((time.perf_counter() - t0) * 1000)
        sig = signals.signal_of(msg)
        card = {"event_zh": sig.event_zh, "level": sig.level, "headline": sig.headline,
                "instruction": f"第{i}次。{sig.instruction}", "sender": "深圳市气象台"}
        t0 = time.perf_counter()
        render_warning_pngs(SIZES, card, None)
        render_ms.append((time.perf_counter() - t0) * 1000)
    return {"parse_ms": round(statistics.median(parse_ms), 1),
            "render_5_sizes_ms": round(statistics.median(render_ms), 1)}


def _rounds(n: int, tmp: Path, database: str, rounds: int) -> dict:
    product = _product(n, tmp, database, None)
    _area(database)
    out: dict = {}
    try:
        from tests.live import free_port

        product.nodes.append(_gunicorn("server.wsgi:app", product.env, free_port(),
                                       tmp / "node.log"))
        idle = _idle_mb(product.nodes)
        swarm = Swarm([product.nodes[0].url], "hub", n, tmp, product.credentials)
        base = _Bare(n, tmp)
        try:
            held = _hold(product.nodes, swarm, n, idle)
            out["held"] = held.held
            base.hold(int(held.manifest_bytes))
            hook = Webhook(product, n)
            warn, staff, bare, ids = [], [], [], []
            for _ in range(rounds):
                warn.append(_timed_round(swarm, held.held, hook.alert))
                hook.cancel_last()
                time.sleep(2)
                bare.append(base.round("broadcast", BROADCAST_BYTES))
                staff.append(_timed_round(swarm, held.held,
                                          lambda: _send_broadcast(product, ids)))
                _cancel_broadcasts(product, ids)
                time.sleep(2)
            out["warning"] = _median_rounds(warn)
            out["staff_broadcast"] = _median_rounds(staff)
            out["bare"] = _median_rounds(bare)
            out["rounds"] = {"warning": [r.__dict__ for r in warn],
                             "bare": [r.__dict__ for r in bare],
                             "staff_broadcast": [r.__dict__ for r in staff],
                             "webhook_post_ms": [round(t, 1) for t in hook.post_ms]}
            out["post_ms"] = statistics.median(hook.post_ms)
            first = product.api("GET", f"/warnings/{hook.message_ids[0]}").json()
            out["matched"] = len(first.get("matched", []))
        finally:
            swarm.quit()
            base.stop()
    finally:
        for x in product.nodes:
            x.stop()
            _print_server_errors(x.log)
    return out


def run(quick: bool = False, counts: tuple[int, ...] | None = None,
        database: str | None = None) -> list[dict]:
    counts = counts or ((76,) if quick else (76, 1000))
    rounds = 3 if quick else ROUNDS
    figures: list[dict] = []
    parts = _parts()
    with tempfile.TemporaryDirectory() as tmp_:
        for n in counts:
            tmp = Path(tmp_) / f"warnings-{n}"
            tmp.mkdir()
            db_url = database or f"sqlite:///{tmp}/bench.db"
            print(f"   {n} terminals, one node, {'PostgreSQL' if database else 'SQLite'}, "
                  f"and {n} plain clients of the bare server", file=sys.stderr, flush=True)
            got = _rounds(n, tmp, db_url, rounds)
            figs = _timing_figures(f"warning_webhook_{n}", got["warning"], got["bare"],
                                   ("p50_ms", "p99_ms", "last_ms"), GOAL, n)
            for f in figs:
                key = f["name"].rsplit("_", 1)[1] + "_ms"
                f["detail"].update({"held": got["held"], "matched": got["matched"],
                                    "staff_broadcast_ms": round(got["staff_broadcast"][key], 1),
                                    "webhook_post_ms": round(got["post_ms"], 1), **parts,
                                    "rounds": got["rounds"]})
            figures += figs
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", help="comma-separated terminal counts, e.g. 76,1000")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--pg", action="store_true", help=f"on PostgreSQL ({PG_URL})")
    args = p.parse_args()
    counts = tuple(int(c) for c in args.counts.split(",")) if args.counts else None
    figures = run(quick=args.quick, counts=counts, database=PG_URL if args.pg else None)
    print(json.dumps(figures, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
