"""Request and answer shapes of the early-warning API (server/api/warnings.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.api.schemas import Id, Int
from server.cap.signals import EVENTS, LEVELS
from server.services.warnings import reading
from server.services.warnings import sources as svc

Instant = fields.AwareDateTime


class WebhookOut(Schema):
    outcome = fields.String(required=True, metadata={
        "description": "accepted (stored and decided) or duplicate (this sender's identifier "
                       "was received before: nothing changed)"})
    message_id = Int(allow_none=True, metadata={"description": "the stored message"})
    intake_id = Int(metadata={"description": "the arrival in the intake log"})
    state = fields.String(allow_none=True, metadata={
        "description": "what became of the message: sent, pending (waiting for staff "
                       "approval), ignored, ..."})
    reason = fields.String(metadata={"description": "in the request's language"})


class WarningQuery(Schema):
    state = fields.String(validate=validate.OneOf(reading.STATES))
    limit = Int(minimum=1, maximum=reading.LIST_LIMIT, load_default=50)


class WhyOut(Schema):
    by = fields.String(metadata={"description": "geocode, polygon or circle"})
    code = fields.String(allow_none=True)
    unit = fields.String(metadata={"description": "street, community or building"})
    name = fields.String()
    area = fields.String(metadata={"description": "the message's areaDesc"})


class MatchedOut(Schema):
    terminal_id = Id()
    terminal = fields.String(allow_none=True)
    building_id = Id()
    building = fields.String(allow_none=True)
    community_id = Id()
    community = fields.String(allow_none=True)
    why = fields.Nested(WhyOut)


class WarningOut(Schema):
    id = Id()
    source_id = Id()
    received_at = Instant()
    received_via = fields.String()
    identifier = fields.String()
    sender = fields.String()
    sender_name = fields.String()
    sent = Instant()
    status = fields.String()
    msg_type = fields.String()
    references = fields.List(fields.List(fields.String()), metadata={
        "description": "[sender, identifier, sent] of each message this one follows"})
    profile = fields.String(metadata={"description": "cap or gb (GB/T 35965.1)"})
    event = fields.String()
    event_text = fields.String()
    level = fields.String(allow_none=True, metadata={"description": "signal colour"})
    severity = fields.String()
    urgency = fields.String()
    certainty = fields.String()
    headline = fields.String()
    area_desc = fields.String()
    effective = Instant(allow_none=True)
    onset = Instant(allow_none=True)
    expires = Instant(allow_none=True)
    state = fields.String()
    state_reason = fields.String()
    decision = fields.String(allow_none=True)
    decided_at = Instant(allow_none=True)
    approve_deadline = Instant(allow_none=True)
    mode = fields.String()
    broadcast_id = Int(allow_none=True)
    matched_count = Int(metadata={"description": "matched screens (yours, for community staff)"})
    acknowledged = Int(metadata={"description": "of them, those that showed it"})


class WarningDetailOut(WarningOut):
    description = fields.String()
    instruction = fields.String()
    matched = fields.List(fields.Nested(MatchedOut))


class RejectIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 300))


class ReceiptMessageOut(Schema):
    id = Id()
    identifier = fields.String()
    sender = fields.String()
    sent = Instant()
    msg_type = fields.String()
    status = fields.String()
    event = fields.String()
    event_text = fields.String()
    level = fields.String(allow_none=True)
    severity = fields.String()
    headline = fields.String()
    area_desc = fields.String()
    received_at = Instant()
    received_via = fields.String()
    expires = Instant(allow_none=True)
    state = fields.String()
    state_reason = fields.String()
    decision = fields.String(allow_none=True)
    decided_at = Instant(allow_none=True)
    mode = fields.String()


class ReceiptBroadcastOut(Schema):
    id = Id()
    state = fields.String(metadata={"description": "active, ended or scheduled"})
    mode = fields.String()
    starts_at = Instant()
    ends_at = Instant(allow_none=True)
    ended_at = Instant(allow_none=True)


class ReceiptTerminalOut(Schema):
    terminal_id = Id()
    name = fields.String()
    building = fields.String()
    community = fields.String()
    community_id = Id()
    shown_at = Instant(allow_none=True, metadata={"description": "the screen's word"})
    acked_at = Instant(allow_none=True, metadata={"description": "when the server heard it"})
    seconds_to_show = fields.Float(allow_none=True, metadata={
        "description": "from the message's arrival to this screen showing it"})
    problem = fields.String(allow_none=True, metadata={
        "description": "why not shown yet, as far as known now: offline, screen_off, waiting"})
    since = Instant(allow_none=True, metadata={"description": "offline: last seen"})


class ReceiptOut(Schema):
    message = fields.Nested(ReceiptMessageOut)
    broadcast = fields.Nested(ReceiptBroadcastOut, allow_none=True)
    matched = Int()
    targeted = Int()
    acknowledged = Int()
    not_acknowledged = Int()
    counts = fields.Dict(keys=fields.String(), values=Int())
    seconds_to_show_p50 = fields.Float(allow_none=True)
    seconds_to_show_max = fields.Float(allow_none=True)
    complete = fields.Boolean(metadata={"description": "every targeted screen showed it"})
    at = Instant()
    terminals = fields.List(fields.Nested(ReceiptTerminalOut))


class RuleSchema(Schema):
    event = fields.String(load_default="", validate=validate.OneOf(["", *EVENTS]), metadata={
        "description": "warning type (server/cap/signals.py key); empty for any"})
    min_level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    action = fields.String(required=True, validate=validate.OneOf(svc.ACTIONS))
    mode = fields.String(load_default="full", validate=validate.OneOf(svc.MODES))
    timeout_s = Int(allow_none=True, load_default=None, minimum=svc.MIN_TIMEOUT_S,
                    maximum=svc.MAX_TIMEOUT_S, metadata={
                        "description": "approve only: sent anyway when it runs out"})


class RulesIn(Schema):
    rules = fields.List(fields.Nested(RuleSchema), required=True,
                        validate=validate.Length(max=svc.MAX_RULES))


class SourceIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 80))
    kind = fields.String(required=True, validate=validate.OneOf(svc.KINDS))
    url = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "description": "feed: the CAP/Atom index or CAP message to poll"})
    poll_seconds = Int(load_default=60, minimum=svc.MIN_POLL_S, maximum=svc.MAX_POLL_S)
    receipt_url = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "description": "where receipts are posted (JSON, signed); empty: none"})
    enabled = fields.Boolean(load_default=True)


class SourcePatch(Schema):
    name = fields.String(validate=validate.Length(1, 80))
    url = fields.String(validate=validate.Length(max=500))
    poll_seconds = Int(minimum=svc.MIN_POLL_S, maximum=svc.MAX_POLL_S)
    receipt_url = fields.String(validate=validate.Length(max=500))
    enabled = fields.Boolean()


class RuleOut(Schema):
    event = fields.String()
    min_level = fields.String()
    action = fields.String()
    mode = fields.String()
    timeout_s = Int(allow_none=True)


class SourceOut(Schema):
    id = Id()
    name = fields.String()
    kind = fields.String()
    enabled = fields.Boolean()
    url = fields.String()
    poll_seconds = Int()
    receipt_url = fields.String()
    webhook_url = fields.String(allow_none=True, metadata={
        "description": "webhook: where the source posts its messages"})
    secret = fields.String(allow_none=True, metadata={
        "description": "signs the webhook's pushes and the receipts posted back "
                       "(HMAC-SHA256, header X-Signature-256: sha256=<hex>)"})
    last_polled_at = Instant(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = Instant()
    rules = fields.List(fields.Nested(RuleOut))


class SecretOut(Schema):
    secret = fields.String()
