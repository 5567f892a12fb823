"""Signed manifests (#24): what signing adds to the server's manifest build, and what
verifying costs a player.

Figures:
- manifests_signed_1000_ms: `server.services.manifests.manifests()` for 1,000 terminals of
  the demo street (grown as bench_hub grows it, the demo's content scheduled), signed as
  the hub sends them; baseline: the same call in the same process with the signing step
  replaced, ABAB rounds, medians. Goal ≤ 1.1x.
- ed25519_sign_1000_statements_ms (informational): the signer signing the 1,000 manifest
  statements one by one (one Ed25519 signature each), against the unsigned build: what
  signing each manifest would add. The server does not: it signs the root of a Merkle tree
  over a batch's statements once per street (player/signatures.py), and each manifest
  carries its path, so this figure is what batch signing saves.
- player_verify_manifest_us: `player.trust.verify_manifest` on one of those manifests (after
  a trip through JSON, as the player receives it) with the street's key trusted; baseline:
  `player.manifest_store.Manifest.from_dict` on the same manifest, which the player does
  to every manifest anyway. Median of many single calls.

The unsigned baseline: the manifest module calls `_sign` once per batch with the plan and
blob-list digests it computes for the statements; for the baseline rounds `_sign` becomes a
no-op and the module's `sig` (player/signatures.py) gives constant digests, so every
hashing and signing step that exists only for the signature is left out and nothing else
changes (same session, same queries, same plans). Patched and unpatched rounds alternate.

Run alone: `.venv/bin/python -m bench.bench_signing [--quick]` prints JSON.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
N = 1000


def _flask(env: dict, *args: str) -> None:
    done = subprocess.run([str(BIN / "flask"), "--app", "server", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")


def _database(tmp: Path) -> dict[str, str]:
    """The demo street with its content, 东和 grown to N terminals (bench_hub's way)."""
    env = {**os.environ, "SIGNAGE_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
           "SIGNAGE_DATA_DIR": str(tmp), "SIGNAGE_ADMIN_PASSWORD": "bench-password-123",
           "SIGNAGE_DEMO_PASSWORD": "bench-password-123", "SIGNAGE_ASYNC_MODE": "threading",
           "SIGNAGE_SCHEDULER": "off"}
    _flask(env, "init")
    _flask(env, "seed-demo", "--content")
    subprocess.run([sys.executable, "-m", "bench.bench_hub", "--setup", str(N)], env=env,
                   cwd=ROOT, capture_output=True, text=True, check=True)
    return env


@contextlib.contextmanager
def unsigned() -> Iterator[None]:
    """The manifest build with its signing step replaced (see the module's docstring)."""
    from server.services import manifests

    plain = types.SimpleNamespace(**{k: getattr(manifests.sig, k)
                                     for k in dir(manifests.sig) if not k.startswith("__")})
    plain.plan_digest = lambda _plan: ""
    plain.digest = lambda _obj: ""
    with mock.patch.object(manifests, "_sign", lambda *_a, **_k: None), \
            mock.patch.object(manifests, "sig", plain):
        yield


def _build_rounds(env: dict[str, str], rounds: int) -> tuple[list[float], list[float], dict]:
    os.environ.update({k: env[k] for k in ("SIGNAGE_DATABASE_URL", "SIGNAGE_DATA_DIR",
                                           "SIGNAGE_ASYNC_MODE", "SIGNAGE_SCHEDULER")})
    from sqlalchemy import select

    from player import signatures as sig
    from server import create_app
    from server.db import db, utcnow
    from server.models import Building, Community, Terminal
    from server.services import manifests, signing

    app = create_app()
    with app.app_context():
        terminals = list(db.scalars(
            select(Terminal).join(Building).join(Community).where(Community.name == "东和")
            .order_by(Terminal.id).limit(N)))
        assert len(terminals) == N, len(terminals)
        now = utcnow()
        signed_ms: list[float] = []
        plain_ms: list[float] = []

        def once(sign: bool) -> dict:
            db.info.pop(signing.CACHE, None)  # each batch reads its street's key, as the hub's
            gc.collect()  # neither side pays for the other's garbage
            t0 = time.perf_counter()
            if sign:
                out = manifests.manifests(db, terminals, now)
            else:
                with unsigned():
                    out = manifests.manifests(db, terminals, now)
            (signed_ms if sign else plain_ms).append((time.perf_counter() - t0) * 1000)
            return out

        once(True)  # warm: the street's first key, caches, imports
        once(False)
        signed_ms.clear()
        plain_ms.clear()
        built: dict = {}
        for r in range(rounds):
            for sign in ((True, False) if r % 2 == 0 else (False, True)):
                out = once(sign)
                if sign:
                    built = out
        sample = built[terminals[0].id]
        assert "signature" in sample
        seal = signing.current(db, terminals[0].building.community.street_id)
        # The floor: the signer's Ed25519 signatures alone, one statement per terminal.
        statements = [sig.manifest_statement(m) for m in built.values()]
        sign_ms = []
        for _ in range(rounds):
            gc.collect()
            t0 = time.perf_counter()
            signing.signer().sign(seal.key_id, statements)
            sign_ms.append((time.perf_counter() - t0) * 1000)
        db.commit()
    return signed_ms, plain_ms, {"manifest": sample, "trusted": {seal.key_id: seal.public_key},
                                 "sign_ms": statistics.median(sign_ms)}


def _per_call_us(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(times)


def _verify(sample: dict, calls: int) -> tuple[float, float, int]:
    from player.manifest_store import Manifest
    from player.trust import verify_manifest

    text = json.dumps(sample["manifest"], ensure_ascii=False)
    m = json.loads(text)  # as the player receives it
    trusted = sample["trusted"]
    verify_manifest(m, m["version"], trusted)  # raises if it does not verify
    v: list[float] = []
    p: list[float] = []
    for _ in range(5):  # alternate, so both see the same machine
        v.append(_per_call_us(lambda: verify_manifest(m, m["version"], trusted), calls // 5))
        p.append(_per_call_us(lambda: Manifest.from_dict(m), calls // 5))
    verify_us, parse_us = statistics.median(v), statistics.median(p)
    return verify_us, parse_us, len(text.encode())


def run(quick: bool = False) -> list[dict]:
    rounds = 3 if quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        env = _database(Path(tmp))
        signed_ms, plain_ms, sample = _build_rounds(env, rounds)
    signed, plain = statistics.median(signed_ms), statistics.median(plain_ms)
    print(f"   signed rounds {[round(x) for x in signed_ms]} ms, unsigned "
          f"{[round(x) for x in plain_ms]} ms", file=sys.stderr)
    verify_us, parse_us, size = _verify(sample, 1000 if quick else 5000)
    return [
        {"name": f"manifests_signed_{N}_ms", "value": round(signed, 1), "unit": "ms",
         "baseline": round(plain, 1), "ratio": round(signed / plain, 3),
         "goal": "≤ 1.1x the same build unsigned (ABAB, medians)"},
        {"name": f"ed25519_sign_{N}_statements_ms", "value": round(sample["sign_ms"], 1),
         "unit": "ms", "baseline": round(plain, 1), "ratio": round(sample["sign_ms"] / plain, 3),
         "goal": "informational: the signer's signatures alone, against the unsigned build"},
        {"name": "player_verify_manifest_us", "value": round(verify_us, 1), "unit": "µs",
         "baseline": round(parse_us, 1), "ratio": round(verify_us / parse_us, 3),
         "goal": f"informational: per manifest ({size:,} bytes of JSON), against parsing it"},
    ]


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2, ensure_ascii=False))
