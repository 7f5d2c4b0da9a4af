"""Writing layers (or selections of them) to GIS formats with GDAL through pyogrio.

GeoJSON, GeoPackage, CSV (lon/lat columns for points, WKT otherwise), zipped Shapefile (UTF-8, with a
.cpg so Chinese text survives) and KML. Several layers go into one GeoPackage, or one zip for the others.
Text cells of CSV files are neutralized against spreadsheet formulas (:func:`neutralize_formula`).
Whole layer versions are exported once and kept as files (:class:`ExportCache`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import shapely
from pyogrio import raw

from . import fieldtypes, gdalpolicy
from .load import Layer

gdalpolicy.apply()
log = logging.getLogger(__name__)

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
    dataset_options: dict = field(default_factory=dict)


FORMATS = {
    "geojson": Format("GeoJSON", "GeoJSON", ".geojson", "application/geo+json", {"RFC7946": "YES", "ID_FIELD": "id"}),
    # GeoPackage 1.2: GDAL 3.6 / QGIS 3.22 (still common in city offices) warn on every open of GDAL's default 1.4
    "gpkg": Format("GeoPackage", "GPKG", ".gpkg", "application/geopackage+sqlite3", dataset_options={"VERSION": "1.2"}),
    "csv": Format("CSV", "CSV", ".csv", "text/csv"),
    # the same CSV with a UTF-8 byte-order mark: Excel on Chinese Windows otherwise reads it as GBK (mojibake)
    "csv-excel": Format("CSV (Excel)", "CSV", ".csv", "text/csv", {"WRITE_BOM": "YES"}),
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


def _column(fld, values: list, csv: bool = False):
    data, mask = fieldtypes.column(fld, values)
    if csv and data.dtype == object:
        data = np.array([neutralize_formula(t) if t is not None else t for t in data], dtype=object)
    return data, mask


#: A Shapefile (dBase) text field holds at most 254 bytes; GDAL cuts longer UTF-8 text in mid-character.
DBF_TEXT_BYTES = 254


def _fit_dbf(column: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Text cut to the dBase limit on a character boundary; and the rows that were cut."""
    cut = []
    fitted = column.copy()
    for i, text in enumerate(column):
        if isinstance(text, str) and len(text.encode("utf-8")) > DBF_TEXT_BYTES:
            fitted[i] = text.encode("utf-8")[:DBF_TEXT_BYTES].decode("utf-8", "ignore")
            cut.append(i)
    return fitted, cut


def _note_cuts(path: Path, cuts: list[tuple[str, str, int]]) -> None:
    """A note in the Shapefile's zip naming each text that was cut, so nobody takes a cut text for the whole."""
    lines = ["以下文本超过 Shapefile 每个字段 254 字节的上限，已在字符边界处截断；完整内容请下载 GeoPackage 或 GeoJSON。",
             "These texts exceed the Shapefile limit of 254 bytes per field and were cut on a character boundary; "
             "download GeoPackage or GeoJSON for the whole text.", "", "id\tfield\tcharacters (whole text)"]
    lines += [f"{fid}\t{name}\t{length}" for fid, name, length in cuts]
    path.write_text("\n".join(lines) + "\n", "utf-8")


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
        column, mask = _column(fld, [p.get(fld.name) for p in props], csv)
        names.append(SHAPEFILE_NAMES.get(fld.name, fld.name) if fmt.driver == "ESRI Shapefile" else fld.name)
        data.append(column)
        masks.append(mask)
    if fmt.driver == "LIBKML":  # KML "bool" fields read back as 0 in GDAL 3.6 / QGIS 3.22: write 1 and 0
        data = [column.astype(np.int64) if column.dtype == bool else column for column in data]
    if fmt.driver == "ESRI Shapefile":
        ids, cuts = [str(layer.ids[i]) for i in positions], []
        for j, (name, column) in enumerate(zip(names, data)):
            if column.dtype == object:
                data[j], rows = _fit_dbf(column)
                cuts += [(ids[r], name, len(column[r])) for r in rows]
        if cuts:
            _note_cuts(path.with_suffix(".truncated.txt"), cuts)
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
                  append=append, layer_options=layer_options or None,
                  dataset_options=(fmt.dataset_options or None) if not append else None)


def attachment(format_name: str, basename: str, count: int = 1) -> tuple[str, str]:
    """(file name, mimetype) of ``count`` selections written as ``format_name``: one file for one selection
    in GeoJSON, GeoPackage, CSV or KML, and for any number in GeoPackage; otherwise a zip."""
    fmt = FORMATS[format_name]
    if fmt.driver == "GPKG" or (count == 1 and fmt.driver != "ESRI Shapefile"):
        return f"{basename}{fmt.suffix}", fmt.mimetype
    return f"{basename}{'' if fmt.driver == 'ESRI Shapefile' else '-' + format_name}.zip", "application/zip"


