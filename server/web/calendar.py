"""The week calendar of what plays where, and the "what plays on T at t" preview: pages
of the schedules blueprint that present the resolver's plan (they change nothing)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta

from flask import flash, render_template, request, url_for
from flask_babel import gettext

import playlists as pm
from playlists.clock import INF, to_us
from playlists.layouts import LayoutSchedule
from server import inputs, workpool
from server.config import PEOPLE_TZ
from server.db import db
from server.models import ContentKind
from server.services import content as content_svc
from server.services import mandate_plan, manifests, panel_fit, tree
from server.services import schedules as svc
from server.services.errors import ServiceError
from server.services.naming import by_name
from server.storage import blob_store
from server.web import layout_present as present
from server.web.helpers import actor
from server.web.mandate_present import shortfall_warnings
from server.web.schedules import KIND_LABELS, TZ, WEEKDAYS, bp, local_time

SLOT_MIN = 15  # the calendar's row height in minutes
SECONDS = "%Y-%m-%d %H:%M:%S"

# --- calendar ---------------------------------------------------------------------------


def _monday(value: str | None) -> date:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        day = None
    if day is not None and not inputs.in_time_range(day):
        day = None  # the week of year 9999 would overflow its own arithmetic
    day = day or datetime.now(TZ).date()
    return day - timedelta(days=day.weekday())


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), TZ)


def _names(ids: list) -> dict[int, str]:
    """Schedule names the actor may see; others (street-wide ones are visible) by number;
    a mandate's insertion (no schedule row) by its mandate."""
    mine = {sc.id: sc.name for sc in svc.list_schedules(db, actor())}
    mine.update((sid, gettext("Mandate: %(name)s", name=name))
                for sid, name in mandate_plan.inserted_names(db, ids).items())
    return {i: mine.get(i, f"#{i}") for i in ids if i is not None}


Frame = tuple[int, int, LayoutSchedule | None, LayoutSchedule | None]


def frame_spans(compiled: pm.CompiledPlan, start_us: int, end_us: int) -> list[Frame]:
    """(start, end, layout schedule in force, overlay schedule in force) covering
    [start, end): the spans where what frames the screen stays the same."""
    out: list[Frame] = []
    t = start_us
    while t < end_us:
        layout, overlay, change = compiled.frame_us(t)
        stop = min(max(change, t + 1), end_us)
        if out and out[-1][2] is layout and out[-1][3] is overlay:
            out[-1] = (out[-1][0], stop, layout, overlay)
        else:
            out.append((t, stop, layout, overlay))
        t = stop
    return out


def frame_label(layout: LayoutSchedule | None, overlay: LayoutSchedule | None) -> str:
    """版式 东和标准 · 叠加层 台风提示: what frames the screen, short (a calendar block)."""
    return " · ".join(f"{present.layout_kind(x.layout)} {x.layout.name}"
                      for x in (layout, overlay) if x is not None)


