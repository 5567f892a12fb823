"""Log in and out. One generic message for every failure; throttled."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from server.db import db
from server.extensions import limiter
from server.services import accounts, audit
from server.services.access import Actor
from server.web.forms import LoginForm

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["SIGNAGE"].login_limit


def _username_key() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])  # per address
@limiter.limit(_login_limit, methods=["POST"], key_func=_username_key)  # per account
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tree.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db, form.username.data, form.password.data)
        if user is None:
            flash(gettext("Wrong user name or password."), "error")
        else:
            accounts.start_session(db, user)
            login_user(user)
            audit.record(db, Actor.of(user), "login", "user", user.id, label=user.username,
                         community_id=user.community_id)
            db.commit()
            target = request.args.get("next", "")
            # Only local paths: no open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("tree.index")
            return redirect(target)
    return render_template("login.html", form=form), (401 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # The cookie is client-side: only ending its sign-in makes a copy of it worthless.
    accounts.end_session(db, current_user)
    db.commit()
    logout_user()
    return redirect(url_for("auth.login"))
