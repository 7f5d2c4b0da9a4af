"""The one path from a GeoJSON file to a layer: parse, check RFC 7946, normalize to WGS-84, check the kind.

``read_layer`` never raises on bad input: everything found is in the returned report. What is accepted
comes back as shapely geometries (WGS-84, exterior rings counter-clockwise) and property dicts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from . import area, coords, jsontext, rfc7946
from .problems import Report, place
from .properties import as_declared, check_properties, header_map, normalize
from .schema import LayerKind

log = logging.getLogger(__name__)

#: The longest feature id accepted, in characters: it must fit the store on SQLite and PostgreSQL alike
#: (features.feature_id is String(512) and holds the id as JSON text), and a URL.
MAX_ID_LENGTH = 200
#: Characters an id may not hold: control characters, line and paragraph separators, lone surrogates.
_ID_FORBIDDEN = {"Cc", "Cs", "Zl", "Zp"}


def canonical_id(value) -> tuple[str | None, str | None]:
    """The one canonical form of a feature id: text. Return (id, None), or (None, why it is refused).

    A whole number becomes its decimal text (7 and 7.0 become "7", so that 7 and "7" are the same feature);
    refused are non-integral numbers, booleans, other types, the empty string, text with control
    characters, "." and ".." (a URL cannot address them) and ids longer than :data:`MAX_ID_LENGTH`.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        shown = json.dumps(value) if isinstance(value, bool) else type(value).__name__
        return None, f"要素编号必须是文本或整数 a feature id must be text or a whole number, not {shown}"
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            return None, f"要素编号必须是文本或整数 a feature id must be text or a whole number, not {value!r}"
        value = int(value)
    text = str(value)
    if text == "" or {".", ".."} & set(text.split("/")):
        return None, (f"要素编号不能为空或含 . / .. 路径段 a feature id cannot be {text!r}: empty, or with a \".\" or "
                      "\"..\" between slashes (a URL cannot address it)")
    if len(text) > MAX_ID_LENGTH:
        return None, (f"要素编号过长 the feature id is {len(text)} characters long; at most {MAX_ID_LENGTH} "
                      "(use a short code, and put the long text in a property)")
    bad = next((c for c in text if unicodedata.category(c) in _ID_FORBIDDEN), None)
    if bad is not None:
        return None, f"要素编号含控制字符 the feature id contains the control character U+{ord(bad):04X}"
    return text, None


@dataclass
class Layer:
    """The accepted features of one layer, with the report of how they were read."""

    kind: LayerKind
    ids: list = field(default_factory=list)
    properties: list[dict] = field(default_factory=list)
    geometries: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    report: Report | None = None
    #: Features that were refused: {"index", "id", "reasons", "raw"} each, for quarantine.
    refused: list[dict] = field(default_factory=list)
    #: Each accepted feature's position in the input (for the report), when read from one.
    positions: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def _geometries(features: list[dict]) -> np.ndarray:
    """Build shapely geometries in one vectorized call (None stays None)."""
    texts = np.array([json.dumps(f["geometry"]) if f.get("geometry") is not None else None for f in features],
                     dtype=object)
    return shapely.from_geojson(texts, on_invalid="ignore")


_SHAPES_ZH = {"Point": "点", "MultiPoint": "点", "LineString": "线", "MultiLineString": "线", "Polygon": "面",
              "MultiPolygon": "面"}
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}


class _GeometryFacts:
    """Everything checked about the geometries, computed in vectorized shapely calls, not per feature."""

    def __init__(self, geoms: np.ndarray):
        self.type_ids = shapely.get_type_id(geoms)
        self.empty = shapely.is_empty(geoms)
        self.valid = shapely.is_valid(geoms)
        pts, owner = shapely.get_coordinates(geoms, return_index=True)
        outside = ~((pts[:, 0] >= area.BOUNDS[0]) & (pts[:, 0] <= area.BOUNDS[2]) &
                    (pts[:, 1] >= area.BOUNDS[1]) & (pts[:, 1] <= area.BOUNDS[3]))
        self.points, self.owner, self.outside = pts, owner, outside
        self.n_outside = np.bincount(owner[outside], minlength=len(geoms))
        self.n_points = np.bincount(owner, minlength=len(geoms))
        polygonal = np.isin(self.type_ids, (3, 6))
        self.oriented = geoms.copy()
        if polygonal.any():  # RFC 7946 wants exterior rings counter-clockwise
            self.oriented[polygonal] = shapely.orient_polygons(geoms[polygonal])
        self.reoriented = polygonal & ~shapely.equals_exact(self.oriented, geoms, tolerance=0)

    def first_outside(self, i: int) -> tuple[float, float]:
        lon, lat = self.points[np.flatnonzero((self.owner == i) & self.outside)[0]]
        return float(lon), float(lat)


