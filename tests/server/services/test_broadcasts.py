"""Emergency broadcasts: who may send what where, what each terminal gets, acknowledgement,
progress, cancel, templates cached on every player."""

from __future__ import annotations

from datetime import timedelta

import pytest

from player import protocol
from server.db import db, utcnow
from server.models import AuditEntry, ContentStatus, Role, Terminal, Topic
from server.services import accounts, fleet, manifests
from server.services import broadcasts as svc
from server.services.access import Actor
from server.services.errors import Forbidden, Invalid, NotFound
from server.services.schedules import TargetIn
from server.storage import blob_store
from tests import helpers as h


def paired(b, width=384, height=192) -> Terminal:
    t = h.terminal(b, width, height)
    fleet.issue_credential(db, t)
    db.commit()
    return t


@pytest.fixture
def fleet_of_two_communities(app):
    c1, c2 = h.community("东和"), h.community("沙头角")
    b1, b2 = h.building(c1), h.building(c2)
    ts = [paired(b1), paired(b1, 192, 96), paired(b2)]
    h.terminal(b2)  # never paired: cannot show anything, so not counted
    admin = Actor.of(h.user(Role.street_admin))
    return c1, c2, ts, admin


def send(actor, **kw):
    args = {"mode": "full", "targets": [TargetIn("street")], "reason": "台风红色预警",
            "text": "台风“海燕”将于今晚登陆，请居民留在室内。"}
    args.update(kw)
    bc = svc.send(db, actor, blob_store(), svc.BroadcastIn(**args))
    db.commit()
    return bc


def test_typed_text_goes_to_every_paired_screen_with_its_own_size(fleet_of_two_communities):
    c1, c2, ts, admin = fleet_of_two_communities
    bc = send(admin)
    item = bc.content
    assert item.status == ContentStatus.approved and item.reviewed_by == admin.id
    assert db.get(Topic, item.topic_id).name == svc.BROADCAST_TOPIC
    assert sorted(d.terminal_id for d in bc.deliveries) == sorted(t.id for t in ts)
    payloads = {t.id: svc.active_for(db, t)[0] for t in ts}
    big, small, other = (payloads[t.id] for t in ts)
    protocol.check_broadcast(big)  # what the player will check
    assert big["sha256"] == other["sha256"] != small["sha256"]  # rendered per LED size
    assert svc.blob_allowed(db, ts[1], small["sha256"])
    assert not svc.blob_allowed(db, ts[1], big["sha256"])
    entry = db.query(AuditEntry).filter_by(action="broadcast").one()
    assert entry.after["reason"] == "台风红色预警" and entry.after["terminals"] == 3


def test_a_fleet_answer_lists_each_terminals_broadcasts_for_its_screen(fleet_of_two_communities):
    """What HELLO/SYNC batches send: the same as asking terminal by terminal, in order,
    without a cancelled broadcast, and one payload per broadcast and screen size."""
    c1, _c2, ts, admin = fleet_of_two_communities
    first = send(admin)
    only_c1 = send(admin, targets=[TargetIn("community", c1.id)], text="停水通知")
    cancelled = send(admin, text="演练")
    svc.cancel(db, admin, cancelled.id)
    db.commit()
    screens = list(fleet.live_terminals(db, {t.id for t in ts}).values())
    many = svc.active_for_many(db, screens)
    for t in ts:
        assert many[t.id] == svc.active_for(db, t)
    assert [p["id"] for p in many[ts[0].id]] == [first.id, only_c1.id]
    assert [p["id"] for p in many[ts[2].id]] == [first.id]  # the other community
    assert many[ts[0].id][0]["sha256"] != many[ts[1].id][0]["sha256"]  # its own size
    assert many[ts[0].id][0] is many[ts[2].id][0]  # same size: made once


def test_pushes_wait_for_the_commit_and_group_by_payload(fleet_of_two_communities):
    _c1, _c2, ts, admin = fleet_of_two_communities
    svc.send(db, admin, blob_store(), svc.BroadcastIn(
        mode="full", targets=[TargetIn("street")], reason="演练", text="消防演练"))
    pushes = svc.pending_pushes(db)
    assert [e for e, _p, _ids in pushes] == [protocol.BROADCAST] * 2  # two screen sizes
    assert sorted(i for _e, _p, ids in pushes for i in ids) == sorted(t.id for t in ts)
    assert svc.pending_pushes(db) == []  # taken once
    db.rollback()


