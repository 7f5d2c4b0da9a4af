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
    assert first["id"] == live.layer.ids[0] and first["properties"] == live.layer.properties[0]
    gcj = json.loads(live.encoding("gcj02").body)["features"][0]["geometry"]["coordinates"]
    expected = coords.wgs84_to_gcj02(*first["geometry"]["coordinates"])
    assert gcj == pytest.approx([float(v) for v in expected], abs=1e-7)
    assert live.encoding("gcj02").etag != live.encoding().etag


def test_a_missing_file_is_an_empty_layer(data_copy):
    (data_copy / "hq_clusters.geojson").unlink()
    catalog = Catalog.from_directory(data_copy)
    assert catalog.get("hq_clusters").count == 0
    assert json.loads(catalog.get("hq_clusters").encoding().body) == {"type": "FeatureCollection", "features": []}
