"""沙头角街道 set up for warning tests: division codes, placed buildings, paired screens
of two sizes, and a webhook source with the default policy (shared by test_warnings_*)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.db import db
from server.models import BroadcastDelivery, Role, Terminal, WarningMessage
from server.services import fleet
from server.services.access import Actor
from server.services.warnings import intake, sources
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
        self.t3 = paired(self.b1)
        h.terminal(self.b2)  # never paired: cannot show anything
        self.t4 = paired(self.b3)
        db.commit()
        self.admin = Actor.of(h.user(Role.street_admin))
        self.source = sources.create_source(db, self.admin, sources.SourceIn(
            name="深圳市气象台", kind="webhook"))
        db.commit()
        self.donghe_screens = {self.t1.id, self.t2.id, self.t3.id}
        self.all_screens = self.donghe_screens | {self.t4.id}


def receive(place: Place, name: str, **kw) -> intake.Outcome:
    out = intake.receive(db, place.source, sample(name, **kw), "webhook")
    db.commit()
    return out


@pytest.fixture
def place(app) -> Place:
    return Place()


def delivered(m: WarningMessage) -> set[int]:
    return set(db.scalars(select(BroadcastDelivery.terminal_id)
                          .where(BroadcastDelivery.broadcast_id == m.broadcast_id)))
