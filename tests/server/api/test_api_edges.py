"""The API's edges: every input that once made a 500 (issue 20's fuzzing) gets a 4xx that
says what to change, and the OpenAPI document describes the answers as they are."""

from __future__ import annotations

import pytest

from server.db import db
from server.models import Playlist, Role
from tests import helpers

TOO_BIG = 2**63  # past SQLite's INTEGER; 2**31 is past PostgreSQL's integer columns


@pytest.fixture
def w(app):
    donghe = helpers.community("东和")
    b = helpers.building(donghe, "1栋")
    return {"donghe": donghe, "b": b, "t": helpers.terminal(b),
            "admin": helpers.token(helpers.user(Role.street_admin)),
            "editor": helpers.token(helpers.user(Role.editor, donghe))}


def _refused(r, status: int = 422) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:500])
    error = r.json["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize("path", [
    f"/api/v1/terminals/{TOO_BIG}", f"/api/v1/terminals/{2**31}/state",
    f"/api/v1/content/{TOO_BIG}", f"/api/v1/schedules/{TOO_BIG}",
])
def test_ids_past_the_integer_range_are_not_found(client, w, path):
    _refused(client.get(path, headers=w["admin"]), 404)


@pytest.mark.parametrize("query", [
    f"/api/v1/terminals?building_id={TOO_BIG}", f"/api/v1/buildings?community_id={TOO_BIG}",
    f"/api/v1/content?topic_id={-TOO_BIG - 1}", f"/api/v1/reports/playback?terminal_id={TOO_BIG}",
])
def test_query_integers_past_the_range_are_invalid(client, w, query):
    assert "fields" in _refused(client.get(query, headers=w["admin"]))


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/buildings", {"community_id": TOO_BIG, "name": "x"}, "community_id"),
    ("/api/v1/playlists", {"name": "x", "community_id": 2**31}, "community_id"),
    ("/api/v1/screen-plans", {"name": "x", "priority": 2**40,
                              "targets": [{"kind": "street"}]}, "priority"),
    ("/api/v1/terminals/commands", {"terminal_ids": [TOO_BIG], "kind": "reboot"},
     "terminal_ids"),
])
def test_body_integers_past_the_range_are_invalid(client, w, path, body, field):
    assert field in _refused(client.post(path, json=body, headers=w["admin"]))["fields"]


def test_a_playlist_for_an_unknown_community_is_refused(client, w):
    r = client.post("/api/v1/playlists", json={"name": "日常", "community_id": 999999},
                    headers=w["admin"])
    assert _refused(r, 404)["field"] == "community_id"
    assert db.query(Playlist).count() == 0


def test_moving_a_terminal_next_to_one_of_the_same_name_is_a_conflict(client, w):
    other = helpers.building(w["donghe"], "2栋")
    twin = helpers.terminal(other)
    twin.name = w["t"].name
    db.commit()
    r = client.patch(f"/api/v1/terminals/{w['t'].id}", json={"building_id": other.id},
                     headers=w["admin"])
    assert _refused(r, 409)["field"] == "name"
    r = client.patch(f"/api/v1/terminals/{w['t'].id}",
                     json={"building_id": other.id, "tags": ["大门"]}, headers=w["admin"])
    _refused(r, 409)
    # The move with a free name works (the refusals left nothing half-done).
    r = client.patch(f"/api/v1/terminals/{w['t'].id}",
                     json={"building_id": other.id, "name": "新名字"}, headers=w["admin"])
    assert r.status_code == 200 and r.json["building_id"] == other.id


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                "1900-01-01T00:00:00Z"])
def test_instants_far_from_now_are_invalid(client, w, at):
    r = client.get(f"/api/v1/terminals/{w['t'].id}/resolve", query_string={"at": at},
                   headers=w["admin"])
    assert "at" in _refused(r)["fields"]
    r = client.get(f"/api/v1/terminals/{w['t'].id}/timeline",
                   query_string={"start": at, "end": "2026-12-01T00:00:00Z"}, headers=w["admin"])
    assert "start" in _refused(r)["fields"]


def test_dates_far_from_now_are_invalid(client, w):
    r = client.get("/api/v1/reports/playback", query_string={"from": "0001-01-01"},
                   headers=w["admin"])
    assert "from" in _refused(r)["fields"]


@pytest.mark.parametrize("text", [r"a\u0000b", r"\ud800"])
def test_text_a_database_cannot_store_is_invalid(client, w, text):
    body = '{"community_id": ' + str(w["donghe"].id) + ', "name": "' + text + '"}'
    r = client.post("/api/v1/buildings", data=body, content_type="application/json",
                    headers=w["admin"])
    assert _refused(r)["field"] == "name"
    r = client.get("/api/v1/content", query_string={"q": "a\x00"}, headers=w["admin"])
    assert _refused(r)["field"] == "q"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_numbers_json_cannot_hold_are_invalid(client, w, number):
    body = '{"kind": "screenshot", "args": {"max_side": ' + number + '}}'
    r = client.post(f"/api/v1/terminals/{w['t'].id}/commands", data=body,
                    content_type="application/json", headers=w["admin"])
    assert _refused(r)["field"] == "args"


