"""Downloads under load: whole layers come from the export cache (built once per version and format,
shared through files), and downloads are rate-limited with clean 429 answers."""

import csv
import io
import logging
import threading

import numpy as np
import pytest

from layers import export
from webmap import create_app

LAYER = "outdoor_dining_pilots"


@pytest.fixture
def app(tmp_path):
    return create_app({"TESTING": True, "BASEMAP": "none", "CATALOG_REFRESH_SECONDS": 0,
                       "EXPORT_CACHE_DIR": str(tmp_path / "exports")})


def cached_files(app, layer_id=LAYER):
    return sorted((app.extensions["exports"].directory / layer_id).glob("v*"))


def download(client, fmt, layer_id=LAYER, **params):
    response = client.get(f"/api/layers/{layer_id}/download", query_string={"format": fmt, **params})
    assert response.status_code == 200, response.data[:300]
    return response


@pytest.mark.parametrize("fmt", ["csv", "kml", "geojson"])
def test_a_second_download_is_served_from_the_file_the_first_built(app, fmt):
    client = app.test_client()
    first = download(client, fmt).data
    (path,) = cached_files(app)
    built = path.stat()
    second = download(client, fmt).data
    again = path.stat()
    assert (again.st_ino, again.st_mtime_ns) == (built.st_ino, built.st_mtime_ns)  # not rebuilt
    live = app.extensions["catalog"].get(LAYER)
    fresh, filename, _ = export.export([(live.kind, live.layer, np.arange(live.count))], fmt, f"qingdao-{LAYER}")
    assert first == second == path.read_bytes() == fresh
    assert path.name.startswith(f"v{live.version}-{live.digest}-r{export.EXPORT_REVISION}-{fmt}")


def test_conditional_requests_get_304(app):
    client = app.test_client()
    first = download(client, "gpkg")
    assert first.headers["ETag"] and first.content_length == len(first.data)
    again = client.get(f"/api/layers/{LAYER}/download?format=gpkg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    part = client.get(f"/api/layers/{LAYER}/download?format=gpkg", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == first.data[:100]


def test_a_new_version_gets_a_new_file_and_drops_the_old(app):
    client = app.test_client()
    download(client, "csv")
    download(client, "kml")
    old = cached_files(app)
    assert len(old) == 2 and all(p.name.startswith("v1-") for p in old)
    store = app.extensions["store"]
    layer = store.load(app.extensions["catalog"].get(LAYER).kind)
    layer.properties[0] = dict(layer.properties[0], capacity=7)
    store.publish(layer, author="test")
    rows = list(csv.DictReader(io.StringIO(download(client, "csv").get_data(as_text=True))))
    (new,) = cached_files(app)
    assert new.name.startswith("v2-") and not any(p.exists() for p in old)
    assert {row["id"]: row["capacity"] for row in rows}[str(layer.ids[0])] == "7"


def test_concurrent_first_downloads_build_once(app, caplog):
    caplog.set_level(logging.INFO, logger="layers.export")
    results = []

    def fetch():
        results.append(app.test_client().get(f"/api/layers/{LAYER}/download?format=shp").data)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert [r.message for r in caplog.records if r.message.startswith("exported")] == \
        [f"exported {LAYER} version 1 as shp ({len(results[0])} bytes)"]


def test_filtered_downloads_are_built_and_not_cached(app):
    client = app.test_client()
    download(client, "csv", district="市北区")
    download(client, "csv", bbox="120.30,36.05,120.40,36.10")
    assert cached_files(app) == []


def test_downloads_are_rate_limited_with_a_clean_429(tmp_path):
    app = create_app({"TESTING": True, "BASEMAP": "none", "DOWNLOAD_RATE_LIMIT": "3 per minute",
                      "EXPORT_CACHE_DIR": str(tmp_path / "exports")})
    client = app.test_client()
    assert download(client, "csv").status_code == 200
    assert download(client, "csv", district="市北区").status_code == 200
    assert client.get("/api/download?layers=hq_clusters&format=gpkg").status_code == 200
    for path in (f"/api/layers/{LAYER}/download?format=csv", "/api/download?layers=hq_clusters&format=gpkg"):
        refused = client.get(path)
        assert refused.status_code == 429 and refused.mimetype == "application/json"
        body = refused.get_json()
        assert body["status"] == 429 and body["detail"].startswith("下载太频繁") and "Too many downloads" in body["detail"]
        assert 0 < int(refused.headers["Retry-After"]) <= 60  # when to try again
    assert client.get(f"/api/layers/{LAYER}").status_code == 200  # the map's own data is not limited


def test_the_download_benchmark_runs_and_compares_both():
    import subprocess
    import sys

    from .conftest import ROOT

    done = subprocess.run([sys.executable, "scripts/bench_downloads.py", "--points", "300", "--vertices", "8000",
                           "--repeat", "1", "--parallel", "2", "--formats", "csv", "kml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| csv |", "| kml |"))]
    assert len(rows) == 2 and all(row.count("|") == 8 for row in rows)
    assert "every vertex (before)" in done.stdout and "from the export cache (now)" in done.stdout


