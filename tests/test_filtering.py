"""CQL2 filters, datetime, sortby and properties: layers.filtering and layers.index against brute force, then
through /ogc and /api downloads."""

import json
import re

import numpy as np
import pytest
import shapely

from layers import filtering, query
from layers.catalog import Catalog
from layers.featurejson import collection, feature, with_properties
from layers.index import FeatureIndex, Selection
from layers.load import check_features
from layers.problems import Report
from layers.registry import get

from .conftest import DATA, feature_collection, point

DINING = get("outdoor_dining_pilots")
NIGHT = get("night_economy_zones")
NAMES = ["海景咖啡", "啤酒屋", "O'Brien 酒吧", "Sailing Café", "sailing bar", "50%折扣小馆", "a_b 小吃", "咖啡_外摆"]


@pytest.fixture(scope="module")
def synthetic():
    """600 dining points with every kind of value, and some missing."""
    rng = np.random.default_rng(7)
    features = []
    for i in range(600):
        props = {"name": f"{NAMES[i % len(NAMES)]} {i}", "venue_type": ["bar", "cafe", "light_dining", "mixed"][i % 4],
                 "district": ["市南区", "市北区", "崂山区"][i % 3]}
        if i % 5:
            props["capacity"] = int(rng.integers(0, 200))
        if i % 7:
            props["designation_year"] = int(rng.integers(1995, 2026))
        if i % 3:
            props["area_m2"] = float(np.round(rng.uniform(0, 500), 1))
        if i % 11 == 0:
            props["note"] = "临时" if i % 2 else "常设"
        features.append(point(f"p{i:03d}", float(rng.uniform(120.2, 120.5)), float(rng.uniform(36.0, 36.3)), **props))
    layer = check_features(features, Report("synthetic"), DINING)
    assert len(layer) == 600
    return FeatureIndex(DINING, layer)


def selected(index, text, lang="cql2-text", **more) -> list[int]:
    q = query.parse(index.kind, {"filter": [text], "filter-lang": [lang], **{k: [v] for k, v in more.items()}})
    return index.select(**q.selection_args()).tolist()


def brute(index, predicate) -> list[int]:
    """Positions whose predicate is true (None, unknown, is not true)."""
    return [i for i, props in enumerate(index.layer.properties) if predicate(props, index.layer.ids[i]) is True]


def cmp(op, a, b):
    if a is None:
        return None
    return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def n(value):  # SQL's NOT
    return None if value is None else not value


def a(*values):  # SQL's AND
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def o(*values):  # SQL's OR
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


