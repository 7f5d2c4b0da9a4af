"""/ogc read by real clients over HTTP on loopback: GDAL (OAPIF driver, through pyogrio), OWSLib, schemathesis."""

import numpy as np
import pyogrio
import pytest
import shapely

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


@pytest.mark.parametrize("layer_id", LAYERS)
def test_gdal_reads_every_collection_completely(server, catalog, layer_id):
    url = f"OAPIF:{server.url}/ogc"
    assert layer_id in pyogrio.list_layers(url)[:, 0]
    # a small page size makes GDAL follow the next links
    meta, _, geometry, fields = pyogrio.raw.read(url, layer=layer_id, PAGE_SIZE=4)
    live = catalog.get(layer_id)
    assert len(geometry) == live.count
    ids = list(fields[list(meta["fields"]).index("id")]) if "id" in meta["fields"] else None
    names = list(fields[list(meta["fields"]).index("name")])
    assert names == [p["name"] for p in live.layer.properties]
    got = shapely.from_wkb(geometry)
    assert shapely.equals_exact(got, live.layer.geometries, tolerance=1e-6).all()
    if ids is not None:
        assert ids == [str(i) for i in live.layer.ids]


def test_gdal_bbox_filter_matches_shapely(server, catalog):
    box = (120.30, 36.05, 120.40, 36.10)
    _, _, geometry, _ = pyogrio.raw.read(f"OAPIF:{server.url}/ogc", layer="outdoor_dining_pilots", bbox=box)
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
