"""layers.load / jsontext / rfc7946: every kind of bad input is refused with a message that locates it."""

import json

import pytest

from layers.load import read_layer
from layers.registry import get

from .conftest import feature_collection, point

DINING = get("outdoor_dining_pilots")
ZONES = get("night_economy_zones")


def square(lon=120.38, lat=36.07, d=0.002, close=True):
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d]]
    return ring + [ring[0]] if close else ring


def zone(fid="z1", ring=None, **props):
    base = {"name": "测试区", "district": "市南区", "source": "sample"}
    base.update(props)
    return {"type": "Feature", "id": fid, "properties": base,
            "geometry": {"type": "Polygon", "coordinates": [ring or square()]}}


def errors_of(data, kind=DINING, **kw):
    layer = read_layer(data if isinstance(data, bytes) else data.encode(), kind, source="t.geojson", **kw)
    return layer, "\n".join(str(p) for p in layer.report.errors)


def test_a_good_layer_is_accepted():
    layer, errs = errors_of(feature_collection([point("a", 120.38, 36.07), point("b", 120.39, 36.08)]))
    assert errs == "" and layer.ids == ["a", "b"] and len(layer.geometries) == 2


@pytest.mark.parametrize("data, expected", [
    (b"", "the file is empty"),
    (b"\xef\xbb\xbf" + feature_collection([]).encode(), "byte-order mark"),
    ('{"type":"FeatureCollection","features":[{"name":"青岛"}]}'.encode("gbk"), "encoding 'gb18030'"),
    (b'{"type": "FeatureCollection",\n "features": [\n}', "line 3"),
    (b'{"type":"FeatureCollection","features":[]', "malformed JSON"),
    (b'{"type": "Point", "coordinates": [NaN, 1]}', "NaN is not a number"),
    (b'{"type": "Point", "coordinates": [Infinity, 1]}', "Infinity is not a number"),
    (b'{"type": "Point", "coordinates": [1e999, 1]}', "too large"),
    (b'{"type": "Point", "coordinates": [' + b"9" * 400 + b', 1]}', "has 400 digits"),
    (b"[" * 100000 + b"]" * 100000, "nested 100000 levels"),
    (b'{"type": "FeatureCollection", "type": "Feature", "features": []}', "member 'type' twice"),
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "malformed JSON"),
    (b'"just a string"', "root of a GeoJSON file must be an object"),
    (b'{"type": "GeometryCollection", "geometries": [' * 100 + b"]}" * 100, "nested more than 4 deep"),
    (b"[" * 5000 + b"]" * 5000, "nested 5000 levels deep"),
])
def test_unreadable_files_are_refused_with_the_reason(data, expected):
    layer, errs = errors_of(data)
    assert expected in errs and len(layer) == 0


def test_gb18030_text_is_read_when_the_encoding_is_given():
    data = feature_collection([point("a", 120.38, 36.07, name="台东夜市")]).encode("gb18030")
    layer, errs = errors_of(data, encoding="gb18030")
    assert errs == "" and layer.properties[0]["name"] == "台东夜市"


@pytest.mark.parametrize("feature, expected", [
    (zone(ring=square(close=False)), "not closed"),
    (zone(ring=square()[:3]), "4 or more positions"),
    ({"type": "Feature", "id": "l", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[120.3, 36.0]]}},
     "2 or more positions"),
    ({"type": "Feature", "id": "x", "properties": {}, "geometry": {"type": "Hexagon", "coordinates": []}},
     "unknown geometry type 'Hexagon'"),
    ({"type": "Feature", "id": "x", "properties": {}, "geometry": {"type": "point", "coordinates": [1, 2]}},
     "write 'Point'"),
    ({"type": "Feature", "id": "x", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, "2"]}},
     "must be a number"),
    ({"type": "Feature", "id": "x", "properties": {}, "geometry": {"type": "Point", "coordinates": [200, 36]}},
     "out of range"),
    ({"type": "Feature", "id": "x", "properties": [], "geometry": None}, "'properties' must be an object"),
    ({"type": "Feature", "id": {"a": 1}, "properties": {}, "geometry": None}, "id must be a string or a number"),
    ({"type": "Feature", "properties": {}}, "needs a 'geometry' member"),
])
def test_malformed_geometry_is_refused_naming_the_feature(feature, expected):
    layer, errs = errors_of(feature_collection([feature]), kind=None)
    assert expected in errs
    assert "第 1 个要素 feature 1" in errs and "#0" not in errs


def test_positions_outside_qingdao_say_what_they_look_like():
    _, swapped = errors_of(feature_collection([point("a", 36.07, 120.38)]))
    assert "out of range" in swapped
    _, swapped_in_range = errors_of(feature_collection([point("a", 36.07, 80.38)]))
    assert "outside the Qingdao area" in swapped_in_range
    _, beijing = errors_of(feature_collection([point("a", 116.39, 39.9)]))
    assert "outside the Qingdao area" in beijing and "check the CRS" in beijing
    # lat/lon swapped for a position that would be inside the city
    _, flipped = errors_of(feature_collection([zone(ring=[[y, x] for x, y in square(lon=36.07, lat=36.07)])]), kind=ZONES)
    assert "outside the Qingdao area" in flipped


