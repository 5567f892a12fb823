"""Time-share mandates: a required share of screen time, checked, enforced and reported.
The pages list them and write them through services/mandates.py."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from server.db import db
from server.services import mandates as svc
from server.services import schedules as schedules_svc
from server.services import topics
from server.services.errors import ServiceError
from server.web.forms import DeleteForm
from server.web.helpers import actor, allowed, require_login
from server.web.mandate_present import share_words
from server.web.schedules import (
    STREET_WIDE,
    _community_choices,
    show_field_error,
    target_labels,
)

bp = Blueprint("mandates", __name__)
require_login(bp)
NO_TOPIC = 0


class MandateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=120)])
    authority = StringField(_l("Required by"), validators=[Length(max=200)],
                            description=_l("Who asks for it, e.g. 区委政法委."))
    community_id = SelectField(_l("Community"), coerce=int)
    topic_id = SelectField(_l("Topic"), coerce=int, validate_choice=False)
    content_ids = SelectMultipleField(_l("Items that count"), coerce=int, validate_choice=False,
                                      description=_l("Items of the topic count, and these "
                                                     "(hold Ctrl to choose several)."))
    share_kind = RadioField(_l("Share"), default="minutes", validate_choice=False, choices=[
        SelectChoice("minutes", _l("Minutes in every hour")),
        SelectChoice("percent", _l("Per cent of the time the screen is lit"))])
    share = FloatField(_l("How much"), validators=[Optional()])
    window_start = StringField(_l("Each day from"), default="08:00", validators=[Length(max=8)])
    window_end = StringField(_l("Each day until"), default="22:00", validators=[Length(max=8)],
                             description=_l("Each day; a window may cross midnight "
                                            "(22:00 until 06:00); the same time twice is all "
                                            "day."))
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    # Targets: the street, communities, buildings (the target tree stops at buildings).
    street = BooleanField(_l("The whole street"))
    communities = SelectMultipleField(_l("Communities"), coerce=int, validate_choice=False)
    buildings = SelectMultipleField(_l("Buildings"), coerce=int, validate_choice=False)
    enforce = RadioField(_l("How it is kept"), default="check", validate_choice=False,
                         choices=[
                             SelectChoice("check", _l("Checked only: warn where a plan falls "
                                                      "short")),
                             SelectChoice("enforce", _l("Enforced: its items are inserted "
                                                        "into each hour as needed"))])
    active = BooleanField(_l("Active"), default=True)


def _choices(form: MandateForm) -> None:
    a = actor()
    _community_choices(form.community_id)
    form.topic_id.choices = [SelectChoice(NO_TOPIC, gettext("— no topic, only the items —"))] \
        + [SelectChoice(t.id, t.name) for t in topics.list_topics(db, a)]
    form.content_ids.choices = [SelectChoice(c.id, c.title)
                                for c in schedules_svc.approved_content(db, a)]


def _mandate_in(form: MandateForm, community_id: int | None) -> svc.MandateIn:
    targets = [schedules_svc.TargetIn("street")] if form.street.data else []
    targets += [schedules_svc.TargetIn("community", i) for i in form.communities.data or []]
    targets += [schedules_svc.TargetIn("building", i) for i in form.buildings.data or []]
    return svc.MandateIn(
        name=form.name.data or "", authority=form.authority.data or "",
        topic_id=form.topic_id.data or None, content_ids=list(form.content_ids.data or []),
        share_kind=form.share_kind.data, share=form.share.data,
        window_start=form.window_start.data or "", window_end=form.window_end.data or "",
        start_date=form.start_date.data, end_date=form.end_date.data, targets=targets,
        enforce=form.enforce.data == "enforce", active=bool(form.active.data),
        community_id=community_id)


def _fill(form: MandateForm, m) -> None:
    form.community_id.data = m.community_id or STREET_WIDE
    form.topic_id.data = m.topic_id or NO_TOPIC
    form.content_ids.data = list(m.content_ids or [])
    form.enforce.data = "enforce" if m.enforce else "check"
    form.street.data = any(t.kind.value == "street" for t in m.targets)
    form.communities.data = [t.ref_id for t in m.targets if t.kind.value == "community"]
    form.buildings.data = [t.ref_id for t in m.targets if t.kind.value == "building"]


def _page(form: MandateForm, errors: dict, mandate=None):
    return render_template("mandates/form.html", form=form, errors=errors, mandate=mandate,
                           title=gettext("Edit mandate") if mandate else gettext("New mandate"))


def _save(form: MandateForm, mandate=None):
    """Save the posted form: a redirect, or the page again with the errors by their fields."""
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            if mandate is None:
                svc.create(db, actor(), _mandate_in(form, form.community_id.data or None))
            else:
                svc.update(db, actor(), mandate.id, _mandate_in(form, mandate.community_id))
            db.commit()
            flash(gettext("The mandate is saved."), "ok")
            return redirect(url_for("mandates.index"))
        except ServiceError as err:
            db.rollback()
            show_field_error(form, err, errors)
    return _page(form, errors, mandate)


@bp.route("/mandates")
def index():
    a = actor()
    rows = svc.list_for(db, a)
    names = {t.id: t.name for t in topics.list_topics(db, a, active_only=False)}
    titles = {c.id: c.title for c in schedules_svc.approved_content(db, a)}
    return render_template("mandates/index.html", mandates=rows, topics=names, titles=titles,
                           share_words=share_words, target_labels=target_labels,
                           today=date.today(), can_write=allowed(svc.require_writer),
                           may_change=lambda community_id: schedules_svc.may_change(
                               a, community_id))


@bp.route("/mandates/new", methods=["GET", "POST"])
def new():
    svc.require_writer(actor())  # the save's own rule: no form for those it refuses
    form = MandateForm()
    _choices(form)
    if request.method == "GET" and not actor().is_street_admin:
        form.community_id.data = actor().community_id
    return _save(form)


@bp.route("/mandates/<int:mandate_id>", methods=["GET", "POST"])
def edit(mandate_id: int):
    m = svc.editable(db, actor(), mandate_id)  # the save's check, before any form
    # What a POST leaves out is empty, never the row's raw values.
    form = MandateForm() if request.method == "POST" else MandateForm(obj=m)
    _choices(form)
    form.community_id.validate_choice = False  # the owner stays; the page only names it
    if request.method == "GET":
        _fill(form, m)
    return _save(form, m)


@bp.route("/mandates/<int:mandate_id>/delete", methods=["GET", "POST"])
def delete(mandate_id: int):
    """Deleting asks first (GET shows what goes), then deletes (POST)."""
    m = svc.editable(db, actor(), mandate_id)
    form = DeleteForm()
    if request.method == "GET":
        return render_template("mandates/delete.html", mandate=m, form=form)
    if not form.validate_on_submit():
        abort(400)
    svc.delete(db, actor(), m.id)
    db.commit()
    flash(gettext("The mandate is deleted."), "ok")
    return redirect(url_for("mandates.index"))
