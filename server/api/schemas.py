"""Request and response shapes. Unknown fields are refused (marshmallow's default).

Integers, instants and dates are bounded (server/inputs.py): out of range is a 422 here,
and the OpenAPI document carries the bounds.
"""

from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, fields, validate

from playlists.validation import PRIORITY_RANGE
from server.inputs import INT_MAX, INT_MIN, TIME_RANGE, in_time_range
from server.models import ColourMode, Role
from server.services.errors import N_
from server.services.reports import GROUPS, REGION_CHOICES
from server.services.schedules import MESSAGES
from server.services.tree import MAX_PIXELS_SIDE

Name = lambda n=120: fields.String(required=True, validate=validate.Length(1, n))  # noqa: E731


class Int(fields.Integer):
    """An integer a database column holds; narrower bounds may be given."""

    def __init__(self, *, minimum: int = INT_MIN, maximum: int = INT_MAX,
                 error: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, validate.Range(minimum, maximum, error=error))


def Id(**kwargs) -> Int:  # noqa: N802 - reads as a field type
    """A row's id: 1 to the largest the column holds."""
    return Int(minimum=1, **kwargs)


def _in_range(value) -> bool:
    if not in_time_range(value):
        raise validate.ValidationError(TIME_RANGE)
    return True


class Instant(fields.AwareDateTime):
    """An aware date-time in the years 2000-2099."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _in_range)


class Day(fields.Date):
    """A date in the years 2000-2099."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _in_range)


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={
        "description": "Stable, for programs: not_found, invalid, conflict, forbidden, ..."})
    message = fields.String(required=True, metadata={
        "description": "For people, in their language: what to change"})
    field = fields.String(metadata={"description": "The input the message is about"})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), metadata={
        "description": "Validation messages by input name"})
    sizes = fields.List(fields.String(), metadata={
        "description": "Screen sizes (\"WxH-mode\") a notice's text does not fit: send "
                       "them as `notice_excluded_sizes` to leave them out"})


class ErrorSchema(Schema):
    """Every error answer of the API: {"error": {"code", "message", ...}}."""

    error = fields.Nested(ErrorDetail, required=True)


class CommunitySchema(Schema):
    id = Int(dump_only=True)
    name = Name(80)


class BuildingSchema(Schema):
    id = Int(dump_only=True)
    community_id = Id(required=True, strict=True)
    name = Name()
    address = fields.String(load_default="", validate=validate.Length(max=200))
    terminal_count = fields.Function(lambda b: len(b.terminals), dump_only=True)


class BuildingPatchSchema(BuildingSchema):
    """Any subset of the building's fields."""


class BuildingQuery(Schema):
    community_id = Id()


class TerminalSchema(Schema):
    id = Int(dump_only=True)
    building_id = Id(required=True, strict=True)
    community_id = Id(dump_only=True)
    name = Name()
    location = fields.String(load_default="", validate=validate.Length(max=200))
    width = Int(required=True, strict=True,
                           validate=validate.Range(1, MAX_PIXELS_SIDE))
    height = Int(required=True, strict=True,
                            validate=validate.Range(1, MAX_PIXELS_SIDE))
    colour_mode = fields.String(load_default="full",
                                validate=validate.OneOf([m.value for m in ColourMode]))
    tags = fields.List(fields.String(validate=validate.Length(1, 40)),
                       load_default=list, validate=validate.Length(max=20))
    manifest_version = Int(dump_only=True)
    paired = fields.Function(lambda t: t.credential_hash is not None, dump_only=True)
    revoked_at = Instant(dump_only=True, allow_none=True)


class TerminalPatchSchema(TerminalSchema):
    """Any subset of the terminal's fields."""


class TerminalQuery(Schema):
    community_id = Id()
    building_id = Id()


class UserSchema(Schema):
    id = Int(dump_only=True)
    username = fields.String(required=True, validate=validate.Length(3, 40))
    display_name = fields.String(load_default="", validate=validate.Length(max=80))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    community_id = Id(allow_none=True, load_default=None, strict=True)
    active = fields.Boolean(load_default=True)
    password = fields.String(load_only=True, required=True, validate=validate.Length(10, 200))
    may_broadcast = fields.Boolean(load_default=False, metadata={
        "description": "May send emergency broadcasts (granted to a reviewer or editor; "
                       "administrators always may, viewers never)."})


