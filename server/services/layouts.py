"""Layouts: the screens in regions staff draw (a main playlist, a 滚动字幕 ticker, the date
and time, a title image). No Flask.

What a layout means (its checks, fitting it to a panel, tickers and clocks) is decided by
playlists/layouts.py; this module checks scope and the content regions name, asks
`check_layout` about the rest, stores, audits, and reports the change through
services/changes.py. Layouts are scoped exactly like playlists: community staff plan for
their own community, street admins for any community or the whole street (community None).

The stored region (a dict in Layout.regions) is: key, role, x, y, w, h, fg, bg; a ticker
adds content_ids (text notices, in order), speed_cps, direction; a clock clock_format; an
image content_id.

For the pages (signatures kept stable):
    list_layouts(s, actor) -> list[Layout]
    get_layout(s, actor, layout_id) -> Layout               404 outside the actor's scope
    editable_layout(s, actor, layout_id) -> Layout          the save's check, also the page's
    may_change(actor, community_id) -> bool                 whether to offer edit/delete
    create_layout(s, actor, *, name, width, height, regions, overlay=False,
                  community_id=None) -> Layout              raises schedules.Problems
    update_layout(s, actor, layout_id, *, name=None, width=None, height=None,
                  regions=None, overlay=None) -> Layout     raises schedules.Problems
    delete_layout(s, actor, layout_id) -> None              Conflict while a schedule uses it
    draft(s, actor, *, width, height, regions, overlay=False, community_id=None,
          name="") -> playlists.layouts.Layout             an unsaved drawing, checked
    model(s, layout_row) -> playlists.layouts.Layout        the saved layout, content filled in
    to_model(layout_row, items) -> playlists.layouts.Layout
    content_of(s, rows) -> dict[int, ContentItem]
    previews(s, layout, sizes) -> list[Preview]             fitted layout + warnings per size
    target_sizes(s, layout_row) -> list[(w, h, ColourMode)] the panels of its scope
    describe(warning) -> (template, params)                 a FitWarning in people's words
    presets() -> list[dict]                                 ready drawings for "new layout"
    add_typed_line(s, actor, store, layout_id, region_key, text, topic_id,
                   font=None) -> ContentItem                a typed ticker line (reviewed)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import content as lib
import playlists as pm
from playlists import layouts as pl
from server.db import utcnow
from server.models import (
    ColourMode,
    ContentItem,
    ContentKind,
    ContentStatus,
    Layout,
    Schedule,
)
from server.services import audit, changes, tree
from server.services import content as content_svc
from server.services.access import Actor
from server.services.errors import N_, Conflict, Invalid, NotFound
from server.services.naming import by_name
from server.services.schedules import (
    Problems,
    _name,
    _problems,
    may_change,
    owner_community,
    require_planner,
)

MAX_TICKER_LINES = 50
SNAPSHOT = ("name", "overlay", "width", "height", "regions")

# playlists.layouts.check_layout codes in the user's words (params: region, and the limits).
MESSAGES = {
    "canvas_size": N_("The canvas must be 16 to 8192 pixels wide and high."),
    "no_regions": N_("A layout needs at least one region."),
    "too_many_regions": N_("A layout has at most %(max)d regions."),
    "overlay_main": N_("An overlay is drawn over the main playlist, so it cannot have a main "
                       "region: remove “%(region)s” or make the layout a normal one."),
    "main_count": N_("A layout needs exactly one main region: the schedule's playlist plays "
                     "there."),
    "key_invalid": N_("The region name “%(region)s” may use a-z, 0-9 and _ only, starts "
                      "with a letter and has at most 20 characters."),
    "key_duplicate": N_("Two regions are named “%(region)s”; give each its own name."),
    "role_unknown": N_("Region “%(region)s”: the kind must be main, ticker, clock or image."),
    "outside_canvas": N_("Region “%(region)s” must lie inside the %(width)d×%(height)d "
                         "canvas."),
    "speed_out_of_range": N_("Region “%(region)s”: a ticker moves %(min)s to %(max)s "
                             "characters a second."),
    "direction_unknown": N_("Region “%(region)s”: a ticker moves left or right."),
    "line_too_long": N_("Region “%(region)s”: a ticker line has at most %(max)d characters; "
                        "shorten the notice."),
    "clock_format_unknown": N_("Region “%(region)s”: a clock shows the date and time, the "
                               "date, or the time."),
    "colour_invalid": N_("Region “%(region)s”: colours are written #rrggbb, e.g. #ffd200."),
}
FIELD_OF = {"canvas_size": "width"}  # the rest concern the regions

# FitWarning codes (and a dropped region's reason) in the user's words.
WARNINGS = {
    "grown": N_("“%(region)s” is below the legible height here: grown from %(from)s to "
                "%(to)s pixels."),
    "short_format": N_("The clock “%(region)s” is too narrow here for its format: it shows "
                       "the %(to)s only."),
    "too_narrow": N_("The clock “%(region)s” is too narrow here even for the time: it is "
                     "left out."),
    "main_too_small": N_("“%(region)s” is left out here: with it the main region would be "
                         "under half the screen."),
    "mono": N_("The image “%(region)s” is left out on this single-colour panel: a picture "
               "at one colour and this few pixels cannot be read."),
}
CLOCK_FORMAT_NAMES = {"datetime": N_("date and time"), "date": N_("date"), "time": N_("time")}


# --- reading ----------------------------------------------------------------------------


def list_layouts(s: Session, actor: Actor) -> list[Layout]:
    q = select(Layout).where(Layout.street_id == actor.street_id,
                             actor.community_clause(Layout.community_id))
    return by_name(s.scalars(q))


def get_layout(s: Session, actor: Actor, layout_id: int) -> Layout:
    row = s.get(Layout, layout_id)
    if row is None or row.street_id != actor.street_id or not actor.sees(row.community_id):
        raise NotFound(N_("No such %(what)s."), what="layout", field="layout_id")
    return row


def editable_layout(s: Session, actor: Actor, layout_id: int) -> Layout:
    """The layout, if `actor` may change it: the save's check, also the page's."""
    row = get_layout(s, actor, layout_id)
    require_planner(actor)
    if not may_change(actor, row.community_id):  # street-wide: street admins only
        raise NotFound(N_("No such %(what)s."), what="layout", field="layout_id")
    return row


def content_ids(regions: Iterable[Mapping[str, Any]]) -> set[int]:
    """Every content item the regions name (ticker lines, images)."""
    out: set[int] = set()
    for r in regions:
        out.update(i for i in r.get("content_ids") or () if isinstance(i, int))
        if isinstance(r.get("content_id"), int):
            out.add(r["content_id"])
    return out


def content_of(s: Session, rows: Iterable[Layout]) -> dict[int, ContentItem]:
    """The content items the layouts' regions name, in one query."""
    ids = sorted({i for row in rows for i in content_ids(row.regions)})
    return {c.id: c for k in range(0, len(ids), 900)
            for c in s.scalars(select(ContentItem).where(ContentItem.id.in_(ids[k:k + 900])))}


