"""No declared field or value is lost or changed on the way to a GIS client (issue 9, "Losses seen").

Read by real clients: GDAL's OAPIF driver (pyogrio's GDAL in a clean process, and Debian's GDAL 3.6 ``ogrinfo`` /
``ogr2ogr``) against the server in a process of its own; every download format read back by the server's GDAL
(pyogrio, in this process: it keeps the five drivers of layers.gdalpolicy), by Debian's GDAL (``ogr2ogr -f
GeoJSON``, one subprocess per format) and by the project's own importer (layers.readers.read_file).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from werkzeug.security import generate_password_hash

from layers import export, fieldtypes
from layers.export import DBF_TEXT_BYTES, FORMATS, SHAPEFILE_NAMES
from layers.load import Layer
from layers.readers import read_file
from layers.registry import KINDS, PUBLIC_KINDS
from layers.schema import Field, LayerKind
from webmap import create_app

from .conftest import DATA, ProcessServer
from .test_staff import PASSWORD, login

OGRINFO, OGR2OGR = "/usr/bin/ogrinfo", "/usr/bin/ogr2ogr"  # Debian's gdal-bin (3.6 on bookworm)

#: What GDAL names the column of each field type (booleans: an integer of subtype boolean).
OGR_TYPE = {"text": "String", "enum": "String", "opening_hours": "String", "district": "String",
            "integer": "Integer", "year": "Integer", "number": "Real", "boolean": "Integer(Boolean)",
            "date": "Date"}
assert set(OGR_TYPE) == set(fieldtypes.TYPES), "a new field type needs its GDAL column type here"


@pytest.fixture(scope="module")
def debian_gdal():
    done = subprocess.run([OGRINFO, "--version"], capture_output=True, text=True)
    assert done.returncode == 0, "Debian's gdal-bin is not installed: scripts/setup.sh installs it"
    return done.stdout


# --- OGC API - Features through GDAL's OAPIF driver -------------------------------------------------------

#: GDAL types its columns from the first page of items: two features, one without area/capacity/level, and an
#: area of 12 (a whole number in a decimal field) first; a later feature has an area of 12.5.
PAGE = 2


@pytest.fixture(scope="module")
def oapif_data(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("oapif") / "data"
    shutil.copytree(DATA, target)
    path = target / "outdoor_dining_pilots.geojson"
    doc = json.loads(path.read_text("utf-8"))
    first, second, later = (f["properties"] for f in (doc["features"][0], doc["features"][1], doc["features"][5]))
    first["area_m2"] = 12
    for name in ("area_m2", "capacity", "level"):
        second.pop(name)
    later.update(area_m2=12.5, designation_year=2019)
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return target


@pytest.fixture(scope="module")
def oapif(oapif_data):
    server = ProcessServer({"SCENEMAP_DATA_DIR": str(oapif_data)})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_layers(oapif_data):
    catalog = create_app({"TESTING": True, "DATA_DIR": str(oapif_data)}).extensions["catalog"]
    return {live.kind.id: live for live in catalog}


_PYOGRIO_OAPIF = """
import json, sys
import pyogrio
url, layers, page = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
options = {"PAGE_SIZE": page, "INITIAL_REQUEST_PAGE_SIZE": page}
out = {}
for layer in layers:
    info = pyogrio.read_info(url, layer=layer, **options)
    meta, _, _, columns = pyogrio.raw.read(url, layer=layer, **options)
    types = [t[3:] + ("(Boolean)" if s == "OFSTBoolean" else "")
             for t, s in zip(info["ogr_types"], info["ogr_subtypes"])]
    out[layer] = {"geometry": info["geometry_type"], "types": dict(zip(info["fields"], types)),
                  "values": {n: [None if v is None or v != v else v if isinstance(v, str) else v.item() for v in c]
                             for n, c in zip(meta["fields"], columns)}}
print(json.dumps(out))
"""


def _ogrinfo_layers(text: str) -> dict:
    """Debian ogrinfo's report (-al) of each layer: geometry type, column types, and the values by column."""
    layers = {}
    for block in text.split("Layer name: ")[1:]:
        name, _, body = block.partition("\n")
        head, _, features = body.partition("\nOGRFeature(")
        types = dict(re.findall(r"^(\w+): (\w+(?:\(\w+\))?) \(\d+\.\d+\)$", head, re.M))
        values: dict[str, list] = {n: [] for n in types}
        for feature in ("OGRFeature(" + features).split("\nOGRFeature(")[0 if features else 1:]:
            got = dict(re.findall(r"^  (\w+) \([\w()]+\) = (.*)$", feature, re.M))
            for n in types:
                values[n].append(got.get(n))
        geometry = re.search(r"^Geometry: (.+)$", head, re.M)
        layers[name.strip()] = {"geometry": geometry.group(1) if geometry else None, "types": types, "values": values}
    return layers


