"""Checking outdoor-dining sites against protected places and complaints, rule by rule.

Everything is measured in metres in EPSG:4549 (CGCS2000 / Gauss-Krüger CM 120E), edge to edge (a drawn
seating area against a residential compound's outline is the gap between the two shapes). Protected
places and complaints are projected and indexed once per layer version (:func:`prepare_places`,
:func:`prepare_complaints`, cached by the layer object); a check projects its sites once and asks each
rule's STRtree for every site at once (``query(..., predicate="dwithin")``, then ``shapely.distance`` on
the pairs found). Opening hours are evaluated once per distinct expression (:mod:`.hours`).

A rule whose data is missing says "cannot assess" with the reason — no protected places (of its
categories) loaded, no or unparsable hours, no ``clear_walkway_m``, no complaints loaded — never "pass".
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import shapely

from .. import area
from . import hours
from .context import Complaints, Places, prepare_complaints, prepare_places, to_metric
from .kinds import CATEGORIES, COMPLAINT_CATEGORIES
from .results import STATUSES, CheckRun, Nearby, SiteResult, Verdict
from .rules import SEVERITIES, Rule, Ruleset

log = logging.getLogger(__name__)

#: How far around a site its nearest protected places are looked for and listed, beyond a rule's distance.
CONTEXT_M = 200.0
#: How many protected places a verdict lists.
NEAREST_SHOWN = 5

# --- input geometry ------------------------------------------------------------------------------------

def site_geometry(geojson: dict):
    """The WGS-84 shapely geometry of a site a planner clicked or drew (a GeoJSON Point or Polygon);
    ValueError (Chinese · English) when it is not one, intersects itself or lies outside Qingdao."""
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Point", "Polygon", "MultiPolygon"):
        raise ValueError("应为点或多边形（GeoJSON Point / Polygon）· the site must be a GeoJSON Point or Polygon")
    try:
        geometry = shapely.geometry.shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValueError(f"几何无法读取 · the geometry cannot be read ({str(exc)[:120]})") from None
    if geometry.is_empty:
        raise ValueError("几何为空 · the geometry is empty")
    coords = shapely.get_coordinates(geometry)
    if not np.isfinite(coords).all():
        raise ValueError("坐标不是有限数 · coordinates must be finite numbers")
    outside = [(x, y) for x, y in coords if not area.inside(x, y)]
    if outside:
        raise ValueError(area.diagnose_outside(*outside[0]))
    if not geometry.is_valid:
        why = shapely.is_valid_reason(geometry)
        raise ValueError(f"多边形自相交或无效（{why}）· the polygon intersects itself or is invalid ({why})")
    return geometry


# --- the rules -----------------------------------------------------------------------------------------

def _cat(category: str) -> tuple[str, str]:
    return CATEGORIES.get(category, (category, category))


def _cats_text(categories) -> tuple[str, str]:
    return "、".join(_cat(c)[0] for c in categories), ", ".join(_cat(c)[1] for c in categories)


def _m(value: float) -> str:
    return f"{value:.1f} m"


class _Sites:
    def __init__(self, ids, names, districts, properties, geometries):
        self.ids, self.names, self.districts, self.properties = list(ids), list(names), list(districts), properties
        self.metric = to_metric(geometries)

    def __len__(self) -> int:
        return len(self.ids)


def _near_pairs(metric: np.ndarray, tree: shapely.STRtree, positions: np.ndarray, distance: float):
    """The protected places within ``max(distance, CONTEXT_M)`` of every site, nearest first: one STRtree
    query for all sites, one ``shapely.distance`` over the pairs found. Returns (bounds, places, distances,
    within): site i's places are ``places[bounds[i]:bounds[i + 1]]``, the first ``within[i]`` of them within
    ``distance`` (plain lists, for the per-site loop)."""
    sites, local = tree.query(metric, predicate="dwithin", distance=max(distance, CONTEXT_M))
    dist = shapely.distance(metric[sites], tree.geometries[local]) if len(sites) else np.empty(0)
    order = np.lexsort((dist, sites))
    sites, local, dist = sites[order], local[order], dist[order]
    bounds = np.searchsorted(sites, np.arange(len(metric) + 1))
    within = np.bincount(sites[dist <= distance], minlength=len(metric))
    return bounds.tolist(), positions[local].tolist(), np.round(dist, 1).tolist(), within.tolist()


def _near_during(rule: Rule, sites: _Sites, places: Places | None, week: hours.Week, *_rest) -> list[Verdict]:
    cats = rule.param("categories")
    czh, cen = _cats_text(cats)
    distance = rule.param("distance_m")
    wzh = rule.param("window_zh") or rule.param("window") or "任何时段"
    wen = rule.param("window_en") or rule.param("window") or "any time"
    if places is None or not len(places):
        return [_cannot(rule, "未载入敏感点数据 · no protected places loaded")] * len(sites)
    positions, tree = places.tree(cats)
    if not len(positions):
        return [_cannot(rule, f"敏感点数据中没有{czh} · no {cen} among the protected places loaded")] * len(sites)
    bounds, found, dist, within = _near_pairs(sites.metric, tree, positions, distance)
    ids, names, categories = places.ids, places.names, places.categories
    window = None
    if rule.param("window"):
        try:
            window = hours.schedule(rule.param("window"), week)
        except hours.CalendarError as exc:
            return [_cannot(rule, f"{exc}")] * len(sites)
    overlaps: dict[str, object] = {}
    out = []
    for i in range(len(sites)):
        first, inside = bounds[i], within[i]
        shown = min(max(inside, 1), NEAREST_SHOWN, bounds[i + 1] - first)  # those within, or the nearest one
        nearest = tuple(Nearby(ids[p], names[p], categories[p], d)
                        for p, d in zip(found[first:first + shown], dist[first:first + shown]))
        if not inside:
            if nearest:
                n = nearest[0]
                reason = (f"最近的{_cat(n.category)[0]} {n.name} {_m(n.distance_m)}（> {distance:g} m）· nearest "
                          f"{_cat(n.category)[1]} {n.name} {_m(n.distance_m)} (> {distance:g} m)")
            else:
                reason = f"{max(distance, CONTEXT_M):g} m 内没有{czh} · no {cen} within {max(distance, CONTEXT_M):g} m"
            measured = {"distance_m": nearest[0].distance_m if nearest else None, "within": 0}
            out.append(Verdict(rule.id, rule.severity, "pass", reason, measured, nearest))
            continue
        n = nearest[0]
        where_zh, where_en = (f"{_cat(n.category)[0]} {n.name} {_m(n.distance_m)}",
                              f"{_cat(n.category)[1]} {n.name} {_m(n.distance_m)}")
        measured = {"distance_m": n.distance_m, "within": inside}
        if window is None:
            out.append(Verdict(rule.id, rule.severity, rule.severity,
                               f"{where_zh}（≤ {distance:g} m）· {where_en} (≤ {distance:g} m)", measured, nearest,
                               f"外摆与{czh}保持 {distance:g} m 以上 · keep the seating more than {distance:g} m from "
                               f"any {cen}"))
            continue
        expression = sites.properties[i].get("opening_hours")
        if expression is None or expression == "":
            out.append(_cannot(rule, f"{where_zh}，但缺少外摆营业时间 · {where_en}, but the seating has no "
                                     "opening_hours", measured, nearest))
            continue
        if expression not in overlaps:
            try:
                overlaps[expression] = hours.overlap(hours.schedule(expression, week), window)
            except (hours.HoursError, hours.CalendarError) as exc:
                overlaps[expression] = exc
        found_overlap = overlaps[expression]
        if isinstance(found_overlap, Exception):
            out.append(_cannot(rule, f"营业时间 hours: {found_overlap}", measured, nearest))
            continue
        measured = {**measured, "minutes_in_window": found_overlap.minutes, "week": str(week)}
        if not found_overlap:
            out.append(Verdict(rule.id, rule.severity, "pass",
                               f"{where_zh}，外摆不在{wzh}营业 · {where_en}, seating not open in {wen}",
                               measured, nearest))
            continue
        hzh, hen = found_overlap.describe()
        space = " " if hzh[:1].isdigit() else ""
        out.append(Verdict(rule.id, rule.severity, rule.severity,
                           f"{where_zh}，外摆{space}{hzh} · {where_en}, seating {hen}",
                           measured, nearest, _hours_condition(rule, found_overlap, wzh, wen)))
    return out


def _hours_condition(rule: Rule, found: hours.Overlap, wzh: str, wen: str) -> str:
    zh, en = [], []
    if found.close_by:
        zh.append(f"外摆 {found.close_by} 收摊")
        en.append(f"close outdoor seating at {found.close_by}")
    if found.open_after:
        zh.append(f"不早于 {found.open_after} 开始外摆")
        en.append(f"open it no earlier than {found.open_after}")
    if not zh:
        zh, en = [f"{wzh}不设外摆"], [f"keep the seating closed in {wen}"]
    return f"{'，'.join(zh)}，可通过规则 {rule.id} · {' and '.join(en)} to pass rule {rule.id}"


def _cannot(rule: Rule, reason: str, measured: dict | None = None, nearest=()) -> Verdict:
    return Verdict(rule.id, rule.severity, "cannot_assess", f"无法判断：{reason.split(' · ')[0]} · cannot assess: "
                                                            f"{reason.split(' · ', 1)[-1]}", measured or {}, nearest)


def _min_value(rule: Rule, sites: _Sites, *_args) -> list[Verdict]:
    name, minimum = rule.param("property"), rule.param("minimum")
    out = []
    for props in sites.properties:
        value = props.get(name)
        if value is None or value == "":
            out.append(_cannot(rule, f"缺少 {name} · no {name}"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            out.append(_cannot(rule, f"{name} 不是数字（{value!r}）· {name} is not a number ({value!r})"))
        elif value < minimum:
            out.append(Verdict(rule.id, rule.severity, rule.severity,
                               f"{name} {value:g} m < {minimum:g} m · {name} {value:g} m is below {minimum:g} m",
                               {name: value}, (),
                               f"缩小外摆范围，留出至少 {minimum:g} m · shrink the seating to leave at least "
                               f"{minimum:g} m to pass rule {rule.id}"))
        else:
            out.append(Verdict(rule.id, rule.severity, "pass", f"{name} {value:g} m ≥ {minimum:g} m · {name} "
                                                               f"{value:g} m ≥ {minimum:g} m", {name: value}))
    return out


def _complaints_near(rule: Rule, sites: _Sites, _places, _week, complaints: Complaints | None,
                     as_of: dt.date) -> list[Verdict]:
    if complaints is None or not len(complaints):
        return [_cannot(rule, "未载入投诉数据 · no complaints loaded")] * len(sites)
    cats, distance, days = rule.param("categories"), rule.param("distance_m"), rule.param("days")
    czh = "、".join(COMPLAINT_CATEGORIES[c][0] for c in cats)
    cen = ", ".join(COMPLAINT_CATEGORIES[c][1] for c in cats)
    end = np.datetime64(as_of, "D")
    wanted = np.array([list(COMPLAINT_CATEGORIES).index(c) for c in cats], dtype=np.int8)

    def counted(found: np.ndarray) -> np.ndarray:
        """Which of the complaints at ``found`` count: of the categories, received in the last ``days``."""
        received = complaints.received[found]
        return (np.isin(complaints.codes[found], wanted) & (received > end - np.timedelta64(days, "D"))
                & (received <= end))

    sites_i, found = complaints.tree.query(sites.metric, predicate="dwithin", distance=distance)
    named_sites, named = complaints.naming([str(i) for i in sites.ids])
    sites_i, found = np.concatenate([sites_i, named_sites]), np.concatenate([found, named])
    keep = counted(found)
    key = np.unique(sites_i[keep].astype(np.int64) * len(complaints) + found[keep])  # a complaint counts once
    sites_i, found = key // len(complaints), key % len(complaints)
    bounds = np.searchsorted(sites_i, np.arange(len(sites) + 1)).tolist()
    found = found.tolist()
    minimum = rule.param("min_count")
    out = []
    for i in range(len(sites)):
        near = found[bounds[i]:bounds[i + 1]]
        count = len(near)
        measured = {"count": count, "complaints": [complaints.ids[j] for j in near[:20]]}
        text_zh = f"近 {days} 天 {distance:g} m 内（或指明本点）{czh}投诉 {count} 件"
        text_en = f"{count} {cen} complaints within {distance:g} m (or naming the site) in the last {days} days"
        status = rule.severity if count >= minimum else "pass"
        bound = "≥" if status != "pass" else "<"
        out.append(Verdict(rule.id, rule.severity, status,
                           f"{text_zh}（{bound} {minimum}）· {text_en} ({bound} {minimum})", measured))
    return out


MEASURES = {"near_during": _near_during, "min_value": _min_value, "complaints_near": _complaints_near}


def _run(sites: _Sites, places, complaints, ruleset: Ruleset, week, as_of) -> list[SiteResult]:
    columns = []
    for rule in ruleset:
        columns.append(MEASURES[rule.kind](rule, sites, places, week, complaints, as_of))
    return [SiteResult(sites.ids[i], sites.names[i], sites.districts[i], tuple(col[i] for col in columns))
            for i in range(len(sites))]


def _when(week, as_of) -> tuple[hours.Week, dt.date]:
    today = dt.datetime.now(hours.TZ).date()
    as_of = as_of or today
    week = week if isinstance(week, hours.Week) else hours.week_of(week or as_of)
    return week, as_of


def check_all(sites_layer, places=None, complaints=None, ruleset: Ruleset | None = None, *, week=None,
              as_of: dt.date | None = None, data: dict | None = None) -> CheckRun:
    """Check every site of ``sites_layer`` (outdoor-dining pilots: points or drawn areas) against every rule.

    ``places``/``complaints``: :class:`Places`/:class:`Complaints` (or their layers), None when not loaded.
    ``week``: a :class:`hours.Week` or a day in it (default: the week of ``as_of``); ``as_of``: the day
    complaints are counted back from (default: today in Asia/Shanghai); ``data``: the data versions used,
    recorded with the run."""
    from .rules import default

    ruleset = ruleset or default()
    week, as_of = _when(week, as_of)
    places, complaints = prepare_places(places), prepare_complaints(complaints)
    props = sites_layer.properties
    sites = _Sites(sites_layer.ids, [p.get("name", "") for p in props], [p.get("district") for p in props], props,
                   sites_layer.geometries)
    run = CheckRun(ruleset, week, as_of, _run(sites, places, complaints, ruleset, week, as_of), dict(data or {}))
    log.info("checked %d sites against %d rules: %s", len(sites), len(ruleset), run.counts())
    return run


def check_site(geometry, properties: dict, places=None, complaints=None, ruleset: Ruleset | None = None, *,
               site_id=None, week=None, as_of: dt.date | None = None) -> SiteResult:
    """Check one site (a WGS-84 shapely geometry, e.g. from :func:`site_geometry`, and its properties)."""
    from .rules import default

    ruleset = ruleset or default()
    week, as_of = _when(week, as_of)
    places, complaints = prepare_places(places), prepare_complaints(complaints)
    sites = _Sites([site_id], [properties.get("name", "")], [properties.get("district")], [properties],
                   np.array([geometry], dtype=object))
    return _run(sites, places, complaints, ruleset, week, as_of)[0]


__all__ = [
    "SEVERITIES",
    "STATUSES",
    "CheckRun",
    "Complaints",
    "Nearby",
    "Places",
    "SiteResult",
    "Verdict",
    "check_all",
    "check_site",
    "prepare_complaints",
    "prepare_places",
    "site_geometry",
]