class UserPatchSchema(Schema):
    display_name = fields.String(validate=validate.Length(max=80))
    role = fields.String(validate=validate.OneOf([r.value for r in Role]))
    community_id = Id(allow_none=True, strict=True)
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(10, 200))
    may_broadcast = fields.Boolean()


class TopicSchema(Schema):
    id = Int(dump_only=True)
    name = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)


class RenditionSchema(Schema):
    width = Int()
    height = Int()
    colour_mode = fields.Function(lambda r: r.colour_mode.value)
    page = Int()
    mode = fields.String()
    scroll_speed_px_s = fields.Float(allow_none=True)
    font_px = Int()
    sha256 = fields.String(attribute="blob_sha256")


# A screen size a notice leaves out (content_item.notice_excluded_sizes).
SizeKey = lambda **kw: fields.List(fields.String(validate=validate.Regexp(  # noqa: E731
    r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}-(full|mono)$",
    error=N_("A screen size is written width x height and colour mode, as 128x64-mono or "
             "192x96-full."))), validate=validate.Length(max=50), metadata={
    "description": "Screen sizes (\"WxH-mode\", e.g. \"128x64-mono\") the notice leaves out "
                   "because its text cannot be shown legibly there; their screens never "
                   "show it. Only sizes of the notice's screens. When the text does not fit "
                   "some sizes, the 422 answer lists them in `error.sizes`: send them here to "
                   "leave them out."}, **kw)


class _ContentMeta(Schema):
    title = fields.String(validate=validate.Length(1, 120))
    topic_id = Id(strict=True)
    community_id = Id(allow_none=True, strict=True)
    valid_from = Instant(allow_none=True)
    valid_until = Instant(allow_none=True)
    duration_s = fields.Float(validate=validate.Range(1, 3600))
    tags = fields.List(fields.String(validate=validate.Length(1, 40)),
                       validate=validate.Length(max=20))


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


class ContentSchema(_ContentMeta):
    id = Int(dump_only=True)
    kind = fields.Function(lambda c: c.kind.value, dump_only=True)
    status = fields.Function(lambda c: c.status.value, dump_only=True)
    revision = Int(dump_only=True)
    sha256 = fields.String(attribute="blob_sha256", dump_only=True, allow_none=True)
    thumbnail_sha256 = fields.String(dump_only=True, allow_none=True)
    mime = fields.String(dump_only=True)
    width = Int(dump_only=True, allow_none=True)
    height = Int(dump_only=True, allow_none=True)
    media_duration_s = fields.Float(dump_only=True, allow_none=True)
    play_seconds = fields.Float(dump_only=True)
    codec = fields.String(dump_only=True, allow_none=True)
    original_name = fields.String(dump_only=True)
    notice_title = fields.String()
    notice_body = fields.String()
    notice_footer = fields.String()
    notice_template = fields.String()
    notice_excluded_sizes = SizeKey(dump_default=[])
    reject_reason = fields.String(dump_only=True)
    renditions = fields.List(fields.Nested(RenditionSchema), dump_only=True)
    # An edit of approved content waiting for review (or rejected); the item plays on.
    pending = fields.Function(lambda c: c.pending and {
        "status": c.pending.status.value, "revision": c.pending.revision,
        "reject_reason": c.pending.reject_reason}, dump_only=True, allow_none=True)
    # Two-level review: marked for the street's approval too; when the community approved
    # the version under review (then the street's approval waits).
    street_review = fields.Boolean(dump_only=True)
    community_approved_at = fields.Function(lambda c: _iso(
        (c.pending or c).community_approved_at), dump_only=True, allow_none=True)
    # Screening: words found in its texts and in the text read from its image or video.
    screening = fields.Function(lambda c: (c.screening or {}).get("hits", []), dump_only=True)
    ocr_state = fields.String(dump_only=True)
    ocr_text = fields.String(dump_only=True)


