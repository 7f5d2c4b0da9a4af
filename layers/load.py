"""The one path from a GeoJSON file to a layer: parse, check RFC 7946, normalize to WGS-84, check the kind.

``read_layer`` never raises on bad input: everything found is in the returned report. What is accepted
comes back as shapely geometries (WGS-84, exterior rings counter-clockwise) and property dicts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from . import area, coords, jsontext, rfc7946
from .problems import Report
from .properties import check_properties
from .schema import LayerKind

log = logging.getLogger(__name__)


@dataclass
class Layer:
    """The accepted features of one layer, with the report of how they were read."""

    kind: LayerKind
    ids: list = field(default_factory=list)
    properties: list[dict] = field(default_factory=list)
    geometries: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    report: Report | None = None

    def __len__(self) -> int:
        return len(self.ids)


def _geometries(features: list[dict]) -> np.ndarray:
    """Build shapely geometries in one vectorized call (None stays None)."""
    texts = np.array([json.dumps(f["geometry"]) if f.get("geometry") is not None else None for f in features],
                     dtype=object)
    return shapely.from_geojson(texts, on_invalid="ignore")


def _area_problem(geom) -> str | None:
    pts = shapely.get_coordinates(geom)
    outside = ~((pts[:, 0] >= area.BOUNDS[0]) & (pts[:, 0] <= area.BOUNDS[2]) &
                (pts[:, 1] >= area.BOUNDS[1]) & (pts[:, 1] <= area.BOUNDS[3]))
    if outside.any():
        lon, lat = pts[np.argmax(outside)]
        return f"{int(outside.sum())} of {len(pts)} positions are outside the Qingdao area: " + area.diagnose_outside(lon, lat)
    return None


def _check_geometry(kind: LayerKind | None, geom, repair: bool, add) -> object | None:
    """Return the geometry to keep (perhaps repaired), or None after adding the reason."""
    if geom is None:
        if kind is not None:
            add("the feature has no geometry (null); a map layer needs one")
            return None
        return geom
    gtype = shapely.get_type_id(geom)
    name = geom.geom_type
    if kind is not None and name not in kind.geometry_types:
        add(f"geometry type {name} is not allowed in {kind.id} ({kind.zh}); allowed: {', '.join(kind.geometry_types)}")
        return None
    if geom.is_empty:
        add("the geometry is empty")
        return None
    if kind is not None:
        problem = _area_problem(geom)
        if problem:
            add(problem)
            return None
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        if not repair:
            add(f"invalid geometry: {reason}; fix it, or ask for a repair (repair=True / --repair)")
            return None
        geom = shapely.make_valid(geom)
        add(f"invalid geometry ({reason}) was repaired with make_valid into a {geom.geom_type}", "repaired")
    if gtype in (3, 6):  # Polygon, MultiPolygon: RFC 7946 wants exterior rings counter-clockwise
        oriented = shapely.orient_polygons(geom)
        if not shapely.equals_exact(oriented, geom, tolerance=0):
            add("ring orientation was changed to RFC 7946's right-hand rule (exterior counter-clockwise)", "repaired")
        geom = oriented
    return geom


def check_features(features: list[dict], report: Report, kind: LayerKind | None = None, *,
                   crs: str = "wgs84", repair: bool = False) -> Layer:
    """Normalize and check RFC-valid features for ``kind`` (or just as GeoJSON when kind is None)."""
    geoms = _geometries(features)
    if crs != "wgs84":
        present = np.array([g is not None for g in geoms])
        geoms[present] = coords.transform_geometries(geoms[present], lambda x, y: coords.to_wgs84(crs, x, y))
    layer = Layer(kind=kind, report=report)
    seen: dict = {}
    kept = []
    for i, (feature, geom) in enumerate(zip(features, geoms)):
        fid = feature.get("id")

        def add(message, severity="error", _i=i, _fid=fid):
            report.add(message, severity, index=_i, feature_id=_fid)

        refused = False
        if fid is not None:
            if fid in seen:
                add(f"duplicate id {fid!r} (also feature #{seen[fid]})")
                refused = True
            seen.setdefault(fid, i)
        props = feature.get("properties") or {}
        if kind is not None:
            errors, warnings = check_properties(kind, props)
            for message in errors:
                add(message)
            for message in warnings:
                add(message, "warning")
            refused = refused or bool(errors)
        geom = _check_geometry(kind, geom, repair, add)
        if geom is None and (kind is not None or feature.get("geometry") is not None):
            refused = True
        if not refused:
            layer.ids.append(fid if fid is not None else f"{kind.id if kind else 'feature'}-{i + 1}")
            layer.properties.append(props)
            kept.append(geom)
    layer.geometries = np.array(kept, dtype=object) if kept else np.empty(0, dtype=object)
    return layer


def read_layer(data: bytes | str | Path, kind: LayerKind | None = None, *, source: str | None = None,
               encoding: str = "utf-8", crs: str = "wgs84", repair: bool = False) -> Layer:
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
    try:
        return _read(data, kind, report, encoding, crs, repair)
    except Exception as exc:  # a bug here must still end in a report, never a traceback for the user
        log.exception("unexpected failure reading %s", report.source)
        report.add(f"the file could not be read ({type(exc).__name__}); this is a fault in the reader, "
                   "please report it with the file")
        return Layer(kind=kind, report=report)


def _read(data: bytes, kind, report: Report, encoding: str, crs: str, repair: bool) -> Layer:
    if crs not in coords.SYSTEMS:
        report.add(f"unknown coordinate system {crs!r}; use one of {', '.join(coords.SYSTEMS)}")
        return Layer(kind=kind, report=report)
    doc = jsontext.parse_json(data, report, encoding)
    features = rfc7946.check(doc, report) if doc is not jsontext.REFUSED else None
    if features is None:
        return Layer(kind=kind, report=report)
    if kind is not None and doc.get("type") not in ("FeatureCollection", "Feature"):
        report.add(f"a layer file must be a FeatureCollection; this one is a bare {doc.get('type')} geometry "
                   "with no properties")
        return Layer(kind=kind, report=report)
    return check_features(features, report, kind, crs=crs, repair=repair)
