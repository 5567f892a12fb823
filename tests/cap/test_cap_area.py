"""Division codes and geometry, with cases worked out by hand."""

from __future__ import annotations

import math

import pytest

from server.cap.area import code_contains, code_prefix, distance_km, in_circle, point_in_polygon

KM_PER_DEGREE = 6371.0088 * math.pi / 180  # 111.19508 km along a meridian
DONGHE = (22.555, 114.237)


@pytest.mark.parametrize(("code", "prefix"), [
    ("440308", "440308"),  # 盐田区 (GB/T 2260)
    ("440300", "4403"),  # 深圳市
    ("440000", "44"),  # 广东省
    ("440308003000", "440308003"),  # 沙头角街道 (statistical code)
    ("440308003005", "440308003005"),  # a community in it
    ("440308000000", "440308"),  # the district written in 12 digits
    ("440300000000", "4403"),
    ("440308003", "440308003"),  # 9 digits: a street
    ("440308100", "440308100"),
    ("440308003100", "440308003100"),  # zeros inside a level are significant
    (" 440308 ", "440308"),
    ("000000", ""), ("000000000000", ""),  # no division at all
    ("44030", "44030"), ("ABC123", "ABC123"), ("", ""),  # not a standard code: kept
])
def test_code_prefix(code, prefix):
    assert code_prefix(code) == prefix


@pytest.mark.parametrize(("outer", "inner", "contains"), [
    ("440308", "440308", True),
    ("440308", "440308003000", True),  # the district holds the street
    ("440308", "440308003005", True),  # and its communities
    ("440308000000", "440308003005", True),
    ("440300", "440308003005", True),  # the city holds everything in it
    ("44", "440308", True),
    ("440308003000", "440308003005", True),
    ("440308003000", "440308003000", True),
    ("440308003005", "440308003005", True),
    ("440304", "440308003005", False),  # 福田区 is not 盐田区
    ("440304", "440308", False),
    ("440308003000", "440308", False),  # a street does not hold its district
    ("440308003005", "440308003000", False),
    ("440308003000", "440308004001", False),
    ("440308003005", "440308003006", False),
    ("440308", "44030800", False),  # an odd-length inner code that only looks nested
    ("000000", "440308", False), ("440308", "", False), ("", "", False),
    ("ABC", "ABC", True), ("ABC", "ABCD", False),  # non-standard codes: only equal
])
def test_code_contains(outer, inner, contains):
    assert code_contains(outer, inner) is contains


def test_distance_by_hand():
    assert distance_km((0, 0), (1, 0)) == pytest.approx(KM_PER_DEGREE, abs=1e-9)
    assert distance_km((0, 0), (0, 1)) == pytest.approx(KM_PER_DEGREE, abs=1e-9)
    assert distance_km((0, 0), (0, 180)) == pytest.approx(math.pi * 6371.0088, abs=1e-6)
    # 0.01 degree of longitude at 60 N: half as long as on the equator.
    assert distance_km((60, 10), (60, 10.01)) == pytest.approx(
        0.01 * KM_PER_DEGREE * 0.5, rel=1e-6)
    assert distance_km(DONGHE, DONGHE) == 0


def test_circle_edges_by_hand():
    north = (22.555 + 0.009, 114.237)  # 0.009 degree north: 1.000756 km
    assert distance_km(DONGHE, north) == pytest.approx(1.000756, abs=1e-6)
    assert not in_circle(north, (DONGHE, 1.0))
    assert in_circle(north, (DONGHE, 1.001))
    assert in_circle(DONGHE, (DONGHE, 0.0))  # the centre of a zero circle
    assert in_circle((22.5545, 114.2375), (DONGHE, 2.0))  # a building a few metres away
    assert not in_circle((22.543, 114.058), (DONGHE, 2.0))  # 福田 is 18 km west


SQUARE = ((0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0), (0.0, 0.0))
# A "U" open to the east: the notch 1 < lat < 2, 1 < lon < 3 is outside.
U_SHAPE = ((0, 0), (0, 3), (1, 3), (1, 1), (2, 1), (2, 3), (3, 3), (3, 0), (0, 0))


@pytest.mark.parametrize(("polygon", "point", "inside"), [
    (SQUARE, (5, 5), True), (SQUARE, (15, 5), False), (SQUARE, (5, -0.1), False),
    (SQUARE, (0, 5), True), (SQUARE, (10, 10), True), (SQUARE, (5, 10), True),  # edges
    (SQUARE, (10.000001, 5), False),
    (SQUARE[:-1], (5, 5), True),  # not closed: closed for the test
    (U_SHAPE, (1.5, 2), False), (U_SHAPE, (1.5, 0.5), True), (U_SHAPE, (0.5, 2), True),
    (U_SHAPE, (2.5, 2), True), (U_SHAPE, (1.5, 3.5), False), (U_SHAPE, (1.5, 1), True),
    (((0, 0), (1, 1)), (0.5, 0.5), False),  # not a polygon
])
def test_point_in_polygon_by_hand(polygon, point, inside):
    assert point_in_polygon(point, polygon) is inside


def test_point_in_the_donghe_polygon():
    ring = ((22.550, 114.230), (22.550, 114.245), (22.561, 114.245), (22.561, 114.230),
            (22.550, 114.230))
    assert point_in_polygon(DONGHE, ring)
    assert point_in_polygon((22.5551, 114.2372), ring)
    assert not point_in_polygon((22.543, 114.058), ring)  # 福田
    assert not point_in_polygon((22.562, 114.237), ring)  # just north of it
