"""What lies inside each night-economy or 24-hour zone: the homes and other protected places in it, the
share of its area that is residential, and the complaints received in it — the zone half of "check all".

Measured in EPSG:4549 like the site checks, on the same prepared layers (:mod:`.engine`): one STRtree query
per layer for all zones.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np
import shapely

from .context import prepare_complaints, prepare_places, to_metric
from .kinds import COMPLAINT_CATEGORIES
from .results import Nearby

#: The categories whose land counts as residential in a zone's share.
RESIDENTIAL = ("residential",)
#: A polygon place is *inside* a zone when it overlaps it by at least this much (m²) or its representative
#: point lies in the zone; one that only touches the edge (a digitising sliver, e.g. 0.015 m²) is listed as
#: touching the edge instead, and adds nothing to the counts. Points and lines inside or on the zone count.
MIN_OVERLAP_M2 = 1.0


class ZoneMeasure(NamedTuple):
    id: object
    name: str
    district: str | None
    is_24h_pilot: bool
    area_m2: float
    #: the protected places inside or overlapping the zone (distance 0), by category then name
    places: tuple
    #: the share (0-1) of the zone's area covered by residential land (overlaps counted once); None when no
    #: protected places are loaded
    residential_share: float | None
    #: complaints inside the zone received in the ``days`` before ``as_of``, by category; None when none loaded
    complaints: dict | None
    #: the polygon places that only touch the zone's edge (overlap under MIN_OVERLAP_M2, representative point
    #: outside): not counted inside
    edge: tuple = ()

    def residents_inside(self) -> int:
        return sum(1 for p in self.places if p.category in RESIDENTIAL)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "district": self.district, "is_24h_pilot": self.is_24h_pilot,
                "area_m2": round(self.area_m2, 1), "places": [p.to_dict() for p in self.places],
                "residential_inside": self.residents_inside(),
                "residential_share": None if self.residential_share is None else round(self.residential_share, 4),
                "complaints": self.complaints, "touching_edge": [p.to_dict() for p in self.edge]}


def measure_zones(zones_layer, places=None, complaints=None, *, as_of: dt.date | None = None,
                  days: int = 90) -> list[ZoneMeasure]:
    """For each zone of ``zones_layer`` (night-economy zones, 24-hour pilots, commercial districts: any
    polygon layer), the protected places inside, the residential share of its area and its complaints."""
    from .hours import TZ

    as_of = as_of or dt.datetime.now(TZ).date()
    places, complaints = prepare_places(places), prepare_complaints(complaints)
    zones = to_metric(zones_layer.geometries)
    areas = shapely.area(zones)
    inside: dict[int, list[Nearby]] = {}
    edge: dict[int, list[Nearby]] = {}
    share: list[float | None] = [None] * len(zones)
    if places is not None and len(places):
        zone_i, place_i = shapely.STRtree(places.metric).query(zones, predicate="intersects")
        geoms = places.metric[place_i]
        overlap = shapely.area(shapely.intersection(zones[zone_i], geoms))
        polygon = shapely.area(geoms) > 0
        point_in = shapely.covers(zones[zone_i], shapely.point_on_surface(geoms))
        counted = ~polygon | (overlap >= MIN_OVERLAP_M2) | point_in
        for z, p, keep in zip(zone_i.tolist(), place_i.tolist(), counted.tolist()):
            (inside if keep else edge).setdefault(z, []).append(
                Nearby(places.ids[p], places.names[p], places.categories[p], 0.0))
        zone_i, place_i = zone_i[counted], place_i[counted]
        homes = np.isin(places.categories[place_i], RESIDENTIAL)
        pieces = shapely.intersection(zones[zone_i[homes]], places.metric[place_i[homes]])
        for z in range(len(zones)):
            mine = pieces[zone_i[homes] == z]
            covered = shapely.area(shapely.union_all(mine)) if len(mine) else 0.0
            share[z] = float(covered / areas[z]) if areas[z] else 0.0
    counts: list[dict | None] = [None] * len(zones)
    if complaints is not None and len(complaints):
        end = np.datetime64(as_of, "D")
        recent = (complaints.received > end - np.timedelta64(days, "D")) & (complaints.received <= end)
        zone_i, complaint_i = complaints.tree.query(zones, predicate="intersects")
        keep = recent[complaint_i]
        zone_i, complaint_i = zone_i[keep], complaint_i[keep]
        for z in range(len(zones)):
            cats = complaints.categories[complaint_i[zone_i == z]]
            counts[z] = {c: int((cats == c).sum()) for c in COMPLAINT_CATEGORIES}
    out = []
    for z, props in enumerate(zones_layer.properties):
        found = tuple(sorted(inside.get(z, []), key=lambda p: (p.category, p.name)))
        touching = tuple(sorted(edge.get(z, []), key=lambda p: (p.category, p.name)))
        out.append(ZoneMeasure(zones_layer.ids[z], props.get("name", ""), props.get("district"),
                               bool(props.get("is_24h_pilot")), float(areas[z]), found, share[z], counts[z],
                               touching))
    return out