class UploadArgs(_ContentMeta):
    """Metadata of a raw-body upload, in the query string."""

    title = fields.String(required=True, validate=validate.Length(1, 120))
    topic_id = Id(required=True)
    community_id = Id(allow_none=True)
    filename = fields.String(load_default="", validate=validate.Length(max=1000))
    tags = fields.String(load_default="", validate=validate.Length(max=400))


class NoticeCreateSchema(_ContentMeta):
    title = fields.String(required=True, validate=validate.Length(1, 120))
    topic_id = Id(required=True, strict=True)
    notice_title = fields.String(load_default="", validate=validate.Length(max=80))
    notice_body = fields.String(required=True, validate=validate.Length(max=2000))
    notice_footer = fields.String(load_default="", validate=validate.Length(max=80))
    notice_template = fields.String(load_default="notice")
    notice_excluded_sizes = SizeKey(load_default=list)


class ContentPatchSchema(_ContentMeta):
    notice_title = fields.String(validate=validate.Length(max=80))
    notice_body = fields.String(validate=validate.Length(max=2000))
    notice_footer = fields.String(validate=validate.Length(max=80))
    notice_template = fields.String()
    notice_excluded_sizes = SizeKey()


class ContentQuery(Schema):
    status = fields.String(validate=validate.OneOf(
        ["draft", "submitted", "approved", "rejected", "archived"]))
    topic_id = Id()
    kind = fields.String(validate=validate.OneOf(["image", "video", "notice"]))
    q = fields.String(validate=validate.Length(max=60))


class RejectSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class EntrySchema(Schema):
    content_id = Id(required=True, strict=True)
    duration_s = fields.Float(allow_none=True, load_default=None)
    valid_from = Instant(allow_none=True, load_default=None)
    valid_until = Instant(allow_none=True, load_default=None)


class PlaylistSchema(Schema):
    id = Int(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    community_id = Id(allow_none=True, load_default=None, strict=True)
    entries = fields.List(fields.Nested(EntrySchema), load_default=list,
                          validate=validate.Length(max=500))


class PlaylistPatchSchema(Schema):
    name = fields.String(validate=validate.Length(1, 120))
    entries = fields.List(fields.Nested(EntrySchema), validate=validate.Length(max=500))


class TargetSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(
        ["street", "community", "building", "terminal", "tag"]))
    ref_id = Id(allow_none=True, load_default=None, strict=True)
    tag = fields.String(allow_none=True, load_default=None, validate=validate.Length(1, 40))


class _Recurrence(Schema):
    start_date = Day(allow_none=True)
    end_date = Day(allow_none=True)
    weekdays = fields.List(Int(strict=True, minimum=0, maximum=6,
                                 error=MESSAGES["weekday_out_of_range"]),
                             validate=validate.Length(max=7))
    windows = fields.List(fields.List(fields.String(validate=validate.Length(4, 8)),
                                      validate=validate.Length(2, 2)),
                          validate=validate.Length(max=24))
    valid_from = Instant(allow_none=True)
    valid_until = Instant(allow_none=True)
    priority = Int(strict=True, minimum=PRIORITY_RANGE[0], maximum=PRIORITY_RANGE[1],
                   error=MESSAGES["priority_out_of_range"])