def test_who_may_send_where(fleet_of_two_communities):
    c1, c2, ts, admin = fleet_of_two_communities
    community_admin = Actor.of(h.user(Role.community_admin, c1))
    bc = send(community_admin, targets=[TargetIn("community", c1.id)])
    assert {d.terminal_id for d in bc.deliveries} == {ts[0].id, ts[1].id}
    with pytest.raises(Invalid):  # not the other community
        send(community_admin, targets=[TargetIn("community", c2.id)])
    db.rollback()
    with pytest.raises(Invalid):  # nor the whole street
        send(community_admin, targets=[TargetIn("street")])
    db.rollback()
    with pytest.raises(Forbidden):
        send(Actor.of(h.user(Role.editor, c1)), targets=[TargetIn("community", c1.id)])
    db.rollback()
    other = Actor.of(h.user(Role.community_admin, c2))
    with pytest.raises(NotFound):  # another community's broadcast does not exist for them
        svc.progress(db, other, bc.id)


@pytest.mark.parametrize("kw, field", [
    ({"reason": "  "}, "reason"),
    ({"targets": []}, "targets"),
    ({"mode": "sideways"}, "mode"),
    ({"text": ""}, "text"),
    ({"text": "x" * 501}, "text"),
    ({"ends_at": "past"}, "ends_at"),
    ({"ends_at": "far"}, "ends_at"),
])
def test_bad_requests_are_refused_with_the_field(fleet_of_two_communities, kw, field):
    *_rest, admin = fleet_of_two_communities
    if kw.get("ends_at") == "past":
        kw["ends_at"] = utcnow() - timedelta(minutes=1)
    elif kw.get("ends_at") == "far":
        kw["ends_at"] = utcnow() + timedelta(days=30)
    with pytest.raises(Invalid) as err:
        send(admin, **kw)
    assert err.value.field == field
    db.rollback()
    assert svc.list_broadcasts(db, admin) == []


def test_only_approved_content_and_one_source(fleet_of_two_communities):
    *_rest, admin = fleet_of_two_communities
    draft = h.approved_image(title="草稿")
    draft.status = ContentStatus.draft
    db.commit()
    with pytest.raises(Invalid):
        send(admin, text="", content_id=draft.id)
    db.rollback()
    ok = h.approved_image(title="停水通知")
    with pytest.raises(Invalid):  # a text and an item: which one?
        send(admin, content_id=ok.id)
    db.rollback()
    bc = send(admin, text="", content_id=ok.id)
    assert bc.content_id == ok.id


def test_acknowledgement_progress_and_cancel(fleet_of_two_communities):
    _c1, _c2, ts, admin = fleet_of_two_communities
    bc = send(admin, mode="ticker")
    fleet.mark_online(db, ts[0])
    fleet.mark_online(db, ts[1])
    db.commit()
    shown = utcnow()
    assert svc.acknowledge(db, ts[0].id, {"id": bc.id, "shown_at": shown,
                                       "thumbnail_png_base64": "iVBORw0KGgo="})
    assert not svc.acknowledge(db, ts[0].id, {"id": bc.id, "shown_at": utcnow()})  # repeat
    with pytest.raises(protocol.ProtocolError):
        svc.acknowledge(db, ts[0].id, {"id": bc.id + 1, "shown_at": shown})
    db.commit()
    p = svc.progress(db, admin, bc.id)
    assert (p["shown"], p["total"], p["state"]) == (1, 3, "active")
    assert p["counts"] == {"showing": 1, "waiting": 1, "offline": 1}
    assert svc.thumbnail(db, admin, bc.id, ts[0].id) == "iVBORw0KGgo="
    svc.cancel(db, admin, bc.id)
    assert svc.pending_pushes(db)[0][0] == protocol.BROADCAST_END
    db.commit()
    assert svc.active_for(db, ts[0]) == []
    assert svc.progress(db, admin, bc.id)["state"] == "cancelled"
    with pytest.raises(Invalid):
        svc.cancel(db, admin, bc.id)


def test_a_broadcast_ends_by_itself(fleet_of_two_communities):
    _c1, _c2, ts, admin = fleet_of_two_communities
    bc = send(admin, ends_at=utcnow() + timedelta(minutes=30))
    assert svc.active_for(db, ts[0], utcnow() + timedelta(minutes=29))
    assert svc.active_for(db, ts[0], utcnow() + timedelta(minutes=31)) == []
    assert protocol.check_broadcast(svc.active_for(db, ts[0])[0])["ends_at"] == bc.ends_at


