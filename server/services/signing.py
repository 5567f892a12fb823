"""A street's signing keys, and signing what its screens get (docs/security.md "Signed
content"). No Flask.

Each street signs with one current key (the newest not retired; the first is made on first
need). The public halves are SigningKey rows; the private halves are held by the signer
(server/signer.py): key files in this process, or a separate signer process.

- rotate: a new key endorsed by the current one (its signature over key_statement); signed
  objects carry the new key and its endorsement, so players move to it without a gap; the
  old key is retired at once.
- rekey (emergency, the old key lost or stolen): a new key with no endorsement, the old
  retired; players holding the old key refuse what it signs until they are paired again.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from player import signatures as sig
from server.db import utcnow
from server.models import Building, Community, SigningKey, Street, Terminal, TerminalState
from server.services import audit, changes, health
from server.services.access import Actor
from server.services.errors import N_, Conflict, Forbidden
from server.signer import Signer, SignerError

__all__ = ["Seal", "SignerError", "current", "rotate", "rekey", "use"]

_signer: list[Signer] = []  # the app's signer (server/web/signing.py sets it per app)
CACHE = "signing_seals"  # Session.info: street id -> Seal, for one session's work


def use(signer: Signer) -> None:
    _signer[:] = [signer]


def signer() -> Signer:
    if not _signer:
        raise SignerError("no signer configured")
    return _signer[0]


class Seal(NamedTuple):
    """What a street signs with now: the key's id, and the `key` block signed objects carry
    (the key and its endorsement) or None when the players know it from pairing."""

    key_id: str
    public_key: str
    key: dict | None


def _seal(k: SigningKey) -> Seal:
    block = ({"key_id": k.key_id, "public_key": k.public_key, "endorsed_by": k.endorsed_by,
              "endorsement": k.endorsement} if k.endorsement else None)
    return Seal(k.key_id, k.public_key, block)


def _current_row(s: Session, street_id: int) -> SigningKey | None:
    return s.scalar(select(SigningKey).where(SigningKey.street_id == street_id,
                                             SigningKey.retired_at.is_(None))
                    .order_by(SigningKey.id).limit(1))


def _new(s: Session, street_id: int, *, endorsed_by: SigningKey | None = None,
         emergency: bool = False) -> SigningKey:
    public = signer().new_key()
    kid = sig.key_id(sig.unb64(public))
    row = SigningKey(street_id=street_id, key_id=kid, public_key=public, activated_at=utcnow(),
                     emergency=emergency)
    if endorsed_by is not None:
        row.endorsed_by = endorsed_by.key_id
        row.endorsement = signer().sign(endorsed_by.key_id,
                                        [sig.key_statement(kid, public)])[0]
    s.add(row)
    s.flush()
    s.info.pop(CACHE, None)
    return row


def current_key(s: Session, street_id: int) -> SigningKey:
    """The street's current key, made on first need. The street row is locked first, so two
    workers meeting a street without a key make one between them."""
    row = _current_row(s, street_id)
    if row is None:
        s.execute(select(Street.id).where(Street.id == street_id).with_for_update())
        row = _current_row(s, street_id)
    if row is None:
        row = _new(s, street_id)
        audit.record(s, Actor.system(street_id, "system"), "create", "signing_key", row.id,
                     label=row.key_id, after={"key_id": row.key_id, "first": True})
    return row


def current(s: Session, street_id: int) -> Seal:
    """The street's seal, read once per session (a batch signs many objects with it)."""
    seals = s.info.setdefault(CACHE, {})
    if street_id not in seals:
        seals[street_id] = _seal(current_key(s, street_id))
    return seals[street_id]


def sign(s: Session, street_id: int, statements: list[bytes]) -> list[dict]:
    """The `signature` blocks of `statements` by the street's current key (one call to the
    signer for the whole batch)."""
    seal = current(s, street_id)
    return [{"alg": sig.ALG, "key_id": seal.key_id, "sig": x}
            for x in signer().sign(seal.key_id, statements)]


def sign_batch(s: Session, street_id: int, statements: list[bytes]) -> list[dict]:
    """The `signature` blocks of a batch of one street's statements with ONE signature: over
    the root of a Merkle tree of the statements (player/signatures.py), each block carrying
    its path to the root. A batch of one is signed as `sign` does (no path), so a single
    manifest reads exactly as before batching."""
    if len(statements) <= 1:
        return sign(s, street_id, statements)
    root, paths = sig.merkle([sig.leaf(x) for x in statements])
    block = sign(s, street_id, [sig.batch_statement(root.hex())])[0]
    return [{**block, "path": path} for path in paths]


def signed(s: Session, street_id: int, obj: dict[str, Any], statement: bytes) -> dict:
    """`obj` with its signature (and the key block after a planned rotation)."""
    block = sign(s, street_id, [statement])[0]
    key = current(s, street_id).key
    return {**obj, sig.SIGNATURE: block, **({sig.KEY: key} if key else {})}


