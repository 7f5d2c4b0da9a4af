"""What lies inside a night-economy or 24-hour zone: protected places, residential share, complaints."""

import datetime as dt

import pytest
import shapely

from layers.load import Layer
from layers.planning import zones
from layers.planning.kinds import COMPLAINTS, SENSITIVE_SITES
from layers.registry import get

from .test_planning_engine import complaint, layer, place

ZONE = layer(get("night_economy_zones"), [
    ("z1", {"name": "奥帆中心", "district": "市南区", "is_24h_pilot": True, "source": "sample"}, shapely.box(0, 0, 100, 100)),
    ("z2", {"name": "空区", "district": "市南区", "source": "sample"}, shapely.box(500, 500, 600, 600)),
])
PLACES = layer(SENSITIVE_SITES, [
    place("h1", "residential", shapely.box(-20, 0, 40, 100)),  # 40 m × 100 m inside
    place("h2", "residential", shapely.box(20, 0, 30, 50)),  # wholly within h1's part: counted once
    place("h3", "residential", shapely.box(150, 0, 200, 50)),  # outside
    place("sc", "school", shapely.Point(50, 50)),
])
COMPLAINED = layer(COMPLAINTS, [complaint("c1", 10, 10, "2026-03-01"), complaint("c2", 90, 90, "2026-03-20"),
                                complaint("c3", 50, 50, "2025-06-01"),  # too old
                                complaint("c4", 10, 10, "2026-03-02", category="litter"),
                                complaint("c5", 300, 300, "2026-03-02")])  # outside


def test_places_share_and_complaints_inside_a_zone():
    measured = zones.measure_zones(ZONE, PLACES, COMPLAINED, as_of=dt.date(2026, 3, 31))
    first, empty = measured
    assert first.is_24h_pilot and first.area_m2 == pytest.approx(10000, rel=1e-6)
    assert [p.id for p in first.places] == ["h1", "h2", "sc"] and first.residents_inside() == 2
    assert first.residential_share == pytest.approx(0.4, abs=1e-6)
    assert first.complaints["noise"] == 2 and first.complaints["litter"] == 1
    assert empty.places == () and empty.residential_share == 0 and sum(empty.complaints.values()) == 0
    assert first.to_dict()["residential_share"] == 0.4


def test_without_protected_places_or_complaints_the_zone_measures_say_none():
    measured = zones.measure_zones(ZONE, Layer(kind=SENSITIVE_SITES), None, as_of=dt.date(2026, 3, 31))
    assert measured[0].residential_share is None and measured[0].complaints is None
