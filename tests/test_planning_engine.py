"""The planning checks on hand-made geometry with known distances (built in EPSG:4549 metres)."""

import datetime as dt

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from layers.load import Layer
from layers.planning import engine, rules
from layers.planning.kinds import COMPLAINTS, SENSITIVE_SITES, outdoor_dining_kind

TO_WGS84 = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)
X0, Y0 = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True).transform(120.38, 36.07)
WEEK = dt.date(2026, 3, 4)  # Mon 2 - Sun 8 March 2026: no holiday
AS_OF = dt.date(2026, 3, 31)


def wgs84(geometry):
    """A geometry drawn in metres around (X0, Y0), as WGS-84."""
    moved = shapely.affinity.translate(geometry, X0, Y0)
    return shapely.transform(moved, lambda c: np.column_stack(TO_WGS84.transform(c[:, 0], c[:, 1])))


def layer(kind, rows):
    """rows: (id, properties, metric geometry)."""
    return Layer(kind=kind, ids=[r[0] for r in rows], properties=[r[1] for r in rows],
                 geometries=np.array([wgs84(r[2]) for r in rows], dtype=object))


def site(fid="s1", geometry=None, **props):
    base = {"name": f"外摆 {fid}", "district": "市南区", "opening_hours": "Mo-Su 10:00-23:30",
            "clear_walkway_m": 2.0}
    base.update(props)
    return (fid, {k: v for k, v in base.items() if v is not None}, geometry or shapely.Point(0, 0))


def place(fid, category, geometry, name=None):
    return (fid, {"name": name or f"{category} {fid}", "category": category, "source": "sample"}, geometry)


def square(x, y, size):
    return shapely.box(x, y, x + size, y + size)


HOMES = layer(SENSITIVE_SITES, [
    place("h1", "residential", square(18.2, -10, 40), "海晶花园"),  # west edge 18.2 m east of the origin
    place("h2", "residential", square(-300, -300, 50), "远处小区"),
    place("sc", "school", shapely.Point(0, 45)),
    place("ho", "hospital", square(-100, 60, 20)),
])


def check(sites, places=HOMES, complaints=None, ruleset=None, **kw):
    kw.setdefault("week", WEEK)
    kw.setdefault("as_of", AS_OF)
    return engine.check_all(layer(outdoor_dining_kind(), sites), places, complaints, ruleset, **kw)


def test_residential_within_30_m_open_into_quiet_hours_fails_with_distance_hours_and_a_condition():
    result = check([site()]).results[0]
    r1 = result.verdict("R1")
    assert r1.status == "fail" and result.status == "fail"
    assert r1.measured["distance_m"] == 18.2
    assert r1.nearest[0].name == "海晶花园" and r1.nearest[0].category == "residential"
    assert r1.reason == "居民小区 海晶花园 18.2 m，外摆营业至 23:30 · residential 海晶花园 18.2 m, seating open until 23:30"
    assert r1.suggestion.startswith("外摆 22:00 收摊")
    assert "close outdoor seating at 22:00 to pass rule R1" in r1.suggestion
    assert r1.measured["minutes_in_window"] == 7 * 90


def test_the_suggested_hours_pass():
    assert check([site(opening_hours="Mo-Su 10:00-22:00")]).results[0].verdict("R1").status == "pass"


def test_a_window_crossing_midnight_into_quiet_hours():
    hours = "Mo-Th 17:00-22:00; Fr,Sa 17:00-01:30"
    r1 = check([site(opening_hours=hours)]).results[0].verdict("R1")
    assert r1.status == "fail"
    assert "营业至次日 01:30（周五、周六）" in r1.reason and "open until 01:30 the next day (Fr, Sa)" in r1.reason
    assert r1.measured["minutes_in_window"] == 2 * 210


def test_early_opening_inside_quiet_hours_asks_to_open_later():
    r1 = check([site(opening_hours="Mo-Su 05:00-12:00")]).results[0].verdict("R1")
    assert r1.status == "fail" and "05:00 起营业" in r1.reason
    assert "open it no earlier than 06:00" in r1.suggestion


def test_polygon_to_polygon_distance_is_edge_to_edge():
    seating = shapely.box(0, 0, 10, 5)  # east edge at x = 10: 8.2 m from the compound's west edge
    result = check([site(geometry=seating)]).results[0]
    assert result.verdict("R1").measured["distance_m"] == 8.2
    far = shapely.box(-20, -5, -15, 0)  # 33.2 m from the compound: outside 30 m
    assert check([site(geometry=far)]).results[0].verdict("R1").status == "pass"


def test_far_site_passes_naming_the_nearest_home():
    r1 = check([site(geometry=shapely.Point(-200, -200))]).results[0].verdict("R1")
    assert r1.status == "pass" and "最近的居民小区 远处小区" in r1.reason and r1.measured["distance_m"] > 30


