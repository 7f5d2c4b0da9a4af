"""/ogc read by real clients over HTTP on loopback: GDAL (OAPIF driver, through pyogrio), OWSLib, schemathesis.

GDAL runs in a process of its own: the server's process keeps only the drivers it reads uploads with and no
network (layers.gdalpolicy), and this test process imports the app."""

import json
import subprocess
import sys

import pytest
import shapely

from layers.load import as_declared_type
from webmap import create_app

LAYERS = ["districts", "commercial_districts", "night_economy_zones", "pedestrian_streets",
          "outdoor_dining_pilots", "hq_clusters"]


@pytest.fixture(scope="module")
def server():
    from .conftest import ProcessServer

    live = ProcessServer()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def catalog():
    return create_app({"TESTING": True}).extensions["catalog"]


_GDAL_CLIENT = """
import json, sys
import pyogrio
url, layer, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if "bbox" in options:
    options["bbox"] = tuple(options["bbox"])
meta, _, geometry, fields = pyogrio.raw.read(url, layer=layer, **options)
print(json.dumps({"layers": pyogrio.list_layers(url)[:, 0].tolist(), "fields": list(meta["fields"]),
                  "values": [[str(v) for v in col] for col in fields], "wkb": [g.hex() for g in geometry]}))
"""


def gdal_read(url: str, layer: str, **options) -> dict:
    """Read ``layer`` with GDAL's OAPIF driver in a clean Python process."""
    done = subprocess.run([sys.executable, "-c", _GDAL_CLIENT, f"OAPIF:{url}/ogc", layer, json.dumps(options)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("layer_id", LAYERS)
def test_gdal_reads_every_collection_completely(server, catalog, layer_id):
    # a small page size makes GDAL follow the next links
    got = gdal_read(server.url, layer_id, PAGE_SIZE=4)
    assert layer_id in got["layers"]
    live = catalog.get(layer_id)
    assert len(got["wkb"]) == live.count
    column = dict(zip(got["fields"], got["values"]))
    ids = column.get("id")
    names = column["name"]
    assert names == [p["name"] for p in live.layer.properties]
    got = shapely.from_wkb([bytes.fromhex(g) for g in got["wkb"]])
    served = as_declared_type(live.kind, live.layer.geometries)  # single parts served as multi-part (one type)
    assert shapely.equals_exact(got, served, tolerance=1e-6).all()
    if ids is not None:
        assert ids == [str(i) for i in live.layer.ids]


def test_gdal_bbox_filter_matches_shapely(server, catalog):
    box = (120.30, 36.05, 120.40, 36.10)
    geometry = gdal_read(server.url, "outdoor_dining_pilots", bbox=box)["wkb"]
    live = catalog.get("outdoor_dining_pilots")
    expected = shapely.intersects(live.layer.geometries, shapely.box(*box)).sum()
    assert len(geometry) == expected > 0


def test_owslib_lists_and_pages(server, catalog):
    from owslib.ogcapi.features import Features

    api = Features(server.url + "/ogc")
    ids = [c["id"] for c in api.collections()["collections"]]
    assert ids == LAYERS
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    seen = []
    for offset in range(0, 13, 5):
        page = api.collection_items("outdoor_dining_pilots", limit=5, offset=offset)
        seen += [f["id"] for f in page["features"]]
    assert seen == list(catalog.get("outdoor_dining_pilots").layer.ids)
    one = api.collection_items("night_economy_zones", is_24h_pilot="true")
    assert [f["id"] for f in one["features"]] == ["ne-sailing-center"]
    assert api.collection_queryables("hq_clusters")["properties"]["district"]["type"] == "string"


def test_schemathesis_finds_no_server_error_and_no_broken_response(server):
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(server.url + "/ogc/api")
    # the bar: no 5xx, and every response true to the document (status, content type, headers, body);
    # "positive data acceptance" is left out: a bbox whose minimum exceeds its maximum is schema-valid
    # (JSON Schema cannot order array items) and rightly refused with 400.
    wanted = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
              "response_headers_conformance", "response_schema_conformance")
    checks = [schemathesis.checks.CHECKS.get_one(name) for name in wanted]
    failures = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=op.as_strategy())
        def check(case):
            response = case.call()
            assert response.status_code < 500, f"{case.path} {case.query}: {response.status_code}"
            case.validate_response(response, checks=checks)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
