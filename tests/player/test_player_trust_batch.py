"""Manifests signed in a batch (player/signatures.py `merkle`, player/trust.py): one
signature over the root of a Merkle tree of the batch's statements, each manifest carrying
its path. Every size verifies; a path that does not lead from this manifest's own statement
to the signed root is refused as `bad_signature`, as is a malformed path."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from fake_server import FakeServer
from player_helpers import Signer
from test_player_trust import RED, build, refusal, terminal

from player import signatures as S
from player.trust import Refused, verify_manifest


@pytest.fixture
def key() -> Signer:
    return Signer()


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def _manifest(n: int) -> dict[str, Any]:
    """A small manifest of terminal `n` (what a batch differs in: terminal and plan)."""
    return {"format": 2, "version": 5, "generated_at": "2026-12-07T02:00:00Z",
            "terminal": {"id": n, "name": f"T{n}", "width": 64, "height": 32},
            "plan": {"terminal_id": n, "schedules": [], "fallback": None},
            "blobs": [{"sha256": hashlib.sha256(b"%d" % n).hexdigest(), "size": n + 1,
                       "mime": "image/png"}]}


def sign_batch(key: Signer, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the server does (server/services/signing.py sign_batch), with a test key."""
    statements = [S.manifest_statement(m) for m in batch]
    if len(batch) == 1:
        return [key.manifest(batch[0])]
    root, paths = S.merkle([S.leaf(x) for x in statements])
    block = key._sig(S.batch_statement(root.hex()))
    # Through JSON on the wire a step is a list: so here too.
    return [{**m, S.SIGNATURE: {**block, "path": [list(step) for step in path]}}
            for m, path in zip(batch, paths, strict=True)]


def _refused(m: dict[str, Any], key: Signer) -> str:
    with pytest.raises(Refused) as e:
        verify_manifest(m, None, {key.kid: key.public})
    return e.value.reason


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 MTH, written as the RFC does: split at the largest power of
    two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return S.node(rfc6962_root(leaves[:k]), rfc6962_root(leaves[k:]))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 1000])
def test_every_manifest_of_a_batch_verifies_under_one_signature(key, n) -> None:
    signed = sign_batch(key, [_manifest(i) for i in range(n)])
    for m in signed:
        assert verify_manifest(m, 5, {key.kid: key.public}) is None
    sigs = {m[S.SIGNATURE]["sig"] for m in signed}
    assert len(sigs) == 1  # one signature for the whole batch
    if n == 1:  # a batch of one is signed exactly as before: no path
        assert "path" not in signed[0][S.SIGNATURE]
    else:
        longest = max(len(m[S.SIGNATURE]["path"]) for m in signed)
        assert longest == (n - 1).bit_length()  # log2(n) hashes per manifest


@pytest.mark.parametrize("n", [2, 3, 5, 7, 8, 13, 100])
def test_the_tree_is_rfc_6962s(n) -> None:
    leaves = [S.leaf(b"statement %d" % i) for i in range(n)]
    root, paths = S.merkle(leaves)
    assert root == rfc6962_root(leaves)
    assert all(S.root_from(x, p) == root for x, p in zip(leaves, paths, strict=True))
    assert S.leaf(b"x") != S.node(b"", b"x")  # leaves and nodes never hash alike


def test_a_manifest_moved_to_anothers_path_is_refused(key) -> None:
    a, b, *_ = sign_batch(key, [_manifest(i) for i in range(5)])
    moved = copy.deepcopy(a)
    moved[S.SIGNATURE]["path"] = b[S.SIGNATURE]["path"]
    assert _refused(moved, key) == "bad_signature"
    # Another's body under this one's path: the same.
    swapped = {**copy.deepcopy(b), S.SIGNATURE: a[S.SIGNATURE]}
    assert _refused(swapped, key) == "bad_signature"


@pytest.mark.parametrize("step", [0, -1])
def test_a_flipped_bit_or_side_in_the_path_is_refused(key, step) -> None:
    m = sign_batch(key, [_manifest(i) for i in range(5)])[1]
    flipped = copy.deepcopy(m)
    side, h = flipped[S.SIGNATURE]["path"][step]
    flipped[S.SIGNATURE]["path"][step] = [side, f"{int(h[0], 16) ^ 1:x}" + h[1:]]
    assert _refused(flipped, key) == "bad_signature"
    sided = copy.deepcopy(m)
    sided[S.SIGNATURE]["path"][step][0] = "L" if side == "R" else "R"
    assert _refused(sided, key) == "bad_signature"
    dropped = copy.deepcopy(m)
    del dropped[S.SIGNATURE]["path"][step]
    assert _refused(dropped, key) == "bad_signature"


def test_an_edited_manifest_in_a_batch_is_refused(key) -> None:
    signed = sign_batch(key, [_manifest(i) for i in range(3)])
    edited = copy.deepcopy(signed[2])
    edited["blobs"][0]["size"] += 1
    assert _refused(edited, key) == "bad_signature"
    older = copy.deepcopy(signed[0])
    with pytest.raises(Refused) as e:  # in a batch, an older version is still a replay
        verify_manifest(older, 6, {key.kid: key.public})
    assert e.value.reason == "replayed"
    assert _refused(signed[0], Signer()) == "unknown_key"


@pytest.mark.parametrize("path", [
    "ab" * 32,                                  # not a list
    [["L"]],                                    # a step of one
    [["X", "ab" * 32]],                         # no such side
    [["L", "zz" * 32]],                         # not hex
    [["L", "ab" * 31]],                         # too short
    [["L", "ab " * 21 + "a"]],                  # 64 characters, spaces that fromhex skips
    [["L", 7]],                                 # not a string
    [{"L": "ab" * 32}],                         # not a pair
    [["L", "ab" * 32]] * (S.MAX_PATH + 1),      # longer than any batch
])
def test_a_malformed_path_is_a_bad_signature(key, path) -> None:
    m = copy.deepcopy(sign_batch(key, [_manifest(i) for i in range(3)])[0])
    m[S.SIGNATURE]["path"] = path
    assert _refused(m, key) == "bad_signature"


def test_a_player_takes_a_batch_signed_manifest_and_refuses_a_moved_one(server, tmp_path,
                                                                        key) -> None:
    batch = sign_batch(key, [build(server, 1, [RED]), _manifest(2), _manifest(3)])
    t = terminal(server, tmp_path, [key])
    try:
        t.apply_ack({"manifest": batch[0]}, None, None)
        assert t.store.version == 1 and refusal(t) is None
        moved = {**batch[1], "version": 2,
                 S.SIGNATURE: {**batch[1][S.SIGNATURE], "path": batch[0][S.SIGNATURE]["path"]}}
        t.apply_ack({"manifest": moved}, None, None)
        assert t.store.version == 1
        got = refusal(t)
        assert (got["what"], got["reason"]) == ("manifest", "bad_signature")
    finally:
        t.stop(flush_timeout_s=0)