def test_school_within_50_m_in_school_hours_warns_and_only_then():
    r2 = check([site(opening_hours="Mo-Su 10:00-21:00")]).results[0].verdict("R2")
    assert r2.status == "warn" and r2.measured["distance_m"] == 45.0
    evening = check([site(opening_hours="Mo-Fr 17:30-21:00; Sa,Su 10:00-21:00")]).results[0].verdict("R2")
    assert evening.status == "pass"


def test_school_hours_follow_the_holiday_calendar_and_adjusted_working_days():
    mornings = "Mo-Fr 08:00-12:00"  # inside school hours (07:30-17:30) on every working day
    ordinary = check([site(opening_hours=mornings)], week=dt.date(2026, 3, 4)).results[0].verdict("R2")
    assert ordinary.status == "warn" and ordinary.measured["minutes_in_window"] == 5 * 240
    # 9-15 Feb 2026: Saturday the 14th is worked in exchange for the Spring Festival (调休): school is in,
    # and the seating keeps working-day hours
    adjusted = check([site(opening_hours=mornings)], week=dt.date(2026, 2, 11)).results[0].verdict("R2")
    assert adjusted.status == "warn" and adjusted.measured["minutes_in_window"] == 6 * 240
    # 16-22 Feb 2026: the Spring Festival holiday all week: no school
    holiday = check([site(opening_hours=mornings)], week=dt.date(2026, 2, 18)).results[0].verdict("R2")
    assert holiday.status == "pass"


def test_hospital_within_50_m_warns_at_any_time():
    near = shapely.Point(-100, 30)  # 30 m below the hospital's square
    r3 = check([site(geometry=near, opening_hours=None)]).results[0].verdict("R3")
    assert r3.status == "warn" and r3.measured["distance_m"] == 30.0 and r3.nearest[0].category == "hospital"


def test_clear_walkway_below_1_5_m_fails_and_missing_cannot_be_assessed():
    results = check([site("a", clear_walkway_m=1.2), site("b", clear_walkway_m=1.5), site("c", clear_walkway_m=None)])
    r4 = [r.verdict("R4") for r in results.results]
    assert [v.status for v in r4] == ["fail", "pass", "cannot_assess"]
    assert r4[0].measured == {"clear_walkway_m": 1.2}
    assert "clear_walkway_m" in r4[2].reason and r4[2].reason.startswith("无法判断")


def complaint(fid, x, y, received, category="noise", site_id=None):
    props = {"received": received, "category": category, "source": "official"}
    if site_id:
        props["site_id"] = site_id
    return (fid, props, shapely.Point(x, y))


def test_three_noise_complaints_within_50_m_in_90_days_warn():
    rows = [complaint("c1", 10, 0, "2026-03-01"), complaint("c2", 0, 49, "2026-02-01"),
            complaint("c3", 0, 60, "2026-03-10"),  # 60 m: too far
            complaint("c4", 5, 5, "2025-12-01"),  # 120 days before AS_OF: too old
            complaint("c5", 5, 5, "2026-03-20", category="litter")]
    few = check([site()], complaints=layer(COMPLAINTS, rows)).results[0].verdict("R5")
    assert few.status == "pass" and few.measured["count"] == 2
    rows.append(complaint("c6", 900, 900, "2026-03-30", site_id="s1"))  # names the site: counted
    many = check([site()], complaints=layer(COMPLAINTS, rows)).results[0].verdict("R5")
    assert many.status == "warn" and many.measured["count"] == 3
    assert sorted(many.measured["complaints"]) == ["c1", "c2", "c6"]


def test_no_protected_places_loaded_means_cannot_assess_never_pass():
    empty = Layer(kind=SENSITIVE_SITES)
    for places in (empty, None):
        result = check([site(geometry=shapely.Point(5000, 5000))], places=places).results[0]
        for rule_id in ("R1", "R2", "R3"):
            verdict = result.verdict(rule_id)
            assert verdict.status == "cannot_assess"
            assert "no protected places loaded" in verdict.reason
        assert result.verdict("R5").status == "cannot_assess"  # no complaints loaded either
        assert result.status == "cannot_assess"


def test_missing_or_unparsable_hours_near_homes_cannot_be_assessed():
    results = check([site("a", opening_hours=None), site("b", opening_hours="每天晚上")]).results
    assert results[0].verdict("R1").status == "cannot_assess" and "opening_hours" in results[0].verdict("R1").reason
    assert results[1].verdict("R1").status == "cannot_assess" and "hours" in results[1].verdict("R1").reason
    assert results[0].verdict("R3").status == "pass"  # R3 needs no hours


