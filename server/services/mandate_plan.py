"""Time-share mandates against the plans the screens carry (playlists/mandates.py is what
a share, an hour and an insertion mean; docs/schedules.md "Time-share mandates").

- `spec_of`: a Mandate row as the resolver's MandateSpec.
- Enforcement: `manifests.shared_plans` adds to each plan the insertion of the enforced
  mandates reaching its terminals (`enforced`, `enforced_plan`), so manifests, planned
  time and the calendar all carry it.
- `shortfalls`: the hours each mandate's planned share falls short, per screen and day,
  from those same plans, for the schedule and calendar pages.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

import playlists as pm
from playlists import mandates as mandate_rules
from server.config import PEOPLE_TZ
from server.db import utcnow
from server.models import SCREEN, ContentItem, ContentStatus, Mandate, Terminal
from server.services import changes, manifests

log = logging.getLogger(__name__)

TZ = ZoneInfo(PEOPLE_TZ)


class Shortfall(NamedTuple):
    """A mandate's planned share on one screen and local day: `hours_short` of its window
    hours fall short; the worst one (furthest below, UTC start) with its seconds."""

    mandate: Mandate
    terminal_id: int
    day: date
    hours_short: int
    worst_hour: datetime
    planned_s: float
    required_s: float


def spec_of(m: Mandate) -> pm.MandateSpec:
    return pm.MandateSpec(
        id=m.id, content_ids=frozenset(m.content_ids or ()), topic_id=m.topic_id,
        share_kind=m.share_kind, share=m.share,
        window=pm.Window(time.fromisoformat(m.window_start), time.fromisoformat(m.window_end)),
        start_date=m.start_date, end_date=m.end_date)


def active(s: Session, street_id: int, first: date, last: date,
           enforced_only: bool = False) -> list[Mandate]:
    """A street's active mandates whose dates meet [first, last], with their targets."""
    q = (select(Mandate).where(Mandate.street_id == street_id, Mandate.active.is_(True),
                               Mandate.start_date <= last, Mandate.end_date >= first)
         .options(selectinload(Mandate.targets)).order_by(Mandate.id))
    if enforced_only:
        q = q.where(Mandate.enforce.is_(True))
    return list(s.scalars(q))


def enforce_days(today: date) -> list[date]:
    """The local days a plan built `today` enforces hour by hour: the day before (a UTC
    date can be a local day behind) to the end of the manifests' 7-day horizon and one
    more (a local day ahead); after them the insertion is at the full share."""
    return [today + timedelta(days=n) for n in range(-1, mandate_rules.DAY_CODES - 1)]


def insertion_content(s: Session, m: Mandate, now: datetime) -> list[ContentItem]:
    """What an enforced mandate may insert: its items, else its topic's items in its
    owner's reach (a community's own and street-wide ones; for a street-wide mandate every
    community's), approved, current, never a pending edit or a broadcast's text. Each
    screen gets those that are street-wide or its own community's (`for_place`): a
    community's notice is not shown on another community's screens."""
    q = (select(ContentItem)
         .where(ContentItem.street_id == m.street_id,
                ContentItem.status == ContentStatus.approved,
                ContentItem.draft_of_id.is_(None), ContentItem.broadcast_text.is_(False),
                or_(ContentItem.valid_until.is_(None), ContentItem.valid_until > now))
         .options(selectinload(ContentItem.renditions)).order_by(ContentItem.id))
    if m.content_ids:
        q = q.where(ContentItem.id.in_(m.content_ids))
    else:
        q = q.where(ContentItem.topic_id == m.topic_id)
        if m.community_id is not None:
            q = q.where(or_(ContentItem.community_id.is_(None),
                            ContentItem.community_id == m.community_id))
    return list(s.scalars(q))


def for_place(content: list[ContentItem], place: changes.Place) -> list[ContentItem]:
    return [c for c in content if c.community_id in (None, place.community_id)]


def enforced(s: Session, street_id: int, today: date
             ) -> list[tuple[Mandate, changes.Reach, list[ContentItem]]]:
    """The street's enforced mandates for plans built `today`: each with what it reaches
    and the content it inserts."""
    days = enforce_days(today)
    now = utcnow()
    out = []
    for m in active(s, street_id, days[0], date.max, enforced_only=True):
        if m.id > mandate_rules.MAX_MANDATE_ID:  # its inserted schedules' ids would not fit
            log.error("mandate %s is not enforced: ids above %s have no schedule ids left",
                      m.id, mandate_rules.MAX_MANDATE_ID)
            continue
        out.append((m, changes.reach(m), insertion_content(s, m, now)))
    return out


