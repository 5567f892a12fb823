"""Playlists and schedules: scope, bad input, and the one dependency path to terminals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import playlists as pm
from server.db import db
from server.models import ContentStatus, Playlist, Role, Schedule, Terminal
from server.services import changes, manifests
from server.services import content as content_svc
from server.services import schedules as svc
from server.services.access import Actor
from server.services.errors import Invalid, NotFound
from tests import helpers


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b1, b2 = helpers.building(donghe, "1栋"), helpers.building(donghe, "2栋")
    t1, t2 = helpers.terminal(b1, 384, 192), helpers.terminal(b2, 128, 64)
    tx = helpers.terminal(helpers.building(tianxin, "田心1栋"))
    tree_admin = Actor.of(helpers.user(Role.street_admin))
    from server.services import tree

    tree.update_terminal(db, tree_admin, t2.id, tags=["电梯口"])
    db.commit()
    return {"donghe": donghe, "tianxin": tianxin, "b1": b1, "b2": b2, "t1": t1, "t2": t2,
            "tx": tx, "editor": Actor.of(helpers.user(Role.editor, donghe)),
            "admin": tree_admin, "item": helpers.approved_image(donghe)}


def _versions(*terminals) -> list[int]:
    db.expire_all()
    return [db.get(Terminal, t.id).manifest_version for t in terminals]


def _schedule(w, targets, **kw) -> Schedule:
    p = svc.create_playlist(db, w["editor"], "日常", [svc.EntryIn(w["item"].id)])
    sc = svc.create_schedule(db, w["editor"], name="日常播放", playlist_id=p.id, kind="normal",
                             recurrence=svc.Recurrence(**kw), targets=targets)
    db.commit()
    return sc


def test_targets_reach_exactly_their_terminals(w):
    cases = [
        ([svc.TargetIn("terminal", w["t1"].id)], {w["t1"].id}),
        ([svc.TargetIn("building", w["b2"].id)], {w["t2"].id}),
        ([svc.TargetIn("community", w["donghe"].id)], {w["t1"].id, w["t2"].id}),
        ([svc.TargetIn("tag", tag="电梯口")], {w["t2"].id}),
    ]
    for targets, expected in cases:
        sc = _schedule(w, targets)
        assert changes.terminals_of_schedules(db, [sc.id]) == expected
        for t in (w["t1"], w["t2"], w["tx"]):
            found = sc.id in [x.id for x in changes.schedules_of_terminal(db, t)]
            assert found == (t.id in expected)


def test_a_community_tag_target_never_reaches_another_community(w):
    from server.services import tree

    tree.update_terminal(db, w["admin"], w["tx"].id, tags=["电梯口"])
    sc = _schedule(w, [svc.TargetIn("tag", tag="电梯口")])
    assert changes.terminals_of_schedules(db, [sc.id]) == {w["t2"].id}


def test_every_kind_of_change_bumps_exactly_the_concerned_terminals(w):
    t1, t2, tx = w["t1"], w["t2"], w["tx"]
    start = _versions(t1, t2, tx)
    sc = _schedule(w, [svc.TargetIn("terminal", t1.id)])
    v = _versions(t1, t2, tx)
    assert v == [start[0] + 1, start[1], start[2]]  # a new schedule
    # target change: the old and the new terminal both hear of it
    svc.update_schedule(db, w["editor"], sc.id, targets=[svc.TargetIn("terminal", t2.id)])
    db.commit()
    v2 = _versions(t1, t2, tx)
    assert v2 == [v[0] + 1, v[1] + 1, v[2]]
    # schedule edit
    svc.update_schedule(db, w["editor"], sc.id, recurrence=svc.Recurrence(priority=5))
    db.commit()
    v3 = _versions(t1, t2, tx)
    assert v3 == [v2[0], v2[1] + 1, v2[2]]
    # content edit (what is on screen): nothing changes for terminals until it is approved,
    # then one change
    reviewer = Actor.of(helpers.user(Role.reviewer, w["donghe"]))
    content_svc.update(db, w["editor"], None, w["item"].id, meta={"duration_s": 12.0})
    db.commit()
    v4 = _versions(t1, t2, tx)
    assert v4 == v3
    content_svc.approve(db, reviewer, w["item"].id)
    db.commit()
    v5 = _versions(t1, t2, tx)
    assert v5 == [v4[0], v4[1] + 1, v4[2]]
    # delete
    svc.delete_schedule(db, w["editor"], sc.id)
    db.commit()
    assert _versions(t1, t2, tx) == [v5[0], v5[1] + 1, v5[2]]
    # the service told the socket layer whom to nudge, and nobody else
    assert changes.pending_nudges(db) <= {t1.id, t2.id}


def test_expiry_needs_no_bump_because_the_manifest_carries_validity(w):
    from datetime import timedelta

    until = datetime(2026, 12, 1, tzinfo=UTC)
    _schedule(w, [svc.TargetIn("terminal", w["t1"].id)])
    content_svc.update(db, w["editor"], None, w["item"].id, meta={"valid_until": until})
    db.commit()
    plan = manifests.build_plan(db, db.get(Terminal, w["t1"].id))
    item = plan.schedules[0].playlist.items[0]
    assert (item.valid_until, item.approved) == (None, True)  # the edit waits for review
    content_svc.approve(db, Actor.of(helpers.user(Role.reviewer, w["donghe"])), w["item"].id)
    db.commit()
    plan = manifests.build_plan(db, db.get(Terminal, w["t1"].id))
    before, after = until - timedelta(seconds=1), until + timedelta(seconds=1)
    assert pm.resolve(plan, before).item is not None
    assert pm.resolve(plan, before).item.content_id == w["item"].id
    assert pm.resolve(plan, after).kind == "none"


def test_manifest_lists_the_plan_and_the_blobs(w):
    _schedule(w, [svc.TargetIn("community", w["donghe"].id)])
    t1 = db.get(Terminal, w["t1"].id)
    m = manifests.manifest(db, t1)
    assert m["version"] == t1.manifest_version
    assert m["blobs"] == [{"sha256": w["item"].blob_sha256, "size": 1234, "mime": "image/png"}]
    plan = pm.TerminalPlan.from_dict(m["plan"])
    assert [s.id for s in plan.schedules] and plan.terminal_id == t1.id
    assert manifests.manifest(db, db.get(Terminal, w["tx"].id))["blobs"] == []


@pytest.mark.parametrize(("kw", "field"), [
    (dict(start_date=date(2026, 12, 5), end_date=date(2026, 12, 1)), "end_date"),
    (dict(windows=[("08:00", "12:00"), ("11:00", "13:00")]), "windows"),
    (dict(windows=[("8点", "12:00")]), "windows"),
    (dict(weekdays=[]), "weekdays"),
    (dict(priority=5000), "priority"),
])
def test_bad_schedules_are_refused_and_nothing_is_stored(w, kw, field):
    p = svc.create_playlist(db, w["editor"], "日常", [svc.EntryIn(w["item"].id)])
    db.commit()
    with pytest.raises(Invalid) as err:
        svc.create_schedule(db, w["editor"], name="x", playlist_id=p.id, kind="normal",
                            recurrence=svc.Recurrence(**kw),
                            targets=[svc.TargetIn("terminal", w["t1"].id)])
    assert err.value.field == field
    db.rollback()
    assert db.query(Schedule).count() == 0


@pytest.mark.parametrize("duration", [0, -5, 9999999999999])
def test_absurd_durations_are_refused(w, duration):
    with pytest.raises(Invalid) as err:
        svc.create_playlist(db, w["editor"], "x", [svc.EntryIn(w["item"].id, duration)])
    assert err.value.field.startswith("entries")


def test_empty_playlist_cannot_be_scheduled(w):
    p = svc.create_playlist(db, w["editor"], "空", [])
    with pytest.raises(Invalid) as err:
        svc.create_schedule(db, w["editor"], name="x", playlist_id=p.id, kind="normal",
                            recurrence=svc.Recurrence(),
                            targets=[svc.TargetIn("terminal", w["t1"].id)])
    assert err.value.field == "playlist_id"


def test_unapproved_content_cannot_enter_a_playlist(w):
    w["item"].status = ContentStatus.submitted
    db.commit()
    with pytest.raises(Invalid):
        svc.create_playlist(db, w["editor"], "x", [svc.EntryIn(w["item"].id)])


def test_a_broadcast_text_cannot_enter_a_playlist(w):
    # Approved and visible, but it plays only as its broadcast: refused by id as well.
    p = svc.create_playlist(db, w["editor"], "日常", [svc.EntryIn(w["item"].id)])
    db.commit()
    typed = helpers.approved_image(w["donghe"], title="台风紧急通知")
    typed.broadcast_text = True
    db.commit()
    with pytest.raises(Invalid) as err:
        svc.create_playlist(db, w["editor"], "x", [svc.EntryIn(typed.id)])
    assert err.value.field == "entries" and "broadcast" in err.value.template
    with pytest.raises(Invalid):
        svc.update_playlist(db, w["editor"], p.id,
                            entries=[svc.EntryIn(w["item"].id), svc.EntryIn(typed.id)])
    db.rollback()
    assert [e.content_id for e in db.get(Playlist, p.id).entries] == [w["item"].id]


def test_community_staff_cannot_target_another_community(w):
    p = svc.create_playlist(db, w["editor"], "日常", [svc.EntryIn(w["item"].id)])
    for target in (svc.TargetIn("terminal", w["tx"].id), svc.TargetIn("community", w["tianxin"].id),
                   svc.TargetIn("terminal", 999999), svc.TargetIn("street")):
        with pytest.raises(Invalid) as err:
            svc.create_schedule(db, w["editor"], name="x", playlist_id=p.id, kind="normal",
                                recurrence=svc.Recurrence(), targets=[target])
        assert err.value.field == "targets"


def test_other_communities_playlists_are_not_found(w):
    p = svc.create_playlist(db, w["editor"], "日常", [svc.EntryIn(w["item"].id)])
    db.commit()
    other = Actor.of(helpers.user(Role.editor, w["tianxin"]))
    with pytest.raises(NotFound):
        svc.get_playlist(db, other, p.id)
