"""What each declared field type means, in one table: how a value is checked, read from text (a URL
parameter, a CSV or KML cell), written to a GIS column and to JSON, described in JSON Schema, and edited
or shown in the browser. A new field type is one entry in :data:`TYPES`; every caller goes through it.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from opening_hours import OpeningHours, ParserError

from . import hours
from .area import DISTRICT_NAMES, DISTRICT_SYNONYMS

MAX_TEXT = 2000

#: How machines write true and false in text (URLs, CSV and KML cells). People's words (是/否…) are read by
#: :mod:`layers.properties`, which tells the person what it read.
#: Words people write for true and false in text columns (CSV, KML).
BOOLEAN_WORDS = {"是": True, "否": False, "有": True, "无": False, "对": True, "错": False, "√": True, "×": False}
BOOLEAN_TEXT = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


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


# --- checks: why a value does not fit the field, or None ---------------------------------------------------

def _check_text(fld, value):
    if not isinstance(value, str):
        return f"应为文字 · must be text, not {type(value).__name__}"
    if len(value) > MAX_TEXT:
        return f"太长（{len(value)} 字），最多 {MAX_TEXT} 字 · is {len(value)} characters long; at most {MAX_TEXT}"
    return None


def _check_hours(fld, value):
    return _check_text(fld, value) or _opening_hours(value)


def _check_enum(fld, value):
    if not isinstance(value, str):
        return f"应为文字 · must be text, not {type(value).__name__}"
    if value not in fld.choices:
        labels = "、".join(fld.choice_labels.get(c, (c,))[0] for c in fld.choices)
        return f"「{value}」不是可选值（{labels}）· {value!r} is not one of {', '.join(fld.choices)}"[:400]
    return None


def _check_district(fld, value):
    if not isinstance(value, str):
        return f"应为文字 · must be text, not {type(value).__name__}"
    if value not in DISTRICT_NAMES:
        return (f"「{value}」不是青岛的区（市）· {value!r} is not one of Qingdao's districts "
                f"({'、'.join(DISTRICT_NAMES)})")[:400]
    return None


def _check_boolean(fld, value):
    return None if isinstance(value, bool) else f"应填“是”或“否” · must be true or false, not {value!r}"[:200]


def _range(fld, value):
    if fld.minimum is not None and value < fld.minimum:
        return f"{value} 小于最小值 {fld.minimum:g} · {value} is below the minimum {fld.minimum:g}"
    if fld.maximum is not None and value > fld.maximum:
        return f"{value} 大于最大值 {fld.maximum:g} · {value} is above the maximum {fld.maximum:g}"
    return None


def _check_integer(fld, value):
    if not _number(value) or value != int(value):
        return f"应为整数 · must be a whole number, not {value!r}"[:200]
    return _range(fld, value)


def _check_number(fld, value):
    return _range(fld, value) if _number(value) else f"应为数字 · must be a number, not {value!r}"[:200]


# --- reading text: the value a text stands for; ValueError when it stands for none ------------------------

def _text_as_is(fld, text: str):
    return text


def _text_integer(fld, text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)  # "2019.0", as spreadsheets write whole numbers
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a whole number") from None
    if not math.isfinite(number) or not number.is_integer():
        raise ValueError(f"{text[:40]!r} is not a whole number")
    return int(number)


def _text_number(fld, text: str):
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]!r} is not a finite number")
    return value


def _text_boolean(fld, text: str):
    try:
        return BOOLEAN_TEXT[text.strip().casefold()]
    except KeyError:
        raise ValueError(f"{text!r} is not true or false") from None


# --- people's words: the declared value a word stands for, or None ----------------------------------------

def _no_words(fld, value: str):
    return None


def _word_enum(fld, value: str):
    return None if value in fld.choices else fld.words.get(value.strip().casefold())


def _word_district(fld, value: str):
    if value in DISTRICT_NAMES:
        return None
    return value.strip() if value.strip() in DISTRICT_NAMES else DISTRICT_SYNONYMS.get(value.strip().casefold())


def _word_boolean(fld, value: str):
    return BOOLEAN_WORDS.get(value.strip().casefold())


def _word_hours(fld, value: str):
    return hours.translate(value) if _opening_hours(value) is not None else None


# --- date: a calendar day, stored as ISO 8601 text (YYYY-MM-DD) -------------------------------------------

#: Forms a date is read from: ISO 8601 (also with a time, as spreadsheets and hotline exports write it),
#: 2026/3/5, 2026.3.5 and 2026年3月5日.
_DATE = re.compile(r"^\s*(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:-|/|\.|月)\s*(\d{1,2})\s*日?"
                    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*$")


def _read_date(text: str) -> str:
    found = _DATE.match(text)
    if not found:
        raise ValueError(f"{text[:40]!r} is not a date (YYYY-MM-DD)")
    year, month, day = map(int, found.groups())
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError as exc:
        raise ValueError(f"{text[:40]!r} is not a date: {exc}") from None


def _check_date(fld, value):
    if not isinstance(value, str):
        return f"应为日期文字（YYYY-MM-DD）· must be a date written YYYY-MM-DD, not {type(value).__name__}"
    try:
        if _read_date(value) == value:
            return None
    except ValueError:
        pass
    return f"「{value[:40]}」不是日期，应写作 2026-03-05 · {value[:40]!r} is not a date written YYYY-MM-DD"


def _text_date(fld, text: str):
    return _read_date(text)


def _word_date(fld, value: str):
    try:
        return _read_date(value)
    except ValueError:
        return None


def _column_date(values):
    return np.array([v if isinstance(v, str) else "NaT" for v in values], dtype="datetime64[D]"), None


def _native_date(fld, value):
    if isinstance(value, np.datetime64) and not np.isnat(value):
        value = value.astype("datetime64[D]").item()
    return value.isoformat()[:10] if isinstance(value, datetime.date) else value


def _native_as_is(fld, value):
    return value


def _native_integer(fld, value):
    # GDAL hands over an integer column that has a missing value as floats (2020.0): stored as 2020
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _native_boolean(fld, value):
    return bool(value) if _number(value) and value in (0, 1) else value


# --- GIS columns: (array, mask of missing values or None) -------------------------------------------------

def _column_integer(values):
    present = np.array([v is not None for v in values], dtype=bool)
    return np.array([v if v is not None else 0 for v in values], dtype=np.int64), ~present


def _column_number(values):
    return np.array([v if v is not None else np.nan for v in values], dtype=np.float64), None


def _column_boolean(values):
    present = np.array([v is not None for v in values], dtype=bool)
    return np.array([bool(v) for v in values], dtype=bool), ~present


def _column_text(values):
    return np.array([None if v is None else str(v) for v in values], dtype=object), None


@dataclass(frozen=True)
class FieldType:
    """The behaviour of one field type."""

    name: str
    #: why a (non-empty) value does not fit the field, or None
    check: Callable
    #: the value a text stands for (URL parameter, CSV/KML cell); raises ValueError when it stands for none
    from_text: Callable
    #: (array, missing mask or None) for a GIS column of these values
    column: Callable
    #: the JSON Schema of a value (enum, range and title are added by :func:`json_schema`)
    schema: dict
    #: how a browser form edits it: "text", "number", "integer", "checkbox", "select", "hours"
    input: str
    #: the declared value a person's word stands for (an enum's labels, 是/否, 市南 for 市南区), or None
    words: Callable = _no_words
    #: whether a value read from a word should be checked by the person (everyday hours are a guess)
    check_words: bool = False
    #: the stored value of what a GIS library hands over (1/0 for a boolean, a datetime.date for a date)
    native: Callable = _native_as_is
    #: whether a value in JSON is written as a decimal (12 -> 12.0), so clients type the column as real
    decimal: bool = False
    #: whether it holds a date or year the OGC ``datetime`` parameter can filter on
    temporal: bool = False


TYPES: dict[str, FieldType] = {t.name: t for t in (
    FieldType("text", _check_text, _text_as_is, _column_text, {"type": "string"}, "text"),
    FieldType("integer", _check_integer, _text_integer, _column_integer, {"type": "integer"}, "integer",
              native=_native_integer),
    FieldType("number", _check_number, _text_number, _column_number, {"type": "number"}, "number",
              decimal=True),
    FieldType("boolean", _check_boolean, _text_boolean, _column_boolean, {"type": "boolean"}, "checkbox",
              words=_word_boolean, native=_native_boolean),
    FieldType("enum", _check_enum, _text_as_is, _column_text, {"type": "string"}, "select", words=_word_enum),
    FieldType("year", _check_integer, _text_integer, _column_integer, {"type": "integer"}, "integer",
              native=_native_integer, temporal=True),
    FieldType("opening_hours", _check_hours, _text_as_is, _column_text, {"type": "string"}, "hours",
              words=_word_hours, check_words=True),
    FieldType("district", _check_district, _text_as_is, _column_text, {"type": "string"}, "select",
              words=_word_district),
    FieldType("date", _check_date, _text_date, _column_date, {"type": "string", "format": "date"}, "date",
              words=_word_date, native=_native_date, temporal=True),
)}


def of(fld) -> FieldType:
    return TYPES[fld.type]


def check_value(fld, value) -> str | None:
    """Why ``value`` does not fit ``fld`` (Chinese, then English after " · "), or None when it fits."""
    return TYPES[fld.type].check(fld, value)


def word(fld, value):
    """The declared value a person's word stands for in ``fld`` (e.g. 「是」 -> True), or None."""
    return TYPES[fld.type].words(fld, value) if isinstance(value, str) else None


