"""Official warnings from arrival to broadcast: intake (accept, duplicate, refuse), area
matching and why, the policy (auto, approve, timeout, ignore), updates, cancels, messages
out of order, exercises, expiry, and the audit trail. Real CAP bytes (tests/cap/samples),
real rendering of the card, the real broadcast machinery."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from player import protocol
from server.db import db
from server.models import (
    AuditEntry,
    Broadcast,
    BroadcastDelivery,
    ContentItem,
    Role,
    Terminal,
    WarningIntake,
    WarningMessage,
)
from server.services import broadcasts, fleet
from server.services.access import Actor
from server.services.warnings import dispatch, intake, sources
from tests import helpers as h
from tests.cap.samples import sample

YANTIAN_STREET = "440308003000"  # 沙头角街道 (demo data)
DONGHE = "440308003005"
POS = (22.555, 114.237)  # 东和, inside the polygon and circle samples


def paired(b, width=384, height=192) -> Terminal:
    t = h.terminal(b, width, height)
    fleet.issue_credential(db, t)
    db.commit()
    return t


class Place:
    """沙头角街道 with codes: 东和 (two buildings placed, three paired screens of two sizes,
    one unpaired) and 田心 (no code, one building far away, one screen)."""

    def __init__(self) -> None:
        street = h.street()
        street.area_code = YANTIAN_STREET
        self.donghe, self.tianxin = h.community("东和"), h.community("田心")
        self.donghe.area_code = DONGHE
        self.b1 = h.building(self.donghe, "海滨花园1栋")
        self.b2 = h.building(self.donghe, "海滨花园2栋")
        self.b3 = h.building(self.tianxin, "田心村3栋")
        self.b1.latitude, self.b1.longitude = POS
        self.b2.latitude, self.b2.longitude = POS[0] + 0.0003, POS[1]
        self.b3.latitude, self.b3.longitude = 22.60, 114.30  # 8 km away
        db.commit()
        self.t1, self.t2 = paired(self.b1), paired(self.b2, 128, 64)
        self.t2.colour_mode = "mono"
        self.t3 = paired(self.b1, 192, 96)
        h.terminal(self.b2)  # never paired: cannot show anything
        self.t4 = paired(self.b3)
        db.commit()
        self.admin = Actor.of(h.user(Role.street_admin))
        self.source = sources.create_source(db, self.admin, sources.SourceIn(
            name="深圳市气象台", kind="webhook"))
        db.commit()
        self.donghe_screens = {self.t1.id, self.t2.id, self.t3.id}
        self.all_screens = self.donghe_screens | {self.t4.id}


@pytest.fixture
def place(app) -> Place:
    return Place()


def receive(place: Place, name: str, **kw) -> intake.Outcome:
    out = intake.receive(db, place.source, sample(name, **kw), "webhook")
    db.commit()
    return out


def delivered(m: WarningMessage) -> set[int]:
    return set(db.scalars(select(BroadcastDelivery.terminal_id)
                          .where(BroadcastDelivery.broadcast_id == m.broadcast_id)))


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
    assert bc.text == f"【{m.headline}】{m.instruction}"
    item = db.get(ContentItem, bc.content_id)
    assert item.broadcast_text and item.created_by is None
    sizes = {(r.width, r.height, r.colour_mode.value) for r in item.renditions}
    assert sizes == {(384, 192, "full"), (128, 64, "mono"), (192, 96, "full")}
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
