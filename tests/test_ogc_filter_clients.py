"""CQL2 filters, datetime and sortby read by real clients over HTTP on loopback: GDAL's OAPIF driver (the
wheel's GDAL through pyogrio, and Debian's older ogrinfo when installed) and OWSLib.

GDAL (3.6 and 3.12 alike) turns an OGR SQL attribute filter into CQL text sent as ``filter`` when the
OpenAPI document offers ``filter-lang=cql-text``; otherwise it fetches everything and filters on the client.
The tests check both that the answer is right and that the server did the filtering."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from webmap import create_app

LAYER = "outdoor_dining_pilots"


@pytest.fixture(scope="module")
def layer():
    return create_app({"TESTING": True}).extensions["catalog"].get(LAYER).layer


_GDAL_CLIENT = """
import json, sys
import pyogrio
url, layer, where = sys.argv[1:4]
meta, fids, geometry, fields = pyogrio.raw.read(url, layer=layer, where=where)
column = dict(zip(meta["fields"], fields))
print(json.dumps({"names": [str(v) for v in column["name"]]}))
"""


def gdal_where(url: str, where: str) -> tuple[list[str], str]:
    """(names read, GDAL's debug output) for ``where`` through the OAPIF driver, in a process of its own."""
    done = subprocess.run([sys.executable, "-c", _GDAL_CLIENT, f"OAPIF:{url}/ogc", LAYER, where],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "CPL_DEBUG": "ON"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)["names"], done.stderr


def brute(layer, predicate) -> list[str]:
    return [p["name"] for p in layer.properties if predicate(p)]


WHERE = [
    ("capacity > 30", lambda p: (p.get("capacity") or 0) > 30),
    ("name LIKE '%咖啡%'", lambda p: "咖啡" in p["name"]),
    ("district = '市南区' AND capacity >= 30 OR venue_type = 'bar'",
     lambda p: (p["district"] == "市南区" and (p.get("capacity") or 0) >= 30) or p.get("venue_type") == "bar"),
    ("NOT (capacity > 30 AND venue_type = 'bar')",
     lambda p: p.get("capacity") is not None and not (p["capacity"] > 30 and p.get("venue_type") == "bar")),
    ("note IS NULL", lambda p: p.get("note") is None),
    ("name = 'O''Brien'", lambda p: p["name"] == "O'Brien"),
]


@pytest.mark.parametrize("where, predicate", WHERE, ids=[w for w, _ in WHERE])
def test_gdal_sends_its_attribute_filter_as_cql_and_reads_the_right_features(server, layer, where, predicate):
    names, debug = gdal_where(server.url, where)
    assert names == brute(layer, predicate)
    fetched = [line for line in debug.splitlines() if "Fetch(" in line and "/items?" in line]
    assert any("filter=" in line for line in fetched), "\n".join(fetched)
    assert "client side" not in debug


@pytest.mark.skipif(not shutil.which("ogrinfo"), reason="Debian's gdal-bin is not installed")
def test_debian_gdal_sends_the_filter_too(server, layer):
    done = subprocess.run(["ogrinfo", "-ro", "-al", "-q", "-where", "capacity > 30 AND name LIKE '%外摆%'",
                           f"OAPIF:{server.url}/ogc", LAYER], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CPL_DEBUG": "ON"})
    assert done.returncode == 0, done.stderr[-2000:]
    got = [line.split("=", 1)[1].strip() for line in done.stdout.splitlines() if line.strip().startswith("name (String)")]
    assert got == brute(layer, lambda p: (p.get("capacity") or 0) > 30 and "外摆" in p["name"])
    assert any("filter=" in line for line in done.stderr.splitlines() if "/items?" in line)


def test_owslib_filters_sorts_and_selects(server, layer):
    from owslib.ogcapi.features import Features

    api = Features(server.url + "/ogc")
    page = api.collection_items(LAYER, filter="capacity > 30 AND venue_type <> 'bar'")
    assert [f["properties"]["name"] for f in page["features"]] == brute(
        layer, lambda p: (p.get("capacity") or 0) > 30 and p.get("venue_type") != "bar")
    cql = {"op": "like", "args": [{"property": "name"}, "%咖啡%"]}
    page = api.collection_items(LAYER, **{"filter": json.dumps(cql, ensure_ascii=False), "filter-lang": "cql2-json"})
    assert page["numberMatched"] == len(brute(layer, lambda p: "咖啡" in p["name"])) > 0
    page = api.collection_items(LAYER, sortby=("capacity", "desc"), limit=3)
    capacities = sorted((p.get("capacity") for p in layer.properties if p.get("capacity") is not None), reverse=True)
    assert [f["properties"]["capacity"] for f in page["features"]] == capacities[:3]
    page = api.collection_items(LAYER, properties="name", limit=2)
    assert all(list(f["properties"]) == ["name"] for f in page["features"])
    page = api.collection_items("hq_clusters", datetime_="2019-01-01/..")
    assert page["numberMatched"] == 0  # the sample data has no designation years yet
    queryables = api.collection_queryables(LAYER)["properties"]
    assert queryables["capacity"]["type"] == "integer" and queryables["geometry"]["format"] == "geometry-point"


def test_gdal_sends_a_bbox_and_a_filter_together(server, layer):
    import shapely

    client = _GDAL_CLIENT.replace("where=where)", "where=where, bbox=(120.30, 36.05, 120.40, 36.10))")
    done = subprocess.run([sys.executable, "-c", client, f"OAPIF:{server.url}/ogc", LAYER, "capacity >= 20"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "CPL_DEBUG": "ON"})
    assert done.returncode == 0, done.stderr[-2000:]
    box = shapely.box(120.30, 36.05, 120.40, 36.10)
    expected = [p["name"] for p, g in zip(layer.properties, layer.geometries)
                if (p.get("capacity") or 0) >= 20 and shapely.intersects(g, box)]
    assert json.loads(done.stdout)["names"] == expected and expected
    assert any("bbox=" in line and "filter=" in line for line in done.stderr.splitlines() if "/items?" in line)


def _debian_where(server, layer_id: str, where: str) -> list[str]:
    """The ids Debian's GDAL 3.6 reads from ``layer_id`` with ``-where``."""
    done = subprocess.run(["ogrinfo", "-ro", "-al", "-q", "-where", where, f"OAPIF:{server.url}/ogc", layer_id],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return [line.split("=", 1)[1].strip() for line in done.stdout.splitlines() if line.strip().startswith("id (String)")]


def test_gdal_filters_a_boolean_as_it_writes_it_1_or_0(server):
    """GDAL (and QGIS through it) types booleans as Integer(Boolean) and sends "is_24h_pilot = 1": the server
    reads 1/0 as true/false, as the field type's native values (before: a 400, and 0 features in QGIS)."""
    live = create_app({"TESTING": True}).extensions["catalog"].get("night_economy_zones").layer
    pilots = [fid for fid, p in zip(live.ids, live.properties) if p.get("is_24h_pilot") is True]
    assert pilots and _debian_where(server, "night_economy_zones", "is_24h_pilot = 1") == pilots
    others = [fid for fid, p in zip(live.ids, live.properties) if p.get("is_24h_pilot") is False]
    assert _debian_where(server, "night_economy_zones", "is_24h_pilot = 0") == others


def test_gdal_fetches_one_feature_by_id(server, layer):
    """GDAL answers -where "id = '…'" by appending "/<id>" to the collection's items link: the link has no query
    string, or GDAL asks for ".../items?f=json/<id>"."""
    wanted = layer.ids[3]
    assert _debian_where(server, LAYER, f"id = '{wanted}'") == [wanted]
