"""Pages for playlists, schedules, the week calendar of a terminal and its preview."""

from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from server.config import PEOPLE_TZ
from server.db import db
from server.errors import translate
from server.models import ContentItem, ContentKind, Role
from server.services import layouts as layouts_svc
from server.services import receipts, tree
from server.services import schedules as svc
from server.services.errors import ServiceError
from server.services.naming import name_key
from server.web.audit_present import OBJECTS
from server.web.forms import DeleteForm
from server.web.helpers import actor, allowed, deleted, require_login
from server.web.layout_present import regions_summary
from server.web.mandate_present import shortfall_warnings

bp = Blueprint("schedules", __name__)
TZ = ZoneInfo(PEOPLE_TZ)
STREET_WIDE = 0
PLANNERS = {r.value for r in svc.PLANNERS}

KIND_LABELS = {
    "normal": _l("Normal"),
    "filler": _l("Filler"),
    "interrupt": _l("Interrupt"),
    "fallback": _l("Built-in filler"),
    "none": _l("Nothing plays"),
}
WEEKDAYS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


require_login(bp)


# --- forms --------------------------------------------------------------------------


class PlaylistForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    community_id = SelectField(_l("Community"), coerce=int)


class TargetFields:
    """Where something plays: the street, communities, buildings, terminals, tags (schedules
    and broadcasts)."""

    street = BooleanField(_l("The whole street"))
    communities = SelectMultipleField(_l("Communities"), coerce=int, validate_choice=False)
    buildings = SelectMultipleField(_l("Buildings"), coerce=int, validate_choice=False)
    terminals = SelectMultipleField(_l("Terminals"), coerce=int, validate_choice=False)
    tags = SelectMultipleField(_l("Terminals with the tag"), validate_choice=False)


class RecurrenceFields:
    """When something applies: dates, weekdays, daily windows (schedules, screen plans)."""

    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    # None ticked at first: a plan's days are a choice, not a silent 每天.
    weekdays = SelectMultipleField(_l("Days of the week"), coerce=int, default=[],
                                   choices=[SelectChoice(i, d) for i, d in enumerate(WEEKDAYS)],
                                   validate_choice=False)
    windows = StringField(_l("Daily time windows"), default="00:00-00:00",
                          validators=[Length(max=400)],
                          description=_l("For example 07:00-12:00, 14:00-22:00. A window may "
                                         "cross midnight (22:00-06:00); 00:00-00:00 is all "
                                         "day."))


class ScheduleForm(TargetFields, RecurrenceFields, FlaskForm):
    # The service checks the name with everything else, so all mistakes show at once.
    name = StringField(_l("Name"), validators=[Length(max=120)])
    community_id = SelectField(_l("Community"), coerce=int)
    # A schedule plays a playlist or frames the screen with a layout (its main region then
    # plays what the playlist schedules say); a layout schedule has no kind.
    plays = RadioField(_l("It plays"), default="playlist", validate_choice=False, choices=[
        SelectChoice("playlist", _l("A playlist")), SelectChoice("layout", _l("A layout"))])
    playlist_id = SelectField(_l("Playlist"), coerce=int, validate_choice=False)
    layout_id = SelectField(_l("Layout"), coerce=int, validate_choice=False)
    kind = SelectField(_l("Kind"))
    priority = IntegerField(_l("Priority"), default=0, validators=[Optional()],
                            description=_l("Higher plays first among schedules of the same "
                                           "kind (-1000 to 1000)."))
    active = BooleanField(_l("Active"), default=True)


