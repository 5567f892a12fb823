"""Escalated-review periods: a calendar of dates during which every change needs street approval."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from server.db import db, utcnow
from server.services import escalation as svc
from server.services import tree
from server.web.forms import DeleteForm
from server.web.helpers import actor, allowed, deleted, form_errors, require_login

bp = Blueprint("escalation", __name__)
require_login(bp)


class PeriodForm(FlaskForm):
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day (included)"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    community_ids = SelectMultipleField(
        _l("Communities (none chosen: the whole street)"), coerce=int,
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False))


def _form(period=None) -> PeriodForm:
    form = PeriodForm(obj=period)
    form.community_ids.choices = [(c.id, c.name) for c in tree.list_communities(db, actor())]
    return form


def _data(form: PeriodForm) -> svc.PeriodIn:
    return svc.PeriodIn(form.starts_on.data, form.ends_on.data, form.reason.data or "",
                        list(form.community_ids.data or []))


def _page(form: PeriodForm, status: int = 200):
    a = actor()
    names = {c.id: c.name for c in tree.list_communities(db, a)}
    return render_template("escalation/periods.html", form=form, names=names,
                           periods=svc.list_periods(db, a),
                           past=svc.list_periods(db, a, past=True),
                           in_force=svc.in_force(db, a.street_id, None),
                           today=svc.local_day(utcnow()), action_form=DeleteForm(),
                           may_manage=allowed(svc.require_manager)), status


@bp.route("/escalation", methods=["GET", "POST"])
def periods():
    form = _form()
    if form.is_submitted():
        svc.require_manager(actor())
    if form.validate_on_submit():
        with form_errors(form):
            p = svc.create(db, actor(), _data(form))
            db.commit()
            flash(gettext("Escalated-review period %(first)s to %(last)s saved.",
                          first=p.starts_on.isoformat(), last=p.ends_on.isoformat()), "ok")
            return redirect(url_for("escalation.periods"))
        return _page(form, 422)
    return _page(form, 422 if form.is_submitted() else 200)


@bp.route("/escalation/<int:period_id>", methods=["GET", "POST"])
def edit(period_id: int):
    svc.require_manager(actor())
    p = svc.get_period(db, actor(), period_id)
    form = _form(p)
    if form.validate_on_submit():
        with form_errors(form):
            svc.update(db, actor(), p.id, _data(form))
            db.commit()
            flash(gettext("Saved."), "ok")
            return redirect(url_for("escalation.periods"))
    return render_template("escalation/edit.html", form=form, period=p,
                           title=gettext("Edit the escalated-review period")), \
        422 if form.is_submitted() else 200


@bp.route("/escalation/<int:period_id>/delete", methods=["POST"])
def delete(period_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    deleted(lambda: svc.delete(db, actor(), period_id))
    return redirect(url_for("escalation.periods"))
