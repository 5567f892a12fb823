"""Early warnings end to end (issue #23's "done when"): a CAP typhoon message, signed and
posted to the webhook, puts the warning on exactly the screens of its area (real player
processes) with no staff action; the update to red replaces it on the same screens, the
cancel ends it, and the receipt shows every screen's acknowledgement: a screen that was
off is named offline until it comes back and shows the warning it missed.

One server and one set of players for the module (it is one chain, told in order)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from content.themes import signal_theme
from server.models import Community, Street
from server.services.access import Actor
from server.services.warnings import sources
from tests import live
from tests.cap.samples import sample
from tests.conftest import clean_database
from tests.e2e.conftest import Player, pair, wait_for

INSIDE_CODE = "440308003005"  # 东和社区, 沙头角街道, 盐田区 (the samples' 440308)
OUTSIDE_CODE = "440304010001"  # a code in 福田区: outside every sample but the rainstorm's
NEAR_DONGHE = (22.555, 114.237)
FUTIAN = (22.541, 114.055)


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """conftest's server without the demo's scheduled content: a screen shows nothing but
    the warning, and the module saves the content's rendering (~20 s)."""
    clean_database(database_url)
    srv = live.start(database_url, tmp_path_factory.mktemp("warnings"), content=False)
    yield srv
    try:
        srv.stop()
    finally:
        clean_database(database_url)


def api(server, token, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, f"{server.url}/api/v1{path}", headers=token, timeout=30,
                            **kw)


def webhook(server, source: dict, body: bytes, secret: str | None = None) -> requests.Response:
    """POST a message as a source pushes it: the raw body signed with HMAC-SHA256."""
    headers = {"Content-Type": "application/cap+xml"}
    if secret is not None:
        mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Signature-256"] = f"sha256={mac}"
    return requests.post(f"{server.url}/api/v1/warnings/webhook/{source['id']}", data=body,
                         headers=headers, timeout=30)


def stored(p: Player) -> dict:
    """What the player keeps in its data folder: the broadcasts to show and those shown."""
    path = p.data / "broadcasts.json"
    return json.loads(path.read_text()) if path.exists() else {"broadcasts": [], "shown": {}}


def showing(p: Player) -> set[int]:
    return {b["id"] for b in stored(p)["broadcasts"]}


def receipt(server, token, message_id: int) -> dict:
    r = api(server, token, "GET", f"/warnings/{message_id}/receipt")
    assert r.status_code == 200, r.text
    return r.json()


def playing(server, token, terminal_id: int) -> int | None:
    """The content the screen last reported on air (its status, every few seconds)."""
    return api(server, token, "GET", f"/terminals/{terminal_id}/state").json()[
        "playing_content_id"]


def share_near(png: bytes, rgb: tuple[int, int, int], tolerance: int = 60) -> float:
    """Share of the picture's pixels within `tolerance` of a colour (each channel)."""
    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    px = [data[i:i + 3] for i in range(0, len(data), 3)]
    near = sum(1 for p in px if all(abs(a - b) <= tolerance for a, b in zip(p, rgb, strict=True)))
    return near / len(px)


@pytest.fixture(scope="module")
def fleet(server, admin_token, database_url, tmp_path_factory) -> dict:
    """Five players, each paired as a new player is: three in 东和, inside the typhoon's
    area (a 384x192 lobby panel, a 128x64 single-colour lift panel, a 1920x320 gate strip),
    two moved to a building of 田心, whose community code lies outside. Only they are
    paired, so only they can be matched. The gate strip is off before any message."""
    base = tmp_path_factory.mktemp("players")
    terminals = api(server, admin_token, "GET", "/terminals").json()
    by_panel: dict[tuple, list[dict]] = {}
    for t in sorted(terminals, key=lambda t: t["id"]):
        by_panel.setdefault((t["width"], t["height"], t["colour_mode"]), []).append(t)
    lobby = by_panel[(384, 192, "full")]
    chosen = {"lobby": lobby[0], "lift": by_panel[(128, 64, "mono")][0],
              "gate": by_panel[(1920, 320, "full")][0], "out1": lobby[1], "out2": lobby[2]}
    communities = {c["name"]: c["id"] for c in api(server, admin_token, "GET",
                                                    "/communities").json()}
    r = api(server, admin_token, "POST", "/buildings",
            json={"community_id": communities["田心"], "name": "预警测试楼"})
    assert r.status_code == 201, r.text
    outside_building = r.json()["id"]
    for key in ("out1", "out2"):
        r = api(server, admin_token, "PATCH", f"/terminals/{chosen[key]['id']}",
                json={"building_id": outside_building})
        assert r.status_code == 200, r.text
    set_area(database_url, [chosen[k]["building_id"] for k in ("lobby", "lift", "gate")],
             outside_building)
    players = {}
    for key, t in chosen.items():
        cred = base / f"cred-{t['id']}"
        cred.write_text(pair(server.url, admin_token, t["id"]))
        players[key] = Player(t["id"], cred, base / f"data-{key}", server).start(
            "--size", f"{t['width']}x{t['height']}")
    wait_for(lambda: all(p.manifest_version() is not None for p in players.values()),
             timeout=60, interval=0.1, what="every player's first manifest")
    players["gate"].stop()  # switched off before the warning comes
    yield players
    for p in players.values():
        if p.process and p.process.poll() is None:
            p.process.kill()
            p.process.wait()


