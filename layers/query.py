"""Parsing and checking the parameters of a feature query (OGC API - Features items, downloads).

Framework-free: parameters come in as a mapping of name to list of values (as a query string has them),
and every refusal is a :class:`QueryError` that names the parameter and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import fieldtypes
from .schema import LayerKind

DEFAULT_LIMIT = 100
#: Larger limits are clamped to this (documented in the OpenAPI document and the README).
MAX_LIMIT = 10000


class QueryError(ValueError):
    """A parameter that cannot be honoured; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class FeatureQuery:
    bbox: tuple[float, ...] | None = None
    filters: dict = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def filter_fields(kind: LayerKind) -> list:
    """The declared fields a query may filter on."""
    return [f for f in kind.fields if fieldtypes.of(f).equality_filter]


def parse_bbox(text: str) -> tuple[float, ...]:
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise QueryError("bbox", f"bbox needs 4 numbers (minLon,minLat,maxLon,maxLat) or 6 (with heights), "
                                 f"not {len(parts)}")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise QueryError("bbox", f"bbox must be numbers separated by commas, not {text[:80]!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise QueryError("bbox", "bbox numbers must be finite (no NaN or Infinity)")
    dims = len(values) // 2
    lo, hi = values[:dims], values[dims:]
    minx, miny, maxx, maxy = lo[0], lo[1], hi[0], hi[1]
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise QueryError("bbox", "bbox is out of range: longitudes -180..180, latitudes -90..90 (WGS-84, lon/lat order)")
    if minx > maxx or miny > maxy:
        raise QueryError("bbox", "bbox minimum is greater than its maximum (order: minLon,minLat,maxLon,maxLat)")
    return (minx, miny, maxx, maxy)


def _integer(name: str, text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise QueryError(name, f"{name} must be a whole number, not {text[:40]!r}") from None
    if value < minimum:
        raise QueryError(name, f"{name} must be at least {minimum}")
    return value


def _filter_value(fld, text: str):
    try:
        return fieldtypes.from_text(fld, text)
    except ValueError as exc:
        raise QueryError(fld.name, f"{fld.name}: {exc}"[:400]) from None


def parse(kind: LayerKind, params: dict[str, list[str]], *, paging: bool = True,
          other: tuple[str, ...] = ("f",)) -> FeatureQuery:
    """Check ``params`` (name -> values) for a query of ``kind``; unknown names are refused.

    ``other`` names parameters the caller handles itself (such as ``f``); with ``paging`` False,
    ``limit``/``offset`` are not accepted (downloads return every match).
    """
    fields = {f.name: f for f in filter_fields(kind)}
    known = {"bbox", *fields, *other} | ({"limit", "offset"} if paging else set())
    for name, values in params.items():
        if name not in known:
            raise QueryError(name, f"unknown parameter {name!r}; this collection accepts: {', '.join(sorted(known))}")
        if len(values) != 1:
            raise QueryError(name, f"parameter {name!r} is given {len(values)} times; give it once")
    one = {name: values[0] for name, values in params.items()}
    limit = _integer("limit", one["limit"], 1) if "limit" in one else DEFAULT_LIMIT
    return FeatureQuery(
        bbox=parse_bbox(one["bbox"]) if "bbox" in one else None,
        filters={name: _filter_value(fields[name], one[name]) for name in fields if name in one},
        limit=min(limit, MAX_LIMIT),
        offset=_integer("offset", one["offset"], 0) if "offset" in one else 0,
    )
