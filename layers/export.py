"""Writing layers (or selections of them) to GIS formats with GDAL through pyogrio.

GeoJSON, GeoPackage, CSV (lon/lat columns for points, WKT otherwise; plain, with a byte-order mark for Excel, or
zipped with a .csvt of column types and a .prj for GIS), zipped Shapefile (UTF-8, with a .cpg so Chinese text
survives) and KML. Several layers go into one GeoPackage, or one zip for the others. Every format gets every
declared field as a typed column (:func:`layers.fieldtypes.column`) and the kind's one geometry type (single
parts promoted to multi-part, :func:`layers.load.as_declared_type`).
Text cells of CSV files are neutralized against spreadsheet formulas (:func:`neutralize_formula`).
Whole layer versions are exported once and kept as files (:class:`ExportCache`).
"""

from __future__ import annotations

import fcntl
import io
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
import pyogrio
import pyproj
import shapely
from pyogrio import raw

from . import fieldtypes, gdalpolicy
from .load import Layer, as_declared_type

gdalpolicy.apply()
log = logging.getLogger(__name__)

#: Shapefile (dBase) field names are at most 10 characters; these are the project's short names.
SHAPEFILE_NAMES = {"designation_year": "desig_year", "opening_hours": "open_hours", "is_24h_pilot": "is_24h",
                   "weekend_block": "weekend", "clear_walkway_m": "walkway_m"}

#: The column LIBKML writes as each Placemark's ``id`` attribute (GDAL's LIBKML_ID_FIELD; by default "id",
#: which LIBKML then leaves out of the placemark's data). The feature id is written both ways: as the Placemark
#: id, and as an ``id`` SimpleData that GDAL 3.6 / QGIS 3.22 read (they do not read Placemark ids). Newer GDAL
#: (3.12 here) reads both: with its defaults the data column arrives as ``id2`` beside the Placemark's ``id``.
#: This process reads the Placemark id under this name too (:mod:`layers.readers`), so ``id`` is the data column.
KML_PLACEMARK_ID = "kml_placemark_id"
#: GDAL reads and writes a Placemark's ``<name>`` as the field named LIBKML_NAME_FIELD (by default "Name"):
#: here it is the declared field ``name``. A client with GDAL's defaults sees the column as "Name".
KML_CONFIG = {"LIBKML_ID_FIELD": KML_PLACEMARK_ID, "LIBKML_NAME_FIELD": "name"}
pyogrio.set_gdal_config_options(KML_CONFIG)


@dataclass(frozen=True)
class Format:
    title: str
    driver: str
    suffix: str
    mimetype: str
    layer_options: dict = field(default_factory=dict)
    dataset_options: dict = field(default_factory=dict)
    #: always a zip, even for one layer (a Shapefile's parts; a CSV with its .csvt and .prj)
    zipped: bool = False
    #: CSV only: write a .csvt of column types and a .prj beside the .csv
    sidecars: bool = False
    #: added to a one-file download's name, so two formats with one suffix download under two names
    name_tag: str = ""


