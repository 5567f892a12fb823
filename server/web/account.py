"""The signed-in user's own account: password and personal API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user

from server.db import db
from server.services import accounts
from server.services.errors import ServiceError
from server.web.forms import DeleteForm, PasswordForm, TokenForm
from server.web.helpers import require_login, show_error

bp = Blueprint("account", __name__, url_prefix="/account")


require_login(bp)


def _page(token_form: TokenForm, password_form: PasswordForm, new_token: str | None = None):
    return render_template(
        "account/index.html", token_form=token_form, password_form=password_form,
        tokens=accounts.list_tokens(db, current_user), new_token=new_token,
        delete_form=DeleteForm(),
    )


@bp.route("/")
def index():
    return _page(TokenForm(), PasswordForm())


@bp.route("/tokens", methods=["POST"])
def create_token():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _tok, plaintext = accounts.create_token(db, current_user, form.name.data)
            db.commit()
            return _page(TokenForm(formdata=None), PasswordForm(formdata=None), plaintext)
        except ServiceError as err:
            show_error(form, err)
    return _page(form, PasswordForm(formdata=None)), 422


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    accounts.revoke_token(db, current_user, token_id)
    db.commit()
    return redirect(url_for("account.index"))


@bp.route("/password", methods=["POST"])
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(db, current_user, form.old_password.data,
                                         form.new_password.data)
            db.commit()
            flash(gettext("Password changed. Your other sign-ins and API tokens have ended."),
                  "ok")
            return redirect(url_for("account.index"))
        except ServiceError as err:
            show_error(form, err)
    return _page(TokenForm(formdata=None), form), 422