def test_swapped_axes_are_diagnosed():
    from layers.area import diagnose_outside

    assert "swapped" in diagnose_outside(36.07, 120.38)
    assert "projected metres" in diagnose_outside(500000.0, 3990000.0)


def test_self_intersection_is_reported_and_repaired_only_when_asked():
    bowtie = [[120.38, 36.07], [120.39, 36.08], [120.39, 36.07], [120.38, 36.08], [120.38, 36.07]]
    data = feature_collection([zone(ring=bowtie)])
    layer, errs = errors_of(data, kind=ZONES)
    assert "Self-intersection" in errs and len(layer) == 0
    layer, errs = errors_of(data, kind=ZONES, repair=True)
    assert errs == "" and len(layer) == 1
    assert any(p.severity == "repaired" and "make_valid" in p.message for p in layer.report.problems)


def test_clockwise_rings_are_reoriented_and_said_so():
    layer, errs = errors_of(feature_collection([zone(ring=list(reversed(square())))]), kind=ZONES)
    assert errs == ""
    assert [p.severity for p in layer.report.problems] == ["repaired"]
    assert "right-hand rule" in layer.report.problems[0].message


def test_legacy_crs_member():
    doc = json.loads(feature_collection([point("a", 120.38, 36.07)]))
    doc["crs"] = {"type": "name", "properties": {"name": "EPSG:3857"}}
    _, errs = errors_of(json.dumps(doc))
    assert "legacy 'crs' member" in errs
    doc["crs"]["properties"]["name"] = "urn:ogc:def:crs:OGC:1.3:CRS84"
    layer, errs = errors_of(json.dumps(doc))
    assert errs == "" and any("legacy 'crs'" in p.message for p in layer.report.problems)


def test_duplicate_ids_are_refused():
    layer, errs = errors_of(feature_collection([point("a", 120.38, 36.07), point("a", 120.39, 36.07)]))
    assert "duplicate id 'a' (also feature 1)" in errs and layer.ids == ["a"]


def test_geometry_type_must_fit_the_kind():
    _, errs = errors_of(feature_collection([zone()]), kind=DINING)
    assert "geometry type Polygon is not allowed in outdoor_dining_pilots" in errs


@pytest.mark.parametrize("props, expected", [
    ({"name": None}, "'name' (名称) is required"),
    ({"district": "朝阳区"}, "is not one of Qingdao's districts"),
    ({"status": "open"}, "'open' is not one of planned, pilot, operating"),
    ({"opening_hours": "every evening"}, "not an OSM opening_hours value"),
    ({"capacity": 12.5}, "must be a whole number"),
    ({"capacity": True}, "must be a whole number"),
    ({"capacity": -1}, "below the minimum"),
    ({"source": "official-ish"}, "is not one of sample"),
    ({"name": 42}, "must be text"),
])
def test_properties_are_checked_against_the_schema(props, expected):
    _, errs = errors_of(feature_collection([point("a", 120.38, 36.07, **props)]))
    assert expected in errs


def test_undeclared_properties_are_kept_with_a_warning():
    layer, errs = errors_of(feature_collection([point("a", 120.38, 36.07, owner="x")]))
    assert errs == "" and layer.properties[0]["owner"] == "x"
    assert any(p.severity == "warning" and "owner" in p.message for p in layer.report.problems)


def test_a_layer_needs_features_with_geometry():
    _, errs = errors_of(feature_collection([{"type": "Feature", "id": "a", "properties": point("a", 1, 2)["properties"],
                                             "geometry": None}]))
    assert "no geometry" in errs
    _, errs = errors_of('{"type": "Point", "coordinates": [120.38, 36.07]}')
    assert "bare Point geometry" in errs


def test_gcj02_input_is_converted_to_wgs84():
    from layers import coords

    gx, gy = coords.wgs84_to_gcj02(120.38, 36.07)
    layer, errs = errors_of(feature_collection([point("a", float(gx), float(gy))]), crs="gcj02")
    assert errs == ""
    assert layer.geometries[0].x == pytest.approx(120.38, abs=1e-8)
    assert layer.geometries[0].y == pytest.approx(36.07, abs=1e-8)


def test_missing_file_is_a_report_not_an_exception(tmp_path):
    layer = read_layer(tmp_path / "nope.geojson", DINING)
    assert "cannot read the file" in layer.report.text()


def test_feature_numbers_stay_true_when_earlier_features_are_refused():
    bad_structure = {"type": "Feature", "id": "x", "properties": {}, "geometry": {"type": "Point", "coordinates": [1]}}
    layer, errs = errors_of(feature_collection([bad_structure, point("ok", 120.38, 36.07),
                                                point("s", 120.38, 36.07, status="shut")]))
    assert "feature 1 (id 'x')" in errs and "feature 3 「测试点 s」 (id 's')" in errs and "feature 2" not in errs
    assert layer.ids == ["ok"]
    assert [(r["index"], r["id"]) for r in layer.refused] == [(0, "x"), (2, "s")]
    assert all(r["reasons"] and r["raw"] for r in layer.refused)


