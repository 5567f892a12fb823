import pytest

from server.db import db
from server.models import Building, Role, Terminal
from tests import helpers


@pytest.fixture
def donghe(app):
    return helpers.community("东和")


@pytest.fixture
def admin_headers(app, donghe):
    return helpers.token(helpers.user(Role.community_admin, donghe))


def test_openapi_document_is_generated(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["info"]["title"]
    for path in ("/api/v1/buildings", "/api/v1/terminals/{terminal_id}", "/api/v1/users"):
        assert path in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_requests_without_a_valid_token_are_refused(client):
    for headers in ({}, {"Authorization": "Bearer sgn_wrong"}, {"Authorization": "Basic x"}):
        r = client.get("/api/v1/terminals", headers=headers)
        assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_session_cookie_does_not_authenticate_the_api(client):
    helpers.login(client, helpers.user(Role.street_admin))
    assert client.get("/api/v1/terminals").status_code == 401


def test_building_and_terminal_crud(client, donghe, admin_headers):
    r = client.post("/api/v1/buildings", json={"community_id": donghe.id, "name": "东和花园1栋",
                                                "address": "东和路22号"}, headers=admin_headers)
    assert r.status_code == 201, r.json
    bid = r.json["id"]
    r = client.post("/api/v1/terminals", json={"building_id": bid, "name": "LED", "width": 1920,
                                                "height": 320, "tags": ["大门"]},
                    headers=admin_headers)
    assert r.status_code == 201, r.json
    tid = r.json["id"]
    assert r.json["community_id"] == donghe.id and r.json["colour_mode"] == "full"
    r = client.patch(f"/api/v1/terminals/{tid}", json={"colour_mode": "mono"},
                     headers=admin_headers)
    assert r.status_code == 200 and r.json["colour_mode"] == "mono"
    listed = client.get(f"/api/v1/terminals?building_id={bid}", headers=admin_headers).json
    assert [t["id"] for t in listed] == [tid]
    assert client.delete(f"/api/v1/terminals/{tid}", headers=admin_headers).status_code == 204
    assert client.delete(f"/api/v1/buildings/{bid}", headers=admin_headers).status_code == 204


def test_other_communitys_objects_are_404_and_unchanged(client, donghe, admin_headers):
    tianxin = helpers.community("田心")
    b = helpers.building(tianxin, "田心1栋")
    t = helpers.terminal(b)
    other_user = helpers.user(Role.editor, tianxin)
    for method, url, body in [
        ("get", f"/api/v1/buildings/{b.id}", None),
        ("patch", f"/api/v1/buildings/{b.id}", {"name": "改"}),
        ("delete", f"/api/v1/buildings/{b.id}", None),
        ("get", f"/api/v1/terminals/{t.id}", None),
        ("patch", f"/api/v1/terminals/{t.id}", {"width": 64}),
        ("get", f"/api/v1/users/{other_user.id}", None),
        ("patch", f"/api/v1/users/{other_user.id}", {"active": False}),
        ("post", "/api/v1/terminals", {"building_id": b.id, "name": "x", "width": 1,
                                        "height": 1}),
    ]:
        r = getattr(client, method)(url, json=body, headers=admin_headers)
        assert r.status_code == 404, (method, url, r.json)
        assert r.json["error"]["code"] == "not_found"
    db.expire_all()
    assert db.get(Building, b.id).name == "田心1栋"
    assert db.get(Terminal, t.id).width == 384
    assert db.query(Terminal).count() == 1


def test_malformed_json_is_a_clear_4xx(client, admin_headers):
    r = client.post("/api/v1/buildings", data="{not json",
                    headers={**admin_headers, "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500
    assert r.json["error"]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "width": "384", "height": 192}, "width"),  # wrong type
    ({"name": "x", "width": 384, "height": 192, "colour": "red"}, "colour"),  # unknown
    ({"name": "x" * 500, "width": 384, "height": 192}, "name"),  # oversized
    ({"name": "x", "width": 384}, "height"),  # missing
    ({"name": "x", "width": 0, "height": 192}, "width"),  # out of range
    ({"name": "x", "width": 384, "height": 192, "colour_mode": "rgb"}, "colour_mode"),
])
def test_invalid_terminal_fields_are_named(client, donghe, admin_headers, body, field):
    b = helpers.building(donghe)
    r = client.post("/api/v1/terminals", json={"building_id": b.id, **body},
                    headers=admin_headers)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid"
    assert field in r.json["error"]["fields"]
    assert field in r.json["error"]["message"]
    assert db.query(Terminal).count() == 0


def test_duplicate_name_is_409_not_500(client, donghe, admin_headers):
    body = {"community_id": donghe.id, "name": "诗宁大厦"}
    assert client.post("/api/v1/buildings", json=body, headers=admin_headers).status_code == 201
    r = client.post("/api/v1/buildings", json=body, headers=admin_headers)
    assert r.status_code == 409
    assert r.json["error"] == {"code": "conflict", "field": "name",
                               "message": "此处已有名为“诗宁大厦”的楼栋。"}


def test_editor_token_cannot_change_the_tree(client, donghe):
    headers = helpers.token(helpers.user(Role.editor, donghe))
    r = client.post("/api/v1/buildings", json={"community_id": donghe.id, "name": "x"},
                    headers=headers)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_users_api_creates_users_in_own_community_only(client, donghe, admin_headers):
    r = client.post("/api/v1/users", json={"username": "li.na", "password": "long password 1",
                                            "role": "editor", "community_id": donghe.id},
                    headers=admin_headers)
    assert r.status_code == 201 and "password" not in r.json
    r = client.post("/api/v1/users", json={"username": "boss2", "password": "long password 1",
                                            "role": "street_admin"}, headers=admin_headers)
    assert r.status_code == 403


def test_revoked_token_is_refused(client, app):
    from server.services import accounts

    u = helpers.user()
    tok, plaintext = accounts.create_token(db, u, "t")
    db.commit()
    h = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/me", headers=h).status_code == 200
    accounts.revoke_token(db, u, tok.id)
    db.commit()
    assert client.get("/api/v1/me", headers=h).status_code == 401