class ScheduleSchema(_Recurrence):
    id = Int(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    playlist_id = Id(allow_none=True, load_default=None, strict=True, metadata={
        "description": "The playlist it plays; give this or layout_id."})
    layout_id = Id(allow_none=True, load_default=None, strict=True, metadata={
        "description": "The layout it shows (kind does not apply); give this or "
                       "playlist_id."})
    kind = fields.String(load_default="normal")
    community_id = Id(allow_none=True, load_default=None, strict=True)
    active = fields.Boolean(dump_only=True)
    targets = fields.List(fields.Nested(TargetSchema), required=True,
                          validate=validate.Length(max=500))


class SchedulePatchSchema(_Recurrence):
    name = fields.String(validate=validate.Length(1, 120))
    playlist_id = Id(strict=True, metadata={"description": "Play this playlist (instead of "
                                                           "a layout)."})
    layout_id = Id(strict=True, metadata={"description": "Show this layout (instead of a "
                                                         "playlist)."})
    kind = fields.String()
    active = fields.Boolean()
    targets = fields.List(fields.Nested(TargetSchema), validate=validate.Length(max=500))


class ScreenPlanSchema(_Recurrence):
    id = Int(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    screen_on = fields.Boolean(load_default=True)
    brightness = Int(load_default=100, strict=True, minimum=0, maximum=100,
                     error=MESSAGES["brightness_out_of_range"])
    community_id = Id(allow_none=True, load_default=None, strict=True)
    targets = fields.List(fields.Nested(TargetSchema), required=True,
                          validate=validate.Length(max=500))


class TimelineQuery(Schema):
    start = Instant(required=True)
    end = Instant(required=True)


class ResolveQuery(Schema):
    at = Instant(required=True)


class PairSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(4, 12))


class CommandSchema(Schema):
    kind = fields.String(required=True)
    args = fields.Dict(load_default=dict)


class GroupCommandSchema(Schema):
    terminal_ids = fields.List(Id(strict=True), required=True)
    kind = fields.String(required=True)
    args = fields.Dict(load_default=dict)


class CommandOut(Schema):
    id = Int()
    terminal_id = Id()
    kind = fields.String()
    args = fields.Dict()
    created_at = fields.AwareDateTime()
    answered_at = fields.AwareDateTime(allow_none=True)
    ok = fields.Boolean(allow_none=True)
    result = fields.Dict(allow_none=True)


class TerminalStateSchema(Schema):
    terminal_id = Id()
    online = fields.Boolean()
    last_seen_at = fields.AwareDateTime(allow_none=True)
    manifest_version = Int()
    playing_content_id = Id(allow_none=True)
    playing_since = fields.AwareDateTime(allow_none=True)
    screen_on = fields.Boolean()
    brightness = Int()
    cache_ready = fields.Boolean()
    clock_offset_s = fields.Float()
    player_version = fields.String()


class ReportQuery(Schema):
    from_ = Day(data_key="from")
    to = Day()
    by = fields.String(load_default="topic", validate=validate.OneOf(GROUPS))
    region = fields.String(load_default="main", validate=validate.OneOf(REGION_CHOICES),
                           metadata={"description": "The layout region the figures count "
                                     "(all: every region); by=region lists each region."})
    topic_id = Id()
    content_id = Id()
    terminal_id = Id()
    building_id = Id()
    community_id = Id()


class BroadcastSchema(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(["full", "ticker"]))
    targets = fields.List(fields.Nested(TargetSchema), required=True,
                          validate=validate.Length(1, 500))
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    text = fields.String(load_default="", validate=validate.Length(max=500))
    title = fields.String(load_default="", validate=validate.Length(max=80))
    content_id = Id(allow_none=True, load_default=None, strict=True)
    template_id = Id(allow_none=True, load_default=None, strict=True)
    ends_at = Instant(allow_none=True, load_default=None)
    community_id = Id(allow_none=True, load_default=None, strict=True)
    expect_terminals = Int(load_default=None, allow_none=True, metadata={
        "description": "The number of screens the sender confirmed (from /broadcasts/preview): "
                       "if the targets now reach a different number, nothing is sent (422)."})


class SizePreviewOut(Schema):
    width = Int()
    height = Int()
    colour_mode = fields.String()
    terminals = Int(metadata={"description": "target screens of this size and colour mode"})
    png_base64 = fields.String(allow_none=True, metadata={
        "description": "typed text rendered at true pixels: what these screens show (the "
                       "first page only: a broadcast shows one page); null for a ticker"})
    pages = Int(metadata={"description": "pages the text needs here; more than 1: shorten it"})
    scroll = fields.Boolean(metadata={"description": "the text scrolls across the screen"})
    blob_sha256 = fields.String(allow_none=True, metadata={
        "description": "the file these screens show of a template or approved item"})
    error = fields.String(allow_none=True, metadata={
        "description": "why these screens cannot show the text (sending would be refused)"})


class BroadcastPreviewOut(Schema):
    terminals = Int(metadata={"description": "screens the broadcast would reach"})
    communities = fields.List(fields.String())
    sizes = fields.List(fields.Nested(SizePreviewOut))


class DeliveryOut(Schema):
    terminal_id = Id()
    name = fields.String()
    shown_at = fields.AwareDateTime(allow_none=True)
    thumbnail = fields.Boolean()
    problem = fields.String(allow_none=True)
    since = fields.AwareDateTime(allow_none=True)


class BroadcastOut(Schema):
    id = Int()
    state = fields.String()
    mode = fields.String()
    title = fields.String()
    reason = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    # Two people during an escalated-review period: who sent it, who approved or refused it.
    created_by = Int(allow_none=True)
    approved_by = Int(allow_none=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    shown = Int()
    total = Int()
    counts = fields.Dict(keys=fields.String(), values=Int())
    terminals = fields.List(fields.Nested(DeliveryOut))


class AlertTemplateSchema(Schema):
    id = Int(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 40))
    content_id = Id(required=True, strict=True)
    community_id = Id(allow_none=True, load_default=None, strict=True)


# --- answers built as dicts in the views; declared so the document says what they hold ---


class TargetOut(Schema):
    kind = fields.String(required=True)
    ref_id = Int(required=True, allow_none=True)
    tag = fields.String(required=True, allow_none=True)


class EntryOut(Schema):
    content_id = Int(required=True)
    duration_s = fields.Float(required=True, allow_none=True)
    valid_from = fields.AwareDateTime(required=True, allow_none=True)
    valid_until = fields.AwareDateTime(required=True, allow_none=True)


class PlaylistOut(Schema):
    id = Int(required=True)
    name = fields.String(required=True)
    community_id = Int(required=True, allow_none=True)
    entries = fields.List(fields.Nested(EntryOut), required=True)


Windows = lambda: fields.List(fields.List(fields.String()), required=True)  # noqa: E731


class ScheduleOut(Schema):
    id = Int(required=True)
    name = fields.String(required=True)
    playlist_id = Int(required=True, allow_none=True)
    layout_id = Int(required=True, allow_none=True)
    kind = fields.String(required=True)
    priority = Int(required=True)
    active = fields.Boolean(required=True)
    community_id = Int(required=True, allow_none=True)
    start_date = fields.Date(required=True, allow_none=True)
    end_date = fields.Date(required=True, allow_none=True)
    weekdays = fields.List(Int(), required=True)
    windows = Windows()
    targets = fields.List(fields.Nested(TargetOut), required=True)


class ScreenPlanOut(Schema):
    id = Int(required=True)
    name = fields.String(required=True)
    screen_on = fields.Boolean(required=True)
    brightness = Int(required=True)
    windows = Windows()
    priority = Int(required=True)


class ScreenPlanCreated(Schema):
    id = Int(required=True)
    name = fields.String(required=True)


class SegmentOut(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    schedule_id = Int(required=True, allow_none=True)
    kind = fields.String(required=True)
    content_id = Int(required=True, allow_none=True)
    sha256 = fields.String(required=True, allow_none=True)
    topic_id = Int(required=True, allow_none=True)


class TimelineOut(Schema):
    terminal_id = Int(required=True)
    segments = fields.List(fields.Nested(SegmentOut), required=True)


class ResolveOut(Schema):
    terminal_id = Int(required=True)
    kind = fields.String(required=True)
    schedule_id = Int(required=True, allow_none=True)
    content_id = Int(required=True, allow_none=True)
    sha256 = fields.String(required=True, allow_none=True)
    offset_s = fields.Float(required=True)
    item_start = fields.AwareDateTime(required=True, allow_none=True)
    item_end = fields.AwareDateTime(required=True, allow_none=True)
    valid_until = fields.AwareDateTime(required=True)
    screen_on = fields.Boolean(required=True)
    brightness = Int(required=True)


class HeadlineOut(Schema):
    topics = Int(required=True)
    hours = fields.Float(required=True)
    seconds = fields.Float(required=True)
    plays = Int(required=True)
    terminals_reporting = Int(required=True)


class ReportRowOut(Schema):
    key = fields.Raw(required=True, metadata={"description": "The group's id, date or hour"})
    label = fields.String(required=True)
    seconds = fields.Float(required=True)
    hours = fields.Float(required=True)
    plays = Int(required=True)


class PlaybackOut(Schema):
    from_ = fields.Date(data_key="from", attribute="from", required=True)
    to = fields.Date(required=True)
    by = fields.String(required=True)
    region = fields.String(required=True)
    headline = fields.Nested(HeadlineOut, required=True)
    rows = fields.List(fields.Nested(ReportRowOut), required=True)


# --- layouts ------------------------------------------------------------------------------


class RegionSchema(Schema):
    """One region of a layout (playlists/layouts.py): a rectangle of the canvas and what it
    shows. Fields a role does not have are ignored."""

    key = fields.String(required=True, validate=validate.Length(1, 20),
                        metadata={"description": "a-z, 0-9 and _, starting with a letter"})
    role = fields.String(required=True, validate=validate.OneOf(
        ["main", "ticker", "clock", "image"]))
    x = Int(required=True, strict=True, minimum=0, maximum=8192)
    y = Int(required=True, strict=True, minimum=0, maximum=8192)
    w = Int(required=True, strict=True, minimum=1, maximum=8192)
    h = Int(required=True, strict=True, minimum=1, maximum=8192)
    fg = fields.String(load_default="#ffd200", validate=validate.Length(7, 7),
                       metadata={"description": "#rrggbb"})
    bg = fields.String(load_default="#000000", validate=validate.Length(7, 7))
    content_ids = fields.List(Id(strict=True), validate=validate.Length(max=50), metadata={
        "description": "ticker: its lines, text notices of the layout's scope, in order"})
    speed_cps = fields.Float(validate=validate.Range(0.5, 20.0), metadata={
        "description": "ticker: characters a second"})
    direction = fields.String(validate=validate.OneOf(["left", "right"]))
    clock_format = fields.String(validate=validate.OneOf(["datetime", "date", "time"]))
    content_id = Id(allow_none=True, strict=True, metadata={
        "description": "image: the image it shows"})


class LayoutSchema(Schema):
    name = Name()
    community_id = Id(allow_none=True, load_default=None, strict=True, metadata={
        "description": "Its community; none: street-wide (street admins)."})
    overlay = fields.Boolean(load_default=False, metadata={
        "description": "Drawn over whatever plays (no main region)."})
    width = Int(required=True, strict=True, minimum=16, maximum=8192,
                metadata={"description": "The reference canvas, pixels."})
    height = Int(required=True, strict=True, minimum=16, maximum=8192)
    regions = fields.List(fields.Nested(RegionSchema), required=True,
                          validate=validate.Length(max=32))


class LayoutPatchSchema(Schema):
    name = fields.String(validate=validate.Length(1, 120))
    overlay = fields.Boolean()
    width = Int(strict=True, minimum=16, maximum=8192)
    height = Int(strict=True, minimum=16, maximum=8192)
    regions = fields.List(fields.Nested(RegionSchema), validate=validate.Length(max=32))


class RegionOut(Schema):
    key = fields.String(required=True)
    role = fields.String(required=True)
    x = Int(required=True)
    y = Int(required=True)
    w = Int(required=True)
    h = Int(required=True)
    fg = fields.String(required=True)
    bg = fields.String(required=True)
    content_ids = fields.List(Int())
    speed_cps = fields.Float()
    direction = fields.String()
    clock_format = fields.String()
    content_id = Int(allow_none=True)


class LayoutOut(Schema):
    id = Int(required=True)
    name = fields.String(required=True)
    community_id = Int(required=True, allow_none=True)
    overlay = fields.Boolean(required=True)
    width = Int(required=True)
    height = Int(required=True)
    regions = fields.List(fields.Nested(RegionOut), required=True)
    updated_at = fields.AwareDateTime(required=True)


class FitWarningOut(Schema):
    code = fields.String(required=True, metadata={
        "description": "grown, short_format or dropped"})
    region = fields.String(required=True)
    message = fields.String(required=True)


class LayoutFitOut(Schema):
    width = Int(required=True)
    height = Int(required=True)
    colour_mode = fields.String(required=True)
    regions = fields.List(fields.Nested(RegionOut), required=True, metadata={
        "description": "The regions in the panel's pixels (contents as ids)."})
    warnings = fields.List(fields.Nested(FitWarningOut), required=True)