CASES = [
    ("capacity > 100", lambda p, i: cmp(">", p.get("capacity"), 100)),
    ("capacity <= 20", lambda p, i: cmp("<=", p.get("capacity"), 20)),
    ("100 < capacity", lambda p, i: cmp(">", p.get("capacity"), 100)),
    ("capacity <> 50", lambda p, i: cmp("<>", p.get("capacity"), 50)),
    ("area_m2 >= 250.5", lambda p, i: cmp(">=", p.get("area_m2"), 250.5)),
    ("designation_year = 2019", lambda p, i: cmp("=", p.get("designation_year"), 2019)),
    ("venue_type = 'bar'", lambda p, i: cmp("=", p.get("venue_type"), "bar")),
    ("venue_type <> 'bar'", lambda p, i: cmp("<>", p.get("venue_type"), "bar")),
    ("name < 'b'", lambda p, i: cmp("<", p.get("name"), "b")),
    ("name >= '啤'", lambda p, i: cmp(">=", p.get("name"), "啤")),
    ("district = '市南区' AND capacity > 50", lambda p, i: a(p["district"] == "市南区", cmp(">", p.get("capacity"), 50))),
    ("venue_type = 'cafe' OR capacity < 10", lambda p, i: o(p["venue_type"] == "cafe", cmp("<", p.get("capacity"), 10))),
    ("NOT (capacity > 100)", lambda p, i: n(cmp(">", p.get("capacity"), 100))),
    ("NOT (capacity > 100) OR note IS NOT NULL",
     lambda p, i: o(n(cmp(">", p.get("capacity"), 100)), p.get("note") is not None)),
    ("NOT (capacity > 100 AND venue_type = 'bar')",
     lambda p, i: n(a(cmp(">", p.get("capacity"), 100), p["venue_type"] == "bar"))),
    ("NOT NOT capacity > 100", lambda p, i: cmp(">", p.get("capacity"), 100)),
    ("capacity IS NULL", lambda p, i: p.get("capacity") is None),
    ("capacity IS NOT NULL AND designation_year IS NULL",
     lambda p, i: p.get("capacity") is not None and p.get("designation_year") is None),
    ("capacity IN (10, 20, 30)", lambda p, i: None if p.get("capacity") is None else p["capacity"] in (10, 20, 30)),
    ("venue_type NOT IN ('bar', 'cafe')", lambda p, i: p["venue_type"] not in ("bar", "cafe")),
    ("designation_year BETWEEN 2000 AND 2010",
     lambda p, i: None if p.get("designation_year") is None else 2000 <= p["designation_year"] <= 2010),
    ("designation_year NOT BETWEEN 2000 AND 2010",
     lambda p, i: None if p.get("designation_year") is None else not 2000 <= p["designation_year"] <= 2010),
    ("name LIKE '%咖啡%'", lambda p, i: "咖啡" in p["name"]),
    ("name LIKE 'sailing%'", lambda p, i: p["name"].startswith("sailing")),  # case-sensitive
    ("name LIKE '%1_'", lambda p, i: re.fullmatch(r".*1.", p["name"]) is not None),
    ("name LIKE '50\\%%'", lambda p, i: p["name"].startswith("50%")),
    ("name LIKE '%\\_%'", lambda p, i: "_" in p["name"]),
    ("name NOT LIKE '%酒%'", lambda p, i: "酒" not in p["name"]),
    ("name LIKE '%咖%外%'", lambda p, i: re.fullmatch(r".*咖.*外.*", p["name"]) is not None),
    ("name = 'O''Brien 酒吧 2'", lambda p, i: p["name"] == "O'Brien 酒吧 2"),
    ("id = 'p007'", lambda p, i: i == "p007"),
    ("id IN ('p001', 'p599', 'nope')", lambda p, i: i in ("p001", "p599")),
    ("id >= 'p590'", lambda p, i: i >= "p590"),
    ("1 = 1", lambda p, i: True),
    ("\"venue_type\" = 'mixed' AND (capacity > 150 OR area_m2 < 50)",
     lambda p, i: a(p["venue_type"] == "mixed", o(cmp(">", p.get("capacity"), 150), cmp("<", p.get("area_m2"), 50)))),
]


@pytest.mark.parametrize("text, predicate", CASES, ids=[c[0] for c in CASES])
def test_filters_equal_brute_force_with_sql_nulls(synthetic, text, predicate):
    assert selected(synthetic, text) == brute(synthetic, predicate)


def test_cql2_json_equals_cql2_text(synthetic):
    pairs = [
        ({"op": "and", "args": [{"op": ">", "args": [{"property": "capacity"}, 50]},
                                {"op": "like", "args": [{"property": "name"}, "%咖啡%"]}]},
         "capacity > 50 AND name LIKE '%咖啡%'"),
        ({"op": "in", "args": [{"property": "venue_type"}, ["bar", "mixed"]]}, "venue_type IN ('bar', 'mixed')"),
        ({"op": "between", "args": [{"property": "designation_year"}, 2000, 2010]},
         "designation_year BETWEEN 2000 AND 2010"),
        ({"op": "not", "args": [{"op": "isNull", "args": [{"property": "note"}]}]}, "note IS NOT NULL"),
        ({"op": "s_intersects", "args": [{"property": "geometry"},
                                         {"type": "Polygon", "coordinates": [[[120.3, 36.1], [120.4, 36.1],
                                                                              [120.4, 36.2], [120.3, 36.1]]]}]},
         "S_INTERSECTS(geometry, POLYGON((120.3 36.1, 120.4 36.1, 120.4 36.2, 120.3 36.1)))"),
    ]
    for document, text in pairs:
        assert selected(synthetic, json.dumps(document), "cql2-json") == selected(synthetic, text)
        assert selected(synthetic, text)  # not empty: the comparison means something


