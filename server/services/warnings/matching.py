"""Which screens a warning's area reaches, and why (shown to staff, stored with the message).

- Division codes (<geocode>) against the street's and its communities' codes: a code that
  is or contains a unit's code reaches that unit; each screen is explained by the most
  specific unit reached (its community before the street). A code more specific than any
  configured unit but inside one (a village of the street, say) reaches that whole unit,
  and the why says so ("inside": the message named a smaller place we cannot locate).
- Polygons and circles against the position of each screen's building.
Only paired, unrevoked terminals count: nothing else can show a warning.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.cap import area as geo
from server.cap.message import CapMessage
from server.models import Building, Community, Street, Terminal

DIVISION_LENGTHS = (6, 9, 12)
# a building's match is the most precise, then a community's, then the street's
RANK = {"building": 3, "community": 2, "street": 1}


class Screen(NamedTuple):
    terminal_id: int
    building_id: int
    building: str
    lat: float | None
    lon: float | None
    community_id: int
    community: str
    community_code: str | None


def _screens(s: Session, street_id: int) -> list[Screen]:
    q = (select(Terminal.id, Building.id, Building.name, Building.latitude, Building.longitude,
                Community.id, Community.name, Community.area_code)
         .join(Building, Terminal.building_id == Building.id)
         .join(Community, Building.community_id == Community.id)
         .where(Community.street_id == street_id, Terminal.credential_hash.is_not(None),
                Terminal.revoked_at.is_(None))
         .order_by(Terminal.id))
    return [Screen(*row) for row in s.execute(q)]


def _is_division(value: str) -> bool:
    return value.isdigit() and len(value) in DIVISION_LENGTHS and bool(geo.code_prefix(value))


def _geocode_units(code: str, street: tuple[str | None, str],
                   communities: dict[int, tuple[str, str]]) -> dict[int | None, dict]:
    """The units one code reaches: {community id or None (the whole street): why}."""
    street_code, street_name = street
    out: dict[int | None, dict] = {}
    for cid, (c_code, c_name) in communities.items():
        if geo.code_contains(code, c_code):
            out[cid] = {"unit": "community", "name": c_name}
        elif geo.code_contains(c_code, code):
            out[cid] = {"unit": "community", "name": c_name, "inside": True}
    if street_code:
        if geo.code_contains(code, street_code):
            out[None] = {"unit": "street", "name": street_name}
        elif geo.code_contains(street_code, code) and not out:
            # inside the street, in no community we know the code of: the whole street
            out[None] = {"unit": "street", "name": street_name, "inside": True}
    return out


def match(s: Session, street_id: int, msg: CapMessage) -> list[dict]:
    """Rows {"terminal_id", "building_id", "community_id", "why": {"by", "code"?, "unit",
    "name", "area", "inside"?}}, one per reached screen, by terminal id."""
    info = msg.info
    if info is None or not info.areas:
        return []
    street = s.get(Street, street_id)
    if street is None:
        return []
    screens = _screens(s, street_id)
    communities = {sc.community_id: (sc.community_code, sc.community) for sc in screens
                   if sc.community_code}
    best: dict[int, dict] = {}

    def offer(sc: Screen, why: dict) -> None:
        have = best.get(sc.terminal_id)
        if have is None or RANK[why["unit"]] > RANK[have["why"]["unit"]]:
            best[sc.terminal_id] = {"terminal_id": sc.terminal_id,
                                    "building_id": sc.building_id,
                                    "community_id": sc.community_id, "why": why}

    for a in info.areas:
        for g in a.geocodes:
            code = g.value.strip()
            if not _is_division(code):
                continue
            units = _geocode_units(code, (street.area_code, street.name), communities)
            if not units:
                continue
            for sc in screens:
                unit = units.get(sc.community_id) or units.get(None)
                if unit is not None:
                    offer(sc, {"by": "geocode", "code": code, **unit, "area": a.desc})
        if not (a.polygons or a.circles):
            continue
        for sc in screens:
            if sc.lat is None or sc.lon is None:
                continue
            p = (sc.lat, sc.lon)
            if any(geo.point_in_polygon(p, poly) for poly in a.polygons):
                by = "polygon"
            elif any(geo.in_circle(p, circle) for circle in a.circles):
                by = "circle"
            else:
                continue
            offer(sc, {"by": by, "unit": "building", "name": sc.building, "area": a.desc})
    return [best[t] for t in sorted(best)]