def test_a_holiday_only_late_opening_fails_in_the_worst_holiday_week_of_the_year_ahead():
    hours = "Mo-Su 10:00-22:00; PH 10:00-24:00"
    # checked in an ordinary March week, the permit still covers the holidays ahead: the worst is National Day
    ordinary = check([site(opening_hours=hours)], week=dt.date(2026, 3, 4)).results[0].verdict("R1")
    assert ordinary.status == "fail" and ordinary.measured["week"] == "2026-09-28/2026-10-04"
    assert ordinary.measured["minutes_in_window"] == 4 * 120  # Thursday 1 to Sunday 4 October are holidays
    assert "（周四、周五、周六、周日）" in ordinary.reason and "未来一年最不利的一周：2026-09-28 起" in ordinary.reason
    assert "the worst week of the year ahead, from 2026-09-28" in ordinary.reason
    assert check([site(opening_hours="Mo-Su 10:00-22:00")], week=dt.date(2026, 3, 4)).results[0].verdict("R1").status == "pass"


def test_seating_out_of_season_this_week_is_checked_over_its_season():
    # checked in March, a May-September permit open until 23:30 still fails R1: its season comes
    summer = check([site(season="May-Sep")], week=dt.date(2026, 3, 4)).results[0].verdict("R1")
    assert summer.status == "fail" and summer.measured["week"].startswith("2026-05-")
    assert summer.measured["minutes_in_window"] == 7 * 90
    dated = check([site(opening_hours="Jun-Sep Mo-Su 17:00-24:00")], week=dt.date(2026, 3, 4)).results[0]
    assert dated.verdict("R1").status == "fail" and dated.verdict("R1").measured["week"].startswith("2026-06-")
    early = check([site(opening_hours="Mo-Su 10:00-23:30", season="May-Sep"), site("s2", opening_hours="Mo-Su 10:00-21:00",
                                                                                 season="May-Sep")],
                  week=dt.date(2026, 3, 4)).results[1].verdict("R1")
    assert early.status == "pass" and "in any week of the year ahead" in early.reason
    bad = check([site(season="summer")]).results[0].verdict("R1")
    assert bad.status == "cannot_assess" and "外摆季节 season" in bad.reason


def test_a_rule_whose_window_needs_the_calendar_passes_sites_with_nothing_near_in_any_year():
    far = check([site(geometry=shapely.Point(-1000, -1000))], week=dt.date(2040, 6, 6)).results[0]
    assert far.verdict("R2").status == "pass"  # no school within 50 m: the school days do not matter


def test_an_edited_ruleset_changes_the_verdict():
    data = rules.default().to_dict()
    data["rules"][0]["params"]["distance_m"] = 10
    stricter = rules.Ruleset.from_dict(data)
    assert check([site()], ruleset=stricter).results[0].verdict("R1").status == "pass"


def test_check_site_matches_check_all_and_counts_by_district():
    one = engine.check_site(wgs84(shapely.Point(0, 0)), site()[1], HOMES, None, week=WEEK, as_of=AS_OF,
                            site_id="s1")
    run = check([site(), site("s2", geometry=shapely.Point(-120, -120), opening_hours="Mo-Su 10:00-22:00")])
    assert one.to_dict() == run.results[0].to_dict()
    assert run.counts()["fail"] == 1
    assert run.by_district()["市南区"]["fail"] == 1
    data = run.to_dict()
    assert data["ruleset"]["digest"] == rules.default().digest and data["week"] == "2026-03-02/2026-03-08"


def test_places_are_projected_once_per_layer_version():
    assert engine.prepare_places(HOMES) is engine.prepare_places(HOMES)


@pytest.mark.parametrize("geojson, words", [
    ({"type": "Polygon", "coordinates": [[[120.38, 36.07], [120.381, 36.071], [120.381, 36.07],
                                          [120.38, 36.071], [120.38, 36.07]]]}, "自相交"),
    ({"type": "Point", "coordinates": [116.4, 39.9]}, "不在青岛范围内"),
    ({"type": "Point", "coordinates": [36.07, 120.38]}, "填反"),
    ({"type": "LineString", "coordinates": [[120.38, 36.07], [120.39, 36.07]]}, "应为点或多边形"),
])
def test_bad_site_geometry_is_refused_with_the_reason(geojson, words):
    with pytest.raises(ValueError, match=words) as caught:
        engine.site_geometry(geojson)
    assert "· " in str(caught.value)  # Chinese, then English


def test_a_good_site_geometry_is_accepted():
    assert engine.site_geometry({"type": "Point", "coordinates": [120.38, 36.07]}).x == 120.38


def test_a_week_the_holiday_calendar_lacks_still_checks_hours_that_do_not_depend_on_it():
    # chinesecalendar covers only the years whose arrangement is published: in 2040, R1's quiet hours and
    # these seating hours are the same on every kind of day, so R1 is assessed; R2's school days are not
    result = check([site()], week=dt.date(2040, 6, 6)).results[0]
    assert result.verdict("R1").status == "fail" and result.verdict("R1").measured["minutes_in_window"] == 7 * 90
    assert result.verdict("R2").status == "cannot_assess" and "2040" in result.verdict("R2").reason
