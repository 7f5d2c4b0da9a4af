"""What a map shows of one checked site: the buffer of each distance rule around it and the shortest line from
it to each protected place its verdicts list, measured in EPSG:4549 metres (edge to edge, as the rules are) and
given back as WGS-84 GeoJSON for the browser; and the site's area and a point for it when it is saved as a pilot.

Framework-free. The protected places are the prepared ones of :func:`.context.prepare_places` (projected and
indexed once per layer version): nothing here re-projects or re-indexes a layer per check.
"""

from __future__ import annotations

import json
import weakref

import numpy as np
import shapely
from pyproj import Transformer

from .. import area
from .context import Places, prepare_places, to_metric
from .results import SiteResult
from .rules import Ruleset

_TO_WGS84 = Transformer.from_crs(area.METRIC_CRS, "EPSG:4326", always_xy=True)
#: The kinds of rule that measure a distance around the site (their ``distance_m`` is drawn as a buffer).
DISTANCE_KINDS = ("near_during", "complaints_near")
#: Decimal places of the WGS-84 coordinates sent to the map (7: about 1 cm).
PRECISION = 7

_POSITIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def to_wgs84(geometry):
    """An EPSG:4549 geometry in WGS-84 (lon, lat)."""
    return shapely.transform(geometry, lambda c: np.column_stack(_TO_WGS84.transform(c[:, 0], c[:, 1])))


def metric(geometry):
    """A WGS-84 geometry in EPSG:4549 metres."""
    return to_metric(np.array([geometry], dtype=object))[0]


def geojson(geometry) -> dict:
    """A WGS-84 shapely geometry as a GeoJSON geometry, coordinates rounded to :data:`PRECISION`."""
    rounded = shapely.transform(geometry, lambda c: np.round(c, PRECISION))
    return json.loads(shapely.to_geojson(rounded))


def _geojsons(geometries) -> list[dict]:
    """WGS-84 GeoJSON of EPSG:4549 geometries: one projection and one serialization for all of them."""
    if not len(geometries):
        return []
    rounded = shapely.transform(to_wgs84(np.asarray(geometries, dtype=object)), lambda c: np.round(c, PRECISION))
    return [json.loads(text) for text in shapely.to_geojson(rounded)]


def buffers(site, ruleset: Ruleset, *, quad_segs: int = 16, site_m=None) -> list[dict]:
    """The area within each distance rule's ``distance_m`` of ``site`` (WGS-84), one per distinct distance,
    smallest first: ``{"distance_m", "rules": [ids], "geometry": GeoJSON}`` (buffered in metres, then WGS-84).
    ``site_m``: the site already in EPSG:4549, if the caller has it."""
    by_distance: dict[float, list[str]] = {}
    for rule in ruleset:
        if rule.kind in DISTANCE_KINDS and rule.param("distance_m") is not None:
            by_distance.setdefault(float(rule.param("distance_m")), []).append(rule.id)
    if not by_distance:
        return []
    site_m = metric(site) if site_m is None else site_m
    distances = sorted(by_distance)
    shapes = shapely.buffer(site_m, np.array(distances), quad_segs=quad_segs)
    shapes = np.where(np.array(distances) > 0, shapes, site_m)
    return [{"distance_m": d, "rules": by_distance[d], "geometry": g} for d, g in zip(distances, _geojsons(shapes))]


def _positions(places: Places) -> dict:
    """Place id -> position in ``places``, built once per prepared layer (kept as long as it is)."""
    found = _POSITIONS.get(places)
    if found is None:
        found = {str(pid): i for i, pid in enumerate(places.ids)}
        _POSITIONS[places] = found
    return found


def distance_lines(site, places, place_ids, *, site_m=None) -> list[dict]:
    """The shortest line from ``site`` (WGS-84) to each protected place of ``place_ids`` (ids of the
    ``sensitive_sites`` layer, or its prepared :class:`Places`), measured edge to edge in EPSG:4549:
    ``{"id", "name", "category", "distance_m", "geometry": GeoJSON LineString}``, nearest first. An id not in
    the layer is left out; a place the site touches or overlaps has a line of length 0 (a point's two ends)."""
    places = prepare_places(places)
    if places is None or not len(places):
        return []
    positions = _positions(places)
    wanted = list(dict.fromkeys(str(p) for p in place_ids if str(p) in positions))
    if not wanted:
        return []
    site_m = metric(site) if site_m is None else site_m
    index = np.array([positions[p] for p in wanted])
    lines = shapely.shortest_line(site_m, places.metric[index])
    lengths = shapely.length(lines)
    order = np.argsort(lengths, kind="stable")
    drawn = _geojsons(lines[order])
    return [{"id": places.ids[i], "name": places.names[i], "category": places.categories[i],
             "distance_m": round(float(lengths[k]), 1), "geometry": g}
            for k, i, g in zip(order.tolist(), index[order].tolist(), drawn)]


def place_shapes(places, place_ids) -> list[dict]:
    """The outlines of the protected places of ``place_ids`` (WGS-84 GeoJSON), to highlight them:
    ``{"id", "name", "category", "geometry"}``."""
    places = prepare_places(places)
    if places is None or not len(places):
        return []
    positions = _positions(places)
    wanted = [positions[p] for p in dict.fromkeys(str(p) for p in place_ids) if p in positions]
    return [{"id": places.ids[i], "name": places.names[i], "category": places.categories[i], "geometry": g}
            for i, g in zip(wanted, _geojsons(places.metric[wanted]))]


def listed_places(result: SiteResult) -> list:
    """The ids of the protected places a check's verdicts list (each once, in the verdicts' order)."""
    return list(dict.fromkeys(n.id for v in result.verdicts for n in v.nearest))


def overlay(site, result: SiteResult, ruleset: Ruleset, places) -> dict:
    """Everything the check map draws for ``result`` on ``site``: the rules' buffers, the lines to the
    protected places the verdicts list, and those places' outlines."""
    listed = listed_places(result)
    site_m = metric(site)
    return {"buffers": buffers(site, ruleset, site_m=site_m), "lines": distance_lines(site, places, listed, site_m=site_m),
            "places": place_shapes(places, listed)}


def area_m2(site) -> float:
    """The area of a drawn seating area (WGS-84) in square metres, to 0.1 (0 for a point)."""
    return round(float(metric(site).area), 1)


def site_point(site):
    """The point that stands for a site (WGS-84): the site itself when it is a point; else its centroid, or,
    when that falls outside the drawn shape, a point inside it."""
    if site.geom_type == "Point":
        return site
    centre = site.centroid
    return centre if site.contains(centre) else site.representative_point()


def district_of(site, districts) -> str | None:
    """The name of the district (a ``districts`` layer) the site's point lies in, or None."""
    if districts is None:
        return None
    point = site_point(site)
    for props, shape in zip(districts.properties, districts.geometries):
        if shape is not None and shape.covers(point):
            return props.get("name")
    return None
