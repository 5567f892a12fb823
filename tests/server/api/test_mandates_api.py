"""/api/v1/mandates: the service's rules over HTTP, errors by field as elsewhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.db import db
from server.models import Mandate, Role, Terminal, Topic
from tests import helpers

BODY = {"name": "反诈宣传", "authority": "区委政法委", "share_kind": "minutes", "share": 10,
        "window_start": "08:00", "window_end": "22:00", "start_date": "2026-12-01",
        "end_date": "2026-12-31"}


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b = helpers.building(donghe, "1栋")
    fraud = helpers.approved_image(donghe, "谨防诈骗", topic_name="反诈宣传")
    return {"donghe": donghe, "b": b, "t": helpers.terminal(b), "fraud": fraud,
            "tb": helpers.building(tianxin, "田心1栋"),
            "topic": db.scalar(select(Topic.id).where(Topic.name == "反诈宣传")),
            "admin": helpers.token(helpers.user(Role.street_admin)),
            "editor": helpers.token(helpers.user(Role.editor, donghe)),
            "other": helpers.token(helpers.user(Role.editor, tianxin)),
            "viewer": helpers.token(helpers.user(Role.viewer, donghe))}


def test_create_read_patch_delete(client, w):
    r = client.post("/api/v1/mandates", headers=w["admin"], json={
        **BODY, "topic_id": w["topic"], "targets": [{"kind": "street"}]})
    assert r.status_code == 201, r.json
    m = r.json
    assert (m["community_id"], m["share"], m["enforce"], m["active"], m["targets"]) == (
        None, 10, False, True, [{"kind": "street", "ref_id": None, "tag": None}])
    assert client.get(f"/api/v1/mandates/{m['id']}", headers=w["editor"]).json == m
    version = db.scalar(select(Terminal.manifest_version).where(Terminal.id == w["t"].id))
    r = client.patch(f"/api/v1/mandates/{m['id']}", headers=w["admin"],
                     json={"enforce": True, "content_ids": [w["fraud"].id]})
    assert r.status_code == 200, r.json
    assert (r.json["enforce"], r.json["content_ids"], r.json["name"], r.json["share"]) == (
        True, [w["fraud"].id], "反诈宣传", 10)  # what was not given stays
    db.expire_all()
    assert db.scalar(select(Terminal.manifest_version).where(
        Terminal.id == w["t"].id)) == version + 1  # enforced now: its screen is re-sent
    assert client.delete(f"/api/v1/mandates/{m['id']}", headers=w["admin"]).status_code == 204
    assert db.scalar(select(Mandate.id)) is None


MISTAKES = [
    ({"share": 90}, "share"),
    ({"share_kind": "percent", "share": 0}, "share"),
    ({"share_kind": "hours"}, "share_kind"),
    ({"window_start": "25:00"}, "window_start"),
    ({"end_date": "2026-11-01"}, "end_date"),
    ({"topic_id": None}, "content_ids"),
    ({"targets": [{"kind": "tag", "tag": "大堂"}]}, "targets"),
]


def test_bad_mandates_are_refused_with_the_field(client, w):
    for body, field in MISTAKES:
        r = client.post("/api/v1/mandates", headers=w["admin"], json={
            **BODY, "topic_id": w["topic"], "targets": [{"kind": "street"}], **body})
        assert r.status_code == 422, r.json
        error = r.json["error"]
        assert error.get("field") == field or field in error.get("fields", {}), (body, error)
    assert db.scalar(select(Mandate.id)) is None


def test_community_staff_stay_in_their_community(client, w):
    own = {**BODY, "topic_id": w["topic"], "targets": [{"kind": "building", "ref_id": w["b"].id}]}
    r = client.post("/api/v1/mandates", headers=w["editor"], json=own)
    assert r.status_code == 201 and r.json["community_id"] == w["donghe"].id
    mine = r.json["id"]
    r = client.post("/api/v1/mandates", headers=w["editor"], json={
        **own, "targets": [{"kind": "building", "ref_id": w["tb"].id}]})
    assert r.status_code == 422 and r.json["error"]["field"] == "targets"
    assert client.get(f"/api/v1/mandates/{mine}", headers=w["other"]).status_code == 404
    assert client.delete(f"/api/v1/mandates/{mine}", headers=w["other"]).status_code == 404
    assert client.get("/api/v1/mandates", headers=w["other"]).json == []
    assert client.post("/api/v1/mandates", headers=w["viewer"], json=own).status_code == 403
    assert [m["id"] for m in client.get("/api/v1/mandates", headers=w["viewer"]).json] == [mine]
