"""Playlists, schedules and screen plans: storing the rules staff write. No Flask.

What the rules mean is decided by playlists/ (validation and the resolver); this module
checks scope and references, asks playlists.validation about the rest, stores, audits,
and reports the change through services/changes.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import playlists as plan_model
from playlists import validation
from server.db import utcnow
from server.models import (
    Building,
    Community,
    ContentItem,
    ContentStatus,
    Playlist,
    PlaylistEntry,
    Role,
    Schedule,
    ScheduleKind,
    ScheduleTarget,
    ScreenPlan,
    ScreenPlanTarget,
    TargetKind,
    Terminal,
    TerminalTag,
)
from server.services import audit, changes
from server.services import content as content_svc
from server.services.access import Actor
from server.services.errors import N_, Conflict, Invalid, NotFound
from server.services.naming import by_name, name_key

PLANNERS = (Role.street_admin, Role.community_admin, Role.editor)

# playlists.validation codes in the user's words.
MESSAGES = {
    "playlist_empty": N_("The playlist is empty; add at least one approved item."),
    "duration_not_positive": N_("A duration must be more than 0 seconds."),
    "duration_too_long": N_("A duration over 24 hours is surely a typo."),
    "validity_inverted": N_("The end must be after the start."),
    "datetime_naive": N_("A time needs a time zone."),
    "kind_unknown": N_("The kind must be normal, filler or interrupt."),
    "priority_out_of_range": N_("The priority must be between -1000 and 1000."),
    "date_range_inverted": N_("The end date is before the start date."),
    "weekdays_empty": N_("Choose at least one day of the week."),
    "weekday_out_of_range": N_("Days of the week are 0 (Monday) to 6 (Sunday)."),
    "windows_empty": N_("Give at least one daily time window."),
    "windows_overlap": N_("Two time windows of this schedule overlap."),
    "brightness_out_of_range": N_("Brightness is a percentage from 0 to 100."),
}


class Problems(Invalid):
    """Everything wrong with a schedule at once, each with its field, so that a form shows
    them all in one go; the first one is the message (for the API)."""

    def __init__(self, errors: list[Invalid]) -> None:
        first = errors[0]
        super().__init__(first.template, field=first.field,
                         **{k: v for k, v in first.params.items() if k != "field"})
        self.code = first.code
        self.errors = errors


def _problems(*checks: Callable[[], object]) -> list[Invalid]:
    """Run every check, keeping what each refuses (permission and not-found errors still
    end the request at once)."""
    found: list[Invalid] = []
    for check in checks:
        try:
            check()
        except Problems as p:
            found += p.errors
        except Invalid as e:
            found.append(e)
    return found


def _raise_all(errors: list[validation.FieldError]) -> None:
    out: list[Invalid] = []
    seen = set()
    for e in errors:
        name = re.sub(r"\[\d+\]$", "", e.field.split(".")[-1])
        if (name, e.code) in seen:
            continue
        seen.add((name, e.code))
        err = Invalid(MESSAGES.get(e.code, N_("Invalid schedule.")), field=name)
        err.code = e.code
        out.append(err)
    if out:
        raise Problems(out)


def _raise_first(errors: list[validation.FieldError], field_prefix: str = "") -> None:
    if errors:
        e = errors[0]
        name = re.sub(r"\[\d+\]$", "", e.field.split(".")[-1])
        err = Invalid(MESSAGES.get(e.code, N_("Invalid schedule.")),
                      field=(field_prefix + name).strip("."))
        err.code = e.code
        raise err


def owner_community(s: Session, actor: Actor, community_id: int | None) -> int | None:
    """Community staff always plan for their own community; street admins choose one of
    the street's (an unknown one is a 404, not a foreign-key error at INSERT)."""
    if actor.is_street_admin:
        if community_id is not None and (
                (c := s.get(Community, community_id)) is None or c.street_id != actor.street_id):
            raise NotFound(N_("No such %(what)s."), what="community", field="community_id")
        return community_id
    if community_id not in (None, actor.community_id):
        raise NotFound(N_("No such %(what)s."), what="community", field="community_id")
    return actor.community_id


