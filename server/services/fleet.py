"""Terminals as devices: credentials, pairing, live state and commands. No Flask."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import Row, bindparam, event, inspect, null, select, update
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.orm.util import identity_key

from player import protocol
from server.db import UTCDateTime, add_to, execute_many, to_driver, utcnow
from server.models import (
    SCREEN,
    Building,
    Command,
    Community,
    PairingRequest,
    Screen,
    Street,
    Terminal,
    TerminalState,
    UptimeHour,
)
from server.services import audit, health, receipts, signing, tree
from server.services.access import Actor
from server.services.errors import N_, Conflict, Invalid, NotFound

PAIRING_TTL = timedelta(minutes=15)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing that reads as 0/O or 1/I
CODE_LENGTH = 6


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- credentials --------------------------------------------------------------------


def issue_credential(s: Session, terminal: Terminal) -> str:
    """A new credential replaces the old one; only its hash is kept."""
    plaintext = f"trm_{terminal.id}_{secrets.token_urlsafe(32)}"
    terminal.credential_hash = _digest(plaintext)
    terminal.credential_issued_at = utcnow()
    terminal.revoked_at = None
    return plaintext


class Ended(NamedTuple):
    """A credential that ended: sockets of `terminal_id` holding any credential other than
    `current` (None: the terminal has none now) are to be closed, told `reason`."""

    terminal_id: int
    current: str | None
    reason: str


ENDED_KEY = "signage_ended_credentials"


def ended_credentials(s: Session) -> list[Ended]:
    """Taken once, after the commit (or dropped after a rollback): what server.hub drops."""
    return list(s.info.pop(ENDED_KEY, {}).values())


def _ended(target: Terminal, current: str | None, reason: str) -> None:
    s = object_session(target)
    if s is not None:
        s.info.setdefault(ENDED_KEY, {})[target.id] = Ended(target.id, current, reason)


# A socket lives exactly as long as its credential. Noted at the flush, whichever service
# revokes, re-pairs, re-provisions or deletes, so none can forget it; server.hub closes
# the sockets after the commit, on every node.
@event.listens_for(Terminal, "after_update")
def _credential_changed(_mapper, _connection, target: Terminal) -> None:
    if inspect(target).attrs.credential_hash.history.has_changes():
        current = target.credential_hash
        _ended(target, current, "credential replaced" if current else "credential revoked")


@event.listens_for(Terminal, "after_delete")
def _terminal_deleted(_mapper, _connection, target: Terminal) -> None:
    _ended(target, None, "terminal deleted")


def _claimed_id(credential: object) -> int | None:
    if not isinstance(credential, str) or len(credential) > 120:
        return None
    parts = credential.split("_", 2)
    if len(parts) != 3 or parts[0] != "trm" or not parts[1].isdigit():
        return None
    return int(parts[1])


def terminals_for_credentials(s: Session, credentials: list[object]) -> list[Terminal | None]:
    """The terminal each credential belongs to (None: unknown, revoked or wrong), read in
    one query for a batch of connections."""
    ids = {i for i in map(_claimed_id, credentials) if i is not None}
    found = {t.id: t for t in s.scalars(select(Terminal).where(*_live(ids)))} if ids else {}
    out: list[Terminal | None] = []
    for credential in credentials:
        t = found.get(_claimed_id(credential))
        ok = t is not None and hmac.compare_digest(t.credential_hash, _digest(credential))
        out.append(t if ok else None)
    return out


def terminal_for_credential(s: Session, credential: object) -> Terminal | None:
    return terminals_for_credentials(s, [credential])[0]


# Built once: a fleet's downloads ask it a thousand times in a row.
_HOLDER = (select(Terminal.id, Terminal.manifest_version, Terminal.credential_hash)
           .where(Terminal.id == bindparam("tid"), Terminal.revoked_at.is_(None),
                  Terminal.credential_hash.is_not(None)))


def credential_holder(s: Session, credential: object) -> Row | None:
    """The same check as a plain row (id, manifest_version, credential_hash): what a blob
    download needs, without loading a Terminal."""
    tid = _claimed_id(credential)
    if tid is None:
        return None
    row = s.execute(_HOLDER, {"tid": tid}).first()
    ok = row is not None and hmac.compare_digest(row.credential_hash, _digest(credential))
    return row if ok else None


def revoke(s: Session, actor: Actor, terminal_id: int) -> Terminal:
    t = tree.get_terminal(s, actor, terminal_id)
    actor.require_edit(t.building.community_id, "terminal")
    t.revoked_at = utcnow()
    t.credential_hash = None
    audit.record(s, actor, "revoke", "terminal", t.id, label=t.name,
                 community_id=t.building.community_id)
    return t


def provision(s: Session, actor: Actor, terminal_ids: list[int]) -> list[tuple[Terminal, str]]:
    """Bulk credentials for a fleet (CSV out). Re-issuing replaces a terminal's old one."""
    out = []
    for tid in terminal_ids:
        t = tree.get_terminal(s, actor, tid)
        actor.require_edit(t.building.community_id, "terminal")
        out.append((t, issue_credential(s, t)))
        audit.record(s, actor, "provision", "terminal", t.id, label=t.name,
                     community_id=t.building.community_id)
    return out


