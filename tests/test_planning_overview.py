"""The planning desk's overview (layers.planning.week, .statistics, .targets) on hand-made layers with known
hours and positions, and the targets' measures on the sample data."""

import datetime as dt
import json

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from layers.catalog import Catalog
from layers.load import Layer
from layers.planning import hours, statistics, targets, week
from layers.planning.results import CheckRun, SiteResult, Verdict
from layers.planning.rules import default
from layers.registry import KINDS, REGISTRY

from .conftest import DATA, SHARED

#: A normal week (no holiday, no adjusted working day) and the National Day week of 2026: Mon-Wed 5-7 Oct
#: are holidays, Saturday 10 Oct is an adjusted working day (调休上班).
NORMAL = hours.week_of(dt.date(2026, 9, 7))
HOLIDAY = hours.week_of(dt.date(2026, 10, 5))
LON, LAT = 120.38, 36.07


def layer(kind_id, features):
    """A Layer of ``features``: (id, properties, shapely geometry)."""
    return Layer(kind=REGISTRY[kind_id], ids=[f[0] for f in features], properties=[dict(f[1]) for f in features],
                 geometries=np.array([f[2] for f in features], dtype=object))


def layers_of(**by_id):
    return lambda layer_id: by_id.get(layer_id)


def run_with(within: dict, week_=NORMAL):
    """A check-all run whose R1 verdict finds ``within[site id]`` homes within its distance."""
    results = [SiteResult(sid, sid, None, (Verdict("R1", "fail", "fail" if n else "pass", "r", {"within": n}),))
               for sid, n in within.items()]
    return CheckRun(default(), week_, dt.date(2026, 9, 30), results)


def site(fid, hours_, **props):
    return (fid, {"name": fid, "district": "市南区", "status": "pilot", "opening_hours": hours_, "source": "sample",
                  **props}, Point(LON, LAT))


def street(fid, hours_, weekend_block=True, **props):
    return (fid, {"name": fid, "district": "市北区", "status": "operating", "opening_hours": hours_,
                  "weekend_block": weekend_block, "source": "sample", **props},
            LineString([(LON, LAT), (LON + 0.003, LAT)]))


def row(view, fid):
    return next(r for r in view.rows if r.id == fid)


# --- week view --------------------------------------------------------------------------------------------

def test_a_window_past_midnight_is_open_across_midnight_and_marked_in_quiet_hours_near_homes():
    sites = layer("outdoor_dining_pilots", [site("near", "Mo-Su 17:00-01:00"), site("far", "Mo-Su 17:00-01:00")])
    view = week.build(NORMAL, layers_of(outdoor_dining_pilots=sites), default(), run_with({"near": 2, "far": 0}))
    near, far = row(view, "near"), row(view, "far")
    assert near.spans[0] == ["00:00-01:00", "17:00-24:00"]  # Monday 00-01 is Sunday night's spill-over
    assert near.quiet_spans[1] == ["00:00-01:00", "22:00-24:00"]  # R1's 22:00-06:00 window
    cells = dict(near.cells())
    assert cells[24 + 0] == week.QUIET and cells[24 + 21] == week.OPEN and cells[24 + 22] == week.QUIET
    assert 24 + 1 not in cells and 24 + 16 not in cells  # closed hours are left out
    assert near.near_homes and not far.near_homes and far.quiet is None
    assert set(dict(far.cells()).values()) == {week.OPEN}
    chart = view.to_dict()
    assert chart["window"]["expression"] == "22:00-06:00" and [24 + 22, 0, week.QUIET] in chart["cells"]


def test_holidays_and_adjusted_working_days_decide_car_free_days():
    streets = layer("pedestrian_streets", [street("周末街", "Sa,Su 10:00-22:00"),
                                           street("节假日街", "Sa,Su,PH 09:00-22:00")])
    view = week.build(HOLIDAY, layers_of(pedestrian_streets=streets), default())
    assert [d["kind"] for d in view.days] == ["holiday"] * 3 + ["workday"] * 2 + ["adjusted_workday", "weekend"]
    weekend_only, with_ph = row(view, "周末街"), row(view, "节假日街")
    assert weekend_only.spans[5] == [] and weekend_only.spans[6] == ["10:00-22:00"]  # Saturday is worked
    assert with_ph.spans[:3] == [["09:00-22:00"]] * 3 and with_ph.spans[3:6] == [[], [], []]
    assert [item["zh"] for item in view.weekend] == ["周末街 周日 10:00-22:00", "节假日街 周日 09:00-22:00"]


