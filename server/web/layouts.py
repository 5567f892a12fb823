"""Pages for layouts: the list and the editor, with a true-pixel preview for every panel
size the layout reaches. The rules live in services/layouts.py (storage, scope, checks,
fitting) and playlists/layouts.py; the words and the preview pictures in layout_present.py."""

from __future__ import annotations

import base64
from collections import Counter
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import Length, Optional

from playlists import layouts as pl
from playlists.clock import to_us
from server import workpool
from server.config import PEOPLE_TZ
from server.db import db
from server.errors import translate
from server.models import ContentKind, ContentStatus
from server.models import Layout as LayoutRow
from server.services import content as content_svc
from server.services import layouts as svc
from server.services import schedules as schedules_svc
from server.services import topics
from server.services.errors import ServiceError
from server.storage import blob_store, settings
from server.web import layout_present as present
from server.web.forms import DeleteForm
from server.web.helpers import actor, deleted, require_login
from server.web.schedules import PLANNERS, STREET_WIDE, TZ, _community_choices

bp = Blueprint("layouts", __name__, url_prefix="/layouts")
require_login(bp)


class LayoutForm(FlaskForm):
    # The service checks everything with the regions, so all mistakes show at once.
    name = StringField(_l("Name"), validators=[Length(max=120)])
    community_id = SelectField(_l("Community"), coerce=int)
    width = IntegerField(_l("Canvas width (px)"), default=384, validators=[Optional()])
    height = IntegerField(_l("Canvas height (px)"), default=192, validators=[Optional()])
    overlay = BooleanField(_l("Overlay"), default=False,
                           description=_l("An overlay has no main picture: its regions are "
                                          "drawn over whatever layout or playlist plays, with "
                                          "dates and times of its own."))


# --- the list ---------------------------------------------------------------------------


@bp.route("/")
def index():
    a = actor()
    used_by = Counter(sc.layout_id for sc in schedules_svc.list_schedules(db, a)
                      if sc.layout_id is not None)
    return render_template("layouts/index.html", layouts=svc.list_layouts(db, a),
                           used_by=used_by, summary=present.regions_summary,
                           role_labels=present.ROLE_LABELS, can_plan=a.role.value in PLANNERS,
                           may_change=lambda c: schedules_svc.may_change(a, c))


# --- the editor -------------------------------------------------------------------------


def _pickers() -> dict:
    """What a region may show, of the actor's scope: text notices for a ticker (approved,
    and those waiting for review), approved pictures, and topics for a typed line."""
    a = actor()
    notices = []
    for status in (ContentStatus.approved, ContentStatus.submitted):
        for it in content_svc.list_items(db, a, status=status.value,
                                         kind=ContentKind.notice.value):
            notices.append({"id": it.id, "title": it.title,
                            "pending": status != ContentStatus.approved,
                            "snippet": svc.ticker_text(it)[:40]})
    images = [{"id": it.id, "title": it.title}
              for it in content_svc.list_items(db, a, status=ContentStatus.approved.value,
                                               kind=ContentKind.image.value)]
    def lines_for(row: present.RegionRow) -> list[dict]:
        """A ticker's own lines first, in their order (the list scrolls), then the rest."""
        by_id = {x["id"]: x for x in notices}
        mine = [by_id[i] for i in row.line_ids if i in by_id]
        return mine + [x for x in notices if x["id"] not in row.line_ids]

    return {"notices": notices, "lines_for": lines_for, "images": images,
            "topics": [(t.id, t.name) for t in topics.list_topics(db, a)]}


