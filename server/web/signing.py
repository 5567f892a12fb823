"""Signing keys: rotation, emergency re-key and enforcement (street admins)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from player import protocol
from server.chores import describe
from server.db import db
from server.errors import translate
from server.services import signing
from server.services.errors import ServiceError
from server.web.forms import DeleteForm
from server.web.helpers import require_login, street_admin

bp = Blueprint("signing", __name__)
require_login(bp)


@bp.app_template_global()
def refusal_text(refusal: dict) -> str:
    return describe(str(refusal.get("reason", "")), {})


@bp.app_template_global()
def refusal_at(refusal: dict):
    try:
        return protocol.parse_instant(refusal.get("at"), "at")
    except protocol.ProtocolError:
        return None



@bp.route("/signing")
def keys():
    who = street_admin()
    try:
        current = signing.current(db, who.street_id)  # the first key, if none yet
        db.commit()
    except signing.SignerError as e:
        db.rollback()
        current = None
        flash(_("The signer cannot be reached or has no key: %(error)s", error=str(e)),
              "error")
    return render_template(
        "signing/keys.html", keys=signing.keys(db, who.street_id), current=current,
        holding=signing.holding(db, who.street_id),
        enforced=signing.enforced(db, who.street_id),
        refusing=signing.refusing(db, who.street_id), action_form=DeleteForm())


@bp.route("/signing/rekey")
def confirm_rekey():
    """An emergency re-key asks first: every screen must be paired again afterwards."""
    who = street_admin()
    return render_template("signing/rekey.html", holding=signing.holding(db, who.street_id),
                           action_form=DeleteForm())


def _act(fn, done: str):
    if not DeleteForm().validate_on_submit():
        abort(400)
    try:
        fn()
        db.commit()
        flash(done, "ok")
    except ServiceError as err:
        db.rollback()
        if err.status in (403, 404):
            raise
        flash(translate(err), "error")
    return redirect(url_for("signing.keys"))


@bp.route("/signing/rotate", methods=["POST"])
def rotate():
    who = street_admin()
    return _act(lambda: signing.rotate(db, who),
                _("A new signing key is in use; every screen is being sent content signed by it."))


@bp.route("/signing/rekey", methods=["POST"])
def rekey():
    who = street_admin()
    if "confirm" not in request.form:  # not from the confirmation page: ask there
        return redirect(url_for("signing.confirm_rekey"))
    return _act(lambda: signing.rekey(db, who),
                _("Emergency key made. Screens refuse new content until they are paired "
                  "again."))


@bp.route("/signing/enforce", methods=["POST"])
def enforce():
    who = street_admin()
    on = request.form.get("enforced") == "1"
    return _act(lambda: signing.set_enforced(db, who, on),
                _("Screens without a signing key are now refused.") if on else
                _("Screens without a signing key are accepted again."))
