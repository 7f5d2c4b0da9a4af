"""Writing layers (or selections of them) to GIS formats with GDAL through pyogrio.

GeoJSON, GeoPackage, CSV (lon/lat columns for points, WKT otherwise), zipped Shapefile (UTF-8, with a
.cpg so Chinese text survives) and KML. Several layers go into one GeoPackage, or one zip for the others.
Text cells of CSV files are neutralized against spreadsheet formulas (:func:`neutralize_formula`).
"""

from __future__ import annotations

import io
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from pyogrio import raw

from .load import Layer

#: Shapefile (dBase) field names are at most 10 characters; these are the project's short names.
SHAPEFILE_NAMES = {"designation_year": "desig_year", "opening_hours": "open_hours", "is_24h_pilot": "is_24h",
                   "weekend_block": "weekend"}


@dataclass(frozen=True)
class Format:
    title: str
    driver: str
    suffix: str
    mimetype: str
    layer_options: dict = field(default_factory=dict)


FORMATS = {
    "geojson": Format("GeoJSON", "GeoJSON", ".geojson", "application/geo+json", {"RFC7946": "YES", "ID_FIELD": "id"}),
    "gpkg": Format("GeoPackage", "GPKG", ".gpkg", "application/geopackage+sqlite3"),
    "csv": Format("CSV", "CSV", ".csv", "text/csv"),
    "shp": Format("Shapefile (zip)", "ESRI Shapefile", ".shp", "application/zip"),  # encoding UTF-8 writes the .cpg
    # LIBKML writes the "id" field as the Placemark id and "name" as its name
    "kml": Format("KML", "LIBKML", ".kml", "application/vnd.google-earth.kml+xml"),
}


#: What a spreadsheet takes for the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _quoted(text: str) -> bool:
    """Whether ``text`` is a neutralized cell: a quote, then a formula start or another quote."""
    return text[:1] == "'" and text[1:2] in (*FORMULA_STARTS, "'")


def neutralize_formula(text: str) -> str:
    """A text cell a spreadsheet shows as text: prefixed with ``'`` when it starts like a formula (or like
    an already neutralized cell, so that :func:`restore_formula` gives back exactly ``text``)."""
    return "'" + text if text[:1] in FORMULA_STARTS or _quoted(text) else text


def restore_formula(text: str) -> str:
    """The inverse of :func:`neutralize_formula`: ``restore_formula(neutralize_formula(t)) == t`` for every t."""
    return text[1:] if _quoted(text) else text


def _text(values, csv: bool) -> np.ndarray:
    texts = [None if v is None else str(v) for v in values]
    return np.array([neutralize_formula(t) if csv and t is not None else t for t in texts], dtype=object)


def _column(fld_type: str, values: list, csv: bool = False):
    present = np.array([v is not None for v in values], dtype=bool)
    if fld_type in ("integer", "year"):
        return np.array([v if v is not None else 0 for v in values], dtype=np.int64), ~present
    if fld_type == "number":
        return np.array([v if v is not None else np.nan for v in values], dtype=np.float64), None
    if fld_type == "boolean":
        return np.array([bool(v) for v in values], dtype=bool), ~present
    return _text(values, csv), None


def _geometry_type(geoms: np.ndarray) -> tuple[str, bool]:
    names = set(shapely.get_type_id(geoms).tolist())
    single = {0: "Point", 1: "LineString", 3: "Polygon"}
    multi = {4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}
    if len(names) == 1:
        (tid,) = names
        return single.get(tid) or multi.get(tid) or "Unknown", False
    for s_id, m_id in ((0, 4), (1, 5), (3, 6)):
        if names == {s_id, m_id}:
            return multi[m_id], True
    return "Unknown", False


def _write(path: Path, kind, layer: Layer, positions: np.ndarray, fmt: Format, layer_name: str, append: bool):
    geoms = layer.geometries[positions]
    props = [layer.properties[i] for i in positions]
    csv = fmt.driver == "CSV"
    names, data, masks = ["id"], [_text([layer.ids[i] for i in positions], csv)], [None]
    for fld in kind.fields:
        column, mask = _column(fld.type, [p.get(fld.name) for p in props], csv)
        names.append(SHAPEFILE_NAMES.get(fld.name, fld.name) if fmt.driver == "ESRI Shapefile" else fld.name)
        data.append(column)
        masks.append(mask)
    gtype, promote = _geometry_type(geoms) if len(geoms) else (kind.geometry_types[-1], False)
    layer_options = dict(fmt.layer_options)
    wkb = shapely.to_wkb(geoms)
    if csv:
        if kind.is_point_layer:
            names += ["lon", "lat"]
            data += [shapely.get_x(geoms), shapely.get_y(geoms)]
            masks += [None, None]
            wkb, gtype = None, None
        else:
            layer_options["GEOMETRY"] = "AS_WKT"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on field widths are not news here
        raw.write(str(path), wkb, data, names, field_mask=masks, layer=layer_name, driver=fmt.driver,
                  geometry_type=gtype, crs="EPSG:4326" if wkb is not None else None, encoding="UTF-8",
                  promote_to_multi=promote or (fmt.driver == "ESRI Shapefile" and not kind.is_point_layer) or None,
                  append=append, layer_options=layer_options or None)


def export(selections: list[tuple], format_name: str, basename: str) -> tuple[bytes, str, str]:
    """Write ``selections`` — (kind, layer, positions) — as ``format_name``; return (bytes, filename, mimetype).

    One selection in GeoJSON, GeoPackage, CSV or KML is one file; several go into one GeoPackage, or one
    zip of files; a Shapefile is always a zip (.shp .shx .dbf .prj .cpg).
    """
    fmt = FORMATS[format_name]
    with tempfile.TemporaryDirectory(prefix="scenemap-export-") as tmp:
        tmp = Path(tmp)
        if fmt.driver == "GPKG":
            path = tmp / f"{basename}.gpkg"
            for i, (kind, layer, positions) in enumerate(selections):
                _write(path, kind, layer, positions, fmt, kind.id, append=i > 0)
            return path.read_bytes(), path.name, fmt.mimetype
        for kind, layer, positions in selections:
            _write(tmp / f"{kind.id}{fmt.suffix}", kind, layer, positions, fmt, kind.id, append=False)
        files = sorted(p for p in tmp.iterdir())
        if len(selections) == 1 and fmt.driver != "ESRI Shapefile":
            return files[0].read_bytes(), f"{basename}{fmt.suffix}", fmt.mimetype
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.name)
        return buffer.getvalue(), f"{basename}{'' if fmt.driver == 'ESRI Shapefile' else '-' + format_name}.zip", "application/zip"