def pairing_keys(s: Session, street_id: int) -> list[dict]:
    """What a newly paired player trusts: the street's current key."""
    seal = current(s, street_id)
    return [{"key_id": seal.key_id, "public_key": seal.public_key}]


# --- staff actions --------------------------------------------------------------------


def _require_admin(actor: Actor) -> None:
    if not actor.is_street_admin:
        raise Forbidden(N_("Only street administrators can manage signing keys."))


def rotate(s: Session, actor: Actor) -> SigningKey:
    """Planned rotation: the new key signed by the current one, which retires at once."""
    _require_admin(actor)
    old = current_key(s, actor.street_id)
    try:
        new = _new(s, actor.street_id, endorsed_by=old)
    except SignerError as e:  # the old key cannot endorse: only an emergency key is left
        raise Conflict(N_("The current key cannot sign (%(error)s): make an emergency key "
                          "instead, and pair the screens again."), error=str(e)) from e
    old.retired_at = utcnow()
    audit.record(s, actor, "rotate", "signing_key", new.id, label=new.key_id,
                 before={"key_id": old.key_id},
                 after={"key_id": new.key_id, "endorsed_by": old.key_id})
    _resend(s, actor.street_id)
    return new


def _resend(s: Session, street_id: int) -> None:
    """Every screen of the street gets a manifest signed by the new key now (nudged after
    the commit), not whenever its plan next changes: a rotation is finished when the
    screens hold the new key, and an emergency key shows at once which screens refuse it."""
    changes.touch(s, {p.terminal_id for p in changes.places(s, street_id)})


def rekey(s: Session, actor: Actor) -> SigningKey:
    """Emergency re-key: a new key nobody endorses; every screen must be paired again."""
    _require_admin(actor)
    old = _current_row(s, actor.street_id)
    new = _new(s, actor.street_id, emergency=True)
    if old is not None:
        old.retired_at = utcnow()
    audit.record(s, actor, "rekey", "signing_key", new.id, label=new.key_id,
                 before={"key_id": old.key_id} if old else None,
                 after={"key_id": new.key_id, "emergency": True,
                        "screens_must_pair_again": True})
    _resend(s, actor.street_id)
    return new


def set_enforced(s: Session, actor: Actor, on: bool) -> Street:
    """Refuse (or stop refusing) screens that hold no signing key."""
    _require_admin(actor)
    street = s.get(Street, actor.street_id)
    assert street is not None
    if street.signatures_enforced != on:
        audit.record(s, actor, "update", "street", street.id, label=street.name,
                     before={"signatures_enforced": street.signatures_enforced},
                     after={"signatures_enforced": on})
        street.signatures_enforced = on
        if not on:
            health.close_keyless(s, street.id, utcnow())
    return street


# --- reading --------------------------------------------------------------------------


def keys(s: Session, street_id: int) -> list[SigningKey]:
    """The street's keys, newest first."""
    return list(s.scalars(select(SigningKey).where(SigningKey.street_id == street_id)
                          .order_by(SigningKey.id.desc())))


class Holding(NamedTuple):
    """How many paired screens of a street hold the current key, an older one, none."""

    current: int
    older: int
    none: int


def _street_screens(street_id: int):
    return (select(TerminalState, Terminal)
            .join(Terminal, Terminal.id == TerminalState.terminal_id)
            .join(Building, Building.id == Terminal.building_id)
            .join(Community, Community.id == Building.community_id)
            .where(Community.street_id == street_id, Terminal.revoked_at.is_(None),
                   Terminal.credential_hash.is_not(None)))


def holding(s: Session, street_id: int) -> Holding:
    row = _current_row(s, street_id)
    kid = row.key_id if row is not None else None
    q = (select(TerminalState.trust_key_id, func.count())
         .select_from(Terminal)  # a screen never connected has no state row: it holds none
         .outerjoin(TerminalState, TerminalState.terminal_id == Terminal.id)
         .join(Building, Building.id == Terminal.building_id)
         .join(Community, Community.id == Building.community_id)
         .where(Community.street_id == street_id, Terminal.revoked_at.is_(None),
                Terminal.credential_hash.is_not(None))
         .group_by(TerminalState.trust_key_id))
    counts = dict(s.execute(q).all())
    none = counts.pop(None, 0)
    current_n = counts.pop(kid, 0) if kid else 0
    return Holding(current_n, sum(counts.values()), none)


def refusing(s: Session, street_id: int) -> list[tuple[TerminalState, Terminal]]:
    """Screens whose last report is a refusal."""
    return [tuple(r) for r in s.execute(  # type: ignore[misc]
        _street_screens(street_id).where(TerminalState.trust_refusal.is_not(None))
        .order_by(Terminal.id)).all()]


def enforced(s: Session, street_id: int) -> bool:
    return bool(s.scalar(select(Street.signatures_enforced).where(Street.id == street_id)))
