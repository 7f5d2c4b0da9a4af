"""Downloads: every layer, filtered or not, in each format, read back with GDAL (pyogrio)."""

import io
import zipfile

import numpy as np
import pyogrio
import pytest
import shapely

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
    assert f'filename="qingdao-{layer_id}' in response.headers["Content-Disposition"]
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