def from_text(fld, text: str):
    """The value ``text`` stands for in ``fld``, checked; ValueError (with the reason) when it fits not."""
    try:
        value = TYPES[fld.type].from_text(fld, text)
    except ValueError as exc:
        raise ValueError(f"「{text[:40]}」不是{fld.zh}的有效值 · {exc}") from None
    reason = check_value(fld, value)
    if reason:
        raise ValueError(reason)
    return value


def coerce(fld, value):
    """A value read from a text-only format (CSV, KML) or a GIS column, as the field declares it; a value
    that does not read is returned as it came, for the checks to name."""
    if fld is None or value is None:
        return value
    kind = TYPES[fld.type]
    if kind.column is _column_text:
        if _number(value):  # codes such as adcode 370202 read by a GIS as a number
            return str(int(value)) if float(value).is_integer() else str(value)
        return value
    value = kind.native(fld, value)
    if isinstance(value, str):
        try:
            return kind.from_text(fld, value)
        except ValueError:
            return value
    return value


def choices(fld) -> dict[str, tuple[str, str]]:
    """The values a field may take, with their zh/en labels ({} when any value of its type fits)."""
    if fld.type == "district":
        return {d: (d, d) for d in DISTRICT_NAMES}
    return {c: fld.choice_labels.get(c, (c, c)) for c in fld.choices}


def json_schema(fld, *, title: bool = True) -> dict:
    """The JSON Schema of the field's values: its type, choices, range, and its zh/en title."""
    schema = dict(TYPES[fld.type].schema)
    if choices(fld):
        schema["enum"] = list(choices(fld))
    if fld.minimum is not None:
        schema["minimum"] = fld.minimum
    if fld.maximum is not None:
        schema["maximum"] = fld.maximum
    if fld.type == "text":
        schema["maxLength"] = MAX_TEXT
    if title:
        schema["title"] = f"{fld.zh} {fld.en}"
    return schema


def to_json(fld, value):
    """A stored value as JSON writes it for clients: numbers declared as decimals carry a decimal point
    (12 -> 12.0), so a client that types columns from the first values it sees types them as real."""
    if value is not None and TYPES[fld.type].decimal and _number(value):
        return float(value)
    return value


def column(fld, values: list):
    """(array, missing mask or None) of ``values`` for a GIS column of ``fld``."""
    return TYPES[fld.type].column(values)
