"""Emergency broadcast pages: compose and send, watch "71 / 76 showing", cancel; templates."""

from __future__ import annotations

import base64
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from server.config import PEOPLE_TZ
from server.db import db
from server.errors import translate
from server.models import User
from server.services import broadcasts as svc
from server.services import escalation
from server.services import schedules as schedules_svc
from server.services.errors import ServiceError
from server.storage import blob_store, settings
from server.web.forms import DeleteForm, SelectChoice
from server.web.helpers import actor, form_errors, require_login
from server.web.schedules import TargetFields, show_field_error, target_choices, targets_of

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")
TZ = ZoneInfo(PEOPLE_TZ)
NONE = 0
CONFIRMED = "confirmed_terminals"  # the count the sender saw on the confirmation page
# Not carried from the form to the confirmation page and back: the page makes its own.
NOT_CARRIED = {"csrf_token", CONFIRMED, "back", "confirm"}

require_login(bp)


class BroadcastForm(TargetFields, FlaskForm):
    mode = SelectField(_l("Show as"), choices=[SelectChoice("full", _l("Full screen")),
                                               SelectChoice("ticker", _l("Scrolling ticker"))])
    text = TextAreaField(_l("Text to show"), validators=[Optional(), Length(max=svc.MAX_TEXT)])
    title = StringField(_l("Title (full screen)"), validators=[Optional(), Length(max=80)])
    template_id = SelectField(_l("Or a prepared alert"), coerce=int, validate_choice=False)
    content_id = SelectField(_l("Or an approved item"), coerce=int, validate_choice=False)
    ends_at = DateTimeLocalField(_l("Ends at (empty: until cancelled)"),
                                 validators=[Optional()])
    reason = StringField(_l("Reason (kept in the audit log)"),
                         validators=[DataRequired(), Length(max=500)])


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=40)])
    content_id = IntegerField(_l("Approved item"), validators=[DataRequired()])


def _choices(form: BroadcastForm) -> None:
    a = actor()
    target_choices(form)
    none = SelectChoice(NONE, "—")
    form.template_id.choices = [none] + [SelectChoice(t.id, t.name)
                                         for t in svc.list_templates(db, a)]
    form.content_id.choices = [none] + [SelectChoice(c.id, c.title)
                                        for c in schedules_svc.approved_content(db, a)]


def _index(form: BroadcastForm | None = None, template_form: TemplateForm | None = None,
           status: int = 200, errors: dict | None = None):
    a = actor()
    if form is None:
        form = BroadcastForm()
        _choices(form)
    items = svc.list_broadcasts(db, a)
    return render_template(
        "broadcasts/index.html", form=form, errors=errors or {}, today=_today(),
        may_send=a.may_broadcast,
        broadcasts=[svc.progress(db, a, b.id) for b in items],
        templates=svc.list_templates(db, a), template_form=template_form or TemplateForm(),
        approved=schedules_svc.approved_content(db, a), action_form=DeleteForm(),
        escalation_period=escalation.shown_to(db, a)), status


@bp.route("/")
def index():
    return _index()


def _today() -> str:
    return datetime.now(TZ).strftime("%Y-%m-%d")


@bp.route("/", methods=["POST"])
def send():
    """Two steps, so nothing is sent by one click or an Enter key: the form's POST shows the
    confirmation page (what each screen size shows, how many screens); only that page's
    POST, carrying the count it showed, sends. "Back" returns to the form as it was."""
    form = BroadcastForm()
    _choices(form)
    errors: dict[str, list[str]] = {}
    if "back" in request.form:
        form.validate()  # shows the form again as typed, with its errors if any
        return _index(form, errors=errors)
    if form.validate_on_submit():
        try:
            b = svc.BroadcastIn(
                mode=form.mode.data, targets=targets_of(form), reason=form.reason.data,
                text=form.text.data or "", title=form.title.data or "",
                template_id=form.template_id.data or None,
                content_id=form.content_id.data or None,
                ends_at=form.ends_at.data.replace(tzinfo=TZ) if form.ends_at.data else None)
            confirmed = request.form.get(CONFIRMED, "")
            if not confirmed.isdigit():
                plan = svc.preview(db, actor(), b, settings().font)
                db.rollback()
                return _confirm_page(form, b, plan)
            bc = svc.send(db, actor(), blob_store(), b, settings().font,
                          confirmed_terminals=int(confirmed))
            db.commit()
            if bc.approval == svc.PENDING:
                flash(gettext("An escalated-review period is in force: the broadcast waits "
                              "for a second person's approval and reaches no screen before."),
                      "warning")
            return redirect(url_for("broadcasts.show", broadcast_id=bc.id))
        except ServiceError as err:
            db.rollback()
            show_field_error(form, err, errors)
    return _index(form, status=422, errors=errors)