def test_spatial_functions_equal_shapely(synthetic):
    geoms = synthetic.layer.geometries
    poly = shapely.Polygon([(120.25, 36.05), (120.45, 36.05), (120.45, 36.2), (120.3, 36.25)])
    wkt = poly.wkt
    inside = np.flatnonzero(shapely.intersects(geoms, poly)).tolist()
    assert 0 < len(inside) < 600
    assert selected(synthetic, f"S_INTERSECTS(geometry, {wkt})") == inside
    assert selected(synthetic, f"S_INTERSECTS({wkt}, geometry)") == inside
    assert selected(synthetic, f"S_WITHIN(geometry, {wkt})") == np.flatnonzero(shapely.within(geoms, poly)).tolist()
    outside = np.flatnonzero(~shapely.intersects(geoms, poly)).tolist()
    assert selected(synthetic, f"S_DISJOINT(geometry, {wkt})") == outside
    assert selected(synthetic, f"NOT S_INTERSECTS(geometry, {wkt})") == outside
    two = synthetic.layer.geometries[[3, 9]]
    assert selected(synthetic, f"S_INTERSECTS(geometry, MULTIPOINT(({two[0].x} {two[0].y}), ({two[1].x} {two[1].y})))") == [3, 9]
    one = synthetic.layer.geometries[5]
    assert selected(synthetic, f"S_EQUALS(geometry, {one.wkt})") == [5]
    assert selected(synthetic, f"S_CONTAINS(geometry, {one.wkt})") == [5]
    box = (120.3, 36.1, 120.35, 36.15)
    in_box = np.flatnonzero(shapely.intersects(geoms, shapely.box(*box))).tolist()
    assert selected(synthetic, "S_INTERSECTS(geometry, BBOX(120.3, 36.1, 120.35, 36.15))") == in_box
    # a spatial condition inside an OR goes through the columns' masks, not the candidate narrowing
    assert selected(synthetic, f"S_INTERSECTS(geometry, {wkt}) OR capacity > 150") == sorted(
        set(inside) | set(brute(synthetic, lambda p, i: cmp(">", p.get("capacity"), 150))))
    # with bbox and an attribute condition: the intersection of all three
    both = query.parse(DINING, {"bbox": ["120.3,36.1,120.4,36.2"],
                                "filter": [f"S_WITHIN(geometry, {wkt}) AND capacity > 50"]})
    expected = [i for i in np.flatnonzero(shapely.within(geoms, poly) & shapely.intersects(
        geoms, shapely.box(120.3, 36.1, 120.4, 36.2))) if (synthetic.layer.properties[i].get("capacity") or 0) > 50]
    assert synthetic.select(**both.selection_args()).tolist() == expected


def test_datetime_overlaps_the_designation_year(synthetic):
    def years(text):
        q = query.parse(DINING, {"datetime": [text]})
        return synthetic.select(**q.selection_args()).tolist()

    def having(low, high):
        return brute(synthetic, lambda p, i: p.get("designation_year") is not None
                     and (low is None or p["designation_year"] >= low) and (high is None or p["designation_year"] <= high))

    assert years("2019-06-01") == having(2019, 2019)
    assert years("2019-06-01T12:00:00Z") == having(2019, 2019)
    assert years("2010-01-01/2012-03-01") == having(2010, 2012)
    assert years("2010-01-01T00:00:00Z/2012-12-31T23:59:59+08:00") == having(2010, 2012)
    assert years("../2000-01-01") == having(None, 2000)
    assert years("2020-01-01T00:00:00Z/..") == having(2020, None)
    assert years("/2000-01-01") == having(None, 2000)
    # a year is China's calendar year: 2019-12-31T20:00Z is already 2020 in Qingdao
    assert years("2019-12-31T20:00:00Z") == having(2020, 2020)
    # features without a year never match a datetime filter, even an unbounded one
    assert years("../..") == having(None, None)
    assert len(having(None, None)) < 600