def test_downloads_built_on_request_have_a_feature_budget(app, client):
    app.config["DOWNLOAD_MAX_FEATURES"] = 5
    response = client.get("/api/download?layers=outdoor_dining_pilots&format=kml")
    assert response.status_code == 400 and "at most 5 per filtered download" in response.get_json()["detail"]
    filtered = client.get("/api/layers/outdoor_dining_pilots/download?format=csv&district=市南区")
    assert filtered.status_code == 400
    assert client.get("/api/layers/outdoor_dining_pilots/download?format=csv").status_code == 200  # whole: cached
    app.config["DOWNLOAD_MAX_FEATURES"] = 100
    assert client.get("/api/download?layers=outdoor_dining_pilots&format=kml").status_code == 200


def test_a_shapefile_download_says_in_a_header_how_many_texts_it_cut_also_when_cached(data_copy, tmp_path):
    import json

    from webmap.api import CUT_TEXTS_HEADER

    path = data_copy / f"{LAYER}.geojson"
    doc = json.loads(path.read_text("utf-8"))
    for feature in doc["features"][:2]:
        feature["properties"]["note"] = "外摆试点说明" * 32  # 576 bytes: cut to 254
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    config = {"TESTING": True, "BASEMAP": "none", "DATA_DIR": str(data_copy),
              "EXPORT_CACHE_DIR": str(tmp_path / "exports")}
    first = create_app(config)
    built = download(first.test_client(), "shp")
    assert built.headers[CUT_TEXTS_HEADER] == "2"
    (cached,) = cached_files(first, LAYER)
    stat = cached.stat()
    for app in (first, create_app(config)):  # the same process, and another one sharing the cache
        again = download(app.test_client(), "shp")
        assert again.headers[CUT_TEXTS_HEADER] == "2" and again.data == built.data
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)  # not rebuilt
    district = doc["features"][0]["properties"]["district"]  # a filtered download, built for the request
    filtered = download(first.test_client(), "shp", district=district)
    assert filtered.headers[CUT_TEXTS_HEADER] == str(sum(f["properties"]["district"] == district
                                                         for f in doc["features"][:2]))
    assert download(first.test_client(), "shp", layer_id="hq_clusters").headers[CUT_TEXTS_HEADER] == "0"
    assert CUT_TEXTS_HEADER not in download(first.test_client(), "gpkg").headers


def test_every_format_downloads_under_its_own_file_name(client):
    """csv and csv-excel are both .csv: a person who downloads both must not have one overwrite the other."""
    from layers.export import FORMATS

    names = [download(client, fmt).headers["Content-Disposition"] for fmt in FORMATS]
    assert len(set(names)) == len(FORMATS), names