def _previews(model: pl.Layout, scope: LayoutRow, rows: list[present.RegionRow]) -> list[dict]:
    """Each panel size the layout reaches: its picture (a data: URL, rendered in a job
    worker), the warnings, and how many screens have that size."""
    counts = content_svc.screens_by_size(db, scope.street_id, scope.community_id)
    typed = {r.key: r.new_line for r in rows if r.role == "ticker" and r.new_line}
    out, jobs, images = [], [], {}
    for p in svc.previews(db, model, svc.target_sizes(db, scope)):
        # Lines waiting for review are drawn too (the page says so): staff want to see a
        # new line before it is approved.
        tickers = {r.key: tuple(x.text for x in r.lines if x.text.strip())
                   + ((typed[r.key],) if r.key in typed else ())
                   for r in p.layout.regions if r.role == "ticker"}
        jobs.append(present.PreviewJob(p.layout, gettext("Main screen"), tickers))
        for r in p.layout.regions:
            if r.role == "image" and r.image is not None:
                images[r.image.sha256] = str(blob_store().path(r.image.sha256))
        scale = present.enlargement(p.width)
        out.append({"w": p.width, "h": p.height, "mono": p.layout.mono,
                    "screens": counts.get(p.key, 0),
                    "label": present.size_label(p.width, p.height),
                    "display_w": p.width * scale, "display_h": p.height * scale,
                    "warnings": [present.warning_text(w, model, p.width, p.height)
                                 for w in p.warnings]})
    if jobs:
        pngs = workpool.run(present.render_previews, jobs, images,
                            to_us(datetime.now(UTC)), PEOPLE_TZ)
        for o, png in zip(out, pngs, strict=True):
            o["src"] = "data:image/png;base64," + base64.b64encode(png).decode()
    return out


def _scope(form: LayoutForm, layout: LayoutRow | None) -> LayoutRow:
    """An unsaved row naming the layout's scope (for its panel sizes; never added to the
    session)."""
    if layout is not None:
        return layout
    return LayoutRow(street_id=actor().street_id, community_id=form.community_id.data or None)


def _page(form: LayoutForm, rows: list[present.RegionRow], errors: dict, *,
          layout: LayoutRow | None = None, model: pl.Layout | None = None,
          presets: list | None = None, preset_index: int = 0):
    previews = None
    if model is not None:
        previews = _previews(model, _scope(form, layout), rows)
    problems = {**errors, **{f"region-{r.n}": r.messages for r in rows if r.errors}}
    return render_template(
        "layouts/form.html", form=form, rows=rows, errors=errors, problems=problems,
        layout=layout, presets=presets, preset_index=preset_index, previews=previews,
        **_pickers(), blank_row=present.RegionRow(n=-1, role="ticker"),
        role_options=present.role_options(), role_labels=present.ROLE_LABELS,
        clock_options=present.clock_options(datetime.now(TZ)),
        direction_options=present.direction_options(), delete_form=DeleteForm(),
        title=gettext("Edit layout") if layout else gettext("New layout"))


def show_errors(form: LayoutForm, rows: list[present.RegionRow], errors: dict,
                err: ServiceError) -> None:
    """A service's refusal next to what it is about: the region it names (by its key), a
    field of the form, or above the regions."""
    if err.status == 403 or (err.status == 404 and err.field not in form._fields):
        raise err
    for one in getattr(err, "errors", None) or [err]:
        message = translate(one)
        key = one.params.get("region")
        mine = [r for r in rows if key and r.key == key]
        for row in mine:
            row.error(present.FIELD_OF_CODE.get(getattr(one, "code", ""), "region"), message)
        if mine:
            continue
        name = one.field or ""
        if name in form._fields and name != "csrf_token":
            if message not in form[name].errors:
                form[name].errors = [*form[name].errors, message]
        else:
            errors.setdefault("regions", []).append(message)


def _fields(form: LayoutForm, regions: list[dict]) -> dict:
    return {"name": form.name.data or "", "overlay": bool(form.overlay.data),
            "width": form.width.data, "height": form.height.data, "regions": regions}