# --- playlists ----------------------------------------------------------------------


@dataclass
class EntryIn:
    content_id: int
    duration_s: float | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def _entries(s: Session, actor: Actor, entries: list[EntryIn]) -> list[PlaylistEntry]:
    if len(entries) > 500:
        raise Invalid(N_("A playlist holds at most %(max)d items."), field="entries", max=500)
    out = []
    for pos, e in enumerate(entries):
        item = content_svc.get_item(s, actor, e.content_id)
        if item.broadcast_text:
            # It plays as the broadcast and ends with it; the pickers never offer it.
            raise Invalid(N_("An emergency broadcast's text cannot go into a playlist."),
                          field="entries")
        if item.status != ContentStatus.approved:
            raise Invalid(N_("“%(title)s” is not approved; only approved content can be "
                             "scheduled."), field="entries", title=item.title)
        duration = item.play_seconds if e.duration_s is None else e.duration_s
        probe = plan_model.Item(content_id=item.id, sha256="0" * 64, duration_s=duration,
                                topic_id=item.topic_id, approved=True,
                                entry_valid_from=e.valid_from, entry_valid_until=e.valid_until)
        _raise_first(validation.validate_item(probe), "entries.")
        out.append(PlaylistEntry(position=pos, content_id=item.id, duration_s=e.duration_s,
                                 valid_from=e.valid_from, valid_until=e.valid_until))
    return out


def _entries_snapshot(p: Playlist) -> list:
    return [[e.content_id, e.duration_s] for e in p.entries]


def list_playlists(s: Session, actor: Actor) -> list[Playlist]:
    q = (select(Playlist).where(Playlist.street_id == actor.street_id,
                                actor.community_clause(Playlist.community_id))
         .options(selectinload(Playlist.entries)))
    return by_name(s.scalars(q))


def get_playlist(s: Session, actor: Actor, playlist_id: int) -> Playlist:
    p = s.get(Playlist, playlist_id)
    if p is None or p.street_id != actor.street_id or not actor.sees(p.community_id):
        raise NotFound(N_("No such %(what)s."), what="playlist", field="playlist_id")
    return p


def require_planner(actor: Actor) -> None:
    """Who may write playlists and schedules: asked by the saves and by the pages that
    offer their forms, so a reader is refused before filling one in."""
    actor.require_role(*PLANNERS)


def require_screen_planner(actor: Actor) -> None:
    """Screen plans switch screens off and dim them: administrators only."""
    actor.require_role(Role.street_admin, Role.community_admin)


def may_change(actor: Actor, community_id: int | None) -> bool:
    """Whether `actor` may change a playlist or schedule it sees, owned by `community_id`
    (the rule of editable_playlist and editable_schedule, for offering a link)."""
    return actor.role in PLANNERS and (community_id is not None or actor.is_street_admin)


def editable_playlist(s: Session, actor: Actor, playlist_id: int) -> Playlist:
    """The playlist, if `actor` may change it: the save's check, also the page's."""
    return _editable_playlist(s, actor, playlist_id)


def editable_schedule(s: Session, actor: Actor, schedule_id: int) -> Schedule:
    """The schedule, if `actor` may change it: the save's check, also the page's."""
    return _editable_schedule(s, actor, schedule_id)


def _editable_playlist(s: Session, actor: Actor, playlist_id: int) -> Playlist:
    p = get_playlist(s, actor, playlist_id)
    require_planner(actor)
    if not may_change(actor, p.community_id):  # street-wide: street admins only
        raise NotFound(N_("No such %(what)s."), what="playlist", field="playlist_id")
    return p


def _name(value: str) -> str:
    value = (value or "").strip()
    if not 1 <= len(value) <= 120:
        raise Invalid(N_("%(field)s must be 1 to %(max)d characters."), field="name", max=120)
    return value


def create_playlist(s: Session, actor: Actor, name: str, entries: list[EntryIn],
                    community_id: int | None = None) -> Playlist:
    require_planner(actor)
    p = Playlist(street_id=actor.street_id, community_id=owner_community(s, actor, community_id),
                 name=_name(name), created_by=actor.id)
    p.entries = _entries(s, actor, entries)
    s.add(p)
    s.flush()
    audit.record(s, actor, "create", "playlist", p.id, label=p.name, community_id=p.community_id,
                 after={"name": p.name, "entries": _entries_snapshot(p)})
    return p


