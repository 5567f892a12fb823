"""Terminals as devices: credentials, pairing, live state and commands. No Flask."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from player import protocol
from server.db import utcnow
from server.models import Command, PairingRequest, Terminal, TerminalState, UptimeHour
from server.services import audit, tree
from server.services.access import TREE_EDITORS, Actor
from server.services.errors import N_, Conflict, Invalid, NotFound
from server.services.plays import _insert as upsert  # the dialect's INSERT … ON CONFLICT

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


def terminal_for_credential(s: Session, credential: object) -> Terminal | None:
    if not isinstance(credential, str) or len(credential) > 120:
        return None
    parts = credential.split("_", 2)
    if len(parts) != 3 or parts[0] != "trm" or not parts[1].isdigit():
        return None
    t = s.get(Terminal, int(parts[1]))
    if t is None or t.credential_hash is None or t.revoked_at is not None:
        return None
    return t if hmac.compare_digest(t.credential_hash, _digest(credential)) else None


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
    answer = {"terminal_id": req.terminal_id, "credential": req.credential}
    s.delete(req)
    return "paired", answer


# --- live state ---------------------------------------------------------------------


def state_of(s: Session, terminal_id: int) -> TerminalState:
    st = s.get(TerminalState, terminal_id)
    if st is None:
        st = TerminalState(terminal_id=terminal_id)
        s.add(st)
    return st


def mark_online(s: Session, terminal: Terminal, now: datetime | None = None) -> None:
    st = state_of(s, terminal.id)
    now = now or utcnow()
    st.online, st.connected_since, st.last_seen_at = True, now, now


def mark_offline(s: Session, terminal_id: int) -> None:
    state_of(s, terminal_id).online = False


# A heartbeat vouches for at most this long since the previous one: a gap is downtime.
MAX_HEARTBEAT_GAP_S = 3 * protocol.STATUS_INTERVAL_S


# The heartbeat is the hottest write path of the server (5,000 terminals send 1,000 a
# second). Its statements are built once: building a SQLAlchemy statement costs more than
# SQLite takes to run it, and so does the ORM's load-modify-flush.
_STATE = TerminalState.__table__
_UPTIME = UptimeHour.__table__
_STATUS_COLUMNS = ("online", "last_seen_at", "playing_content_id", "playing_since", "screen_on",
                   "brightness", "cache_ready", "free_disk_bytes", "clock_offset_s",
                   "player_version")
_READ_STATE = (select(_STATE.c.online, _STATE.c.last_seen_at)
               .where(_STATE.c.terminal_id == bindparam("tid")))
_WRITE_STATE = (update(_STATE).where(_STATE.c.terminal_id == bindparam("tid"))
                .values({c: bindparam(f"new_{c}") for c in _STATUS_COLUMNS}))
_ADD_UPTIME: dict[str, object] = {}  # per database dialect


def _add_uptime(s: Session, terminal_id: int, start: datetime, end: datetime,
                screen_on: bool) -> None:
    """One upsert per UTC hour touched."""
    rows = []
    for a, b in protocol.split_at_hours(start, end):
        seconds = (b - a).total_seconds()
        rows.append({"terminal_id": terminal_id,
                     "hour": a.replace(minute=0, second=0, microsecond=0),
                     "online_seconds": seconds, "screen_on_seconds": seconds if screen_on else 0.0})
    dialect = s.get_bind().dialect.name
    stmt = _ADD_UPTIME.get(dialect)
    if stmt is None:
        ins = upsert(s, _UPTIME)
        stmt = _ADD_UPTIME[dialect] = ins.on_conflict_do_update(
            index_elements=["terminal_id", "hour"],
            set_={"online_seconds": _UPTIME.c.online_seconds + ins.excluded.online_seconds,
                  "screen_on_seconds": _UPTIME.c.screen_on_seconds
                  + ins.excluded.screen_on_seconds})
    s.connection().execute(stmt, rows)


def record_status(s: Session, terminal: Terminal, payload: dict) -> None:
    """Apply a STATUS event (already checked by protocol.check_status).

    Core statements: nothing of the state is loaded into the session (a handler's session
    lives for this one event)."""
    now = utcnow()
    playing = payload.get("playing")
    values = {
        "online": True, "last_seen_at": now,
        "playing_content_id": playing.get("content_id") if playing else None,
        "playing_since": protocol.parse_instant(playing["since"], "since") if playing else None,
        "screen_on": payload["screen_on"], "brightness": payload["brightness"],
        "cache_ready": payload["cache_ready"], "free_disk_bytes": payload.get("free_disk_bytes"),
        "clock_offset_s": float(payload.get("clock_offset_s", 0.0)),
        "player_version": str(payload.get("player_version", ""))[:40],
    }
    s.flush()  # Core bypasses autoflush: a state added earlier in this session must be seen
    conn = s.connection()
    prev = conn.execute(_READ_STATE, {"tid": terminal.id}).first()
    if prev is None:
        s.add(TerminalState(terminal_id=terminal.id, **values))
        return
    if prev.online and prev.last_seen_at is not None:
        start = max(prev.last_seen_at, now - timedelta(seconds=MAX_HEARTBEAT_GAP_S))
        if start < now:
            _add_uptime(s, terminal.id, start, now, bool(payload["screen_on"]))
    conn.execute(_WRITE_STATE, {"tid": terminal.id, **{f"new_{k}": v for k, v in values.items()}})


# --- commands -----------------------------------------------------------------------


def create_command(s: Session, actor: Actor, terminal_id: int, kind: str,
                   args: dict | None = None) -> Command:
    t = tree.get_terminal(s, actor, terminal_id)
    actor.require_role(*TREE_EDITORS)
    if kind not in protocol.COMMAND_KINDS:
        raise Invalid(N_("Unknown command “%(kind)s”."), field="kind", kind=kind)
    args = dict(args or {})
    if kind == "brightness" and (not isinstance(args.get("level"), int)
                                 or not 0 <= args["level"] <= 100):
        raise Invalid(N_("Brightness is a percentage from 0 to 100."), field="level")
    if kind == "screen" and not isinstance(args.get("on"), bool):
        raise Invalid(N_("Say whether the screen goes on or off."), field="on")
    cmd = Command(terminal_id=t.id, kind=kind, args=args, created_by=actor.id)
    s.add(cmd)
    s.flush()
    audit.record(s, actor, "command", "terminal", t.id, label=t.name,
                 community_id=t.building.community_id, after={"kind": kind, **args})
    return cmd


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
