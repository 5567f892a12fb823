"""Official early warning pages (预警): the messages with their cards, matches and live
receipts, approval of pending ones, the sources and their policy, manual upload and the
intake log. The work is in server/services/warnings/ and server/web/warning_present.py."""

from __future__ import annotations

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
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from server.cap.parse import MAX_BYTES
from server.db import db
from server.errors import translate
from server.models import Role
from server.services.errors import ServiceError
from server.services.warnings import dispatch, intake
from server.services.warnings import sources as sources_svc
from server.storage import settings
from server.web import warning_present as present
from server.web.forms import DeleteForm, SelectChoice
from server.web.helpers import actor, allowed, form_errors, require_login

bp = Blueprint("warnings", __name__, url_prefix="/warnings")
require_login(bp)
_ADMINS = (Role.street_admin,)  # sources, policy, uploads and codes


class SourceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    kind = SelectField(_l("How messages arrive"), choices=[
        SelectChoice("webhook", _l("Webhook (pushed)")), SelectChoice("feed", _l("Feed (polled)"))])
    url = StringField(_l("Feed URL (CAP or Atom index)"), validators=[Optional(), Length(max=500)])
    poll_seconds = IntegerField(_l("Poll every (seconds)"), default=60,
                                validators=[Optional(), NumberRange(15, 86400)])
    receipt_url = StringField(_l("Post receipts to (optional)"),
                              validators=[Optional(), Length(max=500)])
    enabled = BooleanField(_l("Enabled"), default=True)


class RejectForm(FlaskForm):
    reason = StringField(_l("Why not (kept in the audit log)"), validators=[Length(max=300)])


class UploadForm(FlaskForm):
    file = FileField(_l("Warning message file (CAP 1.2 XML)"))


def _blob_url(item_id: int, sha: str) -> str:
    return url_for("content.blob", item_id=item_id, sha=sha)


@bp.route("/")
def index():
    state = request.args.get("state") or None
    return render_template("warnings/index.html", rows=present.list_rows(db, actor(), state),
                           state=state, states=[(s, gettext(present.STATE_WORDS[s]))
                                                for s in present.STATES],
                           street_admin=actor().is_street_admin)