FORMATS = {
    "geojson": Format("GeoJSON", "GeoJSON", ".geojson", "application/geo+json", {"RFC7946": "YES", "ID_FIELD": "id"}),
    # GeoPackage 1.2: GDAL 3.6 / QGIS 3.22 (still common in city offices) warn on every open of GDAL's default 1.4
    "gpkg": Format("GeoPackage", "GPKG", ".gpkg", "application/geopackage+sqlite3", dataset_options={"VERSION": "1.2"}),
    # one .csv file, for spreadsheets and scripts (and the importer)
    "csv": Format("CSV", "CSV", ".csv", "text/csv"),
    # the same CSV with a UTF-8 byte-order mark: Excel on Chinese Windows otherwise reads it as GBK (mojibake)
    "csv-excel": Format("CSV (Excel)", "CSV", ".csv", "text/csv", {"WRITE_BOM": "YES"}, name_tag="-excel"),
    # the same CSV in a zip with a .csvt (column types: QGIS otherwise guesses codes such as adcode as numbers)
    # and a .prj (WGS 84): sidecars need to arrive beside the .csv, which one downloaded file cannot do
    "csv-gis": Format("CSV for GIS (zip: .csv .csvt .prj)", "CSV", ".csv", "application/zip", zipped=True,
                      sidecars=True),
    "shp": Format("Shapefile (zip)", "ESRI Shapefile", ".shp", "application/zip", zipped=True),  # UTF-8 writes a .cpg
    # LIBKML writes the "id" field as the Placemark id and as data, "name" as the Placemark name (KML_CONFIG)
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


#: The line of a Shapefile's cut note after which each line names one cut text.
_NOTE_COLUMNS = "id\tfield\tcharacters (whole text)"
#: The suffix of those notes, beside each layer's Shapefile in the zip.
NOTE_SUFFIX = ".truncated.txt"


def _note_cuts(path: Path, cuts: list[tuple[str, str, int]]) -> None:
    """A note in the Shapefile's zip naming each text that was cut, so nobody takes a cut text for the whole."""
    lines = ["以下文本超过 Shapefile 每个字段 254 字节的上限，已在字符边界处截断；完整内容请下载 GeoPackage 或 GeoJSON。",
             "These texts exceed the Shapefile limit of 254 bytes per field and were cut on a character boundary; "
             "download GeoPackage or GeoJSON for the whole text.", "", _NOTE_COLUMNS]
    lines += [f"{fid}\t{name}\t{length}" for fid, name, length in cuts]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def cut_texts(file: BinaryIO | bytes) -> int:
    """How many texts an export (a zip, as bytes or an open file) says it cut: the lines of its notes. Read from
    the file itself, so an export from the cache says the same as the one just built. 0 for any other file."""
    source = io.BytesIO(file) if isinstance(file, bytes) else file
    start = source.tell()
    try:
        with zipfile.ZipFile(source) as archive:
            notes = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(NOTE_SUFFIX)]
    except zipfile.BadZipFile:
        notes = []
    finally:
        source.seek(start)
    return sum(len(note.split(_NOTE_COLUMNS + "\n", 1)[-1].splitlines()) for note in notes)


def _narrow(column: np.ndarray) -> np.ndarray:
    """Whole numbers as 32-bit integers where they fit, which every format and client types as "Integer"
    (GeoPackage and Shapefile clients otherwise get 64-bit columns, and LIBKML writes them as "string")."""
    if column.dtype == np.int64 and (not len(column) or np.abs(column).max() < 2**31):
        return column.astype(np.int32)
    return column


def _booleans_as_integers(column: np.ndarray) -> np.ndarray:
    """Booleans as 1 and 0, where a format's own boolean does not reach older clients: LIBKML writes "bool",
    which GDAL 3.6 and QGIS 3.22 read as 0 (the value "true" "parsed incompletely to integer 0"); a Shapefile's
    logical field (T/F) they read as text. An integer 1/0 is read as such by every client, and the importer reads
    it back as a boolean."""
    return column.astype(np.int32) if column.dtype == bool else column


#: A .csvt's words for column dtypes: only Integer, Real, Date and String, words QGIS 3.22's delimited-text
#: reader accepts (one other word, such as GDAL's "WKT", "Integer64" or "Integer(Boolean)", makes it ignore the file).
def _csvt_word(column: np.ndarray) -> str:
    if column.dtype.kind in "biu":
        return "Integer"
    if column.dtype.kind == "M":
        return "Date"
    return "Real" if column.dtype.kind == "f" else "String"


#: WGS 84 as a .prj says it (ESRI WKT, as GDAL and QGIS write it for Shapefiles and CSVs).
_WGS84_PRJ = pyproj.CRS.from_epsg(4326).to_wkt("WKT1_ESRI")


