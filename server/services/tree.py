"""The community tree: communities, buildings and terminals, scoped by community."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from server.db import utcnow
from server.models import Building, ColourMode, Community, Role, Street, Terminal, TerminalTag
from server.services import audit, planned
from server.services.access import Actor
from server.services.changes import touch as touch_terminals
from server.services.errors import N_, Conflict, Invalid, NotFound
from server.services.naming import by_name, name_key

BUILDING_FIELDS = ("name", "address", "community_id")
TERMINAL_FIELDS = ("name", "location", "width", "height", "colour_mode", "building_id", "tags")
MAX_PIXELS_SIDE = 16384  # larger than any LED wall; stops typos like 19200


def _flush_unique(s: Session, what: str, name: str) -> None:
    """Turn a unique-constraint violation into a clear error instead of a 500."""
    try:
        s.flush()
    except IntegrityError as exc:
        s.rollback()
        raise Conflict(
            N_("A %(what)s named “%(name)s” already exists here."), field="name", what=what, name=name
        ) from exc


# --- streets and communities -------------------------------------------------


def get_street(s: Session, actor: Actor) -> Street:
    return s.get_one(Street, actor.street_id)


def list_communities(s: Session, actor: Actor) -> list[Community]:
    q = select(Community).where(Community.street_id == actor.street_id)
    q = q.where(actor.community_clause(Community.id))
    return by_name(s.scalars(q))


def get_community(s: Session, actor: Actor, community_id: int) -> Community:
    c = s.get(Community, community_id)
    if c is None or c.street_id != actor.street_id or not actor.sees(c.id):
        raise NotFound(N_("No such %(what)s."), what="community")
    return c


def create_community(s: Session, actor: Actor, name: str) -> Community:
    actor.require_role(Role.street_admin)
    c = Community(street_id=actor.street_id, name=_clean(name, "name"))
    s.add(c)
    _flush_unique(s, "community", c.name)
    audit.record(s, actor, "create", "community", c.id, label=c.name, community_id=c.id,
                 after={"name": c.name})
    return c


# --- buildings ----------------------------------------------------------------


def list_buildings(s: Session, actor: Actor, community_id: int | None = None) -> list[Building]:
    q = (
        select(Building)
        .join(Community)
        .where(Community.street_id == actor.street_id, actor.community_clause(Building.community_id))
        .options(selectinload(Building.terminals), selectinload(Building.community))
    )
    if community_id is not None:
        q = q.where(Building.community_id == community_id)
    buildings = sorted(s.scalars(q), key=lambda b: (name_key(b.community.name), name_key(b.name)))
    for b in buildings:  # each building's terminals in the same order, without marking a change
        set_committed_value(b, "terminals", by_name(b.terminals))
    return buildings


def get_building(s: Session, actor: Actor, building_id: int) -> Building:
    b = s.get(Building, building_id)
    if b is None or b.community.street_id != actor.street_id or not actor.sees(b.community_id):
        raise NotFound(N_("No such %(what)s."), what="building")
    return b


def create_building(
    s: Session, actor: Actor, community_id: int, name: str, address: str = ""
) -> Building:
    get_community(s, actor, community_id)
    actor.require_edit(community_id, "community")
    b = Building(community_id=community_id, name=_clean(name, "name"), address=address.strip())
    s.add(b)
    _flush_unique(s, "building", b.name)
    audit.record(s, actor, "create", "building", b.id, label=b.name, community_id=community_id,
                 after=audit.snapshot(b, BUILDING_FIELDS))
    return b


def update_building(s: Session, actor: Actor, building_id: int, **changes: object) -> Building:
    b = get_building(s, actor, building_id)
    actor.require_edit(b.community_id, "building")
    before = audit.snapshot(b, BUILDING_FIELDS)
    if "community_id" in changes and changes["community_id"] != b.community_id:
        target = get_community(s, actor, int(changes["community_id"]))  # type: ignore[arg-type]
        actor.require_edit(target.id, "community")
        b.community_id = target.id
    if "name" in changes:
        b.name = _clean(str(changes["name"]), "name")
    if "address" in changes:
        b.address = str(changes["address"]).strip()
    _flush_unique(s, "building", b.name)
    audit.record(s, actor, "update", "building", b.id, label=b.name, community_id=b.community_id,
                 before=before, after=audit.snapshot(b, BUILDING_FIELDS))
    return b


def delete_building(s: Session, actor: Actor, building_id: int) -> None:
    b = get_building(s, actor, building_id)
    actor.require_edit(b.community_id, "building")
    if b.terminals:
        raise Conflict(
            N_("Building “%(name)s” still has %(count)d terminals; move or delete them first."),
            name=b.name, count=len(b.terminals),
        )
    audit.record(s, actor, "delete", "building", b.id, label=b.name, community_id=b.community_id,
                 before=audit.snapshot(b, BUILDING_FIELDS))
    s.delete(b)
    s.flush()


# --- terminals ----------------------------------------------------------------


def list_terminals(
    s: Session, actor: Actor, *, community_id: int | None = None, building_id: int | None = None
) -> list[Terminal]:
    q = (
        select(Terminal)
        .join(Building)
        .join(Community)
        .where(Community.street_id == actor.street_id, actor.community_clause(Building.community_id))
        .options(selectinload(Terminal.tag_rows),
                 selectinload(Terminal.building).selectinload(Building.community))
    )
    if community_id is not None:
        q = q.where(Building.community_id == community_id)
    if building_id is not None:
        q = q.where(Terminal.building_id == building_id)
    return sorted(s.scalars(q), key=lambda t: (name_key(t.building.community.name),
                                                name_key(t.building.name), name_key(t.name)))


def get_terminal(s: Session, actor: Actor, terminal_id: int) -> Terminal:
    t = s.get(Terminal, terminal_id)
    if t is None or t.building.community.street_id != actor.street_id or not actor.sees(
        t.building.community_id
    ):
        raise NotFound(N_("No such %(what)s."), what="terminal")
    return t


def create_terminal(
    s: Session,
    actor: Actor,
    building_id: int,
    name: str,
    width: int,
    height: int,
    colour_mode: str = "full",
    location: str = "",
    tags: list[str] | None = None,
) -> Terminal:
    b = get_building(s, actor, building_id)
    actor.require_edit(b.community_id, "building")
    t = Terminal(building_id=b.id, name=_clean(name, "name"), location=location.strip())
    _apply_terminal(t, width=width, height=height, colour_mode=colour_mode, tags=tags or [])
    s.add(t)
    _flush_unique(s, "terminal", t.name)
    audit.record(s, actor, "create", "terminal", t.id, label=t.name, community_id=b.community_id,
                 after=audit.snapshot(t, TERMINAL_FIELDS))
    return t


def update_terminal(s: Session, actor: Actor, terminal_id: int, **changes: object) -> Terminal:
    t = get_terminal(s, actor, terminal_id)
    actor.require_edit(t.building.community_id, "terminal")
    before = audit.snapshot(t, TERMINAL_FIELDS)
    moved = "building_id" in changes and changes["building_id"] != t.building_id
    if moved:
        target = get_building(s, actor, int(changes["building_id"]))  # type: ignore[arg-type]
        actor.require_edit(target.community_id, "building")
    # One flush for the move, the rename and the rest: a name taken in the new building is
    # a 409 (an autoflush on the way, e.g. loading the old tags, would raise it bare).
    with s.no_autoflush:
        if moved:
            t.building_id = target.id
        if "name" in changes:
            t.name = _clean(str(changes["name"]), "name")
        if "location" in changes:
            t.location = str(changes["location"]).strip()
        _apply_terminal(t, **{k: v for k, v in changes.items()
                              if k in ("width", "height", "colour_mode", "tags")})
    _flush_unique(s, "terminal", t.name)
    if moved:
        s.expire(t, ["building"])
    audit.record(s, actor, "update", "terminal", t.id, label=t.name,
                 community_id=t.building.community_id,
                 before=before, after=audit.snapshot(t, TERMINAL_FIELDS))
    touch_terminals(s, [t.id])  # size, place and tags all decide what it plays
    return t


def delete_terminal(s: Session, actor: Actor, terminal_id: int) -> None:
    t = get_terminal(s, actor, terminal_id)
    actor.require_edit(t.building.community_id, "terminal")
    audit.record(s, actor, "delete", "terminal", t.id, label=t.name,
                 community_id=t.building.community_id, before=audit.snapshot(t, TERMINAL_FIELDS))
    planned.forget(s, t.id, utcnow())
    s.delete(t)
    s.flush()


def fleet_sizes(
    s: Session, street_id: int, community_id: int | None = None
) -> list[tuple[int, int, ColourMode]]:
    """Distinct (width, height, colour mode) in the fleet, or in one community's part
    of it: the sizes a notice is rendered for."""
    q = (
        select(Terminal.width, Terminal.height, Terminal.colour_mode)
        .join(Building).join(Community)
        .where(Community.street_id == street_id)
        .group_by(Terminal.width, Terminal.height, Terminal.colour_mode)
        .order_by(func.max(Terminal.width * Terminal.height).desc(), Terminal.colour_mode)
    )
    if community_id is not None:
        q = q.where(Community.id == community_id)
    return [(w, h, m) for w, h, m in s.execute(q)]


def _apply_terminal(t: Terminal, **changes: object) -> None:
    if "width" in changes:
        t.width = _pixels(changes["width"], "width")
    if "height" in changes:
        t.height = _pixels(changes["height"], "height")
    if "colour_mode" in changes:
        try:
            t.colour_mode = ColourMode(str(changes["colour_mode"]))
        except ValueError:
            raise Invalid(N_("Colour mode must be “full” or “mono”."), field="colour_mode") from None
    if "tags" in changes:
        tags = sorted({_clean(str(tag), "tags", 40) for tag in changes["tags"] or []})  # type: ignore[union-attr]
        t.tag_rows = [TerminalTag(tag=tag) for tag in tags]


def _pixels(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PIXELS_SIDE:
        raise Invalid(
            N_("%(field)s must be a whole number of pixels between 1 and %(max)d."),
            field=field, max=MAX_PIXELS_SIDE,
        )
    return value


def _clean(value: str, field: str, max_len: int = 120) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(N_("%(field)s must not be empty."), field=field)
    if len(value) > max_len:
        raise Invalid(N_("%(field)s is longer than %(max)d characters."), field=field, max=max_len)
    if any(ord(ch) < 32 for ch in value):
        raise Invalid(N_("%(field)s contains control characters."), field=field)
    return value
