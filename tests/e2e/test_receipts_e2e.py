"""Publish receipts end to end (issue #25): four real players on screens of their own
schedule, one of them off; an editor changes the notice they play and a reviewer approves
it over HTTP. The approval's receipt goes through acknowledged, ready and played on each
of the three screens that are on, names the one that is off and since when, is the same
after the server is killed and started again, and completes once that player is back."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from tests import live
from tests.e2e.conftest import wait_for
from tests.helpers import csrf_token

NOTICE_S = 2  # the notice plays in a loop: its first play after the change comes soon


def token_of(url: str, username: str) -> dict[str, str]:
    """A personal API token made on the account page, as that person would."""
    s = live.login(url, username, live.DEMO_PASSWORD)
    page = s.get(url + "/account/", timeout=10).text
    page = s.post(url + "/account/tokens", data={"name": "e2e", "csrf_token": csrf_token(page)},
                  timeout=10).text
    return {"Authorization": "Bearer " + page.split('id="new-token">')[1].split("<")[0]}


class Api:
    def __init__(self, url: str, token: dict[str, str]) -> None:
        self.url, self.token = url + "/api/v1", token

    def __call__(self, method: str, path: str, status: int = 200, **kw) -> dict | list:
        r = requests.request(method, self.url + path, headers=self.token, timeout=30, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json()


def online(admin: Api, tid: int) -> bool:
    return admin("GET", f"/terminals/{tid}/state")["online"]


def receipt_of(admin: Api, item_id: int) -> dict | None:
    """The approval's receipt of this item, as the API gives it."""
    mine = [r for r in admin("GET", "/receipts")
            if (r["object_type"], r["object_id"], r["action"]) == ("content", item_id,
                                                                   "approved")]
    return admin("GET", f"/receipts/{mine[0]['id']}") if mine else None


def stages_are(admin: Api, item_id: int, n: int) -> dict | None:
    r = receipt_of(admin, item_id)
    return r if r and r["stages"] == {"acknowledged": n, "ready": n, "played": n} else None


def test_an_approval_reaches_every_screen_and_its_receipt_says_so(server, admin_token,
                                                                  make_player):
    admin, editor = Api(server.url, admin_token), Api(server.url, token_of(server.url,
                                                                           "donghe_editor"))
    players = [make_player().start() for _ in range(4)]
    off = players[3]
    ids = [p.terminal_id for p in players]

    # A notice of the editor's, approved, on a playlist scheduled to these four screens
    # above the demo's all-day schedule (so it loops on them), while the players start.
    donghe = next(c["id"] for c in admin("GET", "/communities") if c["name"] == "东和")
    topic = admin("GET", "/topics")[0]["id"]
    item = editor("POST", "/content/notices", 201, json={
        "title": "电梯检修", "topic_id": topic, "community_id": donghe, "duration_s": NOTICE_S,
        "notice_title": "电梯检修", "notice_body": "本周六 9:00-12:00 电梯停运检修。"})["id"]
    editor("POST", f"/content/{item}/submit")
    admin("POST", f"/content/{item}/approve")
    playlist = editor("POST", "/playlists", 201, json={
        "name": "回执测试", "community_id": donghe,
        "entries": [{"content_id": item, "duration_s": NOTICE_S}]})["id"]
    editor("POST", "/schedules", 201, json={
        "name": "回执测试", "playlist_id": playlist, "community_id": donghe, "priority": 100,
        "targets": [{"kind": "terminal", "ref_id": tid} for tid in ids]})
    for p in players:
        wait_for(lambda p=p: online(admin, p.terminal_id), timeout=90,
                 what=f"player {p.terminal_id} online")
    off.stop()
    wait_for(lambda: not online(admin, off.terminal_id), timeout=30,
             what="the stopped player offline")

    # The editor changes the text (a pending edit, submitted as it is saved: the approved
    # version plays on); the reviewer's approval sends the new version to the screens.
    editor("PATCH", f"/content/{item}", json={"notice_body": "改期：本周日 9:00-12:00 电梯停运检修。"})
    approved_at = datetime.now(UTC)
    admin("POST", f"/content/{item}/approve")

    receipt = wait_for(lambda: stages_are(admin, item, 3), timeout=90,
                       what="3 screens acknowledged, ready and played")
    assert receipt["screens"] == 4 and receipt["content_ids"] == [item]
    assert receipt["laggards_total"] == 1 and not receipt["done"]
    (laggard,) = receipt["laggards"]
    assert laggard["terminal_id"] == off.terminal_id
    assert laggard["acked_at"] is None and laggard["ready_at"] is None
    assert laggard["why"]["code"] == "offline"
    # Offline since its last word to the server: before the approval, not after it.
    assert datetime.fromisoformat(laggard["why"]["since"]) < approved_at

    # The receipt is in the database, not in the server's memory.
    server.kill()
    server.restart()
    after = receipt_of(admin, item)
    assert after["id"] == receipt["id"] and after["stages"] == receipt["stages"]
    assert [(x["terminal_id"], x["why"]["code"]) for x in after["laggards"]] == [
        (off.terminal_id, "offline")]

    # The screen that was off catches up as soon as its player is back.
    off.start()
    done = wait_for(lambda: stages_are(admin, item, 4), timeout=90,
                    what="the fourth screen through the three stages")
    assert done["done"] and done["laggards"] == [] and done["laggards_total"] == 0
    for p in players:
        p.stop()