def _approved(c: ContentItem) -> bool:
    # A pending edit is never approved itself; checked anyway, as for playlist items.
    return c.status == ContentStatus.approved and c.draft_of_id is None


def ticker_text(c: ContentItem) -> str:
    """A notice as one ticker line: its heading and its text."""
    parts = [c.notice_title or "", c.notice_body or ""]
    return "  ".join(" ".join(p.split()) for p in parts if p.strip())


def _region(d: Mapping[str, Any], items: Mapping[int, ContentItem]) -> pl.Region:
    lines: list[pl.TickerLine] = []
    image = None
    role = d.get("role")
    if role == "ticker":
        for cid in d.get("content_ids") or ():
            c = items.get(cid)
            if c is not None:
                lines.append(pl.TickerLine(c.id, c.topic_id, ticker_text(c), _approved(c),
                                           c.valid_from, c.valid_until))
    elif role == "image" and (c := items.get(d.get("content_id"))) is not None:  # type: ignore[arg-type]
        image = pm.Item(content_id=c.id, sha256=c.blob_sha256 or "0" * 64,
                        duration_s=c.play_seconds, topic_id=c.topic_id, approved=_approved(c),
                        media="image", valid_from=c.valid_from, valid_until=c.valid_until)
    return pl.Region(key=d["key"], role=d["role"], x=d["x"], y=d["y"], w=d["w"], h=d["h"],
                     lines=tuple(lines), speed_cps=d.get("speed_cps", 4.0),
                     direction=d.get("direction", "left"),
                     clock_format=d.get("clock_format", "datetime"), image=image,
                     fg=d.get("fg", "#ffd200"), bg=d.get("bg", "#000000"))


