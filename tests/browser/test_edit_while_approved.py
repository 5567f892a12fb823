"""Editing a notice that is on air, as the issue walked it: the editor adds four characters
to the approved typhoon notice, a real player keeps playing the approved version (a
restarted player is given it too, and the edit's files are refused to it) until the
reviewer approves the edit in the review queue; then the player switches to the new
version, under the same item id."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import expect

from player import protocol
from tests import live
from tests.browser.conftest import login
from tests.e2e.conftest import Player, pair, wait_for
from tests.helpers import csrf_token
from tests.live import DEMO_PASSWORD

SHOTS = os.environ.get("SIGNAGE_SHOTS")  # a folder: keep screenshots of the pages to look at


BODY = "台风“海葵”预计今晚登陆，请关好门窗，收好阳台物品，非必要不外出。"


@pytest.fixture
def world(server, tmp_path) -> Iterator[tuple[Player, int]]:
    """A paired player on a 东和 terminal and the approved typhoon notice scheduled on it:
    written by the street admin, approved by 东和's reviewer (the item page's form)."""
    api = live.admin_token(server.url, "edit-while-approved")
    url = server.url + "/api/v1"
    donghe = next(c for c in requests.get(url + "/communities", headers=api, timeout=10).json()
                  if c["name"] == "东和")
    terminal = requests.get(url + "/terminals", params={"community_id": donghe["id"]},
                            headers=api, timeout=10).json()[0]
    cred = tmp_path / "credential"
    cred.write_text(pair(server.url, api, terminal["id"]))
    player = Player(terminal["id"], cred, tmp_path / "data", server)

    topic = next(t for t in requests.get(url + "/topics", headers=api, timeout=10).json()
                 if t["name"] == "防台风")
    r = requests.post(url + "/content/notices", headers=api, timeout=60, json={
        "title": "台风预警", "topic_id": topic["id"], "community_id": donghe["id"],
        "notice_title": "台风预警", "notice_body": BODY, "notice_template": "warning"})
    assert r.status_code == 201, r.text
    item_id = r.json()["id"]
    requests.post(f"{url}/content/{item_id}/submit", headers=api, timeout=10)
    reviewer = live.login(server.url, "donghe_reviewer", DEMO_PASSWORD)
    page = reviewer.get(f"{server.url}/content/{item_id}", timeout=10).text
    r = reviewer.post(f"{server.url}/content/{item_id}/approve", timeout=10,
                      data={"csrf_token": csrf_token(page)})
    assert r.status_code == 200
    p = requests.post(url + "/playlists", headers=api, timeout=10, json={
        "name": "大堂日常", "community_id": donghe["id"], "entries": [{"content_id": item_id}]})
    assert p.status_code == 201, p.text
    sc = requests.post(url + "/schedules", headers=api, timeout=10, json={
        "name": "全天播放", "playlist_id": p.json()["id"], "community_id": donghe["id"],
        "targets": [{"kind": "terminal", "ref_id": terminal["id"]}]})
    assert sc.status_code == 201, sc.text
    yield player, item_id
    if player.process and player.process.poll() is None:
        player.process.kill()
        player.process.wait()


def _items_of(node, content_id: int) -> list[dict]:
    """The plan's items of one content item, wherever they sit in the manifest."""
    if isinstance(node, dict):
        if node.get("content_id") == content_id and "sha256" in node:
            return [node]
        return [i for v in node.values() for i in _items_of(v, content_id)]
    if isinstance(node, list):
        return [i for v in node for i in _items_of(v, content_id)]
    return []


def _playing(p: Player, content_id: int) -> set[str]:
    """The blobs of the item in the player's own saved manifest."""
    import json

    path = p.data / "manifest.json"
    if not path.exists():
        return set()
    return {i["sha256"] for i in _items_of(json.loads(path.read_text())["plan"], content_id)}


def _fetch(server, p: Player, sha: str) -> int:
    return requests.get(f"{server.url}{protocol.BLOB_PATH}/{sha}", timeout=10, headers={
        "Authorization": "Bearer " + p.credential.read_text().strip()}).status_code


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def test_the_approved_version_plays_until_the_edit_is_approved(page, server, world):
    player, item_id = world
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "donghe_editor", DEMO_PASSWORD)
    page.goto("/content/?q=台风预警")
    page.get_by_role("link", name="台风预警", exact=True).click()
    item_url = page.url
    assert item_url.endswith(f"/content/{item_id}")

    player.start()
    old = wait_for(lambda: _playing(player, item_id), timeout=60, what="the player's manifest")

    # The edit: four characters more. The button says what saving does.
    page.click("#edit")
    save = page.locator("#save")
    expect(save).to_have_text("保存修改（待审核，原版本继续播放）")
    body = page.input_value("#notice_body")
    page.fill("#notice_body", body + "注意安全")
    _shot(page, "edit-form.png")
    save.click()
    expect(page.locator(".flash.ok")).to_contain_text("屏幕继续播放第 1 版")
    expect(page.locator("#version-state")).to_have_text("播放中：第 1 版 · 待审核：第 2 版")
    expect(page.locator("mark.status")).to_have_text("已通过")
    expect(page.locator("table.changes td.after")).to_contain_text(body + "注意安全")
    pending = {src.rsplit("/", 1)[1] for src in page.locator(
        "#version-pending img.led").evaluate_all("els => els.map(e => e.getAttribute('src'))")}
    assert pending and not pending & old
    _shot(page, "item-both-states.png")
    page.goto("/content/?q=台风预警")
    expect(page.locator("#content-list .versions-line")).to_have_text(
        "播放中：第 1 版 · 待审核：第 2 版")
    _shot(page, "library.png")

    # While the edit waits, a player that starts afresh is given the approved version, and
    # the edit's files are refused to it.
    player.stop()
    (player.data / "manifest.json").unlink()
    player.start()
    assert wait_for(lambda: _playing(player, item_id), timeout=60,
                    what="a fresh manifest") == old
    assert {_fetch(server, player, sha) for sha in pending} == {404}
    assert {_fetch(server, player, sha) for sha in old} == {200}

    # The reviewer sees who asked, when, for how long, where it plays and what changed.
    page.context.clear_cookies()
    login(page, "donghe_reviewer", DEMO_PASSWORD)
    page.goto("/review")
    card = page.locator(f"#review-{item_id}")
    expect(card.locator(".review-kind")).to_have_text("修改播放中的内容（第 1 版 → 第 2 版）")
    expect(card.locator(".submitter")).not_to_have_text("—")
    expect(card.locator(".submitted-at")).to_contain_text("-")
    expect(card.locator(".validity")).to_have_text("长期有效")
    expect(card.locator(".targets")).to_contain_text("大堂日常")
    expect(card.locator(".targets")).to_contain_text("1 块屏幕")
    expect(card.locator("td.before")).to_contain_text(body)
    expect(card.locator("td.after")).to_contain_text(body + "注意安全")
    _shot(page, "review-queue.png")
    card.locator("button.approve").click()
    expect(page.locator(".flash.ok")).to_contain_text("屏幕现在播放第 2 版")

    # The player is nudged and switches, under the same item id, to files it may fetch.
    new = wait_for(lambda: (_playing(player, item_id) - old) and _playing(player, item_id),
                   timeout=60, what="the new version on the player")
    assert new <= pending
    assert {_fetch(server, player, sha) for sha in new} == {200}
    page.goto(item_url)
    expect(page.locator("#versions")).to_have_count(0)
    expect(page.locator("mark.status")).to_have_text("已通过")
