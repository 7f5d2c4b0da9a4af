"""District statistics: per district (the ``districts`` layer) and per commercial district (its polygons), the
features of every layer inside, their areas, the outdoor-dining seats, the check verdicts, the complaints,
and the same per 10,000 residents where a district population is loaded.

A feature belongs to an area by **geometry**: the area holding its representative point (a point on its
surface: a point's own position, a point on a line, a point inside a polygon), not by its ``district``
property — a feature placed in one district but labelled with another is counted where it lies, and listed
as a mismatch. Areas are measured in EPSG:4549 (square metres); a polygon feature's whole area counts in the
area holding its representative point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from .context import to_metric
from .results import STATUSES

DISTRICTS, COMMERCIAL = "districts", "commercial_districts"
SITES, COMPLAINTS = "outdoor_dining_pilots", "complaints"
POLYGONS = ("Polygon", "MultiPolygon")


@dataclass
class AreaStats:
    """The figures of one district or commercial district."""

    id: object
    name: str
    name_en: str
    area_m2: float
    counts: dict = field(default_factory=dict)  # layer id -> features inside
    areas: dict = field(default_factory=dict)  # polygon layer id -> m² of the features inside
    seats: int = 0
    sites: int = 0
    verdicts: dict = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    complaints: int = 0
    population: int | None = None

    @property
    def complaints_per_site(self) -> float | None:
        return round(self.complaints / self.sites, 2) if self.sites else None

    def per_10k(self, value: float) -> float | None:
        return round(value * 10000 / self.population, 3) if self.population else None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "area_m2": round(self.area_m2),
                "counts": self.counts, "areas_m2": {k: round(v) for k, v in self.areas.items()},
                "seats": self.seats, "sites": self.sites, "verdicts": self.verdicts, "complaints": self.complaints,
                "complaints_per_site": self.complaints_per_site, "population": self.population,
                "per_10k": {"sites": self.per_10k(self.sites), "seats": self.per_10k(self.seats),
                            "complaints": self.per_10k(self.complaints)}}


@dataclass
class Statistics:
    layers: list[tuple[str, str, str, bool]]  # (id, zh, en, polygons) of the layers counted
    districts: list[AreaStats]
    commercial: list[AreaStats]
    population: dict  # the population file's provenance: source, year, loaded
    mismatches: list[dict]  # features whose district property is not the district holding them


def load_population(path: str | Path) -> dict:
    """The district population file: {"source", "year", "note", "districts": {adcode: {name, population}}};
    a missing file gives the same shape with no populations."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"source": None, "year": None, "note": "未提供人口数据 · no population file", "districts": {}}
    return data


def _assign(points: np.ndarray, areas: np.ndarray) -> list[list[int]]:
    """For each area, the indexes of the points inside it (covers: a point on the border counts)."""
    out: list[list[int]] = [[] for _ in range(len(areas))]
    if not len(points) or not len(areas):
        return out
    tree = shapely.STRtree(areas)
    point_idx, area_idx = tree.query(points, predicate="within")
    for p, a in zip(point_idx.tolist(), area_idx.tolist()):
        out[a].append(p)
    return out


def _representative(geometries) -> np.ndarray:
    geometries = np.asarray(geometries, dtype=object)
    return shapely.point_on_surface(geometries) if len(geometries) else geometries


def _area_stats(area_layer, kinds, layer, skip: str, run_by_site: dict, population: dict | None):
    geoms = np.asarray(area_layer.geometries, dtype=object)
    metric = to_metric(geoms)
    out = []
    for i, (fid, props) in enumerate(zip(area_layer.ids, area_layer.properties)):
        pop = None
        if population is not None:
            entry = population.get(str(props.get("adcode"))) or {}
            pop = entry.get("population") if isinstance(entry.get("population"), int) else None
        out.append(AreaStats(fid, str(props.get("name") or fid), str(props.get("name_en") or ""),
                             float(shapely.area(metric[i])), population=pop))
    for kind in kinds:
        if kind.id in (skip, DISTRICTS):
            continue
        features = layer(kind.id)
        for stats in out:
            stats.counts[kind.id] = 0
            if set(kind.geometry_types) <= set(POLYGONS):
                stats.areas[kind.id] = 0.0
        if features is None or not len(features):
            continue
        inside = _assign(_representative(features.geometries), geoms)
        polygon_areas = shapely.area(to_metric(features.geometries)) if kind.id in out[0].areas else None
        for stats, members in zip(out, inside):
            stats.counts[kind.id] = len(members)
            if polygon_areas is not None:
                stats.areas[kind.id] = float(polygon_areas[members].sum()) if members else 0.0
            if kind.id == SITES:
                stats.sites = len(members)
                for m in members:
                    seats = features.properties[m].get("capacity")
                    if isinstance(seats, (int, float)) and not isinstance(seats, bool):
                        stats.seats += int(seats)
                    status = run_by_site.get(features.ids[m])
                    if status is not None:
                        stats.verdicts[status] += 1
            elif kind.id == COMPLAINTS:
                stats.complaints = len(members)
    return out


