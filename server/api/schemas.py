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
