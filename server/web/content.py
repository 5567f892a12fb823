"""Pages of the content library: list, upload, notices, item page, review queue, topics."""

from __future__ import annotations

import base64
from datetime import datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from wtforms.fields.choices import SelectChoice

from server.config import PEOPLE_TZ
from server.db import db
from server.errors import translate
from server.models import ContentKind
from server.services import content as svc
from server.services import escalation, panel_fit, receipts, review_rules, topics, tree
from server.services.errors import N_, Invalid, ServiceError
from server.storage import blob_store, send_blob, settings, upload_limits
from server.web.forms import (
    TEMPLATE_LABELS,
    ContentMetaForm,
    DeleteForm,
    NoticeForm,
    RejectForm,
    StreetReviewForm,
    TopicForm,
)
from server.web.helpers import actor, allowed, form_errors, require_login
from server.web.schedules import target_labels

bp = Blueprint("content", __name__)
STREET_WIDE = 0
TZ = ZoneInfo(PEOPLE_TZ)


require_login(bp)


# --- helpers ----------------------------------------------------------------------


def _choices(form: ContentMetaForm) -> None:
    a = actor()
    form.topic_id.choices = [SelectChoice(t.id, t.name) for t in topics.list_topics(db, a)]
    communities = tree.list_communities(db, a)
    if a.is_street_admin:
        form.community_id.choices = [SelectChoice(STREET_WIDE, gettext("— street-wide —"))] + [
            SelectChoice(c.id, c.name) for c in communities]
    else:
        form.community_id.choices = [SelectChoice(c.id, c.name) for c in communities
                                     if c.id == a.community_id]


def _aware(value: datetime | None) -> datetime | None:
    """A time typed by a person is Asia/Shanghai time."""
    return value.replace(tzinfo=TZ) if value is not None else None


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(TZ).replace(tzinfo=None) if value is not None else None


def _tags(raw: str | None) -> list[str]:
    return [t.strip() for t in (raw or "").replace("，", ",").split(",") if t.strip()]


def _meta(form: ContentMetaForm) -> svc.Meta:
    return svc.Meta(title=form.title.data, topic_id=form.topic_id.data,
                    community_id=form.community_id.data or None,
                    valid_from=_aware(form.valid_from.data),
                    valid_until=_aware(form.valid_until.data),
                    duration_s=form.duration_s.data, tags=_tags(form.tags.data))


def _text(form: NoticeForm) -> svc.NoticeText:
    return svc.NoticeText(title=(form.notice_title.data or "").strip(),
                          body=form.notice_body.data or "",
                          footer=(form.notice_footer.data or "").strip(),
                          template=form.notice_template.data,
                          exclude=list(form.exclude_sizes.data or []))


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _variants(form: NoticeForm) -> list[svc.Variant]:
    """The notice rendered at every LED size it would reach (in a job worker)."""
    text = _text(form)
    return svc.render_variants(
        svc.notice_sizes(db, actor().street_id, form.community_id.data or None), text.title,
        text.body, text.footer, text.template, settings().font, exclude=text.exclude or ())


def _previews(form: NoticeForm, variants: list[svc.Variant] | None = None) -> list[dict]:
    """Every LED size the notice would reach, at true pixel size, with how many screens
    have that size (the cost of leaving it out)."""
    counts = svc.screens_by_size(db, actor().street_id, form.community_id.data or None)
    out = []
    for v in variants if variants is not None else _variants(form):
        out.append({
            "key": v.key, "screens": counts.get(v.key, 0), "excluded": v.excluded,
            "width": v.width, "height": v.height, "mode": v.colour_mode.value,
            "images": [_data_url(png) for png in v.render.pages] if v.render else [],
            "layout": v.render.mode if v.render else None,
            "font_px": v.render.font_px if v.render else None,
            "error": translate(v.error) if v.error else None,
        })
    return out


def _fit_choice(previews: list[dict] | None) -> list[dict]:
    """The sizes the editor must decide on: those that cannot show the text, and those
    already left out (to take back)."""
    return [p for p in previews or [] if p["error"] or p["excluded"]]