def _confirm_page(form: BroadcastForm, b: svc.BroadcastIn, plan: svc.Plan):
    carried = [(k, v) for k, v in request.form.items(multi=True) if k not in NOT_CARRIED]
    sizes = [{"g": g, "png": base64.b64encode(g.png).decode() if g.png else None,
              "error": translate(g.error) if g.error else None} for g in plan.sizes]
    return render_template("broadcasts/confirm.html", form=form, b=b, plan=plan,
                           sizes=sizes, carried=carried, confirmed_field=CONFIRMED,
                           total=len(plan.terminals),
                           blocked=any(g.error for g in plan.sizes),
                           held=svc.held_by(db, actor(), plan))


@bp.route("/<int:broadcast_id>")
def show(broadcast_id: int):
    a = actor()
    bc = svc.get(db, a, broadcast_id)
    sender = db.get(User, bc.created_by) if bc.created_by else None
    return render_template("broadcasts/show.html", p=svc.progress(db, a, broadcast_id),
                           action_form=DeleteForm(), today=_today(),
                           may_send=_may_cancel(broadcast_id),
                           may_approve=svc.may_approve(db, a, bc),
                           may_refuse=svc.may_refuse(db, a, bc),
                           is_sender=bc.created_by == a.id,
                           sender=(sender.display_name or sender.username) if sender else "—",
                           escalation_period=escalation.shown_to(db, a))


@bp.route("/<int:broadcast_id>/approve", methods=["POST"])
def approve(broadcast_id: int):
    """The second person's approval during an escalated-review period: sent now."""
    if not DeleteForm().validate_on_submit():
        abort(400)
    svc.approve(db, actor(), broadcast_id)
    db.commit()
    flash(gettext("Approved: the broadcast goes to the screens now."), "ok")
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast_id))


@bp.route("/<int:broadcast_id>/refuse", methods=["POST"])
def refuse(broadcast_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    svc.refuse(db, actor(), broadcast_id)
    db.commit()
    flash(gettext("The broadcast was not sent."), "ok")
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast_id))


def _may_cancel(broadcast_id: int) -> bool:
    """Whether to offer 取消广播: the cancel's own check (a community admin may not cancel
    a street-wide broadcast it can see)."""
    try:
        svc.require_cancel(db, actor(), broadcast_id)
    except ServiceError:
        return False
    return True


@bp.route("/<int:broadcast_id>/progress.json")
def progress(broadcast_id: int):
    """What the progress page polls: the same numbers as the API."""
    p = svc.progress(db, actor(), broadcast_id)
    for key in ("starts_at", "ends_at", "cancelled_at", "approved_at"):
        p[key] = p[key].isoformat() if p[key] else None
    for t in p["terminals"]:
        t["shown_at"] = t["shown_at"].astimezone(TZ).strftime("%H:%M:%S") if t["shown_at"] else None
        t["since"] = t["since"].astimezone(TZ).strftime("%m-%d %H:%M") if t["since"] else None
    return jsonify(p)


@bp.route("/<int:broadcast_id>/cancel")
def confirm_cancel(broadcast_id: int):
    """Cancelling asks first: it takes the broadcast off every screen at once."""
    svc.require_cancel(db, actor(), broadcast_id)  # the cancel's own check
    p = svc.progress(db, actor(), broadcast_id)
    if p["state"] != "active":
        return redirect(url_for("broadcasts.show", broadcast_id=broadcast_id))
    return render_template("broadcasts/cancel.html", p=p, action_form=DeleteForm())


@bp.route("/<int:broadcast_id>/cancel", methods=["POST"])
def cancel(broadcast_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    if "confirm" not in request.form:  # not from the confirmation page: ask there
        return redirect(url_for("broadcasts.confirm_cancel", broadcast_id=broadcast_id))
    try:
        svc.cancel(db, actor(), broadcast_id)
        db.commit()
    except ServiceError as err:
        db.rollback()
        if err.status in (403, 404):
            raise
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast_id))


@bp.route("/<int:broadcast_id>/thumbnails/<int:terminal_id>.png")
def thumbnail(broadcast_id: int, terminal_id: int):
    data = svc.thumbnail(db, actor(), broadcast_id, terminal_id)
    if not data:
        abort(404)
    return Response(base64.b64decode(data), mimetype="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.route("/templates", methods=["POST"])
def create_template():
    form = TemplateForm()
    if form.validate_on_submit():
        with form_errors(form):
            svc.create_template(db, actor(), form.name.data, form.content_id.data)
            db.commit()
            return redirect(url_for("broadcasts.index"))
    return _index(template_form=form, status=422)


@bp.route("/templates/<int:template_id>/delete", methods=["POST"])
def delete_template(template_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    svc.delete_template(db, actor(), template_id)
    db.commit()
    return redirect(url_for("broadcasts.index"))