def update_playlist(s: Session, actor: Actor, playlist_id: int, *, name: str | None = None,
                    entries: list[EntryIn] | None = None) -> Playlist:
    p = _editable_playlist(s, actor, playlist_id)
    before = {"name": p.name, "entries": _entries_snapshot(p)}
    if name is not None:
        p.name = _name(name)
    if entries is not None:
        new = _entries(s, actor, entries)
        p.entries.clear()
        s.flush()
        p.entries.extend(new)
    p.updated_at = utcnow()
    s.flush()
    audit.record(s, actor, "update", "playlist", p.id, label=p.name, community_id=p.community_id,
                 before=before, after={"name": p.name, "entries": _entries_snapshot(p)})
    changes.playlists_changed(s, [p.id])
    return p


def delete_playlist(s: Session, actor: Actor, playlist_id: int) -> None:
    p = _editable_playlist(s, actor, playlist_id)
    used = s.scalar(select(Schedule.name).where(Schedule.playlist_id == p.id).limit(1))
    if used:
        raise Conflict(N_("The playlist is used by the schedule “%(name)s”."), name=used)
    audit.record(s, actor, "delete", "playlist", p.id, label=p.name, community_id=p.community_id,
                 before={"name": p.name, "entries": _entries_snapshot(p)})
    s.delete(p)
    s.flush()


# --- targets ------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetIn:
    kind: str
    ref_id: int | None = None
    tag: str | None = None


def check_targets(s: Session, actor: Actor, owner_community: int | None,
                   targets: list[TargetIn]) -> list[tuple[TargetKind, int | None, str | None]]:
    """Every target must exist inside the owner's community (or the street)."""
    if not targets:
        raise Invalid(N_("Choose at least one target (terminal, building, community, street "
                         "or tag)."), field="targets")
    out = []
    for t in targets:
        try:
            kind = TargetKind(t.kind)
        except ValueError:
            raise Invalid(N_("Unknown target kind “%(kind)s”."), field="targets",
                          kind=t.kind) from None
        community_of: int | None
        if kind == TargetKind.street:
            if owner_community is not None:
                raise Invalid(N_("Only street-wide schedules can target the whole street."),
                              field="targets")
            out.append((kind, None, None))
            continue
        if kind == TargetKind.tag:
            tag = (t.tag or "").strip()
            if not tag or len(tag) > 40:
                raise Invalid(N_("A tag target needs a tag of 1 to 40 characters."),
                              field="targets")
            out.append((kind, None, tag))
            continue
        model = {TargetKind.community: Community, TargetKind.building: Building,
                 TargetKind.terminal: Terminal}[kind]
        obj = s.get(model, t.ref_id) if isinstance(t.ref_id, int) else None
        if obj is None:
            community_of = -1
        elif kind == TargetKind.community:
            community_of = obj.id if obj.street_id == actor.street_id else -1
        elif kind == TargetKind.building:
            community_of = obj.community_id if obj.community.street_id == actor.street_id else -1
        else:
            b = obj.building
            community_of = b.community_id if b.community.street_id == actor.street_id else -1
        if community_of == -1 or not actor.sees(community_of) or (
                owner_community is not None and community_of != owner_community):
            raise Invalid(N_("No %(what)s #%(id)s among the screens you may schedule."),
                          field="targets", what=kind.value, id=t.ref_id)
        out.append((kind, obj.id, None))
    return sorted(set(out), key=lambda x: (x[0].value, x[1] or 0, x[2] or ""))


def targets_snapshot(owner) -> list:
    return sorted([t.kind.value, t.ref_id, t.tag] for t in owner.targets)


# --- schedules ----------------------------------------------------------------------


@dataclass
class Recurrence:
    start_date: date | None = None
    end_date: date | None = None
    weekdays: list[int] = field(default_factory=lambda: list(range(7)))
    windows: list[tuple[str, str]] = field(default_factory=lambda: [("00:00", "00:00")])
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    priority: int = 0


