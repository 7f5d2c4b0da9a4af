"""layers.query and layers.index, without Flask: parameter checks and selections against brute force."""

import numpy as np
import pytest
import shapely

from layers.catalog import Catalog
from layers.index import FeatureIndex
from layers.load import check_features
from layers.problems import Report
from layers.query import DEFAULT_LIMIT, MAX_LIMIT, QueryError, parse, parse_bbox
from layers.registry import get

from .conftest import DATA, point

DINING = get("outdoor_dining_pilots")


@pytest.mark.parametrize("text, expected", [
    ("120,36,121,37", (120.0, 36.0, 121.0, 37.0)),
    ("120,36,0,121,37,100", (120.0, 36.0, 121.0, 37.0)),
    ("-180,-90,180,90", (-180.0, -90.0, 180.0, 90.0)),
    ("170,36,-170,37", (170.0, 36.0, -170.0, 37.0)),  # crosses the antimeridian: valid, answered
])
def test_good_bboxes(text, expected):
    assert parse_bbox(text) == expected


@pytest.mark.parametrize("text", ["", "1,2,3", "1,2,3,4,5", "a,b,c,d", "120,37,121,36",
                                  "inf,36,121,37", "120,36,181,37", "120,-91,121,37", "1e999,0,1,1"])
def test_bad_bboxes(text):
    with pytest.raises(QueryError) as info:
        parse_bbox(text)
    assert info.value.parameter == "bbox" and str(info.value)


def test_parse_defaults_clamps_and_types():
    q = parse(DINING, {})
    assert (q.bbox, q.filters, q.limit, q.offset) == (None, {}, DEFAULT_LIMIT, 0)
    q = parse(DINING, {"limit": [str(MAX_LIMIT + 1)], "offset": ["7"], "capacity": ["12"], "district": ["市南区"]})
    assert q.limit == MAX_LIMIT and q.offset == 7 and q.filters == {"capacity": 12, "district": "市南区"}
    assert parse(get("night_economy_zones"), {"is_24h_pilot": ["false"]}).filters == {"is_24h_pilot": False}


@pytest.mark.parametrize("params, parameter", [
    ({"limit": ["1", "2"]}, "limit"),
    ({"nope": ["1"]}, "nope"),
    ({"capacity": ["twelve"]}, "capacity"),
    ({"venue_type": ["casino"]}, "venue_type"),
    ({"area_m2": ["big"]}, "area_m2"),
    ({"sortby": ["colour"]}, "sortby"),
    ({"properties": ["name,colour"]}, "properties"),
    ({"filter": ["capacity > 'many'"]}, "filter"),
    ({"datetime": ["2019"]}, "datetime"),
    ({"filter-lang": ["cql"]}, "filter-lang"),
    ({"filter-crs": ["EPSG:3857"]}, "filter-crs"),
])
def test_refusals_name_the_parameter(params, parameter):
    with pytest.raises(QueryError) as info:
        parse(DINING, params)
    assert info.value.parameter == parameter


def test_downloads_take_no_paging():
    with pytest.raises(QueryError):
        parse(DINING, {"limit": ["5"]}, paging=False, other=("format",))
    assert parse(DINING, {"format": ["gpkg"]}, paging=False, other=("format",)).limit == DEFAULT_LIMIT


def test_selection_equals_brute_force():
    rng = np.random.default_rng(3)
    n = 3000
    lon, lat = rng.uniform(120.2, 120.5, n), rng.uniform(36.0, 36.3, n)
    features = [point(f"p{i}", float(x), float(y), venue_type=["bar", "cafe"][i % 2], capacity=int(i % 7))
                for i, (x, y) in enumerate(zip(lon, lat))]
    layer = check_features(features, Report("synthetic"), DINING)
    index = FeatureIndex(DINING, layer)
    assert index.select().is_all and index.select().count == n
    for _ in range(25):
        x0, y0 = rng.uniform(120.2, 120.45), rng.uniform(36.0, 36.25)
        box = (x0, y0, x0 + 0.03, y0 + 0.03)
        inside = np.flatnonzero((lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3]))
        assert index.select(box).tolist() == inside.tolist()
        wanted = [i for i in inside if i % 2 == 1 and i % 7 == 3]
        assert index.select(box, {"venue_type": "cafe", "capacity": 3}).tolist() == wanted
    assert index.select(None, {"capacity": 99}).tolist() == []


def test_pages_are_sliced_from_one_serialization():
    live = Catalog.from_directory(DATA).get("hq_clusters")
    encoded = live.encoding()
    whole = encoded.body.decode()
    parts = [bytes(encoded.feature(i)).decode() for i in range(live.count)]
    assert whole == '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"
    assert encoded.features(np.array([2, 0])).decode() == parts[2] + "," + parts[0]
    assert shapely.from_geojson(parts[1]).equals(live.layer.geometries[1])
