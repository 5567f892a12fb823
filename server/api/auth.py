"""Bearer-token authentication for the API."""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest

from server import inputs
from server.api.docs import SignageBlueprint
from server.db import db
from server.errors import api_error
from server.models import User
from server.services import accounts
from server.services.access import Actor


def authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = accounts.user_for_token(db, token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        return api_error(401, "unauthorized",
                         gettext("Send a valid personal API token as “Authorization: Bearer …”."))
    db.commit()  # last_used_at
    g.api_user = user
    g.actor = Actor.of(user)
    return None


def refuse_unstorable_input() -> None:
    """Text PostgreSQL or UTF-8 cannot hold, NaN and Infinity are a 422 before any view
    sees them."""
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except RecursionError:  # not a ValueError: silent=True lets it through
        raise BadRequest(gettext("The JSON body is nested too deeply.")) from None
    inputs.check_values(request.view_args or {}, request.args.to_dict(flat=False), body)


def blueprint(name: str, url_prefix: str, description: str) -> SignageBlueprint:
    blp = SignageBlueprint(name, __name__, url_prefix=f"/api/v1{url_prefix}",
                           description=description)
    blp.before_request(authenticate)
    blp.before_request(refuse_unstorable_input)
    return blp


def actor() -> Actor:
    return g.actor


def user() -> User:
    return g.api_user