def _check_geometry(kind: LayerKind | None, geom, i: int, facts: _GeometryFacts, repair: bool, add):
    """Return the geometry to keep (perhaps repaired), or None after adding the reason."""
    if geom is None:
        if kind is not None:
            add("没有位置（缺少经纬度或图形）· the feature has no geometry (null); a map layer needs one")
        return None
    name = _TYPE_NAMES[int(facts.type_ids[i])]
    if kind is not None and name not in kind.geometry_types:
        add(f"图形类型不符：{kind.zh}只接受{_SHAPES_ZH.get(kind.geometry_types[0], '')} · geometry type {name} is not "
            f"allowed in {kind.id} ({kind.zh}); allowed: {', '.join(kind.geometry_types)}")
        return None
    if facts.empty[i]:
        add("图形是空的 · the geometry is empty")
        return None
    if kind is not None and facts.n_outside[i]:
        first = facts.first_outside(i)
        add(area.diagnose_outside(*first) + f"（{facts.n_points[i]} 个坐标中 {facts.n_outside[i]} 个在青岛范围外 · "
            f"{facts.n_outside[i]} of {facts.n_points[i]} positions are outside the Qingdao area）",
            fix="swap" if area.looks_swapped(*first) else None)
        return None
    if not facts.valid[i]:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            add(f"图形无效（边线自相交等）· invalid geometry: {reason}; fix it, or ask for a repair "
                "(repair=True / --repair)")
            return None
        geom = shapely.orient_polygons(shapely.make_valid(geom))
        add(f"图形无效，已自动修复 · invalid geometry ({reason}) was repaired with make_valid into a "
            f"{geom.geom_type}", "repaired")
        return geom
    if facts.reoriented[i]:
        add("边界方向已按标准调整（不影响形状）· ring orientation was changed to RFC 7946's right-hand rule "
            "(exterior counter-clockwise)", "repaired")
    return facts.oriented[i]


def _flatten(geoms: np.ndarray, report: Report, indexes: list) -> np.ndarray:
    """The map is 2D: heights are dropped; a warning names the features whose heights were not all zero."""
    with_z = shapely.has_z(geoms)
    if not with_z.any():
        return geoms
    for i in np.flatnonzero(with_z):
        z = shapely.get_coordinates(geoms[i], include_z=True)[:, 2]
        if np.any(z[~np.isnan(z)] != 0):
            report.add("高程值已舍去（地图是平面的）· height values (the third coordinate) were dropped: the map is "
                       "two-dimensional", "warning", index=indexes[int(i)])
    out = geoms.copy()
    out[with_z] = shapely.force_2d(geoms[with_z])
    return out


def _single_parts(geoms: np.ndarray) -> np.ndarray:
    """A multi-geometry of one part is stored as that part: Shapefile and KML cannot tell them apart, and
    the same feature must compare equal whichever format it came back in."""
    single = np.isin(shapely.get_type_id(geoms), (4, 5, 6)) & (shapely.get_num_geometries(geoms) == 1)
    if not single.any():
        return geoms
    out = geoms.copy()
    out[single] = shapely.get_geometry(geoms[single], 0)
    return out


_MULTI = {"MultiPoint": (0, shapely.multipoints), "MultiLineString": (1, shapely.multilinestrings),
          "MultiPolygon": (3, shapely.multipolygons)}


def as_declared_type(kind: LayerKind | None, geoms: np.ndarray) -> np.ndarray:
    """The geometries as clients are given them: all of the kind's one :attr:`LayerKind.geometry_type`, a single
    part made a multi-part geometry of one part where that type is multi-part. The inverse of
    :func:`_single_parts`: stored data keeps single parts, every serialization and export promotes them, so a
    GIS client sees one geometry type per layer (mixed Polygon/MultiPolygon reads as "Unknown")."""
    single_id, make = _MULTI.get(getattr(kind, "geometry_type", None), (None, None))
    if make is None or not len(geoms):
        return geoms
    single = shapely.get_type_id(geoms) == single_id
    if not single.any():
        return geoms
    out = geoms.copy()
    out[single] = make(geoms[single], indices=np.arange(int(single.sum())))
    return out


