"""HTTP for terminals: pairing and blob downloads (never media over the socket)."""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

from flask import Blueprint, abort, jsonify, request

from player import protocol
from server.db import db, utcnow
from server.extensions import limiter
from server.models import Blob, Terminal
from server.services import broadcasts, fleet, manifests
from server.storage import send_blob

bp = Blueprint("terminal_api", __name__)


@bp.route(protocol.PAIRING_PATH, methods=["POST"])
@limiter.limit("30 per minute")
def start_pairing():
    code, token, expires = fleet.start_pairing(db)
    db.commit()
    return jsonify({"code": code, "poll_token": token, "expires_at": protocol.iso(expires)}), 201


@bp.route(protocol.PAIRING_POLL_PATH.replace("{poll_token}", "<poll_token>"))
@limiter.limit("120 per minute")
def poll_pairing(poll_token: str):
    state, answer = fleet.poll_pairing(db, poll_token)
    db.commit()
    if state == "pending":
        return jsonify({"status": "pending"}), 202
    if state == "unknown":
        return jsonify({"error": {"code": "not_found",
                                  "message": "no pairing with this token; start again"}}), 404
    return jsonify({"status": "paired", **answer, "server_time": protocol.iso(utcnow())})


# Blobs each terminal may fetch, by (terminal id, manifest version, credential): the list
# of the manifest the hub sent it (`note_sent`), else worked out from its plan (`_needed`:
# another node sent it, or this process started since). Worked out per terminal, the
# first download after a change cost each screen of the fleet a plan of its own, built in
# the event loop: 1,000 plans where the manifests took a few (bench/bench_receipts.py).
# The list keeps each blob's type, so such a download reads no Blob row either.
SENT_MAX = 20_000
_sent: OrderedDict[tuple[int, int, str], dict[str, str]] = OrderedDict()


def note_sent(built: dict[int, dict], credential_hashes: dict[int, str]) -> None:
    """The hub answered with these manifests (terminal id -> manifest)."""
    shared: dict[int, dict[str, str]] = {}  # terminals of one plan share one blob list
    for tid, m in built.items():
        blobs = m["blobs"]
        if id(blobs) not in shared:
            shared[id(blobs)] = {b["sha256"]: b["mime"] for b in blobs}
        _sent[(tid, m["version"], credential_hashes[tid])] = shared[id(blobs)]
    while len(_sent) > SENT_MAX:
        _sent.popitem(last=False)


@lru_cache(maxsize=4096)
def _needed(terminal_id: int, version: int) -> frozenset[str]:
    """Blobs a terminal may fetch: those of its current manifest (cached per version)."""
    t = db.get(Terminal, terminal_id)
    plan = manifests.build_plan(db, t)
    now = utcnow()
    return frozenset(manifests.blobs_for(plan, now - manifests.HORIZON, now + 2 * manifests.HORIZON))


@bp.route(protocol.BLOB_PATH + "/<sha>")
def blob(sha: str):
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    # A plain row, not a Terminal: a fleet downloading after a change makes a thousand of
    # these requests in the one worker, and loading the ORM objects (Terminal, then Blob)
    # was most of their time (bench_receipts).
    t = fleet.credential_holder(db, credential.strip()) if scheme == "Bearer" else None
    if t is None:
        return jsonify({"error": {"code": "unauthorized",
                                  "message": "unknown or revoked terminal credential"}}), 401
    if not protocol.SHA256_RE.match(sha):
        abort(404)
    allowed = _sent.get((t.id, t.manifest_version, t.credential_hash))
    mime = allowed.get(sha) if allowed is not None else None
    if mime is None:
        if sha not in (allowed if allowed is not None else _needed(t.id, t.manifest_version)) \
                and not broadcasts.blob_allowed(db, db.get(Terminal, t.id), sha):
            abort(404)
        b = db.get(Blob, sha)
        if b is None:
            abort(404)
        mime = b.mime
    return send_blob(sha, mime)
