"""Who may manage which staff account, through the JSON API: every actor role x target
role x same/other community x operation. The rule (docs/security.md): street admins manage
every account of their street; a community admin manages only the non-admin accounts of
its own community and cannot make admins; nobody else manages accounts. Accounts out of
the actor's sight (another community's, street admins' for a community admin) are 404.

One module-wide app and one set of actors: 315 cases, each with a fresh target account
made from a hash computed once (scrypt per account would cost a minute)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count, product

import pytest
from sqlalchemy import func, select

from server import create_app
from server.db import db
from server.extensions import limiter
from server.models import AuditEntry, Role, User
from server.services import accounts
from tests import helpers
from tests.conftest import IsolatedClient, clean_database

ADMINS = {Role.street_admin, Role.community_admin}
ACTORS = [Role.street_admin, Role.community_admin, Role.reviewer, Role.editor, Role.viewer]
# A target's place: "same" community as the actor (its own for a street admin actor:
# any community), "other" community, or "street" (street admins belong to none).
TARGETS = [(Role.street_admin, "street")] + [
    (role, where) for role in ACTORS[1:] for where in ("same", "other")
]
OPS = ["create", "rename", "make_admin", "make_plain", "password", "deactivate", "activate"]
NEW_PASSWORD = "a brand new password"
_n = count(1)


def expected(actor: Role, target: Role, where: str, op: str) -> int:
    """The rule, written from the specification (not from the code)."""
    ok = 201 if op == "create" else 200
    if actor == Role.street_admin:
        return ok
    if op != "create" and where != "same":
        return 404  # out of sight
    if actor != Role.community_admin:
        return 403  # only admins manage accounts
    if target in ADMINS or op == "make_admin":
        return 403  # only street admins make or change admins
    if where == "other":
        return 404  # creating in another community: no such community
    return ok


@dataclass
class World:
    client: IsolatedClient
    same: int  # community ids
    other: int
    headers: dict[Role, dict[str, str]]
    password_hash: str


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    app = create_app({"SIGNAGE_DATABASE_URL": database_url,
                      "SIGNAGE_DATA_DIR": str(tmp_path_factory.mktemp("var")),
                      "SIGNAGE_SECRET_KEY": "test-secret"}, TESTING=True)
    app.test_client_class = IsolatedClient
    limiter.reset()
    with app.app_context():
        same, other = helpers.community("东和"), helpers.community("田心")
        actors = {role: helpers.user(role, same) for role in ACTORS}
        headers = {role: helpers.token(u) for role, u in actors.items()}
        yield World(app.test_client(), same.id, other.id, headers,
                    accounts.hash_password(helpers.PASSWORD))
        db.remove()
    clean_database(database_url)
    app.extensions["signage_engine"].dispose()


def _community(w: World, where: str) -> int | None:
    return {"same": w.same, "other": w.other, "street": None}[where]


def _target(w: World, role: Role, where: str, active: bool = True) -> User:
    u = User(username=f"target{next(_n)}", role=role, street_id=helpers.street().id,
             community_id=_community(w, where), password_hash=w.password_hash, active=active)
    db.add(u)
    db.commit()
    return u


def _audited(object_id: int) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.object_type == "user", AuditEntry.object_id == object_id))


def _patch(w: World, target: User, op: str) -> dict:
    if op == "rename":
        return {"display_name": "新名字"}
    if op == "password":
        return {"password": NEW_PASSWORD}
    if op in ("deactivate", "activate"):
        return {"active": op == "activate"}
    if op == "make_admin":
        role = Role.street_admin if target.role == Role.community_admin else Role.community_admin
    else:
        role = Role.viewer if target.role == Role.editor else Role.editor
    body: dict = {"role": role.value}
    if target.community_id is None:
        body["community_id"] = w.same
    return body


@pytest.mark.parametrize(("op", "target", "actor"), [
    pytest.param(op, target, actor, id=f"{actor.value}-{op}-{target[0].value}@{target[1]}")
    for op, target, actor in product(OPS, TARGETS, ACTORS)
])
def test_who_may_manage_which_account(world, actor, target, op):
    role, where = target
    want = expected(actor, role, where, op)
    if op == "create":
        username = f"new{next(_n)}"
        r = world.client.post("/api/v1/users", headers=world.headers[actor], json={
            "username": username, "password": NEW_PASSWORD, "role": role.value,
            "community_id": _community(world, where)})
        made = db.scalar(select(User).where(User.username == username))
        assert r.status_code == want, r.json
        assert (made is not None) == (want == 201)
        if made is not None:
            assert (made.role, made.community_id) == (role, _community(world, where))
            assert _audited(made.id) == 1
    else:
        u = _target(world, role, where, active=op != "activate")
        before = (u.role, u.community_id, u.active, u.display_name, u.password_hash)
        r = world.client.patch(f"/api/v1/users/{u.id}", headers=world.headers[actor],
                               json=_patch(world, u, op))
        db.expire_all()
        after = (u.role, u.community_id, u.active, u.display_name, u.password_hash)
        assert r.status_code == want, r.json
        assert (after != before) == (want == 200)
        assert _audited(u.id) == (want == 200)
    if want >= 400:
        error = r.json["error"]
        assert error["code"] == {403: "forbidden", 404: "not_found"}[want]
        assert error["message"]
    if want == 403:
        # Says who can do it instead, in the people's language.
        assert "管理员" in r.json["error"]["message"]


def test_the_matrix_covers_every_combination():
    assert len(ACTORS) * len(TARGETS) * len(OPS) == 315
    assert {r for r, _w in TARGETS} == set(Role)


def test_refusals_say_who_can_do_it(world):
    r = world.client.post("/api/v1/users", headers=world.headers[Role.community_admin], json={
        "username": f"new{next(_n)}", "password": NEW_PASSWORD,
        "role": Role.community_admin.value, "community_id": world.same})
    assert r.json["error"]["message"] == "只有街道管理员可以创建或更改管理员账号，请联系街道管理员。"
    r = world.client.post("/api/v1/users", headers=world.headers[Role.editor], json={
        "username": f"new{next(_n)}", "password": NEW_PASSWORD, "role": Role.viewer.value,
        "community_id": world.same})
    assert r.json["error"]["message"] == "只有管理员可以管理账号，请联系本社区管理员。"


def test_a_community_admin_cannot_change_its_own_account_here(world):
    """Its own password goes through /account; its role and state through a street admin."""
    me = db.scalar(select(User).where(User.role == Role.community_admin,
                                      User.community_id == world.same,
                                      User.username.like("user%")))
    r = world.client.patch(f"/api/v1/users/{me.id}", headers=world.headers[Role.community_admin],
                           json={"display_name": "我自己"})
    assert r.status_code == 403
