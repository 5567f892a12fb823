"""What a street's Ed25519 signature covers, shared by the server (which signs) and the
player (which verifies): the one definition of the signed bytes.

A signed object carries `"signature": {"alg": "ed25519", "key_id", "sig"}` and, when the
key is one the player may not know yet (after a planned rotation), `"key": {"key_id",
"public_key", "endorsed_by", "endorsement"}`: the new key, signed by the old one.

A manifest's signature covers a small statement, not the whole manifest: its identity
fields and the SHA-256 of its plan and of its blob list (canonical JSON). A fleet shares a
handful of plans, so the server hashes each shared plan once and signs a few hundred bytes
per terminal; the player hashes what it received and compares. Every blob the player
fetches is checked against the sha256 the signed list names, so files are covered too.

A batch of manifests (the hub answers a fleet's SYNCs together) is signed once: the
statements are the leaves of a Merkle tree (RFC 6962's hashing: a 0x00 prefix for leaves,
0x01 for nodes, an odd node promoted unchanged), the key signs `batch_statement(root)`, and
each manifest carries its path of sibling hashes (`signature.path`, log2(n) steps). The
player recomputes the root from its own statement. A batch of one has no path: its
signature is over the statement itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALG = "ed25519"
SIGNATURE = "signature"
KEY = "key"


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)  # made once: json.dumps makes one a call


def canonical(obj: Any) -> bytes:
    """The bytes hashed and signed: sorted keys, no spaces, UTF-8, no NaN. The same value
    gives the same bytes after a trip through msgpack or JSON (tuples become lists)."""
    return _CANONICAL.encode(obj).encode()


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def public_raw(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: bytes) -> str:
    """A key's name: the first 16 hex digits of the SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(public).hexdigest()[:16]


def plan_digest(plan: dict[str, Any]) -> str:
    """The plan's hash without its terminal_id (which the statement carries itself), so a
    plan shared by many terminals is hashed once."""
    return digest({k: v for k, v in plan.items() if k != "terminal_id"})


def manifest_statement(m: dict[str, Any], *, plan_sha: str | None = None,
                       blobs_sha: str | None = None) -> bytes:
    """What a manifest's signature covers; `plan_sha`/`blobs_sha`: already computed."""
    plan = m["plan"]
    return canonical({
        "kind": "manifest",
        "format": m.get("format"),
        "version": m["version"],
        "terminal": m["terminal"],
        "terminal_id": plan.get("terminal_id") if isinstance(plan, dict) else None,
        "generated_at": m.get("generated_at"),
        "plan": plan_sha or plan_digest(plan),
        "blobs": blobs_sha or digest(m.get("blobs") or []),
    })


def broadcast_statement(payload: dict[str, Any]) -> bytes:
    """What a broadcast's signature covers: every field but the signature and key."""
    return canonical({"kind": "broadcast",
                      **{k: v for k, v in payload.items() if k not in (SIGNATURE, KEY)}})


def key_statement(new_key_id: str, public_key_b64: str) -> bytes:
    """What the old key signs to endorse its successor (planned rotation)."""
    return canonical({"kind": "key", "key_id": new_key_id, "public_key": public_key_b64})


# --- batches: one signature over the root of a Merkle tree of statements ---------------

MAX_PATH = 40  # 2**40 leaves: far beyond any batch; a longer path is malformed
LEFT, RIGHT = "L", "R"  # the side the sibling hash is on


def leaf(statement: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + statement).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle(leaves: list[bytes]) -> tuple[bytes, list[list[tuple[str, str]]]]:
    """(root, paths) of a tree over `leaves` (leaf hashes): paths[i] is the list of
    (side, sibling hex) from leaf i up to the root. Built level by level, pairing
    neighbours; an odd last node goes up unchanged (no step at that level), which gives
    RFC 6962's tree. Paths are made top-down (a node's path is its step plus its parent's),
    so the work is one step per node, not per leaf and level."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        up = [node(below[j], below[j + 1]) for j in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            up.append(below[-1])
        levels.append(up)
    paths: list[list[tuple[str, str]]] = [[]]
    for level in reversed(levels[:-1]):
        n = len(level)
        down: list[list[tuple[str, str]]] = []
        for j in range(n):
            above = paths[j >> 1]
            if j & 1:
                down.append([(LEFT, level[j - 1].hex()), *above])
            elif j + 1 < n:
                down.append([(RIGHT, level[j + 1].hex()), *above])
            else:
                down.append(above)  # promoted unchanged: the same path as its parent
        paths = down
    return levels[-1][0], paths


def root_from(leaf_hash: bytes, path: Any) -> bytes:
    """The root a leaf and its path lead to. ValueError if the path is malformed (not a
    list of ["L" | "R", 64 hex digits], or longer than MAX_PATH)."""
    if not isinstance(path, list) or len(path) > MAX_PATH:
        raise ValueError(f"a path is a list of at most {MAX_PATH} steps")
    h = leaf_hash
    for step in path:
        if (not isinstance(step, list | tuple) or len(step) != 2 or step[0] not in (LEFT, RIGHT)
                or not isinstance(step[1], str) or len(step[1]) != 64):
            raise ValueError("a path step is [\"L\" or \"R\", 64 hex digits]")
        sibling = bytes.fromhex(step[1])  # ValueError on bad hex
        if len(sibling) != 32:  # fromhex skips spaces
            raise ValueError("a path step's hash is 32 bytes")
        h = node(sibling, h) if step[0] == LEFT else node(h, sibling)
    return h


def batch_statement(root_hex: str) -> bytes:
    """What the key signs for a batch: the root of the tree of the batch's statements."""
    return canonical({"kind": "batch", "root": root_hex})


def sign(private: Ed25519PrivateKey, statement: bytes) -> str:
    return b64(private.sign(statement))


def verify(public_b64: str, statement: bytes, sig_b64: str) -> bool:
    """True if `sig_b64` is the signature of `statement` by the key `public_b64`."""
    try:
        Ed25519PublicKey.from_public_bytes(unb64(public_b64)).verify(unb64(sig_b64), statement)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
