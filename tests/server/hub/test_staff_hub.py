"""The staff namespace through Flask-SocketIO's test client: who may connect, who hears
which community's events, and which terminal events reach the wall."""

from __future__ import annotations

import base64
import contextvars
import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from player import protocol
from server.db import db
from server.extensions import socketio
from server.hub import staff
from server.models import Role
from server.services import fleet
from server.services.access import Actor
from tests import helpers
from tests.conftest import IsolatedClient
from tests.server.hub.test_terminal_hub import Client as TerminalClient

NS = staff.NS


class StaffClient:
    """A browser's socket, sharing the cookies of a (logged-in or not) Flask test client."""

    def __init__(self, app, http_client) -> None:
        self._c = contextvars.Context().run(socketio.test_client, app, namespace=NS,
                                            flask_test_client=http_client)

    def __getattr__(self, name):
        attr = getattr(self._c, name)
        if not callable(attr):
            return attr
        return lambda *a, **kw: contextvars.Context().run(attr, *a, **kw)

    def events(self, name: str) -> list:
        return [m["args"][0] for m in self.get_received(NS) if m["name"] == name]


@pytest.fixture
def two(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    td = helpers.terminal(helpers.building(donghe, "1栋"))
    tt = helpers.terminal(helpers.building(tianxin, "2栋"))
    cred = fleet.issue_credential(db, td)
    db.commit()
    return {"app": app, "donghe": donghe, "tianxin": tianxin, "td": td, "tt": tt, "cred": cred}


def staff_socket(app, user) -> StaffClient:
    app.test_client_class = IsolatedClient  # each browser its own context and cookies
    http = app.test_client()
    helpers.login(http, user)
    return StaffClient(app, http)


def status(playing: int | None = None, brightness: int = 80, frame: str | None = None) -> dict:
    return {"playing": {"content_id": playing, "since": protocol.iso(datetime.now(UTC))}
            if playing else None, "screen_on": True, "brightness": brightness,
            "cache_ready": True, "free_disk_bytes": 10**9, "clock_offset_s": 0.2,
            "player_version": "1.0", "screenshot_sha256": frame}


def test_anonymous_browsers_are_refused(two):
    two["app"].test_client_class = IsolatedClient
    anonymous = StaffClient(two["app"], two["app"].test_client())
    assert not anonymous.is_connected(NS)


def test_rooms_follow_what_the_user_may_see(two):
    admin = Actor.of(helpers.user(Role.street_admin))
    editor = Actor.of(helpers.user(Role.editor, two["donghe"]))
    assert staff.rooms_for(db, admin) == ["street"]
    assert staff.rooms_for(db, editor) == [f"community:{two['donghe'].id}"]


def test_community_staff_hear_only_their_own_community(two):
    app = two["app"]
    donghe = staff_socket(app, helpers.user(Role.editor, two["donghe"]))
    tianxin = staff_socket(app, helpers.user(Role.community_admin, two["tianxin"]))
    admin = staff_socket(app, helpers.user(Role.street_admin))
    assert donghe.is_connected(NS) and tianxin.is_connected(NS) and admin.is_connected(NS)
    staff.publish("alert", {"terminal_id": two["td"].id, "kind": "down"}, two["donghe"].id)
    assert donghe.events("alert") == [{"terminal_id": two["td"].id, "kind": "down"}]
    assert admin.events("alert") == [{"terminal_id": two["td"].id, "kind": "down"}]
    assert tianxin.events("alert") == []
    staff.publish("alert", {"terminal_id": two["tt"].id, "kind": "stuck"}, two["tianxin"].id)
    assert donghe.events("alert") == []
    assert tianxin.events("alert") == [{"terminal_id": two["tt"].id, "kind": "stuck"}]


def test_terminal_events_reach_the_wall_only_when_something_shown_changes(two):
    app = two["app"]
    item = helpers.approved_image(two["donghe"], title="防台风须知")
    wall = staff_socket(app, helpers.user(Role.editor, two["donghe"]))
    other = staff_socket(app, helpers.user(Role.editor, two["tianxin"]))
    term = TerminalClient(app, two["cred"])
    tiles = wall.events("terminal")
    assert [(t["id"], t["online"]) for t in tiles] == [(two["td"].id, True)]

    def send(payload):
        assert term.emit(protocol.STATUS, payload, namespace=protocol.TERMINAL_NAMESPACE,
                         callback=True) == {"ok": True}

    first = status(item.id)
    send(first)
    [tile] = wall.events("terminal")
    assert tile["playing"]["title"] == "防台风须知" and tile["brightness"] == 80
    send(first)  # a heartbeat that changes nothing
    send({**first, "clock_offset_s": 0.4, "free_disk_bytes": 5})  # nothing the wall shows
    assert wall.events("terminal") == []
    send({**first, "brightness": 30})
    assert [t["brightness"] for t in wall.events("terminal")] == [30]
    send({**first, "brightness": 30, "screenshot_sha256": "a" * 64})  # the frame changed
    assert len(wall.events("terminal")) == 1
    send({**first, "brightness": 30, "screenshot_sha256": "a" * 64, "clock_offset_s": 9.0})
    [tile] = wall.events("terminal")
    assert tile["clock_offset_s"] == 9.0 and "clock" in tile["problems"]

    term.disconnect(protocol.TERMINAL_NAMESPACE)
    [tile] = wall.events("terminal")
    assert tile["online"] is False and "offline" in tile["problems"]
    assert other.events("terminal") == []


def test_a_screenshot_answer_updates_the_tile(two):
    app = two["app"]
    wall = staff_socket(app, helpers.user(Role.street_admin))
    term = TerminalClient(app, two["cred"])
    admin = Actor.of(helpers.user(Role.street_admin))
    [cmd] = fleet.create_commands(db, admin, [two["td"].id], "screenshot", {})
    db.commit()
    wall.get_received(NS)
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), "red").save(buf, "PNG")
    ack = term.emit(protocol.COMMAND_RESULT, {"id": cmd.id, "ok": True, "result": {
        "png_base64": base64.b64encode(buf.getvalue()).decode(), "width": 32, "height": 16}},
        namespace=protocol.TERMINAL_NAMESPACE, callback=True)
    assert ack == {"ok": True}
    [tile] = wall.events("terminal")
    assert tile["screenshot"]["command_id"] == cmd.id


def test_the_staff_namespace_listens_to_nothing(two):
    wall = staff_socket(two["app"], helpers.user(Role.street_admin))
    ack = wall.emit("status", {}, namespace=NS, callback=True)
    assert ack["ok"] is False


def test_no_tiles_are_built_when_no_staff_socket_listens(two, monkeypatch):
    """After a restart every reconnecting terminal would otherwise cost a wall tile."""
    built = []
    monkeypatch.setattr(staff, "_sign_ins", {})  # other tests' test clients linger in it
    monkeypatch.setattr(staff.wall, "tiles_of", lambda s, ids: built.append(ids) or [])
    staff.publish_terminals(db, [two["td"].id])
    assert built == []
    wall = staff_socket(two["app"], helpers.user(Role.street_admin))
    staff.publish_terminals(db, [two["td"].id])
    assert built == [[two["td"].id]]
    wall.disconnect(namespace=NS)