def _add_typed_lines(layout: LayoutRow, rows: list[present.RegionRow], errors: dict) -> bool:
    """Each line typed into a ticker becomes a notice sent to review (one transaction
    each, after the layout is saved: rendering it must not hold the write lock). False if
    one was refused (marked on its row, which keeps the text)."""
    ok = True
    for row in rows:
        if row.role != "ticker" or not row.new_line:
            continue
        try:
            svc.add_typed_line(db, actor(), blob_store(), layout.id, row.key, row.new_line,
                               row.topic_id or 0, settings().font)
            db.commit()
            row.new_line = ""
        except ServiceError as err:
            db.rollback()
            if err.status == 403:
                raise
            row.error("new_line", translate(err))
            ok = False
    return ok


def _post(form: LayoutForm, layout: LayoutRow | None):
    """Preview or save the posted editor: a redirect, or the page again."""
    a = actor()
    rows = present.rows_from_form(request.form)
    errors: dict[str, list[str]] = {}
    regions = present.stored_regions(rows)
    if not form.validate_on_submit() or regions is None:
        return _page(form, rows, errors, layout=layout)
    existing = layout
    community_id = layout.community_id if layout else (form.community_id.data or None)
    saving = request.form.get("action") == "save"
    try:
        if not saving:
            model = svc.draft(db, a, community_id=community_id, **_fields(form, regions))
            return _page(form, rows, errors, layout=layout, model=model)
        if layout is None:
            layout = svc.create_layout(db, a, community_id=community_id,
                                       **_fields(form, regions))
        else:
            svc.update_layout(db, a, layout.id, **_fields(form, regions))
        db.commit()
    except ServiceError as err:
        db.rollback()
        show_errors(form, rows, errors, err)
        return _page(form, rows, errors, layout=existing)
    typed = any(r.role == "ticker" and r.new_line for r in rows)
    if not _add_typed_lines(layout, rows, errors):
        flash(gettext("The layout is saved, but a new ticker line was not: see below."),
              "error")
        return _page(form, rows, errors, layout=layout, model=svc.model(db, layout))
    flash(gettext("The layout is saved. The new ticker lines went to review; screens show "
                  "them once they are approved.") if typed
          else gettext("The layout is saved."), "ok")
    return redirect(url_for("layouts.edit", layout_id=layout.id))


@bp.route("/new", methods=["GET", "POST"])
def new():
    schedules_svc.require_planner(actor())  # the save's own rule: no form for those it refuses
    form = LayoutForm()
    _community_choices(form.community_id)
    if request.method == "POST":
        return _post(form, None)
    presets = svc.presets()
    index = request.args.get("preset", 0, type=int)
    index = index if 0 <= index < len(presets) else 0
    p = presets[index]
    form.name.data = gettext(p["name"])
    form.width.data, form.height.data, form.overlay.data = p["width"], p["height"], p["overlay"]
    form.community_id.data = form.community_id.choices[0].value \
        if form.community_id.choices else STREET_WIDE
    # The drawing as it is, unchecked: an image region still needs its picture, which the
    # editor asks for when it is previewed or saved.
    model = svc.to_model(LayoutRow(**{k: p[k] for k in svc.SNAPSHOT if k != "name"},
                                   name=form.name.data), {})
    shown = [{**x, "name": gettext(x["name"])} for x in presets]
    return _page(form, present.rows_from_stored(p["regions"]), {}, model=model,
                 presets=shown, preset_index=index)


@bp.route("/<int:layout_id>", methods=["GET", "POST"])
def edit(layout_id: int):
    layout = svc.editable_layout(db, actor(), layout_id)  # the save's check, before any form
    form = LayoutForm(obj=layout) if request.method == "GET" else LayoutForm()
    _community_choices(form.community_id)
    if request.method == "POST":
        return _post(form, layout)
    form.community_id.data = layout.community_id or STREET_WIDE
    return _page(form, present.rows_from_stored(layout.regions), {}, layout=layout,
                 model=svc.model(db, layout))


@bp.route("/<int:layout_id>/delete", methods=["POST"])
def delete(layout_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    if not deleted(lambda: svc.delete_layout(db, actor(), layout_id)):
        return redirect(url_for("layouts.edit", layout_id=layout_id))
    flash(gettext("The layout is deleted."), "ok")
    return redirect(url_for("layouts.index"))
