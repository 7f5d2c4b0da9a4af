"""Parsing and checking the parameters of a feature query (OGC API - Features items, downloads).

Framework-free: parameters come in as a mapping of name to list of values (as a query string has them),
and every refusal is a :class:`QueryError` that names the parameter and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import fieldtypes, filtering
from .schema import LayerKind

DEFAULT_LIMIT = 100
#: Larger limits are clamped to this (documented in the OpenAPI document and the README).
MAX_LIMIT = 10000


class QueryError(ValueError):
    """A parameter that cannot be honoured; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


#: Parameters that choose features (items and downloads alike); items also take sortby and properties.
SELECTION_PARAMETERS = ("bbox", "datetime", "filter", "filter-lang", "filter-crs")
MAX_SORT_KEYS = 5


@dataclass(frozen=True)
class FeatureQuery:
    bbox: tuple[float, ...] | None = None
    #: equality parameters: property name (or "id") -> value
    filters: dict = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    #: the CQL2 filter (layers.filtering), or None
    filter: filtering.Node | None = None
    #: the datetime parameter as a filter on the kind's temporal fields, or None (not asked, or no such field)
    datetime: filtering.Node | None = None
    #: (property name or "id", descending) pairs
    sortby: tuple[tuple[str, bool], ...] = ()
    #: the properties the items carry (None: all of them)
    properties: tuple[str, ...] | None = None

    def selection_args(self) -> dict:
        """The arguments of layers.index.FeatureIndex.select for this query."""
        return {"bbox": self.bbox, "filters": self.filters, "where": self.filter, "when": self.datetime,
                "sortby": self.sortby}


def filter_fields(kind: LayerKind) -> list:
    """The declared fields a query may filter on with a parameter named for the field (every declared field:
    OGC API - Features - Part 3 "queryables as query parameters")."""
    return list(kind.fields)