def calendar_blocks(segments, monday: date, names: dict[int, str], terminal_id: int,
                    frames: list[Frame] = (), playlists: dict[int, str] | None = None):
    """Merge a timeline into blocks per schedule (and per layout framing it), cut at local
    midnights, in grid rows. A mandate's inserted minutes (a few 5-minute slots an hour,
    shorter than a row) stay inside the block they interrupt, named on it."""
    merged: list[list] = []
    f = 0
    for seg in segments:
        while f < len(frames) and frames[f][1] <= seg.start_us:
            f += 1  # segments are cut at every frame change, so one frame holds each
        frame = frames[f][2:] if f < len(frames) else (None, None)
        kind = "gap" if seg.kind in ("fallback", "none") else seg.kind
        key = (seg.schedule_id if kind != "gap" else None, kind, *frame)
        if merged and merged[-1][2] == seg.start and (
                merged[-1][0] == key or pm.mandate_of(seg.schedule_id) is not None):
            merged[-1][2] = seg.end
            if merged[-1][0] != key:
                merged[-1][3].add(seg.schedule_id)
        else:
            merged.append([key, seg.start, seg.end, set()])
    blocks = []
    for (sid, kind, layout, overlay), start, end, inserted in merged:
        main = present.playlist_label((playlists or {}).get(sid, "")) if sid else ""
        frame = frame_label(layout, overlay)
        described = " · ".join(present.describe_layout(x.layout, main if x is layout else "")
                               for x in (layout, overlay) if x is not None)
        lo = start.astimezone(TZ)
        hi = end.astimezone(TZ)
        while lo < hi:
            next_midnight = _midnight(lo.date() + timedelta(days=1))
            stop = min(hi, next_midnight)
            start_min = lo.hour * 60 + lo.minute
            end_min = 1440 if stop == next_midnight else stop.hour * 60 + stop.minute
            row_start = start_min // SLOT_MIN + 1
            row_end = max(row_start + 1, -(-end_min // SLOT_MIN) + 1)
            blocks.append({
                "day": (lo.date() - monday).days, "kind": kind, "schedule_id": sid,
                "label": names.get(sid, "") if sid else gettext("Nothing scheduled"),
                "kind_label": "" if kind == "gap" else KIND_LABELS[kind],
                "frame": frame, "described": described,
                "inserted": " · ".join(sorted({names.get(x, "") for x in inserted})),
                "layout_id": layout.layout.id if layout else None,
                "start": lo.strftime("%H:%M"), "end": "24:00" if stop == next_midnight
                else stop.strftime("%H:%M"),
                "row_start": row_start, "row_end": min(row_end, 1440 // SLOT_MIN + 1),
                "preview": url_for("schedules.preview", terminal_id=terminal_id,
                                   at=lo.strftime("%Y-%m-%dT%H:%M")),
            })
            lo = stop
    return blocks


def _content_title(content_id: int | None) -> str:
    if content_id is None:
        return ""
    try:
        return content_svc.get_item(db, actor(), content_id).title
    except ServiceError:
        return f"#{content_id}"


def warning_texts(warnings, names: dict[int, str]) -> list[dict]:
    out = []
    for w in warnings:
        name = names.get(w.schedule_id, "")
        if w.code == "priority_overlap":
            text = gettext("“%(name)s” and “%(other)s” have the same kind and priority and "
                           "overlap from %(start)s to %(end)s: their items will take turns.",
                           name=name, other=names.get(w.other_schedule_id, ""),
                           start=local_time(w.start), end=local_time(w.end))
        elif w.code == "gap_without_filler":
            text = gettext("The screen is on but nothing is scheduled from %(start)s to "
                           "%(end)s; add a filler schedule.",
                           start=local_time(w.start), end=local_time(w.end))
        elif w.code == "content_expires_early":
            text = gettext("“%(title)s” in “%(name)s” expires at %(when)s, before the "
                           "schedule ends.", title=_content_title(w.content_id), name=name,
                           when=local_time(w.start))
        elif w.code == "content_unapproved":
            text = gettext("“%(title)s” in “%(name)s” is not approved and will be skipped.",
                           title=_content_title(w.content_id), name=name)
        elif w.code == "schedule_without_playable":
            text = gettext("Nothing in “%(name)s” can ever play.", name=name)
        else:
            text = w.message
        out.append({"code": w.code, "schedule_id": w.schedule_id, "name": name, "text": text})
    return out


@bp.route("/schedules/calendar")
def calendar():
    a = actor()
    terminal_id = request.args.get("terminal_id", type=int)
    building_id = request.args.get("building_id", type=int)
    building = terminal = None
    if terminal_id:
        terminal = tree.get_terminal(db, a, terminal_id)
        building = terminal.building
    elif building_id:
        building = tree.get_building(db, a, building_id)
        terminals = by_name(building.terminals)
        terminal = terminals[0] if terminals else None
    context = {"building": building, "terminal": terminal, "buildings": None, "days": [],
               "blocks": [], "warnings": [], "kinds": KIND_LABELS}
    if building is None:
        context["buildings"] = tree.list_buildings(db, a)
        return render_template("schedules/calendar.html", **context)
    if terminal is None:
        return render_template("schedules/calendar.html", **context)
    monday = _monday(request.args.get("week"))
    start, end = _midnight(monday), _midnight(monday + timedelta(days=7))
    plan = manifests.build_plan(db, terminal, monday)
    compiled = pm.compile_plan(plan)
    segments = pm.timeline(compiled, start.astimezone(UTC), end.astimezone(UTC))
    frames = frame_spans(compiled, to_us(start), to_us(end))
    names = _names([s.id for s in plan.schedules] + [x.id for x in plan.layouts])
    playlists = {s.id: s.playlist.name for s in plan.schedules}
    warnings = pm.plan_warnings(plan, start.astimezone(UTC), end.astimezone(UTC))
    today = datetime.now(TZ).date()
    context.update(
        days=[{"date": monday + timedelta(days=n), "label": WEEKDAYS[n],
               "today": monday + timedelta(days=n) == today} for n in range(7)],
        blocks=calendar_blocks(segments, monday, names, terminal.id, frames, playlists),
        frames=_frames_this_week(frames, names),
        warnings=warning_texts(warnings, names),
        mandate_shortfalls=shortfall_warnings(
            [monday + timedelta(days=n) for n in range(7)], terminal.id),
        week=monday, prev_week=(monday - timedelta(days=7)).isoformat(),
        next_week=(monday + timedelta(days=7)).isoformat(),
        this_week=_monday(None).isoformat(),
        hours=range(24), slot_rows=60 // SLOT_MIN,
    )
    return render_template("schedules/calendar.html", **context)


def _frames_this_week(frames: list[Frame], names: dict[int, str]) -> list[dict]:
    """Each layout and overlay schedule that frames the screen this week, once: its name
    and what it shows on this panel."""
    seen: dict[int, dict] = {}
    for _start, _end, *pair in frames:
        for x in pair:
            if x is not None and x.id not in seen:
                seen[x.id] = {"schedule_id": x.id, "name": names.get(x.id, ""),
                              "overlay": x.layout.overlay, "layout_id": x.layout.id,
                              "text": present.describe_layout(x.layout)}
    return sorted(seen.values(), key=lambda d: (d["overlay"], d["name"]))


# --- preview -------------------------------------------------------------------------------


def _parse_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not inputs.in_time_range(parsed.date()):
        return None
    return parsed.replace(tzinfo=None, microsecond=0)


@bp.route("/terminals/<int:terminal_id>/preview")
def preview(terminal_id: int):
    a = actor()
    t = tree.get_terminal(db, a, terminal_id)
    at_local = _parse_at(request.args.get("at"))
    if at_local is None:
        if request.args.get("at"):
            flash(gettext("Write the time as YYYY-MM-DDTHH:MM; showing now instead."), "error")
        at_local = datetime.now(TZ).replace(tzinfo=None, second=0, microsecond=0)
    at = at_local.replace(tzinfo=TZ)
    plan = manifests.build_plan(db, t, at.astimezone(UTC).date())
    compiled = pm.compile_plan(plan)
    r = pm.resolve(compiled, at)
    state = pm.screen_state(compiled, at)
    item = None
    if r.item is not None:
        try:
            item = content_svc.get_item(db, a, r.item.content_id)
        except ServiceError:
            item = None
    layout, overlay, _change = compiled.frame_us(to_us(at))
    names = _names([r.schedule_id] + [x.id for x in (layout, overlay) if x is not None])
    at_value = at_local.isoformat(timespec="seconds" if at_local.second else "minutes")
    # A picture or clip whose shape is not its box's plays letterboxed: say so.
    main = layout.layout.main() if layout is not None else None
    box = (main.w, main.h) if main is not None else (t.width, t.height)
    fit = (panel_fit.mismatch(item.width, item.height, *box)
           if item is not None and item.kind in (ContentKind.image, ContentKind.video) else None)
    return render_template(
        "schedules/preview.html", terminal=t, at=at, at_value=at_value,
        r=r, item=item, state=state, kinds=KIND_LABELS, fit=fit, box=box,
        framed=_framed(t, at, r, item, layout, overlay, names,
                       next((x.playlist.name for x in plan.schedules if x.id == r.schedule_id),
                            "")),
        schedule_name=names.get(r.schedule_id, "") if r.schedule_id else "",
        until=local_time(r.valid_until, SECONDS) if r.valid_until_us < INF else "",
        item_start=local_time(r.item_start, SECONDS), item_end=local_time(r.item_end, SECONDS),
        screen_until=local_time(state.valid_until),
        week=(at_local.date() - timedelta(days=at_local.weekday())).isoformat())


def _framed(t, at: datetime, r: pm.Resolution, item, layout: LayoutSchedule | None,
            overlay: LayoutSchedule | None, names: dict[int, str], playlist: str
            ) -> dict | None:
    """With a layout or an overlay in force at t: what frames the screen, what each region
    shows, and the whole panel composed (in a job worker) as the player draws it."""
    if layout is None and overlay is None:
        return None
    t_us = to_us(at)
    title = item.title if item is not None else (f"#{r.item.content_id}" if r.item else "")
    local = at.astimezone(TZ)
    main_path = None
    if r.item is not None and r.item.media == "image":  # stills and notice pages
        main_path = str(blob_store().path(r.item.sha256))
    images = {x.image.sha256: str(blob_store().path(x.image.sha256))
              for ls in (layout, overlay) if ls is not None for x in ls.layout.regions
              if x.role == "image" and x.image is not None and x.image.approved}
    png = workpool.run(present.render_screen, t.width, t.height,
                       layout.layout if layout else None, overlay.layout if overlay else None,
                       main_path, title or gettext("Main screen"), images, t_us, PEOPLE_TZ)
    scale = present.enlargement(t.width)
    return {"scale": scale, "display_w": t.width * scale, "display_h": t.height * scale,
            "frames": [{"schedule": names.get(x.id, ""), "overlay": x.layout.overlay,
                        "text": present.describe_layout(x.layout, present.playlist_label(
                            playlist) if x is layout and playlist else ""),
                        "regions": present.region_rows(x.layout, t_us, local, title,
                                                       _content_title)}
                       for x in (layout, overlay) if x is not None],
            "src": "data:image/png;base64," + base64.b64encode(png).decode()}