def to_model(row: Layout, items: Mapping[int, ContentItem]) -> pl.Layout:
    """The stored layout as playlists.layouts sees it, with ticker lines and the image
    filled in from `items` (content_of); a line or image whose item is gone is left out,
    one not approved is carried with approved=False (never shown)."""
    return pl.Layout(id=row.id or 0, name=row.name or "", width=row.width, height=row.height,
                     overlay=bool(row.overlay),
                     regions=tuple(_region(d, items) for d in row.regions))


def model(s: Session, row: Layout) -> pl.Layout:
    return to_model(row, content_of(s, [row]))


# --- checking -----------------------------------------------------------------------------

_INT = ("x", "y", "w", "h")


def _shape(raw: Any) -> list[dict]:
    """The regions as stored: only the fields their role has, each of its type."""
    bad = Invalid(N_("The regions are not in the expected form (a list of regions with a "
                     "name, a kind and a position)."), field="regions")
    if not isinstance(raw, list) or len(raw) > 4 * pl.MAX_REGIONS:
        raise bad
    out = []
    for r in raw:
        if not isinstance(r, Mapping) or not isinstance(r.get("key"), str) \
                or not isinstance(r.get("role"), str) \
                or any(type(r.get(k)) is not int for k in _INT):
            raise bad
        d: dict[str, Any] = {"key": r["key"], "role": r["role"],
                             **{k: r[k] for k in _INT},
                             "fg": str(r.get("fg") or "#ffd200").lower(),
                             "bg": str(r.get("bg") or "#000000").lower()}
        if r["role"] == "ticker":
            ids = r.get("content_ids") or []
            speed = r.get("speed_cps", 4.0)
            if not isinstance(ids, list) or any(type(i) is not int for i in ids) \
                    or type(speed) not in (int, float):
                raise bad
            d.update(content_ids=list(dict.fromkeys(ids)), speed_cps=float(speed),
                     direction=str(r.get("direction") or "left"))
        elif r["role"] == "clock":
            d["clock_format"] = str(r.get("clock_format") or "datetime")
        elif r["role"] == "image":
            cid = r.get("content_id")
            if cid is not None and type(cid) is not int:
                raise bad
            d["content_id"] = cid
        out.append(d)
    return out


def _model_problems(layout: pl.Layout) -> list[Invalid]:
    limits = {"too_many_regions": {"max": pl.MAX_REGIONS},
              "line_too_long": {"max": pl.MAX_LINE_CHARS},
              "speed_out_of_range": {"min": pl.SPEED_RANGE[0], "max": pl.SPEED_RANGE[1]},
              "outside_canvas": {"width": layout.width, "height": layout.height}}
    out = []
    for p in pl.check_layout(layout):
        err = Invalid(MESSAGES.get(p.code, N_("Invalid layout.")),
                      field=FIELD_OF.get(p.code, "regions"), region=p.region,
                      **limits.get(p.code, {}))
        err.code = p.code
        out.append(err)
    return out


