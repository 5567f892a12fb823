"""A terminal's own page: live state, pairing, revocation, commands and their answers."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for

from server import hub
from server.db import db
from server.services import fleet, health, tree, wall
from server.web.audit_present import command as describe_command
from server.web.forms import CommandForm, DeleteForm, PairForm
from server.web.helpers import actor, form_errors, require_login

bp = Blueprint("terminals", __name__, url_prefix="/terminals")


require_login(bp)


def _page(terminal_id: int, pair_form: PairForm | None = None,
          command_form: CommandForm | None = None, status: int = 200):
    t = tree.get_terminal(db, actor(), terminal_id)
    return render_template(
        "terminals/show.html", terminal=t, state=db.get(fleet.TerminalState, t.id),
        tile=wall.tile(db, t.id), plays=wall.recent_plays(db, actor(), t.id, 30),
        events=health.history(db, actor(), t.id, 30),
        commands=fleet.command_history(db, actor(), t.id, 20),
        pair_form=pair_form or PairForm(), command_form=command_form or CommandForm(),
        action_form=DeleteForm(), describe_command=describe_command), status


@bp.route("/<int:terminal_id>")
def show(terminal_id: int):
    return _page(terminal_id)


@bp.route("/<int:terminal_id>/pair", methods=["POST"])
def pair(terminal_id: int):
    form = PairForm()
    if form.validate_on_submit():
        with form_errors(form):
            fleet.claim(db, actor(), form.code.data, terminal_id)
            db.commit()
            return redirect(url_for("terminals.show", terminal_id=terminal_id))
    return _page(terminal_id, pair_form=form, status=422)


@bp.route("/<int:terminal_id>/revoke", methods=["POST"])
def revoke(terminal_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    fleet.revoke(db, actor(), terminal_id)
    db.commit()  # its sockets are dropped after the commit, on every node (server.hub)
    return redirect(url_for("terminals.show", terminal_id=terminal_id))


@bp.route("/<int:terminal_id>/command", methods=["POST"])
def command(terminal_id: int):
    form = CommandForm()
    if form.validate_on_submit():
        kind, args = form.kind.data, {}
        if kind in ("screen_on", "screen_off"):
            kind, args = "screen", {"on": kind == "screen_on"}
        elif kind == "brightness":
            args = {"level": form.level.data}
        with form_errors(form):
            cmd = fleet.create_command(db, actor(), terminal_id, kind, args)
            db.commit()
            hub.send_command(terminal_id, cmd.id, cmd.kind, cmd.args)
            return redirect(url_for("terminals.show", terminal_id=terminal_id))
    return _page(terminal_id, command_form=form, status=422)