@pytest.mark.parametrize("text", ["2019", "2019-13-01", "2019-02-30", "2019-06-01T12:00:00", "2020-01-01/2019-01-01",
                                  "a/b/c", "..", "", "2019-06-01T25:00:00Z", "2020-01-01T10:00:00Z/2020-01-01T09:00:00Z"])
def test_bad_datetimes_are_refused(text):
    with pytest.raises(query.QueryError) as info:
        query.parse(DINING, {"datetime": [text]})
    assert info.value.parameter == "datetime" and " · " in str(info.value)


def test_datetime_on_a_kind_without_time_matches_everything():
    districts = get("districts")
    q = query.parse(districts, {"datetime": ["2019-01-01/2020-01-01"]})
    assert q.datetime is None


def test_sortby_is_stable_with_nulls_last(synthetic):
    props, ids = synthetic.layer.properties, synthetic.layer.ids

    def order(text):
        return synthetic.select(**query.parse(DINING, {"sortby": [text]}).selection_args()).tolist()

    def key(name, descending):
        def one(i):
            value = ids[i] if name == "id" else props[i].get(name)
            return (value is None, 0 if value is None else (-value if descending and not isinstance(value, str) else value))
        return one

    got = order("-capacity,+name")
    # Python's sort is stable too: sort by the secondary key first, then the primary one
    expected = sorted(range(600), key=lambda i: props[i]["name"])
    expected = sorted(expected, key=key("capacity", True))
    assert got == expected
    got = order(" designation_year,-id")  # "+" arrives as a space from a URL
    expected = sorted(sorted(range(600), key=lambda i: ids[i], reverse=True), key=key("designation_year", False))
    assert got == expected
    assert order("venue_type") == sorted(range(600), key=lambda i: props[i]["venue_type"])
    # descending text: ties keep the layer order
    assert order("-venue_type") == sorted(range(600), key=lambda i: ["mixed", "light_dining", "cafe", "bar"].index(
        props[i]["venue_type"]))
    # sorting a small selection and a large one agree with sorting everything
    small = query.parse(DINING, {"sortby": ["-area_m2"], "filter": ["id < 'p010'"]})
    whole = order("-area_m2")
    assert synthetic.select(**small.selection_args()).tolist() == [i for i in whole if ids[i] < "p010"]
    large = query.parse(DINING, {"sortby": ["-area_m2"], "filter": ["id > 'p010'"]})
    assert synthetic.select(**large.selection_args()).tolist() == [i for i in whole if ids[i] > "p010"]


def test_selection_pages_without_materializing_everything():
    everything = Selection(10 ** 6)
    assert everything.is_all and everything.count == 10 ** 6
    assert everything.page(999_998, 100).tolist() == [999_998, 999_999]
    assert everything.page(2_000_000, 10).tolist() == []
    some = Selection(10, np.array([7, 2, 5]))
    assert not some.is_all and len(some) == 3 and list(some) == [7, 2, 5] and some.page(1, 5).tolist() == [2, 5]