def _in_scope(c: ContentItem, community_id: int | None) -> bool:
    """Content a layout of `community_id` may show: its own community's or street-wide
    (a street-wide layout reaches every community, so only street-wide content)."""
    return c.community_id is None or c.community_id == community_id


def _content_problems(s: Session, actor: Actor, regions: list[dict],
                      community_id: int | None) -> list[Invalid]:
    """Ticker lines must be text notices, an image an image, each of the layout's scope."""
    out: list[Invalid] = []

    def item(cid: int) -> ContentItem | None:
        try:
            c = content_svc.get_item(s, actor, cid)
        except NotFound:
            return None
        ok = c.status != ContentStatus.archived and not c.broadcast_text
        return c if ok and _in_scope(c, community_id) else None

    for r in regions:
        if r["role"] == "ticker":
            if len(r["content_ids"]) > MAX_TICKER_LINES:
                out.append(Invalid(N_("Region “%(region)s”: a ticker has at most %(max)d "
                                      "lines."), field="regions", region=r["key"],
                                   max=MAX_TICKER_LINES))
            for cid in r["content_ids"]:
                c = item(cid)
                if c is None or c.kind != ContentKind.notice:
                    out.append(Invalid(N_("Region “%(region)s”: no text notice #%(id)s among "
                                          "the content this layout may show (a notice of "
                                          "its own community or street-wide, not "
                                          "archived)."), field="regions", region=r["key"],
                                       id=cid))
        elif r["role"] == "image":
            cid = r["content_id"]
            if cid is None:
                out.append(Invalid(N_("Region “%(region)s”: choose the image it shows."),
                                   field="regions", region=r["key"]))
                continue
            c = item(cid)
            if c is None or c.kind != ContentKind.image:
                out.append(Invalid(N_("Region “%(region)s”: no image #%(id)s among the "
                                      "content this layout may show (an image of its own "
                                      "community or street-wide, not archived)."),
                                   field="regions", region=r["key"], id=cid))
    return out


def _checked(s: Session, actor: Actor, *, name: str, width: Any, height: Any, regions: Any,
             overlay: bool, community_id: int | None) -> tuple[str, list[dict], pl.Layout]:
    """Everything wrong with a drawing at once (schedules.Problems), else its name, stored
    regions and model."""
    shaped: list[dict] | None = None

    def shape() -> None:
        nonlocal shaped
        if type(width) is not int or type(height) is not int:
            raise Invalid(MESSAGES["canvas_size"], field="width")
        shaped = _shape(regions)

    problems = _problems(lambda: _name(name), shape)
    if shaped is not None:  # a missing name does not hide what is wrong with the regions
        row = Layout(name=name, width=width, height=height, overlay=overlay, regions=shaped)
        items = {c.id: c for c in (
            s.get(ContentItem, i) for i in content_ids(shaped)) if c is not None}
        probe = to_model(row, items)
        problems += _model_problems(probe)
        problems += _content_problems(s, actor, shaped, community_id)
    if problems:
        raise Problems(problems)
    assert shaped is not None  # else shape() refused it, a problem above
    return _name(name), shaped, probe


def draft(s: Session, actor: Actor, *, width: Any, height: Any, regions: Any,
          overlay: bool = False, community_id: int | None = None,
          name: str = "—") -> pl.Layout:
    """An unsaved drawing as the model, checked like a save (Problems), for the editor's
    preview before it is stored."""
    require_planner(actor)
    community_id = owner_community(s, actor, community_id)
    return _checked(s, actor, name=name, width=width, height=height, regions=regions,
                    overlay=bool(overlay), community_id=community_id)[2]


# --- writing ------------------------------------------------------------------------------


def _snapshot(row: Layout) -> dict:
    return {k: getattr(row, k) for k in SNAPSHOT}


