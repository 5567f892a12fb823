"""Small helpers shared by the page modules."""

from __future__ import annotations

from flask import flash
from flask_login import current_user
from flask_wtf import FlaskForm

from server.errors import translate
from server.services.access import Actor
from server.services.errors import ServiceError


def actor() -> Actor:
    return Actor.of(current_user)


def show_error(form: FlaskForm, err: ServiceError) -> None:
    """Put a service error next to its field, or on top of the form."""
    message = translate(err)
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        flash(message, "error")