@pytest.mark.parametrize("text, words", [
    ("designation_year = '2019'", ["designation_year", "integer", "认定年份"]),
    ("name = 3", ["name", "text"]),
    ("is_24h_pilot = TRUE", ["unknown property 'is_24h_pilot'", "没有属性"]),
    ("colour = 'red'", ["unknown property", "queryables are: id, name"]),
    ("capacity >", ["not CQL2 text"]),
    ("capacity > 3 AND", ["not CQL2 text"]),
    ("venue_type = 'casino'", ["venue_type", "casino"]),
    ("district = '朝阳区'", ["district", "not one of Qingdao's districts"]),
    ("capacity LIKE '1%'", ["LIKE applies to text"]),
    ("name BETWEEN 'a' AND 'b'", ["BETWEEN applies to numeric"]),
    ("capacity = area_m2", ["comparing two properties"]),
    ("capacity + 1 > 3", ["property name"]),
    ("T_AFTER(designation_year, TIMESTAMP('2020-01-01T00:00:00Z'))", ["T_AFTER", "datetime parameter"]),
    ("A_CONTAINS(name, ('a'))", ["A_CONTAINS"]),
    ("UPPER(name) = 'A'", ["UPPER"]),
    ("S_INTERSECTS(geometry, POINT(200 36))", ["out of range"]),
    ("S_INTERSECTS(geometry, SRID=3857;POINT(1 1))", ["SRID"]),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", ["not valid"]),
    ("S_INTERSECTS(name, POINT(120 36))", ["spatial functions apply to the property 'geometry'"]),
    ("geometry = 'x'", ["geometry can only be used in spatial functions"]),
    ("is_24h_pilot", ["not CQL2 text"]),
    ("capacity > DATE('2020-01-01')", ["capacity", "date"]),
])
def test_refused_filters_say_why_in_both_languages(text, words):
    with pytest.raises(query.QueryError) as info:
        query.parse(DINING, {"filter": [text]})
    message = str(info.value)
    assert info.value.parameter == "filter" and " · " in message
    zh, en = message.split(" · ", 1)
    assert zh.startswith("filter 参数：") and en.startswith("filter: ") and re.search(r"[\u4e00-\u9fff]", zh), message
    for word in words:
        assert word in message, message


def test_booleans_compare_with_equality_only():
    q = query.parse(NIGHT, {"filter": ["is_24h_pilot = TRUE"]})
    assert isinstance(q.filter, filtering.Compare) and q.filter.value is True
    with pytest.raises(query.QueryError, match="boolean"):
        query.parse(NIGHT, {"filter": ["is_24h_pilot > FALSE"]})
    with pytest.raises(query.QueryError, match="boolean"):
        query.parse(NIGHT, {"filter": ["is_24h_pilot = 'yes'"]})


@pytest.mark.parametrize("text, lang", [
    ("x" * (filtering.MAX_TEXT + 1), "cql2-text"),
    (" OR ".join(f"capacity = {i}" for i in range(filtering.MAX_NODES)), "cql2-text"),
    ("NOT (" * 30 + "capacity = 1" + ")" * 30, "cql2-text"),
    ("NOT " * 40 + "capacity = 1", "cql2-text"),
    ("S_INTERSECTS(geometry, MULTIPOINT(" + ", ".join(f"{i % 9} 3" for i in range(filtering.MAX_VERTICES + 1))
     + "))", "cql2-text"),
    ("capacity IN (" + ", ".join(map(str, range(filtering.MAX_IN + 1))) + ")", "cql2-text"),
    ('{"op": "not", "args": [' * 100 + '{"op": "=", "args": [{"property": "capacity"}, 1]}' + "]}" * 100,
     "cql2-json"),
    ("[" * 3000 + "]" * 3000, "cql2-json"),
    ('{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "MultiPoint", "coordinates": ['
     + ", ".join(["[1,2]"] * (filtering.MAX_VERTICES + 1)) + "]}]}", "cql2-json"),
])
def test_the_work_a_filter_can_cause_is_bounded(text, lang):
    assert len(text) <= filtering.MAX_TEXT or text[0] == "x"
    with pytest.raises(query.QueryError) as info:
        query.parse(DINING, {"filter": [text], "filter-lang": [lang]})
    assert info.value.parameter == "filter"


def test_filter_language_and_crs_are_checked():
    with pytest.raises(query.QueryError, match="filter-lang='ecql' is not offered"):
        query.parse(DINING, {"filter": ["capacity > 1"], "filter-lang": ["ecql"]})
    with pytest.raises(query.QueryError, match="filter-crs"):
        query.parse(DINING, {"filter": ["capacity > 1"], "filter-crs": ["http://www.opengis.net/def/crs/EPSG/0/3857"]})
    q = query.parse(DINING, {"filter": ["capacity > 1"], "filter-crs": [filtering.CRS84], "filter-lang": ["cql-text"]})
    assert isinstance(q.filter, filtering.Compare)
    with pytest.raises(query.QueryError):
        query.parse(DINING, {"filter": ["{not json"], "filter-lang": ["cql2-json"]})
    with pytest.raises(query.QueryError, match="object"):
        query.parse(DINING, {"filter": ["[1, 2]"], "filter-lang": ["cql2-json"]})


