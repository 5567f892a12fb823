import pytest

from server.models import Role
from server.services.access import Actor
from server.services.errors import Forbidden, NotFound


def actor(role: Role, community_id: int | None = 1) -> Actor:
    return Actor(1, "a", role, 1, None if role == Role.street_admin else community_id)


def test_street_admin_sees_everything():
    a = actor(Role.street_admin)
    assert a.sees(1) and a.sees(2) and a.sees(None)


@pytest.mark.parametrize("role", [Role.community_admin, Role.reviewer, Role.editor, Role.viewer])
def test_community_staff_see_their_community_and_street_wide_items(role):
    a = actor(role, 1)
    assert a.sees(1) and a.sees(None)
    assert not a.sees(2)


def test_other_communities_are_not_found_rather_than_forbidden():
    with pytest.raises(NotFound):
        actor(Role.community_admin, 1).require_edit(2)


def test_editors_cannot_change_the_tree_of_their_own_community():
    with pytest.raises(Forbidden):
        actor(Role.editor, 1).require_edit(1)


def test_community_admins_cannot_change_street_wide_objects():
    with pytest.raises(Forbidden):
        actor(Role.community_admin, 1).require_edit(None)
