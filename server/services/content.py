"""The content library: uploads, typed notices and their review. No Flask.

The rule "only approved content inside its validity window reaches a screen" lives
here, in `is_playable` and `playable_clause`; everything that builds what a terminal
plays calls one of them.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

import content as lib
from server import workpool
from server.db import utcnow
from server.models import (
    Blob,
    ColourMode,
    ContentItem,
    ContentKind,
    ContentStatus,
    NoticeRendition,
    Playlist,
    PlaylistEntry,
    Role,
    Schedule,
    User,
)
from server.services import audit, changes, escalation, review_rules, screening, topics, tree
from server.services.access import Actor
from server.services.errors import N_, Conflict, Forbidden, Invalid, NotFound

EDITORS = (Role.street_admin, Role.community_admin, Role.editor)
REVIEWERS = (Role.street_admin, Role.community_admin, Role.reviewer)
MIN_DURATION_S, MAX_DURATION_S = 1.0, 3600.0  # a typo like 9999999999999 stops here
DEFAULT_SIZES = ((384, 192, ColourMode.full),)  # when the fleet has no terminal yet
ITEM_FIELDS = ("title", "status", "topic_id", "community_id", "valid_from", "valid_until",
               "duration_s", "tags", "revision")
EDITABLE = {"draft", "submitted", "rejected", "approved"}
STATUS_NAMES = (N_("draft"), N_("submitted"), N_("approved"), N_("rejected"), N_("archived"))
KIND_NAMES = (N_("image"), N_("video"), N_("notice"))

# ContentError codes from content/ in the user's words. Params are prepared by _params.
MESSAGES = {
    "empty_file": N_("The file is empty."),
    "too_large": N_("The file is larger than the limit of %(limit_mb)s MB."),
    "unsupported_type": N_("This is not a supported image or video (JPEG, PNG, WebP, GIF, "
                           "MP4, WebM); the file looks like: %(detected)s."),
    "unsupported_type_unknown": N_("This is not a supported image or video (JPEG, PNG, WebP, "
                                   "GIF, MP4, WebM), and its file type could not be "
                                   "recognised."),
    "corrupt_image": N_("The image is damaged and cannot be opened."),
    "image_too_many_pixels": N_("The image has %(width)s×%(height)s pixels; the limit is "
                                "%(limit_mp)s megapixels."),
    "image_too_many_frames": N_("The animation has %(frames)s frames; the limit is "
                                "%(limit_frames)s."),
    "image_over_decode_budget": N_("The animation has %(frames)s frames of "
                                   "%(width)s×%(height)s pixels, %(mp)s megapixels to decode "
                                   "in all; the limit is %(limit_mp)s megapixels. Use fewer "
                                   "frames or a smaller size (an LED screen shows no more "
                                   "than its own pixels)."),
    "no_video_stream": N_("The file has no video picture (it contains: %(streams)s)."),
    "corrupt_video": N_("The video is damaged and cannot be played."),
    "video_too_many_pixels": N_("The video frame of %(width)s×%(height)s pixels is too large."),
    "unsupported_codec": N_("The video codec %(codec)s is not supported; use %(accepted)s."),
    "notice_empty_body": N_("The notice text is empty."),
    "notice_missing_glyphs": N_("The screen font cannot show these characters: %(characters)s. "
                                "Remove or replace them."),
    "notice_does_not_fit": N_("The text does not fit the %(width)s×%(height)s screen at a "
                              "legible size (%(min_font_px)s px per character); shorten it."),
    "no_cjk_font": N_("No Chinese font is installed on the server; ask the administrator."),
    "invalid_template": N_("Unknown notice template “%(template)s”."),
    "invalid_target": N_("The screen size %(width)s×%(height)s cannot be rendered."),
}


# What content/sniff recognised in a refused file, as a noun (translated with the message).
DETECTED = {
    "elf_executable": N_("a Linux program"), "windows_executable": N_("a Windows program"),
    "pdf": N_("a PDF document"), "zip": N_("a ZIP archive"),
    "text": N_("a text or web page file"),
}


def _params(err: lib.ContentError) -> dict:
    p = {k: "、".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v
         for k, v in err.params.items()}
    if "limit_bytes" in p:
        p["limit_mb"] = f"{int(p['limit_bytes']) / 1024 / 1024:g}"
    if "limit_pixels" in p:
        p["limit_mp"] = f"{int(p['limit_pixels']) / 1_000_000:g}"
    if p.get("pixels"):
        p["mp"] = f"{int(p['pixels']) / 1_000_000:,.0f}"
    if "detected" in p:
        p["detected"] = DETECTED.get(p["detected"], p["detected"])
    return p


def refusal(err: lib.ContentError, field: str) -> Invalid:
    """A content/ refusal as a service error, keeping its stable code."""
    code = err.code
    if code == "unsupported_type" and err.params.get("detected") not in DETECTED:
        code = "unsupported_type_unknown"  # never "looks like: unknown"
    out = Invalid(MESSAGES.get(code, N_("The content was refused.")), field=field,
                  **_params(err))
    out.code = err.code
    if err.code == "too_large":
        out.status = 413
    return out


# --- the playable rule ----------------------------------------------------------


def is_playable(item: ContentItem, at: datetime) -> bool:
    return (item.status == ContentStatus.approved
            and (item.valid_from is None or item.valid_from <= at)
            and (item.valid_until is None or at < item.valid_until))


def playable_clause(at: datetime) -> ColumnElement[bool]:
    return and_(ContentItem.status == ContentStatus.approved,
                or_(ContentItem.valid_from.is_(None), ContentItem.valid_from <= at),
                or_(ContentItem.valid_until.is_(None), ContentItem.valid_until > at))


# --- metadata -------------------------------------------------------------------


@dataclass
class Meta:
    title: str
    topic_id: int
    community_id: int | None = None  # None: street-wide (street admins only)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    duration_s: float = 10.0
    tags: list[str] = field(default_factory=list)


def _check_meta(s: Session, actor: Actor, meta: Meta) -> None:
    title = (meta.title or "").strip()
    if not 1 <= len(title) <= 120:
        raise Invalid(N_("%(field)s must be 1 to %(max)d characters."), field="title", max=120)
    meta.title = title
    topics.get_topic(s, actor, meta.topic_id)
    if meta.community_id is None:
        if not actor.is_street_admin:
            meta.community_id = actor.community_id  # community staff publish to their own
    else:
        tree.get_community(s, actor, meta.community_id)
        if not actor.is_street_admin and meta.community_id != actor.community_id:
            raise NotFound(N_("No such %(what)s."), what="community", field="community_id")
    for name in ("valid_from", "valid_until"):
        value = getattr(meta, name)
        if value is not None and value.tzinfo is None:
            raise Invalid(N_("%(field)s needs a time zone."), field=name)
    if meta.valid_from and meta.valid_until and meta.valid_until <= meta.valid_from:
        raise Invalid(N_("The end of validity must be after its start."), field="valid_until")
    try:
        duration = float(meta.duration_s)
    except (TypeError, ValueError):
        duration = -1.0
    if not MIN_DURATION_S <= duration <= MAX_DURATION_S:
        raise Invalid(N_("The duration must be between %(min)s and %(max)s seconds."),
                      field="duration_s", min=int(MIN_DURATION_S), max=int(MAX_DURATION_S))
    meta.duration_s = duration
    tags = sorted({str(t).strip() for t in meta.tags if str(t).strip()})
    if len(tags) > 20 or any(len(t) > 40 for t in tags):
        raise Invalid(N_("At most 20 tags of up to 40 characters."), field="tags")
    meta.tags = tags


def _register_blob(s: Session, sha: str, size: int, mime: str) -> None:
    if s.get(Blob, sha) is None:
        s.add(Blob(sha256=sha, size=size, mime=mime))
        s.flush()


def _store_bytes(s: Session, store: lib.BlobStore, data: bytes, mime: str) -> str:
    with store.ingest_stream(io.BytesIO(data), len(data) + 1) as pending:
        pending.commit()
        sha = pending.sha256
    _register_blob(s, sha, len(data), mime)
    return sha


def _new_item(actor: Actor, kind: ContentKind, meta: Meta) -> ContentItem:
    return ContentItem(
        street_id=actor.street_id, community_id=meta.community_id, kind=kind,
        status=ContentStatus.draft, title=meta.title, topic_id=meta.topic_id, tags=meta.tags,
        valid_from=meta.valid_from, valid_until=meta.valid_until, duration_s=meta.duration_s,
        created_by=actor.id,
    )


# --- uploads ----------------------------------------------------------------------


def _apply_media(s: Session, store: lib.BlobStore, item: ContentItem,
                 ing: lib.IngestedBlob) -> None:
    _register_blob(s, ing.sha256, ing.size, ing.mime)
    item.kind = ContentKind(ing.kind)
    item.blob_sha256 = ing.sha256
    item.original_name = ing.display_name
    item.mime = ing.mime
    item.width, item.height = ing.width, ing.height
    item.media_duration_s = ing.duration_s if ing.kind == "video" else None
    item.fps, item.codec, item.animated = ing.fps, ing.codec, ing.animated
    item.thumbnail_sha256 = _store_bytes(s, store, ing.thumbnail, ing.thumbnail_mime)
    screening.media_changed(item)  # its text is read and screened in the background


def _examine(path, head: bytes, limits: lib.Limits) -> lib.Examined:
    """Decoding and thumbnailing run in a job worker, under its memory and time limits
    (JobFailed past them); the request only streams the bytes to disk."""
    return workpool.run(lib.examine_file, path, head, limits)


def require_writer(actor: Actor) -> None:
    """Who may add content (upload, write a notice): asked by the save and by the pages
    that offer the form, so a reader is refused before filling one in."""
    actor.require_role(*EDITORS)


def upload(s: Session, actor: Actor, store: lib.BlobStore, stream, filename: str | None,
           meta: Meta, limits: lib.Limits) -> ContentItem:
    """Validate metadata first, then stream the file in; nothing is kept on refusal."""
    require_writer(actor)
    _check_meta(s, actor, meta)
    hits = screening.screen_for(s, actor, {"title": meta.title, "file": filename})
    try:
        ing = lib.ingest(stream, filename, store, limits, examine=_examine)
    except lib.ContentError as err:
        raise refusal(err, "file") from None
    item = _new_item(actor, ContentKind(ing.kind), meta)
    _apply_media(s, store, item, ing)
    screening.store_hits(item, hits, ("title", "file"))
    s.add(item)
    s.flush()
    audit.record(s, actor, "create", "content", item.id, label=item.title,
                 community_id=item.community_id,
                 after={**audit.snapshot(item, ITEM_FIELDS), "file": ing.display_name,
                        "sha256": ing.sha256})
    return item


# --- notices ----------------------------------------------------------------------


@dataclass
class Rendered:
    """A notice rendered at one size, as its PNG files and what the renditions record."""

    pages: list[bytes]  # PNG per page, or the one strip of a scrolling notice
    mode: str  # "pages" | "scroll"
    font_px: int
    image_widths: list[int]  # per page (a scroll strip is wider than the screen)
    scroll_speed_px_s: float | None


@dataclass
class Variant:
    width: int
    height: int
    colour_mode: ColourMode
    render: Rendered | None = None
    error: Invalid | None = None
    excluded: bool = False  # left out by the editor: not rendered, never shown there
    # A layout's main-region size, not a panel's: a notice that does not fit it is not
    # refused (it plays its full-screen pages scaled into the region there).
    region: bool = False

    @property
    def key(self) -> str:
        return size_key(self.width, self.height, self.colour_mode)


def size_key(width: int, height: int, mode: ColourMode | str) -> str:
    """How an excluded screen size is named on the item: "128x64-mono"."""
    return f"{width}x{height}-{ColourMode(mode).value}"


def screens_by_size(s: Session, street_id: int, community_id: int | None) -> dict[str, int]:
    """How many screens of each size a notice for the community (None: the street) reaches,
    so the editor knows what leaving a size out costs."""
    from server.models import Building, Community, Terminal

    q = (select(Terminal.width, Terminal.height, Terminal.colour_mode, func.count())
         .join(Building).join(Community).where(Community.street_id == street_id)
         .group_by(Terminal.width, Terminal.height, Terminal.colour_mode))
    if community_id is not None:
        q = q.where(Community.id == community_id)
    return {size_key(w, h, m): n for w, h, m, n in s.execute(q)}


def notice_sizes(s: Session, street_id: int, community_id: int | None
                 ) -> list[tuple[int, int, ColourMode]]:
    return tree.fleet_sizes(s, street_id, community_id) or list(DEFAULT_SIZES)


def region_variants(s: Session, street_id: int, community_id: int | None,
                    have: Iterable[Variant], text: NoticeText, font: str | None = None
                    ) -> list[Variant]:
    """The notice rendered at the main-region sizes of the layouts that can show it
    (layouts.main_sizes) that `have` (its panel sizes) does not already cover; a size it
    does not fit carries its error and is simply not stored."""
    from server.services import layouts

    covered = {v.key for v in have}
    sizes = [z for z in layouts.main_sizes(s, street_id, community_id)
             if size_key(*z) not in covered]
    if not sizes:
        return []
    out = render_variants(sizes, text.title, text.body, text.footer, text.template, font)
    for v in out:
        v.region = True
    return out


def add_renditions(s: Session, store: lib.BlobStore, item: ContentItem,
                   variants: list[Variant]) -> int:
    """Store the rendered sizes the item has no pages for yet (a layout's new main-region
    size); how many sizes were added."""
    have = {(r.width, r.height, r.colour_mode) for r in item.renditions}
    new = [v for v in variants if v.render is not None
           and (v.width, v.height, v.colour_mode) not in have]
    _append_renditions(s, store, item, new)
    return len(new)


def render_pngs(sizes: list[tuple[int, int, str]], title: str, body: str, footer: str,
                template: str, font: str | None) -> list[Rendered | lib.ContentError]:
    """The job itself (in a worker process): every size rendered and PNG-encoded, or the
    ContentError that refused it. Plain values in and out, so they travel pickled."""
    notice = lib.Notice(body=body, title=title, footer=footer or None, template=template)
    out: list[Rendered | lib.ContentError] = []
    for w, h, mode in sizes:
        try:
            r = lib.render_notice(notice, lib.Target(w, h, mode), lib.RenderOptions(font=font))
        except lib.ContentError as err:
            out.append(err)
            continue
        out.append(Rendered(r.png_pages(), r.mode, r.font_px, [im.width for im in r.images],
                            r.scroll_speed_px_s))
    return out


def render_variants(sizes: Iterable[tuple[int, int, ColourMode]], title: str, body: str,
                    footer: str, template: str, font: str | None = None,
                    urgent: bool = False, exclude: Iterable[str] = ()) -> list[Variant]:
    """Render the notice at every size, in a job worker (one job for all sizes: a typed
    broadcast reaches every size of the fleet); each variant holds its PNG page(s) or its
    refusal. Call it before writing anything in the transaction: on SQLite a write lock
    held while the request waits would stall every other writer. `urgent`: a broadcast's
    (workpool.run). `exclude`: size keys left out, not rendered."""
    left_out = set(exclude)
    every = [Variant(w, h, mode) for w, h, mode in sizes]
    for v in every:
        v.excluded = v.key in left_out
    shown = [v for v in every if not v.excluded]
    results = workpool.run(render_pngs, [(v.width, v.height, v.colour_mode.value)
                                         for v in shown], title,
                           body, footer, template, font, urgent=urgent) if shown else []
    for v, result in zip(shown, results, strict=True):
        if isinstance(result, lib.ContentError):
            v.error = refusal(result, "notice_template" if result.code == "invalid_template"
                              else "notice_body")
        else:
            v.render = result
    return every


def _first_error(variants: list[Variant]) -> None:
    """The refusal of the first size that is not left out; a notice left out of every
    size would reach no screen."""
    variants = [v for v in variants if not v.region]
    for v in variants:
        if v.error is not None and not v.excluded:
            # Every size the text does not fit, so a caller can retry with them left out.
            v.error.sizes = [w.key for w in variants if w.error is not None and not w.excluded
                             and w.error.code == "notice_does_not_fit"]
            raise v.error
    if variants and all(v.excluded for v in variants):
        raise Invalid(N_("Leave at least one screen size in: the notice would reach no "
                         "screen."), field="exclude_sizes")


def _check_excluded(variants: list[Variant], exclude: Iterable[str]) -> None:
    """A size left out must be one the notice reaches (the form offers only those; an API
    client may name any)."""
    unknown = sorted(set(exclude) - {v.key for v in variants})
    if unknown:
        raise Invalid(N_("The notice reaches no screen of size %(sizes)s; only a size it "
                         "reaches can be left out."),
                      field="exclude_sizes", sizes="、".join(unknown))


def _store_renditions(s: Session, store: lib.BlobStore, item: ContentItem,
                      variants: list[Variant]) -> None:
    item.renditions.clear()
    s.flush()
    item.notice_excluded_sizes = sorted(v.key for v in variants if v.excluded)
    for v in variants:
        assert v.excluded or v.region or v.render is not None  # refused by _first_error
    _append_renditions(s, store, item, [v for v in variants if v.render is not None
                                        and not v.excluded])


def _append_renditions(s: Session, store: lib.BlobStore, item: ContentItem,
                       variants: list[Variant]) -> None:
    for v in variants:
        assert v.render is not None
        for page, png in enumerate(v.render.pages):
            item.renditions.append(NoticeRendition(
                width=v.width, height=v.height, colour_mode=v.colour_mode, page=page,
                mode=v.render.mode, scroll_speed_px_s=v.render.scroll_speed_px_s,
                font_px=v.render.font_px, blob_sha256=_store_bytes(s, store, png, "image/png"),
                image_width=v.render.image_widths[page],
            ))


_SIZE_KEY = re.compile(r"[1-9][0-9]{0,4}x[1-9][0-9]{0,4}-(full|mono)")


@dataclass
class NoticeText:
    title: str = ""
    body: str = ""
    footer: str = ""
    template: str = "notice"
    # Size keys (size_key) to leave out; None on an edit: keep the item's.
    exclude: list[str] | None = None

    def check(self) -> None:
        if self.exclude is not None:
            if len(self.exclude) > 50 or not all(
                    isinstance(k, str) and _SIZE_KEY.fullmatch(k) for k in self.exclude):
                raise Invalid(N_("Unknown screen size to leave out."), field="exclude_sizes")
            self.exclude = sorted(set(self.exclude))
        if len(self.title) > 80 or len(self.footer) > 80:
            raise Invalid(N_("%(field)s is longer than %(max)d characters."),
                          field="notice_body", max=80)
        if len(self.body) > 2000:
            raise Invalid(N_("%(field)s is longer than %(max)d characters."),
                          field="notice_body", max=2000)
        if self.template not in lib.TEMPLATES:
            raise Invalid(N_("Unknown notice template “%(template)s”."),
                          field="notice_template", template=self.template)


NOTICE_TEXTS = ("title", "notice_title", "notice_body", "notice_footer")


def _screened_texts(title: str | None, text: NoticeText | None) -> dict[str, str | None]:
    """The staff texts of an item that screening reads, by field (None: not changed)."""
    out: dict[str, str | None] = {"title": title} if title is not None else {}
    if text is not None:
        out |= {"notice_title": text.title, "notice_body": text.body,
                "notice_footer": text.footer}
    return out


def create_notice(s: Session, actor: Actor, store: lib.BlobStore, meta: Meta,
                  text: NoticeText, font: str | None = None,
                  variants: list[Variant] | None = None, regions: bool = True) -> ContentItem:
    """`variants`: already rendered for meta's community, by a caller that must write
    before calling (see render_variants on why rendering comes before any write).
    `regions`: also render it for the layouts' main regions (not a broadcast's text, which
    is shown full-screen, over any layout)."""
    require_writer(actor)
    _check_meta(s, actor, meta)
    text.check()
    hits = screening.screen_for(s, actor, _screened_texts(meta.title, text))
    if variants is None:
        variants = render_variants(notice_sizes(s, actor.street_id, meta.community_id),
                                   text.title, text.body, text.footer, text.template, font,
                                   exclude=text.exclude or ())
    _check_excluded(variants, text.exclude or ())
    _first_error(variants)
    if regions:
        variants = variants + region_variants(s, actor.street_id, meta.community_id,
                                              variants, text, font)
    item = _new_item(actor, ContentKind.notice, meta)
    item.notice_title, item.notice_body = text.title, text.body
    item.notice_footer, item.notice_template = text.footer, text.template
    screening.store_hits(item, hits, NOTICE_TEXTS)
    s.add(item)
    s.flush()
    _store_renditions(s, store, item, variants)
    audit.record(s, actor, "create", "content", item.id, label=item.title,
                 community_id=item.community_id,
                 after={**audit.snapshot(item, ITEM_FIELDS), "notice_body": text.body,
                        "excluded_sizes": item.notice_excluded_sizes})
    return item


# --- reading ----------------------------------------------------------------------


def get_item(s: Session, actor: Actor, item_id: int) -> ContentItem:
    item = s.get(ContentItem, item_id)
    # A pending edit is reached through its live item only: no playlist, template or
    # broadcast can name it, so nothing pending can reach a screen.
    if item is None or item.draft_of_id is not None or item.street_id != actor.street_id \
            or not actor.sees(item.community_id):
        raise NotFound(N_("No such %(what)s."), what="content item")
    return item


def list_items(s: Session, actor: Actor, *, status: str | None = None,
               topic_id: int | None = None, kind: str | None = None,
               search: str | None = None, limit: int = 500) -> list[ContentItem]:
    q = (select(ContentItem)
         .where(ContentItem.street_id == actor.street_id,
                actor.community_clause(ContentItem.community_id),
                ContentItem.broadcast_text.is_(False))  # broadcasts list their own texts
         .where(ContentItem.draft_of_id.is_(None))  # pending edits show on their item
         .options(selectinload(ContentItem.topic), selectinload(ContentItem.pending))
         .order_by(ContentItem.updated_at.desc(), ContentItem.id.desc()).limit(limit))
    if status:
        # An approved item whose edit waits for review is found under both states.
        edit = aliased(ContentItem)
        q = q.where(or_(ContentItem.status == ContentStatus(status),
                        exists().where(edit.draft_of_id == ContentItem.id,
                                       edit.status == ContentStatus(status))))
    if topic_id:
        q = q.where(ContentItem.topic_id == topic_id)
    if kind:
        q = q.where(ContentItem.kind == ContentKind(kind))
    if search:
        q = q.where(ContentItem.title.contains(search.strip()[:60]))
    return list(s.scalars(q))


@dataclass
class Change:
    """One difference between the playing version and the edit under review."""

    field: str  # N_() label
    before: object
    after: object
    kind: str = "text"  # text | time | template (a key) | long (a notice body)

    def runs(self) -> tuple[list[tuple[bool, str]], list[tuple[bool, str]]]:
        """The old and the new text as runs marked True where they differ, so that four
        characters added to a long notice stand out."""
        a, b = str(self.before or ""), str(self.after or "")
        old: list[tuple[bool, str]] = []
        new: list[tuple[bool, str]] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b,
                                                          autojunk=False).get_opcodes():
            if i2 > i1:
                old.append((op != "equal", a[i1:i2]))
            if j2 > j1:
                new.append((op != "equal", b[j1:j2]))
        return old, new


@dataclass
class Placement:
    """Where an item plays: one playlist, the schedules that play it, the screens reached."""

    playlist: Playlist
    schedules: list[Schedule]
    terminals: int


@dataclass
class Review:
    """An entry of the review queue: `item` is what staff open and decide on (its id
    stays); `version` is what is judged, the pending edit of a playing item or the new
    item itself."""

    item: ContentItem
    version: ContentItem
    submitter: User | None
    changes: list[Change]
    placements: list[Placement]
    decision: Decision | None = None  # the levels and whether this reviewer may decide
    community_approver: User | None = None  # who gave the community level, if given

    @property
    def is_edit(self) -> bool:
        return self.version is not self.item


COMPARED = (
    ("title", N_("Title"), "text"), ("notice_title", N_("Heading on screen"), "text"),
    ("notice_body", N_("Text"), "long"), ("notice_footer", N_("Footer"), "text"),
    ("notice_template", N_("Template"), "template"), ("original_name", N_("File"), "text"),
    ("valid_from", N_("Valid from"), "time"), ("valid_until", N_("Valid until"), "time"),
    ("duration_s", N_("Seconds on screen"), "text"),
)


def edit_changes(item: ContentItem) -> list[Change]:
    """What the pending edit of `item` changes, field by field (a new file of the same
    name counts too)."""
    p = item.pending
    if p is None:
        return []
    out = [Change(label, getattr(item, name), getattr(p, name), kind)
           for name, label, kind in COMPARED if getattr(item, name) != getattr(p, name)]
    if p.topic_id != item.topic_id:
        out.append(Change(N_("Topic"), item.topic.name, p.topic.name))
    if p.blob_sha256 != item.blob_sha256 and p.original_name == item.original_name:
        out.append(Change(N_("File"), item.original_name, p.original_name))
    return out


def placements(s: Session, item_ids: Iterable[int]) -> dict[int, list[Placement]]:
    """Where each item is scheduled: its playlists, their active schedules and how many
    screens those reach (through changes.reach, the one definition of reaching)."""
    ids = list(set(item_ids))
    if not ids:
        return {}
    rows = s.execute(select(PlaylistEntry.content_id, Playlist)
                     .join(Playlist, PlaylistEntry.playlist_id == Playlist.id)
                     .where(PlaylistEntry.content_id.in_(ids)).distinct()
                     .order_by(Playlist.name)).all()
    by_playlist: dict[int, list[Schedule]] = {}
    for sc in s.scalars(select(Schedule).where(
            Schedule.playlist_id.in_({p.id for _i, p in rows}), Schedule.active.is_(True))
            .options(selectinload(Schedule.targets)).order_by(Schedule.name)):
        by_playlist.setdefault(sc.playlist_id, []).append(sc)
    reached: dict[int, int] = {}
    out: dict[int, list[Placement]] = {i: [] for i in ids}
    for content_id, playlist in rows:
        scs = by_playlist.get(playlist.id, [])
        if playlist.id not in reached:
            reached[playlist.id] = len(changes.terminals_of_schedules(s, [x.id for x in scs]))
        out[content_id].append(Placement(playlist, scs, reached[playlist.id]))
    return out


def review_queue(s: Session, actor: Actor, everything: bool = False) -> list[Review]:
    """New items submitted for review, and playing items whose edit waits, oldest first,
    each with the level waiting; without `everything`, only those whose waiting level this
    reviewer may decide (their own items stay listed, marked, as before)."""
    actor.require_role(*REVIEWERS)
    items = list_items(s, actor, status=ContentStatus.submitted.value)
    waiting = []
    for item in items:
        if item.pending is not None and item.pending.status == ContentStatus.submitted:
            waiting.append(item.pending)
        elif item.status == ContentStatus.submitted:
            waiting.append(item)
    people = {u.id: u for u in s.scalars(select(User).where(User.id.in_(
        {v.submitted_by or v.created_by for v in waiting}
        | {v.community_approved_by for v in waiting})))}
    where = placements(s, [i.id for i in items])
    out = []
    for version in waiting:
        item = version if version.draft_of_id is None else \
            next(i for i in items if i.id == version.draft_of_id)
        d = decision(s, actor, item)
        if d.refusal == review_rules.LEVEL and not everything:
            continue
        out.append(Review(item, version, people.get(version.submitted_by or version.created_by),
                          edit_changes(item), where[item.id], d,
                          people.get(version.community_approved_by)))
    out.sort(key=lambda r: (r.version.submitted_at or r.version.updated_at, r.item.id))
    return out


# --- editing and review -----------------------------------------------------------
#
# An approved item keeps playing while an edit of it waits: the first change to what it
# shows makes a pending edit (ContentItem.draft_of_id); later edits go to that row until
# a reviewer approves it (copied onto the item, one change for the terminals) or rejects
# it (kept, rejected, for the editor to fix). Every step is audited under the item's id.

# Not carried between an item and its pending edit: identity, review trail, membership.
NOT_CARRIED = {"id", "street_id", "status", "created_by", "created_at", "reviewed_by",
               "reviewed_at", "reject_reason", "submitted_by", "submitted_at", "draft_of_id",
               "broadcast_text", "review_stage", "community_approved_by",
               "community_approved_at"}


def _carried() -> list[str]:
    return [c.key for c in ContentItem.__table__.columns if c.key not in NOT_CARRIED]


def _copy_renditions(source: ContentItem, to: ContentItem) -> None:
    names = [c.key for c in NoticeRendition.__table__.columns if c.key not in ("id", "item_id")]
    for r in source.renditions:
        to.renditions.append(NoticeRendition(**{n: getattr(r, n) for n in names}))


def _start_edit(s: Session, actor: Actor, item: ContentItem) -> ContentItem:
    """The pending edit of an approved item, starting as a copy of it (same blobs)."""
    edit = ContentItem(street_id=item.street_id, status=ContentStatus.draft,
                       created_by=actor.id, draft_of_id=item.id,
                       **{name: getattr(item, name) for name in _carried()})
    edit.revision = item.revision + 1
    s.add(edit)
    s.flush()
    _copy_renditions(item, edit)
    s.expire(item, ["pending"])
    return edit


def editable_item(s: Session, actor: Actor, item_id: int) -> ContentItem:
    """The item, if `actor` may change it: the save's check, also asked by the edit page
    before it offers the form and by the item page before it offers the button."""
    return _editable(s, actor, item_id)


def _editable(s: Session, actor: Actor, item_id: int) -> ContentItem:
    item = get_item(s, actor, item_id)
    actor.require_role(*EDITORS)
    if item.community_id is None and not actor.is_street_admin:
        raise Forbidden(N_("Only street administrators can change street-wide objects."))
    if item.status.value not in EDITABLE:
        raise Conflict(N_("Archived content cannot be changed."))
    return item


def _screen_changed(s: Session, actor: Actor, item: ContentItem,
                    live: ContentItem | None = None) -> None:
    """What would be on screen changed: a new revision. A pending edit (`live`: the item
    it edits) goes to review; the approved item itself keeps playing."""
    if live is None:
        item.revision += 1
        return
    item.revision = live.revision + 1
    item.status = ContentStatus.submitted
    item.submitted_by, item.submitted_at = actor.id, utcnow()
    item.reviewed_by = item.reviewed_at = None
    item.reject_reason = ""


def _edit_target(s: Session, actor: Actor, item: ContentItem, screen: bool) -> ContentItem:
    """Where a change goes: the pending edit if there is one; a new pending edit if it
    changes what an approved item shows; else the item itself."""
    if item.pending is not None:
        return item.pending
    if screen and item.status == ContentStatus.approved:
        return _start_edit(s, actor, item)
    return item


def _recorded(s: Session, actor: Actor, item: ContentItem, target: ContentItem,
              before: dict, extra: dict | None = None) -> None:
    """The audit entry of an edit (under the item's id), and the terminals' nudge when
    the item itself changed."""
    after = audit.snapshot(target, ITEM_FIELDS) | (extra or {})
    if target is not item:
        after["pending_edit"] = True
    audit.record(s, actor, "update", "content", item.id, label=item.title,
                 community_id=item.community_id, before=before, after=after)
    if target is item:
        changes.content_changed(s, item.id)


def update(s: Session, actor: Actor, store: lib.BlobStore, item_id: int, *,
           meta: dict | None = None, text: NoticeText | None = None,
           font: str | None = None) -> ContentItem:
    """Returns the item (its id is what everything names); an edit of approved content
    is its `pending` edit until a reviewer approves it."""
    item = _editable(s, actor, item_id)
    current = item.pending or item  # what the editor sees in the form and changes
    before = audit.snapshot(current, ITEM_FIELDS)
    screen = False
    merged = None
    if meta:
        merged = Meta(
            title=meta.get("title", current.title),
            topic_id=meta.get("topic_id", current.topic_id),
            community_id=meta.get("community_id", current.community_id),
            valid_from=meta.get("valid_from", current.valid_from),
            valid_until=meta.get("valid_until", current.valid_until),
            duration_s=meta.get("duration_s", current.duration_s),
            tags=meta.get("tags", current.tags),
        )
        _check_meta(s, actor, merged)
        screen |= (merged.valid_from, merged.valid_until, merged.duration_s) != (
            current.valid_from, current.valid_until, current.duration_s)
    variants = None
    if text is not None:
        if item.kind != ContentKind.notice:
            raise Invalid(N_("Only notices have text."), field="notice_body")
        text.check()
    texts = _screened_texts(merged.title if merged else None, text)
    hits = screening.screen_for(s, actor, texts)
    if text is not None:
        given = text.exclude is not None  # a size kept from before may have left the fleet
        if text.exclude is None:
            text.exclude = list(current.notice_excluded_sizes or [])
        if (text.title, text.body, text.footer, text.template, text.exclude) != (
                current.notice_title, current.notice_body, current.notice_footer,
                current.notice_template, list(current.notice_excluded_sizes or [])):
            # Rendered before the item changes: a change would be flushed by the sizes'
            # query and hold the write lock while the request waits for the render.
            community_id = merged.community_id if merged else current.community_id
            variants = render_variants(notice_sizes(s, actor.street_id, community_id),
                                       text.title, text.body, text.footer, text.template, font,
                                       exclude=text.exclude)
            if given:
                _check_excluded(variants, text.exclude)
            _first_error(variants)
            variants += region_variants(s, actor.street_id, community_id, variants, text, font)
            screen = True
    target = _edit_target(s, actor, item, screen)
    if merged:
        target.title, target.topic_id, target.tags = merged.title, merged.topic_id, merged.tags
        target.community_id = merged.community_id
        target.valid_from, target.valid_until = merged.valid_from, merged.valid_until
        target.duration_s = merged.duration_s
    screening.store_hits(target, hits, tuple(texts))
    if variants is not None:
        assert text is not None
        target.notice_title, target.notice_body = text.title, text.body
        target.notice_footer, target.notice_template = text.footer, text.template
        _store_renditions(s, store, target, variants)
    if target is not item:
        _screen_changed(s, actor, target, live=item)
    elif screen:
        _screen_changed(s, actor, target)
    target.updated_at = item.updated_at = utcnow()
    s.flush()
    _recorded(s, actor, item, target, before)
    return item


def replace_file(s: Session, actor: Actor, store: lib.BlobStore, item_id: int, stream,
                 filename: str | None, limits: lib.Limits) -> ContentItem:
    item = _editable(s, actor, item_id)
    if item.kind == ContentKind.notice:
        raise Invalid(N_("A notice has no file; edit its text instead."), field="file")
    current = item.pending or item
    before = audit.snapshot(current, ITEM_FIELDS) | {"sha256": current.blob_sha256}
    hits = screening.screen_for(s, actor, {"file": filename})
    try:
        ing = lib.ingest(stream, filename, store, limits, examine=_examine)
    except lib.ContentError as err:
        raise refusal(err, "file") from None
    target = _edit_target(s, actor, item, screen=True)
    _apply_media(s, store, target, ing)
    screening.store_hits(target, hits, ("file",))
    _screen_changed(s, actor, target, live=item if target is not item else None)
    target.updated_at = item.updated_at = utcnow()
    s.flush()
    _recorded(s, actor, item, target, before, {"sha256": ing.sha256})
    return item


def _transition(s: Session, actor: Actor, item: ContentItem, to: ContentStatus,
                allowed_from: tuple[ContentStatus, ...], *, reason: str = "",
                live: ContentItem | None = None, level: str = "") -> ContentItem:
    """`live`: `item` is its pending edit; the entry is the live item's and the terminals
    are not concerned. `level`: the review level decided (or waiting, for a submit)."""
    if item.status not in allowed_from:
        raise Conflict(N_("This content is “%(status)s” and cannot become “%(to)s”."),
                       status=item.status.value, to=to.value)
    before = {"status": item.status.value}
    item.status = to
    item.updated_at = utcnow()
    after: dict = {"status": to.value}
    if reason:
        after["reason"] = reason
    if live is not None:
        after["pending_edit"] = True
    if level:
        after["review_level"] = level
    subject = live or item
    audit.record(s, actor, to.value if to != ContentStatus.submitted else "submit", "content",
                 subject.id, label=subject.title, community_id=subject.community_id,
                 before=before, after=after)
    if live is None:
        changes.content_changed(s, item.id)
    return item


def submit(s: Session, actor: Actor, item_id: int) -> ContentItem:
    item = _editable(s, actor, item_id)
    target = item.pending or item
    needed = review_rules.levels(review_scope(s, item))
    _transition(s, actor, target, ContentStatus.submitted,
                (ContentStatus.draft, ContentStatus.rejected),
                live=item if target is not item else None, level=needed[0])
    target.submitted_by, target.submitted_at = actor.id, utcnow()
    _restart_review(target, needed[0])
    return item


def mark_for_street(s: Session, actor: Actor, item_id: int, marked: bool) -> ContentItem:
    """The community asks for (or stops asking for) a street-level approval after its
    own. It changes nothing on screen: it is set on the version that will be reviewed next
    (the pending edit if one waits) and carried to later edits; audited."""
    item = _editable(s, actor, item_id)
    target = item.pending or item
    if bool(target.street_review) == marked:
        return item
    target.street_review = marked
    after: dict = {"street_review": marked}
    if target is not item:
        after["pending_edit"] = True
    audit.record(s, actor, "update", "content", item.id, label=item.title,
                 community_id=item.community_id, before={"street_review": not marked},
                 after=after)
    return item


def review_trail(s: Session, item: ContentItem) -> dict:
    """Who decided which level of the version under review (or the last approved one):
    for the item page."""
    version = item.pending or item
    ids = {version.community_approved_by, version.reviewed_by, version.submitted_by}
    people = {u.id: u for u in s.scalars(select(User).where(User.id.in_(ids - {None})))}
    return {"version": version,
            "submitted_by": people.get(version.submitted_by),
            "community_by": people.get(version.community_approved_by),
            "reviewed_by": people.get(version.reviewed_by)}


def _restart_review(version: ContentItem, stage: str) -> None:
    """A new round of review: the first level waits and no level is approved yet."""
    version.review_stage = stage
    version.community_approved_by = version.community_approved_at = None


def reaches_others(s: Session, item: ContentItem) -> bool:
    """Whether the active schedules playing the item reach screens outside its community."""
    scheduled = [sc.id for p in placements(s, [item.id])[item.id] for sc in p.schedules]
    terminals = changes.terminals_of_schedules(s, scheduled) if scheduled else set()
    if not terminals:
        return False
    return {p.community_id for p in changes.places(s, item.street_id, terminals)} \
        - {item.community_id} != set()


def review_scope(s: Session, item: ContentItem, at: datetime | None = None
                 ) -> review_rules.Scope:
    """The facts the review rule decides on, for the version under review as it stands at
    `at` (now): an escalation period that began while it waited applies."""
    version = item.pending or item
    return review_rules.Scope(
        street_wide=version.community_id is None,
        reaches_others=reaches_others(s, item),
        marked=bool(version.street_review),
        escalated=escalation.in_force(s, item.street_id, version.community_id, at)
        is not None)


def _reviewer(actor: Actor) -> review_rules.Reviewer:
    return review_rules.Reviewer(actor.id, actor.role, actor.community_id)


@dataclass
class Decision:
    """Where an item's review stands for one reviewer: the levels it needs now, the level
    waiting, and why this reviewer may not decide it (a review_rules code) or None."""

    needed: list[str]
    level: str
    refusal: str | None
    reject_refusal: str | None
    stage: str = ""  # the stage as it stands: "" when a change voided the community's


def _stage(version: ContentItem) -> tuple[str, int | None]:
    """The stored stage and community approver, unless the version changed after the
    community approved it (an edit while the street's approval waited): then the
    community must see it again."""
    if version.review_stage == review_rules.STREET and version.community_approved_at \
            and version.updated_at and version.updated_at > version.community_approved_at:
        return "", None
    return version.review_stage, version.community_approved_by


def decision(s: Session, actor: Actor, item: ContentItem,
             scope: review_rules.Scope | None = None) -> Decision:
    version = item.pending or item
    needed = review_rules.levels(scope or review_scope(s, item))
    stage, first = _stage(version)
    who, authors = _reviewer(actor), {version.created_by, version.submitted_by}
    level = review_rules.waiting(needed, stage)
    if actor.role not in REVIEWERS:
        no = review_rules.LEVEL
        return Decision(needed, level, no, no, stage)
    return Decision(
        needed, level,
        review_rules.refusal(needed, stage, who, item.community_id, authors, first),
        review_rules.refusal(needed, stage, who, item.community_id, authors, first,
                             approving=False), stage)


REFUSALS = {
    review_rules.OWN: N_("You cannot review content you created; ask another reviewer."),
    review_rules.BOTH: N_("You approved this at the community level; another street-level "
                          "reviewer must give the street approval."),
    review_rules.LEVEL: N_("This content waits for a street-level approval; a street "
                           "administrator must decide it."),
}


def discard_edit(s: Session, actor: Actor, item_id: int) -> ContentItem:
    """Drop the pending edit of an approved item; the approved version plays on."""
    item = _editable(s, actor, item_id)
    edit = item.pending
    if edit is None:
        raise Conflict(N_("This content has no pending edit."))
    audit.record(s, actor, "discard", "content", item.id, label=item.title,
                 community_id=item.community_id,
                 before=audit.snapshot(edit, ITEM_FIELDS) | {"pending_edit": True})
    s.delete(edit)
    s.flush()
    s.expire(item, ["pending"])
    return item


def _reviewable(s: Session, actor: Actor, item_id: int, approving: bool = True
                ) -> tuple[ContentItem, Decision]:
    """The item and where its review stands, if `actor` may decide the level waiting
    (review_rules, asked with the scope as it is now)."""
    item = get_item(s, actor, item_id)
    actor.require_role(*REVIEWERS)
    if item.community_id is None and not actor.is_street_admin:
        raise Forbidden(N_("Only street administrators can change street-wide objects."))
    d = decision(s, actor, item)
    why = d.refusal if approving else d.reject_refusal
    if why is not None:
        raise Forbidden(REFUSALS[why])
    return item, d


def _swap_in(s: Session, item: ContentItem, edit: ContentItem) -> None:
    """The approved edit becomes the item: its fields and pages, then it is deleted."""
    for name in _carried():
        setattr(item, name, getattr(edit, name))
    item.renditions.clear()
    s.flush()  # the old pages go first: (item, size, page) is unique
    _copy_renditions(edit, item)
    s.delete(edit)
    s.flush()
    s.expire(item, ["pending"])


def _approve_community(s: Session, actor: Actor, item: ContentItem, d: Decision) -> None:
    """The first of two levels: recorded and handed to the street; nothing changes on
    screen (the item is still submitted)."""
    version = item.pending or item
    if version.status != ContentStatus.submitted:
        raise Conflict(N_("This content is “%(status)s” and cannot become “%(to)s”."),
                       status=version.status.value, to=ContentStatus.approved.value)
    version.community_approved_by, version.community_approved_at = actor.id, utcnow()
    version.review_stage = review_rules.STREET
    after: dict = {"review_level": review_rules.COMMUNITY, "next": review_rules.STREET,
                   "needed": d.needed}
    if version is not item:
        after["pending_edit"] = True
    audit.record(s, actor, "approve_level", "content", item.id, label=item.title,
                 community_id=item.community_id, before={"status": version.status.value},
                 after=after)


def approve(s: Session, actor: Actor, item_id: int) -> ContentItem:
    """At the community level of two: recorded, handed on to the street. At the last
    level: a pending edit replaces the playing version in this one transaction: one
    manifest change for each terminal, straight to the new version."""
    item, d = _reviewable(s, actor, item_id)
    version = item.pending or item
    if version.status == ContentStatus.submitted and \
            review_rules.next_stage(d.needed, d.stage) is not None:
        _approve_community(s, actor, item, d)
        return item
    edit = item.pending
    if edit is None:
        _transition(s, actor, item, ContentStatus.approved, (ContentStatus.submitted,),
                    level=d.level)
        item.review_stage = ""
        item.reviewed_by, item.reviewed_at, item.reject_reason = actor.id, utcnow(), ""
        return item
    if edit.status != ContentStatus.submitted:
        raise Conflict(N_("This content is “%(status)s” and cannot become “%(to)s”."),
                       status=edit.status.value, to=ContentStatus.approved.value)
    before = audit.snapshot(item, ITEM_FIELDS)
    _swap_in(s, item, edit)
    item.reviewed_by, item.reviewed_at, item.reject_reason = actor.id, utcnow(), ""
    item.submitted_by, item.submitted_at = edit.submitted_by, edit.submitted_at
    item.community_approved_by = edit.community_approved_by  # the trail of this version
    item.community_approved_at = edit.community_approved_at
    item.review_stage = ""
    item.updated_at = utcnow()
    audit.record(s, actor, ContentStatus.approved.value, "content", item.id, label=item.title,
                 community_id=item.community_id, before=before,
                 after=audit.snapshot(item, ITEM_FIELDS) | {"pending_edit": True,
                                                            "review_level": d.level})
    changes.content_changed(s, item.id)
    return item


def reject(s: Session, actor: Actor, item_id: int, reason: str) -> ContentItem:
    """A rejected edit stays as the editor left it, marked rejected; the approved
    version plays on."""
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 500:
        raise Invalid(N_("Give a reason for the rejection (up to 500 characters)."),
                      field="reason")
    item, d = _reviewable(s, actor, item_id, approving=False)
    judged = item.pending or item
    _transition(s, actor, judged, ContentStatus.rejected, (ContentStatus.submitted,),
                reason=reason, live=item if judged is not item else None, level=d.level)
    judged.reviewed_by, judged.reviewed_at, judged.reject_reason = actor.id, utcnow(), reason
    judged.review_stage = ""
    return item


def archive(s: Session, actor: Actor, item_id: int) -> ContentItem:
    item = get_item(s, actor, item_id)
    actor.require_role(*EDITORS, Role.reviewer)
    if item.community_id is None and not actor.is_street_admin:
        raise Forbidden(N_("Only street administrators can change street-wide objects."))
    if item.pending is not None:  # an edit of what is archived has nothing left to replace
        s.delete(item.pending)
        s.flush()
        s.expire(item, ["pending"])
    return _transition(s, actor, item, ContentStatus.archived,
                       tuple(st for st in ContentStatus if st != ContentStatus.archived))


def blob_for(s: Session, actor: Actor, item_id: int, sha: str) -> Blob:
    """A blob of an item the actor can see: its file, thumbnail or a rendition, or those
    of its pending edit (staff only: terminals fetch through their manifests)."""
    item = get_item(s, actor, item_id)
    allowed: set[str | None] = set()
    for it in (item, item.pending):
        if it is not None:
            allowed |= {it.blob_sha256, it.thumbnail_sha256}
            allowed |= {r.blob_sha256 for r in it.renditions}
    blob = s.get(Blob, sha) if sha in allowed else None
    if blob is None:
        raise NotFound(N_("No such %(what)s."), what="file")
    return blob
