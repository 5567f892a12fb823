import pytest

from server.db import db
from server.models import AuditEntry, Role
from server.services import tree
from server.services.access import Actor
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from tests import helpers


@pytest.fixture
def world(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    return {
        "donghe": donghe,
        "tianxin": tianxin,
        "admin": Actor.of(helpers.user(Role.street_admin)),
        "donghe_admin": Actor.of(helpers.user(Role.community_admin, donghe)),
        "donghe_editor": Actor.of(helpers.user(Role.editor, donghe)),
        "tianxin_building": helpers.building(tianxin, "田心1栋"),
    }


def test_community_admin_creates_a_building_and_terminal_in_its_community(world):
    a = world["donghe_admin"]
    b = tree.create_building(db, a, world["donghe"].id, "海滨花园1栋", "东和路8号")
    t = tree.create_terminal(db, a, b.id, "大堂LED", 384, 192, "full", "一楼大堂",
                             ["大堂", "电梯口", "大堂"])
    db.commit()
    assert t.tags == ["大堂", "电梯口"]
    entries = db.query(AuditEntry).filter_by(actor=a.name).order_by(AuditEntry.id).all()
    assert [(e.action, e.object_type) for e in entries] == [("create", "building"),
                                                            ("create", "terminal")]
    assert entries[1].after["width"] == 384
    assert entries[1].community_id == world["donghe"].id


def test_another_communitys_building_is_not_found(world):
    a = world["donghe_admin"]
    b = world["tianxin_building"]
    with pytest.raises(NotFound):
        tree.get_building(db, a, b.id)
    with pytest.raises(NotFound):
        tree.update_building(db, a, b.id, name="改名")
    with pytest.raises(NotFound):
        tree.create_terminal(db, a, b.id, "x", 128, 64)
    assert [x.id for x in tree.list_buildings(db, a)] == []
    assert tree.get_building(db, world["admin"], b.id).name == "田心1栋"


def test_editor_cannot_change_the_tree(world):
    with pytest.raises(Forbidden):
        tree.create_building(db, world["donghe_editor"], world["donghe"].id, "x")


def test_duplicate_names_are_a_clear_conflict(world):
    a = world["admin"]
    tree.create_building(db, a, world["donghe"].id, "诗宁大厦")
    db.commit()
    with pytest.raises(Conflict) as err:
        tree.create_building(db, a, world["donghe"].id, "诗宁大厦")
    assert "诗宁大厦" in str(err.value) and err.value.field == "name"
    # The same name in another community is fine.
    tree.create_building(db, a, world["tianxin"].id, "诗宁大厦")


@pytest.mark.parametrize(("width", "height"), [(0, 64), (-1, 64), (128, 99999), ("128", 64),
                                               (True, 64), (12.5, 64)])
def test_absurd_terminal_sizes_are_refused(world, width, height):
    b = tree.create_building(db, world["admin"], world["donghe"].id, "x")
    with pytest.raises(Invalid) as err:
        tree.create_terminal(db, world["admin"], b.id, "LED", width, height)
    assert err.value.field in ("width", "height")


def test_blank_or_control_character_names_are_refused(world):
    for name in ("", "   ", "a\x00b", "x" * 121):
        with pytest.raises(Invalid):
            tree.create_building(db, world["admin"], world["donghe"].id, name)


def test_moving_a_terminal_keeps_history(world):
    a = world["admin"]
    b1 = tree.create_building(db, a, world["donghe"].id, "1栋")
    b2 = tree.create_building(db, a, world["donghe"].id, "2栋")
    t = tree.create_terminal(db, a, b1.id, "LED", 128, 64, "mono")
    tree.update_terminal(db, a, t.id, building_id=b2.id, width=256, height=128)
    db.commit()
    entry = db.query(AuditEntry).filter_by(action="update").one()
    assert entry.before["building_id"] == b1.id and entry.after["building_id"] == b2.id
    assert entry.before["width"] == 128 and entry.after["width"] == 256


def test_a_building_with_terminals_cannot_be_deleted(world):
    a = world["admin"]
    b = tree.create_building(db, a, world["donghe"].id, "1栋")
    tree.create_terminal(db, a, b.id, "LED", 128, 64)
    with pytest.raises(Conflict):
        tree.delete_building(db, a, b.id)


def test_fleet_sizes_lists_each_size_once(world):
    a = world["admin"]
    b = tree.create_building(db, a, world["donghe"].id, "1栋")
    for i, (w, h, mode) in enumerate([(384, 192, "full"), (384, 192, "full"), (128, 64, "mono")]):
        tree.create_terminal(db, a, b.id, f"LED{i}", w, h, mode)
    sizes = tree.fleet_sizes(db, a.street_id)
    assert [(w, h, m.value) for w, h, m in sizes] == [(384, 192, "full"), (128, 64, "mono")]
