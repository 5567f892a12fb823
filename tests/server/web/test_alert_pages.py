"""The alert list page and what the chores publish to staff browsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import render_template_string

from server import chores
from server.db import db
from server.extensions import socketio
from server.hub import staff
from server.models import Role
from server.services import fleet, health
from tests import helpers


def _down_terminal(community):
    t = helpers.terminal(helpers.building(community))
    fleet.mark_online(db, t)
    db.commit()
    events = health.detect_down(db, datetime.now(UTC) + timedelta(seconds=30), 3)
    db.commit()
    return t, events


def test_alert_list_is_chinese_scoped_and_in_the_nav(client, app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    t, _ = _down_terminal(donghe)
    other, _ = _down_terminal(tianxin)
    helpers.login(client, helpers.user(Role.editor, donghe))
    page = client.get("/alerts/").get_data(as_text=True)
    assert 'id="nav-alerts"' in page and "告警" in page
    assert f'data-terminal="{t.id}"' in page and f'data-terminal="{other.id}"' not in page
    assert "掉线" in page and "没有心跳" in page


def test_alerts_are_published_to_the_community_and_the_street(app, monkeypatch):
    sent = []
    monkeypatch.setattr(socketio, "emit", lambda *a, **kw: sent.append((a, kw)))
    # A staff wall is open: tiles are built only for someone who can hear them.
    monkeypatch.setitem(staff._sign_ins, "a-staff-socket", (1, "key"))
    donghe = helpers.community("东和")
    t, events = _down_terminal(donghe)
    chores.publish(events)
    [((event, payload), kw), ((tile_event, tile), tile_kw)] = sent
    # the wall's tile too: a terminal marked offline for silence has no disconnect to say so
    assert tile_event == "terminal" and tile["id"] == t.id and tile["online"] is False
    assert tile_kw == kw
    assert event == "alert" and kw["namespace"] == "/staff"
    assert kw["to"] == [f"community:{donghe.id}", "street"]
    assert payload["terminal_id"] == t.id and payload["kind"] == "down"
    assert payload["health"] == "down" and payload["at"].endswith("Z")
    assert "没有心跳" in payload["detail"]  # people's language outside any request


def test_the_history_partial_lists_events(app):
    donghe = helpers.community("东和")
    t, _ = _down_terminal(donghe)
    admin = helpers.user(Role.community_admin, donghe)
    from server.services.access import Actor

    events = health.history(db, Actor.of(admin), t.id)
    with app.test_request_context():
        html = render_template_string('{% include "alerts/_history.html" %}', events=events)
    assert "掉线" in html and "在线" in html and "无心跳" in html
