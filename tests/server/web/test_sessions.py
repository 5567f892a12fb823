"""Sign-ins are kept server-side and can be ended: logout ends that sign-in for good (a copy
of its cookie is worthless afterwards); a password reset, a role or community change and a
deactivation end every sign-in and API token of the account; a self-service password
change ends all but the browser that made it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.db import db
from server.models import AuditEntry, Role, User
from tests import helpers
from tests.conftest import IsolatedClient

NEW_PASSWORD = "a brand new password"


def browser(app, u: User):
    app.test_client_class = IsolatedClient
    c = app.test_client()
    assert helpers.login(c, u).status_code == 302
    return c


def signed_in(c) -> bool:
    r = c.get("/")
    assert r.status_code in (200, 302)
    return r.status_code == 200


def token_works(headers: dict[str, str], client) -> bool:
    return client.get("/api/v1/me", headers=headers).status_code == 200


def replay(app, cookie: str):
    """A fresh browser holding a copy of someone's session cookie."""
    app.test_client_class = IsolatedClient
    c = app.test_client()
    c.set_cookie("session", cookie)
    return c


def test_a_cookie_captured_before_logout_is_refused_after(app):
    u = helpers.user()
    c = browser(app, u)
    captured = c.get_cookie("session").value
    assert signed_in(replay(app, captured))  # a copy works while the sign-in lasts
    page = c.get("/").get_data(as_text=True)
    assert c.post("/logout", data={"csrf_token": helpers.csrf_token(page)}).status_code == 302
    thief = replay(app, captured)
    assert not signed_in(thief)
    assert thief.get("/account/").status_code == 302


def test_logout_ends_only_that_sign_in(app):
    u = helpers.user()
    office, phone = browser(app, u), browser(app, u)
    page = office.get("/").get_data(as_text=True)
    office.post("/logout", data={"csrf_token": helpers.csrf_token(page)})
    assert not signed_in(office) and signed_in(phone)


def test_the_cookie_names_a_sign_in_not_the_user(app):
    """A cookie forged or kept from before sign-ins were stored (it held the user id) loads
    no one: only the key of a live sign-in does."""
    u = helpers.user()
    c = browser(app, u)
    with c.session_transaction() as sess:
        assert sess["_user_id"] != str(u.id) and len(sess["_user_id"]) >= 40
        sess["_user_id"] = str(u.id)
    assert not signed_in(c)


CHANGES = {
    "password reset": {"password": NEW_PASSWORD},
    "role change": {"role": "viewer"},
    "community move": "other community",
    "deactivation": {"active": False},
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_an_admins_change_ends_every_sign_in_and_token_of_the_account(app, client, change):
    donghe, tianxin = helpers.community(), helpers.community()
    admin = helpers.token(helpers.user(Role.street_admin))
    u = helpers.user(Role.editor, donghe)
    office, phone = browser(app, u), browser(app, u)
    captured = office.get_cookie("session").value
    tokens = [helpers.token(u), helpers.token(u)]
    body = CHANGES[change]
    if body == "other community":
        body = {"community_id": tianxin.id}
    assert client.patch(f"/api/v1/users/{u.id}", json=body, headers=admin).status_code == 200
    assert not signed_in(office) and not signed_in(phone)
    assert not signed_in(replay(app, captured))
    assert not any(token_works(t, client) for t in tokens)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.object_id == u.id,
                                               AuditEntry.action == "update"))
    assert (entry.after["sessions_ended"], entry.after["tokens_revoked"]) == (2, 2)


def test_reactivation_brings_back_no_old_sign_in_or_token(app, client):
    admin = helpers.token(helpers.user(Role.street_admin))
    u = helpers.user()
    office, tok = browser(app, u), helpers.token(u)
    for active in (False, True):
        client.patch(f"/api/v1/users/{u.id}", json={"active": active}, headers=admin)
    assert not signed_in(office) and not token_works(tok, client)
    assert signed_in(browser(app, u))  # signing in again works


