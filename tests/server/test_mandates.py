"""Mandates service: validation, who may write which, audit, and which screens an
enforced mandate's change re-sends."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

import playlists as pm
from server.db import db
from server.models import AuditEntry, ContentStatus, Mandate, Role, Terminal, Topic
from server.services import mandates as svc
from server.services import manifests
from server.services.access import Actor
from server.services.errors import Forbidden, NotFound
from server.services.schedules import Problems, TargetIn
from tests import helpers


@pytest.fixture
def w(app):
    donghe, tianxin = helpers.community("东和"), helpers.community("田心")
    b1, b2 = helpers.building(donghe, "1栋"), helpers.building(donghe, "2栋")
    bt = helpers.building(tianxin, "田心1栋")
    t1, t2, tt = helpers.terminal(b1), helpers.terminal(b2), helpers.terminal(bt)
    fraud = helpers.approved_image(donghe, "谨防诈骗", topic_name="反诈宣传")
    return {"donghe": donghe, "tianxin": tianxin, "b1": b1, "b2": b2, "bt": bt,
            "t1": t1, "t2": t2, "tt": tt, "fraud": fraud,
            "topic": db.scalar(select(Topic).where(Topic.name == "反诈宣传")),
            "admin": Actor.of(helpers.user(Role.street_admin)),
            "cadmin": Actor.of(helpers.user(Role.community_admin, donghe)),
            "editor": Actor.of(helpers.user(Role.editor, donghe)),
            "reviewer": Actor.of(helpers.user(Role.reviewer, donghe)),
            "other": Actor.of(helpers.user(Role.editor, tianxin))}


def _in(w, **kw) -> svc.MandateIn:
    base = dict(name="反诈宣传", authority="区委政法委", topic_id=w["topic"].id,
                content_ids=[w["fraud"].id],
                share_kind="minutes", share=10, window_start="08:00", window_end="22:00",
                start_date=date(2026, 12, 1), end_date=date(2026, 12, 31),
                targets=[TargetIn("street")])
    return svc.MandateIn(**{**base, **kw})


def _versions() -> dict[int, int]:
    db.expire_all()
    return dict(db.execute(select(Terminal.id, Terminal.manifest_version)).all())


def _bumped(before: dict[int, int]) -> set[int]:
    return {tid for tid, v in _versions().items() if v != before[tid]}


def _fields(err: Problems) -> dict[str, str]:
    return {e.field: e.template for e in err.errors}


MISTAKES = [
    ({"name": "  "}, "name"),
    ({"authority": "长" * 201}, "authority"),
    ({"share": 0}, "share"),
    ({"share": 61}, "share"),
    ({"share": float("nan")}, "share"),
    ({"share": None}, "share"),
    ({"share_kind": "percent", "share": 100.5}, "share"),
    ({"share_kind": "seconds"}, "share_kind"),
    ({"topic_id": None, "content_ids": []}, "content_ids"),
    ({"window_start": "8点"}, "window_start"),
    ({"window_end": "24:30"}, "window_end"),
    ({"start_date": None}, "start_date"),
    ({"end_date": date(2026, 11, 30)}, "end_date"),
    ({"targets": []}, "targets"),
    ({"targets": [TargetIn("terminal", 1)]}, "targets"),
]


def test_each_mistake_is_named_by_its_field(w):
    for change, field in MISTAKES:  # one app for the table: each case is a rollback
        with pytest.raises(Problems) as e:
            svc.create(db, w["admin"], _in(w, **change))
        assert field in _fields(e.value), change
        db.rollback()
    assert db.scalar(select(Mandate.id)) is None


def test_all_mistakes_at_once_and_valid_edges_pass(w):
    with pytest.raises(Problems) as e:
        svc.create(db, w["admin"], _in(w, name="", share=0, targets=[]))
    assert set(_fields(e.value)) == {"name", "share", "targets"}
    db.rollback()
    m = svc.create(db, w["admin"], _in(w, share_kind="percent", share=100, window_start="8:00",
                                       window_end="08:00", topic_id=None,
                                       content_ids=[w["fraud"].id, w["fraud"].id]))
    assert (m.window_start, m.window_end, m.content_ids) == ("08:00", "08:00", [w["fraud"].id])


def test_items_must_be_approved_and_in_the_owners_scope(w):
    foreign = helpers.approved_image(w["tianxin"], "田心海报")
    with pytest.raises(Problems) as e:
        svc.create(db, w["cadmin"], _in(w, content_ids=[foreign.id],
                                        targets=[TargetIn("community", w["donghe"].id)]))
    assert _fields(e.value)["content_ids"].startswith("No content item")
    db.rollback()
    w["fraud"].status = ContentStatus.draft
    db.commit()
    with pytest.raises(Problems) as e:
        svc.create(db, w["admin"], _in(w, content_ids=[w["fraud"].id]))
    assert "not approved" in _fields(e.value)["content_ids"]


def test_community_staff_write_their_own_communitys_only(w):
    own = _in(w, targets=[TargetIn("building", w["b1"].id)])
    m = svc.create(db, w["editor"], own)  # no community given: its own
    db.commit()
    assert m.community_id == w["donghe"].id
    with pytest.raises(Problems) as e:  # the whole street is not theirs to target
        svc.create(db, w["cadmin"], _in(w))
    assert "targets" in _fields(e.value)
    db.rollback()
    with pytest.raises(Problems):  # nor another community's building
        svc.create(db, w["cadmin"], _in(w, targets=[TargetIn("building", w["bt"].id)]))
    db.rollback()
    with pytest.raises(NotFound):
        svc.create(db, w["cadmin"], replace(own, community_id=w["tianxin"].id))
    with pytest.raises(Forbidden):  # reviewers do not plan
        svc.create(db, w["reviewer"], own)
    street_wide = svc.create(db, w["admin"], _in(w))
    db.commit()
    # Everyone in the street sees the street's; another community's is "not found".
    assert {x.id for x in svc.list_for(db, w["other"])} == {street_wide.id}
    assert {x.id for x in svc.list_for(db, w["cadmin"])} == {street_wide.id, m.id}
    with pytest.raises(NotFound):
        svc.get(db, w["other"], m.id)
    with pytest.raises(NotFound):  # seen, but street-wide: street admins change it
        svc.update(db, w["cadmin"], street_wide.id, _in(w))
    with pytest.raises(NotFound):
        svc.delete(db, w["other"], m.id)


def test_every_change_is_audited(w):
    m = svc.create(db, w["admin"], _in(w))
    svc.update(db, w["admin"], m.id, _in(w, share=15))
    svc.delete(db, w["admin"], m.id)
    db.commit()
    rows = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "mandate")
                      .order_by(AuditEntry.chain_seq)).all()
    assert [r.action for r in rows] == ["create", "update", "delete"]
    assert rows[1].before["share"] == 10 and rows[1].after["share"] == 15
    assert rows[0].after["targets"] == [["street", None, None]] and rows[0].object_id == m.id


def test_an_enforced_mandate_resends_exactly_the_screens_it_reaches(w):
    v = _versions()
    m = svc.create(db, w["admin"], _in(w, targets=[TargetIn("building", w["b1"].id)],
                                       enforce=True))
    db.commit()
    assert _bumped(v) == {w["t1"].id}
    v = _versions()  # moved to building 2: both the old and the new screen
    svc.update(db, w["admin"], m.id, _in(w, targets=[TargetIn("building", w["b2"].id)],
                                         enforce=True))
    db.commit()
    assert _bumped(v) == {w["t1"].id, w["t2"].id}
    v = _versions()  # no longer enforced: the screen it reached loses its items
    svc.update(db, w["admin"], m.id, _in(w, targets=[TargetIn("building", w["b2"].id)]))
    db.commit()
    assert _bumped(v) == {w["t2"].id}
    v = _versions()  # enforced again, community-wide
    svc.update(db, w["admin"], m.id, _in(w, targets=[TargetIn("community", w["donghe"].id)],
                                         enforce=True))
    db.commit()
    assert _bumped(v) == {w["t1"].id, w["t2"].id}
    v = _versions()
    svc.delete(db, w["admin"], m.id)
    db.commit()
    assert _bumped(v) == {w["t1"].id, w["t2"].id}


def test_a_street_wide_topic_mandate_inserts_each_screens_own_communitys_items(w):
    """The topic's only item is 东和's: 东和's screens get it inserted, 田心's get nothing
    (a community's notice is not shown on another community's screens)."""
    svc.create(db, w["admin"], _in(w, content_ids=[], enforce=True))
    db.commit()
    inserted = {t: {i.content_id for sc in manifests.build_plan(db, w[t]).schedules
                    if pm.mandate_of(sc.id) is not None for i in sc.playlist.items}
                for t in ("t1", "t2", "tt")}
    assert inserted == {"t1": {w["fraud"].id}, "t2": {w["fraud"].id}, "tt": set()}


def test_enforcing_a_topic_without_any_approved_item_is_refused(w):
    empty = Topic(street_id=w["topic"].street_id, name="空主题")
    db.add(empty)
    db.flush()
    with pytest.raises(Problems) as e:
        svc.create(db, w["admin"], _in(w, topic_id=empty.id, content_ids=[], enforce=True))
    assert _fields(e.value)["enforce"].startswith("Nothing to insert")


def test_a_checked_only_mandate_resends_nothing(w):
    v = _versions()
    m = svc.create(db, w["admin"], _in(w))
    svc.update(db, w["admin"], m.id, _in(w, share=20, targets=[TargetIn("building",
                                                                        w["b1"].id)]))
    svc.delete(db, w["admin"], m.id)
    db.commit()
    assert _bumped(v) == set()


def test_an_inactive_enforced_mandate_resends_nothing_until_switched_on(w):
    v = _versions()
    m = svc.create(db, w["admin"], _in(w, enforce=True, active=False,
                                       targets=[TargetIn("community", w["tianxin"].id)]))
    db.commit()
    assert _bumped(v) == set()
    svc.update(db, w["admin"], m.id, _in(w, enforce=True,
                                         targets=[TargetIn("community", w["tianxin"].id)]))
    db.commit()
    assert _bumped(v) == {w["tt"].id}

