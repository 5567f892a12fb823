"""Request and response shapes. Unknown fields are refused (marshmallow's default)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.models import ColourMode, Role
from server.services.tree import MAX_PIXELS_SIDE

Name = lambda n=120: fields.String(required=True, validate=validate.Length(1, n))  # noqa: E731


class CommunitySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Name(80)


class BuildingSchema(Schema):
    id = fields.Integer(dump_only=True)
    community_id = fields.Integer(required=True, strict=True)
    name = Name()
    address = fields.String(load_default="", validate=validate.Length(max=200))
    terminal_count = fields.Function(lambda b: len(b.terminals), dump_only=True)


class BuildingPatchSchema(BuildingSchema):
    """Any subset of the building's fields."""


class BuildingQuery(Schema):
    community_id = fields.Integer()


class TerminalSchema(Schema):
    id = fields.Integer(dump_only=True)
    building_id = fields.Integer(required=True, strict=True)
    community_id = fields.Integer(dump_only=True)
    name = Name()
    location = fields.String(load_default="", validate=validate.Length(max=200))
    width = fields.Integer(required=True, strict=True,
                           validate=validate.Range(1, MAX_PIXELS_SIDE))
    height = fields.Integer(required=True, strict=True,
                            validate=validate.Range(1, MAX_PIXELS_SIDE))
    colour_mode = fields.String(load_default="full",
                                validate=validate.OneOf([m.value for m in ColourMode]))
    tags = fields.List(fields.String(validate=validate.Length(1, 40)),
                       load_default=list, validate=validate.Length(max=20))
    manifest_version = fields.Integer(dump_only=True)
    paired = fields.Function(lambda t: t.credential_hash is not None, dump_only=True)
    revoked_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class TerminalPatchSchema(TerminalSchema):
    """Any subset of the terminal's fields."""


class TerminalQuery(Schema):
    community_id = fields.Integer()
    building_id = fields.Integer()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=validate.Length(3, 40))
    display_name = fields.String(load_default="", validate=validate.Length(max=80))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    community_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    active = fields.Boolean(load_default=True)
    password = fields.String(load_only=True, required=True, validate=validate.Length(10, 200))


class UserPatchSchema(Schema):
    display_name = fields.String(validate=validate.Length(max=80))
    role = fields.String(validate=validate.OneOf([r.value for r in Role]))
    community_id = fields.Integer(allow_none=True, strict=True)
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(10, 200))


class TopicSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)


class RenditionSchema(Schema):
    width = fields.Integer()
    height = fields.Integer()
    colour_mode = fields.Function(lambda r: r.colour_mode.value)
    page = fields.Integer()
    mode = fields.String()
    scroll_speed_px_s = fields.Float(allow_none=True)
    font_px = fields.Integer()
    sha256 = fields.String(attribute="blob_sha256")


class _ContentMeta(Schema):
    title = fields.String(validate=validate.Length(1, 120))
    topic_id = fields.Integer(strict=True)
    community_id = fields.Integer(allow_none=True, strict=True)
    valid_from = fields.AwareDateTime(allow_none=True)
    valid_until = fields.AwareDateTime(allow_none=True)
    duration_s = fields.Float(validate=validate.Range(1, 3600))
    tags = fields.List(fields.String(validate=validate.Length(1, 40)),
                       validate=validate.Length(max=20))


class ContentSchema(_ContentMeta):
    id = fields.Integer(dump_only=True)
    kind = fields.Function(lambda c: c.kind.value, dump_only=True)
    status = fields.Function(lambda c: c.status.value, dump_only=True)
    revision = fields.Integer(dump_only=True)
    sha256 = fields.String(attribute="blob_sha256", dump_only=True)
    thumbnail_sha256 = fields.String(dump_only=True)
    mime = fields.String(dump_only=True)
    width = fields.Integer(dump_only=True)
    height = fields.Integer(dump_only=True)
    media_duration_s = fields.Float(dump_only=True)
    play_seconds = fields.Float(dump_only=True)
    codec = fields.String(dump_only=True)
    original_name = fields.String(dump_only=True)
    notice_title = fields.String()
    notice_body = fields.String()
    notice_footer = fields.String()
    notice_template = fields.String()
    reject_reason = fields.String(dump_only=True)
    renditions = fields.List(fields.Nested(RenditionSchema), dump_only=True)


class UploadArgs(_ContentMeta):
    """Metadata of a raw-body upload, in the query string."""

    title = fields.String(required=True, validate=validate.Length(1, 120))
    topic_id = fields.Integer(required=True)
    community_id = fields.Integer(allow_none=True)
    filename = fields.String(load_default="", validate=validate.Length(max=1000))
    tags = fields.String(load_default="", validate=validate.Length(max=400))


class NoticeCreateSchema(_ContentMeta):
    title = fields.String(required=True, validate=validate.Length(1, 120))
    topic_id = fields.Integer(required=True, strict=True)
    notice_title = fields.String(load_default="", validate=validate.Length(max=80))
    notice_body = fields.String(required=True, validate=validate.Length(max=2000))
    notice_footer = fields.String(load_default="", validate=validate.Length(max=80))
    notice_template = fields.String(load_default="notice")


class ContentPatchSchema(_ContentMeta):
    notice_title = fields.String(validate=validate.Length(max=80))
    notice_body = fields.String(validate=validate.Length(max=2000))
    notice_footer = fields.String(validate=validate.Length(max=80))
    notice_template = fields.String()


