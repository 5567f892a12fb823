"""Turn errors into answers: JSON with a stable code under /api, a page elsewhere."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from server.db import db
from server.services.errors import N_, ServiceError

# Messages of marshmallow and webargs, listed so Babel extracts them and an API answer
# reads in the user's language (_flatten translates each one).
VALIDATION_MESSAGES = (
    N_("Missing data for required field."), N_("Unknown field."), N_("Field may not be null."),
    N_("Not a valid integer."), N_("Not a valid string."), N_("Not a valid number."),
    N_("Not a valid boolean."), N_("Not a valid list."), N_("Not a valid datetime."),
    N_("Not a valid date."), N_("Not a valid mapping type."), N_("Invalid input type."),
    N_("Not a valid aware datetime."), N_("Invalid JSON body."),
    N_("Special numeric values (nan or infinity) are not permitted."),
)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def translate(err: ServiceError) -> str:
    """The message in the user's language; nouns in params are translated too."""
    params = {k: gettext(v) if k in ("what", "field", "status", "to", "detected") and isinstance(v, str)
              else v for k, v in err.params.items()}
    return gettext(err.template) % params


def api_error(status: int, code: str, message: str, field: str | None = None,
              fields: dict | None = None, sizes: list[str] | None = None):
    body: dict = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    if fields:
        body["error"]["fields"] = fields
    if sizes:
        body["error"]["sizes"] = sizes
    return jsonify(body), status


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(err: ServiceError):
        db.rollback()
        if is_api_request():
            return api_error(err.status, err.code, translate(err), err.field,
                             sizes=getattr(err, "sizes", None))
        return render_template("error.html", status=err.status, message=translate(err)), err.status

    @app.errorhandler(CSRFError)
    def _csrf_error(_err: CSRFError):
        message = gettext("This form has expired or did not come from this site. "
                          "Reload the page and try again.")
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if is_api_request():
            return http_error_json(err)
        return render_template("error.html", status=err.code, message=page_message(err)), err.code

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        # Log it and answer; one bad request must never take the server down.
        app.logger.exception("unhandled error")
        db.rollback()
        if is_api_request():
            return api_error(500, "internal_error", gettext("Internal error; it has been logged."))
        return render_template("error.html", status=500,
                               message=gettext("Internal error; it has been logged.")), 500


HTTP_MESSAGES = {
    400: N_("The request could not be understood. Go back and try again."),
    403: N_("You may not open this page."),
    404: N_("There is nothing at this address: it may have been deleted, or the link is wrong."),
    405: N_("This page cannot be used that way."),
    413: N_("What was sent is too large."),
    429: N_("Too many requests in a short time; wait a moment and try again."),
}


def page_message(err: HTTPException) -> str:
    """Werkzeug's stock descriptions are English sentences: say them in the user's language
    (a description written for the case is kept)."""
    if err.code in HTTP_MESSAGES and err.description == type(err).description:
        return gettext(HTTP_MESSAGES[err.code])
    return err.description or ""


CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media",
         422: "invalid", 429: "too_many_requests"}


def http_error_json(err: HTTPException):
    status = err.code or 500
    fields = None
    message = err.description or ""
    data = getattr(err, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:
        # webargs/marshmallow: {"json": {"field": ["msg"]}} -> one readable sentence;
        # {"json": ["Invalid JSON body."]} is about the whole body.
        fields, whole = {}, []
        for location in messages.values():
            if isinstance(location, dict):
                fields.update(location)
            else:
                whole += _flatten(location)
        parts = whole + [" ".join(_flatten(msgs)) if name == "_schema"
                         else f"{name}: {' '.join(_flatten(msgs))}"
                         for name, msgs in fields.items()]
        message = gettext("Invalid input") + " — " + "; ".join(parts)
        status = 422 if status == 400 and fields else status
    return api_error(status, CODES.get(status, "error"), message, fields=fields or None)


def _flatten(msgs) -> list[str]:
    if isinstance(msgs, str):
        return [gettext(msgs)]
    if isinstance(msgs, dict):
        return [f"{k}: {' '.join(_flatten(v))}" for k, v in msgs.items()]
    return [m for x in msgs for m in _flatten(x)]
