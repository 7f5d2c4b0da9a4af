"""/ogc read by real clients over HTTP on loopback: GDAL (OAPIF driver, through pyogrio, and Debian's ogr2ogr),
QGIS 3.22 (Debian's python3-qgis: its own OAPIF provider, and the styles loaded into it), OWSLib, schemathesis.

GDAL runs in a process of its own: the server's process keeps only the drivers it reads uploads with and no
network (layers.gdalpolicy), and this test process imports the app."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import shapely

from layers.load import as_declared_type
from webmap import create_app

#: The public collections (complaints are staff only: never in /ogc for anonymous clients).
LAYERS = ["districts", "commercial_districts", "night_economy_zones", "pedestrian_streets",
          "outdoor_dining_pilots", "hq_clusters", "sensitive_sites"]


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


# -- Part 2 through GDAL: it picks a CRS from the collection's list (open option CRS) --------------------------

_GDAL_CRS_CLIENT = """
import json, sys
import pyogrio
url, layer, crs = sys.argv[1], sys.argv[2], sys.argv[3]
meta, _, geometry, fields = pyogrio.raw.read(url, layer=layer, CRS=crs)
names = dict(zip(meta["fields"], fields))["name"]
print(json.dumps({"crs": meta["crs"], "wkb": [g.hex() for g in geometry], "names": [str(n) for n in names]}))
"""


@pytest.mark.parametrize("crs, digits", [("EPSG:4549", 2), ("EPSG:3857", 2), ("EPSG:4490", 7)])
def test_gdal_reads_a_collection_in_each_offered_crs(server, catalog, crs, digits):
    from pyproj import Transformer

    done = subprocess.run([sys.executable, "-c", _GDAL_CRS_CLIENT, f"OAPIF:{server.url}/ogc", "commercial_districts",
                           crs], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout)
    assert got["crs"] == crs
    live = catalog.get("commercial_districts")
    assert got["names"] == [p["name"] for p in live.layer.properties]
    # GDAL hands geometries over in (x=east, y=north) order whatever the CRS's own order: compare with pyproj's
    to = Transformer.from_crs("OGC:CRS84", crs, always_xy=True)
    from layers.load import as_declared_type

    served = as_declared_type(live.kind, live.layer.geometries)  # as the kind's one type: MultiPolygon
    expected = shapely.transform(served, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))
    geometries = shapely.from_wkb([bytes.fromhex(g) for g in got["wkb"]])
    assert shapely.equals_exact(geometries, expected, tolerance=10 ** -digits).all()  # rounded to 1 cm


def test_the_readme_gdal_one_liner_with_debians_gdal(server, catalog, tmp_path):
    """`ogr2ogr -f GPKG out.gpkg OAPIF:http://host/ogc <collection>` with Debian's GDAL (as the README says)."""
    import pyogrio

    if shutil.which("ogr2ogr") is None:
        pytest.skip("Debian's gdal-bin is not installed (scripts/setup.sh test installs it)")
    out = tmp_path / "out.gpkg"
    done = subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server.url}/ogc", "night_economy_zones"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    frame = pyogrio.read_info(out, layer="night_economy_zones")
    assert frame["features"] == catalog.get("night_economy_zones").count


# -- QGIS (Debian's python3-qgis, 3.22): its own OAPIF provider, and the styles loaded as a QGIS user would ----

_QGIS_CLIENT = """
import json, os, sys, tempfile, urllib.request
from qgis.core import (QgsApplication, QgsExpression, QgsExpressionContext, QgsExpressionContextUtils,
                       QgsRuleBasedRenderer, QgsVectorLayer)
app = QgsApplication([], False)
app.initQgis()
base, layer_id = sys.argv[1], sys.argv[2]
layer = QgsVectorLayer(f"url='{base}/ogc' typename='{layer_id}' pagingEnabled='true' pageSize='4'", layer_id, "OAPIF")
out = {"valid": layer.isValid(), "styles": {}}
features = list(layer.getFeatures()) if layer.isValid() else []
out["names"] = [f["name"] for f in features]
for f, suffix in (("qml", ".qml"), ("sld10", ".sld")):
    path = tempfile.mktemp(suffix=suffix)
    with open(path, "wb") as fh:
        fh.write(urllib.request.urlopen(f"{base}/ogc/collections/{layer_id}/styles/default?f={f}").read())
    message, ok = layer.loadNamedStyle(path) if f == "qml" else layer.loadSldStyle(path)
    renderer = layer.renderer()
    info = {"ok": bool(ok), "message": message, "renderer": renderer.type(), "rules": []}
    if isinstance(renderer, QgsRuleBasedRenderer):
        context = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
        matched_before = set()
        for rule in renderer.rootRule().children():
            symbol = rule.symbol()
            matched = []
            for feature in features:
                context.setFeature(feature)
                if rule.isElse():
                    hit = feature.id() not in matched_before
                else:
                    hit = not rule.filterExpression() or bool(QgsExpression(rule.filterExpression()).evaluate(context))
                if hit:
                    matched.append(feature["name"])
                    matched_before.add(feature.id())
            info["rules"].append({"label": rule.label(), "matched": matched,
                                  "colors": [symbol.symbolLayer(i).color().name() for i in range(symbol.symbolLayerCount())]})
    elif renderer.type() == "singleSymbol":
        symbol = renderer.symbol()
        info["rules"].append({"label": None, "matched": out["names"],
                              "colors": [symbol.symbolLayer(i).color().name() for i in range(symbol.symbolLayerCount())]})
    out["styles"][f] = info
print(json.dumps(out, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS may hang or crash tearing down its network threads at exit: the answer is out
"""


def _qgis_python() -> str:
    python = "/usr/bin/python3"
    probe = subprocess.run([python, "-c", "import qgis.core"], capture_output=True) if os.path.exists(python) else None
    if probe is None or probe.returncode != 0:
        pytest.skip("Debian's python3-qgis is not installed (scripts/setup.sh test installs it)")
    return python


@pytest.mark.parametrize("layer_id", ["night_economy_zones", "pedestrian_streets", "outdoor_dining_pilots"])
def test_qgis_reads_the_collection_and_loads_its_styles(server, catalog, tmp_path, layer_id):
    from layers.registry import get
    from layers.styles import legend

    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    done = subprocess.run([_qgis_python(), "-c", _QGIS_CLIENT, server.url, layer_id], capture_output=True, text=True,
                          timeout=180, cwd=tmp_path,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime),
                               "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    live = catalog.get(layer_id)
    assert got["valid"] and sorted(got["names"]) == sorted(p["name"] for p in live.layer.properties)
    kind = get(layer_id)
    expected = legend(kind)
    for f in ("qml", "sld10"):
        style = got["styles"][f]
        assert style["ok"], (f, style)
        if kind.rules or f == "qml":
            assert style["renderer"] == "RuleRenderer", (f, style)
            assert [r["label"] for r in style["rules"]] == [r.label for r in expected], f
        else:  # QGIS reads an SLD of one rule without a filter as a single symbol
            assert style["renderer"] == "singleSymbol", (f, style)
        for rule, wanted in zip(style["rules"], expected):
            colours = {c.lower() for c in rule["colors"]}
            assert wanted.style["color"].lower() in colours or wanted.style["fillColor"].lower() in colours, (f, rule)
            if wanted.prop is not None:  # each feature drawn by the rule the map would draw it with
                assert rule["matched"] == [p["name"] for p in live.layer.properties
                                           if p.get(wanted.prop) == wanted.value], (f, rule)
        every = [name for rule in style["rules"] for name in rule["matched"]]
        assert sorted(every) == sorted(got["names"]), f  # every feature drawn, once
