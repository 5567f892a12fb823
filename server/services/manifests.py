"""A terminal's manifest: exactly what its player needs to play offline for days.

The plan is a playlists.model.TerminalPlan whose items already name the blob *this*
terminal shows (the notice rendition for its size and colour mode, or the media file).
Approval and validity are carried in the plan, so the resolver enforces them on the
terminal too, even when it has been offline since.

Layouts (protocol 2): a schedule naming a layout becomes a LayoutSchedule whose layout is
already fitted to the terminal's panel (playlists.layouts.fit), and each distinct main-region
size gets a MainVariant: the playlists holding notices, re-expanded with the notices' pages
rendered for that region (or, where a notice has none yet, its full-screen pages, which the
player scales). A version-1 player gets the plan without layouts or variants: it plays the
main playlist full-frame (`manifests(..., protocols=)`).

Enforced time-share mandates reaching a terminal add their insertion to its plan as
`interrupt` schedules (server/services/mandate_plan.py, playlists/mandates.py), each
item built here for the terminal's size like a playlist entry.

Every manifest is signed by its street's key (services/signing.py, player/signatures.py):
the signature covers a small statement naming the SHA-256 of the plan and of the blob list,
each hashed once per shared plan and blob list. A batch's statements are the leaves of a
Merkle tree whose root the street's key signs once (signing.sign_batch), so a batch costs
one Ed25519 signature per street and log2(n) hashes per terminal.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import playlists as pm
from player import signatures as sig
from player.protocol import LAYOUTS_FROM, PROTOCOL_VERSION
from playlists import layouts as pl
from server.db import utcnow
from server.models import (
    Blob,
    ColourMode,
    ContentItem,
    ContentKind,
    ContentStatus,
    Layout,
    Mandate,
    Playlist,
    Schedule,
    Screen,
    ScreenPlan,
    Terminal,
)
from server.services import broadcasts, changes, layouts, mandate_plan, signing
from server.services import content as contents

HORIZON = timedelta(days=7)
FORMAT = 1


def _items(entry_content: ContentItem, terminal: Screen, duration: float | None,
           entry_from: datetime | None, entry_until: datetime | None,
           main: tuple[int, int] | None = None) -> list[pm.Item]:
    """The entry as the terminal plays it: full-screen, or in a main region of size `main`
    (a notice's pages for that size, else its full-screen ones, scaled by the player)."""
    c = entry_content
    # A pending edit (draft_of_id) is never approved itself; checked anyway, so that no
    # path to a playlist can put one on a screen.
    approved = c.status == ContentStatus.approved and c.draft_of_id is None
    common = dict(content_id=c.id, topic_id=c.topic_id, valid_from=c.valid_from,
                  valid_until=c.valid_until, entry_valid_from=entry_from,
                  entry_valid_until=entry_until)
    seconds = duration if duration is not None else c.play_seconds
    if c.kind != ContentKind.notice:
        media = "video" if c.kind == ContentKind.video else "image"
        return [pm.Item(sha256=c.blob_sha256, duration_s=seconds, approved=approved,
                        media=media, **common)]
    if main is not None:
        pages = [r for r in c.renditions
                 if (r.width, r.height, r.colour_mode) == (*main, terminal.colour_mode)]
        if pages and contents.size_key(terminal.width, terminal.height,
                                       terminal.colour_mode) not in (
                c.notice_excluded_sizes or ()):
            return _pages(c, pages, seconds, approved, common)
        return _items(c, terminal, duration, entry_from, entry_until)
    pages = [r for r in c.renditions if (r.width, r.height, r.colour_mode) ==
             (terminal.width, terminal.height, terminal.colour_mode)]
    if not pages and contents.size_key(terminal.width, terminal.height, terminal.colour_mode) in (
            c.notice_excluded_sizes or ()):
        return []  # left out of this size by its editor: this screen never gets it
    if not pages:
        # Rendered before this screen size existed: it cannot play here until re-rendered.
        return [pm.Item(sha256="0" * 64, duration_s=seconds, approved=False, **common)]
    return _pages(c, pages, seconds, approved, common)


def _pages(c: ContentItem, pages: list, seconds: float, approved: bool,
           common: dict) -> list[pm.Item]:
    # A scroll strip ("text") is moved across the panel over the item's duration.
    return [pm.Item(sha256=r.blob_sha256, duration_s=seconds, approved=approved,
                    media="text" if r.mode == "scroll" else "image", **common)
            for r in sorted(pages, key=lambda r: r.page)]


def _playlist(p: Playlist, terminal: Screen, main: tuple[int, int] | None = None
              ) -> pm.Playlist:
    items: list[pm.Item] = []
    for e in p.entries:
        items.extend(_items(e.content, terminal, e.duration_s, e.valid_from, e.valid_until,
                            main))
    return pm.Playlist(id=p.id, name=p.name, items=tuple(items))


def _windows(raw: list) -> tuple[pm.Window, ...]:
    return tuple(pm.Window(time.fromisoformat(a), time.fromisoformat(b)) for a, b in raw)


def _schedule(sc: Schedule, terminal: Screen) -> pm.Schedule:
    assert sc.playlist is not None  # a layout schedule is a LayoutSchedule (_plan)
    return pm.Schedule(id=sc.id, playlist=_playlist(sc.playlist, terminal), kind=sc.kind.value,
                       priority=sc.priority, **_recurrence(sc))


def _recurrence(sc: Schedule) -> dict:
    return dict(start_date=sc.start_date, end_date=sc.end_date,
                weekdays=frozenset(sc.weekdays), windows=_windows(sc.windows),
                valid_from=sc.valid_from, valid_until=sc.valid_until)


class _Fitter:
    """Layouts as models, fitted once per panel size for a whole batch."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.models: dict[int, pl.Layout] = {}
        self.fitted: dict[tuple, pl.Layout] = {}

    def load(self, rows: list[Layout]) -> None:
        items = layouts.content_of(self.s, rows)
        for row in rows:
            self.models[row.id] = layouts.to_model(row, items)

    def __call__(self, layout_id: int, terminal: Screen) -> pl.Layout:
        key = (layout_id, terminal.width, terminal.height, terminal.colour_mode)
        if key not in self.fitted:
            self.fitted[key] = pl.fit(self.models[layout_id], terminal.width, terminal.height,
                                      mono=terminal.colour_mode != ColourMode.full)[0]
        return self.fitted[key]


def _plan(t: Screen, scs: list[Schedule], sps: list[ScreenPlan],
          fit: _Fitter) -> pm.TerminalPlan:
    framed = tuple(pl.LayoutSchedule(id=sc.id, layout=fit(sc.layout_id, t),
                                     priority=sc.priority, **_recurrence(sc))
                   for sc in scs if sc.layout_id is not None)
    played = [sc for sc in scs if sc.layout_id is None]
    # Only a playlist holding a notice plays differently in a region.
    noticed = {sc.playlist.id: sc.playlist for sc in played
               if any(e.content.kind == ContentKind.notice for e in sc.playlist.entries)}
    sizes = sorted({(m.w, m.h) for ls in framed if (m := ls.layout.main()) is not None}
                   - {(t.width, t.height)})
    variants = tuple(pl.MainVariant(w, h, tuple(_playlist(p, t, (w, h))
                                                for p in noticed.values()))
                     for w, h in sizes) if noticed else ()
    return pm.TerminalPlan(terminal_id=t.id, schedules=tuple(_schedule(sc, t) for sc in played),
                           screen_plans=tuple(_screen_plan(sp) for sp in sps),
                           layouts=framed, variants=variants)


def _screen_plan(sp: ScreenPlan) -> pm.ScreenPlan:
    return pm.ScreenPlan(id=sp.id, on=sp.screen_on, brightness=sp.brightness,
                         priority=sp.priority, start_date=sp.start_date, end_date=sp.end_date,
                         weekdays=frozenset(sp.weekdays), windows=_windows(sp.windows),
                         valid_from=sp.valid_from, valid_until=sp.valid_until)


def _insertion(m: Mandate, content: list[ContentItem], terminal: Screen) -> pm.Playlist:
    items: list[pm.Item] = []
    for c in content:
        items.extend(_items(c, terminal, None, None, None))
    return pm.Playlist(id=0, name=m.name, items=tuple(items))


def shared_plans(s: Session, terminals: list[Screen], today: date) -> dict[int, tuple]:
    """(place, key, plan) per terminal, the plan shared by every terminal with the same
    (schedules reached, layout schedules among them, screen plans reached, size, colour
    mode, enforced mandates reached): a fleet shares a handful, so a batch of 1,000
    terminals costs a few queries per street and a few plans, not 18 queries and a plan
    each. The shared plan names the first terminal it was built for. It carries layouts
    and variants (planned time counts the main region under them); `manifests` leaves
    them out for version-1 players."""
    places = {p.terminal_id: p for p in changes.places(s, None, [t.id for t in terminals])}
    owners: dict[int, tuple[list, list, list]] = {}
    memo: dict[tuple, pm.TerminalPlan] = {}
    fit = _Fitter(s)
    out = {}
    for t in terminals:
        place = places[t.id]
        if place.street_id not in owners:
            current = [sc for sc in changes.active_owners(s, Schedule, place.street_id,
                                                          changes.SCHEDULE_CHAIN,
                                                          changes.SCHEDULE_LAYOUT)
                       if sc.end_date is None or sc.end_date >= today - timedelta(days=1)]
            fit.load([sc.layout for sc in current if sc.layout is not None])
            owners[place.street_id] = (
                [(sc, changes.reach(sc)) for sc in current],
                [(sp, changes.reach(sp))
                 for sp in changes.active_owners(s, ScreenPlan, place.street_id)],
                mandate_plan.enforced(s, place.street_id, today))
        schedules, screen_plans, mandates = owners[place.street_id]
        scs = [sc for sc, reached in schedules if reached(place)]
        sps = [sp for sp, reached in screen_plans if reached(place)]
        ms = [(m, mandate_plan.for_place(content, place))
              for m, reached, content in mandates if reached(place)]
        key = (tuple(sc.id for sc in scs), tuple(sp.id for sp in sps), t.width, t.height,
               t.colour_mode, tuple((m.id, *(c.id for c in cs)) for m, cs in ms))
        if key not in memo:
            plan = _plan(t, scs, sps, fit)
            if ms:
                plan = mandate_plan.enforced_plan(
                    plan, [(mandate_plan.spec_of(m), _insertion(m, content, t))
                           for m, content in ms], mandate_plan.enforce_days(today))
            memo[key] = plan
        out[t.id] = (place, key, memo[key])
    return out


def build_plans(s: Session, terminals: list[Screen], today: date | None = None
                ) -> dict[int, pm.TerminalPlan]:
    plans = shared_plans(s, terminals, today or utcnow().date())
    return {tid: dataclasses.replace(plan, terminal_id=tid)
            for tid, (_place, _key, plan) in plans.items()}


def build_plan(s: Session, terminal: Terminal, today: date | None = None) -> pm.TerminalPlan:
    return build_plans(s, [terminal], today)[terminal.id]


def _overlaps(lo: datetime | None, hi: datetime | None, start: datetime, end: datetime) -> bool:
    return (lo is None or lo < end) and (hi is None or start < hi)


def blobs_for(plan: pm.TerminalPlan, start: datetime, end: datetime) -> set[str]:
    """Every blob an approved item of the plan could show in [start, end).

    Read from the rules, not from the expanded timeline: a week of 10-second items is
    60,000 segments per terminal, too much work for every hello of a whole fleet. Within a
    week every weekday and window occurs, so this equals what the timeline would need
    except for windows that never open in the horizon.
    """
    tz = plan.tz
    first, last = start.astimezone(ZoneInfo(tz)).date(), end.astimezone(ZoneInfo(tz)).date()

    def live(r: pm.Schedule | pl.LayoutSchedule) -> bool:
        return not ((r.start_date and r.start_date > last) or (r.end_date and r.end_date < first)
                    ) and _overlaps(r.valid_from, r.valid_until, start, end)

    def shown(item: pm.Item) -> bool:
        return item.approved and _overlaps(item.valid_from, item.valid_until, start, end) \
            and _overlaps(item.entry_valid_from, item.entry_valid_until, start, end)

    out: set[str] = set()
    sized = [{p.id: p for p in v.playlists} for v in plan.variants]
    for sc in plan.schedules:
        if live(sc):
            for playlist in (sc.playlist, *(v[sc.playlist.id] for v in sized
                                            if sc.playlist.id in v)):
                out.update(item.sha256 for item in playlist.items if shown(item))
    for ls in plan.layouts:
        if live(ls):
            out.update(r.image.sha256 for r in ls.layout.regions
                       if r.image is not None and shown(r.image))
    out.update(i.sha256 for i in plan.fallback.items if i.approved)
    return out


def for_protocol(plan: pm.TerminalPlan, protocol: int) -> pm.TerminalPlan:
    """The plan as a player of this protocol version understands it: before LAYOUTS_FROM,
    without layouts and variants (it plays the main playlist full-frame)."""
    if protocol >= LAYOUTS_FROM or not (plan.layouts or plan.variants):
        return plan
    return dataclasses.replace(plan, layouts=(), variants=())


def manifests(s: Session, terminals: list[Screen], now: datetime | None = None,
              protocols: dict[int, int] | None = None) -> dict[int, dict]:
    """Manifests for a batch of terminals (the hub answers a fleet's `sync`s together);
    `protocols`: the protocol version each terminal's connection speaks (default: this
    server's)."""
    if not terminals:
        return {}
    now = now or utcnow()
    protocols = protocols or {}
    plans = shared_plans(s, terminals, now.date())
    templates: dict[int, list] = {}
    # A fleet shares a few plans, screen sizes and template sets: each distinct one is
    # serialised and scanned once, and its blob list made once and shared.
    shared: dict[tuple, tuple[dict, set[str]]] = {}
    of_templates: dict[tuple, set[str]] = {}
    listed: dict[tuple, list[str]] = {}
    keys: dict[int, tuple] = {}
    streets: dict[int, int] = {}
    for t in terminals:
        place, key, plan = plans[t.id]
        plan = for_protocol(plan, protocols.get(t.id, PROTOCOL_VERSION))
        key = (*key, bool(plan.layouts))
        if key not in shared:
            shared[key] = (
                plan.to_dict(), blobs_for(plan, now - timedelta(hours=1), now + HORIZON))
        where = (place.street_id, place.community_id, t.width, t.height, t.colour_mode)
        if where not in of_templates:
            if place.street_id not in templates:
                templates[place.street_id] = broadcasts.street_templates(s, place.street_id)
            of_templates[where] = broadcasts.blobs_of_templates(
                templates[place.street_id], place, t, now)
        keys[t.id] = (key, where)
        streets[t.id] = place.street_id
        if keys[t.id] not in listed:
            listed[keys[t.id]] = sorted(shared[key][1] | of_templates[where])
    every = sorted({sha for shas in listed.values() for sha in shas})
    blobs = {b.sha256: b for i in range(0, len(every), 900)
             for b in s.scalars(select(Blob).where(Blob.sha256.in_(every[i:i + 900])))}
    entries = {k: [{"sha256": sha, "size": blobs[sha].size, "mime": blobs[sha].mime}
                   for sha in shas if sha in blobs] for k, shas in listed.items()}
    generated = now.isoformat().replace("+00:00", "Z")
    out = {t.id: {
        "format": FORMAT,
        "version": t.manifest_version,
        "terminal": {"id": t.id, "name": t.name, "width": t.width, "height": t.height,
                     "colour_mode": t.colour_mode.value},
        "plan": {**shared[keys[t.id][0]][0], "terminal_id": t.id},
        "blobs": entries[keys[t.id]],
        "generated_at": generated,
    } for t in terminals}
    _sign(s, out, streets, {k: sig.plan_digest(plan) for k, (plan, _b) in shared.items()},
          {k: sig.digest(e) for k, e in entries.items()}, keys)
    return out


def _sign(s: Session, out: dict[int, dict], streets: dict[int, int],
          plan_shas: dict[tuple, str], blob_shas: dict[tuple, str],
          keys: dict[int, tuple]) -> None:
    """Each manifest gets its street's signature (and the key block after a rotation): one
    signature per street per batch, over the root of the batch's Merkle tree."""
    by_street: dict[int, list[int]] = {}
    for tid, street_id in streets.items():
        by_street.setdefault(street_id, []).append(tid)
    for street_id, tids in by_street.items():
        statements = [sig.manifest_statement(out[tid], plan_sha=plan_shas[keys[tid][0]],
                                             blobs_sha=blob_shas[keys[tid]]) for tid in tids]
        key = signing.current(s, street_id).key
        for tid, block in zip(tids, signing.sign_batch(s, street_id, statements),
                              strict=True):
            out[tid][sig.SIGNATURE] = block
            if key:
                out[tid][sig.KEY] = key


def manifest(s: Session, terminal: Terminal, now: datetime | None = None) -> dict:
    return manifests(s, [terminal], now)[terminal.id]
