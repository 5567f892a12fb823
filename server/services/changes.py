"""Which terminals a change concerns: the one dependency path.

`reach` is the only definition of "this target reaches that terminal"; both
directions (terminals of a schedule, schedules of a terminal) use it.

Every service that changes what a terminal should play calls one of the `*_changed`
functions in the same transaction. They bump `Terminal.manifest_version` in the
database (the truth) and remember the terminal ids in `session.info`, so that after
the commit the socket hub can nudge exactly those terminals (a push is only a nudge).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from server.db import utcnow
from server.models import (
    Building,
    Community,
    ContentItem,
    Layout,
    Mandate,
    Playlist,
    PlaylistEntry,
    Schedule,
    ScreenPlan,
    TargetKind,
    Terminal,
    TerminalTag,
)
from server.services import receipts

NUDGE_KEY = "signage_nudge_terminals"


class Place(NamedTuple):
    """Where a terminal is, as far as targeting is concerned (a tuple: a fleet's worth is
    made for every change and every manifest batch)."""

    terminal_id: int
    building_id: int
    community_id: int
    street_id: int
    tags: frozenset[str]


class Reach(NamedTuple):
    """An owner's targets as sets, read once: a batch checks every terminal of a street
    against every schedule, and reading the ORM attributes for each pair cost more than
    building the manifests."""

    street_id: int
    community_id: int | None  # a community's own owner reaches only into it
    street: bool
    communities: frozenset[int]
    buildings: frozenset[int]
    terminals: frozenset[int]
    tags: frozenset[str]

    def __call__(self, place: Place) -> bool:
        if self.street_id != place.street_id:
            return False
        if self.community_id is not None and self.community_id != place.community_id:
            return False
        return (self.street or place.community_id in self.communities
                or place.building_id in self.buildings or place.terminal_id in self.terminals
                or not self.tags.isdisjoint(place.tags))


def reach(owner: Schedule | ScreenPlan) -> Reach:
    """Which terminals a schedule, screen plan or broadcast reaches, through any of its
    targets; it reaches a terminal of its own community only (street-wide owners reach
    the whole street)."""
    refs: dict[TargetKind, set] = {k: set() for k in TargetKind}
    for t in owner.targets:
        refs[t.kind].add(t.tag if t.kind == TargetKind.tag else t.ref_id)
    return Reach(owner.street_id, owner.community_id, bool(refs[TargetKind.street]),
                 frozenset(refs[TargetKind.community]), frozenset(refs[TargetKind.building]),
                 frozenset(refs[TargetKind.terminal]), frozenset(refs[TargetKind.tag]))


def reaches(owner: Schedule | ScreenPlan, place: Place) -> bool:
    return reach(owner)(place)


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
        reached = [reach(o) for o in owners if o.street_id == street_id]
        out.update(p.terminal_id for p in places(s, street_id) if any(r(p) for r in reached))
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


# What a manifest reads from each schedule comes in the same few queries (one per level);
# a layout schedule's content is read for all its street's layouts at once
# (services/layouts.content_of).
SCHEDULE_CHAIN = (selectinload(Schedule.playlist).selectinload(Playlist.entries)
                  .selectinload(PlaylistEntry.content).selectinload(ContentItem.renditions))
SCHEDULE_LAYOUT = selectinload(Schedule.layout)


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
    """The terminals' manifests are out of date, and so is their planned time from now on
    (server/services/planned.py rewrites it; the earliest unhandled change counts)."""
    ids = set(terminal_ids)
    if ids:
        s.execute(update(Terminal).where(Terminal.id.in_(ids))
                  .values(manifest_version=Terminal.manifest_version + 1,
                          replan_from=func.coalesce(Terminal.replan_from, utcnow())))
        s.info.setdefault(NUDGE_KEY, set()).update(ids)
        receipts.touched(s, ids)  # the change's receipt is made at its commit
    return ids


def schedules_changed(s: Session, schedule_ids: Iterable[int],
                      also_terminals: Iterable[int] = ()) -> set[int]:
    """`also_terminals`: terminals the schedules reached before the change."""
    s.flush()
    return touch(s, terminals_of_schedules(s, schedule_ids) | set(also_terminals))


def playlists_changed(s: Session, playlist_ids: Iterable[int]) -> set[int]:
    return _named_by_schedules(s, Schedule.playlist_id, playlist_ids)


def layouts_changed(s: Session, layout_ids: Iterable[int]) -> set[int]:
    return _named_by_schedules(s, Schedule.layout_id, layout_ids)


def _named_by_schedules(s: Session, column: Any, ids: Iterable[int]) -> set[int]:
    """The terminals reached by the schedules whose `column` names one of `ids`."""
    wanted = list(set(ids))
    if not wanted:
        return set()
    s.flush()
    return schedules_changed(s, list(s.scalars(select(Schedule.id).where(column.in_(wanted)))))


def _layouts_showing(s: Session, content_id: int) -> list[int]:
    """Layouts whose ticker lines or image name the item (regions are JSON: a street has a
    handful of layouts, read whole)."""
    street_id = s.scalar(select(ContentItem.street_id).where(ContentItem.id == content_id))
    rows = s.execute(select(Layout.id, Layout.regions).where(Layout.street_id == street_id))
    return [lid for lid, regions in rows
            if any(content_id in (r.get("content_ids") or ()) or r.get("content_id") ==
                   content_id for r in regions)]


def content_changed(s: Session, content_id: int) -> set[int]:
    """An edit, a review decision or an archive: every playlist holding it is affected,
    every layout showing it, and every enforced mandate that inserts it or its topic."""
    s.flush()
    playlist_ids = list(s.scalars(select(PlaylistEntry.playlist_id)
                                  .where(PlaylistEntry.content_id == content_id).distinct()))
    return playlists_changed(s, playlist_ids) | layouts_changed(
        s, _layouts_showing(s, content_id)) | mandates_changed(
        s, _mandates_inserting(s, content_id))


def _mandates_inserting(s: Session, content_id: int) -> list[int]:
    """Enforced mandates naming the item, or without items and of its topic (content_ids
    is JSON: a street's few enforced mandates are read whole)."""
    item = s.get(ContentItem, content_id)
    if item is None:
        return []
    rows = s.execute(select(Mandate.id, Mandate.content_ids, Mandate.topic_id).where(
        Mandate.street_id == item.street_id, Mandate.enforce.is_(True),
        Mandate.active.is_(True)))
    return [mid for mid, ids, topic_id in rows
            if content_id in (ids or ()) or (not ids and topic_id == item.topic_id)]


def screen_plans_changed(s: Session, plan_ids: Iterable[int],
                         also_terminals: Iterable[int] = ()) -> set[int]:
    s.flush()
    return touch(s, terminals_of_screen_plans(s, plan_ids) | set(also_terminals))


def pending_nudges(s: Session) -> set[int]:
    return s.info.pop(NUDGE_KEY, set())


def terminals_of_mandates(s: Session, mandate_ids: Iterable[int]) -> set[int]:
    return _terminals_of_owners(s, Mandate, mandate_ids)


def mandates_changed(s: Session, mandate_ids: Iterable[int],
                     also_terminals: Iterable[int] = ()) -> set[int]:
    """An enforced mandate's items are inserted into the manifests of the screens it
    reaches; `also_terminals`: those it reached before the change."""
    s.flush()
    return touch(s, terminals_of_mandates(s, mandate_ids) | set(also_terminals))
