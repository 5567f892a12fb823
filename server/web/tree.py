"""Pages for the community tree: overview, buildings, terminals."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from wtforms.fields.choices import SelectChoice

from server.db import db
from server.services import tree
from server.services.access import TREE_EDITORS
from server.services.errors import ServiceError
from server.services.warnings import sources as warning_sources
from server.web.forms import BuildingForm, DeleteForm, TerminalForm
from server.web.helpers import actor, form_errors, require_login, show_error

bp = Blueprint("tree", __name__)


require_login(bp)


@bp.route("/")
def index():
    a = actor()
    communities = tree.list_communities(db, a)
    buildings = tree.list_buildings(db, a)
    per_community = {c.id: [b for b in buildings if b.community_id == c.id] for c in communities}
    return render_template("tree/index.html", street=tree.get_street(db, a),
                           communities=communities, per_community=per_community, buildings=buildings,
                           fleet_sizes=tree.fleet_sizes(db, a.street_id),
                           area_form=DeleteForm())


@bp.route("/area-codes", methods=["POST"])
def area_codes():
    """The street's and communities' division codes, which official warnings name their
    area by (street admins)."""
    if not DeleteForm().validate_on_submit():
        abort(400)
    a = actor()
    codes = {c.id: (request.form.get(f"community-{c.id}") or "").strip() or None
             for c in tree.list_communities(db, a)}
    with form_errors(DeleteForm()):
        warning_sources.set_area_codes(db, a, (request.form.get("street_code") or "").strip(),
                                       codes)
        db.commit()
        flash(gettext("Area codes saved."), "success")
    return redirect(url_for("tree.index"))


def _position_fields(form: BuildingForm) -> None:
    """Only street admins place buildings for warnings; others do not see the fields."""
    if not actor().is_street_admin:
        del form.latitude
        del form.longitude


def _save_position(form: BuildingForm, building_id: int, old: tuple | None = None) -> bool:
    if "latitude" not in form:
        return True
    new = (form.latitude.data, form.longitude.data)
    if new == old:
        return True
    try:
        warning_sources.set_building_position(db, actor(), building_id, *new)
    except ServiceError as err:
        db.rollback()
        if err.status in (403, 404):
            raise
        show_error(form, err)
        return False
    return True


@bp.route("/buildings/<int:building_id>")
def building(building_id: int):
    b = tree.get_building(db, actor(), building_id)
    return render_template("tree/building.html", building=b, delete_form=DeleteForm())


def _community_choices(form: BuildingForm) -> None:
    form.community_id.choices = [SelectChoice(c.id, c.name)
                                 for c in tree.list_communities(db, actor())]


@bp.route("/buildings/new", methods=["GET", "POST"])
def new_building():
    # Only admins change the tree: others get the refusal now, not after filling the form.
    actor().require_role(*TREE_EDITORS)
    form = BuildingForm()
    _community_choices(form)
    _position_fields(form)
    if request.method == "GET" and request.args.get("community_id", type=int):
        form.community_id.data = request.args.get("community_id", type=int)
    if form.validate_on_submit():
        with form_errors(form):
            b = tree.create_building(db, actor(), form.community_id.data, form.name.data,
                                     form.address.data or "")
            if _save_position(form, b.id):
                db.commit()
                return redirect(url_for("tree.building", building_id=b.id))
    return render_template("tree/building_form.html", form=form, title=gettext("New building"))


@bp.route("/buildings/<int:building_id>/edit", methods=["GET", "POST"])
def edit_building(building_id: int):
    b = tree.get_building(db, actor(), building_id)
    actor().require_edit(b.community_id, "building")
    form = BuildingForm(obj=b)
    _community_choices(form)
    _position_fields(form)
    old = (b.latitude, b.longitude)
    if form.validate_on_submit():
        with form_errors(form):
            tree.update_building(db, actor(), b.id, community_id=form.community_id.data,
                                 name=form.name.data, address=form.address.data or "")
            if _save_position(form, b.id, old):
                db.commit()
                return redirect(url_for("tree.building", building_id=b.id))
    return render_template("tree/building_form.html", form=form, title=gettext("Edit building"))


@bp.route("/buildings/<int:building_id>/delete", methods=["POST"])
def delete_building(building_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    tree.delete_building(db, actor(), building_id)
    db.commit()
    return redirect(url_for("tree.index"))


def _building_choices(form: TerminalForm) -> None:
    form.building_id.choices = [
        SelectChoice(b.id, f"{b.community.name} · {b.name}") for b in tree.list_buildings(db, actor())
    ]


def _tags(raw: str | None) -> list[str]:
    return [t.strip() for t in (raw or "").replace("，", ",").split(",") if t.strip()]


@bp.route("/terminals/new", methods=["GET", "POST"])
def new_terminal():
    actor().require_role(*TREE_EDITORS)
    form = TerminalForm()
    _building_choices(form)
    if request.method == "GET" and request.args.get("building_id", type=int):
        form.building_id.data = request.args.get("building_id", type=int)
    if form.validate_on_submit():
        with form_errors(form):
            t = tree.create_terminal(
                db, actor(), form.building_id.data, form.name.data, form.width.data,
                form.height.data, form.colour_mode.data, form.location.data or "",
                _tags(form.tags.data),
            )
            db.commit()
            return redirect(url_for("tree.building", building_id=t.building_id))
    return render_template("tree/terminal_form.html", form=form, title=gettext("New terminal"))


@bp.route("/terminals/<int:terminal_id>/edit", methods=["GET", "POST"])
def edit_terminal(terminal_id: int):
    t = tree.get_terminal(db, actor(), terminal_id)
    actor().require_edit(t.building.community_id, "terminal")
    form = TerminalForm(obj=t)
    _building_choices(form)
    if request.method == "GET":
        form.tags.data = ", ".join(t.tags)
        form.colour_mode.data = t.colour_mode.value
    if form.validate_on_submit():
        with form_errors(form):
            tree.update_terminal(
                db, actor(), t.id, building_id=form.building_id.data, name=form.name.data,
                width=form.width.data, height=form.height.data,
                colour_mode=form.colour_mode.data, location=form.location.data or "",
                tags=_tags(form.tags.data),
            )
            db.commit()
            return redirect(url_for("tree.building", building_id=t.building_id))
    return render_template("tree/terminal_form.html", form=form, title=gettext("Edit terminal"),
                           terminal=t, delete_form=DeleteForm())


@bp.route("/terminals/<int:terminal_id>/delete", methods=["POST"])
def delete_terminal(terminal_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    t = tree.get_terminal(db, actor(), terminal_id)
    building_id = t.building_id
    tree.delete_terminal(db, actor(), terminal_id)
    db.commit()
    return redirect(url_for("tree.building", building_id=building_id))