@bp.route("/levels.css")
def level_css():
    return Response(present.level_css(), mimetype="text/css",
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.route("/<int:message_id>")
def show(message_id: int):
    d = present.detail(db, actor(), message_id, settings().font, _blob_url)
    db.rollback()  # reading only
    # Offered to those the decision's own check lets through (dispatch._pending).
    may_decide = allowed(lambda a: a.require_broadcast(None, "warning"))
    return render_template("warnings/show.html", d=d, m=d["m"], action_form=DeleteForm(),
                           reject_form=RejectForm(), may_decide=may_decide)


@bp.route("/<int:message_id>/approve", methods=["POST"])
def approve(message_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    _decide(lambda: dispatch.approve(db, actor(), message_id), gettext("Approved: sending."))
    return redirect(url_for("warnings.show", message_id=message_id))


@bp.route("/<int:message_id>/reject", methods=["POST"])
def reject(message_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    _decide(lambda: dispatch.reject(db, actor(), message_id, form.reason.data or ""),
            gettext("Not sent."))
    return redirect(url_for("warnings.show", message_id=message_id))


def _decide(action, done: str) -> None:
    try:
        action()
        db.commit()
        flash(done, "success")
    except ServiceError as err:
        db.rollback()
        if err.status in (403, 404):
            raise
        flash(translate(err), "error")


@bp.route("/<int:message_id>/receipt.json")
def receipt(message_id: int):
    """What the message page polls while the receipt fills."""
    return jsonify(present.receipt(db, actor(), message_id))


@bp.route("/<int:message_id>/receipt.csv")
def receipt_csv(message_id: int):
    body = present.receipt_csv(db, actor(), message_id)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=warning-{message_id}-receipt.csv"})


def _sources_page(form: SourceForm | None = None, shown_secret: tuple[int, str] | None = None,
                  status: int = 200):
    a = actor()
    return render_template(
        "warnings/sources.html", sources=present.sources(db, a),
        form=form or SourceForm(formdata=None),
        intake=present.intake_log(db, a), shown_secret=shown_secret,
        events=present.event_choices(), levels=present.level_choices(),
        actions=[(k, gettext(v)) for k, v in present.ACTION_WORDS.items()],
        modes=[(k, gettext(v)) for k, v in present.MODE_WORDS.items()],
        action_form=DeleteForm(), root=request.url_root.rstrip("/")), status


@bp.route("/sources")
def sources():
    actor().require_role(*_ADMINS)
    return _sources_page()


@bp.route("/sources", methods=["POST"])
def create_source():
    actor().require_role(*_ADMINS)
    form = SourceForm()
    if form.validate_on_submit():
        with form_errors(form):
            src = sources_svc.create_source(db, actor(), _source_in(form))
            db.commit()
            flash(gettext("Source added."), "success")
            # The secret in full once, now; afterwards only its last characters.
            return _sources_page(shown_secret=(src.id, src.secret) if src.secret else None)
    return _sources_page(form, status=422)


def _source_in(form: SourceForm) -> sources_svc.SourceIn:
    return sources_svc.SourceIn(name=form.name.data, kind=form.kind.data, url=form.url.data or "",
                                poll_seconds=form.poll_seconds.data or 60,
                                receipt_url=form.receipt_url.data or "",
                                enabled=bool(form.enabled.data))


@bp.route("/sources/<int:source_id>", methods=["POST"])
def update_source(source_id: int):
    actor().require_role(*_ADMINS)
    form = SourceForm()
    src = sources_svc.get_source(db, actor(), source_id)
    form.kind.data = src.kind  # a source keeps its kind
    if form.validate_on_submit():
        with form_errors(form):
            sources_svc.update_source(db, actor(), source_id, _source_in(form))
            db.commit()
            flash(gettext("Source saved."), "success")
            return redirect(url_for("warnings.sources") + f"#source-{source_id}")
    for f in form:
        for e in f.errors:
            flash(f"{f.label.text}: {e}", "error")
    return redirect(url_for("warnings.sources") + f"#source-{source_id}")


@bp.route("/sources/<int:source_id>/rules", methods=["POST"])
def set_rules(source_id: int):
    actor().require_role(*_ADMINS)
    if not DeleteForm().validate_on_submit():
        abort(400)
    try:
        rules = present.rules_from(request.form.to_dict(flat=False))
        sources_svc.set_rules(db, actor(), source_id, rules)
        db.commit()
        flash(gettext("Rules saved."), "success")
    except ServiceError as err:
        db.rollback()
        if err.status in (403, 404):
            raise
        flash(translate(err), "error")
    return redirect(url_for("warnings.sources") + f"#source-{source_id}")


@bp.route("/sources/<int:source_id>/secret", methods=["POST"])
def rotate_secret(source_id: int):
    actor().require_role(*_ADMINS)
    if not DeleteForm().validate_on_submit():
        abort(400)
    secret = sources_svc.rotate_secret(db, actor(), source_id)
    db.commit()
    flash(gettext("New secret made: the old one no longer works."), "success")
    return _sources_page(shown_secret=(source_id, secret))


@bp.route("/upload", methods=["GET", "POST"])
def upload():
    """A message file from an admin, straight to the intake service (not through the API)."""
    a = actor()
    a.require_role(*_ADMINS)
    form = UploadForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        f = request.files.get("file")
        data = f.stream.read(MAX_BYTES + 1) if f else b""
        if not data:
            flash(gettext("Choose a message file."), "error")
            return render_template("warnings/upload.html", form=form), 422
        source = sources_svc.upload_source(db, a.street_id)
        db.commit()  # made once; receive must start with no write pending (it renders first)
        out = intake.receive_committed(db, source, data, "upload", actor=a)
        if out.outcome == "refused":
            return render_template("warnings/upload.html", form=form,
                                   refused=present.reason_words(out.reason)), 422
        flash(gettext("The message was received.") if out.outcome == "accepted"
              else gettext("This message was received before: nothing changed."),
              "success" if out.outcome == "accepted" else "info")
        return redirect(url_for("warnings.show", message_id=out.message.id))
    return render_template("warnings/upload.html", form=form)
