"""Checking feature properties against a layer kind's declared fields."""

from __future__ import annotations

import functools
import math

from opening_hours import OpeningHours, ParserError

from .area import DISTRICT_NAMES
from .schema import Field, LayerKind

MAX_TEXT = 2000


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@functools.lru_cache(maxsize=4096)
def _opening_hours(value: str) -> str | None:
    try:
        OpeningHours(value)
    except ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "not understood"
        return (f"{value!r} is not an OSM opening_hours value ({first[:120]}); "
                "examples: 'Mo-Su 10:00-22:00', 'Sa,Su 10:00-22:00', '24/7'")
    return None


def check_value(fld: Field, value) -> str | None:
    """Return why ``value`` does not fit ``fld``, or None when it fits."""
    kind = fld.type
    if kind in ("text", "opening_hours", "enum", "district") and not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if kind == "text" and len(value) > MAX_TEXT:
        return f"is {len(value)} characters long; at most {MAX_TEXT}"
    if kind == "opening_hours":
        return _opening_hours(value)
    if kind == "enum" and value not in fld.choices:
        return f"{value!r} is not one of {', '.join(fld.choices)}"
    if kind == "district" and value not in DISTRICT_NAMES:
        return f"{value!r} is not one of Qingdao's districts ({'、'.join(DISTRICT_NAMES)})"
    if kind == "boolean" and not isinstance(value, bool):
        return f"must be true or false, not {value!r}"[:200]
    if kind in ("integer", "year") and (not _number(value) or value != int(value)):
        return f"must be a whole number, not {value!r}"[:200]
    if kind == "number" and not _number(value):
        return f"must be a number, not {value!r}"[:200]
    if kind in ("integer", "year", "number"):
        if fld.minimum is not None and value < fld.minimum:
            return f"{value} is below the minimum {fld.minimum:g}"
        if fld.maximum is not None and value > fld.maximum:
            return f"{value} is above the maximum {fld.maximum:g}"
    return None


def normalize(kind: LayerKind, props: dict) -> dict:
    """One spelling per value, so an unchanged feature compares equal after a round trip through a GIS
    format: a whole "number" is written as an integer (GDAL reads 40 back as 40.0)."""
    numbers = [f.name for f in kind.fields if f.type == "number"]
    for name in numbers:
        value = props.get(name)
        if isinstance(value, float) and value.is_integer():
            props[name] = int(value)
    return props


def check_properties(kind: LayerKind, props: dict) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) for one feature's properties."""
    errors, warnings = [], []
    fields = kind.field_map
    for fld in kind.fields:
        value = props.get(fld.name)
        if value is None or value == "":
            if fld.required:
                errors.append(f"property {fld.name!r} ({fld.zh}) is required")
            continue
        reason = check_value(fld, value)
        if reason:
            errors.append(f"property {fld.name!r} ({fld.zh}) {reason}")
    extra = sorted(set(props) - set(fields))
    if extra:
        warnings.append(f"properties not declared for {kind.id} are kept but not shown: {', '.join(map(str, extra))[:200]}")
    return errors, warnings