def create_layout(s: Session, actor: Actor, *, name: str, width: int, height: int,
                  regions: list[dict], overlay: bool = False,
                  community_id: int | None = None) -> Layout:
    require_planner(actor)
    community_id = owner_community(s, actor, community_id)
    name, shaped, _model = _checked(s, actor, name=name, width=width, height=height,
                                    regions=regions, overlay=bool(overlay),
                                    community_id=community_id)
    row = Layout(street_id=actor.street_id, community_id=community_id, name=name,
                 overlay=bool(overlay), width=width, height=height, regions=shaped,
                 rendered_sizes=[], created_by=actor.id)
    s.add(row)
    s.flush()
    audit.record(s, actor, "create", "layout", row.id, label=row.name,
                 community_id=row.community_id, after=_snapshot(row))
    return row


def update_layout(s: Session, actor: Actor, layout_id: int, *, name: str | None = None,
                  width: int | None = None, height: int | None = None,
                  regions: list[dict] | None = None, overlay: bool | None = None) -> Layout:
    """Only what is given changes. A layout in use changes on its screens at once; its
    main region's new sizes are rendered for the scope's notices in the background
    (render_region_sizes), and meanwhile a notice plays its full-screen pages scaled."""
    row = editable_layout(s, actor, layout_id)
    before = _snapshot(row)
    name, shaped, _model = _checked(
        s, actor, name=row.name if name is None else name,
        width=row.width if width is None else width,
        height=row.height if height is None else height,
        regions=row.regions if regions is None else regions,
        overlay=row.overlay if overlay is None else bool(overlay),
        community_id=row.community_id)
    if overlay is not None and bool(overlay) != row.overlay:
        used = _used_by(s, row.id)
        if used:  # a layout schedule and an overlay schedule are different things
            raise Conflict(N_("The layout is used by the schedule “%(name)s”: it cannot "
                              "become an overlay or stop being one while scheduled."),
                           name=used)
    row.name, row.regions = name, shaped
    row.width = row.width if width is None else width
    row.height = row.height if height is None else height
    row.overlay = row.overlay if overlay is None else bool(overlay)
    row.updated_at = utcnow()
    s.flush()
    after = _snapshot(row)
    if after != before:
        audit.record(s, actor, "update", "layout", row.id, label=row.name,
                     community_id=row.community_id, before=before, after=after)
        changes.layouts_changed(s, [row.id])
    return row


def _used_by(s: Session, layout_id: int) -> str | None:
    return s.scalar(select(Schedule.name).where(Schedule.layout_id == layout_id)
                    .order_by(Schedule.id).limit(1))


def delete_layout(s: Session, actor: Actor, layout_id: int) -> None:
    row = editable_layout(s, actor, layout_id)
    used = _used_by(s, row.id)
    if used:
        raise Conflict(N_("The layout is used by the schedule “%(name)s”; delete the schedule "
                          "or give it another layout first."), name=used)
    audit.record(s, actor, "delete", "layout", row.id, label=row.name,
                 community_id=row.community_id, before=_snapshot(row))
    s.delete(row)
    s.flush()


def add_typed_line(s: Session, actor: Actor, store: lib.BlobStore, layout_id: int,
                   region_key: str, text: str, topic_id: int,
                   font: str | None = None) -> ContentItem:
    """A line typed into a ticker: a text notice made through the content service and
    submitted for review like any notice (it scrolls once approved), appended to the
    region's lines. Returns the notice."""
    row = editable_layout(s, actor, layout_id)
    region = next((r for r in row.regions if r["key"] == region_key), None)
    if region is None or region["role"] != "ticker":
        raise NotFound(N_("No such %(what)s."), what="ticker", field="regions")
    line = " ".join((text or "").split())
    if not 1 <= len(line) <= pl.MAX_LINE_CHARS:
        raise Invalid(N_("A ticker line has 1 to %(max)d characters."), field="text",
                      max=pl.MAX_LINE_CHARS)
    if len(region.get("content_ids") or []) >= MAX_TICKER_LINES:
        raise Invalid(N_("Region “%(region)s”: a ticker has at most %(max)d lines."),
                      field="text", region=region_key, max=MAX_TICKER_LINES)
    title = line if len(line) <= 40 else line[:39] + "…"
    item = content_svc.create_notice(
        s, actor, store,
        content_svc.Meta(title=title, topic_id=topic_id, community_id=row.community_id),
        content_svc.NoticeText(body=line), font=font)
    content_svc.submit(s, actor, item.id)
    regions = [dict(r) for r in row.regions]
    for r in regions:
        if r["key"] == region_key:
            r["content_ids"] = [*r.get("content_ids", []), item.id]
    update_layout(s, actor, row.id, regions=regions)
    return item


