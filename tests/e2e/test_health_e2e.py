"""Health end to end: a real headless player whose picture freezes, against the real server
(gunicorn, its embedded scheduler): a stuck alert; the player killed: down; restarted:
recovered. The jobs run on their own; nothing here calls them. The server judges with the
smallest thresholds it accepts (10 s unchanged past a due change is stuck; two missed
heartbeats, 10 s, is down) rather than the defaults (15 s, three): the same judgement, told
sooner, and still twice the 5 s STATUS interval, so the control player is never judged
wrongly by sampling alone."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import create_engine, text

from tests import live
from tests.e2e.conftest import demo_server, wait_for
from tests.helpers import csrf_token

THRESHOLDS = {"SIGNAGE_STUCK_GRACE_S": "10", "SIGNAGE_MISSED_HEARTBEATS": "2"}


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    with demo_server(database_url, tmp_path_factory.mktemp("health"), THRESHOLDS) as srv:
        yield srv


def alerts_of(database_url: str, terminal_id: int) -> list[tuple[str, str, bool]]:
    """[(kind, reason, still open)] oldest first."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, reason, closed_at IS NULL FROM terminal_alert "
                                 "WHERE terminal_id = :t ORDER BY id"),
                            {"t": terminal_id}).all()
        health = conn.execute(text("SELECT health FROM terminal_state WHERE terminal_id = :t"),
                              {"t": terminal_id}).scalar()
    engine.dispose()
    return [(k, r, bool(o)) for k, r, o in rows], health


def test_frozen_player_is_stuck_killed_is_down_restarted_recovers(server, make_player,
                                                                  database_url):
    control = make_player().start()  # plays normally throughout: never alerted
    p = make_player()
    # Long enough to fetch its files and start playing; then the picture stops changing.
    p.start("--simulate-freeze-after", "20")
    wait_for(lambda: ("stuck", "frozen", True) in alerts_of(database_url, p.terminal_id)[0],
             timeout=150, what="a stuck alert for the frozen player")
    assert alerts_of(database_url, p.terminal_id)[1] == "stuck"

    p.kill()
    wait_for(lambda: ("down", "silent", True) in alerts_of(database_url, p.terminal_id)[0],
             timeout=90, what="a down alert for the killed player")
    alerts, health = alerts_of(database_url, p.terminal_id)
    assert health == "down" and ("stuck", "frozen", False) in alerts  # stuck closed by down

    p.start()  # no freeze this time
    wait_for(lambda: alerts_of(database_url, p.terminal_id)[0][-1][0] == "recovered",
             timeout=90, what="the recovered alert")
    alerts, health = alerts_of(database_url, p.terminal_id)
    assert health == "ok" and not any(is_open for _, _, is_open in alerts)
    assert [k for k, _, _ in alerts] == ["stuck", "down", "recovered"]
    assert alerts_of(database_url, control.terminal_id) == ([], "ok")

    # The alert list page shows the story in Chinese.
    s = requests.Session()
    page = s.get(server.url + "/login").text
    s.post(server.url + "/login", data={"username": "admin", "password": live.ADMIN_PASSWORD,
                                        "csrf_token": csrf_token(page)})
    page = s.get(server.url + "/alerts/").text
    assert "已恢复" in page and "掉线" in page and "画面卡住" in page
