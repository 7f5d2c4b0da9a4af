"""The one table of field-type behaviour (layers/fieldtypes.py) and the callers that must go through it."""

import re
from pathlib import Path

import pytest

from layers import fieldtypes
from layers.registry import KINDS
from layers.schema import FIELD_TYPES, Field

ROOT = Path(__file__).resolve().parent.parent


def test_every_declared_type_has_one_entry_and_every_field_uses_one():
    assert set(FIELD_TYPES) == set(fieldtypes.TYPES)
    assert {f.type for kind in KINDS for f in kind.fields} <= set(fieldtypes.TYPES)


@pytest.mark.parametrize("fld, text, value", [
    (Field("n", "integer", "数", "n"), " 12 ", 12),
    (Field("n", "integer", "数", "n"), "2019.0", 2019),
    (Field("x", "number", "数", "x"), "12.5", 12.5),
    (Field("b", "boolean", "是否", "b"), "TRUE", True),
    (Field("b", "boolean", "是否", "b"), "0", False),
    (Field("y", "year", "年", "y", minimum=1990), "2020", 2020),
])
def test_text_reads_as_the_declared_value(fld, text, value):
    assert fieldtypes.from_text(fld, text) == value
    assert type(fieldtypes.from_text(fld, text)) is type(value)


@pytest.mark.parametrize("fld, text", [
    (Field("n", "integer", "数", "n"), "12.5"),
    (Field("x", "number", "数", "x"), "nan"),
    (Field("b", "boolean", "是否", "b"), "maybe"),
    (Field("y", "year", "年", "y", minimum=1990), "1800"),
    (Field("e", "enum", "类", "e", choices=("a", "b")), "c"),
    (Field("d", "district", "区", "d"), "北京"),
])
def test_text_that_does_not_fit_is_refused_with_the_reason(fld, text):
    with pytest.raises(ValueError, match="·"):  # Chinese, then English
        fieldtypes.from_text(fld, text)


def test_refusals_name_the_value_not_python():
    with pytest.raises(ValueError) as caught:
        fieldtypes.from_text(Field("y", "year", "认定年份", "Year"), "abc")
    assert "could not convert" not in str(caught.value) and "'abc' is not a whole number" in str(caught.value)


def test_whole_numbers_gdal_hands_over_as_floats_are_stored_as_integers():
    """GDAL reads an integer column with a missing value as floats: a download read back must not turn the
    stored 2020 into 2020.0 (which the API would then serve, and QGIS type as Real)."""
    year = Field("y", "year", "年", "y")
    assert fieldtypes.coerce(year, 2020.0) == 2020 and type(fieldtypes.coerce(year, 2020.0)) is int
    assert fieldtypes.coerce(Field("n", "integer", "数", "n"), 30.0) == 30
    assert fieldtypes.coerce(Field("n", "integer", "数", "n"), 30.5) == 30.5  # left for the check to refuse


def test_coerce_keeps_what_does_not_read_for_the_checks_to_name():
    assert fieldtypes.coerce(Field("n", "integer", "数", "n"), "twelve") == "twelve"
    assert fieldtypes.coerce(Field("c", "text", "码", "c"), 370202.0) == "370202"
    assert fieldtypes.coerce(Field("b", "boolean", "是否", "b"), 1) is True


def test_decimals_are_written_with_a_decimal_point():
    fld = Field("area_m2", "number", "面积", "Area")
    assert fieldtypes.to_json(fld, 12) == 12.0 and isinstance(fieldtypes.to_json(fld, 12), float)
    assert fieldtypes.to_json(Field("n", "integer", "数", "n"), 12) == 12


def test_json_schema_carries_type_choices_range_and_title():
    year = fieldtypes.json_schema(Field("y", "year", "认定年份", "Year", minimum=1990, maximum=2100))
    assert year == {"type": "integer", "minimum": 1990, "maximum": 2100, "title": "认定年份 Year"}
    enum = fieldtypes.json_schema(Field("e", "enum", "类", "e", choices=("a", "b")), title=False)
    assert enum == {"type": "string", "enum": ["a", "b"]}


def test_no_other_module_switches_on_field_type_names():
    """The behaviour of a type is one entry in fieldtypes.TYPES: nobody else compares a field's type with a
    type name (Python) or reads field.type to decide behaviour (JavaScript reads the declared hint field.input)."""
    names = "|".join(fieldtypes.TYPES)
    python = re.compile(rf"""\b(?:fld|field|f)\.type\s*(?:==|!=|in)\s*[("']+(?:{names})""")
    script = re.compile(rf"""field\.type\s*===?\s*'(?:{names})'""")
    found = []
    for path in [*ROOT.glob("layers/*.py"), *ROOT.glob("webmap/*.py")]:
        if path.name not in ("fieldtypes.py", "schema.py"):
            found += [f"{path.name}: {m.group(0)}" for m in python.finditer(path.read_text("utf-8"))]
    for path in ROOT.glob("webmap/static/js/*.js"):
        found += [f"{path.name}: {m.group(0)}" for m in script.finditer(path.read_text("utf-8"))]
    assert found == []