# --- panels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """The layout on one panel size, as its screens will show it."""

    width: int
    height: int
    colour_mode: ColourMode
    layout: pl.Layout  # fitted: the panel's pixels
    warnings: list[pl.FitWarning]

    @property
    def key(self) -> str:
        return content_svc.size_key(self.width, self.height, self.colour_mode)


def mono(mode: ColourMode | str) -> bool:
    return ColourMode(mode) != ColourMode.full


def previews(s: Session, layout: pl.Layout,
             sizes: Iterable[tuple[int, int, ColourMode]]) -> list[Preview]:
    """Per panel size, the fitted layout and what differs from the drawing (for the
    editor's true-pixel previews)."""
    out = []
    for w, h, mode in sizes:
        fitted, warnings = pl.fit(layout, w, h, mono=mono(mode))
        out.append(Preview(w, h, ColourMode(mode), fitted, warnings))
    return out


def target_sizes(s: Session, row: Layout) -> list[tuple[int, int, ColourMode]]:
    """The panel sizes of the screens its scope has (a street-wide layout: the street's),
    largest first; the default size while the scope has no screen."""
    return content_svc.notice_sizes(s, row.street_id, row.community_id)


def describe(w: pl.FitWarning) -> tuple[str, dict]:
    """A fit warning as a message template (N_) and its parameters, for the editor."""
    params: dict[str, Any] = {"region": w.region, **w.detail}
    if w.code == "dropped":
        return WARNINGS[w.detail["why"]], params
    if w.code == "short_format":
        params["to"] = CLOCK_FORMAT_NAMES.get(str(w.detail.get("to")), w.detail.get("to"))
    return WARNINGS.get(w.code, N_("“%(region)s” differs here.")), params


def main_sizes(s: Session, street_id: int, community_id: int | None
               ) -> list[tuple[int, int, ColourMode]]:
    """The main-region sizes a notice of this community (None: street-wide) may play at:
    each layout that can reach its screens, fitted to each of their panel sizes, where the
    main region is smaller than the panel."""
    q = select(Layout).where(Layout.street_id == street_id, Layout.overlay.is_(False))
    if community_id is not None:
        q = q.where((Layout.community_id == community_id) | Layout.community_id.is_(None))
    out: dict[tuple[int, int, ColourMode], None] = {}
    panels: dict[int | None, list] = {}
    for row in s.scalars(q.order_by(Layout.id)):
        scope = community_id if community_id is not None else row.community_id
        if scope not in panels:
            panels[scope] = tree.fleet_sizes(s, street_id, scope)
        out.update(dict.fromkeys(_main_sizes(row, panels[scope])))
    return list(out)


def _main_sizes(row: Layout, panels: Iterable[tuple[int, int, ColourMode]]
                ) -> list[tuple[int, int, ColourMode]]:
    drawing = to_model(row, {})
    out = []
    for w, h, mode in panels:
        main = pl.fit(drawing, w, h, mono=mono(mode))[0].main()
        if main is not None and (main.w, main.h) != (w, h):
            out.append((main.w, main.h, ColourMode(mode)))
    return out


