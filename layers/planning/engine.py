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

#: The most points a checked site may have (a drawn seating area has a handful; an import has its own limits).
MAX_VERTICES = 10_000


def _structure_problem(geojson: dict) -> str | None:
    """Why the coordinates are not GeoJSON (RFC 7946: positions of two or three numbers, closed rings of four
    or more) or are too many — checked on the raw lists before shapely sees them. None when they are."""
    def position(p) -> bool:
        return (isinstance(p, list) and len(p) in (2, 3)
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p))

    coordinates = geojson.get("coordinates")
    kind = geojson["type"]
    if kind == "Point":
        return None if position(coordinates) else ("点的坐标应为 [经度, 纬度] 两个数 · a Point's coordinates must be "
                                                    "[longitude, latitude], two numbers")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        return "多边形没有坐标 · the polygon has no coordinates"
    count = 0
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return "多边形的坐标应为环的列表 · a polygon's coordinates must be a list of rings"
        for ring in polygon:
            if not isinstance(ring, list) or not all(position(p) for p in ring[:MAX_VERTICES + 1]):
                return "环的坐标应为 [经度, 纬度] 的列表 · a ring must be a list of [longitude, latitude] positions"
            count += len(ring)
            if count > MAX_VERTICES:
                return (f"图形的点过多（超过 {MAX_VERTICES:,} 个）· the site has more than {MAX_VERTICES:,} points: "
                        "draw the seating area more simply")
            if len(ring) < 4 or ring[0] != ring[-1]:
                return ("多边形的环未闭合（应至少 4 个点，首尾相同）· a polygon ring must be closed: at least 4 positions, "
                        "the last the same as the first")
    return None


def site_geometry(geojson: dict):
    """The WGS-84 shapely geometry of a site a planner clicked or drew (a GeoJSON Point or Polygon);
    ValueError (Chinese · English) when it is not one, intersects itself or lies outside Qingdao."""
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Point", "Polygon", "MultiPolygon"):
        raise ValueError("应为点或多边形（GeoJSON Point / Polygon）· the site must be a GeoJSON Point or Polygon")
    problem = _structure_problem(geojson)
    if problem:
        raise ValueError(problem)
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
    window = rule.param("window")  # read only for sites with a place within the distance
    overlaps: dict[tuple, object] = {}
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
        season = sites.properties[i].get("season") or None
        key = (expression, season)
        if key not in overlaps:
            try:
                overlaps[key] = _seating_overlap(str(expression), season and str(season), window, week)
            except (hours.HoursError, hours.CalendarError) as exc:
                overlaps[key] = exc
        found_overlap = overlaps[key]
        if isinstance(found_overlap, Exception):
            what = "外摆季节 season" if isinstance(found_overlap, hours.HoursError) and season and \
                hours.check(str(season)) else "营业时间 hours"
            out.append(_cannot(rule, f"{what}: {found_overlap}", measured, nearest))
            continue
        found_overlap, worst, when_zh, when_en = found_overlap
        measured = {**measured, "minutes_in_window": found_overlap.minutes, "week": str(worst)}
        if not found_overlap:
            out.append(Verdict(rule.id, rule.severity, "pass",
                               f"{where_zh}，外摆{when_zh}不在{wzh}营业 · {where_en}, seating not open in {wen}{when_en}",
                               measured, nearest))
            continue
        hzh, hen = found_overlap.describe()
        space = " " if hzh[:1].isdigit() else ""
        out.append(Verdict(rule.id, rule.severity, rule.severity,
                           f"{where_zh}，外摆{space}{hzh}{when_zh} · {where_en}, seating {hen}{when_en}",
                           measured, nearest, _hours_condition(rule, found_overlap, wzh, wen)))
    return out


#: How many weeks ahead dated hours (a season, months, dates, PH) are read, from the week checked.
YEAR_WEEKS = 53


def _seating_overlap(expression: str, season: str | None, window: str | None, week: hours.Week):
    """When the seating (its ``opening_hours`` within its ``season``) is open inside the rule's ``window`` (None:
    at any time): (Overlap, the week it was read over, zh and en words for that week or ""). Hours that are the
    same every week are read over ``week``; dated ones (a season, months, dates, PH) over each week of the year
    ahead, and the worst week is the answer (a check never passes because this week is out of season). Weeks
    the holiday calendar does not cover are left out when others are read, and said so.
    HoursError for hours (or a season) that do not parse; CalendarError when no week can be read."""
    if season and (err := hours.check(season)):
        raise hours.HoursError(err)

    def seating(w: hours.Week) -> np.ndarray:
        minutes = hours.schedule(expression, w)
        return minutes & hours.schedule(season, w) if season else minutes

    def inside(w: hours.Week) -> hours.Overlap:
        open_minutes = seating(w)
        return hours.overlap(open_minutes, hours.schedule(window, w) if window else np.ones_like(open_minutes))

    if not (season or hours.dated(expression)):
        return inside(week), week, "", ""
    worst, worst_week, skipped, error = None, week, 0, None
    for n in range(YEAR_WEEKS):
        w = hours.Week(week.monday + dt.timedelta(weeks=n))
        try:
            found = inside(w)
        except hours.CalendarError as exc:
            skipped, error = skipped + 1, exc
            continue
        if worst is None or found.minutes > worst.minutes:
            worst, worst_week = found, w
    if worst is None:
        raise error
    left = (f"；节假日历未覆盖的 {skipped} 周未计" if skipped else "", f"; {skipped} weeks the holiday calendar does "
            "not cover left out" if skipped else "")
    if worst:
        return (worst, worst_week, f"（季节或日期限定，未来一年最不利的一周：{worst_week.monday.isoformat()} 起{left[0]}）",
                f" (dated hours: the worst week of the year ahead, from {worst_week.monday.isoformat()}{left[1]})")
    return worst, week, f"在未来一年的任何一周都{left[0] and '（' + left[0][1:] + '）'}", \
        f" in any week of the year ahead{left[1]}"


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
    from .kinds import outdoor_dining_kind

    name, minimum = rule.param("property"), rule.param("minimum")
    declared = outdoor_dining_kind().field_map.get(name)
    zh, en = (declared.zh, declared.en) if declared else (name, name)  # 人行道净宽（米）· Clear walkway (m)
    out = []
    for props in sites.properties:
        value = props.get(name)
        if value is None or value == "":
            out.append(_cannot(rule, f"缺少「{zh}」· no {en} ({name})"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            out.append(_cannot(rule, f"「{zh}」不是数字（{value!r}）· {en} is not a number ({value!r})"))
        elif value < minimum:
            out.append(Verdict(rule.id, rule.severity, rule.severity,
                               f"{zh} {value:g} < {minimum:g} · {en} {value:g} is below {minimum:g}",
                               {name: value}, (),
                               f"缩小外摆范围，使{zh}不少于 {minimum:g} · shrink the seating to leave {en} of at least "
                               f"{minimum:g} to pass rule {rule.id}"))
        else:
            out.append(Verdict(rule.id, rule.severity, "pass", f"{zh} {value:g} ≥ {minimum:g} · {en} "
                                                               f"{value:g} ≥ {minimum:g}", {name: value}))
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