def test_this_weekend_lists_car_free_streets_with_their_hours_and_leaves_planned_ones_out():
    streets = layer("pedestrian_streets", [
        street("台东步行街", "Sa,Su 10:00-22:00"), street("常设步行街", None, weekend_block=False),
        street("无时段街区", None), street("规划街区", "Sa,Su 10:00-22:00", status="planned")])
    view = week.build(NORMAL, layers_of(pedestrian_streets=streets), default())
    assert [item["zh"] for item in view.weekend] == [
        "台东步行街 周六 10:00-22:00", "常设步行街 周六 全天", "台东步行街 周日 10:00-22:00", "常设步行街 周日 全天"]
    assert view.weekend[0]["date"] == "2026-09-12"
    assert row(view, "常设步行街").hours == "24/7"  # a permanent pedestrian street without hours
    assert "no hours given" in row(view, "无时段街区").note and row(view, "无时段街区").open is None
    assert "planned" in row(view, "规划街区").note and not row(view, "规划街区").cells()


def test_24_hour_zones_are_rows_and_seating_out_of_season_is_closed():
    zones = layer("night_economy_zones", [
        ("z24", {"name": "z24", "district": "市南区", "status": "pilot", "opening_hours": "24/7", "is_24h_pilot": True,
                 "source": "sample"}, box(LON, LAT, LON + 0.01, LAT + 0.01)),
        ("zn", {"name": "zn", "district": "市南区", "status": "operating", "opening_hours": "Mo-Su 10:00-22:00",
                "is_24h_pilot": False, "source": "sample"}, box(LON, LAT, LON + 0.01, LAT + 0.01))])
    sites = layer("outdoor_dining_pilots", [site("summer", "Mo-Su 10:00-20:00", season="Jun-Sep"),
                                            site("bad", "sometimes")])
    view = week.build(hours.week_of(dt.date(2026, 12, 7)), layers_of(night_economy_zones=zones,
                                                                     outdoor_dining_pilots=sites), default())
    assert [r.id for r in view.rows] == ["z24", "summer", "bad"]
    assert len(row(view, "z24").cells()) == 7 * 24
    assert "out of season" in row(view, "summer").note and not row(view, "summer").cells()
    assert "not an OSM opening_hours value" in row(view, "bad").note


def test_a_week_the_holiday_calendar_does_not_cover_shows_what_does_not_depend_on_it():
    sites = layer("outdoor_dining_pilots", [site("every", "Mo-Su 10:00-23:00"), site("ph", "Mo-Fr 10:00-20:00; PH off")])
    view = week.build(hours.week_of(dt.date(2040, 3, 1)), layers_of(outdoor_dining_pilots=sites), default())
    assert "2040" in view.calendar_note and {d["kind"] for d in view.days} == {"unknown"}
    assert len(row(view, "every").cells()) == 7 * 13 and row(view, "every").note is None
    assert "2040" in row(view, "ph").note and not row(view, "ph").cells()
    assert view.window == "22:00-06:00"