# Plans with their insertion, by value: the hub builds a batch's plans anew for every
# batch, and most batches carry the same few plans. Bounded, and keyed by the days, so a
# new day computes afresh; the terminal a shared plan names is not part of it.
_ENFORCED: OrderedDict[tuple, pm.TerminalPlan] = OrderedDict()
_ENFORCED_MAX = 64
_LOCK = threading.Lock()


def enforced_plan(plan: pm.TerminalPlan,
                  inserts: Sequence[tuple[pm.MandateSpec, pm.Playlist]],
                  days: Sequence[date]) -> pm.TerminalPlan:
    """`pm.enforce`, remembered."""
    key = (dataclasses.replace(plan, terminal_id=0), tuple(inserts), tuple(days))
    with _LOCK:
        hit = _ENFORCED.get(key)
        if hit is not None:
            _ENFORCED.move_to_end(key)
    if hit is None:
        hit = pm.enforce(key[0], inserts, days)
        with _LOCK:
            _ENFORCED[key] = hit
            if len(_ENFORCED) > _ENFORCED_MAX:
                _ENFORCED.popitem(last=False)
    return dataclasses.replace(hit, terminal_id=plan.terminal_id)


def inserted_names(s: Session, schedule_ids: Iterable[int | None]) -> dict[int, str]:
    """The mandate's name for each inserted schedule among `schedule_ids` (they have no row
    of their own), for pages naming what plays."""
    of = {sid: mid for sid in schedule_ids if (mid := mandate_rules.mandate_of(sid))}
    names = dict(s.execute(select(Mandate.id, Mandate.name)
                           .where(Mandate.id.in_(set(of.values())))).all()) if of else {}
    return {sid: names[mid] for sid, mid in of.items() if mid in names}


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(), TZ).astimezone(UTC)


def shortfalls(s: Session, street_id: int, community_id: int | None,
               days: Sequence[date] | None = None) -> list[Shortfall]:
    """Per mandate, screen and local day (default today and tomorrow), the window hours
    whose planned share falls short, from the plans the manifests carry (enforcement
    included: an enforced mandate is short only where its insertion cannot go). A
    community's view: its screens only. Screens sharing a plan and mandates share one
    computation (a street's 76 screens have a few). Ordered by mandate, day, screen."""
    if days is None:
        today = utcnow().astimezone(TZ).date()
        days = [today, today + timedelta(days=1)]
    days = sorted(days)
    mandates = [(m, changes.reach(m)) for m in active(s, street_id, days[0], days[-1])]
    if not mandates:
        return []
    ids = [p.terminal_id for p in changes.places(s, street_id)
           if community_id is None or p.community_id == community_id]
    terminals = s.execute(select(*SCREEN).where(Terminal.id.in_(ids))).all() if ids else []
    plans = manifests.shared_plans(s, terminals, days[0])
    groups: dict[tuple, tuple[pm.TerminalPlan, list[Mandate], list[int]]] = {}
    for t in terminals:
        place, key, plan = plans[t.id]
        reaching = [m for m, reached in mandates if reached(place)]
        if reaching:
            group = (key, tuple(m.id for m in reaching))
            groups.setdefault(group, (plan, reaching, []))[2].append(t.id)
    start, end = _local_midnight(days[0]), _local_midnight(days[-1] + timedelta(days=1))
    wanted = set(days)
    out = []
    for plan, reaching, tids in groups.values():
        shares = pm.planned_share(plan, [spec_of(m) for m in reaching], start, end)
        short: dict[tuple[int, date], list[tuple[datetime, pm.HourShare]]] = {}
        for (mid, hour), share in shares.items():
            day = hour.astimezone(TZ).date()
            if not share.met and day in wanted:
                short.setdefault((mid, day), []).append((hour, share))
        by_id = {m.id: m for m in reaching}
        for (mid, day), hours in short.items():
            hour, worst = max(hours, key=lambda h: (h[1].short_s, -h[0].timestamp()))
            out += [Shortfall(by_id[mid], tid, day, len(hours), hour, worst.planned_s,
                              worst.required_s) for tid in tids]
    out.sort(key=lambda x: (x.mandate.id, x.day, x.terminal_id))
    return out
