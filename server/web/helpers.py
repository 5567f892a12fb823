"""Small helpers shared by the page modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Blueprint, abort, flash, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from server import inputs
from server.db import db
from server.errors import translate
from server.services.access import Actor
from server.services.errors import ServiceError


def actor() -> Actor:
    return Actor.of(current_user)


def street_admin() -> Actor:
    """The signed-in street administrator; anyone else gets a 403 (pages that bind the whole
    street: signing keys, the logs' chains, 安全)."""
    who = actor()
    if not who.is_street_admin:
        abort(403)
    return who


def allowed(check: Callable[[Actor], object]) -> bool:
    """Whether the service's own `check` (a require_* of the actor) lets the user through:
    a page offers a control only to those its save would accept."""
    try:
        check(actor())
    except ServiceError:
        return False
    return True


def deleted(delete: Callable[[], object]) -> bool:
    """Run a delete and commit; False (the reason flashed) when the service refuses it for a
    reason the person can act on (still in use...), so the caller returns to the object.
    Not found and forbidden stay errors."""
    try:
        delete()
        db.commit()
    except ServiceError as err:
        db.rollback()
        if err.status in (403, 404):
            raise
        flash(translate(err), "error")
        return False
    return True


def show_error(form: FlaskForm, err: ServiceError) -> None:
    """Put a service error next to its field, or on top of the form."""
    message = translate(err)
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        flash(message, "error")


@contextmanager
def form_errors(form: FlaskForm) -> Iterator[None]:
    """Around a service call made for a form: 403/404 become the error page; any other
    refusal is rolled back and shown next to its field, and the page is shown again."""
    try:
        yield
    except ServiceError as err:
        db.rollback()
        if err.status in (403, 404):
            raise
        show_error(form, err)


def require_login(bp: Blueprint) -> None:
    """Every page of the blueprint needs a signed-in user."""

    @bp.before_request
    @login_required
    def _login() -> None:
        return None

    @bp.before_request
    def _storable_input() -> None:
        # A NUL or a lone surrogate in a form is a 422 page, not a database error (the
        # API's rule, server/inputs.py).
        inputs.check_values(request.form.to_dict(flat=False), request.args.to_dict(flat=False),
                            request.view_args or {})
