"""Pages for staff accounts. Who may manage which account is decided in
server/services/access.py (account_roles, may_manage_account); these pages only offer
what that rule allows, and the services refuse the rest."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from server.db import db
from server.services import accounts, tree
from server.services.access import account_roles, may_manage_account, require_account_admin
from server.web.forms import ROLE_LABELS, UserForm
from server.web.helpers import actor, form_errors

bp = Blueprint("users", __name__, url_prefix="/users")

NO_COMMUNITY = 0  # the select's value for "street-wide" (street administrators)


@bp.before_request
@login_required
def _login() -> None:
    require_account_admin(actor())


def _choices(form: UserForm) -> None:
    a = actor()
    form.community_id.choices = [SelectChoice(c.id, c.name) for c in tree.list_communities(db, a)]
    if a.is_street_admin:
        form.community_id.choices.insert(0, SelectChoice(NO_COMMUNITY, gettext("— street-wide —")))
    allowed = {r.value for r in account_roles(a)}
    form.role.choices = [c for c in form.role.choices if c.value in allowed]
    # A role the select does not offer (a forged form) gets the rule's own 403 and message
    # from the service, as through the API, rather than a generic "not a valid choice".
    form.role.validate_choice = False


@bp.route("/")
def index():
    a = actor()
    users = accounts.list_users(db, a)
    editable = {u.id for u in users if may_manage_account(a, u.role, u.community_id)}
    return render_template("users/index.html", users=users, editable=editable,
                           role_labels=ROLE_LABELS)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = UserForm()
    _choices(form)
    if form.validate_on_submit():
        with form_errors(form):
            accounts.create_user(
                db, actor(), username=form.username.data, password=form.password.data or "",
                role=form.role.data, community_id=form.community_id.data or None,
                display_name=form.display_name.data or "",
                may_broadcast=form.may_broadcast.data,
            )
            db.commit()
            return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, title=gettext("New account"))


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
def edit(user_id: int):
    a = actor()
    u = accounts.manageable_user(db, a, user_id)  # a peer admin's page is a 403 already
    form = UserForm(obj=u)
    _choices(form)
    if not form.is_submitted():
        form.role.data = u.role.value
        form.community_id.data = u.community_id or NO_COMMUNITY
    if form.validate_on_submit():
        with form_errors(form):
            accounts.update_user(db, a, u.id, **_changes(form))
            db.commit()
            return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, title=gettext("Edit account"), user=u,
                           own=u.id == a.id)


def _changes(form: UserForm) -> dict[str, object]:
    changes: dict[str, object] = {
        "role": form.role.data, "community_id": form.community_id.data or None,
        "display_name": form.display_name.data or "", "active": form.active.data,
        "may_broadcast": form.may_broadcast.data}
    if form.password.data:
        changes["password"] = form.password.data
    return changes