@pytest.fixture(scope="module")
def oapif_reads(oapif, debian_gdal):
    """Both GDALs' reading of every collection: {"pyogrio": {...}, "debian": {...}}, each by layer id."""
    ids = [kind.id for kind in PUBLIC_KINDS]
    done = subprocess.run([sys.executable, "-c", _PYOGRIO_OAPIF, f"OAPIF:{oapif.url}/ogc", json.dumps(ids), str(PAGE)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    new = json.loads(done.stdout)
    done = subprocess.run([OGRINFO, "-ro", "-al", "-oo", f"PAGE_SIZE={PAGE}", f"OAPIF:{oapif.url}/ogc", *ids],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"pyogrio": new, "debian": _ogrinfo_layers(done.stdout)}


@pytest.mark.parametrize("client", ["pyogrio", "debian"])
def test_oapif_clients_get_every_declared_column_with_its_type(oapif_reads, live_layers, client):
    for kind in PUBLIC_KINDS:
        got = oapif_reads[client][kind.id]
        for fld in kind.fields:  # also where the first page (or every feature) has no value: GDAL reads the
            assert fld.name in got["types"], f"{client}: {kind.id}.{fld.name} is missing"  # describedBy schema
            assert got["types"][fld.name] == OGR_TYPE[fld.type], f"{client}: {kind.id}.{fld.name}"


@pytest.mark.parametrize("client", ["pyogrio", "debian"])
def test_oapif_clients_read_every_value_as_stored(oapif_reads, live_layers, client):
    for kind in PUBLIC_KINDS:
        got, layer = oapif_reads[client][kind.id], live_layers[kind.id].layer
        for fld in kind.fields:
            column = got["values"][fld.name]
            assert len(column) == len(layer), f"{client}: {kind.id}"
            for value, props in zip(column, layer.properties):
                want = props.get(fld.name)
                if client == "debian" and value is not None:  # ogrinfo prints text
                    value = {"(null)": None}.get(value, value)
                    want = None if want is None else str(int(want) if isinstance(want, bool) else want)
                elif got["types"][fld.name] == "String" and want is not None:
                    want = str(want)  # a column empty on the first page, typed from no value (see above)
                elif fld.type == "boolean" and value is not None:
                    value = bool(value)
                assert value == want, f"{client}: {kind.id}.{fld.name}: {value!r} for {want!r}"
    areas = oapif_reads[client]["outdoor_dining_pilots"]["values"]["area_m2"]
    assert float(areas[0]) == 12 and float(areas[5]) == 12.5 and areas[1] in (None, "(null)")


@pytest.mark.parametrize("client", ["pyogrio", "debian"])
def test_oapif_a_decimal_field_is_real_when_its_first_value_is_whole(oapif_reads, client):
    got = oapif_reads[client]["outdoor_dining_pilots"]
    assert got["types"]["area_m2"] == "Real" and got["types"]["capacity"] == "Integer"
    assert float(got["values"]["area_m2"][5]) == 12.5  # read as 12 when the column was typed from "12"


def test_oapif_clients_see_one_geometry_type_per_collection(oapif_reads):
    expected = {"MultiPolygon": "Multi Polygon", "MultiLineString": "Multi Line String", "Point": "Point",
                "GeometryCollection": "Unknown (any)"}  # a kind of unrelated types (sensitive_sites): "Unknown"
    for kind in PUBLIC_KINDS:
        assert oapif_reads["pyogrio"][kind.id]["geometry"] == \
            ("Unknown" if kind.geometry_type == "GeometryCollection" else kind.geometry_type)
        assert oapif_reads["debian"][kind.id]["geometry"] == expected[kind.geometry_type]
    assert KINDS[0].id == "districts" and KINDS[0].geometry_type == "MultiPolygon"


def test_ogr2ogr_copies_the_whole_oapif_districts_collection_into_a_geopackage(oapif, live_layers, debian_gdal,
                                                                              tmp_path):
    target = tmp_path / "districts.gpkg"
    done = subprocess.run([OGR2OGR, "-f", "GPKG", str(target), f"OAPIF:{oapif.url}/ogc", "districts",
                           "-oo", f"PAGE_SIZE={PAGE}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not normally allowed" not in done.stderr  # GDAL's warning on a MultiPolygon in a Polygon layer
    info = pyogrio.read_info(target)
    assert info["geometry_type"] == "MultiPolygon" and info["features"] == live_layers["districts"].count


# --- downloads: every format, every field type ---------------------------------------------------------------

#: A kind made for this test: one field of every type (names a Shapefile keeps whole), multi-part polygons.
ALL_TYPES = LayerKind(
    id="all_types", zh="全类型", en="All types", geometry_types=("Polygon", "MultiPolygon"),
    fields=(Field("name", "text", "名称", "Name", required=True),
            Field("note", "text", "说明", "Note"),
            Field("adcode", "text", "代码", "Code"),
            Field("count", "integer", "数量", "Count"),
            Field("area", "number", "面积", "Area"),
            Field("pilot", "boolean", "试点", "Pilot"),
            Field("status", "enum", "状态", "Status", choices=("planned", "pilot")),
            Field("year", "year", "年份", "Year", minimum=1990, maximum=2100),
            Field("hours", "opening_hours", "时间", "Hours"),
            Field("district", "district", "区", "District"),
            Field("received", "date", "日期", "Date")),
    style={}, popup=())
assert {f.type for f in ALL_TYPES.fields} == set(fieldtypes.TYPES), "a new field type needs a field in ALL_TYPES"

LONG = "崂山区沙子口街道说明文字，" * 30  # 390 characters, 1170 bytes in UTF-8: more than a Shapefile keeps


def _all_types_layer() -> Layer:
    def box(i, parts=1):
        x, y = 120.30 + 0.01 * i, 36.06
        polys = [shapely.box(x + 0.002 * k, y, x + 0.002 * k + 0.001, y + 0.001) for k in range(parts)]
        shape = shapely.orient_polygons(polys[0] if parts == 1 else shapely.MultiPolygon(polys))
        return shapely.transform(shape, lambda c: np.round(c, 6))  # as stored: 6 decimals (GeoJSON keeps 7)

    rows = [
        ({"name": "整数面积", "note": LONG, "adcode": "370212", "count": 12, "area": 12, "pilot": True,
          "status": "pilot", "year": 2019, "hours": "Mo-Su 10:00-22:00", "district": "崂山区",
          "received": "2026-02-17"}, box(0, 3)),
        ({"name": "小数面积", "adcode": "370202", "area": 12.5, "pilot": False, "district": "市南区",
          "received": "1999-12-31"}, box(1)),
        ({"name": "空值"}, box(2, 2)),
        ({"name": "=1+1 看似公式", "note": "'引号开头", "count": 0, "area": 0.25, "pilot": None}, box(3)),
    ]
    props = [{k: v for k, v in p.items() if v is not None} for p, _ in rows]
    return Layer(kind=ALL_TYPES, ids=[f"t-{i}" for i in range(len(rows))], properties=props,
                 geometries=np.array([g for _, g in rows], dtype=object))


def _unpacked(data: bytes, name: str, folder: Path) -> tuple[Path, Path]:
    """(the file GDAL opens, the file as downloaded): a zip is unpacked first (the server's GDAL keeps no
    /vsizip/), and GDAL opens the .shp or .csv inside."""
    folder.mkdir()
    path = folder / name
    path.write_bytes(data)
    if not name.endswith(".zip"):
        return path, path
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder / "unzipped")
        (inner,) = [n for n in archive.namelist() if n.endswith((".shp", ".csv"))]
    return folder / "unzipped" / inner, path


def _expected(layer: Layer, fmt: str) -> list[dict]:
    """What a format should give back: every stored value; a Shapefile's text cut to 254 bytes."""
    out = []
    for props in layer.properties:
        want = dict(props)
        if fmt == "shp":
            want = {k: v.encode()[:DBF_TEXT_BYTES].decode("utf-8", "ignore") if isinstance(v, str) else v
                    for k, v in want.items()}
        out.append(want)
    return out


def _as_stored(kind: LayerKind, fmt: str, names: list[str], columns: list[list], ids_from=None) -> list[dict]:
    """GDAL's columns as stored properties: declared names (Shapefile short names, KML's "Name"), values as the
    field types read them (fieldtypes.coerce: 1/0 as booleans, 12.0 as 12 where a whole number is stored)."""
    by_name = {SHAPEFILE_NAMES.get(f.name, f.name).lower(): f for f in kind.fields}
    by_name.update({f.name.lower(): f for f in kind.fields})
    rows = [dict() for _ in range(len(columns[0]) if columns else 0)]
    for name, column in zip(names, columns):
        fld = by_name.get(name.lower())
        if fld is None:
            continue
        for row, value in zip(rows, column):
            if isinstance(value, float) and value != value or isinstance(value, np.datetime64) and np.isnat(value):
                continue  # GDAL's missing number or date
            if value is None or isinstance(value, str) and value == "":
                continue
            if fmt.startswith("csv") and isinstance(value, str):
                value = export.restore_formula(value)
            value = fieldtypes.coerce(fld, value)
            if fieldtypes.of(fld).decimal and isinstance(value, float) and value.is_integer():
                value = int(value)
            row[fld.name] = value
    return rows


def _check_types(layer: Layer, fmt: str, types: dict[str, str], who: str) -> None:
    """Each declared field arrives as a column typed as declared (KML, Shapefile, CSV: booleans as 1/0). GeoJSON
    has no schema: a column with no value in the whole file is read as text."""
    by_name = {n.lower(): t for n, t in types.items()}
    for fld in layer.kind.fields:
        name = (SHAPEFILE_NAMES.get(fld.name, fld.name) if fmt == "shp" else fld.name).lower()
        want = {OGR_TYPE[fld.type]}
        if fmt in ("kml", "shp", "csv-gis") and fld.type == "boolean":
            want = {"Integer"}
        if fmt == "kml" and fld.type == "date":
            want = {"String"}  # KML's schema has no date type: the text is YYYY-MM-DD
        if fmt in ("csv", "csv-excel"):
            want = {"String"}  # a single .csv: GDAL reads text (the importer's field types decide)
        if fmt == "geojson" and all(p.get(fld.name) is None for p in layer.properties):
            want.add("String")
        assert by_name.get(name) in want, f"{who} {fmt}: {layer.kind.id}.{fld.name} is {by_name.get(name)}, not {want}"


DOWNLOADS = list(FORMATS)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    """Every format of the all-types layer and of every registry layer, written once: {format: [(kind, layer,
    the file GDAL opens, the file as downloaded)]}."""
    folder = tmp_path_factory.mktemp("downloads")
    catalog = create_app({"TESTING": True}).extensions["catalog"]
    # (an empty layer — the proposals layer starts so — carries no columns in GeoJSON: nothing to read back)
    layers = [_all_types_layer()] + [live.layer for live in catalog if len(live.layer)]
    out = {}
    for fmt in DOWNLOADS:
        out[fmt] = []
        for layer in layers:
            if export.refusal(layer.kind, fmt):  # a Shapefile of mixed types (sensitive_sites): refused, tested
                continue  # in test_a_shapefile_of_mixed_geometry_types_is_refused
            data, name, _ = export.export([(layer.kind, layer, np.arange(len(layer)))], fmt, layer.kind.id)
            out[fmt].append((layer.kind, layer, *_unpacked(data, name, folder / f"{fmt}-{layer.kind.id}")))
    return out


@pytest.mark.parametrize("fmt", DOWNLOADS)
def test_downloads_read_back_by_the_servers_gdal(downloads, fmt):
    for kind, layer, path, _ in downloads[fmt]:
        info = pyogrio.read_info(path)
        meta, _, wkb, columns = pyogrio.raw.read(path)
        names = list(meta["fields"])
        types = {n: t[3:] + ("(Boolean)" if s == "OFSTBoolean" else "")
                 for n, t, s in zip(info["fields"], info["ogr_types"], info["ogr_subtypes"])}
        _check_types(layer, fmt, types, "pyogrio")
        assert _as_stored(kind, fmt, names, [list(c) for c in columns]) == _expected(layer, fmt), kind.id
        ids = columns[names.index("id")]
        assert [export.restore_formula(str(i)) for i in ids] == [str(i) for i in layer.ids]
        if fmt in ("geojson", "gpkg") and kind.geometry_type == "GeometryCollection":  # mixed types: "Unknown",
            assert info["geometry_type"] == "Unknown", kind.id  # each geometry one of the declared types
            assert {g.geom_type for g in shapely.from_wkb(wkb)} <= set(kind.geometry_types), kind.id
        elif fmt in ("geojson", "gpkg"):  # the layer's type, and every geometry of it (single parts promoted)
            assert info["geometry_type"] == kind.geometry_type, kind.id
            assert {g.geom_type for g in shapely.from_wkb(wkb)} == {kind.geometry_type}, kind.id
        if fmt == "csv-gis" and not kind.is_point_layer:
            assert {shapely.from_wkt(w).geom_type for w in columns[names.index("WKT")]} <= \
                ({kind.geometry_type} if kind.geometry_type != "GeometryCollection" else set(kind.geometry_types))


@pytest.mark.parametrize("fmt", DOWNLOADS)
def test_downloads_read_back_by_debian_gdal(downloads, fmt, debian_gdal, tmp_path):
    """One ogr2ogr per format (all layers in one run): the older GDAL gives the same values, typed as declared."""
    script = " && ".join(
        f"{OGR2OGR} -f GeoJSON {tmp_path / (kind.id + '.geojson')} {path} --config LIBKML_NAME_FIELD name "
        f"&& {OGRINFO} -ro -so -al {path} > {tmp_path / (kind.id + '.txt')}"
        for kind, _, path, _ in downloads[fmt])
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for kind, layer, _path, _ in downloads[fmt]:
        report = _ogrinfo_layers((tmp_path / f"{kind.id}.txt").read_text())
        (got,) = report.values()
        _check_types(layer, fmt, got["types"], "debian")
        if fmt in ("geojson", "gpkg"):
            assert got["geometry"] == {"MultiPolygon": "Multi Polygon", "MultiLineString": "Multi Line String",
                                       "Point": "Point", "GeometryCollection": "Unknown (any)"}[kind.geometry_type], \
                kind.id
        doc = json.loads((tmp_path / f"{kind.id}.geojson").read_text("utf-8"))
        names = list(doc["features"][0]["properties"]) if doc["features"] else []
        columns = [[f["properties"].get(n) for f in doc["features"]] for n in names]
        assert _as_stored(kind, fmt, names, columns) == _expected(layer, fmt), kind.id
        ids = [export.restore_formula(str(f["properties"].get("id", f.get("id")))) for f in doc["features"]]
        assert ids == [str(i) for i in layer.ids], kind.id


@pytest.mark.parametrize("fmt", DOWNLOADS)
def test_downloads_read_back_by_the_importer(downloads, fmt, tmp_path):
    """The importer reads each download back to the same layer; a CSV for GIS as its zip, as its .csv beside its
    .csvt, and as the .csv alone."""
    for kind, layer, path, downloaded in downloads[fmt]:
        tries = [downloaded]
        if fmt == "csv-gis":
            alone = tmp_path / kind.id / path.name
            alone.parent.mkdir()
            shutil.copy(path, alone)
            tries += [path, alone]
        for source in tries:
            back = read_file(source, kind)
            assert back.report.ok, [str(p) for p in back.report.problems]
            assert back.ids == layer.ids and back.properties == _expected(layer, fmt), (kind.id, source.name)
            # the same values *and types*: 2020 read back as 2020.0 would compare equal here, but change the
            # stored layer (a new version on import) and be served and typed as a decimal
            assert [{k: type(v) for k, v in p.items()} for p in back.properties] == \
                [{k: type(v) for k, v in p.items()} for p in _expected(layer, fmt)], (kind.id, source.name)
            assert shapely.equals(back.geometries, layer.geometries).all()
            assert list(shapely.get_type_id(back.geometries)) == list(shapely.get_type_id(layer.geometries))


def test_a_shapefile_of_mixed_geometry_types_is_refused():
    """A Shapefile holds one geometry type: a kind of points and polygons is refused with the reason (the API
    answers 400 with it), never written half."""
    from layers.registry import get

    kind = get("sensitive_sites")
    assert kind.geometry_type == "GeometryCollection" and "Shapefile" in export.refusal(kind, "shp")
    assert [f for f in export.FORMATS if export.refusal(kind, f)] == ["shp"]
    assert not [k.id for k in KINDS if k.id != "sensitive_sites" and export.refusal(k, "shp")]
    with pytest.raises(ValueError, match="GeoPackage"):
        export.export([(kind, Layer(kind=kind), np.arange(0))], "shp", "x")


# --- the editor's save: what it was served comes back unchanged ----------------------------------------------

def test_saving_a_served_layer_back_untouched_changes_nothing(tmp_path):
    """The staff editor saves the GeoJSON it was served (nulls, decimals as 12.0, single parts as multi-part):
    the store reads it back to the very same features, so an untouched save makes no new version."""
    app = create_app({"TESTING": True, "BASEMAP": "none", "UPLOAD_DIR": str(tmp_path / "uploads")})
    app.extensions["store"].create_user("admin", generate_password_hash(PASSWORD), "admin", [], actor="test")
    admin = login(app.test_client(), "admin")
    for kind in KINDS:
        page = admin.get(f"/staff/layers/{kind.id}/edit").get_data(as_text=True)
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        served = admin.get(f"/staff/layers/{kind.id}/data").get_json(force=True)  # the editor's data URL
        saved = admin.post(f"/staff/layers/{kind.id}/edits", json={"expected_version": 1, "collection": served},
                           headers={"X-CSRFToken": csrf})
        assert saved.status_code == 200 and saved.get_json()["unchanged"], (kind.id, saved.get_data(as_text=True))