def test_like_on_numpy_strings_equals_a_regular_expression():
    values = np.array(["", "a", "ab", "abc", "aXbXc", "cab", "咖啡馆", "%_", "a%b", "abab"], dtype=np.dtypes.StringDType())
    for pattern in ["a%", "%b", "%a%b%", "a%b%c", "%", "%%", "ab", "a_", "_", "%\\%%", "\\_", "a\\%b", "ab%ab",
                    "%ab%ab%", "咖啡%", "%啡_"]:
        regex = filtering.like_regex(pattern)
        expected = [regex.fullmatch(v) is not None for v in values.tolist()]
        assert filtering.like_mask(values, pattern).tolist() == expected, pattern


def test_bodies_are_built_in_one_place():
    one = b'{"type":"Feature","id":"a","properties":{"name":"\xe5\x90\x8d","n":1.0,"x":null},"geometry":null}'
    body = json.loads(collection({"type": "FeatureCollection", "numberMatched": 1}, one))
    assert body["features"][0]["properties"]["name"] == "名" and body["numberMatched"] == 1
    assert json.loads(collection({"type": "FeatureCollection"}, b""))["features"] == []
    assert json.loads(feature(one, {"links": [{"href": "x"}]}))["links"] == [{"href": "x"}]
    trimmed = with_properties([one, one], ("x", "n"))
    assert trimmed.count(b'"properties":{"x":null,"n":1.0}') == 2
    with pytest.raises(ValueError):
        collection({"features": []}, one)


# --- through the app ---------------------------------------------------------------------------------------------

def items(client, collection_id, **params):
    response = client.get(f"/ogc/collections/{collection_id}/items", query_string=params)
    assert response.status_code == 200, response.data
    return json.loads(response.data)


@pytest.fixture
def dated(data_copy):
    """An app whose outdoor-dining pilots have designation years, capacities and notes (some missing)."""
    from webmap import create_app

    years = [2015, 2018, None, 2019, 2020, None, 2021, 2023]
    features = [point(f"d{i}", 120.30 + i * 0.01, 36.06 + i * 0.002, name=f"外摆 {i}", capacity=i * 10 if i % 3 else None,
                      designation_year=years[i], venue_type=["bar", "cafe"][i % 2]) for i in range(8)]
    (data_copy / "outdoor_dining_pilots.geojson").write_text(feature_collection(features), "utf-8")
    return create_app({"TESTING": True, "BASEMAP": "none", "DATA_DIR": str(data_copy)}).test_client()


def ids(page):
    return [f["id"] for f in page["features"]]


def test_items_filter_in_both_languages_with_paging(dated):
    page = items(dated, "outdoor_dining_pilots", filter="capacity >= 20 AND venue_type = 'cafe'", limit=1)
    assert page["numberMatched"] == 2 and ids(page) == ["d5"] and page["numberReturned"] == 1
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert "filter=" in nxt
    assert ids(json.loads(dated.get(nxt).data)) == ["d7"]
    doc = {"op": "and", "args": [{"op": ">=", "args": [{"property": "capacity"}, 20]},
                                 {"op": "=", "args": [{"property": "venue_type"}, "cafe"]}]}
    page = items(dated, "outdoor_dining_pilots", filter=json.dumps(doc), **{"filter-lang": "cql2-json"})
    assert ids(page) == ["d5", "d7"]
    # the equality parameters keep working, with a filter too
    assert ids(items(dated, "outdoor_dining_pilots", venue_type="bar", filter="capacity > 30")) == ["d4"]
    assert ids(items(dated, "outdoor_dining_pilots", id="d3")) == ["d3"]


