"""Terminal health: down, stuck, recovered; the alerts staff see; each terminal's history.

No Flask. The scheduler's chores (server/chores.py) call `detect_down` and `detect_stuck`
and publish what they return after the commit (save first, then emit).

- **down**: no heartbeat (STATUS) for `missed_heartbeats` intervals. It does not rely on the
  disconnect handler: a node that dies cannot mark its terminals offline, so the same job
  also marks such silent terminals offline.
- **stuck**: the frame the player reports (STATUS screenshot_sha256) has stayed the same
  although the schedule says the picture should have changed since (the next item is a
  different file, or a clip was playing), for longer than STUCK_GRACE; or
  the frame is nearly black (STATUS dark) while the schedule says content should show.
  Never judged while the screen is off (plan or command), while the terminal's cache is not
  ready (it legitimately shows the filler), or while it holds an older manifest.
- **recovered**: a down or stuck terminal that is healthy again. It is an alert of its own
  (opened and closed at once) so the list tells the whole story.
- **refused**: the player refused something that was not signed right (its STATUS
  `trust.refused`, docs/protocol.md), or the server refused a screen holding no signing key
  while its street enforces signatures. Open while the refusal stands; apart from health
  (a refusing screen keeps playing its last good manifest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from player import protocol
from playlists.resolver import (
    CompileCache,
    CompiledPlan,
    compile_plan,
    resolve,
    screen_state,
    timeline,
)
from server.models import Alert, Building, Community, Terminal, TerminalEvent, TerminalState
from server.services import broadcasts, nodes, tree
from server.services.access import Actor
from server.services.errors import N_

OK, DOWN, STUCK = "ok", "down", "stuck"
# Sampling: a frame is described every STATUS_INTERVAL_S, so a change is seen that late.
STUCK_GRACE = timedelta(seconds=3 * protocol.STATUS_INTERVAL_S)
# How far back the schedule is read to decide that the picture should have changed.
LOOKBACK = timedelta(minutes=15)

# Why an alert opened or closed; the parameters are kept in Alert.detail.
REASONS = {
    "silent": N_("No heartbeat since %(since)s."),
    "frozen": N_("The picture has not changed since %(since)s although the schedule "
                 "changed what should show."),
    "dark": N_("The picture has been nearly black since %(since)s although content "
               "should show."),
    "healthy": N_("Healthy again after %(minutes)s min %(after)s."),
    # refused (player/protocol.py REFUSAL_REASONS, and the server's own no_key)
    "unsigned": N_("The screen refused content without a signature; it keeps playing its "
                   "last good content."),
    "unknown_key": N_("The screen refused content signed by a key it does not trust; after "
                      "an emergency re-key, pair it again."),
    "bad_signature": N_("The screen refused content whose signature does not match: it may "
                        "have been altered on the way."),
    "replayed": N_("The screen refused an older manifest sent again (a replay)."),
    "endorsement": N_("The screen refused a new signing key whose endorsement does not "
                      "verify."),
    "blob_hash": N_("The screen refused a file whose contents do not match the signed "
                    "manifest: it may have been swapped on the way or on its disk."),
    "unlisted": N_("The screen refused a file that no signed manifest names."),
    "no_key": N_("Signatures are enforced and this screen holds no signing key: pair it "
                 "again."),
}
EVENT_KINDS = {
    "online": N_("online"), "offline": N_("offline"), "screen_on": N_("screen on"),
    "screen_off": N_("screen off"), "down": N_("down"), "stuck": N_("stuck"),
    "recovered": N_("recovered"), "refused": N_("refused"),
}
EVENT_REASONS = {"": "", "disconnected": N_("disconnected"), "silent": N_("no heartbeat"),
                 "server": N_("its server process stopped"),
                 "frozen": N_("frozen picture"), "dark": N_("black picture"),
                 "healthy": N_("healthy again"),
                 "unsigned": N_("unsigned content"), "unknown_key": N_("unknown signing key"),
                 "bad_signature": N_("bad signature"), "replayed": N_("replayed manifest"),
                 "endorsement": N_("bad key endorsement"), "blob_hash": N_("altered file"),
                 "unlisted": N_("file not in a signed manifest"),
                 "no_key": N_("holds no signing key")}


@dataclass(frozen=True)
class AlertEvent:
    """An alert that opened or closed, to publish once it is committed."""

    terminal_id: int
    community_id: int
    kind: str  # down | stuck | recovered | refused
    reason: str
    detail: dict
    at: datetime
    health: str  # the terminal's health from now on

    def payload(self, text: str) -> dict:
        return {"terminal_id": self.terminal_id, "kind": self.kind, "detail": text,
                "at": protocol.iso(self.at), "health": self.health}


# --- what the hub reports (called from services/fleet.py) ---------------------------------


def log_event(s: Session, terminal_id: int, kind: str, reason: str, at: datetime) -> None:
    s.add(TerminalEvent(terminal_id=terminal_id, kind=kind, reason=reason, at=at))


def note_online(s: Session, st: TerminalState, now: datetime) -> None:
    # A new connection describes its frame afresh: an old frame time would judge it stuck.
    st.frame_sha256, st.frame_since, st.frame_dark = None, None, False
    log_event(s, st.terminal_id, "online", "", now)


def note_offline(s: Session, st: TerminalState, now: datetime, reason: str) -> None:
    if st.online:
        log_event(s, st.terminal_id, "offline", reason, now)


def note_status(s: Session, st: TerminalState, payload: dict, now: datetime) -> None:
    """Before the state takes the new STATUS: screen changes and the frame's age. `st` is
    a TerminalState or the plain row a heartbeat batch reads (fleet.live_states)."""
    screen_on = bool(payload["screen_on"])
    if not st.online:  # marked offline while silent, and heard again on the same connection
        log_event(s, st.terminal_id, "online", "", now)
    if screen_on != st.screen_on:
        log_event(s, st.terminal_id, "screen_on" if screen_on else "screen_off", "", now)
    sha = payload.get("screenshot_sha256")
    if sha != st.frame_sha256 or screen_on != st.screen_on or st.frame_since is None:
        st.frame_sha256, st.frame_since = sha, now
    st.frame_dark = bool(payload.get("dark", False))


# --- judging ------------------------------------------------------------------------------


def judge(plan: CompiledPlan, st: TerminalState, now: datetime,
          grace: timedelta = STUCK_GRACE) -> str:
    """"ok", "frozen", "dark", or "unknown" (nothing can be said now: keep what was said)."""
    if st.frame_sha256 is None or st.frame_since is None or not st.cache_ready:
        return "unknown"
    if not st.screen_on or not screen_state(plan, now).on:
        return "unknown"  # screen-off hours: neither stuck nor dark
    if now - st.frame_since <= grace:
        return "ok"
    if st.frame_dark:
        return "dark" if resolve(plan, now).item is not None else "ok"
    lo, hi = max(st.frame_since, now - LOOKBACK), now - grace
    shown: set[str | None] = set()
    for seg in timeline(plan, lo, hi):
        if seg.item is not None and seg.item.media in ("video", "text"):
            return "frozen"  # a clip and a scroll strip move
        shown.add(seg.item.sha256 if seg.item is not None else None)
    return "frozen" if len(shown) > 1 else "ok"


def _set_health(s: Session, st: TerminalState, community_id: int, new: str, reason: str,
                detail: dict, now: datetime) -> AlertEvent:
    for a in s.scalars(select(Alert).where(Alert.terminal_id == st.terminal_id,
                                           Alert.closed_at.is_(None))):
        a.closed_at = now
    if new == OK:
        kind = "recovered"
        since = st.health_since or now
        detail = {**detail, "after": st.health,
                  "minutes": max(0, round((now - since).total_seconds() / 60))}
        s.add(Alert(terminal_id=st.terminal_id, kind=kind, reason=reason, detail=detail,
                    opened_at=now, closed_at=now))
    else:
        kind = new
        s.add(Alert(terminal_id=st.terminal_id, kind=kind, reason=reason, detail=detail,
                    opened_at=now))
    st.health, st.health_since = new, now
    log_event(s, st.terminal_id, kind, reason, now)
    return AlertEvent(st.terminal_id, community_id, kind, reason, detail, now, new)


def _states(s: Session, *where):
    return s.execute(
        select(TerminalState, Terminal, Building.community_id)
        .join(Terminal, Terminal.id == TerminalState.terminal_id)
        .join(Building, Building.id == Terminal.building_id)
        .where(*where).order_by(TerminalState.terminal_id)).all()


def detect_down(s: Session, now: datetime, missed_heartbeats: int = 3,
                server_since: datetime | None = None) -> list[AlertEvent]:
    """Silent terminals go offline and down; down terminals heard again recover.

    Silence counts only while the server listened (services/nodes.py): from when the
    terminal was last heard, or, if its server was away after that (a restart, a stall,
    its node gone, a new leader judging: `server_since`), from when the server was back,
    and then with GRACE to reconnect instead of the heartbeat window. A terminal whose
    node is gone is offline at once, and down only if it is not back within GRACE."""
    window = timedelta(seconds=missed_heartbeats * protocol.STATUS_INTERVAL_S)
    live = nodes.alive(s, now)
    seen = nodes.last_seen(s)
    dead = [n for n in seen if n not in live]  # nodes known, and gone
    candidates = _states(s, or_(
        TerminalState.last_seen_at < now - window,
        and_(TerminalState.online, TerminalState.node.in_(dead)),
        and_(TerminalState.health == DOWN, TerminalState.online)))
    out = []
    for st, t, community_id in candidates:
        gone = st.node in dead
        # Since when its server listened: the judge, its node, or the node it must leave.
        back = max((x for x in (server_since, live.get(st.node), seen.get(st.node) if gone
                                else None) if x is not None), default=None)
        if back is None or st.last_seen_at >= back:
            silent = now - st.last_seen_at > window
        else:  # the server was away after it was last heard: time to come back
            silent = now - back > nodes.GRACE
        if (silent or gone) and st.online:
            note_offline(s, st, now, "silent" if silent else "server")
            st.online = False
        if silent and st.health != DOWN and t.revoked_at is None:
            out.append(_set_health(s, st, community_id, DOWN, "silent",
                                   {"since": protocol.iso(st.last_seen_at)}, now))
        elif not silent and st.health == DOWN and st.online:
            out.append(_set_health(s, st, community_id, OK, "healthy", {}, now))
    return out


def detect_stuck(s: Session, now: datetime, grace: timedelta = STUCK_GRACE) -> list[AlertEvent]:
    """Judge every connected terminal whose frame has not changed for `grace`."""
    from server.services import manifests  # it needs broadcasts, which needs this module
    rows = _states(s, TerminalState.online, TerminalState.health != DOWN,
                   Terminal.revoked_at.is_(None),
                   or_(TerminalState.health == STUCK,
                       TerminalState.frame_since < now - grace))
    out = []
    cache = CompileCache()  # terminals sharing schedules compile them once
    held = broadcasts.full_screen_now(s, now)
    # The plans as the manifests carry them, for all at once (built afresh for each run: a
    # cache by terminal id could outlive a deleted terminal whose id SQLite hands out again).
    plans = manifests.build_plans(s, [t for _st, t, _c in rows], now.date())
    for st, t, community_id in rows:
        if st.manifest_version != t.manifest_version:
            continue  # it plays an older plan than the one we would judge it by
        if t.id in held:
            continue  # a broadcast keeps one picture up on purpose
        verdict = judge(compile_plan(plans[t.id], cache), st, now, grace)
        if verdict in ("frozen", "dark") and st.health == OK:
            out.append(_set_health(s, st, community_id, STUCK, verdict,
                                   {"since": protocol.iso(st.frame_since)}, now))
        elif verdict == "ok" and st.health == STUCK:
            out.append(_set_health(s, st, community_id, OK, "healthy", {}, now))
    return out


# --- refusals (signed content) -------------------------------------------------------------

REFUSED = "refused"


def note_refusals(s: Session, changed: dict[int, dict | None], now: datetime) -> None:
    """Terminals whose standing refusal changed (terminal id -> the refusal or None once it
    cleared): the open refused alert is closed, and a new one opened for a new refusal.
    Called only on a change, so steady heartbeats cost nothing here."""
    if not changed:
        return
    for a in s.scalars(select(Alert).where(Alert.terminal_id.in_(changed),
                                           Alert.kind == REFUSED, Alert.closed_at.is_(None))):
        a.closed_at = now
    for tid, refusal in sorted(changed.items()):
        if refusal is not None:
            reason = str(refusal.get("reason", ""))[:20]
            s.add(Alert(terminal_id=tid, kind=REFUSED, reason=reason, detail=refusal,
                        opened_at=now))
            log_event(s, tid, REFUSED, reason, now)


def note_keyless(s: Session, refused: set[int], accepted: set[int], now: datetime) -> None:
    """A HELLO batch: `refused` terminals (no key held, their street enforcing signatures)
    get one open no_key alert each; `accepted` ones (paired again, or enforcement off)
    have theirs closed. One query."""
    if not refused and not accepted:
        return
    open_ = {a.terminal_id: a for a in s.scalars(select(Alert).where(
        Alert.terminal_id.in_(refused | accepted), Alert.kind == REFUSED,
        Alert.reason == "no_key", Alert.closed_at.is_(None)))}
    for tid in sorted(refused - open_.keys()):
        s.add(Alert(terminal_id=tid, kind=REFUSED, reason="no_key", detail={}, opened_at=now))
        log_event(s, tid, REFUSED, "no_key", now)
    for tid in accepted & open_.keys():
        open_[tid].closed_at = now


def close_keyless(s: Session, street_id: int, now: datetime) -> None:
    """Enforcement turned off: no screen of the street is refused for holding no key."""
    ids = select(Terminal.id).join(Building).join(Community).where(
        Community.street_id == street_id)
    for a in s.scalars(select(Alert).where(Alert.terminal_id.in_(ids), Alert.kind == REFUSED,
                                           Alert.reason == "no_key", Alert.closed_at.is_(None))):
        a.closed_at = now


# --- reading --------------------------------------------------------------------------------


def history(s: Session, actor: Actor, terminal_id: int, limit: int = 50) -> list[TerminalEvent]:
    """The terminal's status history, newest first."""
    tree.get_terminal(s, actor, terminal_id)
    return list(s.scalars(select(TerminalEvent).where(TerminalEvent.terminal_id == terminal_id)
                          .order_by(TerminalEvent.at.desc(), TerminalEvent.id.desc())
                          .limit(max(1, min(limit, 1000)))))


def alerts(s: Session, actor: Actor, limit: int = 200) -> tuple[list, list]:
    """(open alerts, the most recent closed ones), each [(Alert, Terminal)], newest first,
    only of terminals the actor may see."""
    q = (select(Alert, Terminal).join(Terminal, Terminal.id == Alert.terminal_id)
         .join(Building).join(Community)
         .where(Community.street_id == actor.street_id,
                actor.community_clause(Building.community_id))
         .order_by(Alert.opened_at.desc(), Alert.id.desc()))
    open_ = [tuple(r) for r in s.execute(q.where(Alert.closed_at.is_(None))).all()]
    recent = [tuple(r) for r in s.execute(q.where(Alert.closed_at.is_not(None))
                                          .limit(limit)).all()]
    return open_, recent


def purge(s: Session, keep_days: int, now: datetime) -> int:
    """Delete history lines and closed alerts older than `keep_days`."""
    cutoff = now - timedelta(days=keep_days)
    n = s.execute(delete(TerminalEvent).where(TerminalEvent.at < cutoff)).rowcount or 0
    n += s.execute(delete(Alert).where(Alert.closed_at.is_not(None),
                                       Alert.closed_at < cutoff)).rowcount or 0
    return n