def _windows(raw: list) -> tuple[plan_model.Window, ...]:
    out = []
    for w in raw:
        try:
            start, end = w
            out.append(plan_model.Window(time.fromisoformat(str(start)),
                                         time.fromisoformat(str(end))))
        except (TypeError, ValueError):
            raise Invalid(N_("Time windows are written as HH:MM-HH:MM, e.g. 07:00-22:00."),
                          field="windows") from None
    return tuple(out)


def _check_recurrence(r: Recurrence, kind: str = "normal",
                      playlist: plan_model.Playlist | None = None) -> None:
    probe_playlist = playlist or plan_model.Playlist(0, "probe", (
        plan_model.Item(1, "0" * 64, 10.0, 1, True),))
    probe = plan_model.Schedule(
        id=1, playlist=probe_playlist, kind=kind, priority=r.priority, start_date=r.start_date,
        end_date=r.end_date, weekdays=frozenset(r.weekdays), windows=_windows(r.windows),
        valid_from=r.valid_from, valid_until=r.valid_until)
    _raise_all(validation.validate_schedule(probe))


def _recurrence_snapshot(o) -> dict:
    return {"start_date": str(o.start_date) if o.start_date else None,
            "end_date": str(o.end_date) if o.end_date else None,
            "weekdays": list(o.weekdays), "windows": [list(w) for w in o.windows],
            "priority": o.priority}


def _apply_recurrence(o, r: Recurrence) -> None:
    o.start_date, o.end_date = r.start_date, r.end_date
    o.weekdays = sorted(set(r.weekdays))
    o.windows = [[str(a), str(b)] for a, b in r.windows]
    o.valid_from, o.valid_until, o.priority = r.valid_from, r.valid_until, r.priority


def list_schedules(s: Session, actor: Actor) -> list[Schedule]:
    """A schedule plays a playlist (sc.playlist) or frames the screen with a layout
    (sc.layout); exactly one is set."""
    q = (select(Schedule).where(Schedule.street_id == actor.street_id,
                                actor.community_clause(Schedule.community_id))
         .options(selectinload(Schedule.targets), selectinload(Schedule.playlist),
                  selectinload(Schedule.layout))
         .order_by(Schedule.kind, Schedule.priority.desc()))
    rows = list(s.scalars(q))
    rank: dict = {}  # kind, then priority, in the database's order; then by name
    for x in rows:
        rank.setdefault((x.kind, x.priority), len(rank))
    return sorted(rows, key=lambda x: (rank[(x.kind, x.priority)], name_key(x.name)))


def get_schedule(s: Session, actor: Actor, schedule_id: int) -> Schedule:
    sc = s.get(Schedule, schedule_id)
    if sc is None or sc.street_id != actor.street_id or not actor.sees(sc.community_id):
        raise NotFound(N_("No such %(what)s."), what="schedule")
    return sc


def _editable_schedule(s: Session, actor: Actor, schedule_id: int) -> Schedule:
    sc = get_schedule(s, actor, schedule_id)
    require_planner(actor)
    if not may_change(actor, sc.community_id):  # street-wide: street admins only
        raise NotFound(N_("No such %(what)s."), what="schedule")
    return sc


def _schedule_snapshot(sc: Schedule) -> dict:
    return {"name": sc.name, "playlist_id": sc.playlist_id, "layout_id": sc.layout_id,
            "kind": sc.kind.value,
            "active": sc.active, "targets": targets_snapshot(sc), **_recurrence_snapshot(sc)}


def _kind(value: str) -> ScheduleKind:
    try:
        kind = ScheduleKind(value)
    except ValueError:
        raise Invalid(MESSAGES["kind_unknown"], field="kind") from None
    return kind


def _layout(s: Session, actor: Actor, layout_id: int | None):
    from server.services import layouts  # it builds on this module

    return layouts.get_layout(s, actor, layout_id) if layout_id else None


def _one_of(playlist_id: int | None, layout_id: int | None) -> None:
    if playlist_id and layout_id:
        raise Invalid(N_("A schedule plays a playlist or shows a layout: choose one, not "
                         "both."), field="layout_id")


