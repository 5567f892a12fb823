from __future__ import annotations

import pytest

from server.db import db
from server.models import Playlist, Role, Schedule
from tests import helpers


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    b = helpers.building(donghe, "1栋")
    return {"t": helpers.terminal(b, 384, 192), "b": b, "donghe": donghe,
            "other": helpers.terminal(helpers.building(helpers.community("田心"))),
            "item": helpers.approved_image(donghe, seconds=15),
            "h": helpers.token(helpers.user(Role.editor, donghe))}


def _plan(client, w, **schedule):
    p = client.post("/api/v1/playlists", json={"name": "日常", "entries": [
        {"content_id": w["item"].id}]}, headers=w["h"])
    assert p.status_code == 201, p.json
    body = {"name": "白天", "playlist_id": p.json["id"], "windows": [["08:00", "20:00"]],
            "targets": [{"kind": "building", "ref_id": w["b"].id}], **schedule}
    return client.post("/api/v1/schedules", json=body, headers=w["h"])


def test_schedule_then_timeline_and_resolve(client, w):
    r = _plan(client, w)
    assert r.status_code == 201, r.json
    tid = w["t"].id
    tl = client.get(f"/api/v1/terminals/{tid}/timeline?start=2026-12-01T08:00:00%2B08:00"
                    f"&end=2026-12-01T08:01:00%2B08:00", headers=w["h"]).json
    segs = tl["segments"]
    assert [s["content_id"] for s in segs] == [w["item"].id] * 4  # 15 s items in one minute
    assert sum(1 for s in segs if s["kind"] == "normal") == 4
    night = client.get(f"/api/v1/terminals/{tid}/resolve?at=2026-12-01T23:00:00%2B08:00",
                       headers=w["h"]).json
    assert night["content_id"] is None
    day = client.get(f"/api/v1/terminals/{tid}/resolve?at=2026-12-01T12:00:07%2B08:00",
                     headers=w["h"]).json
    assert day["content_id"] == w["item"].id and day["offset_s"] == pytest.approx(7.0)


@pytest.mark.parametrize(("body", "field"), [
    ({"start_date": "2026-12-05", "end_date": "2026-12-01"}, "end_date"),
    ({"windows": [["08:00", "12:00"], ["09:00", "10:00"]]}, "windows"),
    ({"targets": [{"kind": "terminal", "ref_id": 999999}]}, "targets"),
    ({"targets": []}, "targets"),
    ({"kind": "sometimes"}, "kind"),
])
def test_bad_schedules_are_refused_with_the_field(client, w, body, field):
    r = _plan(client, w, **body)
    assert r.status_code == 422, r.json
    assert r.json["error"].get("field") == field or field in r.json["error"].get("fields", {})
    assert db.query(Schedule).count() == 0


def test_another_communitys_terminal_is_refused(client, w):
    r = _plan(client, w, targets=[{"kind": "terminal", "ref_id": w["other"].id}])
    assert r.status_code == 422 and r.json["error"]["field"] == "targets"
    r = client.get(f"/api/v1/terminals/{w['other'].id}/timeline?start=2026-12-01T00:00:00Z"
                   f"&end=2026-12-02T00:00:00Z", headers=w["h"])
    assert r.status_code == 404


@pytest.mark.parametrize("duration", [0, -1, 9999999999999])
def test_absurd_durations_are_capped(client, w, duration):
    r = client.post("/api/v1/playlists", json={"name": "x", "entries": [
        {"content_id": w["item"].id, "duration_s": duration}]}, headers=w["h"])
    assert r.status_code == 422
    assert db.query(Playlist).count() == 0


def test_timeline_period_is_bounded(client, w):
    r = client.get(f"/api/v1/terminals/{w['t'].id}/timeline?start=2026-01-01T00:00:00Z"
                   f"&end=2026-12-01T00:00:00Z", headers=w["h"])
    assert r.status_code == 422
