"""/api/v1/warnings and /api/v1/warning-sources: official early warnings (CAP 1.2 /
GB/T 35965.1) as received, decided and shown, their receipts, and where they come from.

The webhook (`webhook_blp`) has no login: the source's HMAC signature of the raw body is
the credential. Everything else takes a personal API token like the rest of the API.
"""

from __future__ import annotations

import logging

from flask import Response, request, url_for
from flask.views import MethodView
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from server.api.auth import actor, blueprint
from server.api.docs import SignageBlueprint
from server.api.warning_schemas import (
    ReceiptOut,
    RejectIn,
    RulesIn,
    SecretOut,
    SourceIn,
    SourceOut,
    SourcePatch,
    WarningDetailOut,
    WarningOut,
    WarningQuery,
    WebhookOut,
)
from server.cap import parse
from server.cap.parse import MAX_BYTES
from server.db import db
from server.errors import api_error
from server.extensions import limiter
from server.models import WarningSource
from server.services.access import Actor
from server.services.errors import N_, Forbidden
from server.services.warnings import dispatch, intake, reading, receipts
from server.services.warnings import sources as sources_svc

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature-256"
# Set by nginx when it verified a client certificate (docs/warnings.md): logged with each
# push, never trusted instead of the signature.
CLIENT_SUBJECT_HEADER = "X-Client-Cert-Subject"
WEBHOOK_LIMIT = "120 per minute"  # per address: a source pushes a few messages an hour
MULTIPART_OVERHEAD = 16 * 1024  # boundaries and part headers around an uploaded file

blp = blueprint("api_warnings", "", "Official early warnings: the messages received (feed, "
                "webhook, upload), what the policy decided, the screens each matched and "
                "why, approval, and the per-screen receipt. Staff see their street's; "
                "community staff only messages that matched a screen of their community. "
                "Sources and their policy rules are for street administrators.")

webhook_blp = SignageBlueprint(
    "api_warning_webhook", __name__, url_prefix="/api/v1/warnings/webhook",
    description="Pushes from a warning source. No token: sign the raw body with the "
                "source's secret (HMAC-SHA256) and send it as “X-Signature-256: sha256=<hex>”. "
                "See docs/warnings.md.")

XML_BODY = {"requestBody": {"required": True, "content": {
    "application/cap+xml": {"schema": {"type": "string", "format": "binary"}},
    "application/xml": {"schema": {"type": "string", "format": "binary"}}}}}
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/cap+xml": {"schema": {"type": "string", "format": "binary"}},
    "application/xml": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}}}}}
NO_TOKEN = {"security": []}


# --- intake -----------------------------------------------------------------------------