def create_schedule(s: Session, actor: Actor, *, name: str, playlist_id: int | None = None,
                    kind: str = "normal", recurrence: Recurrence, targets: list[TargetIn],
                    community_id: int | None = None,
                    layout_id: int | None = None) -> Schedule:
    """A schedule names a playlist, or a layout (`layout_id`: it frames the screen while in
    force, ranked by priority among layout schedules; `kind` does not apply to it)."""
    require_planner(actor)
    if layout_id:
        kind = ScheduleKind.normal.value
    if kind == ScheduleKind.interrupt and not actor.is_street_admin:
        actor.require_role(Role.street_admin, Role.community_admin)
    community_id = owner_community(s, actor, community_id)
    _one_of(playlist_id, layout_id)
    playlist = get_playlist(s, actor, playlist_id) if playlist_id else None
    layout = _layout(s, actor, layout_id)
    kind_ = ScheduleKind.normal

    def check_playlist() -> None:
        if layout is not None:
            return
        if playlist is None:
            raise Invalid(N_("Choose a playlist or a layout."), field="playlist_id")
        if not playlist.entries:
            raise Invalid(MESSAGES["playlist_empty"], field="playlist_id")

    def check_kind() -> None:
        nonlocal kind_
        kind_ = _kind(kind)

    problems = _problems(lambda: _name(name), check_playlist, check_kind,
                         lambda: _check_recurrence(recurrence, kind_.value),
                         lambda: check_targets(s, actor, community_id, targets))
    if problems:
        raise Problems(problems)
    sc = Schedule(street_id=actor.street_id, community_id=community_id, name=_name(name),
                  playlist_id=playlist.id if playlist else None,
                  layout_id=layout.id if layout else None, kind=kind_, created_by=actor.id)
    _apply_recurrence(sc, recurrence)
    sc.targets = [ScheduleTarget(kind=k, ref_id=r, tag=t)
                  for k, r, t in check_targets(s, actor, community_id, targets)]
    s.add(sc)
    s.flush()
    audit.record(s, actor, "create", "schedule", sc.id, label=sc.name,
                 community_id=sc.community_id, after=_schedule_snapshot(sc))
    changes.schedules_changed(s, [sc.id])
    return sc


def update_schedule(s: Session, actor: Actor, schedule_id: int, *, name: str | None = None,
                    playlist_id: int | None = None, kind: str | None = None,
                    recurrence: Recurrence | None = None, targets: list[TargetIn] | None = None,
                    active: bool | None = None, layout_id: int | None = None) -> Schedule:
    """Giving a playlist makes it a playlist schedule, giving a layout a layout schedule."""
    sc = _editable_schedule(s, actor, schedule_id)
    before = _schedule_snapshot(sc)
    reached_before = changes.terminals_of_schedules(s, [sc.id])
    _one_of(playlist_id, layout_id)
    p = get_playlist(s, actor, playlist_id) if playlist_id else None
    layout = _layout(s, actor, layout_id)
    if layout is not None or (sc.layout_id is not None and p is None):
        kind = ScheduleKind.normal.value  # kind does not apply to a layout schedule
    kind_ = sc.kind
    checked: list = []

    def check_playlist() -> None:
        if p is not None and not p.entries:
            raise Invalid(MESSAGES["playlist_empty"], field="playlist_id")

    def check_kind() -> None:
        nonlocal kind_
        if kind is not None:
            kind_ = _kind(kind)

    def check_targets_() -> None:
        nonlocal checked
        if targets is not None:
            checked = check_targets(s, actor, sc.community_id, targets)

    problems = _problems(lambda: name is None or _name(name), check_playlist, check_kind,
                         lambda: recurrence is None or _check_recurrence(recurrence, kind_.value),
                         check_targets_)
    if problems:
        raise Problems(problems)
    if name is not None:
        sc.name = _name(name)
    if p is not None:
        sc.playlist, sc.layout = p, None
    if layout is not None:
        sc.playlist, sc.layout = None, layout
    sc.kind = kind_
    if recurrence is not None:
        _apply_recurrence(sc, recurrence)
    if targets is not None:
        sc.targets.clear()
        s.flush()
        sc.targets.extend(ScheduleTarget(kind=k, ref_id=r, tag=t) for k, r, t in checked)
    if active is not None:
        sc.active = active
    sc.updated_at = utcnow()
    s.flush()
    audit.record(s, actor, "update", "schedule", sc.id, label=sc.name,
                 community_id=sc.community_id, before=before, after=_schedule_snapshot(sc))
    changes.schedules_changed(s, [sc.id], also_terminals=reached_before)
    return sc