# --- pairing ------------------------------------------------------------------------


def start_pairing(s: Session, now: datetime | None = None) -> tuple[str, str, datetime]:
    """(code shown on the screen, poll token kept by the player, expiry)."""
    now = now or utcnow()
    pending = set(s.scalars(select(PairingRequest.code).where(PairingRequest.expires_at > now)))
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    while code in pending:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    token = secrets.token_urlsafe(32)
    s.add(PairingRequest(code=code, poll_token_hash=_digest(token), expires_at=now + PAIRING_TTL))
    return code, token, now + PAIRING_TTL


def claim(s: Session, actor: Actor, code: str, terminal_id: int) -> Terminal:
    """Staff type the code shown on a screen and say which terminal it is."""
    t = tree.get_terminal(s, actor, terminal_id)
    actor.require_edit(t.building.community_id, "terminal")
    code = (code or "").strip().upper()
    req = s.scalar(select(PairingRequest).where(
        PairingRequest.code == code, PairingRequest.expires_at > utcnow(),
        PairingRequest.terminal_id.is_(None)))
    if req is None:
        raise Invalid(N_("No screen is waiting with the code “%(code)s”; check the code shown "
                         "on the screen (it is valid for 15 minutes)."), field="code", code=code)
    req.terminal_id = t.id
    req.credential = issue_credential(s, t)
    audit.record(s, actor, "pair", "terminal", t.id, label=t.name,
                 community_id=t.building.community_id)
    return t


def poll_pairing(s: Session, poll_token: str) -> tuple[str, dict | None]:
    """("pending" | "paired" | "unknown", answer). The credential is handed out once."""
    req = s.scalar(select(PairingRequest).where(
        PairingRequest.poll_token_hash == _digest(poll_token or "")))
    if req is None or (req.terminal_id is None and req.expires_at <= utcnow()):
        return "unknown", None
    if req.terminal_id is None:
        return "pending", None
    if req.credential is None:
        return "unknown", None
    t = s.get(Terminal, req.terminal_id)
    if t is None:  # deleted since it was claimed
        return "unknown", None
    # The keys it will trust (docs/protocol.md): what its street signs with now.
    answer = {"terminal_id": req.terminal_id, "credential": req.credential,
              "keys": signing.pairing_keys(s, t.building.community.street_id)}
    s.delete(req)
    return "paired", answer


# --- live state ---------------------------------------------------------------------


def state_of(s: Session, terminal_id: int) -> TerminalState:
    st = s.get(TerminalState, terminal_id)
    if st is None:
        st = TerminalState(terminal_id=terminal_id)
        # The column defaults now, not at INSERT: a terminal that never reported reads
        # as offline with its screen on, never as nulls (the API documents them so).
        for column in TerminalState.__table__.columns:
            if getattr(st, column.key) is None and column.default is not None \
                    and column.default.is_scalar:
                setattr(st, column.key, column.default.arg)
        s.add(st)
    return st


def mark_online_many(s: Session, terminal_ids: set[int], now: datetime | None = None,
                     node: str | None = None) -> None:
    """Connected, to the server process `node` (services/nodes.py)."""
    now = now or utcnow()
    for st in states_of(s, terminal_ids).values():
        health.note_online(s, st, now)
        st.online, st.connected_since, st.last_seen_at, st.node = True, now, now, node


def mark_online(s: Session, terminal: Terminal, now: datetime | None = None) -> None:
    mark_online_many(s, {terminal.id}, now)


def mark_offline(s: Session, terminal_id: int) -> None:
    """Its last connection here closed. A deleted terminal has no state left to mark."""
    st = s.get(TerminalState, terminal_id)
    if st is None:
        if s.get(Terminal, terminal_id) is None:
            return
        st = state_of(s, terminal_id)
    health.note_offline(s, st, utcnow(), "disconnected")
    st.online = False