def test_an_error_in_the_collection_itself_refuses_the_whole_file():
    doc = json.loads(feature_collection([point("a", 120.38, 36.07)]))
    doc["crs"] = {"type": "name", "properties": {"name": "EPSG:3857"}}
    layer, errs = errors_of(json.dumps(doc))
    assert "legacy 'crs' member" in errs and len(layer) == 0


def test_ids_are_text_whole_numbers_become_their_digits():
    features = [point(7, 120.38, 36.07), point("p1", 120.38, 36.07), point(8.0, 120.38, 36.07),
                point(12345678901234567, 120.38, 36.07)]
    layer, errs = errors_of(feature_collection(features))
    assert errs == "" and layer.ids == ["7", "p1", "8", "12345678901234567"]


def test_an_id_given_as_a_number_and_as_text_is_one_id_and_a_duplicate():
    layer, errs = errors_of(feature_collection([point(7, 120.38, 36.07), point("7", 120.39, 36.07)]))
    assert "duplicate id '7' (also feature 1)" in errs and layer.ids == ["7"]
    layer, errs = errors_of(feature_collection([point("7", 120.38, 36.07), point(7.0, 120.39, 36.07)]))
    assert "duplicate id 7.0 (read as the text '7') (also feature 1)" in errs and layer.ids == ["7"]


@pytest.mark.parametrize("fid, expected", [
    (7.5, "not 7.5"), ("", "cannot be ''"), (".", "cannot be '.'"),
    ("..", "cannot be '..'"), ("a/../b", "cannot be 'a/../b'"), ("./x", "cannot be './x'"),
    ("a\nb", "control character U+000A"), ("a\x00b", "control character U+0000"),
    ("a\u2028b", "control character U+2028"), ("x" * 201, "201 characters long; at most 200"),
])
def test_ids_that_cannot_be_kept_are_refused(fid, expected):
    layer, errs = errors_of(feature_collection([point(fid, 120.38, 36.07), point("ok", 120.39, 36.07)]))
    assert expected in errs and layer.ids == ["ok"] and layer.refused[0]["id"] == fid
    assert "要素编号" in errs  # Chinese first, English beside


@pytest.mark.parametrize("fid, expected", [(True, "not true"), (7.5, "not 7.5"), ([1], "not list"), ("", "cannot be")])
def test_ids_from_other_readers_follow_the_same_rule(fid, expected):
    """GDAL's readers hand their features to check_features directly, past the GeoJSON structure checks."""
    from layers.load import check_features
    from layers.problems import Report

    layer = check_features([point(fid, 120.38, 36.07), point(3, 120.39, 36.07)], Report("t.csv"), DINING)
    assert expected in layer.report.text() and layer.ids == ["3"]


def test_the_longest_id_allowed_is_kept():
    from layers.load import MAX_ID_LENGTH

    fid = "长" * MAX_ID_LENGTH
    layer, errs = errors_of(feature_collection([point(fid, 120.38, 36.07)]))
    assert errs == "" and layer.ids == [fid]


def test_an_id_made_up_for_a_feature_without_one_is_a_hash_of_its_content_unlike_the_given_ones():
    from layers.load import content_id

    features = [point(None, 120.39, 36.07), point(None, 120.39, 36.07), point(None, 120.38, 36.07)]
    for f in features:
        del f["id"]
    layer, errs = errors_of(feature_collection(features))
    made = content_id(DINING, layer.properties[0], layer.geometries[0])
    assert errs == "" and made.startswith("outdoor_dining_pilots-") and len(made) == len("outdoor_dining_pilots-") + 16
    # identical rows are both kept (with a warning); a different row gets a different id
    assert layer.ids[:2] == [made, made + "-2"] and layer.ids[2] not in (made, made + "-2")
    assert "same content as feature #0" in layer.report.text()
    again, _ = errors_of(feature_collection(features))
    assert again.ids == layer.ids  # stable: the same file gives the same ids
    given = [point(made, 120.38, 36.07), *features[:1]]
    layer, errs = errors_of(feature_collection(given))
    assert errs == "" and layer.ids == [made, made + "-2"]  # never the id another feature was given


def test_ids_a_reader_makes_up_are_content_hashes_that_do_not_collide_across_files(tmp_path):
    from layers.readers import read_file

    path = tmp_path / "points.csv"
    path.write_text("name,district,source,lon,lat\n甲,市南区,sample,120.38,36.07\n乙,市南区,sample,120.39,36.07\n", "utf-8")
    layer = read_file(path, DINING)
    assert layer.report.ok, layer.report.text()
    assert all(isinstance(fid, str) and fid.startswith("outdoor_dining_pilots-") for fid in layer.ids)
    assert read_file(path, DINING).ids == layer.ids
    other = tmp_path / "other.csv"
    other.write_text("name,district,source,lon,lat\n丙,市南区,sample,120.38,36.07\n丁,市南区,sample,120.39,36.07\n", "utf-8")
    assert not set(read_file(other, DINING).ids) & set(layer.ids)
