"""Time-share mandates: a share of screen time required from above (e.g. 反诈宣传, 10
minutes in every hour, 08:00-22:00), stored, checked and audited. No Flask.

Who may write one mirrors schedules (planners; a street-wide one street admins only).
What a mandate means for a plan is decided in playlists/mandates.py and
services/mandate_plan.py; an enforced one changes manifests, so its changes are reported
through services/changes.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from server import inputs
from server.db import utcnow
from server.models import ContentItem, ContentStatus, Mandate, MandateTarget, TargetKind
from server.services import audit, changes, mandate_plan, topics
from server.services.access import Actor
from server.services.errors import N_, Invalid, NotFound
from server.services.naming import name_key
from server.services.schedules import (
    Problems,
    TargetIn,
    _name,
    _problems,
    check_targets,
    may_change,
    owner_community,
    require_planner,
    targets_snapshot,
)

SHARE_KINDS = ("minutes", "percent")
KINDS = (TargetKind.street.value, TargetKind.community.value, TargetKind.building.value)
MAX_ITEMS = 200


@dataclass
class MandateIn:
    name: str
    share_kind: str  # "minutes" in each hour of the window, or "percent" of the lit time
    share: float
    start_date: date | None
    end_date: date | None
    targets: list[TargetIn]
    authority: str = ""  # who requires it, e.g. 区委政法委
    topic_id: int | None = None  # the topic's items count, or these items (either counts)
    content_ids: list[int] = field(default_factory=list)
    window_start: str = "08:00"
    window_end: str = "22:00"  # end <= start crosses midnight; equal is all day
    enforce: bool = False  # insert its items into each hour as needed
    active: bool = True
    community_id: int | None = None  # owner; None: street-wide (street admins)


def of(m: Mandate) -> MandateIn:
    """A stored mandate as input, for changing a few of its fields (the API's PATCH)."""
    return MandateIn(name=m.name, share_kind=m.share_kind, share=m.share,
                     start_date=m.start_date, end_date=m.end_date,
                     targets=[TargetIn(t.kind.value, t.ref_id) for t in m.targets],
                     authority=m.authority, topic_id=m.topic_id,
                     content_ids=list(m.content_ids or []), window_start=m.window_start,
                     window_end=m.window_end, enforce=m.enforce, active=m.active,
                     community_id=m.community_id)


# --- reading ------------------------------------------------------------------------


def list_for(s: Session, actor: Actor) -> list[Mandate]:
    """The mandates `actor` sees: the street's and its own community's, newest first by
    start date, then by name."""
    q = (select(Mandate).where(Mandate.street_id == actor.street_id,
                               actor.community_clause(Mandate.community_id))
         .options(selectinload(Mandate.targets)))
    rows = list(s.scalars(q))
    return sorted(rows, key=lambda m: (-m.start_date.toordinal(), name_key(m.name)))


def get(s: Session, actor: Actor, mandate_id: int) -> Mandate:
    m = s.get(Mandate, mandate_id)
    if m is None or m.street_id != actor.street_id or not actor.sees(m.community_id):
        raise NotFound(N_("No such %(what)s."), what="mandate")
    return m


def editable(s: Session, actor: Actor, mandate_id: int) -> Mandate:
    """The mandate, if `actor` may change it: the save's check, also the page's."""
    m = get(s, actor, mandate_id)
    require_planner(actor)
    if not may_change(actor, m.community_id):  # street-wide: street admins only
        raise NotFound(N_("No such %(what)s."), what="mandate")
    return m


def require_writer(actor: Actor) -> None:
    """Who may write mandates: the planners of schedules."""
    require_planner(actor)


# --- checks -------------------------------------------------------------------------


def _authority(value: str) -> str:
    value = (value or "").strip()
    if len(value) > 200:
        raise Invalid(N_("Who requires it: at most %(max)d characters."), field="authority",
                      max=200)
    return value


def _share(kind: str, share: float) -> None:
    if kind not in SHARE_KINDS:
        raise Invalid(N_("The share is minutes in each hour or a percentage of lit time."),
                      field="share_kind")
    ok = isinstance(share, (int, float)) and math.isfinite(share)
    if kind == "minutes" and not (ok and 0 < share <= 60):
        raise Invalid(N_("Minutes in each hour: more than 0, at most 60."), field="share")
    if kind == "percent" and not (ok and 0 < share <= 100):
        raise Invalid(N_("A percentage of lit time: more than 0, at most 100."), field="share")


def _clock(value: str, name: str) -> str:
    """"8:00" and "08:00" are the same time; stored as HH:MM."""
    try:
        return time.fromisoformat((value or "").strip().zfill(5)).strftime("%H:%M")
    except ValueError:
        raise Invalid(N_("Write the time as HH:MM, e.g. 08:00."), field=name) from None


def _dates(start: date | None, end: date | None) -> None:
    if start is None:
        raise Invalid(N_("Give the first day it applies."), field="start_date")
    if end is None:
        raise Invalid(N_("Give the last day it applies."), field="end_date")
    for value, name in ((start, "start_date"), (end, "end_date")):
        if not inputs.in_time_range(value):
            raise Invalid(inputs.TIME_RANGE, field=name)
    if end < start:
        raise Invalid(N_("The end date is before the start date."), field="end_date")


def _content(s: Session, actor: Actor, owner: int | None, m: MandateIn) -> list[int]:
    """The topic (the street's) and items (approved, of the owner's scope: a community's
    mandate counts its own and street-wide items)."""
    if m.topic_id is not None:
        topics.get_topic(s, actor, m.topic_id)
    ids = sorted(set(m.content_ids or []))
    if m.topic_id is None and not ids:
        raise Invalid(N_("Choose a topic or at least one item that counts towards the "
                         "share."), field="content_ids")
    if len(ids) > MAX_ITEMS:
        raise Invalid(N_("At most %(max)d items."), field="content_ids", max=MAX_ITEMS)
    found = {c.id: c for c in s.scalars(select(ContentItem).where(ContentItem.id.in_(ids)))}
    for i in ids:
        item = found.get(i)
        if item is None or item.draft_of_id is not None or item.street_id != actor.street_id \
                or not actor.sees(item.community_id) \
                or (owner is not None and item.community_id not in (None, owner)):
            raise Invalid(N_("No content item #%(id)s among the items this mandate may "
                             "name."), field="content_ids", id=i)
        if item.status != ContentStatus.approved:
            raise Invalid(N_("“%(title)s” is not approved; only approved content can count "
                             "towards a mandate."), field="content_ids", title=item.title)
    return ids


def _targets(s: Session, actor: Actor, owner: int | None, targets: list[TargetIn]) -> list:
    if not targets:
        raise Invalid(N_("Choose where it applies: the whole street, communities or "
                         "buildings."), field="targets")
    for t in targets:
        if t.kind not in KINDS:
            raise Invalid(N_("A mandate applies to the street, communities or buildings."),
                          field="targets")
    return check_targets(s, actor, owner, targets)


def _checked(s: Session, actor: Actor, owner: int | None, m: MandateIn) -> dict:
    """Every field checked, all problems at once (each by its field): the columns to
    store, and the targets."""
    out: dict = {}

    def put(name: str, check) -> None:
        out[name] = check()

    problems = _problems(
        lambda: put("name", lambda: _name(m.name)),
        lambda: put("authority", lambda: _authority(m.authority)),
        lambda: _share(m.share_kind, m.share),
        lambda: put("window_start", lambda: _clock(m.window_start, "window_start")),
        lambda: put("window_end", lambda: _clock(m.window_end, "window_end")),
        lambda: _dates(m.start_date, m.end_date),
        lambda: put("content_ids", lambda: _content(s, actor, owner, m)),
        lambda: put("targets", lambda: _targets(s, actor, owner, m.targets)))
    if not problems and m.enforce:
        problems = _problems(lambda: _insertable(s, actor, owner, m, out["content_ids"]))
    if problems:
        raise Problems(problems)
    return out


def _insertable(s: Session, actor: Actor, owner: int | None, m: MandateIn,
                content_ids: list[int]) -> None:
    """Enforcing inserts what mandate_plan.insertion_content finds: without it, enforcing
    would silently do nothing."""
    probe = Mandate(street_id=actor.street_id, community_id=owner, topic_id=m.topic_id,
                    content_ids=content_ids)
    if not mandate_plan.insertion_content(s, probe, utcnow()):
        raise Invalid(N_("Nothing to insert: an enforced mandate inserts its items, or else "
                         "its topic's approved items (each screen those of its own "
                         "community and street-wide ones). Choose items, or keep it "
                         "checked only."), field="enforce")


def _apply(mandate: Mandate, m: MandateIn, checked: dict) -> None:
    mandate.name, mandate.authority = checked["name"], checked["authority"]
    mandate.topic_id, mandate.content_ids = m.topic_id, checked["content_ids"]
    mandate.share_kind, mandate.share = m.share_kind, float(m.share)
    mandate.window_start, mandate.window_end = checked["window_start"], checked["window_end"]
    mandate.start_date, mandate.end_date = m.start_date, m.end_date
    mandate.enforce, mandate.active = bool(m.enforce), bool(m.active)


def _snapshot(m: Mandate) -> dict:
    return {"name": m.name, "authority": m.authority, "topic_id": m.topic_id,
            "content_ids": list(m.content_ids or []), "share_kind": m.share_kind,
            "share": m.share, "window": f"{m.window_start}-{m.window_end}",
            "start_date": str(m.start_date), "end_date": str(m.end_date),
            "enforce": m.enforce, "active": m.active,
            "targets": targets_snapshot(m)}


def _enforcing(m: Mandate) -> bool:
    """Only an active enforced mandate changes what screens play."""
    return m.enforce and m.active


# --- writing ------------------------------------------------------------------------


def create(s: Session, actor: Actor, m: MandateIn) -> Mandate:
    require_planner(actor)
    owner = owner_community(s, actor, m.community_id)
    checked = _checked(s, actor, owner, m)
    mandate = Mandate(street_id=actor.street_id, community_id=owner, created_by=actor.id)
    _apply(mandate, m, checked)
    mandate.targets = [MandateTarget(kind=k, ref_id=r) for k, r, _tag in checked["targets"]]
    s.add(mandate)
    s.flush()
    audit.record(s, actor, "create", "mandate", mandate.id, label=mandate.name,
                 community_id=owner, after=_snapshot(mandate))
    if _enforcing(mandate):
        changes.mandates_changed(s, [mandate.id])
    return mandate


def update(s: Session, actor: Actor, mandate_id: int, m: MandateIn) -> Mandate:
    """Everything as given (the owner stays); screens it reached before or reaches now get
    new manifests if it was or is enforced."""
    mandate = editable(s, actor, mandate_id)
    before = _snapshot(mandate)
    was_enforcing = _enforcing(mandate)
    reached_before = (changes.terminals_of_mandates(s, [mandate.id]) if was_enforcing
                      else set())
    checked = _checked(s, actor, mandate.community_id, m)
    _apply(mandate, m, checked)
    mandate.targets.clear()
    s.flush()
    mandate.targets.extend(MandateTarget(kind=k, ref_id=r) for k, r, _tag in checked["targets"])
    mandate.updated_at = utcnow()
    s.flush()
    audit.record(s, actor, "update", "mandate", mandate.id, label=mandate.name,
                 community_id=mandate.community_id, before=before, after=_snapshot(mandate))
    if was_enforcing or _enforcing(mandate):
        changes.mandates_changed(s, [mandate.id] if _enforcing(mandate) else [],
                                 also_terminals=reached_before)
    return mandate


def delete(s: Session, actor: Actor, mandate_id: int) -> None:
    mandate = editable(s, actor, mandate_id)
    reached = changes.terminals_of_mandates(s, [mandate.id]) if _enforcing(mandate) else set()
    audit.record(s, actor, "delete", "mandate", mandate.id, label=mandate.name,
                 community_id=mandate.community_id, before=_snapshot(mandate))
    s.delete(mandate)
    s.flush()
    changes.touch(s, reached)


# --- warnings -----------------------------------------------------------------------


@dataclass(frozen=True)
class Short:
    """How a mandate's planned share falls short on some days, summed for one warning."""

    mandate_id: int
    name: str
    community_id: int | None
    share_kind: str
    share: float
    screens: int
    days: int
    fewest_hours: int  # hours short on a screen and day: the fewest and the most
    most_hours: int
    hours: int  # in all
    least_s: float  # the least planned in a screen's worst hour


def shortages(s: Session, actor: Actor, days: list[date],
              terminal_id: int | None = None) -> list[Short]:
    """The mandates that the plans of the screens `actor` sees (or of one of them) fall
    short of on `days`, from mandate_plan.shortfalls. It resolves every plan over the
    days: pages run it in a job worker (server/workpool.py run_db)."""
    rows = [r for r in mandate_plan.shortfalls(s, actor.street_id, actor.community_id, days)
            if terminal_id is None or r.terminal_id == terminal_id]
    groups: dict[int, list[mandate_plan.Shortfall]] = {}
    for r in rows:
        groups.setdefault(r.mandate.id, []).append(r)
    out = []
    for group in groups.values():
        m, hours = group[0].mandate, [r.hours_short for r in group]
        out.append(Short(m.id, m.name, m.community_id, m.share_kind, m.share,
                         screens=len({r.terminal_id for r in group}),
                         days=len({r.day for r in group}), fewest_hours=min(hours),
                         most_hours=max(hours), hours=sum(hours),
                         least_s=min(r.planned_s for r in group)))
    return out