def _too_large() -> tuple:
    return api_error(413, "too_large", gettext(
        "A warning message may be at most %(limit)d KB.", limit=MAX_BYTES // 1024))


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is larger than `limit` (refused before it is read
    whole: by its Content-Length, else while reading)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    request.max_content_length = limit  # a chunked body is cut off while it is read
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return None
    return None if len(data) > limit else data


def _reason(out: intake.Outcome, data: bytes) -> str:
    """The outcome's reason in the request's language. A parser's refusal is stored as
    English text with its details filled in; read again, its msgid and details give the
    translation (only refused messages are read twice)."""
    if not out.reason:
        return ""
    if out.outcome == "refused":
        try:
            parse.parse(data)
        except parse.CapError as err:
            if str(err) == out.reason:
                return gettext(err.reason, **err.params)
    return gettext(out.reason)


def _answer(out: intake.Outcome, data: bytes):
    if out.outcome == "refused":
        return api_error(400, "refused", _reason(out, data))
    m = out.message
    return {"outcome": out.outcome, "message_id": m.id if m else None,
            "intake_id": out.intake_id, "state": m.state if m else None,
            "reason": _reason(out, data)}


@webhook_blp.route("/<int:source_id>", methods=["POST"])
@limiter.limit(WEBHOOK_LIMIT)
@webhook_blp.response(200, WebhookOut)
@webhook_blp.doc(**XML_BODY, **NO_TOKEN)
@webhook_blp.refuses(400, 413, 429)
def webhook(source_id: int):
    """Receive one CAP message pushed by a source: 200 accepted or duplicate (the same
    identifier again changes nothing); 400 refused, with the reason (also kept in the
    intake log; also when the source is turned off); 401 missing or wrong signature; 404
    no webhook source with this id; 413 larger than 256 KB."""
    src = db.get(WarningSource, source_id)
    if src is None or src.kind != "webhook":
        return api_error(404, "not_found", gettext("No such webhook."))
    data = _read_body(MAX_BYTES)
    if data is None:
        return _too_large()
    if not intake.verify_signature(src, data, request.headers.get(SIGNATURE_HEADER, "")):
        log.warning("warning webhook %s: bad or missing signature from %s", source_id,
                    request.remote_addr)
        return api_error(401, "unauthorized", gettext(
            "Sign the raw body with this source's secret (HMAC-SHA256) and send it as "
            "“X-Signature-256: sha256=<hex>”."))
    subject = request.headers.get(CLIENT_SUBJECT_HEADER, "")[:300]
    log.info("warning webhook %s: signed push from %s%s", source_id, request.remote_addr,
             f", client certificate {subject!r}" if subject else "")
    out = intake.receive_committed(db, src, data, "webhook")
    return _answer(out, data)


@blp.route("/warnings/upload", methods=["POST"])
@blp.response(200, WebhookOut)
@blp.doc(**UPLOAD_BODY)
@blp.refuses(400, 413)
def upload():
    """Upload one CAP message file (street administrators): the raw XML as the body, or a
    multipart form with the file in field “file”. Answers as the webhook does."""
    a = actor()
    if not a.is_street_admin:
        raise Forbidden(N_("Only street administrators upload warning messages."))
    if request.mimetype == "multipart/form-data":
        if (request.content_length or 0) > MAX_BYTES + MULTIPART_OVERHEAD:
            return _too_large()
        request.max_content_length = MAX_BYTES + MULTIPART_OVERHEAD
        try:
            f = request.files.get("file")
        except RequestEntityTooLarge:
            return _too_large()
        if f is None:
            return api_error(400, "bad_request", gettext(
                "Send the message file in the form field “file”, or as the raw body."))
        data = f.stream.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return _too_large()
    else:
        data = _read_body(MAX_BYTES)
        if data is None:
            return _too_large()
    src = sources_svc.upload_source(db, a.street_id)
    db.commit()  # made on first use: no write may be held while intake renders the card
    out = intake.receive_committed(db, src, data, "upload", actor=a)
    return _answer(out, data)


# --- messages ---------------------------------------------------------------------------


def _out(m, a: Actor, acked: dict[int, int], detail: bool = False) -> dict:
    cols = WarningDetailOut if detail else WarningOut
    row = {k: getattr(m, k) for k in cols._declared_fields
           if k not in ("matched_count", "acknowledged", "matched")}
    row["state_reason"] = gettext(m.state_reason) if m.state_reason else ""  # a msgid
    row["matched_count"] = len(reading.matched_of(a, m))
    row["acknowledged"] = acked.get(m.id, 0)
    if detail:
        row["matched"] = reading.matched_named(db, a, m)
    return row


@blp.route("/warnings")
@blp.arguments(WarningQuery, location="query")
@blp.response(200, WarningOut(many=True))
def list_warnings(args):
    """Newest first, optionally in one state (pending: waiting for approval)."""
    a = actor()
    messages = reading.list_messages(db, a, args.get("state"), args["limit"])
    acked = reading.acknowledged(db, a, messages)
    return [_out(m, a, acked) for m in messages]


def _detail(message_id: int) -> dict:
    a = actor()
    m = reading.get_message(db, a, message_id)
    return _out(m, a, reading.acknowledged(db, a, [m]), detail=True)


@blp.route("/warnings/<int:message_id>")
@blp.response(200, WarningDetailOut)
def get_warning(message_id: int):
    """One message with the screens its area matched and why."""
    return _detail(message_id)


@blp.route("/warnings/<int:message_id>/approve", methods=["POST"])
@blp.response(200, WarningDetailOut)
@blp.refuses(422)
def approve(message_id: int):
    """Send a pending message to its matched screens now."""
    a = actor()
    reading.get_message(db, a, message_id)
    dispatch.approve(db, a, message_id)
    db.commit()
    return _detail(message_id)


@blp.route("/warnings/<int:message_id>/reject", methods=["POST"])
@blp.arguments(RejectIn)
@blp.response(200, WarningDetailOut)
def reject(data, message_id: int):
    """Do not send a pending message; the reason is kept and audited."""
    a = actor()
    reading.get_message(db, a, message_id)
    dispatch.reject(db, a, message_id, data["reason"])
    db.commit()
    return _detail(message_id)


@blp.route("/warnings/<int:message_id>/receipt")
@blp.response(200, ReceiptOut)
def receipt(message_id: int):
    """Per targeted screen: shown and acknowledged when, seconds from the message's
    arrival, and for the others why not as far as known now (offline, screen_off,
    waiting). Community staff see their community's screens."""
    return receipts.receipt(db, actor(), message_id)


@blp.route("/warnings/<int:message_id>/receipt.csv")
@blp.response(200, description="The receipt as CSV (UTF-8 with a BOM, Chinese headers)",
              content_type="text/csv")
def receipt_csv(message_id: int):
    text = receipts.receipt_csv(db, actor(), message_id)
    return Response(text.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="warning-{message_id}-receipt.csv"'})


# --- sources ----------------------------------------------------------------------------


def _source_out(src: WarningSource) -> dict:
    return {**{k: getattr(src, k) for k in
               ("id", "name", "kind", "enabled", "url", "poll_seconds", "receipt_url",
                "secret", "last_polled_at", "last_error", "created_at")},
            "webhook_url": url_for("api_warning_webhook.webhook", source_id=src.id,
                                   _external=True) if src.kind == "webhook" else None,
            "rules": [{k: getattr(r, k) for k in ("event", "min_level", "action", "mode",
                                                   "timeout_s")} for r in src.rules]}


@blp.route("/warning-sources")
class Sources(MethodView):
    @blp.response(200, SourceOut(many=True))
    @blp.refuses(403)
    def get(self):
        """Street administrators only (403 for others)."""
        return [_source_out(src) for src in sources_svc.list_sources(db, actor())]

    @blp.arguments(SourceIn)
    @blp.response(201, SourceOut)
    def post(self, data):
        """A feed (polled) or a webhook (pushes to webhook_url), with the default policy
        rules and a new secret."""
        src = sources_svc.create_source(db, actor(), sources_svc.SourceIn(**data))
        db.commit()
        return _source_out(src)


@blp.route("/warning-sources/<int:source_id>", methods=["PATCH"])
@blp.arguments(SourcePatch)
@blp.response(200, SourceOut)
def patch_source(data, source_id: int):
    """Change what is given; a source keeps its kind (the upload source only turns on and
    off)."""
    a = actor()
    src = sources_svc.get_source(db, a, source_id)
    current = {k: getattr(src, k) for k in ("name", "kind", "url", "poll_seconds",
                                            "receipt_url", "enabled")}
    src = sources_svc.update_source(db, a, source_id, sources_svc.SourceIn(**{**current,
                                                                             **data}))
    db.commit()
    return _source_out(src)


@blp.route("/warning-sources/<int:source_id>/rules", methods=["PUT"])
@blp.arguments(RulesIn)
@blp.response(200, SourceOut)
def put_rules(data, source_id: int):
    """Replace the policy: read in order, the first rule matching the event at or above its
    level decides (auto: send at once; approve: wait for staff, with timeout_s sent anyway;
    ignore: only record)."""
    a = actor()
    sources_svc.set_rules(db, a, source_id, [sources_svc.RuleIn(**r) for r in data["rules"]])
    db.commit()
    return _source_out(sources_svc.get_source(db, a, source_id))


@blp.route("/warning-sources/<int:source_id>/secret", methods=["POST"])
@blp.response(200, SecretOut)
@blp.refuses(422)
def rotate_secret(source_id: int):
    """A new secret; the old one stops working at once."""
    secret = sources_svc.rotate_secret(db, actor(), source_id)
    db.commit()
    return {"secret": secret}