def test_malformed_json_says_what_is_wrong(client, w):
    r = client.post("/api/v1/buildings", data=b'{"name": ', headers=w["admin"],
                    content_type="application/json")
    message = _refused(r, 400)["message"]
    assert "JSON" in message


def test_json_nested_too_deeply_is_a_bad_request(client, w):
    r = client.post("/api/v1/buildings", data="[" * 100_000 + "]" * 100_000,
                    content_type="application/json", headers=w["admin"])
    assert "嵌套" in _refused(r, 400)["message"]


def test_a_body_that_is_not_an_object_says_so(client, w):
    r = client.post("/api/v1/buildings", json=[1, 2], headers=w["admin"])
    assert "JSON 对象" in _refused(r)["message"]


# --- the document ----------------------------------------------------------------


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json


def _schema(spec, name: str) -> dict:
    return spec["components"]["schemas"][name]


def test_the_error_schema_is_the_one_answered(client, w, spec):
    error = _schema(spec, "Error")
    assert error["required"] == ["error"]
    inner = _schema(spec, error["properties"]["error"]["$ref"].rsplit("/", 1)[1])
    assert set(inner["required"]) == {"code", "message"}
    body = client.get("/api/v1/terminals/999999", headers=w["admin"]).json
    assert set(body) == {"error"} and set(body["error"]) <= set(inner["properties"])


def test_every_operation_declares_its_errors_and_no_catch_all(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            codes = set(op["responses"])
            assert "default" not in codes, (method, path)
            assert "401" in codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            query = any(p["in"] == "query" for p in op.get("parameters", []))
            if "requestBody" in op or query:
                assert "422" in codes, (method, path)
            if query:  # gunicorn's answer to a request line over 4094 bytes
                assert "414" in codes, (method, path)
            for code in (c for c in codes if int(c) >= 400):
                ref = op["responses"][code].get("$ref", "")
                assert ref.startswith("#/components/responses/"), (method, path, code)


def test_nullable_fields_are_declared_nullable(spec):
    content = _schema(spec, "Content")["properties"]
    for name in ("width", "height", "media_duration_s", "codec", "thumbnail_sha256", "sha256",
                 "community_id", "valid_from", "valid_until"):
        assert content[name].get("nullable") is True, name
    state = _schema(spec, "TerminalState")["properties"]
    for name in ("online", "screen_on", "cache_ready", "brightness", "clock_offset_s"):
        assert not state[name].get("nullable"), name


def test_a_terminal_that_never_reported_has_its_default_state(client, w):
    r = client.get(f"/api/v1/terminals/{w['t'].id}/state", headers=w["admin"])
    assert r.status_code == 200
    assert {k: r.json[k] for k in ("online", "screen_on", "cache_ready", "brightness",
                                   "clock_offset_s", "player_version", "last_seen_at")} == {
        "online": False, "screen_on": True, "cache_ready": False, "brightness": 100,
        "clock_offset_s": 0.0, "player_version": "", "last_seen_at": None}


def test_integer_parameters_are_bounded_in_the_document(spec):
    item = spec["paths"]["/api/v1/terminals/{terminal_id}"]
    param = next(p for p in item["parameters"] if p["name"] == "terminal_id")
    assert param["schema"]["maximum"] == 2**31 - 1
    body = _schema(spec, "Building")["properties"]["community_id"]
    assert body["maximum"] == 2**31 - 1


def test_resolve_and_timeline_of_a_terminal_with_nothing_scheduled(client, w):
    r = client.get(f"/api/v1/terminals/{w['t'].id}/resolve",
                   query_string={"at": "2099-12-31T23:59:59Z"}, headers=w["admin"])
    assert r.status_code == 200, r.json
    r = client.get(f"/api/v1/terminals/{w['t'].id}/timeline",
                   query_string={"start": "2099-12-01T00:00:00Z", "end": "2099-12-31T23:59:59Z"},
                   headers=w["admin"])
    assert r.status_code == 200, r.json


def test_the_playback_report_answers_its_period(client, w):
    r = client.get("/api/v1/reports/playback", query_string={"from": "2026-12-01",
                                                              "to": "2026-12-02"},
                   headers=w["admin"])
    assert r.status_code == 200
    assert (r.json["from"], r.json["to"], r.json["by"]) == ("2026-12-01", "2026-12-02", "topic")