def test_changes_that_do_not_touch_access_keep_sign_ins_and_tokens(app, client):
    admin = helpers.token(helpers.user(Role.street_admin))
    u = helpers.user()
    office, tok = browser(app, u), helpers.token(u)
    r = client.patch(f"/api/v1/users/{u.id}", json={"display_name": "李娜", "role": "editor",
                                                    "active": True}, headers=admin)
    assert r.status_code == 200
    assert signed_in(office) and token_works(tok, client)


def test_a_password_reset_through_the_accounts_page_ends_the_sign_ins_too(app):
    c = helpers.community()
    admin = browser(app, helpers.user(Role.community_admin, c))
    u = helpers.user(Role.viewer, c)
    victim, tok = browser(app, u), helpers.token(u)
    r = helpers.post_form(admin, f"/users/{u.id}/edit", {
        "display_name": "", "role": "viewer", "community_id": c.id, "active": "y",
        "password": NEW_PASSWORD})
    assert r.status_code == 302
    assert not signed_in(victim) and not token_works(tok, admin)
    assert signed_in(admin)


def test_a_self_service_password_change_keeps_this_browser_and_ends_the_others(app, client):
    u = helpers.user()
    here, elsewhere = browser(app, u), browser(app, u)
    captured_here = here.get_cookie("session").value
    tok = helpers.token(u)
    r = here.post("/account/password", data={
        "old_password": helpers.PASSWORD, "new_password": NEW_PASSWORD,
        "csrf_token": helpers.csrf_token(here.get("/account/").get_data(as_text=True))})
    assert r.status_code == 302
    after = here.get(r.headers["Location"])  # the flash, before another page takes it
    assert not signed_in(elsewhere)
    assert not token_works(tok, client)
    assert signed_in(here) and signed_in(replay(app, captured_here))
    assert "其他设备上的登录和 API 令牌均已失效" in after.get_data(as_text=True)


def test_an_admin_changes_its_own_password_on_its_account_page_only(app, client):
    me = helpers.user(Role.street_admin)
    here, tok = browser(app, me), helpers.token(me)
    r = client.patch(f"/api/v1/users/{me.id}", json={"password": NEW_PASSWORD}, headers=tok)
    assert r.status_code == 422 and r.json["error"]["field"] == "password"
    assert "我的账号" in r.json["error"]["message"]
    assert signed_in(here) and token_works(tok, client)
    assert "请在“我的账号”页面修改自己的密码" in here.get(f"/users/{me.id}/edit").get_data(
        as_text=True)


def test_a_captured_cookie_opens_no_staff_socket_after_logout(app):
    from tests.server.hub.test_staff_hub import NS, StaffClient

    u = helpers.user()
    c = browser(app, u)
    captured = c.get_cookie("session").value
    assert StaffClient(app, replay(app, captured)).is_connected(NS)
    page = c.get("/").get_data(as_text=True)
    c.post("/logout", data={"csrf_token": helpers.csrf_token(page)})
    assert not StaffClient(app, replay(app, captured)).is_connected(NS)


def test_staff_sockets_close_with_their_sign_in(app, client):
    """An open wall keeps hearing its community's events: its socket is closed when its
    sign-in ends, and only then."""
    from tests.server.hub.test_staff_hub import NS, StaffClient

    admin = helpers.token(helpers.user(Role.street_admin))
    u = helpers.user()
    here, elsewhere, third = browser(app, u), browser(app, u), browser(app, u)
    sockets = {b: StaffClient(app, b) for b in (here, elsewhere, third)}
    assert all(s.is_connected(NS) for s in sockets.values())
    page = third.get("/").get_data(as_text=True)
    third.post("/logout", data={"csrf_token": helpers.csrf_token(page)})
    assert not sockets[third].is_connected(NS)
    assert sockets[here].is_connected(NS) and sockets[elsewhere].is_connected(NS)
    here.post("/account/password", data={
        "old_password": helpers.PASSWORD, "new_password": NEW_PASSWORD,
        "csrf_token": helpers.csrf_token(here.get("/account/").get_data(as_text=True))})
    assert sockets[here].is_connected(NS) and not sockets[elsewhere].is_connected(NS)
    client.patch(f"/api/v1/users/{u.id}", json={"active": False}, headers=admin)
    assert not sockets[here].is_connected(NS)
