"""webmap: the factory, the map page, /api/layers, vendored assets, errors."""

import gzip
import json
import os
import re
import subprocess
import sys

import pytest

from webmap import create_app

from .conftest import ROOT, feature_collection, point

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def test_the_factory_refuses_bad_data_with_the_report(data_copy):
    (data_copy / "pedestrian_streets.geojson").write_bytes(b"\xef\xbb\xbf{}")
    with pytest.raises(SystemExit) as info:
        create_app({"TESTING": True, "DATA_DIR": str(data_copy)})
    assert "refusing to start" in str(info.value) and "byte-order mark" in str(info.value)


def test_flask_run_refuses_to_start_on_bad_data_without_a_traceback(data_copy):
    (data_copy / "hq_clusters.geojson").write_text('{"type": "FeatureCollection", "features": [', "utf-8")
    env = dict(os.environ, SCENEMAP_DATA_DIR=str(data_copy), SCENEMAP_DATABASE_URL=f"sqlite:///{data_copy}/db.sqlite")
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "webmap", "run", "--port", "0"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "hq_clusters.geojson" in done.stderr and "malformed JSON" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_unknown_basemap_setting_is_refused():
    with pytest.raises(SystemExit, match="BASEMAP='google' is not one of"):
        create_app({"TESTING": True, "BASEMAP": "google"})


def test_missing_npm_assets_name_the_fix(tmp_path):
    with pytest.raises(SystemExit, match="npm ci"):
        create_app({"TESTING": True, "NODE_MODULES": str(tmp_path)})


