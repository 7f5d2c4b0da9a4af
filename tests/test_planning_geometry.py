"""What the check map draws (layers.planning.geometry): buffers and distance lines on hand-made geometry with
known distances, built in EPSG:4549 metres."""

import shapely

from layers.planning import engine, geometry, rules
from layers.planning.kinds import SENSITIVE_SITES

from .test_planning_engine import AS_OF, WEEK, layer, place, square, wgs84


def metric(gj):
    return geometry.metric(shapely.geometry.shape(gj))


PLACES = layer(SENSITIVE_SITES, [
    place("h1", "residential", square(18.2, -10, 40), "海晶花园"),  # west edge 18.2 m east of the origin
    place("sc", "school", shapely.Point(0, 45), "中山路小学"),
    place("far", "residential", square(-3000, -3000, 50), "远处小区"),
])


def test_one_buffer_per_distance_with_its_rules_and_the_right_radius():
    found = geometry.buffers(wgs84(shapely.Point(0, 0)), rules.default())
    assert [(b["distance_m"], b["rules"]) for b in found] == [(30.0, ["R1"]), (50.0, ["R2", "R3", "R5"])]
    for b in found:
        ring = metric(b["geometry"])
        assert b["geometry"]["type"] == "Polygon"
        # every vertex of the buffer is its distance from the site (to a centimetre after the round trip)
        origin = geometry.metric(wgs84(shapely.Point(0, 0)))
        radii = [origin.distance(shapely.Point(c)) for c in ring.exterior.coords]
        assert abs(min(radii) - b["distance_m"]) < 0.02 and abs(max(radii) - b["distance_m"]) < 0.02


def test_a_drawn_area_is_buffered_edge_to_edge():
    seating = square(0, 0, 10)  # 10 m x 10 m
    found = geometry.buffers(wgs84(seating), rules.default())
    ring = metric(found[0]["geometry"])
    minx, miny, maxx, maxy = ring.bounds
    x0, y0, x1, _ = geometry.metric(wgs84(seating)).bounds
    assert abs((maxx - minx) - (x1 - x0 + 60)) < 0.05  # 30 m each side
    assert abs(ring.area - (100 + 4 * 10 * 30 + 3.14159 * 30 ** 2)) < 5  # square + sides + rounded corners


def test_distance_lines_go_edge_to_edge_nearest_first_with_their_length():
    lines = geometry.distance_lines(wgs84(shapely.Point(0, 0)), PLACES, ["sc", "h1", "nope"])
    assert [(line["id"], line["distance_m"]) for line in lines] == [("h1", 18.2), ("sc", 45.0)]
    assert lines[0]["name"] == "海晶花园" and lines[0]["category"] == "residential"
    start, end = (geometry.metric(shapely.Point(c)) for c in lines[0]["geometry"]["coordinates"])
    assert start.distance(geometry.metric(wgs84(shapely.Point(0, 0)))) < 0.01
    assert abs(end.x - geometry.metric(wgs84(shapely.Point(18.2, 0))).x) < 0.01  # on the compound's west edge


def test_polygon_to_polygon_lines_measure_the_gap_and_touching_is_zero():
    seating = square(0, 0, 8)  # east edge at x = 8: 10.2 m from the compound
    assert geometry.distance_lines(wgs84(seating), PLACES, ["h1"])[0]["distance_m"] == 10.2
    overlapping = square(15, 0, 8)
    assert geometry.distance_lines(wgs84(overlapping), PLACES, ["h1"])[0]["distance_m"] == 0.0


def test_the_overlay_draws_what_the_verdicts_list_and_agrees_with_them():
    site = wgs84(shapely.Point(0, 0))
    ruleset = rules.default()
    result = engine.check_site(site, {"opening_hours": "Mo-Su 10:00-23:30", "clear_walkway_m": 2.0}, PLACES, None,
                               ruleset, week=WEEK, as_of=AS_OF)
    drawn = geometry.overlay(site, result, ruleset, PLACES)
    assert {line["id"] for line in drawn["lines"]} == {"h1", "sc"}  # the far one is not listed by any verdict
    r1 = result.verdict("R1")
    assert r1.status == "fail" and drawn["lines"][0]["distance_m"] == r1.nearest[0].distance_m == 18.2
    assert [p["id"] for p in drawn["places"]] == ["h1", "sc"]
    assert drawn["places"][0]["geometry"]["type"] == "Polygon"


def test_nothing_to_draw_without_places():
    assert geometry.distance_lines(wgs84(shapely.Point(0, 0)), None, ["h1"]) == []
    assert geometry.place_shapes(None, ["h1"]) == []


def test_area_and_the_point_saved_for_a_drawn_site():
    seating = wgs84(square(0, 0, 10))
    assert abs(geometry.area_m2(seating) - 100) < 0.2
    assert geometry.area_m2(wgs84(shapely.Point(0, 0))) == 0
    assert seating.contains(geometry.site_point(seating))
    ell = wgs84(shapely.Polygon([(0, 0), (30, 0), (30, 2), (2, 2), (2, 30), (0, 30)]))  # centroid outside
    assert ell.contains(geometry.site_point(ell))