# --- pages --------------------------------------------------------------------------


@bp.route("/content/")
def index():
    args = request.args
    items = svc.list_items(db, actor(), status=args.get("status") or None,
                           topic_id=args.get("topic_id", type=int),
                           kind=args.get("kind") or None, search=args.get("q") or None)
    return render_template("content/index.html", items=items, args=args,
                           may_write=_may_write(),
                           topics=topics.list_topics(db, actor(), active_only=False))


@bp.route("/content/upload", methods=["GET"])
def upload_page():
    svc.require_writer(actor())  # the upload's own rule: no form for those it refuses
    form = ContentMetaForm()
    _choices(form)
    return render_template("content/upload.html", form=form,
                           max_mb=settings().max_upload_bytes // (1024 * 1024))


@bp.route("/content/upload", methods=["POST"])
def upload():
    """Files in, one draft each. Two ways to send them:

    - the raw request body, metadata in the query string: the page's script streams each
      dropped file this way (straight to disk), with a progress bar per file;
    - a standard multipart/form-data form, metadata as form fields: what a browser without
      JavaScript or a script (curl -F file=@a.jpg) sends.

    A script gets JSON; a browser's form post is redirected to what it made.
    """
    a = actor()
    values = request.values  # query string and form fields alike
    multipart = request.mimetype == "multipart/form-data"
    try:
        if multipart:
            files = [(f.stream, f.filename or "") for _k, f in request.files.items(multi=True)
                     if f.filename or f.content_length]
            if not files:
                raise Invalid(N_("Choose a file to upload (the form field “file”)."),
                              field="file")
        else:
            files = [(request.stream, unquote(request.headers.get("X-Filename", "")))]
        items = []
        for stream, filename in files:
            item = svc.upload(db, a, blob_store(), stream, filename,
                              _upload_meta(values, filename, several=len(files) > 1),
                              upload_limits())
            db.commit()
            items.append(item)
    except ServiceError as err:
        db.rollback()
        if multipart and _wants_html():
            flash(translate(err), "error")
            return redirect(url_for("content.upload_page"))
        return jsonify({"error": {"code": err.code, "message": translate(err),
                                  "field": err.field}}), err.status
    if multipart and _wants_html():
        if len(items) == 1:
            return redirect(url_for("content.item", item_id=items[0].id))
        flash(gettext("%(n)d files uploaded.", n=len(items)), "ok")
        return redirect(url_for("content.index", status="draft"))
    out = [{"id": i.id, "url": url_for("content.item", item_id=i.id)} for i in items]
    return jsonify({**out[0], "items": out} if multipart else out[0]), 201


def _upload_meta(values, filename: str, several: bool) -> svc.Meta:
    title = values.get("title", "")
    if several or not title:  # each file of several is titled after its own name
        title = (filename.rsplit(".", 1)[0] or filename)[:120]
    return svc.Meta(
        title=title, topic_id=values.get("topic_id", type=int) or 0,
        community_id=values.get("community_id", type=int) or None,
        valid_from=_aware(_parse_local(values.get("valid_from"))),
        valid_until=_aware(_parse_local(values.get("valid_until"))),
        duration_s=values.get("duration_s", type=float) or 10.0,
        tags=_tags(values.get("tags")),
    )


def _may_write() -> bool:
    return allowed(svc.require_writer)


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _parse_local(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None


@bp.route("/content/notice/new", methods=["GET", "POST"])
def new_notice():
    svc.require_writer(actor())  # the save's own rule: no form for those it refuses
    form = NoticeForm()
    _choices(form)
    previews = None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            previews = _previews(form)
        else:
            # Rendered once: saved if every size fits (or is left out), else shown.
            variants = _variants(form)
            with form_errors(form):
                item = svc.create_notice(db, actor(), blob_store(), _meta(form), _text(form),
                                         settings().font, variants=variants)
                if request.form.get("action") == "submit":
                    svc.submit(db, actor(), item.id)
                db.commit()
                flash(_saved_message(item), "ok")
                return redirect(url_for("content.item", item_id=item.id))
            previews = _previews(form, variants)  # the refusal is shown with the previews
    return render_template("content/notice_form.html", form=form, previews=previews,
                           fit=_fit_choice(previews), title=gettext("New notice"))


def _item_page(it, reject_form: RejectForm):
    may_edit = _may_edit(it.id)
    mark = StreetReviewForm(street_review=(it.pending or it).street_review) \
        if may_edit and it.community_id is not None else None
    return render_template("content/item.html", item=it, reject_form=reject_form,
                           action_form=DeleteForm(), template_labels=TEMPLATE_LABELS,
                           changes=svc.edit_changes(it),
                           placements=svc.placements(db, [it.id])[it.id],
                           target_labels=target_labels, shape_warnings=_shape_warnings(it),
                           may_edit=may_edit, mark_form=mark,
                           decision=svc.decision(db, actor(), it),
                           trail=svc.review_trail(db, it),
                           receipt=receipts.latest_for(db, actor(), "content", it.id))


@bp.route("/content/<int:item_id>/street-review", methods=["POST"])
def mark_for_street(item_id: int):
    form = StreetReviewForm()
    if not form.validate_on_submit():
        abort(400)
    svc.mark_for_street(db, actor(), item_id, bool(form.street_review.data))
    db.commit()
    flash(gettext("Saved: after the community, the street must approve it too.")
          if form.street_review.data else gettext("Saved: the community's approval is enough "
                                                  "unless a rule asks for the street's."), "ok")
    return redirect(url_for("content.item", item_id=item_id))


def _may_edit(item_id: int) -> bool:
    """Whether to offer 编辑: the save's own check (services/content.editable_item)."""
    return allowed(lambda a: svc.editable_item(db, a, item_id))


def _shape_warnings(it) -> list:
    """The screen sizes of the item's scope a picture or clip leaves black bars on."""
    if it.kind not in (ContentKind.image, ContentKind.video):
        return []
    return panel_fit.mismatches(it.width, it.height,
                                tree.fleet_sizes(db, it.street_id, it.community_id))


@bp.route("/content/<int:item_id>")
def item(item_id: int):
    return _item_page(svc.get_item(db, actor(), item_id), RejectForm())


def _saved_message(it) -> str:
    """What happened to a save, in the editor's words (is the old version still on air?)."""
    if it.pending is not None and it.pending.status.value == "submitted":
        return gettext("Your changes were submitted for review. Screens keep playing revision "
                       "%(old)d until a reviewer approves revision %(new)d.",
                       old=it.revision, new=it.pending.revision)
    if it.status.value == "submitted":
        return gettext("Submitted for review. A reviewer will find it in the review queue.")
    return gettext("Saved as a draft. It reaches no screen until it is submitted and "
                   "approved.") if it.status.value in ("draft", "rejected") else gettext("Saved.")


@bp.route("/content/<int:item_id>/edit", methods=["GET", "POST"])
def edit(item_id: int):
    it = svc.editable_item(db, actor(), item_id)  # the save's check, before any form
    is_notice = it.kind == ContentKind.notice
    form_class = NoticeForm if is_notice else ContentMetaForm
    shown = it.pending or it  # an edit waiting for review is what the editor continues
    form = form_class(obj=shown)
    _choices(form)
    if not form.is_submitted():
        form.community_id.data = shown.community_id or STREET_WIDE
        form.valid_from.data = _local(shown.valid_from)
        form.valid_until.data = _local(shown.valid_until)
        form.tags.data = ", ".join(shown.tags)
        if is_notice:
            form.exclude_sizes.data = list(shown.notice_excluded_sizes or [])
    previews = None
    if form.validate_on_submit():
        if is_notice and request.form.get("action") == "preview":
            previews = _previews(form)
        else:
            m = _meta(form)
            with form_errors(form):
                svc.update(db, actor(), blob_store(), it.id, meta=m.__dict__,
                           text=_text(form) if is_notice else None, font=settings().font)
                if request.form.get("action") == "submit" and it.pending is None:
                    svc.submit(db, actor(), it.id)
                db.commit()
                flash(_saved_message(it), "ok")
                return redirect(url_for("content.item", item_id=it.id))
            if is_notice:
                previews = _previews(form)  # the refusal is shown with the previews
    template = "content/notice_form.html" if is_notice else "content/meta_form.html"
    if is_notice and previews is None and form.exclude_sizes.data:
        previews = _previews(form)  # what was left out, and the way to take it back
    return render_template(template, form=form, previews=previews, item=it,
                           fit=_fit_choice(previews), title=gettext("Edit content"))


def _action(item_id: int, fn, *args):
    if not DeleteForm().validate_on_submit():
        abort(400)
    fn(db, actor(), item_id, *args)
    db.commit()
    return redirect(request.referrer if request.referrer and
                    request.referrer.startswith(request.host_url)
                    else url_for("content.item", item_id=item_id))


@bp.route("/content/<int:item_id>/submit", methods=["POST"])
def submit(item_id: int):
    out = _action(item_id, svc.submit)
    flash(_saved_message(svc.get_item(db, actor(), item_id)), "ok")
    return out


@bp.route("/content/<int:item_id>/approve", methods=["POST"])
def approve(item_id: int):
    out = _action(item_id, svc.approve)
    it = svc.get_item(db, actor(), item_id)
    if (it.pending or it).review_stage == review_rules.STREET:
        flash(gettext("“%(title)s” approved for the community; it now waits for the "
                      "street's approval.", title=it.title), "ok")
    else:
        flash(gettext("“%(title)s” approved: revision %(n)d is what screens play now.",
                      title=it.title, n=it.revision), "ok")
    return out


@bp.route("/content/<int:item_id>/discard-edit", methods=["POST"])
def discard_edit(item_id: int):
    out = _action(item_id, svc.discard_edit)
    flash(gettext("The edit was discarded; screens keep playing the approved version."), "ok")
    return out


@bp.route("/content/<int:item_id>/archive", methods=["POST"])
def archive(item_id: int):
    return _action(item_id, svc.archive)


@bp.route("/content/<int:item_id>/reject", methods=["POST"])
def reject(item_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        return _item_page(svc.get_item(db, actor(), item_id), form), 422
    it = svc.reject(db, actor(), item_id, form.reason.data)
    db.commit()
    flash(gettext("“%(title)s” was sent back to its editor with your reason.", title=it.title)
          + (" " + gettext("Screens keep playing the approved version.")
             if it.status.value == "approved" else ""), "ok")
    return redirect(url_for("content.review"))


@bp.route("/content/<int:item_id>/blob/<sha>")
def blob(item_id: int, sha: str):
    b = svc.blob_for(db, actor(), item_id, sha)
    return send_blob(b.sha256, b.mime)


@bp.route("/review")
def review():
    """What this reviewer can decide; ?all=1 also what waits for another level."""
    everything = request.args.get("all") == "1"
    return render_template("content/review.html",
                           reviews=svc.review_queue(db, actor(), everything=everything),
                           everything=everything, reject_form=RejectForm(),
                           action_form=DeleteForm(), target_labels=target_labels,
                           template_labels=TEMPLATE_LABELS,
                           escalation_period=escalation.shown_to(db, actor()))


@bp.route("/topics", methods=["GET", "POST"])
def topic_list():
    form = TopicForm()
    if form.validate_on_submit():
        with form_errors(form):
            topics.create_topic(db, actor(), form.name.data)
            db.commit()
            return redirect(url_for("content.topic_list"))
    return render_template("content/topics.html", form=form, action_form=DeleteForm(),
                           may_manage=allowed(topics.require_topic_admin),
                           topics=topics.list_topics(db, actor(), active_only=False))


@bp.route("/topics/<int:topic_id>/toggle", methods=["POST"])
def toggle_topic(topic_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    t = topics.get_topic(db, actor(), topic_id, active=False)
    topics.set_active(db, actor(), t.id, not t.active)
    db.commit()
    return redirect(url_for("content.topic_list"))
