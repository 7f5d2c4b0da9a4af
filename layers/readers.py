"""Reading any supported file into a checked layer: GeoJSON through the strict path of :mod:`layers.load`;
CSV with lon/lat columns, GeoPackage, zipped Shapefile and KML through GDAL (pyogrio); an Excel workbook
(.xlsx) with lon/lat columns as the CSV its first sheet makes (:mod:`layers.xlsx`, openpyxl only).

Uploads are hostile until checked. Each format is opened only by its own GDAL driver (:data:`FORMATS`; the
process keeps no other driver and no network or archive file systems: :mod:`layers.gdalpolicy`), after its
content has been checked to be that format: a CSV is text, a KML is XML with a ``kml`` root and no DTD or
network links, a GeoPackage is an SQLite database whose feature tables are plain tables (no views, no foreign
virtual tables, no triggers but the standard ones) with a bounded row count, and a zipped Shapefile is unpacked
under fixed names into a private folder, so no path GDAL opens is ever formed from a file's content.

Coordinates end up WGS-84 whatever they came in: GCJ-02 and BD-09 through :mod:`layers.coords`, any EPSG
CRS (declared, or read from the file) through pyproj.
"""

from __future__ import annotations

import math
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import pyproj
import shapely
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from . import coords, fieldtypes, gdalpolicy, textenc
from .export import KML_PLACEMARK_ID, restore_formula
from .load import Layer, check_features, read_document, read_layer
from .problems import Report
from .properties import header_map
from .schema import LayerKind

gdalpolicy.apply()

SUFFIXES = (".geojson", ".json", ".csv", ".gpkg", ".zip", ".kml", ".xlsx", ".osm", ".pbf")
#: Suffixes of OpenStreetMap extracts (``.osm`` XML, ``.osm.pbf``): read for the kinds that map OSM tags
#: (layers.planning.osm: protected places), by GDAL's OSM driver in a child process.
OSM_SUFFIXES = (".osm", ".pbf")
#: Limits for zipped uploads: total uncompressed size, compression ratio, number of members.
ZIP_MAX_BYTES, ZIP_MAX_RATIO, ZIP_MAX_MEMBERS = 1 << 30, 200, 1000
#: Column names that hold the feature id, in order of preference (编号 is what a Chinese spreadsheet calls it;
#: 工单编号 a 12345 hotline export's work-order number, so a re-exported ticket updates its complaint).
ID_COLUMNS = ("id", "ID", "Id", "fid", "编号", "工单编号", "工单号")
#: The most features one import may hold; counted before the features are read.
MAX_FEATURES = 1_000_000
_CSV_OPTIONS = {"X_POSSIBLE_NAMES": "lon,lng,longitude,x,经度", "Y_POSSIBLE_NAMES": "lat,latitude,y,纬度",
                "KEEP_GEOM_COLUMNS": "NO", "AUTODETECT_TYPE": "NO"}  # text: the schema decides types


class Refused(Exception):
    """The file is not what its name says, or is not safe to open; the message is for the person who sent it."""


def _refused(kind, source: str, message: str, fix: str | None = None) -> Layer:
    report = Report(source)
    report.add(message, fix=fix)
    return Layer(kind=kind, report=report)


#: The parts of a Shapefile taken from a zip, under these fixed names; anything else in the archive is ignored.
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_SHAPEFILE_MAGIC = (9994).to_bytes(4, "big")
_WKT_START = re.compile(rb"\s*(PROJCS|GEOGCS|GEOCCS|COMPD_CS|PROJCRS|GEOGCRS|GEODCRS|BOUNDCRS|COMPOUNDCRS)\s*\[", re.I)