def test_the_week_parameter():
    assert week.parse_week("2026-09-10").monday == dt.date(2026, 9, 7)
    assert week.parse_week("", dt.date(2026, 12, 4)).monday == dt.date(2026, 11, 30)
    for bad in ("2026-13-01", "next week", "2026-9-1", "<script>"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            week.parse_week(bad)


# --- statistics -------------------------------------------------------------------------------------------

def two_districts():
    west, east = box(LON - 0.02, LAT - 0.02, LON, LAT + 0.02), box(LON, LAT - 0.02, LON + 0.02, LAT + 0.02)
    return layer("districts", [("370202", {"adcode": "370202", "name": "市南区", "source": "sample"}, west),
                               ("370203", {"adcode": "370203", "name": "市北区", "source": "sample"}, east)])


def test_features_belong_to_the_district_holding_them_not_to_their_district_property():
    districts = two_districts()
    sites = layer("outdoor_dining_pilots", [
        ("w", {"name": "w", "district": "市南区", "capacity": 20, "source": "sample"}, Point(LON - 0.01, LAT)),
        ("e", {"name": "e", "district": "市南区", "capacity": 30, "source": "sample"}, Point(LON + 0.01, LAT)),
        ("e2", {"name": "e2", "district": "市北区", "capacity": 5, "source": "sample"}, Point(LON + 0.01, LAT + 0.01))])
    # a zone straddling the border: its representative point (inside it) decides, and its whole area counts
    zone = box(LON + 0.001, LAT, LON + 0.006, LAT + 0.004)
    zones = layer("night_economy_zones", [("z", {"name": "z", "district": "市南区", "source": "sample"}, zone)])
    complaints = layer("complaints", [(f"c{i}", {"received": "2026-09-01", "category": "noise", "source": "sample"},
                                       Point(LON + 0.012, LAT)) for i in range(3)])
    run = run_with({"w": 0, "e": 1, "e2": 1})
    population = {"districts": {"370202": {"population": 500000}, "370203": {"population": 1000000}}}
    stats = statistics.compute(KINDS, layers_of(districts=districts, outdoor_dining_pilots=sites,
                                                night_economy_zones=zones, complaints=complaints), run, population)
    west, east = stats.districts
    assert (west.sites, west.seats, east.sites, east.seats) == (1, 20, 2, 35)
    assert west.verdicts["pass"] == 1 and east.verdicts["fail"] == 2
    assert (west.counts["night_economy_zones"], east.counts["night_economy_zones"]) == (0, 1)
    expected = shapely.area(statistics.to_metric(np.array([zone], dtype=object)))[0]
    assert east.areas["night_economy_zones"] == pytest.approx(expected) and 150000 < expected < 250000
    assert east.complaints == 3 and east.complaints_per_site == 1.5 and west.complaints_per_site == 0.0
    assert east.per_10k(east.seats) == 0.35 and west.per_10k(west.sites) == 0.02
    assert stats.population["loaded"] is True
    assert [(m["id"], m["district"], m["located_in"]) for m in stats.mismatches] == [
        ("z", "市南区", "市北区"), ("e", "市南区", "市北区")]
    rows = statistics.csv_rows(stats)
    assert rows[0][:3] == ["id", "名称 name", "面积 area (m²)"] and rows[2][1] == "市北区"


def test_without_a_population_there_are_no_per_10k_figures(tmp_path):
    population = statistics.load_population(tmp_path / "missing.json")
    stats = statistics.compute(KINDS, layers_of(districts=two_districts()), None, population)
    assert stats.population["loaded"] is False and stats.districts[0].per_10k(5) is None
    assert stats.districts[0].sites == 0 and stats.districts[0].complaints_per_site is None


def test_the_shipped_population_is_the_2020_census_for_the_ten_districts():
    population = statistics.load_population(DATA / "planning" / "district_population.json")
    from layers.area import DISTRICTS

    assert population["year"] == 2020 and "census" in population["source"]
    assert set(population["districts"]) == set(DISTRICTS)
    assert sum(d["population"] for d in population["districts"].values()) == 10071722


# --- targets ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    by_id = {lay.kind.id: lay for lay in Catalog.read_directory(DATA)}
    return by_id.get


def test_the_measures_on_the_sample_data(sample):
    today = dt.date(2026, 12, 4)
    zones = targets.MEASURES["night_zones_provincial_or_above"](sample, today)
    assert zones.value == 0 and zones.sample and "of 6" in zones.read  # measured: every sample level is none
    taidong = targets.MEASURES["taidong_national_demonstration"](sample, today)
    assert taidong.value is None and "no designation level recorded" in taidong.read and "operating" in taidong.read
    assert targets.MEASURES["pilots_24h_operating"](sample, today).value == 0  # 奥帆中心 is a pilot, not operating
    assert targets.MEASURES["weekend_blocks_operating"](sample, today).value == 1  # 中山路 (登州路 is a pilot)
    assert targets.MEASURES["hq_clusters"](sample, today).value == 3
    assert targets.MEASURES["outdoor_dining_pilots"](sample, today).value == 13


def test_no_batches_loaded_is_no_data_not_zero_of_ten(sample):
    listed = {t.id: t for t in targets.load(DATA / "planning" / "targets.json")}
    rows = {r["target"].id: r for r in targets.evaluate(list(listed.values()), sample, dt.date(2026, 12, 4))}
    assert rows["T3"]["measure"].value is None and rows["T3"]["progress"].text == targets.NO_DATA
    assert rows["T3"]["progress"].share is None and "0 /" not in rows["T3"]["progress"].text
    assert rows["T1"]["progress"].text.startswith("0 / 3-5（0%）未达成")
    assert rows["T5"]["progress"].met is True and rows["T5"]["progress"].share == 1.0


def test_a_state_target_is_met_only_by_that_state():
    target = targets.Target("T", "台东", "Taidong", "四.17", "", "taidong_national_demonstration", state="national")
    assert targets.progress(target, targets.Measure("provincial", "")).met is False
    assert targets.progress(target, targets.Measure("national", "")).text.startswith("已达成：国家级")


def test_the_targets_cite_the_plan_word_for_word():
    data = json.loads((DATA / "planning" / "targets.json").read_text(encoding="utf-8"))
    plan = SHARED / "reference" / "qingdao-modern-services-action-plan-2023-2025-draft.txt"
    if not plan.exists():
        pytest.skip("../shared/reference is not here")
    text = plan.read_text(encoding="utf-8")
    for item in data["targets"]:
        assert item["quote"] in text, item["id"]
        number = item["section"].split(".")[1]
        assert f"{number}. " in text.split(item["quote"])[0].rsplit("\n", 1)[-1] + item["quote"], item["id"]


@pytest.mark.parametrize("bad, field", [
    ({"targets": [{"id": "X", "title_zh": "x", "title_en": "x", "section": "四.17", "measure": "nope",
                   "target": {"min": 1}}]}, "measure"),
    ({"targets": [{"id": "X", "title_zh": "x", "title_en": "x", "section": "四.17", "measure": "hq_clusters",
                   "target": {"min": -1}}]}, "target.min"),
    ({"targets": [{"id": "X", "title_zh": "x", "title_en": "x", "measure": "hq_clusters",
                   "target": {"min": 1}}]}, "section"),
    ([], "targets"),
])
def test_a_bad_targets_file_is_refused_naming_the_field(bad, field):
    with pytest.raises(targets.TargetsError, match=field.replace(".", r"\.")):
        targets.parse(bad)


def test_targets_saved_in_the_store_are_versions_and_a_bad_or_unchanged_text_is_refused():
    from layers.store import Store

    store = Store("sqlite://")
    store.upgrade()
    shipped = DATA / "planning" / "targets.json"
    assert targets.load_live(store, shipped).version == 0
    with pytest.raises(targets.TargetsError, match="nothing to save"):
        targets.save(store, shipped, shipped.read_text(encoding="utf-8"), author="a")
    with pytest.raises(targets.TargetsError, match="not valid JSON"):
        targets.save(store, shipped, "{oops", author="a")
    data = json.loads(shipped.read_text(encoding="utf-8"))
    data["targets"] = data["targets"][:2]
    assert targets.save(store, shipped, json.dumps(data), author="a", expected_version=0) == 1
    assert [t.id for t in targets.load_live(store, shipped).targets] == ["T1", "T2"]
    assert store.audit_log()[-1]["detail"]["removed"] == ["T3", "T4", "T5", "T6", "T7"]
    assert targets.restore(store, shipped, 0, author="a") == 2
    assert len(targets.load_live(store, shipped).targets) == 7 and len(targets.load_live(store, shipped, 1).targets) == 2