def check_features(features: list[dict], report: Report, kind: LayerKind | None = None, *,
                   crs: str = "wgs84", repair: bool = False, indexes: list | None = None,
                   swap: frozenset = frozenset()) -> Layer:
    """Normalize and check RFC-valid features for ``kind`` (or just as GeoJSON when kind is None).

    ``indexes`` are the features' positions in the input, for the report (default: 0, 1, 2, ...). ``swap``
    holds the positions whose two coordinates the person asked to exchange (lat/lon given as lon/lat).
    """
    indexes = list(range(len(features))) if indexes is None else indexes
    declared = [({k: v for k, v in (f.get("properties") or {}).items() if v is not None}, []) for f in features]
    if kind is not None:  # Chinese headers and words for values become the declared fields and values
        declared = [as_declared(kind, props) for props, _ in declared]
    for i, (props, _) in zip(indexes, declared):
        if isinstance(props.get("name"), str):
            report.names[i] = props["name"][:80]
    geoms = _geometries(features)
    if swap:
        for j, i in enumerate(indexes):
            if i in swap and geoms[j] is not None:
                geoms[j] = shapely.transform(geoms[j], lambda c: c[:, ::-1])
                report.add("已按你的要求交换经纬度 · latitude and longitude exchanged, as asked", "repaired", index=i,
                           feature_id=features[j].get("id"))
    if crs != "wgs84":
        present = np.array([g is not None for g in geoms], dtype=bool)
        geoms[present] = coords.transform_geometries(geoms[present], lambda x, y: coords.to_wgs84(crs, x, y))
    geoms = _single_parts(_flatten(geoms, report, indexes))
    facts = _GeometryFacts(geoms)
    layer = Layer(kind=kind, report=report)
    seen: dict = {}
    kept = []
    explicit = {canonical_id(f.get("id"))[0] for f in features if f.get("id") is not None}
    taken = set(explicit)  # ids given in the input, and those made up so far
    made: dict[str, int] = {}  # ids made up from content -> the feature they were first made for
    for j, (feature, geom) in enumerate(zip(features, geoms)):
        raw_id, i = feature.get("id"), indexes[j]
        fid, why = canonical_id(raw_id) if raw_id is not None else (None, None)

        def add(message, severity="error", fix=None, _i=i, _fid=raw_id):
            report.add(message, severity, index=_i, feature_id=_fid, fix=fix)

        refused = why is not None
        if why is not None:
            add(why)
        elif fid is not None:
            if fid in seen:
                same = "" if raw_id == fid else f" (read as the text {fid!r})"
                zh, en = place(seen[fid], report.unit)
                add(f"重复的要素编号（与{zh}相同）· duplicate id {raw_id!r}{same} (also {en})")
                refused = True
            seen.setdefault(fid, i)
        # a null property and an absent one mean the same here: keep only the values
        props, notices = declared[j]
        for message in notices:
            add(message, "repaired")
        if kind is not None:
            errors, warnings = check_properties(kind, props)
            for message in errors:
                add(message)
            for message in warnings:
                add(message, "warning")
            refused = refused or bool(errors)
            normalize(kind, props)
        geom = _check_geometry(kind, geom, j, facts, repair, add)
        if geom is None and (kind is not None or feature.get("geometry") is not None):
            refused = True
        if refused:
            reasons = [p.message for p in report.problems if p.index == i and p.severity == "error"]
            layer.refused.append({"index": i, "id": raw_id, "reasons": reasons, "raw": feature})
        else:
            if fid is None:
                base = content_id(kind, props, geom)
                if base in made:
                    report.add(f"与第 {made[base]} 个要素内容完全相同 same content as feature #{made[base]}: both are "
                               "kept; delete one of them if it is a duplicate row", "warning", index=i)
                made.setdefault(base, i)
                fid = _unlike(base, taken)
                taken.add(fid)
            layer.ids.append(fid)
            layer.properties.append(props)
            layer.positions.append(i)
            kept.append(geom)
    layer.geometries = np.array(kept, dtype=object) if kept else np.empty(0, dtype=object)
    return layer