def _head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file (uploads may be hundreds of megabytes: never read them whole to look)."""
    with open(path, "rb") as fh:
        return fh.read(size)


def _os_litter(name: str) -> bool:
    """Files an operating system adds to a zip (macOS Finder's __MACOSX/ and ._ resource forks)."""
    parts = name.replace("\\", "/").split("/")
    return parts[0] == "__MACOSX" or parts[-1].startswith("._")


def check_zip(path: Path, part: str = ".shp") -> tuple[str | None, str | None]:
    """Return (the .shp inside, None), or (None, why the archive is refused). ``part=".csv"``: the .csv inside
    (a CSV for GIS, as :mod:`layers.export` zips it with its .csvt and .prj)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        return None, "不是可读的 zip 压缩包 The file is not a readable zip archive (empty, truncated or not a zip)"
    why = archive_problem(members)
    if why:
        return None, why
    found = [m.filename for m in members if m.filename.lower().endswith(part) and not _os_litter(m.filename)]
    if len(found) != 1:
        title = "Shapefile" if part == ".shp" else part[1:].upper()
        return None, (f"压缩包内须恰好有一个 {part} 文件 A zipped {title} must hold exactly one {part}, this one holds "
                      f"{len(found)}")
    return found[0], None


def archive_problem(members: list[zipfile.ZipInfo]) -> str | None:
    """Why an archive (a zip, or an .xlsx, which is one) is refused by its directory alone, before anything in
    it is unpacked: too many members, a possible zip bomb (unpacked size or ratio), a member outside it."""
    if len(members) > ZIP_MAX_MEMBERS:
        return f"压缩包内文件过多 The archive has {len(members)} members; at most {ZIP_MAX_MEMBERS}"
    total = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if total > ZIP_MAX_BYTES or total / packed > ZIP_MAX_RATIO:
        return (f"压缩包解压后过大，疑似压缩炸弹 The archive unpacks to {total:,} bytes ({total / packed:.0f} times "
                      "its size): refused as a possible zip bomb")
    for m in members:
        name = m.filename
        if name.startswith(("/", "\\")) or ".." in Path(name.replace("\\", "/")).parts or ":" in name:
            return f"压缩包内路径越界 The archive member {name!r} points outside the archive (zip slip): refused"
    return None


def _zipped_csv(path: Path) -> bool:
    """Whether a zip holds a CSV (one .csv and no .shp: a CSV for GIS as the map exports it) rather than a
    Shapefile."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n.lower() for n in archive.namelist() if not _os_litter(n)]
    except zipfile.BadZipFile:
        return False
    return not any(n.endswith(".shp") for n in names) and sum(n.endswith(".csv") for n in names) == 1


def _copy_parts(path: Path, member: str, parts: tuple[str, ...], folder: Path, stem: str) -> None:
    """Copy the members named like ``member`` with each of ``parts`` out of the zip into ``folder`` as
    ``stem<part>`` (names we choose, never the archive's)."""
    base = member[:-len(Path(member).suffix)].lower()
    with zipfile.ZipFile(path) as archive:
        by_name = {m.filename.lower(): m for m in archive.infolist()}
        for part in parts:
            found = by_name.get(base + part)
            if found is None:
                continue
            with archive.open(found) as src, open(folder / f"{stem}{part}", "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def _check_prj(prj: Path) -> None:
    if prj.exists() and prj.stat().st_size:
        text = _head(prj, 65536)
        if not _WKT_START.match(text[:256]):
            raise Refused("压缩包里的 .prj 不是坐标系定义 The .prj in the archive is not a WKT coordinate system "
                          "definition")
        check_crs_text(text.decode("utf-8", "replace"))


def _unpack_shapefile(path: Path, folder: Path) -> Path:
    """Copy the Shapefile's parts out of the zip into ``folder`` as layer.shp, layer.dbf… (names we choose,
    never the archive's) and check that they are what they claim to be."""
    shp, why = check_zip(path)
    if why:
        raise Refused(why)
    _copy_parts(path, shp, _SHAPEFILE_PARTS, folder, "layer")
    target = folder / "layer.shp"
    if _head(target, 4) != _SHAPEFILE_MAGIC:
        raise Refused("压缩包里的 .shp 不是 Shapefile The .shp in the archive is not a Shapefile (its header is wrong)")
    _check_prj(folder / "layer.prj")
    return target


def _check_text(path: Path, title: str) -> None:
    """A CSV must be text: not XML (an OGR VRT, say), JSON, a database or an archive under another name."""
    head = _head(path, 65536)
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"\0" in head or body.startswith((b"<", b"{", b"[", b"SQLite format 3", b"PK\x03\x04")):
        kind = ("XML" if body.startswith(b"<") else "JSON" if body.startswith((b"{", b"[")) else "binary data")
        raise Refused(f"文件内容不是 {title} 文本 This file is named .csv but holds {kind}, not {title} text: refused")


_KML_ROOTS = ("{http://www.opengis.net/kml/2.2}kml", "{http://earth.google.com/kml/2.0}kml",
              "{http://earth.google.com/kml/2.1}kml", "{http://earth.google.com/kml/2.2}kml", "kml")
#: KML elements that make a reader fetch another file or URL.
_KML_LINKS = ("NetworkLink", "Link", "Url")


def _check_kml(path: Path) -> None:
    """A KML must be XML with a ``kml`` root, no DTD or entities (defusedxml refuses them) and nothing that
    points at another file or URL."""
    try:
        root = None
        for event, element in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if event == "end":
                element.clear()  # only the tags matter here; a large KML is not kept in memory
                continue
            if root is None:
                root = element.tag
                if root not in _KML_ROOTS:
                    raise Refused("文件内容不是 KML This file is named .kml but its XML root is not <kml>: refused")
            if element.tag.rsplit("}", 1)[-1] in _KML_LINKS:
                raise Refused("KML 中含有网络链接 The KML has a NetworkLink/Link to another file or URL: refused; "
                              "export the placemarks themselves")
    except (DefusedXmlException, SyntaxError) as exc:
        raise Refused(f"KML 不是合规的 XML The KML is not plain well-formed XML ({type(exc).__name__}: "
                      f"{str(exc)[:120]}); DTDs and entities are not accepted") from None


_GPKG_IDS = {0x47504B47, 0x47503130, 0x47503131}  # "GPKG", "GP10", "GP11"
#: Triggers GeoPackage writers (GDAL, QGIS, ArcGIS) create; they only run on writes. Any other is refused.
_GPKG_TRIGGERS = re.compile(r"^(rtree_.+_(insert\d*|update\d*|delete)|gpkg_.+|trigger_(insert|delete)_feature_count_.+"
                            r"|.+_(insert|update)_valid_.+|fgti_.+)$", re.I)


#: The only virtual table a GeoPackage may hold: its R-tree spatial index, exactly as GeoPackage writers make it.
_RTREE = re.compile(r'\s*CREATE\s+VIRTUAL\s+TABLE\s+(?:"rtree_[^"]+"|rtree_\w+)\s+USING\s+rtree\s*'
                    r'\(\s*\w+\s*(?:,\s*\w+\s*){4}\)\s*', re.I)
#: What in a CRS definition (WKT1 EXTENSION["PROJ4", …] nodes carry PROJ strings) makes PROJ open a file:
#: +init and +file, grid lists other than the null grid "@null" (old GDAL's Web Mercator), PROJ4_GRIDS.
_CRS_FILE_HOOKS = re.compile(r"\+\s*(init|file)\b|PROJ4_GRIDS", re.I)
_CRS_GRIDS = re.compile(r"\b(?:nad|geoid)?grids\s*=\s*([^\s\"\]]*)", re.I)


def check_crs_text(text: str) -> None:
    """Refuse a coordinate-system definition from a file that could make PROJ open files or grids."""
    if _CRS_FILE_HOOKS.search(text) or any(grids != "@null" for grids in _CRS_GRIDS.findall(text)):
        raise Refused("坐标系定义含有 PROJ 扩展，不予接受 The file's coordinate system carries PROJ extensions "
                      "(EXTENSION/PROJ4, +init, grids): refused; save it with a plain EPSG coordinate system")


def _one_table(tables: list[str], layer_id: str | None) -> str:
    """The feature table to read: the only one, or the one named like the layer; never a guess."""
    if len(tables) == 1:
        return tables[0]
    if layer_id in tables:
        return layer_id
    raise Refused(f"GeoPackage 含有 {len(tables)} 个要素表（{'、'.join(tables[:10])}），无法确定导入哪一个：请只保留要导入的表，"
                  f"或将其命名为 {layer_id} · The GeoPackage holds {len(tables)} feature tables ({', '.join(tables[:10])}); "
                  f"keep only the one to import, or name it {layer_id!r}")


def check_geopackage(path: Path, max_features: int | None = None, layer_id: str | None = None) -> str:
    """Look inside an uploaded GeoPackage with SQLite itself (read-only, immutable, untrusted schema) before
    GDAL opens it; return the feature table to read, or raise :class:`Refused`.

    Refused: other SQLite files, views (a recursive view made a 98 KB file take 3.2 GB), virtual tables other
    than the R-tree index, triggers other than the standard ones, a feature table that is not a plain table,
    and more than ``max_features`` rows (counted before anything is read)."""
    max_features = MAX_FEATURES if max_features is None else max_features
    header = _head(path, 100)
    if not header.startswith(b"SQLite format 3\0") or int.from_bytes(header[68:72], "big") not in _GPKG_IDS:
        raise Refused("文件内容不是 GeoPackage This file is named .gpkg but is not a GeoPackage (SQLite with "
                      "application_id GPKG): refused")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:  # pragma: no cover - the header was checked
        raise Refused(f"无法读取 GeoPackage Cannot read the GeoPackage: {exc}") from None
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        schema = {(type_, name): sql for type_, name, sql in
                  conn.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master")}
        # SQLite's own word on what each table is (not the SQL text, which a file can dress up)
        kinds = {name: type_ for _, name, type_, *_ in conn.execute("PRAGMA main.table_list")}
        for name, type_ in kinds.items():
            if type_ == "view":
                raise Refused(f"GeoPackage 含有视图 {name!r}，不予接受 The GeoPackage has a view ({name!r}): views are "
                              "not accepted in uploads; save the data as a plain table (e.g. QGIS \"Save As\")")
            if type_ == "virtual" and not _RTREE.fullmatch(schema.get(("table", name), "")):
                raise Refused(f"GeoPackage 含有虚拟表 The GeoPackage has a virtual table {name!r} other than its "
                              "spatial index: refused")
            if type_ not in ("table", "virtual", "shadow"):
                raise Refused(f"GeoPackage 含有未知对象 The GeoPackage holds {name!r} of an unknown kind ({type_})")
        for type_, name in schema:
            if type_ == "trigger" and not _GPKG_TRIGGERS.match(name):
                raise Refused(f"GeoPackage 含有非标准触发器 The GeoPackage has a trigger {name!r} that GeoPackage "
                              "writers do not make: refused")
        tables = {name for name, type_ in kinds.items() if type_ == "table" and not name.startswith("sqlite_")}
        for table in tables:  # generated columns are computed when read: a tiny file could cost gigabytes
            quoted = table.replace(chr(34), chr(34) * 2)
            if any(row[6] in (2, 3) for row in conn.execute(f'PRAGMA table_xinfo("{quoted}")')):
                raise Refused(f"GeoPackage 的表 {table!r} 含有计算列 The table {table!r} has generated (computed) "
                              "columns: refused; save the data as plain values")
        if "gpkg_spatial_ref_sys" in tables:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(gpkg_spatial_ref_sys)")}
            for column in {"definition", "definition_12_063"} & columns:
                for (definition,) in conn.execute(f"SELECT {column} FROM gpkg_spatial_ref_sys"):
                    check_crs_text(str(definition or ""))
        if "gpkg_contents" not in tables:
            raise Refused("GeoPackage 缺少 gpkg_contents 表 The GeoPackage has no gpkg_contents table: not a GeoPackage")
        features = [r[0] for r in conn.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")]
        if not features:
            raise Refused("GeoPackage 中没有要素表 The GeoPackage has no feature table")
        missing = [t for t in features if t not in tables]
        if missing:
            raise Refused(f"GeoPackage 的要素表 {missing[0]!r} 不是普通表 The feature table {missing[0]!r} is not a "
                          "plain table: refused")
        table = _one_table(features, layer_id)
        rows = conn.execute(f'SELECT count(*) FROM "{table.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise Refused(f"GeoPackage 已损坏 The GeoPackage is damaged or not SQLite ({exc})") from None
    finally:
        conn.close()
    if rows > max_features:
        raise Refused(f"要素过多 The GeoPackage's table {table!r} holds {rows:,} features; one import takes at most "
                      f"{max_features:,}: split the file")
    return table


@dataclass(frozen=True)
class GdalFormat:
    """A format read through GDAL: the one driver that may open it, how its path is given to GDAL, and the
    check its content must pass first: ``prepare(path, private folder, kind) -> (the path to open, read options)``,
    raising :class:`Refused`."""

    title: str
    driver: str
    prepare: Callable[[Path, Path, LayerKind], tuple[Path, dict]]
    prefix: str = ""  # a driver prefix GDAL honours ("CSV:path" is opened by the CSV driver only)
    open_options: dict = field(default_factory=dict)


def _prepare_csv(path: Path, _folder: Path, _kind: LayerKind) -> tuple[Path, dict]:
    _check_text(path, "CSV")
    return path, {}


def _transcoded(path: Path, folder: Path, encoding: str) -> Path:
    """A CSV in another encoding (GBK/GB18030), as UTF-8 under a fixed name in the private folder: GDAL matches
    the coordinate columns (经度, 纬度) on the header's UTF-8 bytes."""
    try:
        text = path.read_bytes().decode(encoding)
    except LookupError:
        raise Refused(f"编码 {encoding!r} 无法识别 Unknown text encoding {encoding!r}; use utf-8 or gb18030") from None
    except UnicodeDecodeError as exc:
        raise Refused(f"文件不是 {encoding} 编码 The file is not {encoding} text (byte {exc.start:,})") from None
    target = folder / "upload.csv"
    target.write_text(text, "utf-8")
    return target


def _prepare_kml(path: Path, _folder: Path, _kind: LayerKind) -> tuple[Path, dict]:
    _check_kml(path)
    return path, {}


def _prepare_gpkg(path: Path, _folder: Path, kind: LayerKind) -> tuple[Path, dict]:
    return path, {"layer": check_geopackage(path, layer_id=kind.id)}


def _prepare_zip(path: Path, folder: Path, _kind: LayerKind) -> tuple[Path, dict]:
    return _unpack_shapefile(path, folder), {}


def _prepare_zipped_csv(path: Path, folder: Path, _kind: LayerKind) -> tuple[Path, dict]:
    """A CSV for GIS (a zip of one .csv, its .csvt of column types and its .prj): the three copied out as
    upload.csv, upload.csvt, upload.prj, which GDAL's CSV driver reads together."""
    csv, why = check_zip(path, ".csv")
    if why:
        raise Refused(why)
    _copy_parts(path, csv, (".csv", ".csvt", ".prj"), folder, "upload")
    _check_prj(folder / "upload.prj")
    _check_text(folder / "upload.csv", "CSV")
    return folder / "upload.csv", {}


#: Declared suffix -> the only driver that opens it (every one is in gdalpolicy.DRIVERS) and its check.
FORMATS = {
    ".csv": GdalFormat("CSV", "CSV", _prepare_csv, "CSV:", _CSV_OPTIONS),
    ".gpkg": GdalFormat("GeoPackage", "GPKG", _prepare_gpkg),
    ".zip": GdalFormat("Shapefile (zip)", "ESRI Shapefile", _prepare_zip),
    ".kml": GdalFormat("KML", "LIBKML", _prepare_kml),
}
#: A .zip holding a CSV instead of a Shapefile (the map's "CSV for GIS" download).
_ZIPPED_CSV = GdalFormat("CSV (zip)", "CSV", _prepare_zipped_csv, "CSV:", _CSV_OPTIONS)
if not {f.driver for f in FORMATS.values()} <= gdalpolicy.DRIVERS:  # pragma: no cover - a declaration error
    raise RuntimeError("layers.readers.FORMATS names a driver that layers.gdalpolicy does not keep")


def check_crs(value: str) -> str:
    """The one rule for a CRS a person names: wgs84, gcj02, bd09 or EPSG:<digits>; raise ValueError otherwise."""
    if value in coords.SYSTEMS:
        return value
    if re.fullmatch(r"(?i:epsg):[0-9]{4,6}", value or ""):
        return "EPSG:" + value[5:]
    raise ValueError(f"坐标系 {value!r} 无法识别 Unknown coordinate system {value!r}: use wgs84, gcj02, bd09 or "
                     "EPSG:NNNN (e.g. EPSG:4549)")


def _crs(text: str) -> pyproj.CRS:
    """A CRS as GDAL reports it from a file: EPSG:NNNN or WKT. PROJ strings (which can name files) are not read."""
    if re.fullmatch(r"EPSG:[0-9]{1,6}", text):
        return pyproj.CRS.from_epsg(int(text[5:]))
    return pyproj.CRS.from_wkt(text)


def _transformer(crs: str | None, file_crs: str | None):
    source = crs if crs and crs.upper().startswith("EPSG:") else file_crs
    if not source:
        return None
    try:
        check_crs_text(source)
        src = _crs(source)
        if src.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
            return None
        return pyproj.Transformer.from_crs(src, "EPSG:4326", always_xy=True)
    except Refused as exc:
        raise ValueError(str(exc)) from None
    except (pyproj.exceptions.CRSError, pyproj.exceptions.ProjError) as exc:
        raise ValueError(f"坐标系无法识别 Unknown CRS {source[:80]!r}: {str(exc)[:200]}") from None


#: Columns LIBKML adds to every KML layer; they carry no data of ours. The Placemark id (read under the name
#: :data:`layers.export.KML_PLACEMARK_ID`) is the feature id when the placemarks have no ``id`` data.
_KML_STRUCTURE = {"description", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility",
                  "drawOrder", "icon", "snippet", KML_PLACEMARK_ID}


def _field_names(kind: LayerKind, names: list[str]) -> dict[str, str]:
    """Map the file's column names to declared fields: exact, case-insensitive ("Name"), a Shapefile's
    10-character name ("open_hours", "desig_year"), or a declared header (名称, 所在区: the registry's
    aliases, by :func:`layers.properties.header_map`, the same table every reader's properties go through)."""
    from .export import SHAPEFILE_NAMES

    declared = {f.name for f in kind.fields}
    aliases = {f.name.lower(): f.name for f in kind.fields}
    aliases.update({short: name for name, short in SHAPEFILE_NAMES.items()})
    aliases.update({f.name[:10].lower(): f.name for f in kind.fields})
    aliases.update(header_map(kind))
    found = {n: n if n in declared else aliases.get(n.lower(), aliases.get("".join(n.split()).casefold(), n))
             for n in names}
    counts = {}
    for target in found.values():
        counts[target] = counts.get(target, 0) + 1
    return {n: n if counts[target] > 1 and n != target else target for n, target in found.items()}


def _python(value):
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and value == "":
        return None
    return value


def _scrub(message: str, folder: Path, source: str) -> str:
    """GDAL's message with the server's paths taken out: the file is named as its sender named it."""
    message = message.replace(str(folder), "").replace("CSV:", "")
    message = re.sub(r"/?layer\.(shp|dbf|shx|prj|cpg)|/?upload\.\w+", source, message)
    return re.sub(r"(?<![\w.])(/[^\s'\"/]+){2,}/?", "…", message)


def _read_gdal(path: Path, fmt: GdalFormat, kind, source: str, encoding: str | None, crs: str, repair: bool,
               swap: frozenset = frozenset(), **read_options) -> Layer:
    try:
        meta, _, wkb, columns = pyogrio.raw.read(fmt.prefix + str(path), encoding=encoding,
                                                 max_features=MAX_FEATURES + 1, **read_options, **fmt.open_options)
    except Exception as exc:  # GDAL's errors name the problem; the user gets them as text, without our paths
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sample = textenc.gb18030_sample(path) if "codec can't decode" in message else None
        if sample is not None:
            return _refused(kind, source, textenc.gb18030_message(sample), fix="gb18030")
        hint = ("；文件可能是 GBK/GB18030 编码，请在“编码”中选择 gb18030 (--encoding gb18030) · the file may be in "
                "GBK/GB18030: choose that encoding") if "codec can't decode" in message else ""
        return _refused(kind, source, f"无法读取文件 GDAL could not read the file: "
                                      f"{_scrub(message, path.parent, source)[:300]}{hint}")
    try:
        transformer = _transformer(crs, meta.get("crs"))
    except ValueError as exc:
        return _refused(kind, source, str(exc))
    count = len(columns[0]) if columns else (len(wkb) if wkb is not None else 0)
    if count > MAX_FEATURES:
        return _refused(kind, source, f"要素过多 The file holds more than {MAX_FEATURES:,} features; one import takes "
                                      "at most that many: split the file")
    geoms = shapely.from_wkb(wkb) if wkb is not None else np.full(count, None, dtype=object)
    if transformer is not None:
        geoms = shapely.transform(geoms, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))
    names = list(meta["fields"])
    kml = fmt.driver == "LIBKML"
    id_col = next((n for n in ID_COLUMNS + ((KML_PLACEMARK_ID,) if kml else ()) if n in names), None)
    renamed, fields = _field_names(kind, names), kind.field_map
    keep = [(renamed[n], col) for n, col in zip(names, columns) if n != id_col and not (kml and n in _KML_STRUCTURE)]
    if fmt.driver == "CSV":  # our CSV exports quote text that starts like a spreadsheet formula: undo it
        keep = [(name, [restore_formula(v) if isinstance(v, str) else v for v in col]) for name, col in keep]
        if id_col:
            columns[names.index(id_col)] = [restore_formula(v) if isinstance(v, str) else v
                                            for v in columns[names.index(id_col)]]
    features = []
    for i in range(count):
        props = {name: fieldtypes.coerce(fields.get(name), _python(col[i])) for name, col in keep}
        props = {k: v for k, v in props.items() if v is not None}
        fid = _python(columns[names.index(id_col)][i]) if id_col else None  # None: load.content_id makes one
        features.append({"type": "Feature", "id": fid, "properties": props,
                         "geometry": None if geoms[i] is None else shapely.geometry.mapping(geoms[i])})
    system = crs if crs in coords.SYSTEMS else "wgs84"
    report = Report(source, unit="row" if fmt.driver == "CSV" else "feature")  # a CSV's rows as a spreadsheet counts them
    return check_features(features, report, kind, crs=system, repair=repair, swap=swap)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an .xls, or a password-protected .xlsx
#: What a workbook may unpack to (all its XML), and its shared strings part alone: openpyxl holds every shared
#: string in memory (about 120 bytes each), so this part bounds the memory one upload can take. A 100,000-row
#: hotline export with long texts unpacks to a few tens of MB; more is refused with the advice to send a CSV.
XLSX_MAX_BYTES, XLSX_MAX_SHARED_STRINGS_BYTES = 300 << 20, 32 << 20
#: The members every .xlsx workbook has (Office Open XML, ECMA-376).
_XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")


def _check_xlsx(path: Path) -> None:
    """An .xlsx must be a real Office Open XML workbook: a zip (not an old .xls, a CSV or HTML under the name)
    whose directory passes :func:`archive_problem` (checked before openpyxl unpacks anything)."""
    head = _head(path, 8)
    if head == _OLE_MAGIC:
        raise Refused("这是旧版 Excel（.xls）或加密的工作簿，无法读取：请在 Excel 中另存为 .xlsx（不设密码）· This is an old Excel "
                      "(.xls) or a password-protected workbook: save it as .xlsx without a password")
    if not head.startswith(b"PK\x03\x04"):
        raise Refused("文件内容不是 Excel 工作簿 This file is named .xlsx but is not an Excel workbook (an .xlsx is a zip "
                      "archive): refused")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise Refused("Excel 工作簿已损坏 The .xlsx is damaged (not a readable zip archive)") from None
    why = archive_problem(members)
    if why:
        raise Refused(why)
    total = sum(m.file_size for m in members)
    shared = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if total > XLSX_MAX_BYTES or shared > XLSX_MAX_SHARED_STRINGS_BYTES:
        raise Refused(f"工作簿解压后过大（{total / 2**20:.0f} MB，其中共享文字 {shared / 2**20:.0f} MB），请另存为 CSV（UTF-8）后导入 · "
                      f"the workbook unpacks to {total / 2**20:.0f} MB ({shared / 2**20:.0f} MB of shared text): at most "
                      f"{XLSX_MAX_BYTES >> 20} MB ({XLSX_MAX_SHARED_STRINGS_BYTES >> 20} MB of shared text); save it as a "
                      "CSV (UTF-8) and import that")
    names = {m.filename for m in members}
    if not all(part in names for part in _XLSX_PARTS):
        raise Refused("文件内容不是 Excel 工作簿 This zip is named .xlsx but holds no Excel workbook (no "
                      "xl/workbook.xml): refused")


def _read_xlsx(path: Path, kind: LayerKind, source: str, crs: str, repair: bool, swap: frozenset) -> Layer:
    """An .xlsx read as the CSV its first sheet's rows make (layers.xlsx), through the CSV path: the same
    lon/lat columns, headers and types. How the sheet was read (which sheet, where its header was) is added to
    the report as warnings."""
    from . import xlsx

    try:
        _check_xlsx(path)
        with tempfile.TemporaryDirectory(prefix="scenemap-read-") as folder:
            target = Path(folder) / "upload.csv"
            try:
                sheet = xlsx.write_csv(path, target, max_rows=MAX_FEATURES,
                                       header_names=_CSV_OPTIONS["X_POSSIBLE_NAMES"].split(","))
            except xlsx.Refused as exc:
                raise Refused(str(exc)) from None
            layer = _read_gdal(target, FORMATS[".csv"], kind, source, None, crs, repair, swap)
    except Refused as exc:
        return _refused(kind, source, str(exc))
    for note in sheet.notes():
        layer.report.add(note, severity="warning")
    return layer


def _read_osm(path: Path, kind: LayerKind, source: str, crs: str, repair: bool) -> Layer:
    """An OpenStreetMap extract, mapped to the kind's categories by layers.planning.osm's one table (read in a
    child process whose GDAL keeps the OSM driver alone), then checked like a GeoJSON file."""
    from .planning import osm

    if kind.id not in osm.KINDS:
        return _refused(kind, source, f"OpenStreetMap 文件只能导入{'、'.join(osm.KINDS.values())} · an OpenStreetMap "
                                      f"extract can be imported into {', '.join(osm.KINDS)} only, not {kind.id}")
    if crs != "wgs84":
        return _refused(kind, source, "OpenStreetMap 数据就是 WGS-84 · OpenStreetMap data is WGS-84: leave the "
                                      "coordinate system at wgs84")
    try:
        document = osm.read_osm(path)
    except ValueError as exc:
        return _refused(kind, source, str(exc))
    if not document["features"]:
        return _refused(kind, source, "文件中没有可识别的敏感点（居住区、学校、幼儿园、医院、诊所、养老院）· the extract has "
                                      "no places the mapping knows (residential land or buildings, schools, "
                                      "kindergartens, hospitals, clinics, nursing homes)")
    return read_document(document, kind, source=source, repair=repair)


def read_file(path: str | Path, kind: LayerKind, *, encoding: str | None = None, crs: str = "wgs84",
              repair: bool = False, source: str | None = None, swap=()) -> Layer:
    """Read ``path`` as a layer of ``kind``, in the format its suffix declares; every problem is in
    ``layer.report``, nothing raises. ``swap``: the (zero-based) features whose lat/lon were given as lon/lat."""
    swap = frozenset(swap)
    path = Path(path)
    source = source or path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return _refused(kind, source, f"不支持的文件类型 Unsupported file type {suffix or '(none)'!r}; use one of "
                                      f"{', '.join(SUFFIXES)} (a Shapefile goes in a .zip)")
    try:
        crs = check_crs(crs)
    except ValueError as exc:
        return _refused(kind, source, str(exc))
    if not path.is_file() or path.stat().st_size == 0:
        return _refused(kind, source, "文件是空的 The file is empty" if path.is_file() else "无法读取文件 Cannot read the file")
    if suffix in (".geojson", ".json"):
        if crs not in coords.SYSTEMS:
            return _refused(kind, source, f"GeoJSON is WGS-84 by definition; --crs {crs} applies to GPKG, SHP and "
                                          "CSV files (or use wgs84, gcj02, bd09)")
        return read_layer(path, kind, source=source, encoding=encoding or "utf-8", crs=crs, repair=repair,
                          swap=swap)
    if suffix == ".xlsx":  # text in a workbook is Unicode: no encoding applies
        return _read_xlsx(path, kind, source, crs, repair, swap)
    if suffix in OSM_SUFFIXES:
        return _read_osm(path, kind, source, crs, repair)
    head = _head(path, 512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return _refused(kind, source, "这是网页，不是数据文件 This is an HTML page, not a data file (a download that went "
                                      "wrong?)")
    fmt = _ZIPPED_CSV if suffix == ".zip" and _zipped_csv(path) else FORMATS[suffix]
    try:
        with tempfile.TemporaryDirectory(prefix="scenemap-read-") as folder:
            path, options = fmt.prepare(path, Path(folder), kind)
            if fmt.driver == "CSV" and encoding and encoding.replace("-", "").lower() != "utf8":
                path, encoding = _transcoded(path, Path(folder), encoding), None
            return _read_gdal(path, fmt, kind, source, encoding, crs, repair, swap, **options)
    except Refused as exc:
        return _refused(kind, source, str(exc))