def set_area(database_url: str, inside_buildings: list[int], outside_building: int) -> None:
    """Division codes and building positions, as a street admin sets them on the tree
    pages: 东和 is in 盐田区 (the typhoon's 440308); 田心 stands in here for a community of
    福田区 (440304), so the street itself has no code (a community must lie inside it)."""
    engine = create_engine(database_url)
    with Session(engine) as s:
        street = s.scalar(select(Street))
        names = {c.name: c.id for c in s.scalars(select(Community))}
        admin = Actor.system(street.id, "e2e")
        sources.set_area_codes(s, admin, None, {names["东和"]: INSIDE_CODE,
                                                names["田心"]: OUTSIDE_CODE})
        for b in inside_buildings:
            sources.set_building_position(s, admin, b, *NEAR_DONGHE)
        sources.set_building_position(s, admin, outside_building, *FUTIAN)
        s.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def source(server, admin_token) -> dict:
    """A webhook source of the street with the default policy (orange and red: automatic),
    added through the API; its secret as the API shows it to the street admin."""
    r = api(server, admin_token, "POST", "/warning-sources",
            json={"name": "深圳市气象台（测试）", "kind": "webhook"})
    assert r.status_code == 201, r.text
    assert r.json()["secret"]
    return r.json()


def test_typhoon_warning_reaches_its_area_updates_cancels_with_a_receipt(
        server, admin_token, fleet, source):
    lobby, lift, gate, out1, out2 = (fleet[k] for k in ("lobby", "lift", "gate", "out1",
                                                         "out2"))
    inside, outside = (lobby, lift, gate), (out1, out2)
    now = datetime.now(UTC).replace(microsecond=0)
    sent = {"orange": now - timedelta(minutes=90), "red": now - timedelta(minutes=30),
            "cancel": now}
    ids = {k: f"SZMB-E2E-TY-{k}" for k in sent}
    orange = sample("typhoon_orange_yantian", sent=sent["orange"], identifier=ids["orange"])

    # Only a signed body is taken; a wrong signature changes nothing.
    assert webhook(server, source, orange).status_code == 401
    assert webhook(server, source, orange, "not-the-secret").status_code == 401
    assert api(server, admin_token, "GET", "/warnings").json() == []

    # The orange signal, signed: sent at once (no staff action) to 东和's three screens.
    r = webhook(server, source, orange, source["secret"])
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "accepted"
    orange_id = r.json()["message_id"]
    msg = api(server, admin_token, "GET", f"/warnings/{orange_id}").json()
    assert msg["state"] == "sent" and msg["decision"] == "auto" and msg["level"] == "orange"
    assert {m["terminal_id"] for m in msg["matched"]} == {p.terminal_id for p in inside}
    rc = wait_for(lambda: (r := receipt(server, admin_token, orange_id))["acknowledged"] == 2
                  and r, timeout=30, interval=0.1,
                  what="the two screens on acknowledging the orange")
    orange_bc = rc["broadcast"]["id"]
    assert rc["targeted"] == 3
    rows = {t["terminal_id"]: t for t in rc["terminals"]}
    assert rows[gate.terminal_id]["problem"] == "offline"  # stopped: not a mere delay
    assert rows[gate.terminal_id]["acked_at"] is None
    for p in (lobby, lift):
        assert rows[p.terminal_id]["acked_at"] and rows[p.terminal_id]["problem"] is None
        assert showing(p) == {orange_bc} and str(orange_bc) in stored(p)["shown"]
    # The same message again changes nothing.
    r = webhook(server, source, orange, source["secret"])
    assert r.status_code == 200 and r.json()["outcome"] == "duplicate"

    # The update to red replaces it on the same screens.
    red = sample("typhoon_red_yantian_update", sent=sent["red"], identifier=ids["red"],
                 references=[(ids["orange"], sent["orange"])])
    r = webhook(server, source, red, source["secret"])
    assert r.status_code == 200 and r.json()["outcome"] == "accepted", r.text
    red_id = r.json()["message_id"]
    wait_for(lambda: receipt(server, admin_token, red_id)["acknowledged"] == 2,
             timeout=30, interval=0.1, what="the two screens on acknowledging the red")
    red_bc = receipt(server, admin_token, red_id)["broadcast"]["id"]
    assert red_bc != orange_bc
    for p in (lobby, lift):
        wait_for(lambda p=p: showing(p) == {red_bc}, timeout=30, interval=0.1,
                 what=f"{p.terminal_id} showing the red warning only")
    assert api(server, admin_token, "GET", f"/warnings/{orange_id}").json()["state"] == \
        "superseded"
    # What the lobby panel showed, in the picture it took as the warning appeared: the
    # card's ground in the signal's colour.
    login = live.login(server.url)
    for bc, level, other in ((orange_bc, "orange", "red"), (red_bc, "red", "orange")):
        r = login.get(f"{server.url}/broadcasts/{bc}/thumbnails/{lobby.terminal_id}.png",
                      timeout=10)
        assert r.status_code == 200
        ours = share_near(r.content, signal_theme(level).background)
        assert ours > 0.3 and ours > share_near(r.content, signal_theme(other).background)

    # The gate strip comes back: it shows the warning it missed and the receipt fills.
    gate.start("--size", "1920x320")
    wait_for(lambda: receipt(server, admin_token, red_id)["complete"], timeout=60,
             interval=0.1, what="the gate strip acknowledging the red after its restart")
    assert showing(gate) == {red_bc} and str(red_bc) in stored(gate)["shown"]
    # Each screen of the area reports the red card as what it plays.
    red_content = stored(lobby)["broadcasts"][0]["content_id"]
    for p in inside:
        wait_for(lambda p=p: playing(server, admin_token, p.terminal_id) == red_content,
                 timeout=30, interval=0.1, what=f"{p.terminal_id} reporting the red card")

    # The cancel ends it everywhere.
    cancel = sample("typhoon_cancel_yantian", sent=sent["cancel"], identifier=ids["cancel"],
                    references=[(ids["red"], sent["red"])])
    r = webhook(server, source, cancel, source["secret"])
    assert r.status_code == 200 and r.json()["outcome"] == "accepted", r.text
    for p in inside:
        wait_for(lambda p=p: showing(p) == set(), timeout=30, interval=0.1,
                 what=f"{p.terminal_id} ending the warning")
    assert api(server, admin_token, "GET", f"/warnings/{red_id}").json()["state"] == "cancelled"
    rc = receipt(server, admin_token, red_id)
    assert rc["broadcast"]["state"] == "ended"
    assert (rc["targeted"], rc["acknowledged"], rc["not_acknowledged"]) == (3, 3, 0)
    assert {t["terminal_id"] for t in rc["terminals"]} == {p.terminal_id for p in inside}
    assert all(t["acked_at"] and t["problem"] is None for t in rc["terminals"])
    csv_rows = api(server, admin_token, "GET", f"/warnings/{red_id}/receipt.csv").text
    assert len(csv_rows.strip().splitlines()) == 1 + 3

    # A yellow rainstorm signal for 福田区: its area holds the two screens whose community
    # carries a 福田区 code here and none of 东和's; yellow waits for a staff approval
    # (the default policy), which shows them the screens it proposes.
    r = webhook(server, source, sample("rainstorm_futian", identifier="SZMB-E2E-RS-1"),
                source["secret"])
    assert r.status_code == 200 and r.json()["outcome"] == "accepted", r.text
    rain = api(server, admin_token, "GET", f"/warnings/{r.json()['message_id']}").json()
    assert rain["state"] == "pending" and rain["level"] == "yellow"
    assert {m["terminal_id"] for m in rain["matched"]} == {p.terminal_id for p in outside}
    # The outside screens got nothing from the typhoon, and nothing was sent since.
    for p in outside:
        assert stored(p)["broadcasts"] == [] and not stored(p).get("shown")