def content_id(kind: LayerKind | None, properties: dict, geometry) -> str:
    """THE rule for the id of a feature that came without one (a CSV or Shapefile row, a GeoJSON feature with
    no id): the layer's id and a hash of the feature's checked content (its properties as canonical JSON and
    its geometry as WKB), e.g. ``outdoor_dining_pilots-3fa4c0e19b2d7a61``. Importing the same rows again
    finds the same ids (nothing changes); different rows, from this file or another, never share one, so an
    append cannot overwrite what it did not mean to (row numbers 1..N did)."""
    text = json.dumps(properties, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    shape = b"" if geometry is None else shapely.to_wkb(geometry, output_dimension=2, byte_order=1)
    digest = hashlib.sha256(text.encode("utf-8") + b"\0" + shape).hexdigest()[:16]
    return f"{kind.id if kind else 'feature'}-{digest}"


def _unlike(fid: str, taken: set) -> str:
    """``fid``, or ``fid-2``, ``fid-3``... when the input holds that id already (rows of identical content,
    or an id given in the file)."""
    if fid not in taken:
        return fid
    n = 2
    while f"{fid}-{n}" in taken:
        n += 1
    return f"{fid}-{n}"


def read_layer(data: bytes | str | Path, kind: LayerKind | None = None, *, source: str | None = None,
               encoding: str = "utf-8", crs: str = "wgs84", repair: bool = False, swap=frozenset()) -> Layer:
    """Read GeoJSON (bytes, or a path) as a layer of ``kind``; problems are in ``layer.report``.

    ``crs`` names the coordinate system of the input (``wgs84``, ``gcj02`` or ``bd09``); the result is
    always WGS-84. With ``kind`` None only RFC 7946 is checked (no schema, no area).
    """
    if isinstance(data, (str, Path)):
        path = Path(data)
        source = source or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            report = Report(source)
            report.add(f"cannot read the file: {exc.strerror or exc}")
            return Layer(kind=kind, report=report)
    report = Report(source or "<upload>")
    return _never_raising(lambda: _read(data, kind, report, encoding, crs, repair, frozenset(swap)), kind, report)


def read_document(doc, kind: LayerKind | None = None, *, source: str | None = None, crs: str = "wgs84",
                  repair: bool = False) -> Layer:
    """Check an already parsed GeoJSON value (read with :func:`layers.jsontext.parse_json`, e.g. from a
    request body) as :func:`read_layer` checks a file."""
    report = Report(source or "<document>")
    if not _known_crs(crs, report):
        return Layer(kind=kind, report=report)
    return _never_raising(lambda: _check_document(doc, kind, report, crs, repair), kind, report)


def _never_raising(work, kind, report: Report) -> Layer:
    try:
        return work()
    except Exception as exc:  # a bug here must still end in a report, never a traceback for the user
        log.exception("unexpected failure reading %s", report.source)
        report.add(f"the file could not be read ({type(exc).__name__}); this is a fault in the reader, "
                   "please report it with the file")
        return Layer(kind=kind, report=report)


def _known_crs(crs: str, report: Report) -> bool:
    if crs not in coords.SYSTEMS:
        report.add(f"unknown coordinate system {crs!r}; use one of {', '.join(coords.SYSTEMS)}")
    return crs in coords.SYSTEMS


def _read(data: bytes, kind, report: Report, encoding: str, crs: str, repair: bool, swap=frozenset()) -> Layer:
    doc = jsontext.parse_json(data, report, encoding) if _known_crs(crs, report) else jsontext.REFUSED
    if doc is jsontext.REFUSED:
        return Layer(kind=kind, report=report)
    return _check_document(doc, kind, report, crs, repair, swap)


def _remember_names(doc, kind, report: Report) -> None:
    """The features' names, before the structural checks, so their problems name the feature too."""
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        return
    headers = header_map(kind) if kind is not None else {"name": "name"}
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(props, dict):
            name = next((v for k, v in props.items() if headers.get("".join(str(k).split()).casefold()) == "name"
                         and isinstance(v, str)), None)
            if name:
                report.names[i] = name[:80]


def _check_document(doc, kind, report: Report, crs: str, repair: bool, swap=frozenset()) -> Layer:
    _remember_names(doc, kind, report)
    passed = rfc7946.check(doc, report)
    if passed is None or any(p.index is None and p.severity == "error" for p in report.problems):
        return Layer(kind=kind, report=report)  # the file as a whole is refused (its root is wrong)
    if kind is not None and doc.get("type") not in ("FeatureCollection", "Feature"):
        report.add(f"a layer file must be a FeatureCollection; this one is a bare {doc.get('type')} geometry "
                   "with no properties")
        return Layer(kind=kind, report=report)
    layer = check_features([f for _, f in passed], report, kind, crs=crs, repair=repair,
                           indexes=[i for i, _ in passed], swap=swap)
    if isinstance(doc.get("features"), list):  # features refused by the structural checks: to quarantine too
        kept = {i for i, _ in passed}
        early = [{"index": i, "id": f.get("id") if isinstance(f, dict) else None, "raw": f,
                  "reasons": [p.message for p in report.errors if p.index == i]}
                 for i, f in enumerate(doc["features"]) if i not in kept]
        layer.refused = sorted(early + layer.refused, key=lambda r: r["index"])
    return layer
