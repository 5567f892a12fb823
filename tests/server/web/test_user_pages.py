"""The accounts pages follow the same rule as the API (server/services/access.py): they
offer only what the actor may do, and a forged form gets the rule's 403 and message.
The whole matrix runs through the API in tests/server/api/test_account_roles.py; this is
a sample through the forms."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from server.db import db
from server.models import AuditEntry, Role, User
from tests import helpers
from tests.conftest import IsolatedClient

NEW_PASSWORD = "a brand new password"
ADMIN_ONLY = "只有街道管理员可以创建或更改管理员账号，请联系街道管理员。"


def browser(app, u: User):
    app.test_client_class = IsolatedClient
    c = app.test_client()
    helpers.login(c, u)
    return c


def post(c, url: str, data: dict):
    """Post as the browser would; the CSRF token comes from a page every user may open, so
    a form whose own page is refused can be forged too."""
    token = helpers.csrf_token(c.get("/account/").get_data(as_text=True))
    return c.post(url, data={**data, "csrf_token": token})


def role_options(html: str) -> set[str]:
    select_ = re.search(r'<select[^>]*name="role".*?</select>', html, re.S).group(0)
    return set(re.findall(r'<option[^>]*value="([^"]+)"', select_))


@pytest.fixture
def w(app):
    c = helpers.community("东和")
    return {
        "app": app,
        "c": c,
        "street": helpers.user(Role.street_admin),
        "admin": helpers.user(Role.community_admin, c),
        "peer": helpers.user(Role.community_admin, c),
        "editor": helpers.user(Role.editor, c),
    }


def test_the_role_select_offers_only_what_the_actor_may_give(w):
    mine = role_options(browser(w["app"], w["admin"]).get("/users/new").get_data(as_text=True))
    assert mine == {"reviewer", "editor", "viewer"}
    street = browser(w["app"], w["street"])
    assert role_options(street.get("/users/new").get_data(as_text=True)) == {r.value for r in Role}
    edit = street.get(f"/users/{w['peer'].id}/edit").get_data(as_text=True)
    assert role_options(edit) == {r.value for r in Role}


def test_the_list_offers_edit_only_where_the_actor_may_edit(w):
    html = browser(w["app"], w["admin"]).get("/users/").get_data(as_text=True)
    assert f"/users/{w['editor'].id}/edit" in html
    assert f"/users/{w['peer'].id}/edit" not in html
    assert f"/users/{w['admin'].id}/edit" not in html  # itself: its own page is /account


def _create(role: str):
    return lambda w: ("/users/new", {"username": "new.one", "display_name": "",
                                     "role": role, "community_id": w["c"].id,
                                     "password": NEW_PASSWORD, "active": "y"})


def _edit(who: str, **changes):
    def make(w):
        u = w[who]
        data = {"display_name": u.display_name, "role": u.role.value,
                "community_id": u.community_id, "active": "y", "password": ""}
        data.update(changes)
        if data["active"] is False:
            del data["active"]  # an unticked checkbox is not sent
        return f"/users/{u.id}/edit", data
    return make


FORMS = [
    # actor, form, expected status, object whose row must (not) change
    ("admin", _create("community_admin"), 403, None),
    ("admin", _create("street_admin"), 403, None),
    ("admin", _create("editor"), 302, None),
    ("admin", _edit("editor", role="community_admin"), 403, "editor"),
    ("admin", _edit("editor", password=NEW_PASSWORD), 302, "editor"),
    ("admin", _edit("peer", active=False), 403, "peer"),
    ("admin", _edit("peer", password=NEW_PASSWORD), 403, "peer"),
    ("admin", _edit("peer", role="editor"), 403, "peer"),
    ("street", _create("community_admin"), 302, None),
    ("street", _edit("editor", role="community_admin"), 302, "editor"),
    ("street", _edit("peer", active=False), 302, "peer"),
    ("editor", _create("viewer"), 403, None),
]


@pytest.mark.parametrize(("actor", "form", "status", "target"), FORMS,
                         ids=[f"{a}-{i}" for i, (a, *_r) in enumerate(FORMS)])
def test_forms_follow_the_rule(w, actor, form, status, target):
    url, data = form(w)
    t = w[target] if target else None
    before = (t.role, t.active, t.password_hash) if t else None
    r = post(browser(w["app"], w[actor]), url, data)
    assert r.status_code == status
    db.expire_all()
    if t is not None:
        assert ((t.role, t.active, t.password_hash) != before) == (status == 302)
    else:
        made = db.scalar(select(User).where(User.username == "new.one"))
        assert (made is not None) == (status == 302)
    if status == 403:
        html = r.get_data(as_text=True)
        assert ADMIN_ONLY in html or "只有管理员可以管理账号" in html
    audited = db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.object_type == "user", AuditEntry.action.in_(("create", "update"))))
    assert audited == (status == 302)


def test_a_peer_admins_edit_page_is_refused_with_the_reason(w):
    r = browser(w["app"], w["admin"]).get(f"/users/{w['peer'].id}/edit")
    assert r.status_code == 403 and ADMIN_ONLY in r.get_data(as_text=True)


def test_non_admins_have_no_accounts_pages(w):
    assert browser(w["app"], w["editor"]).get("/users/").status_code == 403