def _mismatches(district_layer, kinds, layer) -> list[dict]:
    geoms = np.asarray(district_layer.geometries, dtype=object)
    names = [p.get("name") for p in district_layer.properties]
    out = []
    for kind in kinds:
        if kind.id == DISTRICTS:
            continue
        features = layer(kind.id)
        if features is None or not len(features):
            continue
        holder: dict[int, str] = {}
        for d, members in enumerate(_assign(_representative(features.geometries), geoms)):
            for m in members:
                holder[m] = names[d]
        for m, props in enumerate(features.properties):
            stated = props.get("district")
            found = holder.get(m)
            if stated and stated != found:
                out.append({"layer": kind.id, "id": features.ids[m], "name": props.get("name"),
                            "district": stated, "located_in": found})
    return out


def compute(kinds, layer, run=None, population: dict | None = None) -> Statistics:
    """The statistics of the live layers: ``kinds`` the layer kinds to count (the registry's), ``layer(id)``
    the live layer's features or None, ``run`` a check-all run (its sites' overall status is counted where
    the site lies), ``population`` as :func:`load_population` gives."""
    population = population or {"districts": {}}
    by_site = {r.id: r.status for r in run.results} if run is not None else {}
    districts = layer(DISTRICTS)
    commercial = layer(COMMERCIAL)
    # complaints have their own column (with per-site and per-10,000 figures): not listed again as a layer
    listed = [(k.id, k.zh, k.en, set(k.geometry_types) <= set(POLYGONS)) for k in kinds
              if k.id not in (DISTRICTS, COMPLAINTS)]
    pops = population.get("districts") or {}
    loaded = any(isinstance((v or {}).get("population"), int) for v in pops.values())
    d_stats = _area_stats(districts, kinds, layer, DISTRICTS, by_site, pops) if districts is not None else []
    c_stats = _area_stats(commercial, kinds, layer, COMMERCIAL, by_site, None) if commercial is not None else []
    mismatches = _mismatches(districts, kinds, layer) if districts is not None else []
    provenance = {"source": population.get("source"), "year": population.get("year"),
                  "note": population.get("note"), "loaded": loaded}
    return Statistics(listed, d_stats, c_stats, provenance, mismatches)


def csv_rows(stats: Statistics, which: str = "districts") -> list[list]:
    """The table as rows (header first) for a CSV download."""
    areas = stats.districts if which == "districts" else stats.commercial
    header = ["id", "名称 name", "面积 area (m²)"]
    for lid, zh, en, polygons in stats.layers:
        if which != "districts" and lid == COMMERCIAL:
            continue
        header.append(f"{zh} {en}")
        if polygons:
            header.append(f"{zh}面积 {en} area (m²)")
    header += ["外摆座位 seats", *[f"{zh} {en}" for zh, en in STATUSES.values()], "投诉 complaints",
               "每外摆点投诉 complaints per site", "常住人口 population", "每万人外摆点 sites per 10k",
               "每万人座位 seats per 10k", "每万人投诉 complaints per 10k"]
    rows = [header]
    for a in areas:
        row = [a.id, a.name, round(a.area_m2)]
        for lid, _zh, _en, polygons in stats.layers:
            if which != "districts" and lid == COMMERCIAL:
                continue
            row.append(a.counts.get(lid, 0))
            if polygons:
                row.append(round(a.areas.get(lid, 0.0)))
        row += [a.seats, *[a.verdicts[s] for s in STATUSES], a.complaints, a.complaints_per_site, a.population,
                a.per_10k(a.sites), a.per_10k(a.seats), a.per_10k(a.complaints)]
        rows.append(["" if v is None else v for v in row])
    return rows
