"""layers.catalog: loading a directory, refusing bad files, serializations."""

import gzip
import json

import pytest

from layers import coords
from layers.catalog import Catalog
from layers.problems import DataError

from .conftest import feature_collection, point


def test_a_bad_file_refuses_the_whole_catalog_with_a_report(data_copy):
    (data_copy / "outdoor_dining_pilots.geojson").write_text(
        feature_collection([point("a", 120.38, 36.07), point("b", 36.07, 120.38)]), "utf-8")
    with pytest.raises(DataError) as info:
        Catalog.from_directory(data_copy)
    text = str(info.value)
    assert "outdoor_dining_pilots.geojson: 第 2 个要素 feature 2 「测试点 b」 (id 'b')" in text and "out of range" in text


def test_serializations(data_copy):
    catalog = Catalog.from_directory(data_copy)
    live = catalog.get("outdoor_dining_pilots")
    wgs = json.loads(live.encoding().body)
    assert len(wgs["features"]) == live.count
    assert gzip.decompress(live.encoding().gzipped) == live.encoding().body
    first = wgs["features"][0]
    stored = live.layer.properties[0]
    assert first["id"] == live.layer.ids[0]
    assert {k: v for k, v in first["properties"].items() if v is not None} == stored
    gcj = json.loads(live.encoding("gcj02").body)["features"][0]["geometry"]["coordinates"]
    expected = coords.wgs84_to_gcj02(*first["geometry"]["coordinates"])
    assert gcj == pytest.approx([float(v) for v in expected], abs=1e-7)
    assert live.encoding("gcj02").etag != live.encoding().etag


def test_a_missing_file_is_an_empty_layer(data_copy):
    (data_copy / "hq_clusters.geojson").unlink()
    catalog = Catalog.from_directory(data_copy)
    assert catalog.get("hq_clusters").count == 0
    assert json.loads(catalog.get("hq_clusters").encoding().body) == {"type": "FeatureCollection", "features": []}


def test_served_features_carry_every_declared_field_in_order_with_nulls_and_decimal_points(data_copy):
    from .conftest import point

    features = [point("a", 120.38, 36.07, area_m2=12, capacity=20, extra="kept"),
                point("b", 120.39, 36.08, area_m2=12.5)]
    (data_copy / "outdoor_dining_pilots.geojson").write_text(feature_collection(features), "utf-8")
    live = Catalog.from_directory(data_copy).get("outdoor_dining_pilots")
    assert live.layer.properties[0]["area_m2"] == 12 and isinstance(live.layer.properties[0]["area_m2"], int)
    body = live.encoding().body.decode()
    a, b = json.loads(body)["features"]
    declared = [f.name for f in live.kind.fields]
    assert list(a["properties"]) == declared + ["extra"] and list(b["properties"]) == declared
    assert a["properties"]["designation_year"] is None and b["properties"]["capacity"] is None
    assert '"area_m2":12.0,' in body and '"area_m2":12.5,' in body and '"capacity":20,' in body
    assert '"operator":null,"extra":"kept"}' in body and '"operator":null}' in body  # the last declared field
    assert a["properties"]["extra"] == "kept"


def test_served_geometries_are_the_kinds_one_type_and_stored_data_is_unchanged(data_copy):
    catalog = Catalog.from_directory(data_copy)
    for layer_id, served in [("districts", {"MultiPolygon"}), ("commercial_districts", {"MultiPolygon"}),
                             ("pedestrian_streets", {"MultiLineString"}), ("outdoor_dining_pilots", {"Point"})]:
        live = catalog.get(layer_id)
        doc = json.loads(live.encoding().body)
        assert {f["geometry"]["type"] for f in doc["features"]} == served == {live.kind.geometry_type}
        assert {f["geometry"]["type"] for f in json.loads(live.encoding("gcj02").body)["features"]} == served
    stored = {g.geom_type for g in catalog.get("districts").layer.geometries}
    assert stored == {"Polygon", "MultiPolygon"}  # single parts stay single in the store (layers.load)
