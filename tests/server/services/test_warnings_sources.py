"""Warning sources and what warnings are matched against: who manages them, what is
checked, the webhook's signature, the audit trail, and the demo's street set up for
warnings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.db import db
from server.models import AuditEntry, Building, Community, Role, Street, Terminal, WarningSource
from server.services import demo, fleet
from server.services.access import Actor
from server.services.errors import Forbidden, Invalid
from server.services.warnings import dispatch, intake, sources
from tests import helpers as h
from tests.cap.samples import sample


@pytest.fixture
def admin(app) -> Actor:
    return Actor.of(h.user(Role.street_admin))


def test_only_street_admins_manage_sources(admin):
    c = h.community("东和")
    for role in (Role.community_admin, Role.editor):
        who = Actor.of(h.user(role, c))
        with pytest.raises(Forbidden):
            sources.create_source(db, who, sources.SourceIn(name="x", kind="webhook"))
        with pytest.raises(Forbidden):
            sources.set_area_codes(db, who, "440308003000", {})
    src = sources.create_source(db, admin, sources.SourceIn(name="深圳市气象台", kind="webhook"))
    db.commit()
    assert len(src.secret) >= 40
    assert [(r.event, r.min_level, r.action, r.mode, r.timeout_s) for r in src.rules] == [
        ("", "orange", "auto", "full", None), ("", "yellow", "approve", "full", 600),
        ("", "white", "approve", "ticker", None)]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "warning_source")).one()
    assert entry.action == "create" and src.secret not in str(entry.after)


BAD_SOURCES = [
    (sources.SourceIn(name="", kind="webhook"), "name"),
    (sources.SourceIn(name="a", kind="upload"), "kind"),
    (sources.SourceIn(name="a", kind="feed"), "url"),
    (sources.SourceIn(name="a", kind="feed", url="file:///etc/passwd"), "url"),
    (sources.SourceIn(name="a", kind="feed", url="https://x.cn/cap", poll_seconds=1),
     "poll_seconds"),
    (sources.SourceIn(name="a", kind="webhook", receipt_url="ftp://x"), "receipt_url"),
]


def test_bad_sources_are_refused_with_the_field(admin):
    sources.create_source(db, admin, sources.SourceIn(name="推送", kind="webhook"))
    for b, field in [*BAD_SOURCES, (sources.SourceIn(name="推送", kind="webhook"), "name")]:
        with pytest.raises(Invalid) as err:
            sources.create_source(db, admin, b)
        assert err.value.field == field


def test_rules_are_checked_and_replaced_whole(admin):
    src = sources.create_source(db, admin, sources.SourceIn(
        name="气象台订阅", kind="feed", url="https://example.cn/cap/index.atom"))
    for bad in ([sources.RuleIn("flood?", "red", "auto")],
                [sources.RuleIn("", "purple", "auto")],
                [sources.RuleIn("", "red", "shout")],
                [sources.RuleIn("", "red", "auto", timeout_s=60)],
                [sources.RuleIn("", "red", "approve", timeout_s=5)]):
        with pytest.raises(Invalid):
            sources.set_rules(db, admin, src.id, bad)
    rules = sources.set_rules(db, admin, src.id, [sources.RuleIn("typhoon", "yellow", "auto"),
                                                  sources.RuleIn("", "white", "ignore")])
    db.commit()
    assert [(r.position, r.event, r.action) for r in rules] == [(0, "typhoon", "auto"),
                                                                (1, "", "ignore")]
    assert dispatch.rule_for(src, "typhoon", "blue").action == "ignore"
    assert dispatch.rule_for(src, "typhoon", "orange").action == "auto"
    assert dispatch.rule_for(src, "fog", None).action == "ignore"  # no colour: the lowest


def test_a_webhook_is_authenticated_by_the_hmac_of_its_body(admin):
    src = sources.create_source(db, admin, sources.SourceIn(name="推送", kind="webhook"))
    body = sample("typhoon_orange_yantian")
    good = intake.signature(src.secret, body)
    assert good.startswith("sha256=") and intake.verify_signature(src, body, good)
    assert intake.verify_signature(src, body, "SHA256=" + good[7:].upper())
    assert not intake.verify_signature(src, body + b" ", good)
    assert not intake.verify_signature(src, body, None)
    assert not intake.verify_signature(src, body, good[7:])  # no scheme
    old = src.secret
    assert sources.rotate_secret(db, admin, src.id) != old
    assert not intake.verify_signature(src, body, good)
    upload = sources.upload_source(db, admin.street_id)
    assert sources.upload_source(db, admin.street_id).id == upload.id  # made once
    assert not intake.verify_signature(upload, body, good)  # no secret: never by webhook


def test_a_turned_off_source_refuses(admin):
    src = sources.create_source(db, admin, sources.SourceIn(name="推送", kind="webhook",
                                                            enabled=False))
    out = intake.receive(db, src, sample("typhoon_orange_yantian"), "webhook")
    assert (out.outcome, out.reason) == ("refused", intake.SOURCE_OFF)


def test_area_codes_nest_inside_the_street_and_positions_are_checked(admin):
    c = h.community("东和")
    b = h.building(c)
    with pytest.raises(Invalid) as err:
        sources.set_area_codes(db, admin, "440308003000", {c.id: "440304001001"})  # 福田
    assert err.value.field == f"community-{c.id}"
    with pytest.raises(Invalid):
        sources.set_area_codes(db, admin, "44030", {})
    db.rollback()
    sources.set_area_codes(db, admin, "440308003000", {c.id: "440308003005"})
    db.commit()
    assert (db.get(Street, admin.street_id).area_code, db.get(Community, c.id).area_code) == \
        ("440308003000", "440308003005")
    for lat, lon in ((22.5, None), (91.0, 114.0), (22.5, 181.0)):
        with pytest.raises(Invalid):
            sources.set_building_position(db, admin, b.id, lat, lon)
    with pytest.raises(Invalid):  # 东和 would be outside a new street code
        sources.set_area_codes(db, admin, "440308004000", {})
    db.rollback()
    sources.set_building_position(db, admin, b.id, 22.555, 114.237)
    sources.set_area_codes(db, admin, "", {c.id: None})  # cleared
    db.commit()
    assert (b.latitude, b.longitude, db.get(Community, c.id).area_code) == (22.555, 114.237,
                                                                          None)
    assert set(db.scalars(select(AuditEntry.object_type))) >= {"area_codes",
                                                               "building_position"}


def test_the_demo_street_receives_the_typhoon_for_its_district_and_not_futians(app):
    demo.seed(db)
    demo.seed(db)  # idempotent
    db.commit()
    street = db.scalar(select(Street))
    donghe = db.scalar(select(Community).where(Community.name == "东和"))
    assert (street.area_code, donghe.area_code) == (demo.STREET_CODE, demo.DONGHE_CODE)
    positions = db.execute(select(Building.latitude, Building.longitude)
                           .where(Building.community_id == donghe.id)).all()
    assert len(set(positions)) == 76
    assert all(abs(lat - 22.555) < 0.001 and abs(lon - 114.237) < 0.001
               for lat, lon in positions)
    src = db.scalars(select(WarningSource)).one()
    assert (src.name, src.kind, len(src.rules)) == ("深圳市气象台", "webhook", 3)
    lobby = db.scalars(select(Terminal).order_by(Terminal.id)).first()
    fleet.issue_credential(db, lobby)
    db.commit()
    rain = intake.receive(db, src, sample("rainstorm_futian"), "webhook").message
    assert (rain.state, rain.matched) == ("ignored", [])
    hail = intake.receive(db, src, sample("hail_circle_donghe"), "webhook").message
    assert [r["terminal_id"] for r in hail.matched] == [lobby.id]  # the one paired
    db.rollback()