def keep_offline(s: Session, terminal_ids: set[int]) -> None:
    """Offline again, without a history event: for a heartbeat written as its terminal's
    disconnect was handled (that handler logs the event)."""
    if terminal_ids:
        s.execute(update(TerminalState).where(TerminalState.terminal_id.in_(terminal_ids))
                  .values(online=False))


# A heartbeat vouches for at most this long since the previous one: a gap is downtime.
MAX_HEARTBEAT_GAP_S = 3 * protocol.STATUS_INTERVAL_S


def _live(ids: set[int]):
    return (Terminal.id.in_(ids), Terminal.revoked_at.is_(None),
            Terminal.credential_hash.is_not(None))


def live_terminals(s: Session, ids: set[int]) -> dict[int, Screen]:
    """The terminals among `ids` whose credential still holds (one query for a batch), as
    rows of SCREEN plus `credential_hash` (a socket speaks for its terminal only while it
    holds that credential)."""
    return {t.id: t for t in s.execute(select(*SCREEN, Terminal.credential_hash)
                                       .where(*_live(ids)))}


def enforcing(s: Session, ids: set[int]) -> set[int]:
    """The terminals among `ids` whose street refuses screens holding no signing key."""
    if not ids:
        return set()
    return set(s.scalars(select(Terminal.id).join(Building).join(Community)
                         .join(Street, Street.id == Community.street_id)
                         .where(Terminal.id.in_(ids), Street.signatures_enforced)))


def live_credentials(s: Session, ids: set[int]) -> dict[int, str]:
    """The same, as terminal id -> its credential's hash (what a heartbeat batch needs)."""
    q = select(Terminal.id, Terminal.credential_hash).where(*_live(ids))
    return {tid: credential for tid, credential in s.execute(q)}


def states_of(s: Session, ids: set[int]) -> dict[int, TerminalState]:
    """Live states for a batch, loaded in one query (missing ones are created)."""
    found = {st.terminal_id: st for st in s.scalars(
        select(TerminalState).where(TerminalState.terminal_id.in_(ids)))}
    return {tid: found.get(tid) or state_of(s, tid) for tid in ids}


UPTIME = ("online_seconds", "screen_on_seconds", "cache_missing_seconds")


def _add_uptime(sums: dict, terminal_id: int, start: datetime, end: datetime,
                screen_on: bool, cache_ready: bool) -> None:
    for a, b in protocol.split_at_hours(start, end):
        acc = sums.setdefault((terminal_id, a.replace(minute=0, second=0, microsecond=0)),
                              [0.0, 0.0, 0.0])
        seconds = (b - a).total_seconds()
        acc[0] += seconds
        if screen_on:
            acc[1] += seconds
        if not cache_ready:  # the reports' "file not ready" (only this sum is kept)
            acc[2] += seconds


def _save_uptime(s: Session, sums: dict) -> None:
    """Added to the hour rows in one upsert, in key order (see _save_live_states)."""
    add_to(s, UptimeHour, ("terminal_id", "hour"), UPTIME,
           [{"terminal_id": tid, "hour": hour, **dict(zip(UPTIME, acc, strict=True))}
            for (tid, hour), acc in sorted(sums.items())])


# What a heartbeat reads and writes of a terminal's live state. Read as plain rows and
# written with one executemany: at 1,000 heartbeats a second, loading and flushing
# TerminalState objects was a tenth of a worker's time.
LIVE_COLUMNS = ("online", "last_seen_at", "screen_on", "brightness", "cache_ready",
                "free_disk_bytes", "clock_offset_s", "player_version", "playing_content_id",
                "playing_since", "frame_sha256", "frame_since", "frame_dark", "trust_key_id",
                "held_version", "download_percent")
# Read, not written by the executemany: manifest_version for the wall's signature;
# trust_refusal to notice a change (written apart, with its alert: rare).
_SIGNATURE_ONLY = ("manifest_version", "trust_refusal")


def live_states(s: Session, ids: set[int]) -> dict[int, SimpleNamespace]:
    """Live states for a heartbeat batch, as plain objects (missing rows are created)."""
    cols = [TerminalState.terminal_id] + [getattr(TerminalState, c) for c in
                                          LIVE_COLUMNS + _SIGNATURE_ONLY]
    q = select(*cols).where(TerminalState.terminal_id.in_(ids))
    found = {r.terminal_id: SimpleNamespace(**r._asdict()) for r in s.execute(q)}
    if len(found) < len(ids):  # a terminal heard before it was ever marked online
        for tid in ids - found.keys():
            state_of(s, tid)
        s.flush()
        found = {r.terminal_id: SimpleNamespace(**r._asdict()) for r in s.execute(q)}
    return found


