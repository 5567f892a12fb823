"""The wall's tiles, screenshots, recent plays and commands to a group."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from server.db import db
from server.models import AuditEntry, Command, PlayRecord, Role, TerminalState
from server.services import fleet, wall
from server.services.access import Actor
from server.services.errors import Forbidden, Invalid, NotFound
from tests import helpers


@pytest.fixture
def street(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b1, b2 = helpers.building(donghe, "1栋"), helpers.building(tianxin, "2栋")
    return {"donghe": donghe, "tianxin": tianxin, "d1": helpers.terminal(b1),
            "d2": helpers.terminal(b1), "t1": helpers.terminal(b2)}


def actor(role: Role, community=None) -> Actor:
    return Actor.of(helpers.user(role, community))


def test_tiles_are_scoped_to_what_the_actor_sees(street):
    ids = lambda a: [t["id"] for t in wall.tiles(db, a)]  # noqa: E731
    assert sorted(ids(actor(Role.street_admin))) == sorted(
        [street["d1"].id, street["d2"].id, street["t1"].id])
    assert sorted(ids(actor(Role.editor, street["donghe"]))) == sorted(
        [street["d1"].id, street["d2"].id])


def test_a_tile_says_what_plays_and_whether_it_will_play(street):
    item = helpers.approved_image(street["donghe"], title="垃圾分类")
    d1 = street["d1"]
    since = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    db.add(TerminalState(terminal_id=d1.id, online=True, last_seen_at=since,
                         playing_content_id=item.id, playing_since=since, screen_on=False,
                         brightness=40, cache_ready=True, clock_offset_s=-3.25,
                         manifest_version=d1.manifest_version, player_version="1.2"))
    db.commit()
    t = wall.tile(db, d1.id)
    assert t["online"] and t["playing"] == {"content_id": item.id, "title": "垃圾分类",
                                            "since": "2026-03-01T08:00:00Z"}
    assert (t["screen_on"], t["brightness"], t["player_version"]) == (False, 40, "1.2")
    assert t["readiness"] == "ready" and t["clock_offset_s"] == -3.2
    assert t["problems"] == ["clock"]
    assert (t["community"], t["building"]) == ("东和", "1栋")
    # The player holds an older manifest: its cache says nothing about the current one.
    d1.manifest_version += 1
    db.commit()
    assert wall.tile(db, d1.id)["readiness"] == "outdated"
    assert "not_ready" in wall.tile(db, d1.id)["problems"]
    never = wall.tile(db, street["d2"].id)
    assert (never["online"], never["readiness"], never["playing"]) == (False, "unknown", None)
    assert never["problems"] == ["offline"]


def test_signature_ignores_what_the_wall_does_not_show(street):
    st = TerminalState(terminal_id=street["d1"].id, online=True, clock_offset_s=0.1,
                       brightness=50, free_disk_bytes=10)
    before = wall.signature(st)
    st.free_disk_bytes, st.clock_offset_s = 99, 1.9
    assert wall.signature(st) == before
    st.clock_offset_s = 5.0
    assert wall.signature(st) != before
    st.clock_offset_s = 0.0
    assert wall.signature(st, "f" * 64) != before
    st.brightness = 51
    assert wall.signature(st) != before


def answer_screenshot(cmd: Command, png: bytes) -> None:
    cmd.answered_at, cmd.ok = datetime.now(UTC), True
    cmd.result = {"png_base64": base64.b64encode(png).decode(), "width": 1, "height": 1}
    db.commit()


def test_latest_screenshot_is_served_to_those_who_see_the_terminal(street):
    admin = actor(Role.street_admin)
    d1 = street["d1"]
    old, new = fleet.create_commands(db, admin, [d1.id], "screenshot")[0], None
    answer_screenshot(old, b"\x89PNG old")
    new = fleet.create_commands(db, admin, [d1.id], "screenshot")[0]
    answer_screenshot(new, b"\x89PNG new")
    failed = fleet.create_commands(db, admin, [d1.id], "screenshot")[0]
    failed.answered_at, failed.ok, failed.result = datetime.now(UTC), False, {"error": "x"}
    db.commit()
    assert wall.tile(db, d1.id)["screenshot"]["command_id"] == new.id
    assert wall.tile(db, street["d2"].id)["screenshot"] is None
    assert wall.screenshot_png(db, admin, d1.id, new.id) == b"\x89PNG new"
    with pytest.raises(NotFound):
        wall.screenshot_png(db, actor(Role.editor, street["tianxin"]), d1.id, new.id)
    with pytest.raises(NotFound):
        wall.screenshot_png(db, admin, street["d2"].id, new.id)  # not that terminal's
    with pytest.raises(NotFound):
        wall.screenshot_png(db, admin, d1.id, failed.id)


def test_recent_plays_newest_first_with_titles(street):
    item = helpers.approved_image(street["donghe"], title="消防演练")
    d1 = street["d1"]
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    for i in range(5):
        start = t0 + timedelta(minutes=i)
        db.add(PlayRecord(id=f"00000000-0000-4000-8000-00000000000{i}", terminal_id=d1.id,
                          content_id=item.id, sha256="a" * 64, start=start,
                          end=start + timedelta(seconds=10), seconds=10.0))
    db.commit()
    plays = wall.recent_plays(db, actor(Role.editor, street["donghe"]), d1.id, limit=3)
    assert [p["start"] for p in plays] == [t0 + timedelta(minutes=i) for i in (4, 3, 2)]
    assert {p["title"] for p in plays} == {"消防演练"}
    with pytest.raises(NotFound):
        wall.recent_plays(db, actor(Role.editor, street["tianxin"]), d1.id)


def test_a_group_command_is_stored_and_audited_per_terminal(street):
    admin = actor(Role.community_admin, street["donghe"])
    ids = [street["d1"].id, street["d2"].id]
    cmds = fleet.create_commands(db, admin, ids + [street["d1"].id], "brightness", {"level": 30})
    db.commit()
    assert sorted(c.terminal_id for c in cmds) == sorted(ids)  # duplicates sent once
    assert {(c.kind, c.args["level"]) for c in cmds} == {("brightness", 30)}
    audited = db.query(AuditEntry).filter_by(action="command").all()
    assert sorted(a.object_id for a in audited) == sorted(ids)


def test_a_group_is_refused_whole(street):
    donghe_admin = actor(Role.community_admin, street["donghe"])
    mixed = [street["d1"].id, street["t1"].id]  # one of them in another community
    with pytest.raises(NotFound):
        fleet.create_commands(db, donghe_admin, mixed, "reload")
    with pytest.raises(Forbidden):
        fleet.create_commands(db, actor(Role.editor, street["donghe"]), [street["d1"].id],
                              "reload")
    with pytest.raises(NotFound):
        fleet.create_commands(db, donghe_admin, [street["d1"].id, 999999], "reload")
    db.rollback()
    assert db.query(Command).count() == 0
    for ids, kind, args in [([], "reload", {}), ("1,2", "reload", {}),
                            ([street["d1"].id], "reboot", {}),
                            ([street["d1"].id], "brightness", {"level": 101}),
                            ([street["d1"].id], "brightness", {"level": True}),
                            ([street["d1"].id], "screen", {"on": "yes"}),
                            (list(range(1, fleet.MAX_GROUP + 2)), "reload", {})]:
        with pytest.raises(Invalid):
            fleet.create_commands(db, actor(Role.street_admin), ids, kind, args)
    assert db.query(Command).count() == 0


def test_tiles_come_in_natural_order(app):
    c = helpers.community("沙头角")
    ten, two = helpers.building(c, "海滨10栋"), helpers.building(c, "海滨2栋")
    order = [helpers.terminal(two).id, helpers.terminal(ten).id]
    assert [t["id"] for t in wall.tiles(db, actor(Role.editor, c))] == order