def test_items_datetime_sortby_and_properties(dated):
    assert ids(items(dated, "outdoor_dining_pilots", datetime="2018-01-01/2020-12-31")) == ["d1", "d3", "d4"]
    assert ids(items(dated, "outdoor_dining_pilots", datetime="2021-05-01T00:00:00Z/..")) == ["d6", "d7"]
    assert items(dated, "districts", datetime="2021-05-01")["numberMatched"] == 10  # no time property: all match
    page = items(dated, "outdoor_dining_pilots", sortby="-designation_year,name")
    assert ids(page) == ["d7", "d6", "d4", "d3", "d1", "d0", "d2", "d5"]  # nulls last, then by name
    page = items(dated, "outdoor_dining_pilots", properties="name,capacity", sortby="capacity", limit=3)
    assert ids(page) == ["d1", "d2", "d4"]
    for one in page["features"]:
        assert set(one["properties"]) <= {"name", "capacity"} and "name" in one["properties"]
        assert one["type"] == "Feature" and one["geometry"]["type"] == "Point"
    assert all(f["properties"] == {} for f in items(dated, "outdoor_dining_pilots", properties="")["features"])


def test_items_bodies_are_valid_geojson_whatever_the_page(dated):
    for params in ({}, {"limit": 1}, {"filter": "capacity > 1000"}, {"properties": "name", "offset": 7}):
        response = dated.get("/ogc/collections/outdoor_dining_pilots/items", query_string=params)
        body = json.loads(response.data)
        assert body["type"] == "FeatureCollection" and body["numberReturned"] == len(body["features"])
    one = json.loads(dated.get("/ogc/collections/outdoor_dining_pilots/items/d3").data)
    assert one["id"] == "d3" and {link["rel"] for link in one["links"]} >= {"self", "collection"}


def test_antimeridian_bbox_is_answered(client):
    page = items(client, "hq_clusters", bbox="170,-10,-170,10")
    assert page["numberMatched"] == 0 and page["features"] == []
    whole = items(client, "hq_clusters", bbox="100,-90,-170,90")  # 100..180 and -180..-170: Qingdao is inside
    assert whole["numberMatched"] == 3


@pytest.mark.parametrize("params, expected", [
    ({"filter": "designation_year = 'x'"}, "designation_year is an integer"),
    ({"filter": "nope = 1"}, "unknown property 'nope'"),
    ({"filter": "capacity >>> 1"}, "not CQL2 text"),
    ({"filter": "capacity > 1", "filter-lang": "xml"}, "filter-lang='xml' is not offered"),
    ({"filter-lang": "cql3"}, "filter-lang='cql3' is not offered"),
    ({"filter-crs": "EPSG:3857"}, "filter-crs='EPSG:3857' is not offered"),
    ({"datetime": "yesterday"}, "not an RFC 3339"),
    ({"sortby": "-nope"}, "sortby: unknown property 'nope'"),
    ({"properties": "name,nope"}, "properties: unknown property 'nope'"),
])
def test_bad_filters_are_400_with_an_ogc_exception(client, params, expected):
    response = client.get("/ogc/collections/outdoor_dining_pilots/items", query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "InvalidParameterValue" and expected in body["description"], body


def test_queryables_describe_every_property_the_id_and_the_geometry(client):
    doc = client.get("/ogc/collections/outdoor_dining_pilots/queryables").get_json(force=True)
    props = doc["properties"]
    assert set(props) == {"id", "geometry", *(f.name for f in DINING.fields)}
    assert props["area_m2"]["type"] == "number" and props["designation_year"]["type"] == "integer"
    assert props["geometry"] == {"title": "几何 Geometry", "format": "geometry-point", "x-ogc-role": "primary-geometry"}
    assert props["id"]["x-ogc-role"] == "id" and doc["additionalProperties"] is False
    streets = client.get("/ogc/collections/pedestrian_streets/queryables").get_json(force=True)
    assert streets["properties"]["geometry"]["format"] == "geometry-multilinestring"
    conformance = client.get("/ogc/conformance").get_json()["conformsTo"]
    for name in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                 "ogcapi-features-3/1.0/conf/queryables", "ogcapi-features-3/1.0/conf/queryables-query-parameters",
                 "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2",
                 "cql2/1.0/conf/advanced-comparison-operators", "cql2/1.0/conf/basic-spatial-functions"):
        assert f"http://www.opengis.net/spec/{name}" in conformance
    doc = client.get("/ogc/api").get_json(force=True)
    listed = doc["paths"]["/collections/outdoor_dining_pilots/items"]["get"]["parameters"]
    params = {(doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p)["name"]
              for p in listed}
    assert {"filter", "filter-lang", "filter-crs", "datetime", "sortby", "properties", "id", "area_m2"} <= params


