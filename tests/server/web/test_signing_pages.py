"""The signing page (/signing): street admins only; rotate, emergency re-key behind its
confirmation, the enforcement switch and the count of screens it cuts off."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from player import protocol
from server.db import db
from server.models import Role, SigningKey
from server.services import fleet, signing
from tests import helpers


def _page(client) -> str:
    return client.get("/signing").get_data(as_text=True)


def _post(client, url: str, data: dict | None = None):
    token = helpers.csrf_token(_page(client))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def test_the_page_is_for_street_admins_and_shows_keys_screens_and_refusals(client, app):
    donghe = helpers.community("东和")
    b = helpers.building(donghe)
    t1, t2 = helpers.terminal(b), helpers.terminal(b)
    for t in (t1, t2):
        fleet.issue_credential(db, t)
    db.commit()
    refusal = {"what": "manifest", "reason": "bad_signature",
               "at": protocol.iso(datetime.now(UTC)), "version": 2, "sha256": None}
    fleet.record_statuses(db, [(t1.id, protocol.check_status({
        "screen_on": True, "brightness": 80, "cache_ready": True, "playing": None,
        "player_version": "t", "trust": {"key_id": None, "refused": refusal}}),
        datetime.now(UTC))])
    db.commit()
    helpers.login(client, helpers.user(Role.community_admin, donghe))
    assert client.get("/signing").status_code == 403
    client = app.test_client()  # another browser
    helpers.login(client, helpers.user(Role.street_admin))
    page = _page(client)
    key = db.scalar(select(SigningKey))
    assert "签名密钥" in page and key.key_id in page
    assert 'id="hold-none">2<' in page  # never reported a key
    assert "2 块没有密钥的屏幕将被断开" in page  # what enforcement would cut off
    assert f'data-terminal="{t1.id}"' in page and "签名不符" in page


def test_rotate_rekey_and_enforce_from_the_page(client, app):
    admin = helpers.user(Role.street_admin)
    helpers.login(client, admin)
    _page(client)  # the first key
    first = db.scalar(select(SigningKey))
    assert _post(client, "/signing/rotate").status_code == 302
    db.expire_all()
    rotated = signing.current_key(db, admin.street_id)
    assert rotated.endorsed_by == first.key_id
    # Re-key asks first: a post without the confirmation goes to the confirmation page.
    r = _post(client, "/signing/rekey")
    assert r.status_code == 302 and r.headers["Location"].endswith("/signing/rekey")
    confirm = client.get("/signing/rekey").get_data(as_text=True)
    assert "所有屏幕都必须重新配对" in confirm
    assert _post(client, "/signing/rekey", {"confirm": "1"}).status_code == 302
    db.expire_all()
    emergency = signing.current_key(db, admin.street_id)
    assert emergency.emergency and emergency.endorsement is None
    assert _post(client, "/signing/enforce", {"enforced": "1"}).status_code == 302
    db.expire_all()
    assert signing.enforced(db, admin.street_id)
    assert "现在拒绝没有签名密钥的屏幕" in _page(client)
