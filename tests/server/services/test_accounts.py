import pytest

from server.db import db
from server.models import AuditEntry, Role
from server.services import accounts, audit
from server.services.access import Actor
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from tests import helpers


def test_passwords_are_hashed_with_a_strong_kdf(app):
    u = helpers.user()
    assert u.password_hash.startswith("scrypt:")
    assert helpers.PASSWORD not in u.password_hash


def test_authenticate_gives_none_for_unknown_user_wrong_password_or_inactive(app):
    u = helpers.user()
    assert accounts.authenticate(db, u.username, helpers.PASSWORD) is u
    assert accounts.authenticate(db, u.username, "wrong") is None
    assert accounts.authenticate(db, "nobody", helpers.PASSWORD) is None
    u.active = False
    assert accounts.authenticate(db, u.username, helpers.PASSWORD) is None


def test_community_admin_manages_only_its_community(app):
    donghe, tianxin = helpers.community(), helpers.community()
    a = Actor.of(helpers.user(Role.community_admin, donghe))
    u = accounts.create_user(db, a, username="editor1", password="long enough pw",
                             role="editor", community_id=donghe.id)
    with pytest.raises(NotFound):
        accounts.create_user(db, a, username="editor2", password="long enough pw",
                             role="editor", community_id=tianxin.id)
    with pytest.raises(Forbidden):
        accounts.create_user(db, a, username="boss", password="long enough pw",
                             role="street_admin", community_id=None)
    other = helpers.user(Role.editor, tianxin)
    with pytest.raises(NotFound):
        accounts.get_user(db, a, other.id)
    assert {x.id for x in accounts.list_users(db, a)} >= {u.id}
    assert other.id not in {x.id for x in accounts.list_users(db, a)}


def test_bad_accounts_are_refused_with_the_field_named(app):
    a = Actor.of(helpers.user(Role.street_admin))
    c = helpers.community()
    cases = [
        (dict(username="ab", password="long enough pw", role="editor"), "username"),
        (dict(username="ok_name", password="short", role="editor"), "password"),
        (dict(username="ok_name", password="long enough pw", role="king"), "role"),
    ]
    for kwargs, field in cases:
        with pytest.raises(Invalid) as err:
            accounts.create_user(db, a, community_id=c.id, **kwargs)
        assert err.value.field == field
    with pytest.raises(Invalid) as err:
        accounts.create_user(db, a, username="nocommunity", password="long enough pw",
                             role="editor", community_id=None)
    assert err.value.field == "community_id"


def test_duplicate_username_is_a_conflict(app):
    a = Actor.of(helpers.user(Role.street_admin))
    c = helpers.community()
    accounts.create_user(db, a, username="same", password="long enough pw", role="viewer",
                         community_id=c.id)
    db.commit()
    with pytest.raises(Conflict):
        accounts.create_user(db, a, username="same", password="long enough pw", role="viewer",
                             community_id=c.id)


def test_admin_cannot_demote_itself(app):
    me = helpers.user(Role.street_admin)
    with pytest.raises(Invalid):
        accounts.update_user(db, Actor.of(me), me.id, role="viewer")


def test_password_change_is_audited_without_the_password(app):
    me = helpers.user(Role.street_admin)
    c = helpers.community()
    u = helpers.user(Role.editor, c)
    accounts.update_user(db, Actor.of(me), u.id, password="a brand new password")
    db.commit()
    entry = db.query(AuditEntry).filter_by(object_type="user", action="update").one()
    assert entry.after["password"] == "changed"
    assert "a brand new password" not in str(entry.before) + str(entry.after)


def test_tokens_are_stored_hashed_and_can_be_revoked(app):
    u = helpers.user()
    tok, plaintext = accounts.create_token(db, u, "报表脚本")
    db.commit()
    assert plaintext not in tok.token_hash and tok.prefix == plaintext[:10]
    assert accounts.user_for_token(db, plaintext) is u
    assert accounts.user_for_token(db, plaintext + "x") is None
    assert accounts.user_for_token(db, "garbage") is None
    accounts.revoke_token(db, u, tok.id)
    assert accounts.user_for_token(db, plaintext) is None
    other = helpers.user()
    with pytest.raises(NotFound):
        accounts.revoke_token(db, other, tok.id)


def test_audit_search_is_scoped_by_community(app):
    donghe, tianxin = helpers.community(), helpers.community()
    admin = Actor.of(helpers.user(Role.street_admin))
    audit.record(db, admin, "create", "building", 1, community_id=donghe.id)
    audit.record(db, admin, "create", "building", 2, community_id=tianxin.id)
    audit.record(db, admin, "create", "user", 3, community_id=None)
    db.commit()
    mine = Actor.of(helpers.user(Role.community_admin, donghe))
    assert [e.object_id for e in audit.search(db, mine)] == [1]
    assert {e.object_id for e in audit.search(db, admin)} == {1, 2, 3}
    assert [e.object_id for e in audit.search(db, admin, object_type="user")] == [3]