def test_every_queryable_is_a_query_parameter(dated):
    assert ids(items(dated, "outdoor_dining_pilots", designation_year="2019")) == ["d3"]
    assert items(dated, "outdoor_dining_pilots", area_m2="12.5")["numberMatched"] == 0


def test_downloads_select_the_same_way(dated):
    response = dated.get("/api/layers/outdoor_dining_pilots/download",
                         query_string={"format": "geojson", "filter": "capacity > 30", "datetime": "2019-01-01/.."})
    assert response.status_code == 200
    got = [f["id"] for f in json.loads(response.data)["features"]]
    assert got == ["d4", "d7"]
    whole = dated.get("/api/layers/outdoor_dining_pilots/download", query_string={"format": "geojson"})
    assert whole.status_code == 200 and whole.headers.get("ETag")  # the cached whole layer
    refused = dated.get("/api/layers/outdoor_dining_pilots/download", query_string={"sortby": "name"})
    assert refused.status_code == 400


def test_filters_do_not_change_the_plain_items():
    live = Catalog.from_directory(DATA).get("outdoor_dining_pilots")
    plain = live.index.select(**query.parse(DINING, {}).selection_args())
    assert plain.is_all and plain.page(0, 100).tolist() == list(range(live.count))


def test_like_on_a_few_features_of_many_texts(synthetic):
    """A bbox window of a column with a text per feature: LIKE runs on the window's texts only."""
    geoms = synthetic.layer.geometries
    box = (120.3, 36.1, 120.34, 36.14)
    window = np.flatnonzero(shapely.intersects(geoms, shapely.box(*box))).tolist()
    assert 0 < len(window) * 8 < 600
    for pattern, test in [("%1%", lambda name: "1" in name), ("海景%", lambda name: name.startswith("海景")),
                          ("%_1", lambda name: len(name) >= 2 and name.endswith("1"))]:
        q = query.parse(DINING, {"bbox": [",".join(map(str, box))], "filter": [f"name LIKE '{pattern}'"]})
        assert synthetic.select(**q.selection_args()).tolist() == [
            i for i in window if test(synthetic.layer.properties[i]["name"])]


def test_date_fields_filter_by_day():
    """A kind with a date field (the planning desk's complaints): datetime and DATE() compare days."""
    from layers.load import Layer
    from layers.planning.kinds import COMPLAINTS

    days = ["2026-03-05", "2026-03-06", None, "2025-12-31", "2026-01-01"]
    props = [{"category": "noise", "district": "市南区", "source": "sample", **({"received": d} if d else {})}
             for d in days]
    index = FeatureIndex(COMPLAINTS, Layer(COMPLAINTS, [f"c{i}" for i in range(5)], props,
                                           shapely.points([(120.3 + i / 100, 36.1) for i in range(5)])))

    def chosen(**params):
        q = query.parse(COMPLAINTS, {k: [v] for k, v in params.items()})
        return index.select(**q.selection_args()).tolist()

    assert chosen(datetime="2026-03-05") == [0]
    assert chosen(datetime="2026-03-05T20:00:00Z") == [1]  # already the 6th in China
    assert chosen(datetime="2026-01-01/..") == [0, 1, 4]
    assert chosen(datetime="../2025-12-31T23:59:59+08:00") == [3]
    assert chosen(filter="received >= DATE('2026-01-01')") == [0, 1, 4]
    assert chosen(filter="received < '2026-03-06'") == [0, 3, 4]
    assert chosen(sortby="-received") == [1, 0, 4, 3, 2]
