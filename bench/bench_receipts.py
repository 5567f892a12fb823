"""Publish receipts (issue #25): how long an approval takes to be "ready" on every screen,
and how fast the receipt of a street-wide change opens.

receipts_publish_ready_N (N = 1,000; --quick 200): the real server (gunicorn, one gevent
worker, as `make run` starts it, SQLite) holding N simulated terminals (bench/swarm.py
`--download`). Each round an editor replaces the file of an approved image that the
demo's all-day playlist plays on every screen (a new 1 MB PNG of random pixels: a pending
edit, submitted as it is saved); then, timed, the street admin approves it over the API.
The server swaps the file in, writes the receipt and nudges the screens; each terminal, as the player
does, answers the nudge with `sync`, takes the manifest, downloads the file it does not
hold from /terminal-api/v1/blobs/<sha> with its credential (hash-checked), and sends
`status` with the accepted `manifest_version`, `cache_ready` true and `download_percent`
null. The figure is the time from the approval request to the last terminal's `status`
answered (the swarm notes each); the receipt API is then asked and must say N ready.
Baseline, in the same run, rounds taken in turn with the product's (ABAB): the bare server
(bench/bare_server.py, the same gunicorn worker) emits one event to N plain clients, each
answers with an event whose ack is as large as the product's manifest, downloads the
same-sized new file over HTTP from that server and acks once more: the same round trips
and bytes with nothing decided. Goal ≤ 1.5x.

receipts_page_5000 (--quick 500): a street of 5,000 screens (东和 grown by bench_hub's
setup) and one real approval that reaches them all, so one receipt of 5,000 screens. Then,
in the database, 95 % of its screens are marked through all three stages and the rest left
as they are (never connected: offline). Signed in as the street admin through the login
form, each round GETs the receipt page (/receipts/<id>), the JSON its live update polls
(/receipts/<id>.json), the API's (/api/v1/receipts/<id>, with a token) and a light staff
page of the same server (/account/, the baseline), in turn; 3 warm-up rounds, then
ROUNDS_PAGE timed; medians (figures receipts_page_N, receipts_live_N, receipts_api_N). Goal: the page's median ≤ 300 ms (a page a person
opens and watches: what bench_report_page asks of the report page too).

Run alone: `.venv/bin/python -m bench.bench_receipts [--quick] [--only ready|page]`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench import bench_hub as hub
from bench.bench_hub import ADMIN_PASSWORD, ROOT, Node, Product, Swarm

BLOB_BYTES = 1_000_000
ROUNDS = 5
ROUNDS_PAGE = 20
WARMUP_PAGE = 3
DONE_SHARE = 0.95  # of the 5,000 screens, through all three stages in receipts_page
ITEM_TITLE = "回执压测图片"


def noise_png(seed: int) -> bytes:
    """A PNG of random pixels (it does not compress): about BLOB_BYTES, new every round."""
    import random

    from PIL import Image

    side = int((BLOB_BYTES / 3) ** 0.5)
    pixels = random.Random(seed).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


# --- set-up, inside the server's environment ------------------------------------------


def setup(n: int) -> None:
    """Grow 东和 to n screens (bench_hub.setup_terminals, which prints the street admin's
    token), then print the editor's token and the id of an approved image that the demo's
    all-day playlist plays on every screen."""
    from sqlalchemy import select

    from bench.bench_hub import setup_terminals
    from content import Limits
    from server import create_app
    from server.db import db
    from server.models import Playlist, User
    from server.services import accounts, schedules
    from server.services import content as content_svc
    from server.services.access import Actor
    from server.services.demo import DEMO_PLAYLIST
    from server.storage import blob_store

    setup_terminals(n)
    app = create_app()
    with app.app_context():
        def actor(name: str) -> Actor:
            return Actor.of(db.scalar(select(User).where(User.username == name)))

        editor, reviewer = actor("donghe_editor"), actor("donghe_reviewer")
        playlist = db.scalar(select(Playlist).where(Playlist.name == DEMO_PLAYLIST))
        topic = playlist.entries[0].content.topic_id
        item = content_svc.upload(
            db, editor, blob_store(), io.BytesIO(noise_png(0)), "bench.png",
            content_svc.Meta(title=ITEM_TITLE, topic_id=topic,
                             community_id=playlist.community_id), Limits())
        content_svc.submit(db, editor, item.id)
        content_svc.approve(db, reviewer, item.id)
        schedules.update_playlist(db, editor, playlist.id, entries=[
            *(schedules.EntryIn(e.content_id, e.duration_s) for e in playlist.entries),
            schedules.EntryIn(item.id, 10)])
        _tok, token = accounts.create_token(db, db.scalar(
            select(User).where(User.username == "donghe_editor")), "benchmark")
        db.commit()
        print(token, item.id)


def _product(n: int, tmp: Path) -> tuple[Product, str, int]:
    """The demo street with n screens on SQLite: the product, the editor's token and the
    image's id."""
    env = {**os.environ, "SIGNAGE_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
           "SIGNAGE_DATA_DIR": str(tmp), "SIGNAGE_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "SIGNAGE_DEMO_PASSWORD": ADMIN_PASSWORD, "SIGNAGE_ASYNC_MODE": "gevent"}
    hub._flask(env, "init")
    hub._flask(env, "seed-demo", "--content")
    out = subprocess.run([sys.executable, "-m", "bench.bench_receipts", "--setup", str(n)],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"set-up failed: {out.stderr[-2000:]}")
    admin, editor, item = out.stdout.split()[-3:]
    rows = list(csv.DictReader(io.StringIO(hub._flask(env, "terminals", "provision",
                                                  "--community", "东和"))))
    return Product(env, admin, [r["credential"] for r in rows][:n], 0), editor, int(item)


class Publisher:
    """The editor's new file (untimed), the admin's approval (timed)."""

    def __init__(self, product: Product, editor: str, item: int) -> None:
        self.product, self.item = product, item
        self.editor = {"Authorization": f"Bearer {editor}"}
        self.rounds = 0
        self.answered_ms: list[float] = []  # how long each approval request took

    def prepare(self) -> None:
        self.rounds += 1
        url = f"{self.product.nodes[0].url}/api/v1/content/{self.item}"
        r = requests.put(url + "/file", params={"filename": f"round-{self.rounds}.png"},
                         data=noise_png(self.rounds), headers=self.editor, timeout=120)
        if r.status_code != 200:  # a pending edit, submitted as it is saved
            raise RuntimeError(f"new file refused: {r.status_code} {r.text[:300]}")

    def approve(self) -> None:
        t0 = time.monotonic()
        r = self.product.api("POST", f"/content/{self.item}/approve")
        if r.status_code != 200:
            raise RuntimeError(f"approval refused: {r.status_code} {r.text[:300]}")
        self.answered_ms.append((time.monotonic() - t0) * 1000)

    def receipt(self) -> dict:
        """The latest receipt of the item, from the API."""
        r = self.product.api("GET", "/receipts")
        r.raise_for_status()
        latest = next(x for x in r.json() if (x["object_type"], x["object_id"], x["action"])
                      == ("content", self.item, "approved"))
        r = self.product.api("GET", f"/receipts/{latest['id']}")
        r.raise_for_status()
        return r.json()


def _bare_round(node: Node, swarm: Swarm, expected: int) -> object:
    def emit() -> None:
        requests.post(node.url + "/emit", json={"event": "manifest_changed", "payload_bytes": 0,
                                                "blob_bytes": BLOB_BYTES},
                      timeout=60).raise_for_status()

    return hub._timed_round(swarm, expected, emit, timeout=300)


def publish_ready(n: int, rounds: int, tmp: Path) -> dict:
    from tests.live import free_port

    product, editor, item = _product(n, tmp)
    node = hub._gunicorn("server.wsgi:app", product.env, free_port(), tmp / "server.log")
    product.nodes.append(node)
    bare = hub._gunicorn("bench.bare_server:app",
                         {**os.environ, "BARE_BLOBS": str(tmp / "bare")}, free_port(),
                         tmp / "bare.log")
    swarm = base = None
    out: dict = {"rounds": [], "bare_rounds": [], "receipts": []}
    try:
        swarm = Swarm([node.url], "hub", n, tmp, product.credentials, download=True)
        held = swarm.wait_connected(timeout=300)
        if held["connected"] < n:
            raise RuntimeError(f"only {held['connected']} of {n} connected: {held['errors']}")
        manifest_bytes = held["manifest_bytes"] // max(1, held["connected"])
        base = Swarm([bare.url], "bare", n, tmp, reply_bytes=manifest_bytes, download=True)
        base_held = base.wait_connected(timeout=300)
        out |= {"manifest_bytes": manifest_bytes, "held": held["connected"],
                "bare_held": base_held["connected"]}
        publisher = Publisher(product, editor, item)
        for _ in range(rounds):
            publisher.prepare()
            time.sleep(2)  # the upload's work (a job worker) settles before the timed part
            t0 = time.time()
            done = hub._timed_round(swarm, n, publisher.approve, timeout=300)
            # The figure is the receipt saying n ready: asked once every terminal had its
            # `status` answered, it is that terminal's time if it says so at once, or the
            # time it first did.
            receipt = publisher.receipt()
            at_once = receipt["stages"]["ready"] >= n
            while receipt["stages"]["ready"] < n and time.time() - t0 < 300:
                time.sleep(0.2)
                receipt = publisher.receipt()
            seen_ms = (time.time() - t0) * 1000
            if not at_once:
                done.last_ms = seen_ms
            out["rounds"].append(done)
            out["receipts"].append({"id": receipt["id"], "screens": receipt["screens"],
                                    **receipt["stages"], "seen_ms": round(seen_ms)})
            time.sleep(2)
            out["bare_rounds"].append(_bare_round(bare, base, base_held["connected"]))
            time.sleep(2)
        out["after"] = swarm.status()
        out["approve_ms"] = [round(t) for t in publisher.answered_ms]
        out["bare_after"] = base.status()
    finally:
        for s in (swarm, base):
            if s is not None:
                s.quit()
        node.stop()
        bare.stop()
        hub._print_server_errors(node.log)
    out["product"] = hub._median_rounds(out["rounds"])
    out["bare"] = hub._median_rounds(out["bare_rounds"])
    return out


# --- the receipt page ----------------------------------------------------------------


def _mark_done(database_url: str, receipt_id: int, share: float) -> int:
    """Mark the first `share` of the receipt's screens through every stage, as the hub
    and proof of play would have; returns how many."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, select, update

    from server.models import ReceiptScreen

    engine = create_engine(database_url)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(ReceiptScreen.terminal_id)
                                .where(ReceiptScreen.receipt_id == receipt_id)
                                .order_by(ReceiptScreen.terminal_id)))
        done = ids[:int(len(ids) * share)]
        now = datetime.now(UTC)
        conn.execute(update(ReceiptScreen).where(ReceiptScreen.receipt_id == receipt_id,
                                                 ReceiptScreen.terminal_id.in_(done))
                     .values(acked_at=now, ready_at=now, played_at=now, closed_at=now))
    engine.dispose()
    return len(done)


def receipt_page(n: int, rounds: int, tmp: Path) -> dict:
    from tests.live import free_port, login

    product, editor, item = _product(n, tmp)
    node = hub._gunicorn("server.wsgi:app", product.env, free_port(), tmp / "server.log")
    product.nodes.append(node)
    try:
        publisher = Publisher(product, editor, item)
        publisher.prepare()
        publisher.approve()
        receipt = publisher.receipt()
        done = _mark_done(product.env["SIGNAGE_DATABASE_URL"], receipt["id"], DONE_SHARE)
        session = login(node.url, "admin", ADMIN_PASSWORD)
        paths = {"page": f"/receipts/{receipt['id']}",
                 "live": f"/receipts/{receipt['id']}.json",
                 "api": f"/api/v1/receipts/{receipt['id']}", "account": "/account/"}
        bearer = {"Authorization": f"Bearer {product.token}"}
        times: dict[str, list[float]] = {k: [] for k in paths}
        for r in range(WARMUP_PAGE + rounds):
            for key, path in paths.items():
                t0 = time.perf_counter()
                got = (requests.get(node.url + path, headers=bearer, timeout=120)
                       if key == "api" else session.get(node.url + path, timeout=120))
                took = (time.perf_counter() - t0) * 1000
                if got.status_code != 200:
                    raise RuntimeError(f"GET {path}: {got.status_code} {got.text[:300]}")
                if r >= WARMUP_PAGE:
                    times[key].append(took)
        summary = requests.get(node.url + paths["api"], headers=bearer, timeout=120).json()
        return {"screens": summary["screens"], "stages": summary["stages"], "done": done,
                "laggards_listed": len(summary.get("laggards") or []),
                "page_bytes": len(session.get(node.url + paths["page"], timeout=120).content),
                **{f"{k}_ms": statistics.median(v) for k, v in times.items()},
                **{f"{k}_p95_ms": statistics.quantiles(v, n=20)[-1] for k, v in times.items()},
                "n": rounds}
    finally:
        node.stop()
        hub._print_server_errors(node.log)


# --- figures -------------------------------------------------------------------------


def run(quick: bool = False, only: str | None = None) -> list[dict]:
    n, page_n = (200, 500) if quick else (1000, 5000)
    rounds, page_rounds = (3, 5) if quick else (ROUNDS, ROUNDS_PAGE)
    figures: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-receipts-") as tmp_:
        if only in (None, "ready"):
            tmp = Path(tmp_) / "ready"
            tmp.mkdir()
            print(f"   {n} terminals downloading 1 MB, and {n} plain clients of the bare "
                  f"server, {rounds} rounds each", file=sys.stderr, flush=True)
            got = publish_ready(n, rounds, tmp)
            mine, base = got["product"], got["bare"]
            figures.append({
                "name": f"receipts_publish_ready_{n}", "value": round(mine["last_ms"], 1),
                "unit": "ms", "baseline": round(base["last_ms"], 1),
                "ratio": hub._ratio(mine["last_ms"], base["last_ms"]), "goal": "≤ 1.5x bare",
                "detail": {k: got[k] for k in ("held", "bare_held", "manifest_bytes",
                                               "approve_ms", "receipts")}
                | {"p50_ms": round(mine["p50_ms"], 1), "bare_p50_ms": round(base["p50_ms"], 1),
                   "answered": mine["answered"], "bare_answered": base["answered"],
                   "rounds_ms": [round(r.last_ms) for r in got["rounds"]],
                   "bare_rounds_ms": [round(r.last_ms) for r in got["bare_rounds"]],
                   "errors": got["after"]["errors"] + got["bare_after"]["errors"]}})
        if only in (None, "page"):
            tmp = Path(tmp_) / "page"
            tmp.mkdir()
            print(f"   the receipt of a change reaching {page_n} screens, {page_rounds} rounds",
                  file=sys.stderr, flush=True)
            got = receipt_page(page_n, page_rounds, tmp)
            for key in ("page", "live", "api"):
                figures.append({
                    "name": f"receipts_{key}_{page_n}", "value": round(got[f"{key}_ms"], 1),
                    "unit": "ms (median)", "baseline": round(got["account_ms"], 1),
                    "ratio": hub._ratio(got[f"{key}_ms"], got["account_ms"]),
                    "goal": "median ≤ 300 ms", "detail": {
                        "p95_ms": round(got[f"{key}_p95_ms"], 1), "n": got["n"],
                        "screens": got["screens"], "stages": got["stages"],
                        "laggards_listed": got["laggards_listed"],
                        "page_bytes": got["page_bytes"]}})
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", choices=("ready", "page"))
    p.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.setup:
        return setup(args.setup)
    print(json.dumps(run(quick=args.quick, only=args.only), ensure_ascii=False, indent=2,
                     default=str))


if __name__ == "__main__":
    main()