def _write(path: Path, kind, layer: Layer, positions: np.ndarray, fmt: Format, layer_name: str, append: bool):
    geoms = as_declared_type(kind, layer.geometries[positions])
    props = [layer.properties[i] for i in positions]
    csv = fmt.driver == "CSV"
    names, data, masks = ["id"], [_text([layer.ids[i] for i in positions], csv)], [None]
    for fld in kind.fields:
        column, mask = _column(fld, [p.get(fld.name) for p in props], csv)
        names.append(SHAPEFILE_NAMES.get(fld.name, fld.name) if fmt.driver == "ESRI Shapefile" else fld.name)
        data.append(_narrow(column))
        masks.append(mask)
    if fmt.driver in ("LIBKML", "ESRI Shapefile"):
        data = [_booleans_as_integers(column) for column in data]
    if fmt.driver == "LIBKML":
        names.append(KML_PLACEMARK_ID)
        data.append(data[0])
        masks.append(None)
    if fmt.driver == "ESRI Shapefile":
        ids, cuts = [str(layer.ids[i]) for i in positions], []
        for j, (name, column) in enumerate(zip(names, data)):
            if column.dtype == object:
                data[j], rows = _fit_dbf(column)
                cuts += [(ids[r], name, len(column[r])) for r in rows]
        if cuts:
            _note_cuts(path.with_suffix(NOTE_SUFFIX), cuts)
    # the kind's one type (a kind of unrelated types, "GeometryCollection", is written as GDAL's "Unknown")
    gtype = "Unknown" if kind.geometry_type == "GeometryCollection" else kind.geometry_type
    layer_options = dict(fmt.layer_options)
    wkb = shapely.to_wkb(geoms)
    csvt = [_csvt_word(column) for column in data]
    if csv:
        if gtype == "Point":
            names += ["lon", "lat"]
            data += [shapely.get_x(geoms), shapely.get_y(geoms)]
            masks += [None, None]
            csvt += ["Real", "Real"]
            wkb, gtype = None, None
        else:
            layer_options["GEOMETRY"] = "AS_WKT"
            csvt.insert(0, "String")  # GDAL's word is "WKT": GDAL reads a column named WKT as geometry anyway
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on field widths are not news here
        raw.write(str(path), wkb, data, names, field_mask=masks, layer=layer_name, driver=fmt.driver,
                  geometry_type=gtype, crs="EPSG:4326" if wkb is not None else None, encoding="UTF-8",
                  append=append, layer_options=layer_options or None,
                  dataset_options=(fmt.dataset_options or None) if not append else None)
    if fmt.sidecars:
        path.with_suffix(".csvt").write_text(",".join(csvt) + "\n", "ascii")
        path.with_suffix(".prj").write_text(_WGS84_PRJ, "ascii")


def attachment(format_name: str, basename: str, count: int = 1) -> tuple[str, str]:
    """(file name, mimetype) of ``count`` selections written as ``format_name``: one file for one selection
    in GeoJSON, GeoPackage, CSV or KML, and for any number in GeoPackage; otherwise a zip."""
    fmt = FORMATS[format_name]
    if fmt.driver == "GPKG" or (count == 1 and not fmt.zipped):
        return f"{basename}{fmt.name_tag if count == 1 else ''}{fmt.suffix}", fmt.mimetype
    return f"{basename}{'' if fmt.driver == 'ESRI Shapefile' else '-' + format_name}.zip", "application/zip"


def refusal(kind, format_name: str) -> str | None:
    """Why ``format_name`` cannot hold the layer kind ``kind``, or None: a Shapefile holds one geometry type,
    so a kind of unrelated types (points and polygons, e.g. sensitive_sites) is not offered as one."""
    if FORMATS[format_name].driver == "ESRI Shapefile" and kind.geometry_type == "GeometryCollection":
        return (f"图层 {kind.id} 含点和面等多种几何类型，Shapefile 只能保存一种：请下载 GeoPackage 或 GeoJSON · "
                f"layer {kind.id} mixes geometry types ({', '.join(kind.geometry_types)}) and a Shapefile holds one: "
                "download GeoPackage or GeoJSON instead")
    return None


def write(selections: list[tuple], format_name: str, basename: str, directory: Path) -> tuple[Path, str, str]:
    """Write ``selections`` — (kind, layer, positions) — as ``format_name`` into the empty ``directory``;
    return (the file, its download name, its mimetype). A Shapefile is always a zip (.shp .shx .dbf .prj .cpg).
    """
    fmt = FORMATS[format_name]
    refused = [r for r in (refusal(kind, format_name) for kind, _, _ in selections) if r]
    if refused:
        raise ValueError(refused[0])
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
    #: texts a Shapefile export had to cut (:func:`cut_texts`), 0 for other formats
    cut_texts: int = 0


#: Raised whenever what an export writes changes (a format option, a column): cached files of an older
#: revision are then built again instead of being served (2: GeoPackage 1.2; 3: Shapefile text cut on a
#: character boundary, with a note; 4: KML booleans as 1/0; 5: the kind's one geometry type (single parts
#: promoted to multi-part), KML integers typed "int" and the id kept as data, CSV for GIS with .csvt and .prj).
EXPORT_REVISION = 5


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
        cuts = cut_texts(file) if FORMATS[format_name].driver == "ESRI Shapefile" else 0
        return CachedExport(file, stat.st_size, stat.st_mtime, filename, mimetype, cuts)

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