@pytest.mark.parametrize("basemap", ["none", "osm", "amap"])
def test_the_page_loads_nothing_from_outside(client, basemap):
    page = client.get(f"/?basemap={basemap}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not EXTERNAL.findall(html)
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url


def test_the_page_is_chinese_first_and_carries_every_layer(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "青岛消费场景地图" in html and "Qingdao Consumption-Scene Map" in html
    config = json.loads(re.search(r'id="scenemap-config">(.*?)</script>', html, re.S).group(1))
    assert [layer["id"] for layer in config["layers"]] == [  # every public layer; complaints are staff only
        "districts", "commercial_districts", "night_economy_zones", "pedestrian_streets",
        "outdoor_dining_pilots", "hq_clusters", "sensitive_sites"]
    for layer in config["layers"]:
        assert layer["group"] in html
    assert "L.control.locate" in html and "L.control.fullscreen" in html and "L.Control.Search" in html
    assert "markerClusterGroup" in html and "L.control.layers" in html and "L.control.scale" in html


def test_gcj02_tiles_get_gcj02_overlays(client):
    html = client.get("/?basemap=amap").get_data(as_text=True)
    assert "/api/layers/districts?crs=gcj02" in html
    assert "?crs=" not in client.get("/?basemap=osm").get_data(as_text=True)


def test_the_page_does_not_grow_with_the_data(data_copy):
    small = create_app({"TESTING": True, "DATA_DIR": str(data_copy)}).test_client().get("/").data
    many = [point(f"p{i}", 120.3 + (i % 100) * 0.001, 36.05 + (i // 100) * 0.001) for i in range(5000)]
    (data_copy / "outdoor_dining_pilots.geojson").write_text(feature_collection(many), "utf-8")
    app = create_app({"TESTING": True, "DATA_DIR": str(data_copy)})
    big = app.test_client().get("/").data
    assert abs(len(big) - len(small)) < 200  # only generated element names differ
    assert len(app.test_client().get("/api/layers/outdoor_dining_pilots").data) > 1_000_000


def test_layer_api_serves_the_layer_with_etag_and_gzip(client, app):
    plain = client.get("/api/layers/night_economy_zones")
    assert plain.status_code == 200 and plain.mimetype == "application/geo+json"
    data = plain.get_json(force=True)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == app.extensions["catalog"].get(
        "night_economy_zones").count
    assert plain.headers["ETag"]
    again = client.get("/api/layers/night_economy_zones", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    zipped = client.get("/api/layers/night_economy_zones", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert "Accept-Encoding" in zipped.headers["Vary"]


def test_layer_api_errors_are_json(client):
    missing = client.get("/api/layers/casinos")
    assert missing.status_code == 404 and "commercial_districts" in missing.get_json()["detail"]
    bad = client.get("/api/layers/districts?crs=EPSG:3857")
    assert bad.status_code == 400 and "wgs84" in bad.get_json()["detail"]
    index = client.get("/api/layers").get_json()["layers"]
    assert {item["id"] for item in index} >= {"hq_clusters", "districts"}
    assert all(item["count"] > 0 and len(item["bounds"]) == 4 for item in index)


@pytest.mark.parametrize("path, status", [
    ("/vendor/leaflet/dist/leaflet.js", 200),
    ("/vendor/leaflet/dist/images/layers.png", 200),
    ("/vendor/leaflet-search/images/search-icon.png", 200),
    ("/vendor/leaflet/package.json", 404),
    ("/vendor/is-number/index.js", 404),
    ("/vendor/leaflet/../../requirements.txt", 404),
    ("/vendor/leaflet/%2e%2e/%2e%2e/webmap/__init__.py", 404),
])
def test_vendor_route_serves_only_asset_files(client, path, status):
    assert client.get(path).status_code == status


def test_pages_never_500(client):
    assert client.get("/?basemap=google").status_code == 400
    assert "basemap" in client.get("/?basemap=google").get_data(as_text=True)
    assert client.get("/nowhere").status_code == 404
    assert client.post("/api/layers/districts").status_code == 405


def test_an_unexpected_error_is_a_friendly_500_not_a_traceback(app, monkeypatch):
    from webmap import mapshell

    def boom(basemap):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(mapshell, "build", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = app.test_client().get("/")
    assert page.status_code == 500
    text = page.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text and "返回地图" in text
    assert "Internal Server Error" in text and "object at 0x" not in text


def test_the_app_runs_on_postgresql_through_database_url(postgres, data_copy):
    url = postgres.new_database()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "DATA_DIR": str(data_copy)})
    assert app.extensions["store"].engine.dialect.name == "postgresql"
    layers = {item["id"]: item["count"] for item in app.test_client().get("/api/layers").get_json()["layers"]}
    assert layers["outdoor_dining_pilots"] == 13 and layers["districts"] == 10
    again = create_app({"TESTING": True, "DATABASE_URL": url, "DATA_DIR": "/nonexistent"})  # seeded once only
    assert again.extensions["catalog"].get("hq_clusters").count == 3


def test_outside_tests_a_secret_key_is_made_once_and_kept(tmp_path, monkeypatch):
    import webmap

    class FakeApp:
        instance_path = str(tmp_path / "instance")

    first = webmap._instance_secret(FakeApp)
    assert len(first) == 64 and webmap._instance_secret(FakeApp) == first
    assert oct((tmp_path / "instance" / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_the_typed_accessors_reach_the_app_s_objects(app):
    from layers.catalog import Catalog
    from layers.export import ExportCache
    from layers.imports import Importer
    from layers.store import Store
    from webmap import db

    with app.app_context():
        assert isinstance(db.get_store(), Store) and db.get_store() is app.extensions["store"]
        assert isinstance(db.get_staff_catalog(), Catalog) and db.get_staff_catalog() is app.extensions["catalog"]
        # the public catalog: the same live layers, the staff-only ones left out
        assert isinstance(db.get_catalog(), Catalog) and "complaints" in db.get_staff_catalog()
        assert [live.kind.id for live in db.get_catalog()] == \
            [live.kind.id for live in db.get_staff_catalog() if not live.kind.staff_only]
        assert db.get_catalog().get("districts") is db.get_staff_catalog().get("districts")
        assert isinstance(db.get_exports(), ExportCache) and db.get_exports() is app.extensions["exports"]
        assert set(db.get_basemaps()) >= {"none", "osm"} and db.get_map_shells() == {}
        importer = db.get_importer()
        assert isinstance(importer, Importer) and importer.store is db.get_store()
        assert importer.live("districts") is db.get_catalog().get("districts").layer and importer.live("nope") is None
        assert importer.live("complaints") is db.get_staff_catalog().get("complaints").layer  # staff import it
        assert db.get_live("hq_clusters").kind.id == "hq_clusters" and db.get_kind("hq_clusters").id == "hq_clusters"


def test_an_unknown_layer_is_the_same_bilingual_404_everywhere(app):
    from werkzeug.security import generate_password_hash

    from .test_staff import PASSWORD, login

    app.extensions["store"].create_user("admin", generate_password_hash(PASSWORD), "admin", [], actor="test")
    staff = login(app.test_client(), "admin")
    public = app.test_client()
    expected = ("没有此图层 'casinos' · There is no layer 'casinos'; 图层 layers: districts, commercial_districts, "
                "night_economy_zones, pedestrian_streets, outdoor_dining_pilots, hq_clusters, sensitive_sites")
    # the staff pages list every kind, the staff-only complaints too; the public paths only the public ones
    staff_expected = expected + ", complaints"
    answers = {
        "/api/layers/casinos": lambda r: r.get_json()["detail"],
        "/api/layers/casinos/download?format=csv": lambda r: r.get_json()["detail"],
        "/ogc/collections/casinos": lambda r: r.get_json()["description"],
        "/ogc/collections/casinos/items": lambda r: r.get_json()["description"],
        "/ogc/collections/casinos/items/x": lambda r: r.get_json()["description"],
        "/ogc/collections/casinos/queryables": lambda r: r.get_json()["description"],
    }
    for path, detail in answers.items():
        response = public.get(path)
        assert response.status_code == 404 and detail(response) == expected, path
    for path in ("/staff/layers/casinos/history", "/staff/layers/casinos/import", "/staff/layers/casinos/edit",
                 "/staff/layers/casinos/versions/1", "/staff/layers/casinos/versions/1/changes.csv",
                 "/staff/layers/casinos/rollback/1", "/staff/layers/casinos/quarantine/1.geojson"):
        response = staff.get(path)
        assert response.status_code == 404 and staff_expected.replace("'", "&#39;") in response.get_data(as_text=True), path
    long = public.get("/api/layers/" + "x" * 500).get_json()["detail"]
    assert "x" * 80 + "'" in long and "x" * 81 not in long