def test_templates_are_cached_ahead_on_every_player_in_scope(fleet_of_two_communities):
    c1, _c2, ts, admin = fleet_of_two_communities
    typhoon = h.approved_image(title="防台风预警")
    before = {t.id: t.manifest_version for t in ts}
    tpl = svc.create_template(db, admin, "台风", typhoon.id)
    db.commit()
    for t in ts:
        db.refresh(t)
        assert t.manifest_version == before[t.id] + 1  # a change that concerns them
        assert typhoon.blob_sha256 in {b["sha256"] for b in manifests.manifest(db, t)["blobs"]}
    bc = send(admin, text="", template_id=tpl.id)
    assert bc.content_id == typhoon.id
    community_admin = Actor.of(h.user(Role.community_admin, c1))
    with pytest.raises(NotFound):  # a street-wide template is the street admin's to delete
        svc.delete_template(db, community_admin, tpl.id + 99)
    svc.delete_template(db, admin, tpl.id)
    db.commit()
    assert typhoon.blob_sha256 not in svc.template_blobs(db, ts[0])


@pytest.mark.parametrize("role, default, grantable", [
    (Role.street_admin, True, False), (Role.community_admin, True, False),
    (Role.reviewer, False, True), (Role.editor, False, True), (Role.viewer, False, False)])
def test_the_broadcast_right_by_role_and_grant(fleet_of_two_communities, role, default,
                                               grantable):
    """Admins always; a reviewer or editor once granted (reviewers write no notices
    otherwise, the broadcast's own text included); viewers never."""
    c1, _c2, ts, admin = fleet_of_two_communities
    u = h.user(role, c1)
    assert Actor.of(u).may_broadcast is default
    u.may_broadcast = True
    db.commit()
    sender = Actor.of(u)
    assert sender.may_broadcast is (default or grantable)
    if not sender.may_broadcast:
        with pytest.raises(Forbidden):
            svc.check(db, sender, svc.BroadcastIn("full", [TargetIn("community", c1.id)],
                                                  "演练", text="演练"))
        with pytest.raises(Forbidden):
            send(sender, targets=[TargetIn("community", c1.id)])
        bc = send(admin, targets=[TargetIn("community", c1.id)])
        with pytest.raises(Forbidden):
            svc.cancel(db, sender, bc.id)
        return
    bc = send(sender, targets=[TargetIn("community", c1.id)])
    assert len(bc.deliveries) == 2 and bc.created_by == u.id
    assert bc.content.status == ContentStatus.approved
    svc.cancel(db, sender, bc.id)
    db.commit()
    assert [e.actor for e in db.query(AuditEntry).filter(
        AuditEntry.action.in_(["broadcast", "cancel"])).order_by(AuditEntry.id)] == \
        [u.username] * 2


def test_the_right_is_granted_in_the_account_only_where_it_means_something(app):
    c = h.community()
    boss = Actor.of(h.user(Role.community_admin, c))
    editor = accounts.create_user(db, boss, username="bianji", password="x" * 12, role="editor",
                                  community_id=c.id, may_broadcast=True)
    viewer = accounts.create_user(db, boss, username="chakan", password="x" * 12,
                                  role="viewer", community_id=c.id, may_broadcast=True)
    db.commit()
    assert editor.may_broadcast and Actor.of(editor).may_broadcast
    assert not viewer.may_broadcast  # never stored where it grants nothing
    accounts.update_user(db, boss, editor.id, may_broadcast=False)
    db.commit()
    assert not Actor.of(editor).may_broadcast
    entry = db.query(AuditEntry).filter_by(action="update", object_type="user",
                                           object_id=editor.id).one()
    assert (entry.before["may_broadcast"], entry.after["may_broadcast"]) == (True, False)


def test_typed_texts_stay_out_of_the_library_and_every_picker(fleet_of_two_communities):
    from server.services import content as contents
    from server.services import schedules

    c1, _c2, ts, admin = fleet_of_two_communities
    poster = h.approved_image(c1, title="社区海报")
    typed = send(admin, text="今晚停电检修")
    also = send(admin, text="", content_id=poster.id)  # an approved item stays in the library
    assert typed.content.broadcast_text and not also.content.broadcast_text
    for who in (admin, Actor.of(h.user(Role.editor, c1))):
        ids = {i.id for i in contents.list_items(db, who)}
        assert typed.content_id not in ids and poster.id in ids
        assert typed.content_id not in {i.id for i in schedules.approved_content(db, who)}
    assert typed.content_id not in {i.id for i in contents.list_items(db, admin, status="approved",
                                                                       search="停电")}
    assert db.get(Topic, typed.content.topic_id).name == svc.BROADCAST_TOPIC  # reports
