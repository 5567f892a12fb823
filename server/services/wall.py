"""The fleet wall: one tile per terminal, built here for the page, its JSON and the live
updates alike, so all three always say the same thing. No Flask."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from player import protocol
from server.models import (
    Building,
    Command,
    Community,
    ContentItem,
    PlayRecord,
    Terminal,
    TerminalState,
)
from server.services import tree
from server.services.access import Actor
from server.services.errors import N_, NotFound
from server.services.naming import name_key

# A terminal whose clock is further off than this is flagged (schedules would drift).
CLOCK_WARN_S = 2.0

# What a tile's "will it play?" says, worst first.
READINESS = ("unknown", "outdated", "downloading", "ready")
SCREENSHOT = N_("screenshot")  # the noun in "No such screenshot."


def _iso(t: datetime | None) -> str | None:
    return protocol.iso(t) if t is not None else None


def readiness(t: Terminal, st: TerminalState | None) -> str:
    """Will the upcoming schedules play? The player reports `cache_ready` for the manifest
    it holds; a manifest older than the terminal's current one does not count."""
    if st is None or st.last_seen_at is None:
        return "unknown"
    if st.manifest_version != t.manifest_version:
        return "outdated"
    return "ready" if st.cache_ready else "downloading"


def signature(st: TerminalState | None, frame: str | None = None) -> tuple:
    """What a tile shows, reduced to what may change with a heartbeat: the hub publishes a
    tile only when this changes, so steady heartbeats cost no broadcast."""
    if st is None:
        return ()
    off = st.clock_offset_s or 0.0
    return (st.online, st.playing_content_id, st.playing_since, st.screen_on, st.brightness,
            st.cache_ready, st.manifest_version, st.player_version,
            round(off) if abs(off) > CLOCK_WARN_S else 0, frame)


def _tile(t: Terminal, b: Building, c: Community, st: TerminalState | None,
          title: str | None, shot: tuple[int, datetime] | None) -> dict:
    ready = readiness(t, st)
    online = bool(st and st.online)
    offset = round(st.clock_offset_s or 0.0, 1) if st else 0.0
    problems = []
    if not online:
        problems.append("offline")
    if ready in ("outdated", "downloading"):
        problems.append("not_ready")
    if abs(offset) > CLOCK_WARN_S:
        problems.append("clock")
    playing = None
    if st and st.playing_content_id is not None:
        playing = {"content_id": st.playing_content_id,
                   "title": title or f"#{st.playing_content_id}",
                   "since": _iso(st.playing_since)}
    return {
        "id": t.id, "name": t.name, "location": t.location, "size": f"{t.width}×{t.height}",
        "community_id": c.id, "community": c.name, "building_id": b.id, "building": b.name,
        "paired": t.credential_hash is not None,
        "online": online,
        "last_seen_at": _iso(st.last_seen_at) if st else None,
        "connected_since": _iso(st.connected_since) if st else None,
        "playing": playing,
        "screen_on": st.screen_on if st else None,
        "brightness": st.brightness if st else None,
        "readiness": ready,
        "manifest": [st.manifest_version if st else 0, t.manifest_version],
        "clock_offset_s": offset,
        "player_version": st.player_version if st else "",
        "screenshot": {"command_id": shot[0], "at": _iso(shot[1])} if shot else None,
        "problems": problems,
    }


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    """Id lists small enough for any SQLite build's bound-parameter limit."""
    return (ids[i:i + size] for i in range(0, len(ids), size))


def _latest_screenshots(s: Session, ids: list[int]) -> dict[int, tuple[int, datetime]]:
    """The newest answered screenshot command per terminal (its result holds the PNG)."""
    out: dict[int, tuple[int, datetime]] = {}
    for chunk in _chunks(ids):
        latest = (select(func.max(Command.id).label("id"))
                  .where(Command.terminal_id.in_(chunk), Command.kind == "screenshot",
                         Command.ok.is_(True))
                  .group_by(Command.terminal_id).subquery())
        rows = s.execute(select(Command.terminal_id, Command.id, Command.answered_at)
                         .join(latest, latest.c.id == Command.id))
        out.update({tid: (cid, at) for tid, cid, at in rows})
    return out


def _titles(s: Session, content_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(content_ids))
    if not ids:
        return {}
    return dict(s.execute(select(ContentItem.id, ContentItem.title)
                          .where(ContentItem.id.in_(ids))).all())


def _tiles(s: Session, rows: list[tuple[Terminal, Building, Community]]) -> list[dict]:
    ids = [t.id for t, _b, _c in rows]
    states = {st.terminal_id: st for chunk in _chunks(ids) for st in s.scalars(
        select(TerminalState).where(TerminalState.terminal_id.in_(chunk)))}
    titles = _titles(s, (st.playing_content_id for st in states.values()
                         if st.playing_content_id is not None))
    shots = _latest_screenshots(s, ids)
    return [_tile(t, b, c, states.get(t.id),
                  titles.get(states[t.id].playing_content_id) if t.id in states else None,
                  shots.get(t.id)) for t, b, c in rows]


def tiles(s: Session, actor: Actor) -> list[dict]:
    """Every terminal the actor may see, in community, building and name order."""
    q = (select(Terminal, Building, Community)
         .join(Building, Terminal.building_id == Building.id)
         .join(Community, Building.community_id == Community.id)
         .where(Community.street_id == actor.street_id,
                actor.community_clause(Building.community_id)))
    rows = sorted(s.execute(q), key=lambda r: (name_key(r[2].name), r[2].id, name_key(r[1].name),
                                             name_key(r[0].name)))
    return _tiles(s, [tuple(r) for r in rows])


def tiles_of(s: Session, terminal_ids: list[int]) -> list[dict]:
    """These terminals' tiles, for a live update (the hub decides who receives them)."""
    if not terminal_ids:
        return []
    q = (select(Terminal, Building, Community)
         .join(Building, Terminal.building_id == Building.id)
         .join(Community, Building.community_id == Community.id)
         .where(Terminal.id.in_(terminal_ids)))
    return _tiles(s, [tuple(r) for r in s.execute(q)])


def tile(s: Session, terminal_id: int) -> dict | None:
    """One terminal's tile (its page shows it)."""
    found = tiles_of(s, [terminal_id])
    return found[0] if found else None


def screenshot_png(s: Session, actor: Actor, terminal_id: int, command_id: int) -> bytes:
    """The PNG a screenshot command brought back (kept in the command's stored result)."""
    tree.get_terminal(s, actor, terminal_id)
    cmd = s.get(Command, command_id)
    data = (cmd.result or {}).get("png_base64") if cmd is not None else None
    if cmd is None or cmd.terminal_id != terminal_id or not cmd.ok or not isinstance(data, str):
        raise NotFound(N_("No such %(what)s."), what=SCREENSHOT)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise NotFound(N_("No such %(what)s."), what=SCREENSHOT) from None


def recent_plays(s: Session, actor: Actor, terminal_id: int, limit: int = 30) -> list[dict]:
    """The terminal's latest proof-of-play records, newest first, with content titles."""
    tree.get_terminal(s, actor, terminal_id)
    rows = list(s.scalars(select(PlayRecord).where(PlayRecord.terminal_id == terminal_id)
                          .order_by(PlayRecord.start.desc()).limit(limit)))
    titles = _titles(s, (r.content_id for r in rows))
    return [{"start": r.start, "end": r.end, "seconds": r.seconds, "reason": r.reason,
             "content_id": r.content_id, "title": titles.get(r.content_id)} for r in rows]
