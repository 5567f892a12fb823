"""/api/v1/receipts: did a change reach the screens (docs/receipts.md)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.api.auth import actor, blueprint
from server.api.schemas import Int
from server.db import db
from server.services import receipts as svc
from server.services.errors import N_, NotFound

blp = blueprint("api_receipts", "/receipts",
                "Publish receipts: every change that alters what screens play (an approval, a "
                "schedule, playlist, layout or screen-plan change, a content version swap) "
                "and, per screen it reaches, when the new manifest was acknowledged, when "
                "every file was cached and when the changed content first played. Street "
                "administrators see the street's; other staff their community's.")


class PublishReceiptQuery(Schema):
    limit = Int(minimum=1, maximum=200, load_default=50)
    offset = Int(minimum=0, load_default=0)


class PublishStagesOut(Schema):
    acknowledged = Int()
    ready = Int()
    played = Int(allow_none=True, metadata={"description": "null: the change plays nothing "
                                                           "new (a screen plan, say)"})


class PublishReceiptOut(Schema):
    id = Int()
    created_at = fields.String(metadata={"description": "ISO 8601, UTC"})
    action = fields.String()
    object_type = fields.String()
    object_id = Int(allow_none=True)
    label = fields.String()
    screens = Int(metadata={"description": "the screens it reaches (that you may see)"})
    stages = fields.Nested(PublishStagesOut)


class LaggardWhyOut(Schema):
    code = fields.String(validate=validate.OneOf(svc.WHY_CODES))
    since = fields.String(allow_none=True)
    percent = Int(allow_none=True)
    until = fields.String(allow_none=True, metadata={
        "description": "not_scheduled: the next hour the content is planned on the screen "
                       "(null: not in the plan written ahead, to the end of the next day)"})


class LaggardOut(Schema):
    terminal_id = Int()
    terminal = fields.String()
    building = fields.String()
    community = fields.String()
    acked_at = fields.String(allow_none=True)
    ready_at = fields.String(allow_none=True)
    played_at = fields.String(allow_none=True)
    why = fields.Nested(LaggardWhyOut)


class PublishReceiptSummaryOut(PublishReceiptOut):
    audit_entry_id = Int(allow_none=True)
    content_ids = fields.List(Int())
    done = fields.Boolean()
    laggards_total = Int()
    laggards = fields.List(fields.Nested(LaggardOut), metadata={
        "description": "the first 50 screens not done: offline first, then by stage"})


@blp.route("")
@blp.arguments(PublishReceiptQuery, location="query")
@blp.response(200, PublishReceiptOut(many=True))
def list_receipts(args):
    """The newest first."""
    return svc.recent(db, actor(), limit=args["limit"], offset=args["offset"])


@blp.route("/<int:receipt_id>")
@blp.response(200, PublishReceiptSummaryOut)
def get_receipt(receipt_id: int):
    """The stages counted, and why the first 50 screens not done are not."""
    out = svc.summary(db, actor(), receipt_id)
    if out is None:
        raise NotFound(N_("No such %(what)s."), what=N_("receipt"))
    return out