def parse_bbox(text: str) -> tuple[float, ...]:
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise QueryError("bbox", f"bbox 应为 4 个数字（或含高度的 6 个） · bbox needs 4 numbers (minLon,minLat,maxLon,maxLat) or 6 (with heights), "
                                 f"not {len(parts)}")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise QueryError("bbox", f"bbox 应为逗号分隔的数字 · bbox must be numbers separated by commas, not {text[:80]!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise QueryError("bbox", "bbox 数字须为有限值 · bbox numbers must be finite (no NaN or Infinity)")
    dims = len(values) // 2
    lo, hi = values[:dims], values[dims:]
    minx, miny, maxx, maxy = lo[0], lo[1], hi[0], hi[1]
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise QueryError("bbox", "bbox 超出范围：经度 -180..180，纬度 -90..90 · bbox is out of range: longitudes -180..180, latitudes -90..90 (WGS-84, lon/lat order)")
    if miny > maxy:
        raise QueryError("bbox", "bbox 最小纬度大于最大纬度 · bbox minimum latitude is greater than its maximum (order: minLon,minLat,maxLon,maxLat)")
    # minLon > maxLon is a box that crosses the antimeridian (OGC API - Features, 7.15.3): it is answered
    return (minx, miny, maxx, maxy)


def _integer(name: str, text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise QueryError(name, f"{name} 应为整数 · {name} must be a whole number, not {text[:40]!r}") from None
    if value < minimum:
        raise QueryError(name, f"{name} 至少为 {minimum} · {name} must be at least {minimum}")
    return value


def _filter_value(fld, text: str):
    try:
        return fieldtypes.from_text(fld, text)
    except ValueError as exc:
        raise QueryError(fld.name, f"{fld.name}: {exc}"[:400]) from None


def _refusal(parameter: str, exc: filtering.FilterError) -> QueryError:
    """A filter's refusal as the query's: Chinese first, then English after " · ", each naming the parameter."""
    return QueryError(parameter, f"{parameter} 参数：{exc.zh[:300]} · {parameter}: {exc.en[:500]}")


def parse_sortby(kind: LayerKind, text: str) -> tuple[tuple[str, bool], ...]:
    """``+designation_year,-name`` (a "+" read from a URL may arrive as a space) -> ((name, descending), ...)."""
    known = [filtering.ID, *kind.field_map]
    keys = []
    for item in text.split(","):
        item = item.strip()
        descending = item.startswith("-")
        name = item[1:].strip() if item[:1] in "+-" and item else item
        if name not in known:
            raise QueryError("sortby", f"sortby 参数：没有属性「{name[:60]}」 · sortby: unknown property {name[:60]!r}; "
                                       f"sort by {', '.join(known)} (prefix - for descending)")
        if any(name == k for k, _ in keys):
            raise QueryError("sortby", f"sortby 参数：属性「{name}」重复 · sortby names {name!r} twice")
        keys.append((name, descending))
    if len(keys) > MAX_SORT_KEYS:
        raise QueryError("sortby", f"sortby 参数：最多 {MAX_SORT_KEYS} 个属性 · sortby takes at most {MAX_SORT_KEYS} keys")
    return tuple(keys)


def parse_properties(kind: LayerKind, text: str) -> tuple[str, ...]:
    """``name,district`` -> the declared properties the items carry (an empty value: none)."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in kind.field_map]
    if unknown:
        raise QueryError("properties", f"properties 参数：没有属性「{unknown[0][:60]}」 · properties: unknown property "
                                       f"{unknown[0][:60]!r}; choose from {', '.join(kind.field_map)}")
    return names


def parse(kind: LayerKind, params: dict[str, list[str]], *, paging: bool = True,
          other: tuple[str, ...] = ("f",)) -> FeatureQuery:
    """Check ``params`` (name -> values) for a query of ``kind``; unknown names are refused.

    ``other`` names parameters the caller handles itself (such as ``f``); with ``paging`` False,
    ``limit``/``offset``/``sortby``/``properties`` are not accepted (downloads return every match).
    """
    fields = {f.name: f for f in filter_fields(kind)}
    known = ({*SELECTION_PARAMETERS, filtering.ID, *fields, *other}
             | ({"limit", "offset", "sortby", "properties"} if paging else set()))
    for name, values in params.items():
        if name not in known:
            raise QueryError(name, f"不认识的参数「{name[:60]}」 · unknown parameter {name!r}; this collection accepts: {', '.join(sorted(known))}")
        if len(values) != 1:
            raise QueryError(name, f"参数「{name[:60]}」重复 · parameter {name!r} is given {len(values)} times; give it once")
    one = {name: values[0] for name, values in params.items()}
    limit = _integer("limit", one["limit"], 1) if "limit" in one else DEFAULT_LIMIT
    filters = {name: _filter_value(fields[name], one[name]) for name in fields if name in one}
    if filtering.ID in one:
        filters[filtering.ID] = one[filtering.ID]
    lang, crs = one.get("filter-lang", "cql2-text"), one.get("filter-crs", filtering.CRS84)
    try:
        filtering.check_language(lang, crs)  # also without a filter: a client's mistake is said at once
    except filtering.FilterError as exc:
        raise _refusal("filter-lang" if "filter-lang" in exc.en else "filter-crs", exc) from None
    try:
        where = filtering.parse(kind, one["filter"], lang, crs) if "filter" in one else None
    except filtering.FilterError as exc:
        raise _refusal("filter", exc) from None
    try:
        when = filtering.parse_datetime(kind, one["datetime"]) if "datetime" in one else None
    except filtering.FilterError as exc:
        raise _refusal("datetime", exc) from None
    return FeatureQuery(
        bbox=parse_bbox(one["bbox"]) if "bbox" in one else None,
        filters=filters,
        limit=min(limit, MAX_LIMIT),
        offset=_integer("offset", one["offset"], 0) if "offset" in one else 0,
        filter=where,
        datetime=when,
        sortby=parse_sortby(kind, one["sortby"]) if "sortby" in one else (),
        properties=parse_properties(kind, one["properties"]) if "properties" in one else None,
    )
