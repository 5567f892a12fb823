"""Escalated-review periods: dates during which every new or changed item needs a street
approval and every broadcast a second person. No Flask.

`in_force` is the one question the review and the broadcasts ask. Days are the street's
local days (Asia/Shanghai), both ends included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import Community, EscalationPeriod
from server.services import audit
from server.services.access import Actor
from server.services.errors import N_, Forbidden, Invalid, NotFound

TZ = ZoneInfo(PEOPLE_TZ)
NAME = N_("escalation period")  # what "No such %(what)s." names
MAX_DAYS = 366  # a typo in the year stops here


@dataclass
class PeriodIn:
    starts_on: date | None
    ends_on: date | None
    reason: str
    community_ids: list[int]  # empty: the whole street


def local_day(at: datetime) -> date:
    return at.astimezone(TZ).date()


def covers(period: EscalationPeriod, community_id: int | None, day: date) -> bool:
    """A period covers a community's object on its days; a street-wide object (None) is
    covered by any period, since it reaches every community."""
    return (period.starts_on <= day <= period.ends_on
            and (not period.community_ids or community_id is None
                 or community_id in period.community_ids))


def in_force(s: Session, street_id: int, community_id: int | None,
             at: datetime | None = None) -> EscalationPeriod | None:
    """The period covering the community (None: anything street-wide) at `at`, or None."""
    day = local_day(at or utcnow())
    rows = s.scalars(select(EscalationPeriod).where(
        EscalationPeriod.street_id == street_id, EscalationPeriod.starts_on <= day,
        EscalationPeriod.ends_on >= day).order_by(EscalationPeriod.starts_on,
                                                  EscalationPeriod.id))
    return next((p for p in rows if covers(p, community_id, day)), None)


def any_in_force(s: Session, street_id: int, community_ids: set[int],
                 at: datetime | None = None) -> EscalationPeriod | None:
    """The period covering any of these communities (what a broadcast reaching them asks)."""
    for cid in sorted(community_ids):
        p = in_force(s, street_id, cid, at)
        if p is not None:
            return p
    return None


def shown_to(s: Session, actor: Actor, at: datetime | None = None) -> EscalationPeriod | None:
    """The period the banner shows this person: one covering their community (a street-level
    person: any)."""
    return in_force(s, actor.street_id, actor.community_id, at)


def list_periods(s: Session, actor: Actor, *, past: bool = False) -> list[EscalationPeriod]:
    """Current and coming periods (`past`: the ended ones, newest first)."""
    today = local_day(utcnow())
    q = select(EscalationPeriod).where(EscalationPeriod.street_id == actor.street_id)
    if past:
        q = q.where(EscalationPeriod.ends_on < today).order_by(
            EscalationPeriod.ends_on.desc()).limit(50)
    else:
        q = q.where(EscalationPeriod.ends_on >= today).order_by(
            EscalationPeriod.starts_on, EscalationPeriod.id)
    return list(s.scalars(q))


def get_period(s: Session, actor: Actor, period_id: int) -> EscalationPeriod:
    p = s.get(EscalationPeriod, period_id)
    if p is None or p.street_id != actor.street_id:
        raise NotFound(N_("No such %(what)s."), what=NAME)
    return p


def require_manager(actor: Actor) -> None:
    """Only street admins declare periods (they bind every community)."""
    if not actor.is_street_admin:
        raise Forbidden(N_("Only street administrators can declare escalated-review "
                           "periods."))


def _checked(s: Session, actor: Actor, data: PeriodIn) -> PeriodIn:
    if data.starts_on is None:
        raise Invalid(N_("Give the first day."), field="starts_on")
    if data.ends_on is None:
        raise Invalid(N_("Give the last day."), field="ends_on")
    if data.ends_on < data.starts_on:
        raise Invalid(N_("The last day cannot be before the first."), field="ends_on")
    if (data.ends_on - data.starts_on).days >= MAX_DAYS:
        raise Invalid(N_("A period lasts at most %(days)d days."), field="ends_on",
                      days=MAX_DAYS)
    reason = (data.reason or "").strip()
    if not 1 <= len(reason) <= 200:
        raise Invalid(N_("Give the reason (1 to 200 characters)."), field="reason")
    ids = sorted({int(c) for c in data.community_ids})
    if ids:
        found = set(s.scalars(select(Community.id).where(
            Community.id.in_(ids), Community.street_id == actor.street_id)))
        if found != set(ids):
            raise NotFound(N_("No such %(what)s."), what="community", field="community_ids")
    return PeriodIn(data.starts_on, data.ends_on, reason, ids)


def create(s: Session, actor: Actor, data: PeriodIn) -> EscalationPeriod:
    require_manager(actor)
    data = _checked(s, actor, data)
    p = EscalationPeriod(street_id=actor.street_id, starts_on=data.starts_on,
                         ends_on=data.ends_on, reason=data.reason,
                         community_ids=data.community_ids, created_by=actor.id)
    s.add(p)
    s.flush()
    audit.record(s, actor, "create", "escalation_period", p.id, label=p.reason,
                 after=_snapshot(p))
    return p


def update(s: Session, actor: Actor, period_id: int, data: PeriodIn) -> EscalationPeriod:
    require_manager(actor)
    p = get_period(s, actor, period_id)
    data = _checked(s, actor, data)
    before = _snapshot(p)
    p.starts_on, p.ends_on, p.reason = data.starts_on, data.ends_on, data.reason
    p.community_ids = data.community_ids
    s.flush()
    audit.record(s, actor, "update", "escalation_period", p.id, label=p.reason,
                 before=before, after=_snapshot(p))
    return p


def delete(s: Session, actor: Actor, period_id: int) -> None:
    require_manager(actor)
    p = get_period(s, actor, period_id)
    audit.record(s, actor, "delete", "escalation_period", p.id, label=p.reason,
                 before=_snapshot(p))
    s.delete(p)
    s.flush()


def _snapshot(p: EscalationPeriod) -> dict:
    return {"starts_on": p.starts_on.isoformat(), "ends_on": p.ends_on.isoformat(),
            "reason": p.reason, "community_ids": list(p.community_ids or [])}