class ContentQuery(Schema):
    status = fields.String(validate=validate.OneOf(
        ["draft", "submitted", "approved", "rejected", "archived"]))
    topic_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(["image", "video", "notice"]))
    q = fields.String(validate=validate.Length(max=60))


class RejectSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class EntrySchema(Schema):
    content_id = fields.Integer(required=True, strict=True)
    duration_s = fields.Float(allow_none=True, load_default=None)
    valid_from = fields.AwareDateTime(allow_none=True, load_default=None)
    valid_until = fields.AwareDateTime(allow_none=True, load_default=None)


class PlaylistSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    community_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    entries = fields.List(fields.Nested(EntrySchema), load_default=list,
                          validate=validate.Length(max=500))


class PlaylistPatchSchema(Schema):
    name = fields.String(validate=validate.Length(1, 120))
    entries = fields.List(fields.Nested(EntrySchema), validate=validate.Length(max=500))


class TargetSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(
        ["street", "community", "building", "terminal", "tag"]))
    ref_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    tag = fields.String(allow_none=True, load_default=None, validate=validate.Length(1, 40))


class _Recurrence(Schema):
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    weekdays = fields.List(fields.Integer(strict=True), validate=validate.Length(max=7))
    windows = fields.List(fields.List(fields.String(validate=validate.Length(4, 8)),
                                      validate=validate.Length(2, 2)),
                          validate=validate.Length(max=24))
    valid_from = fields.AwareDateTime(allow_none=True)
    valid_until = fields.AwareDateTime(allow_none=True)
    priority = fields.Integer(strict=True)


class ScheduleSchema(_Recurrence):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    playlist_id = fields.Integer(required=True, strict=True)
    kind = fields.String(load_default="normal")
    community_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    active = fields.Boolean(dump_only=True)
    targets = fields.List(fields.Nested(TargetSchema), required=True,
                          validate=validate.Length(max=500))


class SchedulePatchSchema(_Recurrence):
    name = fields.String(validate=validate.Length(1, 120))
    playlist_id = fields.Integer(strict=True)
    kind = fields.String()
    active = fields.Boolean()
    targets = fields.List(fields.Nested(TargetSchema), validate=validate.Length(max=500))


class ScreenPlanSchema(_Recurrence):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    screen_on = fields.Boolean(load_default=True)
    brightness = fields.Integer(load_default=100, strict=True)
    community_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    targets = fields.List(fields.Nested(TargetSchema), required=True,
                          validate=validate.Length(max=500))


class TimelineQuery(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)


class ResolveQuery(Schema):
    at = fields.AwareDateTime(required=True)


class PairSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(4, 12))


class CommandSchema(Schema):
    kind = fields.String(required=True)
    args = fields.Dict(load_default=dict)


class GroupCommandSchema(Schema):
    terminal_ids = fields.List(fields.Integer(strict=True), required=True)
    kind = fields.String(required=True)
    args = fields.Dict(load_default=dict)


class CommandOut(Schema):
    id = fields.Integer()
    terminal_id = fields.Integer()
    kind = fields.String()
    args = fields.Dict()
    created_at = fields.AwareDateTime()
    answered_at = fields.AwareDateTime(allow_none=True)
    ok = fields.Boolean(allow_none=True)
    result = fields.Dict(allow_none=True)


class TerminalStateSchema(Schema):
    terminal_id = fields.Integer()
    online = fields.Boolean()
    last_seen_at = fields.AwareDateTime(allow_none=True)
    manifest_version = fields.Integer()
    playing_content_id = fields.Integer(allow_none=True)
    playing_since = fields.AwareDateTime(allow_none=True)
    screen_on = fields.Boolean()
    brightness = fields.Integer()
    cache_ready = fields.Boolean()
    clock_offset_s = fields.Float()
    player_version = fields.String()


class ReportQuery(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    by = fields.String(load_default="topic")
    topic_id = fields.Integer()
    content_id = fields.Integer()
    terminal_id = fields.Integer()
    building_id = fields.Integer()
    community_id = fields.Integer()


class BroadcastSchema(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(["full", "ticker"]))
    targets = fields.List(fields.Nested(TargetSchema), required=True,
                          validate=validate.Length(1, 500))
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    text = fields.String(load_default="", validate=validate.Length(max=500))
    title = fields.String(load_default="", validate=validate.Length(max=80))
    content_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    template_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    ends_at = fields.AwareDateTime(allow_none=True, load_default=None)
    community_id = fields.Integer(allow_none=True, load_default=None, strict=True)


class DeliveryOut(Schema):
    terminal_id = fields.Integer()
    name = fields.String()
    shown_at = fields.AwareDateTime(allow_none=True)
    thumbnail = fields.Boolean()
    problem = fields.String(allow_none=True)
    since = fields.AwareDateTime(allow_none=True)


class BroadcastOut(Schema):
    id = fields.Integer()
    state = fields.String()
    mode = fields.String()
    title = fields.String()
    reason = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    shown = fields.Integer()
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    terminals = fields.List(fields.Nested(DeliveryOut))


class AlertTemplateSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, 40))
    content_id = fields.Integer(required=True, strict=True)
    community_id = fields.Integer(allow_none=True, load_default=None, strict=True)
