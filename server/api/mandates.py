"""/api/v1/mandates: time-share mandates (services/mandates.py), with their shapes."""

from __future__ import annotations

from dataclasses import replace

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from server.api.auth import actor, blueprint
from server.api.schemas import Day, Id, Int, TargetOut, TargetSchema
from server.db import db
from server.services import mandates as svc
from server.services.schedules import TargetIn

blp = blueprint("api_mandates", "/mandates", "Mandates: required shares of screen time")


class _MandateFields(Schema):
    authority = fields.String(validate=validate.Length(max=200))
    topic_id = Id(allow_none=True, strict=True, metadata={
        "description": "Items of this topic count towards the share."})
    content_ids = fields.List(Id(strict=True), validate=validate.Length(max=svc.MAX_ITEMS),
                              metadata={"description": "These items count too."})
    share_kind = fields.String(validate=validate.OneOf(svc.SHARE_KINDS), metadata={
        "description": "minutes: in every hour of the window; percent: of the lit time."})
    share = fields.Float(allow_nan=False)
    window_start = fields.String(validate=validate.Length(4, 5), metadata={
        "description": "HH:MM, local time; the window is [start, end), crossing midnight "
                       "when end <= start."})
    window_end = fields.String(validate=validate.Length(4, 5))
    start_date = Day()
    end_date = Day()
    enforce = fields.Boolean(metadata={
        "description": "Insert its items into each hour as needed (else checked only)."})
    active = fields.Boolean()
    targets = fields.List(fields.Nested(TargetSchema), validate=validate.Length(max=500),
                          metadata={"description": "street, community or building targets."})


class MandateSchema(_MandateFields):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    community_id = Id(allow_none=True, load_default=None, strict=True, metadata={
        "description": "The owner; none: street-wide (street administrators)."})
    share_kind = fields.String(required=True, validate=validate.OneOf(svc.SHARE_KINDS))
    share = fields.Float(required=True, allow_nan=False)
    start_date = Day(required=True)
    end_date = Day(required=True)
    targets = fields.List(fields.Nested(TargetSchema), required=True,
                          validate=validate.Length(max=500))


class MandatePatchSchema(_MandateFields):
    name = fields.String(validate=validate.Length(1, 120))


class MandateOut(Schema):
    id = Int(required=True)
    name = fields.String(required=True)
    authority = fields.String(required=True)
    community_id = Int(required=True, allow_none=True)
    topic_id = Int(required=True, allow_none=True)
    content_ids = fields.List(Int(), required=True)
    share_kind = fields.String(required=True)
    share = fields.Float(required=True)
    window_start = fields.String(required=True)
    window_end = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    enforce = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    targets = fields.List(fields.Nested(TargetOut), required=True)


def _dump(m) -> dict:
    return {"id": m.id, "name": m.name, "authority": m.authority,
            "community_id": m.community_id, "topic_id": m.topic_id,
            "content_ids": list(m.content_ids or []), "share_kind": m.share_kind,
            "share": m.share, "window_start": m.window_start, "window_end": m.window_end,
            "start_date": m.start_date, "end_date": m.end_date, "enforce": m.enforce,
            "active": m.active,
            "targets": [{"kind": t.kind.value, "ref_id": t.ref_id, "tag": t.tag}
                        for t in m.targets]}


def _given(data: dict) -> dict:
    """The posted fields as MandateIn's (targets as TargetIn)."""
    out = dict(data)
    if "targets" in out:
        out["targets"] = [TargetIn(**t) for t in out["targets"]]
    return out


@blp.route("")
class Mandates(MethodView):
    @blp.response(200, MandateOut(many=True))
    def get(self):
        return [_dump(m) for m in svc.list_for(db, actor())]

    @blp.arguments(MandateSchema)
    @blp.response(201, MandateOut)
    @blp.refuses(404)
    def post(self, data):
        m = svc.create(db, actor(), svc.MandateIn(**_given(data)))
        db.commit()
        return _dump(m)


@blp.route("/<int:mandate_id>")
class MandateItem(MethodView):
    @blp.response(200, MandateOut)
    def get(self, mandate_id: int):
        return _dump(svc.get(db, actor(), mandate_id))

    @blp.arguments(MandatePatchSchema)
    @blp.response(200, MandateOut)
    def patch(self, data, mandate_id: int):
        """Only the fields given change."""
        current = svc.editable(db, actor(), mandate_id)
        m = svc.update(db, actor(), mandate_id, replace(svc.of(current), **_given(data)))
        db.commit()
        return _dump(m)

    @blp.response(204)
    def delete(self, mandate_id: int):
        svc.delete(db, actor(), mandate_id)
        db.commit()
