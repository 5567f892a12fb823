"""The seed's situation: 沙头角街道, four communities, 76 LED terminals in 东和.

Idempotent: running it twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Building, ColourMode, Community, Street, Terminal, TerminalTag

STREET = "沙头角街道"
COMMUNITIES = ("沙头角", "东和", "田心", "桥东")

# (estate, address, number of building units) in 东和社区: 76 units in all.
DONGHE_ESTATES = (
    ("海滨花园", "深圳市盐田区沙头角东和路8号", 12),
    ("东和花园", "深圳市盐田区沙头角东和路22号", 10),
    ("诗宁大厦", "深圳市盐田区沙深路33号", 2),
    ("金融路住宅区", "深圳市盐田区沙头角金融路", 14),
    ("东埔海景花园", "深圳市盐田区海景二路", 8),
    ("沙头角保税区宿舍", "深圳市盐田区沙盐路", 6),
    ("鸿景楼", "深圳市盐田区东和路45号", 4),
    ("海山路住宅", "深圳市盐田区海山路", 10),
    ("东和新村", "深圳市盐田区东和路东", 10),
)

# A realistic mix: most lobbies have a 384x192 full-colour panel, old lobbies a
# 128x64 single-colour module, estate gates a 1920x320 strip.
def _panel(estate_index: int, unit: int) -> tuple[int, int, ColourMode, str, list[str]]:
    if unit == 1:
        return 1920, 320, ColourMode.full, "小区大门", ["大门", "户外"]
    if estate_index in (5, 6):
        return 128, 64, ColourMode.mono, "电梯厅", ["电梯厅", "单色"]
    if unit % 4 == 0:
        return 256, 128, ColourMode.full, "一楼大堂", ["大堂"]
    if unit % 5 == 0:
        return 192, 96, ColourMode.full, "电梯厅", ["电梯厅"]
    return 384, 192, ColourMode.full, "一楼大堂", ["大堂"]


def ensure_street(s: Session, name: str = STREET) -> Street:
    street = s.scalar(select(Street).where(Street.name == name))
    if street is None:
        street = Street(name=name)
        s.add(street)
        s.flush()
    return street


def seed(s: Session) -> dict[str, int]:
    street = ensure_street(s)
    communities = {}
    for name in COMMUNITIES:
        c = s.scalar(select(Community).where(Community.street_id == street.id,
                                             Community.name == name))
        if c is None:
            c = Community(street_id=street.id, name=name)
            s.add(c)
            s.flush()
        communities[name] = c
    donghe = communities["东和"]
    created = 0
    for i, (estate, address, units) in enumerate(DONGHE_ESTATES):
        for unit in range(1, units + 1):
            bname = f"{estate}{unit}栋" if units > 2 else f"{estate}{'AB'[unit - 1]}座"
            b = s.scalar(select(Building).where(Building.community_id == donghe.id,
                                                Building.name == bname))
            if b is None:
                b = Building(community_id=donghe.id, name=bname, address=address)
                s.add(b)
                s.flush()
            if not b.terminals:
                w, h, mode, location, tags = _panel(i, unit)
                s.add(Terminal(building_id=b.id, name=f"{bname}-LED", location=location,
                               width=w, height=h, colour_mode=mode,
                               tag_rows=[TerminalTag(tag=t) for t in tags]))
                created += 1
    s.flush()
    total = len(s.scalars(select(Terminal.id).join(Building)
                          .where(Building.community_id == donghe.id)).all())
    return {"communities": len(communities), "terminals_created": created, "terminals": total}