def render_region_sizes(s: Session, blob_dir: str, font: str | None = None) -> set[int]:
    """The renditions job (a scheduler chore, in a job worker): every layout's main-region
    sizes not yet rendered for the notices of its scope are rendered now, so a notice plays
    in the region at its own pages rather than its full-screen ones scaled. A size a notice
    does not fit is left (it keeps playing scaled) and not retried: the layout records the
    sizes done. Each notice is committed as it is done, so a job cut short resumes. Returns
    the terminals whose manifests changed (the caller nudges them)."""
    store = lib.BlobStore(blob_dir)
    touched: set[int] = set()
    for row in list(s.scalars(select(Layout).where(Layout.overlay.is_(False))
                              .order_by(Layout.id))):
        panels = tree.fleet_sizes(s, row.street_id, row.community_id)
        needed = {content_svc.size_key(*z): z for z in _main_sizes(row, panels)}
        todo = [needed[k] for k in sorted(set(needed) - set(row.rendered_sizes or []))]
        if todo:
            touched |= _render_missing(s, store, row, todo, font)
        if sorted(needed) != sorted(row.rendered_sizes or []):
            row.rendered_sizes = sorted(needed)
            s.commit()  # one layout at a time: short write transactions
    return touched


def _render_missing(s: Session, store: lib.BlobStore, row: Layout,
                    sizes: list[tuple[int, int, ColourMode]], font: str | None) -> set[int]:
    q = select(ContentItem).where(ContentItem.street_id == row.street_id,
                                  ContentItem.kind == ContentKind.notice,
                                  ContentItem.status != ContentStatus.archived,
                                  ContentItem.broadcast_text.is_(False))
    if row.community_id is not None:
        q = q.where((ContentItem.community_id == row.community_id)
                    | ContentItem.community_id.is_(None))
    touched: set[int] = set()
    for item in list(s.scalars(q.order_by(ContentItem.id))):
        have = {(r.width, r.height, r.colour_mode) for r in item.renditions}
        missing = [z for z in sizes if z not in have]
        if not missing:
            continue
        s.commit()  # render outside any write transaction (see content.render_variants)
        variants = content_svc.render_variants(
            missing, item.notice_title or "", item.notice_body or "",
            item.notice_footer or "", item.notice_template or "notice", font)
        if content_svc.add_renditions(s, store, item, variants):
            touched |= changes.content_changed(s, item.id)
        s.commit()
    return touched


# --- presets ------------------------------------------------------------------------------

PRESET_SIZE = (384, 192)


def presets() -> list[dict]:
    """Ready drawings for a new layout on a 384x192 canvas: name (N_), width, height,
    overlay, regions (the stored form; an image region still needs its image)."""
    w, h = PRESET_SIZE
    band = h // 6  # 32 px: one line of legible text on the reference canvas

    def region(key: str, role: str, x: int, y: int, rw: int, rh: int, **more) -> dict:
        return {"key": key, "role": role, "x": x, "y": y, "w": rw, "h": rh,
                "fg": "#ffd200", "bg": "#000000", **more}

    ticker = {"content_ids": [], "speed_cps": 4.0, "direction": "left"}
    return [
        # The top line is 20 px: 16-18 px text, legible on a lobby panel, so the clock's half
        # holds the date, the weekday and the time (12月6日 星期日 18:49).
        {"name": N_("Standard: title bar, main, ticker and clock"), "width": w, "height": h,
         "overlay": False, "regions": [
             region("title", "image", 0, 0, w // 2, 20, content_id=None),
             region("clock", "clock", w // 2, 0, w // 2, 20, clock_format="datetime"),
             region("main", "main", 0, 20, w, h - 20 - band),
             region("ticker", "ticker", 0, h - band, w, band, **ticker)]},
        {"name": N_("Main with a ticker at the bottom"), "width": w, "height": h,
         "overlay": False, "regions": [
             region("main", "main", 0, 0, w, h - band),
             region("ticker", "ticker", 0, h - band, w, band, **ticker)]},
        {"name": N_("Clock on top, main below"), "width": w, "height": h, "overlay": False,
         "regions": [
             region("clock", "clock", 0, 0, w, band, clock_format="datetime"),
             region("main", "main", 0, band, w, h - band)]},
    ]