def write(selections: list[tuple], format_name: str, basename: str, directory: Path) -> tuple[Path, str, str]:
    """Write ``selections`` — (kind, layer, positions) — as ``format_name`` into the empty ``directory``;
    return (the file, its download name, its mimetype). A Shapefile is always a zip (.shp .shx .dbf .prj .cpg).
    """
    fmt = FORMATS[format_name]
    filename, mimetype = attachment(format_name, basename, len(selections))
    parts = Path(directory) / "parts"
    parts.mkdir()
    if fmt.driver == "GPKG":
        for i, (kind, layer, positions) in enumerate(selections):
            _write(parts / filename, kind, layer, positions, fmt, kind.id, append=i > 0)
        return parts / filename, filename, mimetype
    for kind, layer, positions in selections:
        _write(parts / f"{kind.id}{fmt.suffix}", kind, layer, positions, fmt, kind.id, append=False)
    files = sorted(parts.iterdir())
    if mimetype != "application/zip":
        return files[0], filename, mimetype
    target = Path(directory) / filename
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.name)
    return target, filename, mimetype


def export(selections: list[tuple], format_name: str, basename: str) -> tuple[bytes, str, str]:
    """Like :func:`write`, in memory: (bytes, filename, mimetype)."""
    with tempfile.TemporaryDirectory(prefix="scenemap-export-") as tmp:
        path, filename, mimetype = write(selections, format_name, basename, Path(tmp))
        return path.read_bytes(), filename, mimetype


@dataclass
class CachedExport:
    """An open cached export: read it from ``file`` (it stays readable even if a newer version drops it)."""

    file: BinaryIO
    size: int
    mtime: float
    filename: str
    mimetype: str


#: Raised whenever what an export writes changes (a format option, a column): cached files of an older
#: revision are then built again instead of being served (2: GeoPackage 1.2; 3: Shapefile text cut on a
#: character boundary, with a note; 4: KML booleans as 1/0).
EXPORT_REVISION = 4


class ExportCache:
    """Exports of whole layer versions, written once and kept as files that every process using the same
    ``directory`` shares: ``<directory>/<layer id>/v<version>-<digest>-r<revision>-<format><suffix>``.

    A file is built under an exclusive lock per layer (a request that waits for it gets the file the first
    one built), in a temporary folder beside it, then renamed into place, so a reader never sees half a file.
    Building a version drops the layer's files of older versions (and of other contents with the same number,
    as after a store was reset); files of newer versions are left, as another process may be ahead.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _path(self, layer_id: str, version: int, digest: str, format_name: str) -> Path:
        suffix = Path(attachment(format_name, layer_id)[0]).suffix
        return self.directory / layer_id / f"v{version}-{digest}-r{EXPORT_REVISION}-{format_name}{suffix}"

    def open(self, kind, layer: Layer, version: int, digest: str, format_name: str,
             basename: str) -> CachedExport:
        """The whole of ``layer`` (version ``version``, content ``digest``) as ``format_name``, built if need be."""
        path = self._path(kind.id, version, digest, format_name)
        filename, mimetype = attachment(format_name, basename)
        file = self._try_open(path) or self._build(path, kind, layer, version, digest, format_name)
        stat = os.fstat(file.fileno())
        return CachedExport(file, stat.st_size, stat.st_mtime, filename, mimetype)

    @staticmethod
    def _try_open(path: Path) -> BinaryIO | None:
        try:
            return path.open("rb")
        except FileNotFoundError:
            return None

    def _build(self, path: Path, kind, layer: Layer, version: int, digest: str, format_name: str) -> BinaryIO:
        folder = path.parent
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the lock file is closed
            file = self._try_open(path)  # built by another request while this one waited
            if file is not None:
                return file
            self._drop(folder, version, f"v{version}-{digest}-r{EXPORT_REVISION}-")
            tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder))
            try:
                built, _, _ = write([(kind, layer, np.arange(len(layer)))], format_name, kind.id, tmp)
                os.replace(built, path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            log.info("exported %s version %d as %s (%d bytes)", kind.id, version, format_name, path.stat().st_size)
            return path.open("rb")

    @staticmethod
    def _drop(folder: Path, version: int, keep: str) -> None:
        """Under the lock: remove files of older versions, other contents of this version, and the leftovers
        of builds that were interrupted (no build is running, as this one holds the lock)."""
        for entry in folder.iterdir():
            if entry.name == ".lock" or entry.name.startswith(keep):
                continue
            if entry.name.startswith(".build-"):
                shutil.rmtree(entry, ignore_errors=True)
                continue
            number = entry.name[1:].split("-", 1)[0]
            if not number.isdigit() or int(number) <= version:
                entry.unlink(missing_ok=True)
                log.info("dropped the old export %s", entry)
