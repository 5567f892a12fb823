"""Official warnings from arrival to broadcast: intake (accept, duplicate, refuse), area
matching and why, the policy (auto, approve, timeout, ignore), updates, cancels, messages
out of order, exercises, expiry, and the audit trail. Real CAP bytes (tests/cap/samples),
real rendering of the card, the real broadcast machinery."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from player import protocol
from server.db import db
from server.models import AuditEntry, Broadcast, ContentItem, WarningIntake, WarningMessage
from server.services import broadcasts
from server.services.warnings import dispatch, intake, sources
from tests.cap.samples import sample
from tests.server.services.warning_place import DONGHE, delivered, place, receive

__all__ = ["place"]  # the fixture


def audit_actions(object_type: str = "warning") -> list[str]:
    return list(db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == object_type)
                           .order_by(AuditEntry.id)))


def test_an_orange_typhoon_for_the_district_goes_to_every_screen_of_the_street(place):
    out = receive(place, "typhoon_orange_yantian")
    m = out.message
    assert out.outcome == "accepted" and m.state == "sent" and m.decision == "auto"
    assert (m.event, m.level, m.mode) == ("typhoon", "orange", "full")
    assert delivered(m) == place.all_screens  # paired ones only
    why = {r["terminal_id"]: r["why"] for r in m.matched}
    assert why[place.t1.id] == {"by": "geocode", "code": "440308", "unit": "community",
                                "name": "东和", "area": "深圳市盐田区"}
    assert why[place.t4.id]["unit"] == "street"  # 田心 has no code of its own
    bc = db.get(Broadcast, m.broadcast_id)
    assert bc.ends_at == m.expires and bc.created_by is None
    assert [(t.kind.value, t.ref_id) for t in bc.targets] == [("street", None)]  # one row
    assert bc.text == f"【{m.headline}】{m.instruction}"
    item = db.get(ContentItem, bc.content_id)
    assert item.broadcast_text and item.created_by is None
    sizes = {(r.width, r.height, r.colour_mode.value) for r in item.renditions}
    assert sizes == {(384, 192, "full"), (128, 64, "mono")}
    payloads = {t.id: broadcasts.active_for(db, t)[0] for t in (place.t1, place.t2)}
    for p in payloads.values():
        protocol.check_broadcast(p)
    assert payloads[place.t1.id]["sha256"] != payloads[place.t2.id]["sha256"]
    pushes = broadcasts.pending_pushes(db)
    assert pushes == []  # taken by the hub after the commit
    row = db.get(WarningIntake, out.intake_id)
    assert (row.outcome, row.message_id, row.via) == ("accepted", m.id, "webhook")
    assert audit_actions() == ["send", "receive"]
    assert "broadcast" in audit_actions("broadcast")


def test_the_same_message_again_changes_nothing(place):
    first = receive(place, "typhoon_orange_yantian")
    again = receive(place, "typhoon_orange_yantian")
    assert again.outcome == "duplicate" and again.message.id == first.message.id
    assert db.query(WarningMessage).count() == 1 and db.query(Broadcast).count() == 1
    assert [r.outcome for r in db.scalars(select(WarningIntake).order_by(WarningIntake.id))] \
        == ["accepted", "duplicate"]


@pytest.mark.parametrize("name, code", [("billion_laughs", "dtd_forbidden"),
                                        ("not_xml", "not_xml"), ("huge", "too_large")])
def test_a_bad_message_is_refused_with_its_reason_and_stored(place, name, code):
    out = receive(place, name)
    assert out.outcome == "refused" and out.message is None and out.reason
    row = db.get(WarningIntake, out.intake_id)
    assert row.outcome == "refused" and row.reason == out.reason and row.size > 0
    assert db.query(WarningMessage).count() == 0
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "refuse")).one()
    assert entry.object_id == row.id and entry.after["reason"] == out.reason


def test_a_rainstorm_for_futian_matches_nothing(place):
    m = receive(place, "rainstorm_futian").message
    assert (m.state, m.state_reason, m.matched, m.broadcast_id) == \
        ("ignored", dispatch.NO_SCREEN, [], None)


def test_polygons_and_circles_match_placed_buildings(place):
    poly = receive(place, "rainstorm_polygon_donghe").message
    assert {r["terminal_id"] for r in poly.matched} == place.donghe_screens
    assert {r["why"]["by"] for r in poly.matched} == {"polygon"}
    assert {r["why"]["name"] for r in poly.matched} == {"海滨花园1栋", "海滨花园2栋"}
    assert [(t.kind.value, t.ref_id) for t in db.get(Broadcast, poly.broadcast_id).targets] \
        == [("community", place.donghe.id)]
    street = place.donghe.street_id
    assert dispatch.targets(db, street, {place.t1.id, place.t2.id}) == [  # b1 has t3 too
        ("building", place.b2.id), ("terminal", place.t1.id)]
    circle = receive(place, "hail_circle_donghe").message
    assert {r["terminal_id"] for r in circle.matched} == place.donghe_screens
    assert circle.matched[0]["why"] == {"by": "circle", "unit": "building",
                                        "name": "海滨花园1栋", "area": "东和社区周边2公里"}


def test_a_code_finer_than_any_configured_matches_its_whole_unit_and_says_so(place):
    data = sample("typhoon_orange_yantian").replace(b"<value>440308</value>",
                                                    b"<value>440308003017</value>")
    m = intake.receive(db, place.source, data, "webhook").message
    db.commit()
    assert {r["terminal_id"] for r in m.matched} == place.all_screens
    assert m.matched[0]["why"] == {"by": "geocode", "code": "440308003017", "unit": "street",
                                   "name": "沙头角街道", "area": "深圳市盐田区", "inside": True}
    only_donghe = sample("typhoon_orange_yantian", identifier="x-donghe").replace(
        b"<value>440308</value>", f"<value>{DONGHE}</value>".encode())
    m2 = intake.receive(db, place.source, only_donghe, "webhook").message
    assert {r["terminal_id"] for r in m2.matched} == place.donghe_screens


def test_a_gb_message_uploaded_by_an_admin_is_read_and_audited_as_theirs(place):
    upload = sources.upload_source(db, place.source.street_id)
    out = intake.receive(db, upload, sample("gb_typhoon_orange"), "upload", actor=place.admin)
    db.commit()
    m = out.message
    assert (m.profile, m.level, m.event, m.state, m.received_via) == \
        ("gb", "orange", "typhoon", "sent", "upload")
    assert {r["terminal_id"] for r in m.matched} == place.all_screens
    assert m.matched[0]["why"]["code"] == "440308003000"
    assert db.scalar(select(AuditEntry.actor).where(AuditEntry.action == "receive")) == \
        place.admin.name


def test_the_same_message_pushed_twice_at_once_is_stored_once(place, monkeypatch):
    """A sender's retry racing its first try: the other request stores the message after
    this one found it new; this one's insert then breaks the unique key and is received
    again as a duplicate, not answered with an error."""
    from sqlalchemy.orm import Session

    from server.models import WarningSource

    data = sample("typhoon_orange_yantian")
    real_match = intake.matching.match

    def the_other_request_wins(s, street_id, msg):
        monkeypatch.setattr(intake.matching, "match", real_match)
        with Session(bind=db.get_bind()) as other:
            intake.receive_committed(other, other.get(WarningSource, place.source.id), data,
                                     "webhook")
        return real_match(s, street_id, msg)

    monkeypatch.setattr(intake.matching, "match", the_other_request_wins)
    out = intake.receive_committed(db, place.source, data, "webhook")
    assert out.outcome == "duplicate"
    assert db.scalar(select(func.count()).select_from(WarningMessage)) == 1
    outcomes = db.scalars(select(WarningIntake.outcome).order_by(WarningIntake.id)).all()
    assert outcomes == ["accepted", "duplicate"]