def delete_schedule(s: Session, actor: Actor, schedule_id: int) -> None:
    sc = _editable_schedule(s, actor, schedule_id)
    reached = changes.terminals_of_schedules(s, [sc.id])
    audit.record(s, actor, "delete", "schedule", sc.id, label=sc.name,
                 community_id=sc.community_id, before=_schedule_snapshot(sc))
    s.delete(sc)
    s.flush()
    changes.touch(s, reached)


# --- screen plans ---------------------------------------------------------------------


def list_screen_plans(s: Session, actor: Actor) -> list[ScreenPlan]:
    q = (select(ScreenPlan).where(ScreenPlan.street_id == actor.street_id,
                                  actor.community_clause(ScreenPlan.community_id))
         .options(selectinload(ScreenPlan.targets)).order_by(ScreenPlan.priority.desc()))
    return list(s.scalars(q))


def create_screen_plan(s: Session, actor: Actor, *, name: str, screen_on: bool,
                       brightness: int, recurrence: Recurrence, targets: list[TargetIn],
                       community_id: int | None = None) -> ScreenPlan:
    require_screen_planner(actor)
    community_id = owner_community(s, actor, community_id)

    def check_brightness() -> None:
        if not isinstance(brightness, int) or not 0 <= brightness <= 100:
            raise Invalid(MESSAGES["brightness_out_of_range"], field="brightness")

    # Everything wrong at once, as for schedules: a form shows each next to its field.
    problems = _problems(lambda: _name(name), check_brightness,
                         lambda: _check_recurrence(recurrence),
                         lambda: check_targets(s, actor, community_id, targets))
    if problems:
        raise Problems(problems)
    sp = ScreenPlan(street_id=actor.street_id, community_id=community_id, name=_name(name),
                    screen_on=screen_on, brightness=brightness)
    _apply_recurrence(sp, recurrence)
    sp.targets = [ScreenPlanTarget(kind=k, ref_id=r, tag=t)
                  for k, r, t in check_targets(s, actor, community_id, targets)]
    s.add(sp)
    s.flush()
    audit.record(s, actor, "create", "screen_plan", sp.id, label=sp.name,
                 community_id=sp.community_id,
                 after={"on": screen_on, "brightness": brightness,
                        "targets": targets_snapshot(sp), **_recurrence_snapshot(sp)})
    changes.screen_plans_changed(s, [sp.id])
    return sp


def delete_screen_plan(s: Session, actor: Actor, plan_id: int) -> None:
    sp = s.get(ScreenPlan, plan_id)
    if sp is None or sp.street_id != actor.street_id or not actor.sees(sp.community_id):
        raise NotFound(N_("No such %(what)s."), what="screen plan")
    actor.require_role(Role.street_admin, Role.community_admin)
    if sp.community_id is None and not actor.is_street_admin:
        raise NotFound(N_("No such %(what)s."), what="screen plan")
    reached = changes.terminals_of_screen_plans(s, [sp.id])
    audit.record(s, actor, "delete", "screen_plan", sp.id, label=sp.name,
                 community_id=sp.community_id)
    s.delete(sp)
    s.flush()
    changes.touch(s, reached)


def tags_in_scope(s: Session, actor: Actor) -> list[str]:
    q = (select(TerminalTag.tag).join(Terminal).join(Building)
         .where(actor.community_clause(Building.community_id)).distinct())
    return sorted(s.scalars(q), key=name_key)


def approved_content(s: Session, actor: Actor) -> list[ContentItem]:
    return content_svc.list_items(s, actor, status=ContentStatus.approved.value)

