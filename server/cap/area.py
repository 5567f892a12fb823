"""Whether a place is in a warning's area: division codes, polygons, circles.

Division codes nest by prefix: GB/T 2260 gives province (2 digits), city (4), district (6),
and the statistical division codes add street/town (9) and community/village (12), padded
with zeros to their full length ("440308000000" is the district 440308 itself). So a code
contains another when its significant prefix begins the other's.
"""

from __future__ import annotations

import math

from server.cap.message import LatLon

LEVEL_LENGTHS = (2, 4, 6, 9, 12)
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def code_prefix(code: str) -> str:
    """The significant part of a division code: trailing all-zero levels dropped.

    "440308" → "440308"; "440300" → "4403"; "440308003000" → "440308003";
    "440308000000" → "440308". A code that is not digits of a known length is kept whole.
    """
    code = code.strip()
    if not code.isdigit() or len(code) not in LEVEL_LENGTHS:
        return code
    prefix = code
    for i in range(LEVEL_LENGTHS.index(len(code)), 0, -1):
        start = LEVEL_LENGTHS[i - 1]
        if set(prefix[start:]) == {"0"}:
            prefix = prefix[:start]
        else:
            break
    return "" if set(prefix) == {"0"} else prefix


def code_contains(outer: str, inner: str) -> bool:
    """Whether the division `outer` is or contains the division `inner`."""
    o, i = code_prefix(outer), code_prefix(inner)
    if not o or not i:
        return False
    if not all(c.isdigit() and len(c) in LEVEL_LENGTHS for c in (o, i)):
        return o == i  # not standard division codes: only the same code matches
    return i.startswith(o)


def _on_segment(p: LatLon, a: LatLon, b: LatLon, eps: float = 1e-12) -> bool:
    (y, x), (ay, ax), (by, bx) = p, a, b
    cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
    if abs(cross) > eps:
        return False
    return min(ax, bx) - eps <= x <= max(ax, bx) + eps and \
        min(ay, by) - eps <= y <= max(ay, by) + eps


def point_in_polygon(p: LatLon, polygon) -> bool:
    """Whether the point is inside the ring (or on its edge), in plain lat/lon.

    Warning areas are at most a few hundred kilometres across and nowhere near the poles or
    the antimeridian here, so a planar even-odd test on degrees is exact enough.
    """
    pts = list(polygon)
    if len(pts) < 3:
        return False
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    lat, lon = p
    inside = False
    for a, b in zip(pts, pts[1:], strict=False):
        if _on_segment(p, a, b):
            return True
        (alat, alon), (blat, blon) = a, b
        if (alat > lat) != (blat > lat):
            cross_lon = alon + (lat - alat) * (blon - alon) / (blat - alat)
            if lon < cross_lon:
                inside = not inside
    return inside


def distance_km(a: LatLon, b: LatLon) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + \
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def in_circle(p: LatLon, circle) -> bool:
    """Whether the point is within the circle ((lat, lon), radius km), edge included."""
    centre, radius_km = circle
    return distance_km(p, centre) <= radius_km