_INSTANTS = frozenset(c for c in LIVE_COLUMNS
                     if isinstance(TerminalState.__table__.c[c].type, UTCDateTime))
_SAVE_LIVE = (f"UPDATE terminal_state SET {', '.join(f'{c} = ?' for c in LIVE_COLUMNS)}"
              " WHERE terminal_id = ?")


def _save_live_states(s: Session, states: list[SimpleNamespace]) -> None:
    to_db = to_driver(s)

    def row(st: SimpleNamespace) -> tuple:
        values = (getattr(st, c) for c in LIVE_COLUMNS)
        return (*(to_db(v) if c in _INSTANTS and v is not None else v
                  for c, v in zip(LIVE_COLUMNS, values, strict=True)), st.terminal_id)

    # In key order, as the ORM's flushes do: two transactions updating overlapping rows in
    # different orders deadlock on PostgreSQL.
    execute_many(s, _SAVE_LIVE, [row(st) for st in sorted(states, key=lambda st: st.terminal_id)])
    _expire_states(s, [st.terminal_id for st in states])


def _expire_states(s: Session, terminal_ids: list[int]) -> None:
    """After a write around the ORM: state objects this session holds would keep old values."""
    for tid in terminal_ids:
        obj = s.identity_map.get(identity_key(TerminalState, tid))
        if obj is not None:
            s.expire(obj)


def note_synced(s: Session, synced: list[tuple[int, int, str | None]]) -> None:
    """What each terminal holds once its `hello`/`sync` is answered, as (terminal id,
    manifest version, player version or None to keep it): one executemany in key order
    (the wall shows who lags). The row exists: the connection created it."""
    if not synced:
        return
    execute_many(s, "UPDATE terminal_state SET manifest_version = ?,"
                 " player_version = coalesce(?, player_version) WHERE terminal_id = ?",
                 [(v, p, tid) for tid, v, p in sorted(synced)])
    _expire_states(s, [tid for tid, _v, _p in synced])


def record_statuses(s: Session, items: list[tuple[int, dict, datetime]],
                    states: dict[int, SimpleNamespace] | None = None) -> None:
    """Apply STATUS events (already checked by protocol.check_status) in arrival order:
    (terminal id, payload, when it arrived). A batch is read in two queries, whatever
    its size, and written in one executemany (plus the uptime rows)."""
    if not items:
        return
    states = states or live_states(s, {tid for tid, _p, _at in items})
    uptime: dict[tuple[int, datetime], list[float]] = {}
    refusals: dict[int, dict | None] = {}
    for tid, payload, now in items:
        st = states[tid]
        if st.online and st.last_seen_at is not None:
            start = max(st.last_seen_at, now - timedelta(seconds=MAX_HEARTBEAT_GAP_S))
            if start < now:
                _add_uptime(uptime, tid, start, now, bool(payload["screen_on"]),
                            bool(payload["cache_ready"]))
        health.note_status(s, st, payload, now)
        st.online, st.last_seen_at = True, now
        playing = payload.get("playing")
        st.playing_content_id = playing.get("content_id") if playing else None
        st.playing_since = (protocol.parse_instant(playing["since"], "since")
                            if playing else None)
        st.screen_on = payload["screen_on"]
        st.brightness = payload["brightness"]
        st.cache_ready = payload["cache_ready"]
        st.free_disk_bytes = payload.get("free_disk_bytes")
        st.clock_offset_s = float(payload.get("clock_offset_s", 0.0))
        st.player_version = str(payload.get("player_version", ""))[:40]
        # Absent (a player from before receipts): not known, never acknowledged.
        st.held_version = payload.get("manifest_version")
        st.download_percent = payload.get("download_percent")
        trust = payload.get("trust")
        if isinstance(trust, dict):  # absent: a player from before signing
            st.trust_key_id = trust.get("key_id")
            if trust.get("refused") != st.trust_refusal:
                st.trust_refusal = refusals[tid] = trust.get("refused")
    _save_live_states(s, [states[tid] for tid in {tid for tid, _p, _at in items}])
    _save_uptime(s, uptime)
    receipts.statuses(s, [(tid, p.get("manifest_version"), bool(p["cache_ready"]), at)
                          for tid, p, at in items])
    if refusals:
        save_refusals(s, refusals, items[-1][2])


