"""Structural checks of GeoJSON (RFC 7946) on parsed JSON, before any geometry library sees it.

shapely would close open rings and accept strings or NaN silently, so positions, nesting, ring closure
and member types are checked here on the raw values. Each problem names the feature and the JSON path.
"""

from __future__ import annotations

import math

from .problems import Report

MAX_COLLECTION_NESTING = 4
_NESTING = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
_FORBIDDEN = {
    "Feature": ("features", "coordinates", "geometries"),
    "FeatureCollection": ("geometry", "properties", "coordinates", "geometries"),
    "geometry": ("properties", "geometry", "features"),
}
_CRS84 = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326",
          "urn:ogc:def:crs:EPSG::4326", "http://www.opengis.net/def/crs/OGC/1.3/CRS84")


def _kind(value) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Checker:
    def __init__(self, report: Report, index=None, feature_id=None):
        self.report, self.index, self.feature_id = report, index, feature_id

    def add(self, message, where, severity="error"):
        self.report.add(message, severity, index=self.index, feature_id=self.feature_id, where=where)

    def foreign(self, obj: dict, kind: str, where: str):
        for member in _FORBIDDEN[kind]:
            if member in obj:
                self.add(f"a {kind} object must not have a {member!r} member (it changes its meaning)", where)
        if "crs" in obj:
            name = str(((obj["crs"] or {}).get("properties") or {}).get("name", "")) if isinstance(obj["crs"], dict) else ""
            if name in _CRS84:
                self.add("the legacy 'crs' member (GeoJSON 2008) is ignored: RFC 7946 coordinates are always "
                         "WGS-84 longitude/latitude", where + ".crs", "warning")
            else:
                self.add(f"the legacy 'crs' member names {name or 'an unknown CRS'!r}; RFC 7946 GeoJSON is always "
                         "WGS-84: convert the coordinates (or import with the CRS declared)", where + ".crs")
        if "bbox" in obj:
            self.bbox(obj["bbox"], where + ".bbox")

    def bbox(self, bbox, where):
        if not isinstance(bbox, list):
            self.add(f"bbox must be an array of numbers, not {_kind(bbox)}", where)
        elif not all(_is_number(v) for v in bbox):
            self.add("every element of a bbox must be a number", where)
        elif len(bbox) not in (4, 6):
            self.add(f"bbox must have 4 elements (2D) or 6 (3D), not {len(bbox)}", where)

    def position(self, pos, where) -> bool:
        if not isinstance(pos, list):
            self.add(f"a position must be an array of numbers, not {_kind(pos)}", where)
            return False
        if len(pos) < 2:
            self.add(f"a position needs 2 or 3 numbers, not {len(pos)}", where)
            return False
        if not all(_is_number(v) for v in pos):
            bad = next(v for v in pos if not _is_number(v))
            self.add(f"each element of a position must be a number, found {_kind(bad)} {bad!r}"[:200], where)
            return False
        if not all(math.isfinite(v) for v in pos):
            self.add("a position contains NaN or Infinity", where)
            return False
        if len(pos) > 3:
            self.add(f"a position has {len(pos)} numbers; only [lon, lat] or [lon, lat, height] are used, "
                     "the rest is dropped", where, "warning")
            del pos[3:]
        lon, lat = pos[0], pos[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            self.add(f"longitude/latitude ({lon:g}, {lat:g}) out of range (-180..180, -90..90): the numbers look "
                     "like projected metres or swapped axes", where)
            return False
        return True

    def coordinates(self, coords, depth, where) -> bool:
        """Check an array nested ``depth`` levels above positions."""
        if depth == 0:
            return self.position(coords, where)
        if not isinstance(coords, list):
            self.add(f"expected an array of {'positions' if depth == 1 else 'arrays'} here, found {_kind(coords)}", where)
            return False
        ok = True
        for i, item in enumerate(coords):
            if _is_number(item):
                self.add("a number was found where an array of positions belongs: it needs to be nested more "
                         "deeply (does the geometry type match the coordinates?)", f"{where}[{i}]")
                return False
            ok = self.coordinates(item, depth - 1, f"{where}[{i}]") and ok
        return ok

    def line(self, coords, where) -> bool:
        if len(coords) < 2:
            self.add(f"a line needs 2 or more positions, it has {len(coords)}", where)
            return False
        return True

    def ring(self, coords, where) -> bool:
        ok = True
        if len(coords) < 4:
            self.add(f"a polygon ring needs 4 or more positions, it has {len(coords)}", where)
            ok = False
        if coords and coords[0] != coords[-1]:
            self.add("a polygon ring is not closed: its first and last positions differ", where)
            ok = False
        return ok

    def geometry(self, geom, where, nested=0) -> bool:
        if not isinstance(geom, dict):
            self.add(f"a geometry must be an object, not {_kind(geom)}", where)
            return False
        gtype = geom.get("type")
        if not isinstance(gtype, str):
            self.add("a geometry needs a string 'type' member" if gtype is None else
                     f"the 'type' member must be a string, not {_kind(gtype)}", where)
            return False
        self.foreign(geom, "geometry", where)
        if gtype == "GeometryCollection":
            return self.collection(geom, where, nested)
        if gtype not in _NESTING:
            known = next((t for t in list(_NESTING) + ["GeometryCollection"] if t.lower() == gtype.lower()), None)
            hint = f" (types are case-sensitive: write {known!r})" if known else ""
            self.add(f"unknown geometry type {gtype!r}{hint}"[:200], where)
            return False
        if "coordinates" not in geom:
            self.add(f"a {gtype} needs a 'coordinates' member", where)
            return False
        coords, depth = geom["coordinates"], _NESTING[gtype]
        if not self.coordinates(coords, depth, where + ".coordinates"):
            return False
        if gtype == "LineString":
            return self.line(coords, where + ".coordinates")
        if gtype == "MultiLineString":
            return all([self.line(c, f"{where}.coordinates[{i}]") for i, c in enumerate(coords)])
        if gtype == "Polygon":
            return self.polygon(coords, f"{where}.coordinates")
        if gtype == "MultiPolygon":
            return all([self.polygon(p, f"{where}.coordinates[{i}]") for i, p in enumerate(coords)])
        return True

    def polygon(self, rings, where) -> bool:
        if not rings:
            self.add("a polygon needs at least its exterior ring", where)
            return False
        return all([self.ring(r, f"{where}[{i}]") for i, r in enumerate(rings)])

    def collection(self, geom, where, nested) -> bool:
        members = geom.get("geometries")
        if not isinstance(members, list):
            self.add(f"a GeometryCollection needs a 'geometries' array, found {_kind(members)}", where)
            return False
        if nested > MAX_COLLECTION_NESTING:
            self.add(f"GeometryCollections are nested more than {MAX_COLLECTION_NESTING} deep", where)
            return False
        if nested:
            self.add("a GeometryCollection inside another should be avoided (RFC 7946 section 3.1.8)", where, "warning")
        if len(members) == 1:
            self.add("a GeometryCollection of a single geometry should be that geometry (RFC 7946 section 3.1.8)",
                     where, "warning")
        return all([self.geometry(g, f"{where}.geometries[{i}]", nested + 1) for i, g in enumerate(members)])


def _feature(obj, index, report) -> bool:
    where = f"features[{index}]" if index is not None else "Feature"
    checker = _Checker(report, index)
    if not isinstance(obj, dict):
        checker.add(f"every feature must be an object, not {_kind(obj)}", where)
        return False
    fid = obj.get("id")
    checker.feature_id = fid if isinstance(fid, (str, int, float)) and not isinstance(fid, bool) else None
    ok = True
    if obj.get("type") != "Feature":
        got = obj.get("type")
        checker.add(f"a feature needs \"type\": \"Feature\", found {got!r}"[:200], where)
        ok = False
    if "id" in obj and checker.feature_id is None:
        checker.add(f"a feature id must be a string or a number, not {_kind(fid)}", where + ".id")
        ok = False
    if "properties" not in obj:
        checker.add("a feature needs a 'properties' member (an object, or null)", where)
        ok = False
    elif obj["properties"] is not None and not isinstance(obj["properties"], dict):
        checker.add(f"'properties' must be an object or null, not {_kind(obj['properties'])}", where + ".properties")
        ok = False
    checker.foreign(obj, "Feature", where)
    if "geometry" not in obj:
        checker.add("a feature needs a 'geometry' member (an object, or null)", where)
        return False
    if obj["geometry"] is not None:
        ok = checker.geometry(obj["geometry"], where + ".geometry") and ok
    return ok and not [p for p in report.problems if p.index == index and p.severity == "error"]


def check(doc, report: Report) -> list[tuple[int | None, dict]] | None:
    """Check a parsed GeoJSON value; return (index, feature) for each feature that passed (a bare geometry
    becomes one feature), or None when the root itself is unusable. Problems go to ``report``, located by
    the same index (None for a root Feature or geometry)."""
    if not isinstance(doc, dict):
        report.add(f"the root of a GeoJSON file must be an object, not {_kind(doc)}")
        return None
    rtype = doc.get("type")
    if not isinstance(rtype, str):
        report.add("the root object needs a 'type' member" if rtype is None else
                   f"the 'type' member must be a string, not {_kind(rtype)}")
        return None
    if rtype == "FeatureCollection":
        _Checker(report).foreign(doc, "FeatureCollection", "FeatureCollection")
        features = doc.get("features")
        if not isinstance(features, list):
            report.add("a FeatureCollection needs a 'features' array" if features is None else
                       f"'features' must be an array, not {_kind(features)}")
            return None
        return [(i, f) for i, f in enumerate(features) if _feature(f, i, report)]
    if rtype == "Feature":
        return [(None, doc)] if _feature(doc, None, report) else []
    if rtype.lower() == "featurecollection" or rtype.lower() == "feature":
        report.add(f"unknown type {rtype!r}: GeoJSON types are case-sensitive "
                   f"(write {'FeatureCollection' if 'coll' in rtype.lower() else 'Feature'!r})")
        return None
    checker = _Checker(report)
    if checker.geometry(doc, "geometry"):
        return [(None, {"type": "Feature", "properties": None, "geometry": doc})]
    return None
