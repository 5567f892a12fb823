"""Which terminals a change concerns: the one dependency path.

`reaches` is the only definition of "this target reaches that terminal"; both
directions (terminals of a schedule, schedules of a terminal) use it.

Every service that changes what a terminal should play calls one of the `*_changed`
functions in the same transaction. They bump `Terminal.manifest_version` in the
database (the truth) and remember the terminal ids in `session.info`, so that after
the commit the socket hub can nudge exactly those terminals (a push is only a nudge).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from server.models import (
    Building,
    Community,
    ContentItem,
    Playlist,
    PlaylistEntry,
    Schedule,
    ScreenPlan,
    TargetKind,
    Terminal,
    TerminalTag,
)

NUDGE_KEY = "signage_nudge_terminals"


class Place(NamedTuple):
    """Where a terminal is, as far as targeting is concerned (a tuple: a fleet's worth is
    made for every change and every manifest batch)."""

    terminal_id: int
    building_id: int
    community_id: int
    street_id: int
    tags: frozenset[str]


def reaches(owner: Schedule | ScreenPlan, place: Place) -> bool:
    """A schedule or screen plan reaches a terminal of its own community only (street-wide
    owners reach the whole street) through any of its targets."""
    if owner.street_id != place.street_id:
        return False
    if owner.community_id is not None and owner.community_id != place.community_id:
        return False
    for t in owner.targets:
        if (t.kind == TargetKind.street
                or (t.kind == TargetKind.community and t.ref_id == place.community_id)
                or (t.kind == TargetKind.building and t.ref_id == place.building_id)
                or (t.kind == TargetKind.terminal and t.ref_id == place.terminal_id)
                or (t.kind == TargetKind.tag and t.tag in place.tags)):
            return True
    return False


def places(s: Session, street_id: int | None,
           terminal_ids: Iterable[int] | None = None) -> list[Place]:
    """Where terminals are: a street's (street_id), or these terminals' wherever they are."""
    q = (select(Terminal.id, Terminal.building_id, Building.community_id, Community.street_id)
         .join(Building, Terminal.building_id == Building.id)
         .join(Community, Building.community_id == Community.id))
    if street_id is not None:
        q = q.where(Community.street_id == street_id)
    if terminal_ids is not None:
        q = q.where(Terminal.id.in_(list(terminal_ids)))
    rows = s.execute(q).all()
    tags: dict[int, set[str]] = {}
    tq = select(TerminalTag.terminal_id, TerminalTag.tag).where(
        TerminalTag.terminal_id.in_([r[0] for r in rows]))
    for tid, tag in s.execute(tq):
        tags.setdefault(tid, set()).add(tag)
    none: frozenset[str] = frozenset()
    return [Place(tid, bid, cid, sid, frozenset(tags[tid]) if tid in tags else none)
            for tid, bid, cid, sid in rows]


def place_of(s: Session, terminal: Terminal) -> Place:
    b = terminal.building
    return Place(terminal.id, b.id, b.community_id, b.community.street_id,
                 frozenset(terminal.tags))


def _terminals_of(s: Session, owners: list) -> set[int]:
    out: set[int] = set()
    for street_id in {o.street_id for o in owners}:
        for place in places(s, street_id):
            if any(reaches(o, place) for o in owners if o.street_id == street_id):
                out.add(place.terminal_id)
    return out


def _terminals_of_owners(s: Session, model, ids: Iterable[int]) -> set[int]:
    ids = list(set(ids))
    if not ids:
        return set()
    owners = list(s.scalars(select(model).where(model.id.in_(ids))
                            .options(selectinload(model.targets))))
    return _terminals_of(s, owners)


def active_owners(s: Session, model, street_id: int, *load) -> list:
    """A street's active schedules or screen plans, with their targets (for `reaches`)."""
    q = (select(model).where(model.street_id == street_id, model.active.is_(True))
         .options(selectinload(model.targets), *load).order_by(model.id))
    return list(s.scalars(q))


# What a manifest reads from each schedule comes in the same few queries (one per level).
SCHEDULE_CHAIN = (selectinload(Schedule.playlist).selectinload(Playlist.entries)
                  .selectinload(PlaylistEntry.content).selectinload(ContentItem.renditions))


def _owners_of_terminal(s: Session, model, terminal: Terminal, *load) -> list:
    place = place_of(s, terminal)
    return [o for o in active_owners(s, model, place.street_id, *load) if reaches(o, place)]


def terminals_of_schedules(s: Session, schedule_ids: Iterable[int]) -> set[int]:
    return _terminals_of_owners(s, Schedule, schedule_ids)


def terminals_of_screen_plans(s: Session, plan_ids: Iterable[int]) -> set[int]:
    return _terminals_of_owners(s, ScreenPlan, plan_ids)


def schedules_of_terminal(s: Session, terminal: Terminal) -> list[Schedule]:
    """The reverse direction, through the same predicate."""
    return _owners_of_terminal(s, Schedule, terminal, SCHEDULE_CHAIN)


def screen_plans_of_terminal(s: Session, terminal: Terminal) -> list[ScreenPlan]:
    return _owners_of_terminal(s, ScreenPlan, terminal)


def touch(s: Session, terminal_ids: Iterable[int]) -> set[int]:
    ids = set(terminal_ids)
    if ids:
        s.execute(update(Terminal).where(Terminal.id.in_(ids))
                  .values(manifest_version=Terminal.manifest_version + 1))
        s.info.setdefault(NUDGE_KEY, set()).update(ids)
    return ids


def schedules_changed(s: Session, schedule_ids: Iterable[int],
                      also_terminals: Iterable[int] = ()) -> set[int]:
    """`also_terminals`: terminals the schedules reached before the change."""
    s.flush()
    return touch(s, terminals_of_schedules(s, schedule_ids) | set(also_terminals))


def playlists_changed(s: Session, playlist_ids: Iterable[int]) -> set[int]:
    ids = list(set(playlist_ids))
    if not ids:
        return set()
    s.flush()
    schedule_ids = list(s.scalars(select(Schedule.id).where(Schedule.playlist_id.in_(ids))))
    return schedules_changed(s, schedule_ids)


def content_changed(s: Session, content_id: int) -> set[int]:
    """An edit, a review decision or an archive: every playlist holding it is affected."""
    s.flush()
    playlist_ids = list(s.scalars(select(PlaylistEntry.playlist_id)
                                  .where(PlaylistEntry.content_id == content_id).distinct()))
    return playlists_changed(s, playlist_ids)


def screen_plans_changed(s: Session, plan_ids: Iterable[int],
                         also_terminals: Iterable[int] = ()) -> set[int]:
    s.flush()
    return touch(s, terminals_of_screen_plans(s, plan_ids) | set(also_terminals))


def pending_nudges(s: Session) -> set[int]:
    return s.info.pop(NUDGE_KEY, set())
