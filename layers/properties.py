"""Checking feature properties against a layer kind's declared fields."""

from __future__ import annotations

import functools
import math

from opening_hours import OpeningHours, ParserError

from . import hours
from .area import DISTRICT_NAMES, DISTRICT_SYNONYMS
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
        return (f"「{value}」无法识别，可写作{'、'.join(f'“{e}”' for e in hours.EXAMPLES)} · "
                f"{value!r} is not an OSM opening_hours value ({first[:120]}); "
                "examples: 'Mo-Su 10:00-22:00', 'Sa,Su 10:00-22:00', '24/7'")
    return None


def check_value(fld: Field, value) -> str | None:
    """Return why ``value`` does not fit ``fld``, or None when it fits."""
    kind = fld.type
    if kind in ("text", "opening_hours", "enum", "district") and not isinstance(value, str):
        return f"应为文字 · must be text, not {type(value).__name__}"
    if kind == "text" and len(value) > MAX_TEXT:
        return f"太长（{len(value)} 字），最多 {MAX_TEXT} 字 · is {len(value)} characters long; at most {MAX_TEXT}"
    if kind == "opening_hours":
        return _opening_hours(value)
    if kind == "enum" and value not in fld.choices:
        labels = "、".join(fld.choice_labels.get(c, (c,))[0] for c in fld.choices)
        return f"「{value}」不是可选值（{labels}）· {value!r} is not one of {', '.join(fld.choices)}"[:400]
    if kind == "district" and value not in DISTRICT_NAMES:
        return (f"「{value}」不是青岛的区（市）· {value!r} is not one of Qingdao's districts "
                f"({'、'.join(DISTRICT_NAMES)})")[:400]
    if kind == "boolean" and not isinstance(value, bool):
        return f"应填“是”或“否” · must be true or false, not {value!r}"[:200]
    if kind in ("integer", "year") and (not _number(value) or value != int(value)):
        return f"应为整数 · must be a whole number, not {value!r}"[:200]
    if kind == "number" and not _number(value):
        return f"应为数字 · must be a number, not {value!r}"[:200]
    if kind in ("integer", "year", "number"):
        if fld.minimum is not None and value < fld.minimum:
            return f"{value} 小于最小值 {fld.minimum:g} · {value} is below the minimum {fld.minimum:g}"
        if fld.maximum is not None and value > fld.maximum:
            return f"{value} 大于最大值 {fld.maximum:g} · {value} is above the maximum {fld.maximum:g}"
    return None


#: Words for true and false in text columns (CSV, KML), beside true/false, yes/no and 1/0.
BOOLEAN_WORDS = {"是": True, "否": False, "有": True, "无": False, "对": True, "错": False, "√": True, "×": False}


_HEADERS: dict[int, tuple[LayerKind, dict]] = {}


def header_map(kind: LayerKind) -> dict[str, str]:
    """Column header (case-folded, spaces taken out) -> declared field: the name, the zh label, the aliases."""
    cached = _HEADERS.get(id(kind))
    if cached is not None and cached[0] is kind:
        return cached[1]
    found = {}
    for fld in kind.fields:
        for header in fld.headers:
            found.setdefault(_header_key(header), fld.name)
    _HEADERS[id(kind)] = (kind, found)  # kinds are declared once; the kind is kept so its id is not reused
    return found


def _header_key(header) -> str:
    return "".join(str(header).split()).casefold()


def _word(fld: Field, value):
    """The declared value a person's word stands for, or None: an enum's labels and synonyms, a district's
    other names, 是/否 for booleans, everyday Chinese hours (:mod:`layers.hours`)."""
    if not isinstance(value, str):
        return None
    key = value.strip().casefold()
    if fld.type == "enum" and value not in fld.choices:
        return fld.words.get(key)
    if fld.type == "district" and value not in DISTRICT_NAMES:
        return value.strip() if value.strip() in DISTRICT_NAMES else DISTRICT_SYNONYMS.get(key)
    if fld.type == "boolean":
        return BOOLEAN_WORDS.get(key)
    if fld.type == "opening_hours" and _opening_hours(value) is not None:
        return hours.translate(value)
    return None


def as_declared(kind: LayerKind, props: dict) -> tuple[dict, list[str]]:
    """The one step every reader's properties go through before they are checked: column headers in
    Chinese or other declared spellings become the field names, and words for values (an enum's Chinese
    labels and synonyms, district names without 区, 是/否, everyday hours) become the stored values.
    Returns the properties and a notice per change, for the person to confirm."""
    fields = kind.field_map
    names = header_map(kind)
    out, notices = {}, []
    for key, value in props.items():
        name = key if key in fields else names.get(_header_key(key), key)
        if name != key and (name in props or name in out):
            name = key  # the file has two spellings of one field: the first (or declared) one wins
        out[name] = value
    for name, value in list(out.items()):
        fld = fields.get(name)
        word = _word(fld, value) if fld is not None else None
        if word is None or word == value:
            continue
        out[name] = word
        if fld.type == "opening_hours":
            notices.append(f"{fld.zh}「{value}」读作 {word}，请核对 · {fld.en} {value!r} read as {word!r}: please check")
        else:
            shown = {True: "true", False: "false"}.get(word, word)
            notices.append(f"{fld.zh}「{value}」读作 {shown} · {fld.en} {value!r} read as {shown!r}")
    return out, notices


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
                errors.append(f"缺少「{fld.zh}」· property {fld.name!r} ({fld.zh}) is required")
            continue
        reason = check_value(fld, value)
        if reason:
            errors.append(f"「{fld.zh}」{reason.split(' · ')[0]} · property {fld.name!r} ({fld.zh}) "
                          f"{reason.split(' · ', 1)[-1]}")
    extra = sorted(set(props) - set(fields))
    if extra:
        warnings.append(f"这些列不属于本图层，会保留但不显示：{'、'.join(map(str, extra))[:200]} · "
                        f"properties not declared for {kind.id} are kept but not shown: {', '.join(map(str, extra))[:200]}")
    return errors, warnings