class ScreenPlanForm(TargetFields, RecurrenceFields, FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    community_id = SelectField(_l("Community"), coerce=int)
    screen_on = SelectField(_l("Screen"), coerce=int, choices=[
        SelectChoice(1, _l("on")), SelectChoice(0, _l("off"))], default=0)
    brightness = IntegerField(_l("Brightness (%)"), default=100,
                              validators=[NumberRange(0, 100)])
    priority = IntegerField(_l("Priority"), default=0, validators=[Optional()],
                            description=_l("Where plans overlap, the higher one applies."))


def _community_choices(field: SelectField) -> None:
    a = actor()
    communities = tree.list_communities(db, a)
    if a.is_street_admin:
        field.choices = [SelectChoice(STREET_WIDE, gettext("— street-wide —"))] + [
            SelectChoice(c.id, c.name) for c in communities]
    else:
        field.choices = [SelectChoice(c.id, c.name) for c in communities
                         if c.id == a.community_id]


def show_field_error(form: FlaskForm, err: ServiceError, errors: dict[str, list[str]]) -> None:
    """A service error next to its field ("entries.duration_s" goes to "entries")."""
    if err.status in (403, 404):
        raise err
    if isinstance(err, svc.Problems):
        for one in err.errors:
            show_field_error(form, one, errors)
        return
    message = translate(err)
    name = (err.field or "").split(".")[0]
    if name in form._fields:
        form[name].errors = [*form[name].errors, message]
    elif name:
        errors.setdefault(name, []).append(message)
    else:
        flash(message, "error")


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(TZ).strftime(fmt) if value else ""


# --- playlists ------------------------------------------------------------------------


def thumb_url(item: ContentItem) -> str | None:
    sha = item.thumbnail_sha256 or (item.renditions[0].blob_sha256 if item.renditions else None)
    if sha is None and item.kind == ContentKind.image:
        sha = item.blob_sha256
    return url_for("content.blob", item_id=item.id, sha=sha) if sha else None


def _row(item: ContentItem | None, content_id: int, duration: str) -> dict:
    return {"content_id": content_id, "duration": duration,
            "title": item.title if item else f"#{content_id}",
            "thumb": thumb_url(item) if item else None,
            "seconds": item.play_seconds if item else None,
            "status": item.status.value if item else None}


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else ""


def _posted_entries(known: dict[int, ContentItem]) -> tuple[list[dict], list[svc.EntryIn],
                                                          str | None]:
    """The entries as posted, in order: rows to show again, entries to save, a parse error."""
    ids = request.form.getlist("content_id")
    durations = request.form.getlist("duration_s")
    rows, entries, error = [], [], None
    for n, raw_id in enumerate(ids):
        raw = (durations[n] if n < len(durations) else "").strip()
        try:
            content_id = int(raw_id)
        except ValueError:
            error = gettext("Unknown content item.")
            continue
        seconds = None
        if raw:
            try:
                seconds = float(raw.replace("，", ".").replace(",", "."))
            except ValueError:
                seconds = math.nan
            if not math.isfinite(seconds):
                error = gettext("A duration is a number of seconds, e.g. 12.5.")
        rows.append(_row(known.get(content_id), content_id, raw))
        entries.append(svc.EntryIn(content_id=content_id, duration_s=seconds))
    return rows, entries, error


def _playlist_page(form: PlaylistForm, rows: list[dict], errors: dict, playlist=None):
    available = svc.approved_content(db, actor())
    return render_template("schedules/playlist_form.html", form=form, rows=rows, errors=errors,
                           playlist=playlist, available=available, thumb_url=thumb_url,
                           delete_form=DeleteForm(),
                           can_plan=True,  # only planners reach it (editable_playlist)
                           title=gettext("Edit playlist") if playlist else gettext("New playlist"))


def _save_playlist(form: PlaylistForm, playlist=None):
    """Save the posted form: a redirect, or the page again with the errors by their fields."""
    a = actor()
    known = {c.id: c for c in svc.approved_content(db, a)}
    if playlist is not None:
        known.update({e.content_id: e.content for e in playlist.entries})
    rows, entries, parse_error = _posted_entries(known)
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        if parse_error:
            errors["entries"] = [parse_error]
        else:
            try:
                if playlist is None:
                    p = svc.create_playlist(db, a, form.name.data, entries,
                                            community_id=form.community_id.data or None)
                else:
                    p = svc.update_playlist(db, a, playlist.id, name=form.name.data,
                                            entries=entries)
                db.commit()
                flash(gettext("The playlist is saved."), "ok")
                return redirect(url_for("schedules.edit_playlist", playlist_id=p.id))
            except ServiceError as err:
                db.rollback()
                show_field_error(form, err, errors)
    return _playlist_page(form, rows, errors, playlist=playlist)


def loop_seconds(p) -> float:
    return sum(e.content.play_seconds if e.duration_s is None else e.duration_s
               for e in p.entries)


@bp.route("/playlists/")
def playlists():
    items = svc.list_playlists(db, actor())
    a = actor()
    return render_template("schedules/playlists.html", playlists=items, loop_seconds=loop_seconds,
                           can_plan=a.role.value in PLANNERS,
                           may_change=lambda community_id: svc.may_change(a, community_id))


@bp.route("/playlists/new", methods=["GET", "POST"])
def new_playlist():
    svc.require_planner(actor())  # the save's own rule: no form for those it refuses
    form = PlaylistForm()
    _community_choices(form.community_id)
    if request.method == "POST":
        return _save_playlist(form)
    if request.args.get("community_id", type=int):
        form.community_id.data = request.args.get("community_id", type=int)
    return _playlist_page(form, [], {})


@bp.route("/playlists/<int:playlist_id>", methods=["GET", "POST"])
def edit_playlist(playlist_id: int):
    p = svc.editable_playlist(db, actor(), playlist_id)  # the save's check, before any form
    form = PlaylistForm(obj=p)
    _community_choices(form.community_id)
    if request.method == "POST":
        return _save_playlist(form, p)
    form.community_id.data = p.community_id or STREET_WIDE
    rows = [_row(e.content, e.content_id, _number(e.duration_s)) for e in p.entries]
    return _playlist_page(form, rows, {}, playlist=p)


@bp.route("/playlists/<int:playlist_id>/delete", methods=["POST"])
def delete_playlist(playlist_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    if not deleted(lambda: svc.delete_playlist(db, actor(), playlist_id)):
        return redirect(url_for("schedules.edit_playlist", playlist_id=playlist_id))
    return redirect(url_for("schedules.playlists"))


# --- schedules ------------------------------------------------------------------------

_DASHES = re.compile(r"\s*(?:-|–|—|~|～|至|到)\s*")
_SEPARATORS = re.compile(r"[,，;；、\s]+")


def _hhmm(value: str) -> str:
    value = value.replace("：", ":")
    return "0" + value if re.fullmatch(r"\d:\d\d", value) else value


def parse_windows(text: str | None) -> list[tuple[str, str]]:
    """"07:00-12:00, 14:00-22:00" → [("07:00", "12:00"), ("14:00", "22:00")].

    Anything malformed is passed on as it is; the service says how to write it.
    """
    out = []
    for part in _SEPARATORS.split(_DASHES.sub("-", (text or "").strip())):
        if part:
            start, _sep, end = part.partition("-")
            out.append((_hhmm(start), _hhmm(end)))
    return out


def _windows_text(windows: list) -> str:
    return ", ".join(f"{a}-{b}" for a, b in windows)


def _schedule_choices(form: ScheduleForm) -> None:
    a = actor()
    _community_choices(form.community_id)
    form.playlist_id.choices = [SelectChoice(p.id, p.name)
                                for p in svc.list_playlists(db, a)]
    form.layout_id.choices = [
        SelectChoice(x.id, gettext("%(name)s (overlay)", name=x.name) if x.overlay else x.name)
        for x in layouts_svc.list_layouts(db, a)]
    kinds = ["normal", "filler"]
    if a.role in (Role.street_admin, Role.community_admin):
        kinds.append("interrupt")
    form.kind.choices = [SelectChoice(k, KIND_LABELS[k]) for k in kinds]
    # A layout schedule has no kind: what the hidden picker still holds is not checked.
    form.kind.validate_choice = form.plays.data != "layout"
    target_choices(form)


def target_choices(form: TargetFields) -> None:
    """The tags to offer; the places come from the target tree the template draws
    (web/targets.py), which the server checks again on save (schedules.check_targets)."""
    form.tags.choices = [SelectChoice(t, t) for t in svc.tags_in_scope(db, actor())]


def _recurrence(form: ScheduleForm | ScreenPlanForm) -> svc.Recurrence:
    return svc.Recurrence(start_date=form.start_date.data, end_date=form.end_date.data,
                          weekdays=list(form.weekdays.data or []),
                          windows=parse_windows(form.windows.data),
                          priority=form.priority.data or 0)


def targets_of(form: TargetFields) -> list[svc.TargetIn]:
    out = [svc.TargetIn("street")] if form.street.data else []
    out += [svc.TargetIn("community", i) for i in form.communities.data or []]
    out += [svc.TargetIn("building", i) for i in form.buildings.data or []]
    out += [svc.TargetIn("terminal", i) for i in form.terminals.data or []]
    out += [svc.TargetIn("tag", tag=t) for t in form.tags.data or []]
    return out


def target_labels(targets) -> list[dict]:
    """Each target as {label, calendar url or None}, for lists: the street, communities,
    buildings, terminals, then tags, each in natural name order."""
    a = actor()
    out = []
    for t in targets:
        kind, url, label = t.kind.value, None, None
        try:
            if kind == "street":
                label = gettext("The whole street")
            elif kind == "tag":
                label = gettext("Tag: %(tag)s", tag=t.tag)
            elif kind == "community":
                label = tree.get_community(db, a, t.ref_id).name
            elif kind == "building":
                label = tree.get_building(db, a, t.ref_id).name
                url = url_for("schedules.calendar", building_id=t.ref_id)
            else:
                label = tree.get_terminal(db, a, t.ref_id).name
                url = url_for("schedules.calendar", terminal_id=t.ref_id)
        except ServiceError:
            label, url = f"{OBJECTS[kind]} #{t.ref_id}", None  # gone, or not this actor's
        out.append((_TARGET_ORDER.index(kind), name_key(label), {"label": label, "url": url}))
    return [x for _rank, _key, x in sorted(out, key=lambda x: x[:2])]


_TARGET_ORDER = ("street", "community", "building", "terminal", "tag")


def _what_plays(form: ScheduleForm) -> dict:
    """The playlist or the layout the form chose (the other one is left out), and the kind
    (a layout schedule's is ignored: its priority ranks it among layouts)."""
    if form.plays.data == "layout":
        return {"layout_id": form.layout_id.data, "playlist_id": None, "kind": "normal"}
    return {"playlist_id": form.playlist_id.data, "layout_id": None, "kind": form.kind.data}


def _follow_choice(form: ScheduleForm) -> None:
    """"Choose a playlist or a layout" belongs by the picker that is shown."""
    if form.plays.data == "layout" and form.playlist_id.errors:
        form.layout_id.errors = [*form.layout_id.errors, *form.playlist_id.errors]
        form.playlist_id.errors = []


def _schedule_page(form: ScheduleForm, errors: dict, schedule=None):
    return render_template("schedules/schedule_form.html", form=form, errors=errors,
                           schedule=schedule, delete_form=DeleteForm(),
                           receipt=receipts.latest_for(db, actor(), "schedule", schedule.id)
                           if schedule else None,
                           weekday_labels=WEEKDAYS,
                           title=gettext("Edit schedule") if schedule else gettext("New schedule"))


@bp.route("/schedules/")
def index():
    a = actor()
    return render_template("schedules/index.html", schedules=svc.list_schedules(db, a),
                           kinds=KIND_LABELS, weekdays=WEEKDAYS, target_labels=target_labels,
                           windows_text=_windows_text, can_plan=a.role.value in PLANNERS,
                           layout_summary=regions_summary,
                           mandate_shortfalls=shortfall_warnings([datetime.now(TZ).date()]),
                           may_change=lambda community_id: svc.may_change(a, community_id))


@bp.route("/schedules/new", methods=["GET", "POST"])
def new_schedule():
    svc.require_planner(actor())  # the save's own rule: no form for those it refuses
    form = ScheduleForm()
    _schedule_choices(form)
    errors: dict[str, list[str]] = {}
    if request.method == "GET":
        if request.args.get("playlist_id", type=int):
            form.playlist_id.data = request.args.get("playlist_id", type=int)
        if request.args.get("layout_id", type=int):
            form.plays.data = "layout"
            form.layout_id.data = request.args.get("layout_id", type=int)
        if request.args.get("building_id", type=int):
            form.buildings.data = [request.args.get("building_id", type=int)]
    if form.validate_on_submit():
        try:
            sc = svc.create_schedule(db, actor(), name=form.name.data, **_what_plays(form),
                                     recurrence=_recurrence(form), targets=targets_of(form),
                                     community_id=form.community_id.data or None)
            if not form.active.data:
                svc.update_schedule(db, actor(), sc.id, active=False)
            db.commit()
            flash(gettext("The schedule is saved."), "ok")
            return redirect(url_for("schedules.index"))
        except ServiceError as err:
            db.rollback()
            show_field_error(form, err, errors)
            _follow_choice(form)
    return _schedule_page(form, errors)


@bp.route("/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
def edit_schedule(schedule_id: int):
    # Who may plan is decided before any form is shown or read (a viewer gets a 403,
    # whatever it sent): the save's own check.
    sc = svc.editable_schedule(db, actor(), schedule_id)
    # What a POST leaves out is empty, never the row's raw values.
    form = ScheduleForm() if request.method == "POST" else ScheduleForm(obj=sc)
    _schedule_choices(form)
    errors: dict[str, list[str]] = {}
    if request.method == "GET":
        form.community_id.data = sc.community_id or STREET_WIDE
        form.plays.data = "layout" if sc.layout_id is not None else "playlist"
        form.kind.data = sc.kind.value
        form.weekdays.data = list(sc.weekdays)
        form.windows.data = _windows_text(sc.windows)
        by_kind: dict[str, list] = {}
        for t in sc.targets:
            by_kind.setdefault(t.kind.value, []).append(t.tag if t.kind.value == "tag"
                                                        else t.ref_id)
        form.street.data = "street" in by_kind
        form.communities.data = by_kind.get("community", [])
        form.buildings.data = by_kind.get("building", [])
        form.terminals.data = by_kind.get("terminal", [])
        form.tags.data = by_kind.get("tag", [])
    if form.validate_on_submit():
        try:
            svc.update_schedule(db, actor(), sc.id, name=form.name.data, **_what_plays(form),
                                recurrence=_recurrence(form), targets=targets_of(form),
                                active=form.active.data)
            db.commit()
            flash(gettext("The schedule is saved."), "ok")
            return redirect(url_for("schedules.index"))
        except ServiceError as err:
            db.rollback()
            show_field_error(form, err, errors)
            _follow_choice(form)
    return _schedule_page(form, errors, schedule=sc)


@bp.route("/schedules/<int:schedule_id>/delete", methods=["POST"])
def delete_schedule(schedule_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    svc.delete_schedule(db, actor(), schedule_id)
    db.commit()
    flash(gettext("The schedule is deleted."), "ok")
    return redirect(url_for("schedules.index"))


# --- screen plans: screen on/off and brightness by time of day ---------------------------


@bp.route("/screen-plans/")
def screen_plans():
    a = actor()
    return render_template("schedules/screen_plans.html",
                           plans=svc.list_screen_plans(db, a), weekdays=WEEKDAYS,
                           target_labels=target_labels, windows_text=_windows_text,
                           can_plan=allowed(svc.require_screen_planner),
                           delete_form=DeleteForm())


@bp.route("/screen-plans/new", methods=["GET", "POST"])
def new_screen_plan():
    svc.require_screen_planner(actor())  # the save's own rule: no form for those it refuses
    form = ScreenPlanForm()
    _community_choices(form.community_id)
    target_choices(form)
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            svc.create_screen_plan(db, actor(), name=form.name.data,
                                   screen_on=bool(form.screen_on.data),
                                   brightness=form.brightness.data,
                                   recurrence=_recurrence(form), targets=targets_of(form),
                                   community_id=form.community_id.data or None)
            db.commit()
            flash(gettext("The screen plan is saved."), "ok")
            return redirect(url_for("schedules.screen_plans"))
        except ServiceError as err:
            db.rollback()
            show_field_error(form, err, errors)
    return render_template("schedules/screen_plan_form.html", form=form, errors=errors,
                           title=gettext("New screen plan"))


@bp.route("/screen-plans/<int:plan_id>/delete", methods=["POST"])
def delete_screen_plan(plan_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    svc.delete_screen_plan(db, actor(), plan_id)
    db.commit()
    flash(gettext("The screen plan is deleted."), "ok")
    return redirect(url_for("schedules.screen_plans"))
