"""Reading any supported file into a checked layer: GeoJSON through the strict path of :mod:`layers.load`;
CSV with lon/lat columns, GeoPackage, zipped Shapefile and KML through GDAL (pyogrio).

Coordinates end up WGS-84 whatever they came in: GCJ-02 and BD-09 through :mod:`layers.coords`, any EPSG
CRS (declared, or read from the file) through pyproj. Zip archives are checked before GDAL opens them.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pyproj
import shapely

from . import coords
from .load import Layer, check_features, read_layer
from .problems import Report
from .schema import LayerKind

SUFFIXES = (".geojson", ".json", ".csv", ".gpkg", ".zip", ".kml")
#: Limits for zipped uploads: total uncompressed size, compression ratio, number of members.
ZIP_MAX_BYTES, ZIP_MAX_RATIO, ZIP_MAX_MEMBERS = 1 << 30, 200, 1000
_CSV_OPTIONS = {"X_POSSIBLE_NAMES": "lon,lng,longitude,x,经度", "Y_POSSIBLE_NAMES": "lat,latitude,y,纬度",
                "KEEP_GEOM_COLUMNS": "NO", "AUTODETECT_TYPE": "YES"}


def _refused(kind, source: str, message: str) -> Layer:
    report = Report(source)
    report.add(message)
    return Layer(kind=kind, report=report)


def check_zip(path: Path) -> tuple[str | None, str | None]:
    """Return (the .shp inside, None), or (None, why the archive is refused)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        return None, "the file is not a readable zip archive (empty, truncated or not a zip)"
    if len(members) > ZIP_MAX_MEMBERS:
        return None, f"the archive has {len(members)} members; at most {ZIP_MAX_MEMBERS}"
    total = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if total > ZIP_MAX_BYTES or total / packed > ZIP_MAX_RATIO:
        return None, (f"the archive unpacks to {total:,} bytes ({total / packed:.0f} times its size): refused as a "
                      "possible zip bomb")
    for m in members:
        name = m.filename
        if name.startswith(("/", "\\")) or ".." in Path(name.replace("\\", "/")).parts or ":" in name:
            return None, f"the archive member {name!r} points outside the archive (zip slip): refused"
    shapefiles = [m.filename for m in members if m.filename.lower().endswith(".shp")]
    if len(shapefiles) != 1:
        return None, f"a zipped Shapefile must hold exactly one .shp, this one holds {len(shapefiles)}"
    return shapefiles[0], None


def _transformer(crs: str | None, file_crs: str | None):
    source = crs if crs and crs.upper().startswith("EPSG:") else file_crs
    if not source:
        return None
    try:
        src = pyproj.CRS.from_user_input(source)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(f"unknown CRS {source!r}: {exc}") from None
    if src.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    return pyproj.Transformer.from_crs(src, "EPSG:4326", always_xy=True)


#: Columns LIBKML adds to every KML layer; they carry no data of ours.
_KML_STRUCTURE = {"description", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility",
                  "drawOrder", "icon", "snippet"}


def _field_names(kind: LayerKind, names: list[str]) -> dict[str, str]:
    """Map the file's column names to declared fields: exact, case-insensitive ("Name"), or a Shapefile's
    10-character name ("open_hours", "desig_year")."""
    from .export import SHAPEFILE_NAMES

    declared = {f.name for f in kind.fields}
    aliases = {f.name.lower(): f.name for f in kind.fields}
    aliases.update({short: name for name, short in SHAPEFILE_NAMES.items()})
    aliases.update({f.name[:10].lower(): f.name for f in kind.fields})
    return {n: n if n in declared else aliases.get(n.lower(), n) for n in names}


def _coerce(fld, value):
    """Text-only formats (CSV, KML) carry numbers and booleans as text (or booleans as 0/1): read them as
    the field declares."""
    if fld is not None and fld.type == "boolean" and isinstance(value, int) and value in (0, 1):
        return bool(value)
    if fld is not None and fld.type == "text" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)  # codes such as adcode 370202
    if not isinstance(value, str) or fld is None:
        return value
    try:
        if fld.type in ("integer", "year"):
            return int(value)
        if fld.type == "number":
            value = float(value)
    except ValueError:
        return value
    if fld.type == "boolean" and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    return value


def _python(value):
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and value == "":
        return None
    return value


def _read_gdal(path: str, kind, source: str, encoding: str | None, crs: str, repair: bool, open_options: dict) -> Layer:
    try:
        meta, _, wkb, columns = pyogrio.raw.read(path, encoding=encoding, **open_options)
    except Exception as exc:  # GDAL's errors name the problem; the user gets them as text
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _refused(kind, source, f"GDAL could not read the file: {message[:300]}")
    try:
        transformer = _transformer(crs, meta.get("crs"))
    except ValueError as exc:
        return _refused(kind, source, str(exc))
    count = len(columns[0]) if columns else (len(wkb) if wkb is not None else 0)
    geoms = shapely.from_wkb(wkb) if wkb is not None else np.full(count, None, dtype=object)
    if transformer is not None:
        geoms = shapely.transform(geoms, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))
    names = list(meta["fields"])
    id_col = next((n for n in ("id", "ID", "fid") if n in names), None)
    renamed, fields = _field_names(kind, names), kind.field_map
    keep = [(renamed[n], col) for n, col in zip(names, columns) if n != id_col and n not in _KML_STRUCTURE]
    features = []
    for i in range(count):
        props = {name: _coerce(fields.get(name), _python(col[i])) for name, col in keep}
        props = {k: v for k, v in props.items() if v is not None}
        fid = _python(columns[names.index(id_col)][i]) if id_col else i + 1
        features.append({"type": "Feature", "id": fid, "properties": props,
                         "geometry": None if geoms[i] is None else shapely.geometry.mapping(geoms[i])})
    system = crs if crs in coords.SYSTEMS else "wgs84"
    return check_features(features, Report(source), kind, crs=system, repair=repair)


def read_file(path: str | Path, kind: LayerKind, *, encoding: str | None = None, crs: str = "wgs84",
              repair: bool = False, source: str | None = None) -> Layer:
    """Read ``path`` as a layer of ``kind``; every problem is in ``layer.report``, nothing raises."""
    path = Path(path)
    source = source or path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return _refused(kind, source, f"unsupported file type {suffix or '(none)'!r}; use one of {', '.join(SUFFIXES)} "
                                      "(a Shapefile goes in a .zip)")
    if not path.is_file() or path.stat().st_size == 0:
        return _refused(kind, source, "the file is empty" if path.is_file() else "cannot read the file")
    if suffix in (".geojson", ".json"):
        if crs not in coords.SYSTEMS:
            return _refused(kind, source, f"GeoJSON is WGS-84 by definition; --crs {crs} applies to GPKG, SHP and "
                                          "CSV files (or use wgs84, gcj02, bd09)")
        return read_layer(path, kind, source=source, encoding=encoding or "utf-8", crs=crs, repair=repair)
    head = path.read_bytes()[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return _refused(kind, source, "this is an HTML page, not a data file (a download that went wrong?)")
    if suffix == ".zip":
        shp, why = check_zip(path)
        if why:
            return _refused(kind, source, why)
        return _read_gdal(f"/vsizip/{path}/{shp}", kind, source, encoding, crs, repair, {})
    options = _CSV_OPTIONS if suffix == ".csv" else {}
    return _read_gdal(str(path), kind, source, encoding, crs, repair, options)