def save_refusals(s: Session, refusals: dict[int, dict | None], now: datetime) -> None:
    """Standing refusals that changed (terminal id -> refusal or None), with their alerts."""
    for tid, refusal in sorted(refusals.items()):
        s.execute(update(TerminalState).where(TerminalState.terminal_id == tid)
                  .values(trust_refusal=null() if refusal is None else refusal))
    _expire_states(s, list(refusals))
    health.note_refusals(s, refusals, now)


def note_hello_trust(s: Session, trust: dict[int, str | None]) -> None:
    """The newest key each terminal trusts, as its HELLO says (None: it holds none)."""
    if trust:
        execute_many(s, "UPDATE terminal_state SET trust_key_id = ? WHERE terminal_id = ?",
                     [(kid, tid) for tid, kid in sorted(trust.items())])
        _expire_states(s, list(trust))


def record_status(s: Session, terminal: Terminal, payload: dict) -> None:
    record_statuses(s, [(terminal.id, payload, utcnow())])


# --- commands -----------------------------------------------------------------------


MAX_GROUP = 5000  # terminals per group command (a district's fleet, not a typo's)


def _check_command(kind: str, args: dict) -> None:
    if kind not in protocol.COMMAND_KINDS:
        raise Invalid(N_("Unknown command “%(kind)s”."), field="kind", kind=kind)
    if kind == "brightness" and (not isinstance(args.get("level"), int)
                                 or isinstance(args.get("level"), bool)
                                 or not 0 <= args["level"] <= 100):
        raise Invalid(N_("Brightness is a percentage from 0 to 100."), field="level")
    if kind == "screen" and not isinstance(args.get("on"), bool):
        raise Invalid(N_("Say whether the screen goes on or off."), field="on")


def create_commands(s: Session, actor: Actor, terminal_ids: list[int], kind: str,
                    args: dict | None = None) -> list[Command]:
    """The same command to each terminal of a group, stored (and audited) per terminal.

    Rights are checked once per community in the group; a terminal the actor cannot see
    makes the whole group "not found", so nothing is sent to half a selection.
    """
    if (not isinstance(terminal_ids, list) or not terminal_ids
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in terminal_ids)):
        raise Invalid(N_("Choose at least one terminal."), field="terminal_ids")
    ids = sorted(set(terminal_ids))
    if len(ids) > MAX_GROUP:
        raise Invalid(N_("At most %(n)d terminals per command; choose fewer."),
                      field="terminal_ids", n=MAX_GROUP)
    found: dict[int, Terminal] = {}
    for i in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        q = (select(Terminal).join(Building).join(Community)
             .where(Terminal.id.in_(ids[i:i + 900]), Community.street_id == actor.street_id,
                    actor.community_clause(Building.community_id))
             .options(selectinload(Terminal.building)))
        found.update({t.id: t for t in s.scalars(q)})
    if len(found) != len(ids):
        raise NotFound(N_("No such %(what)s."), what="terminal")
    for community_id in sorted({t.building.community_id for t in found.values()}):
        actor.require_edit(community_id, "terminal")
    args = dict(args or {})
    _check_command(kind, args)
    cmds = [Command(terminal_id=tid, kind=kind, args=args, created_by=actor.id) for tid in ids]
    s.add_all(cmds)
    s.flush()
    for cmd in cmds:
        t = found[cmd.terminal_id]
        audit.record(s, actor, "command", "terminal", t.id, label=t.name,
                     community_id=t.building.community_id, after={"kind": kind, **args})
    return cmds


def create_command(s: Session, actor: Actor, terminal_id: int, kind: str,
                   args: dict | None = None) -> Command:
    return create_commands(s, actor, [terminal_id], kind, args)[0]


def command_result(s: Session, terminal: Terminal, payload: dict) -> Command:
    cmd = s.get(Command, payload["id"])
    if cmd is None or cmd.terminal_id != terminal.id:
        raise NotFound(N_("No such %(what)s."), what="command")
    if cmd.answered_at is not None:
        raise Conflict(N_("This command was already answered."))
    cmd.answered_at, cmd.ok = utcnow(), payload["ok"]
    result = payload.get("result")
    cmd.result = result if isinstance(result, dict) else {"value": result}
    return cmd


def command_history(s: Session, actor: Actor, terminal_id: int, limit: int = 50) -> list[Command]:
    tree.get_terminal(s, actor, terminal_id)
    q = (select(Command).where(Command.terminal_id == terminal_id)
         .order_by(Command.id.desc()).limit(limit))
    return list(s.scalars(q))
