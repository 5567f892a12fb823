"""The street keys this player trusts, and the checks every manifest and broadcast passes.

`<data>/trust.json` (atomic replace, like every file in the data folder):
    {"keys": [{key_id, public_key, endorsed_by, source, at}...],   # trusted, oldest first
     "retired": [{key_id, public_key, replaced_by, at}...],        # endorsers, never again
     "newest": key_id | null}

Keys come from pairing (the poll answer's `keys`: they replace the keyring, which is how an
emergency re-key reaches a screen), from `--trust-key` (added unless retired) and from a
planned rotation: a manifest or broadcast signed by a new key that carries the new key's
endorsement by a trusted key teaches the new key and retires its endorser, so a stolen old
key cannot sign any more. With no key held (an old player) nothing is checked.

What a signature covers is `player/signatures.py`. A signature with a `path` was made once
for a batch: the root is recomputed from this object's statement and the path, and the
signature checked over `batch_statement(root)`; a malformed path is `bad_signature`. The
checks raise `Refused` naming the reason STATUS reports (player/protocol.py REFUSAL_REASONS).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from player import signatures as S
from player.files import atomic_write_json, read_json
from player.protocol import KEY_ID_RE, iso

log = logging.getLogger(__name__)
FILE_NAME = "trust.json"


class Refused(Exception):  # noqa: N818 (the contract's word: a refusal, not an error)
    """A manifest, broadcast or blob the player will not use; `reason` is the contract's."""

    def __init__(self, what: str, reason: str, *, version: int | None = None,
                 sha256: str | None = None, detail: str = "") -> None:
        super().__init__(f"{what} refused ({reason})" + (f": {detail}" if detail else ""))
        self.what, self.reason, self.version, self.sha256 = what, reason, version, sha256
        self.detail = detail

    def report(self, at: datetime) -> dict[str, Any]:
        """The STATUS `trust.refused` object."""
        return {"what": self.what, "reason": self.reason, "at": iso(at),
                "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Endorsed:
    """A key that a trusted key endorsed: learn it, retire the endorser."""

    key_id: str
    public_key: str
    endorsed_by: str


def parse_public_key(text: Any) -> tuple[str, str]:
    """(key_id, canonical base64) of a base64 Ed25519 public key; ValueError if it is not one."""
    if not isinstance(text, str):
        raise ValueError("a public key must be a base64 string")
    try:
        raw = S.unb64(text.strip())
    except ValueError:
        raise ValueError("a public key must be base64") from None
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (44 base64 characters)")
    return S.key_id(raw), S.b64(raw)


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _endorsement(what: str, key: Any, kid: str, trusted: Mapping[str, str], *,
                 version: int | None, sha256: str | None) -> Endorsed:
    """The carried `key` block for the signing key `kid`, checked against the trusted keys."""
    def refuse(detail: str, reason: str = "endorsement") -> Refused:
        return Refused(what, reason, version=version, sha256=sha256, detail=detail)

    if key is None:
        raise refuse(f"signed by key {kid}, which this screen does not trust", "unknown_key")
    if not isinstance(key, dict) or key.get("key_id") != kid:
        raise refuse(f"the carried key is not the signing key {kid}")
    try:
        carried_id, public = parse_public_key(key.get("public_key"))
    except ValueError as e:
        raise refuse(str(e)) from None
    endorser = key.get("endorsed_by")
    if carried_id != kid:
        raise refuse(f"the carried public key is {carried_id}, not {kid}")
    if not isinstance(endorser, str) or endorser not in trusted:
        raise refuse(f"key {kid} is endorsed by {endorser!r}, which this screen does not trust")
    sig = key.get("endorsement")
    if not isinstance(sig, str) or not S.verify(trusted[endorser],
                                                 S.key_statement(kid, key["public_key"]), sig):
        raise refuse(f"the endorsement of key {kid} by {endorser} does not verify")
    return Endorsed(kid, public, endorser)


def _check(what: str, obj: dict[str, Any], statement: Callable[[], bytes],
           trusted: Mapping[str, str], *, version: int | None = None,
           sha256: str | None = None) -> Endorsed | None:
    """Raise Refused unless `obj`'s signature verifies with a trusted key or an endorsed one.
    Returns the endorsement it carried when that checks out (a rotation to act on)."""
    sig = obj.get(S.SIGNATURE)
    if sig is None:
        raise Refused(what, "unsigned", version=version, sha256=sha256)
    if (not isinstance(sig, dict) or sig.get("alg") != S.ALG
            or not isinstance(sig.get("key_id"), str) or not KEY_ID_RE.match(sig["key_id"])
            or not isinstance(sig.get("sig"), str)):
        raise Refused(what, "bad_signature", version=version, sha256=sha256,
                      detail="the signature block is malformed")
    kid = sig["key_id"]
    learned: Endorsed | None = None
    public = trusted.get(kid)
    if public is None:
        learned = _endorsement(what, obj.get(S.KEY), kid, trusted, version=version,
                               sha256=sha256)
        public = learned.public_key
    elif obj.get(S.KEY) is not None:
        # Signed by a key held already (pairing during a rotation gives both): a valid
        # endorsement still says the rotation happened, so the endorser is retired too.
        try:
            learned = _endorsement(what, obj[S.KEY], kid, trusted, version=version,
                                   sha256=sha256)
        except Refused:
            learned = None
    # Signed in a batch: the signature is over the root of a Merkle tree, and the path
    # leads from this object's statement to it (player/signatures.py).
    path = sig.get("path")
    try:
        signed = statement()
        if path is not None:
            try:
                root = S.root_from(S.leaf(signed), path)
            except ValueError as e:
                raise Refused(what, "bad_signature", version=version, sha256=sha256,
                              detail=f"the signature's path is malformed: {e}") from None
            signed = S.batch_statement(root.hex())
        good = S.verify(public, signed, sig["sig"])
    except (KeyError, TypeError, ValueError, AttributeError):
        good = False  # a manifest too malformed to state cannot carry a valid signature
    if not good:
        raise Refused(what, "bad_signature", version=version, sha256=sha256,
                      detail=f"the signature by key {kid} does not verify")
    return learned


def verify_manifest(raw: Any, held_version: int | None,
                    trusted: Mapping[str, str]) -> Endorsed | None:
    """Check a manifest against `trusted` ({key_id: public key base64}): signed by a trusted
    or endorsed key, and not older than `held_version`. Raises Refused; changes nothing."""
    if not isinstance(raw, dict):
        raise Refused("manifest", "unsigned", detail="not an object")
    version = _int_or_none(raw.get("version"))
    learned = _check("manifest", raw, lambda: S.manifest_statement(raw), trusted,
                     version=version)
    if held_version is not None and version is not None and version < held_version:
        raise Refused("manifest", "replayed", version=version,
                      detail=f"version {version} is older than the {held_version} held")
    return learned


def verify_broadcast(payload: Any, trusted: Mapping[str, str]) -> Endorsed | None:
    """Check a broadcast payload against `trusted`. Raises Refused; changes nothing."""
    if not isinstance(payload, dict):
        raise Refused("broadcast", "unsigned", detail="not an object")
    sha = payload.get("sha256") if isinstance(payload.get("sha256"), str) else None
    return _check("broadcast", payload, lambda: S.broadcast_statement(payload), trusted,
                  sha256=sha)


class Keyring:
    """trust.json: what this player trusts. Safe to use from any thread."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._lock = threading.Lock()
        self._keys: list[dict[str, Any]] = []
        self._retired: list[dict[str, Any]] = []
        # A trust.json that exists but cannot be read (written atomically, so only by hand
        # or by damage) must not turn this screen into one that accepts anything.
        self.broken = False
        if self.path.exists():
            raw = read_json(self.path)
            try:
                self._keys = [dict(k) for k in raw["keys"]]
                self._retired = [dict(k) for k in raw.get("retired", [])]
                for k in self._keys:
                    if parse_public_key(k["public_key"])[0] != k["key_id"]:
                        raise ValueError(f"key {k['key_id']} does not match its public key")
            except (TypeError, KeyError, ValueError) as e:
                log.error("%s cannot be read (%s): refusing every signed object until this "
                          "screen is paired again", self.path, e)
                self._keys, self._retired, self.broken = [], [], True

    # --- what is trusted ---------------------------------------------------------------

    @property
    def holds_keys(self) -> bool:
        """False: an old player (or one never given a key): nothing is checked."""
        return bool(self._keys) or self.broken

    @property
    def newest(self) -> str | None:
        """The newest trusted key (HELLO's trust.key_id)."""
        with self._lock:
            return self._keys[-1]["key_id"] if self._keys else None

    def trusted(self) -> dict[str, str]:
        with self._lock:
            return {k["key_id"]: k["public_key"] for k in self._keys}

    def retired(self) -> set[str]:
        with self._lock:
            return {k["key_id"] for k in self._retired}

    def _save(self) -> None:
        atomic_write_json(self.path, {"keys": self._keys, "retired": self._retired,
                                      "newest": self._keys[-1]["key_id"] if self._keys
                                      else None})

    def _entry(self, kid: str, public: str, source: str,
               endorsed_by: str | None = None) -> dict[str, Any]:
        return {"key_id": kid, "public_key": public, "endorsed_by": endorsed_by,
                "source": source, "at": iso(datetime.now(UTC))}

    # --- where keys come from ------------------------------------------------------------

    def add(self, public_key: str, source: str = "option") -> str | None:
        """Trust a key given on the command line (`--trust-key`), unless a rotation retired
        it (an old key given at every start must not come back). Returns its id if held."""
        kid, public = parse_public_key(public_key)
        with self._lock:
            if any(k["key_id"] == kid for k in self._retired):
                log.warning("not trusting key %s from %s: a rotation retired it", kid, source)
                return None
            if not any(k["key_id"] == kid for k in self._keys):
                self._keys.append(self._entry(kid, public, source))
                self.broken = False
                self._save()
                log.info("trusting signing key %s (%s)", kid, source)
        return kid

    def replace(self, keys: Any, source: str = "pairing") -> list[str]:
        """The keys the server gave at pairing replace everything (emergency re-key).
        Malformed entries are skipped and logged; returns the ids now trusted."""
        fresh: list[dict[str, Any]] = []
        for n, k in enumerate(keys if isinstance(keys, list) else []):
            try:
                kid, public = parse_public_key(k.get("public_key") if isinstance(k, dict)
                                               else None)
                if k.get("key_id") not in (None, kid):
                    raise ValueError(f"key_id {k.get('key_id')!r} is not the key's id {kid}")
            except ValueError as e:
                log.error("pairing: ignoring key %d: %s", n, e)
                continue
            if not any(f["key_id"] == kid for f in fresh):
                fresh.append(self._entry(kid, public, source))
        with self._lock:
            self._keys, self.broken = fresh, False
            self._retired = [r for r in self._retired
                             if not any(f["key_id"] == r["key_id"] for f in fresh)]
            self._save()
        log.info("pairing: trusting signing keys %s", [f["key_id"] for f in fresh] or "none")
        return [f["key_id"] for f in fresh]

    def learn(self, endorsed: Endorsed | None) -> None:
        """After an object signed with an endorsed key was accepted: trust the new key and
        stop trusting its endorser."""
        if endorsed is None:
            return
        with self._lock:
            old = next((k for k in self._keys if k["key_id"] == endorsed.endorsed_by), None)
            known = any(k["key_id"] == endorsed.key_id for k in self._keys)
            if old is None and known:
                return  # already done
            if not known:
                self._keys.append(self._entry(endorsed.key_id, endorsed.public_key,
                                              "endorsement", endorsed.endorsed_by))
            if old is not None:
                self._keys.remove(old)
                self._retired.append({"key_id": old["key_id"], "public_key": old["public_key"],
                                      "replaced_by": endorsed.key_id,
                                      "at": iso(datetime.now(UTC))})
            self._save()
        log.warning("signing key rotated: now trusting %s, no longer %s", endorsed.key_id,
                    endorsed.endorsed_by)

    # --- checks (raise Refused; learn nothing: call learn() once the object is taken) ----

    def _keys_for(self, saved: bool) -> dict[str, str]:
        """What may have signed: the trusted keys; for a file this player saved itself (it
        was checked as it arrived, and is checked again for edits), the retired ones too, so
        a manifest saved just before a rotation still plays after a restart."""
        keys = self.trusted()
        if saved:
            with self._lock:
                keys.update({k["key_id"]: k["public_key"] for k in self._retired})
        return keys

    def verify_manifest(self, raw: Any, held_version: int | None, *,
                        saved: bool = False) -> Endorsed | None:
        if not self.holds_keys:
            return None  # an old player: as before signing
        return verify_manifest(raw, held_version, self._keys_for(saved))

    def verify_broadcast(self, payload: Any, *, saved: bool = False) -> Endorsed | None:
        if not self.holds_keys:
            return None
        return verify_broadcast(payload, self._keys_for(saved))
