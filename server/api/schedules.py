"""/api/v1/playlists, /api/v1/schedules, /api/v1/screen-plans and plan previews."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

import playlists as pm
from server.api.auth import actor, blueprint
from server.api.schemas import (
    PlaylistOut,
    PlaylistPatchSchema,
    PlaylistSchema,
    ResolveOut,
    ResolveQuery,
    ScheduleOut,
    SchedulePatchSchema,
    ScheduleSchema,
    ScreenPlanCreated,
    ScreenPlanOut,
    ScreenPlanSchema,
    TimelineOut,
    TimelineQuery,
)
from server.db import db
from server.services import manifests, tree
from server.services import schedules as svc
from server.services.errors import N_, Invalid

blp = blueprint("api_schedules", "", "Playlists, schedules, screen plans and what plays when")
RECURRENCE = ("start_date", "end_date", "weekdays", "windows", "valid_from", "valid_until",
              "priority")
MAX_TIMELINE = timedelta(days=31)


def _entries(raw: list[dict]) -> list[svc.EntryIn]:
    return [svc.EntryIn(**e) for e in raw]


def _targets(raw: list[dict]) -> list[svc.TargetIn]:
    return [svc.TargetIn(**t) for t in raw]


def _recurrence(data: dict, base: svc.Recurrence | None = None) -> svc.Recurrence | None:
    given = {k: data[k] for k in RECURRENCE if k in data}
    if not given and base is None:
        return None
    r = base or svc.Recurrence()
    for k, v in given.items():
        setattr(r, k, [tuple(w) for w in v] if k == "windows" else v)
    return r


def _dump_schedule(sc) -> dict:
    return {"id": sc.id, "name": sc.name, "playlist_id": sc.playlist_id,
            "layout_id": sc.layout_id, "kind": sc.kind.value,
            "priority": sc.priority, "active": sc.active, "community_id": sc.community_id,
            "start_date": sc.start_date, "end_date": sc.end_date,
            "weekdays": sc.weekdays, "windows": sc.windows,
            "targets": [{"kind": t.kind.value, "ref_id": t.ref_id, "tag": t.tag}
                        for t in sc.targets]}


def _dump_playlist(p) -> dict:
    return {"id": p.id, "name": p.name, "community_id": p.community_id,
            "entries": [{"content_id": e.content_id, "duration_s": e.duration_s,
                         "valid_from": e.valid_from, "valid_until": e.valid_until}
                        for e in p.entries]}


@blp.route("/playlists")
class Playlists(MethodView):
    @blp.response(200, PlaylistOut(many=True))
    def get(self):
        return [_dump_playlist(p) for p in svc.list_playlists(db, actor())]

    @blp.arguments(PlaylistSchema)
    @blp.response(201, PlaylistOut)
    @blp.refuses(404)
    def post(self, data):
        p = svc.create_playlist(db, actor(), data["name"], _entries(data["entries"]),
                                data["community_id"])
        db.commit()
        return _dump_playlist(p)


@blp.route("/playlists/<int:playlist_id>")
class PlaylistItem(MethodView):
    @blp.response(200, PlaylistOut)
    def get(self, playlist_id: int):
        return _dump_playlist(svc.get_playlist(db, actor(), playlist_id))

    @blp.arguments(PlaylistPatchSchema)
    @blp.response(200, PlaylistOut)
    def patch(self, data, playlist_id: int):
        entries = _entries(data["entries"]) if "entries" in data else None
        p = svc.update_playlist(db, actor(), playlist_id, name=data.get("name"), entries=entries)
        db.commit()
        return _dump_playlist(p)

    @blp.response(204)
    @blp.refuses(409)
    def delete(self, playlist_id: int):
        svc.delete_playlist(db, actor(), playlist_id)
        db.commit()


@blp.route("/schedules")
class Schedules(MethodView):
    @blp.response(200, ScheduleOut(many=True))
    def get(self):
        return [_dump_schedule(sc) for sc in svc.list_schedules(db, actor())]

    @blp.arguments(ScheduleSchema)
    @blp.response(201, ScheduleOut)
    @blp.refuses(404)
    def post(self, data):
        sc = svc.create_schedule(
            db, actor(), name=data["name"], playlist_id=data["playlist_id"], kind=data["kind"],
            recurrence=_recurrence(data, svc.Recurrence()), targets=_targets(data["targets"]),
            community_id=data["community_id"], layout_id=data["layout_id"])
        db.commit()
        return _dump_schedule(sc)


@blp.route("/schedules/<int:schedule_id>")
class ScheduleItem(MethodView):
    @blp.response(200, ScheduleOut)
    def get(self, schedule_id: int):
        return _dump_schedule(svc.get_schedule(db, actor(), schedule_id))

    @blp.arguments(SchedulePatchSchema)
    @blp.response(200, ScheduleOut)
    def patch(self, data, schedule_id: int):
        current = svc.get_schedule(db, actor(), schedule_id)
        base = None
        if any(k in data for k in RECURRENCE):
            base = svc.Recurrence(
                start_date=current.start_date, end_date=current.end_date,
                weekdays=list(current.weekdays), windows=[tuple(w) for w in current.windows],
                valid_from=current.valid_from, valid_until=current.valid_until,
                priority=current.priority)
        sc = svc.update_schedule(
            db, actor(), schedule_id, name=data.get("name"), playlist_id=data.get("playlist_id"),
            kind=data.get("kind"), recurrence=_recurrence(data, base) if base else None,
            targets=_targets(data["targets"]) if "targets" in data else None,
            active=data.get("active"), layout_id=data.get("layout_id"))
        db.commit()
        return _dump_schedule(sc)

    @blp.response(204)
    def delete(self, schedule_id: int):
        svc.delete_schedule(db, actor(), schedule_id)
        db.commit()


@blp.route("/screen-plans")
class ScreenPlans(MethodView):
    @blp.response(200, ScreenPlanOut(many=True))
    def get(self):
        return [{"id": sp.id, "name": sp.name, "screen_on": sp.screen_on,
                 "brightness": sp.brightness, "windows": sp.windows, "priority": sp.priority}
                for sp in svc.list_screen_plans(db, actor())]

    @blp.arguments(ScreenPlanSchema)
    @blp.response(201, ScreenPlanCreated)
    @blp.refuses(404)
    def post(self, data):
        sp = svc.create_screen_plan(
            db, actor(), name=data["name"], screen_on=data["screen_on"],
            brightness=data["brightness"], recurrence=_recurrence(data, svc.Recurrence()),
            targets=_targets(data["targets"]), community_id=data["community_id"])
        db.commit()
        return {"id": sp.id, "name": sp.name}


@blp.route("/screen-plans/<int:plan_id>", methods=["DELETE"])
@blp.response(204)
def delete_screen_plan(plan_id: int):
    svc.delete_screen_plan(db, actor(), plan_id)
    db.commit()


def _segment(seg) -> dict:
    item = seg.item
    return {"start": seg.start, "end": seg.end, "schedule_id": seg.schedule_id,
            "kind": seg.kind, "content_id": item.content_id if item else None,
            "sha256": item.sha256 if item else None, "topic_id": item.topic_id if item else None}


@blp.route("/terminals/<int:terminal_id>/timeline")
@blp.arguments(TimelineQuery, location="query")
@blp.response(200, TimelineOut)
def timeline(args, terminal_id: int):
    """The expanded plan of one terminal between two instants (at most 31 days)."""
    t = tree.get_terminal(db, actor(), terminal_id)
    if not args["start"] < args["end"] <= args["start"] + MAX_TIMELINE:
        raise Invalid(N_("The period must be positive and at most 31 days."), field="end")
    plan = manifests.build_plan(db, t)
    return {"terminal_id": t.id,
            "segments": [_segment(s) for s in pm.timeline(plan, args["start"], args["end"])]}


@blp.route("/terminals/<int:terminal_id>/resolve")
@blp.arguments(ResolveQuery, location="query")
@blp.response(200, ResolveOut)
def resolve(args, terminal_id: int):
    """What plays on the terminal at an instant, and until when that holds."""
    t = tree.get_terminal(db, actor(), terminal_id)
    plan = manifests.build_plan(db, t)
    r = pm.resolve(plan, args["at"])
    screen = pm.screen_state(plan, args["at"])
    return {"terminal_id": t.id, "kind": r.kind, "schedule_id": r.schedule_id,
            "content_id": r.item.content_id if r.item else None,
            "sha256": r.item.sha256 if r.item else None, "offset_s": r.offset_s,
            "item_start": r.item_start, "item_end": r.item_end, "valid_until": r.valid_until,
            "screen_on": screen.on, "brightness": screen.brightness}
