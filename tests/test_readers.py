"""layers.readers: other formats and CRSs come in through the same checks, and our own exports come back equal."""

import numpy as np
import pyogrio
import pytest
import shapely

from layers.catalog import Catalog
from layers.export import export
from layers.readers import read_file
from layers.registry import get

from .conftest import DATA

DINING = get("outdoor_dining_pilots")


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_directory(DATA)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "shp", "kml"])
@pytest.mark.parametrize("layer_id", ["districts", "night_economy_zones", "pedestrian_streets", "outdoor_dining_pilots"])
def test_our_exports_read_back_unchanged(catalog, tmp_path, layer_id, fmt):
    live = catalog.get(layer_id)
    data, name, _ = export([(live.kind, live.layer, np.arange(live.count))], fmt, layer_id)
    path = tmp_path / name
    path.write_bytes(data)
    layer = read_file(path, live.kind)
    assert layer.report.ok, layer.report.text()
    assert [str(i) for i in layer.ids] == [str(i) for i in live.layer.ids]
    assert layer.properties == live.layer.properties
    assert shapely.equals_exact(layer.geometries, live.layer.geometries, tolerance=1e-7).all()


def _write_points(path, xy, crs, driver="GPKG", **fields):
    names = ["id", "name", "district", "source", *fields]
    values = [np.array(["p1"], dtype=object), np.array(["测试"], dtype=object), np.array(["市南区"], dtype=object),
              np.array(["sample"], dtype=object), *[np.array([v], dtype=object) for v in fields.values()]]
    pyogrio.raw.write(str(path), shapely.to_wkb(np.array([shapely.Point(*xy)])), values, names, driver=driver,
                      geometry_type="Point", crs=crs)


def test_cgcs2000_geographic_and_gauss_kruger_come_in_as_wgs84(tmp_path):
    import pyproj

    _write_points(tmp_path / "cgcs.gpkg", (120.3933, 36.0589), "EPSG:4490")
    layer = read_file(tmp_path / "cgcs.gpkg", DINING)
    assert layer.report.ok and layer.geometries[0].x == pytest.approx(120.3933, abs=1e-6)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True).transform(120.3933, 36.0589)
    _write_points(tmp_path / "gk.gpkg", (x, y), "EPSG:4549")
    layer = read_file(tmp_path / "gk.gpkg", DINING)
    assert layer.report.ok and layer.geometries[0].y == pytest.approx(36.0589, abs=1e-7)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # the point of the test
def test_projected_numbers_without_a_crs_are_diagnosed(tmp_path):
    _write_points(tmp_path / "nocrs.gpkg", (539000.0, 3990000.0), None)
    layer = read_file(tmp_path / "nocrs.gpkg", DINING)
    assert not layer.report.ok and "projected metres" in layer.report.text()
    declared = read_file(tmp_path / "nocrs.gpkg", DINING, crs="EPSG:4549")
    assert declared.report.ok, declared.report.text()


def test_csv_with_lon_lat_columns_and_text_numbers(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("id,name,district,source,capacity,经度,纬度\n"
                    "c1,咖啡外摆,市南区,survey,12,120.3211,36.0690\n", "utf-8")
    layer = read_file(path, DINING)
    assert layer.report.ok, layer.report.text()
    assert layer.properties[0]["capacity"] == 12 and layer.geometries[0].x == pytest.approx(120.3211)


@pytest.mark.parametrize("name, content, expected", [
    ("empty.csv", b"", "The file is empty"),
    ("page.gpkg", b"<!DOCTYPE html><html><body>502</body></html>", "HTML page"),
    ("data.xls", b"PK", "Unsupported file type"),  # .xlsx is read (tests/test_readers_xlsx.py)
    ("broken.gpkg", b"SQLite format 3\0garbage", "is not a GeoPackage"),
    ("notzip.zip", b"PK\x03\x04 truncated", "not a readable zip"),
])
def test_unreadable_files_are_refused_with_a_reason(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    layer = read_file(path, DINING)
    assert not layer.report.ok and expected in layer.report.text() and len(layer) == 0


def test_geojson_takes_only_the_chinese_offsets_as_crs(tmp_path):
    path = tmp_path / "a.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', "utf-8")
    assert "GeoJSON is WGS-84 by definition" in read_file(path, DINING, crs="EPSG:4549").report.text()


def test_text_that_looks_like_a_formula_survives_a_csv_round_trip(tmp_path):
    from layers.load import check_features
    from layers.problems import Report

    texts = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1", "'quoted", "''twice", "普通"]
    features = [{"type": "Feature", "id": f"=id{i}", "properties": {"name": t, "district": "市南区", "source": "sample"},
                 "geometry": {"type": "Point", "coordinates": [120.38, 36.06 + i / 1000]}} for i, t in enumerate(texts)]
    layer = check_features(features, Report("t"), DINING)
    assert layer.report.ok, layer.report.text()
    data, name, _ = export([(DINING, layer, np.arange(len(layer)))], "csv", "x")
    assert b"'=HYPERLINK" in data  # neutralized for spreadsheets
    path = tmp_path / name
    path.write_bytes(data)
    back = read_file(path, DINING)
    assert back.report.ok, back.report.text()
    assert [p["name"] for p in back.properties] == texts and back.ids == layer.ids


def test_csv_text_is_typed_by_the_schema_not_guessed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,name,district,source,capacity,note,lon,lat\n007,n,市南区,survey,12,true,120.38,36.06\n", "utf-8")
    layer = read_file(path, DINING)
    assert layer.report.ok, layer.report.text()
    assert layer.ids == ["007"] and layer.properties[0]["name"] == "n" and layer.properties[0]["note"] == "true"
    assert layer.properties[0]["capacity"] == 12


def test_a_chinese_id_column_gives_the_ids(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("编号,名称,所在区,数据来源,经度,纬度\nod-a,外摆甲,市南区,survey,120.38,36.06\n", "utf-8")
    layer = read_file(path, DINING)
    assert layer.report.ok, layer.report.text()
    assert layer.ids == ["od-a"] and layer.properties[0]["name"] == "外摆甲"
