"""/api/v1/layouts: the same auth, scoping, error shape and OpenAPI document as the
playlists API; schedules take a layout_id."""

from __future__ import annotations

import pytest

from server.db import db
from server.models import Layout, Role, Schedule
from tests import helpers
from tests.server.test_layouts_services import band_layout


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b = helpers.building(donghe, "1栋")
    helpers.terminal(b, 384, 192)
    helpers.terminal(helpers.building(donghe, "2栋"), 128, 64)
    return {"b": b, "donghe": donghe, "logo": helpers.approved_image(donghe, "标志"),
            "h": helpers.token(helpers.user(Role.editor, donghe)),
            "other": helpers.token(helpers.user(Role.editor, tianxin)),
            "viewer": helpers.token(helpers.user(Role.viewer, donghe))}


def test_create_read_change_and_delete(client, w):
    body = band_layout(image_id=w["logo"].id)
    r = client.post("/api/v1/layouts", json=body, headers=w["h"])
    assert r.status_code == 201, r.json
    lid = r.json["id"]
    assert r.json["community_id"] == w["donghe"].id and r.json["overlay"] is False
    assert [x["key"] for x in r.json["regions"]] == ["title", "clock", "main", "ticker"]
    assert r.json["regions"][0]["fg"] == "#ffd200"  # defaults filled in
    assert [x["id"] for x in client.get("/api/v1/layouts", headers=w["h"]).json] == [lid]
    assert client.get("/api/v1/layouts", headers=w["other"]).json == []
    for h, status in ((w["other"], 404), (w["viewer"], 200)):
        assert client.get(f"/api/v1/layouts/{lid}", headers=h).status_code == status
    assert client.patch(f"/api/v1/layouts/{lid}", json={"name": "改"},
                        headers=w["other"]).status_code == 404
    assert client.patch(f"/api/v1/layouts/{lid}", json={"name": "改"},
                        headers=w["viewer"]).status_code == 403
    r = client.patch(f"/api/v1/layouts/{lid}", json={"name": "东和标准版"}, headers=w["h"])
    assert r.status_code == 200 and r.json["name"] == "东和标准版"
    fit = client.get(f"/api/v1/layouts/{lid}/fit", headers=w["h"]).json
    assert [(x["width"], x["height"]) for x in fit] == [(384, 192), (128, 64)]
    small = fit[1]
    assert {x["code"] for x in small["warnings"]} == {"grown"}
    assert all("%(" not in x["message"] and x["region"] in x["message"]
               for x in small["warnings"])
    assert next(x for x in small["regions"] if x["key"] == "title")["content_id"] == \
        w["logo"].id
    assert client.delete(f"/api/v1/layouts/{lid}", headers=w["h"]).status_code == 204
    assert db.query(Layout).count() == 0


def test_a_bad_layout_is_a_422_naming_the_region(client, w):
    body = band_layout(image_id=w["logo"].id)
    body["regions"][3]["y"] = 170  # 170 + 32 > 192
    r = client.post("/api/v1/layouts", json=body, headers=w["h"])
    assert r.status_code == 422
    err = r.json["error"]
    assert err["code"] == "outside_canvas" and err["field"] == "regions"
    assert "“ticker”" in err["message"] and "384×192" in err["message"]
    body["regions"][3].update(y=160, speed_cps=99)  # refused by the schema
    r = client.post("/api/v1/layouts", json=body, headers=w["h"])
    assert r.status_code == 422 and "regions" in r.json["error"]["fields"]
    r = client.post("/api/v1/layouts", json={**band_layout(image_id=w["logo"].id),
                                             "community_id": 999999}, headers=w["h"])
    assert r.status_code == 404
    assert db.query(Layout).count() == 0


def test_schedules_take_a_layout_and_it_cannot_be_deleted_meanwhile(client, w):
    lid = client.post("/api/v1/layouts", json=band_layout(image_id=w["logo"].id),
                      headers=w["h"]).json["id"]
    base = {"name": "东和版式", "targets": [{"kind": "community", "ref_id": w["donghe"].id}]}
    r = client.post("/api/v1/schedules", json={**base, "layout_id": lid}, headers=w["h"])
    assert r.status_code == 201, r.json
    assert (r.json["layout_id"], r.json["playlist_id"]) == (lid, None)
    sid = r.json["id"]
    listed = client.get("/api/v1/schedules", headers=w["h"]).json
    assert [(x["id"], x["layout_id"]) for x in listed] == [(sid, lid)]
    r = client.delete(f"/api/v1/layouts/{lid}", headers=w["h"])
    assert r.status_code == 409 and "东和版式" in r.json["error"]["message"]
    r = client.post("/api/v1/schedules", json=base, headers=w["h"])
    assert r.status_code == 422 and r.json["error"]["field"] == "playlist_id"
    p = client.post("/api/v1/playlists", json={"name": "日常", "entries": [
        {"content_id": w["logo"].id}]}, headers=w["h"]).json["id"]
    r = client.post("/api/v1/schedules", json={**base, "layout_id": lid, "playlist_id": p},
                    headers=w["h"])
    assert r.status_code == 422 and r.json["error"]["field"] == "layout_id"
    r = client.patch(f"/api/v1/schedules/{sid}", json={"playlist_id": p}, headers=w["h"])
    assert (r.json["layout_id"], r.json["playlist_id"]) == (None, p)
    assert client.delete(f"/api/v1/layouts/{lid}", headers=w["h"]).status_code == 204
    assert db.query(Schedule).count() == 1


def test_the_openapi_document_describes_layouts(client):
    doc = client.get("/api/v1/openapi.json").json
    ops = doc["paths"]["/api/v1/layouts/{layout_id}"]
    assert set(ops["delete"]["responses"]) >= {"204", "401", "403", "404", "409"}
    assert set(ops["patch"]["responses"]) >= {"200", "400", "409", "422"}
    assert "layout_id" in doc["components"]["schemas"]["Schedule"]["properties"]
    assert "/api/v1/layouts/{layout_id}/fit" in doc["paths"]
