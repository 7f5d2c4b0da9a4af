"""The planning desk's layer kinds (registered; complaints staff only) and the date field type they use."""

import numpy as np
import pytest

from layers import fieldtypes, registry
from layers.planning import kinds
from layers.properties import as_declared, check_properties
from layers.schema import Field

RECEIVED = Field("received", "date", "受理日期", "Received")


@pytest.mark.parametrize("text, value", [
    ("2026-03-05", "2026-03-05"), ("2026/3/5", "2026-03-05"), ("2026.03.05", "2026-03-05"),
    ("2026年3月5日", "2026-03-05"), ("2026-03-05 14:22:10", "2026-03-05"), ("2026-03-05T14:22:10+08:00", "2026-03-05"),
])
def test_a_date_reads_from_the_ways_exports_write_it(text, value):
    assert fieldtypes.from_text(RECEIVED, text) == value


@pytest.mark.parametrize("value", ["2026-02-30", "05/03/2026", "yesterday", 20260305])
def test_what_is_not_a_date_is_refused_with_the_reason(value):
    reason = fieldtypes.check_value(RECEIVED, value)
    assert reason and "·" in reason
    if isinstance(value, str):
        with pytest.raises(ValueError, match="·"):
            fieldtypes.from_text(RECEIVED, value)


def test_a_date_is_stored_as_iso_text_and_written_to_gis_as_a_date_column():
    assert fieldtypes.check_value(RECEIVED, "2026-03-05") is None
    column, mask = fieldtypes.column(RECEIVED, ["2026-03-05", None])
    assert column.dtype == np.dtype("datetime64[D]") and np.isnat(column[1]) and mask is None
    assert fieldtypes.json_schema(RECEIVED) == {"type": "string", "format": "date", "title": "受理日期 Received"}
    assert fieldtypes.of(RECEIVED).temporal


def test_a_persons_date_is_read_as_iso_with_a_notice():
    props, notices = as_declared(kinds.COMPLAINTS, {"受理日期": "2026年3月5日", "投诉类别": "噪音", "数据来源": "官方"})
    assert props["received"] == "2026-03-05" and props["category"] == "noise" and props["source"] == "official"
    assert notices and check_properties(kinds.COMPLAINTS, props) == ([], [])


def test_sensitive_sites_declare_the_categories_with_chinese_labels():
    category = kinds.SENSITIVE_SITES.field_map["category"]
    assert category.choices == ("residential", "school", "kindergarten", "hospital", "elderly_care", "office_unit",
                                "other")
    assert category.choice_labels["residential"][0] == "居民小区"
    props, _ = as_declared(kinds.SENSITIVE_SITES, {"名称": "海晶花园", "类别": "住宅", "source": "sample"})
    assert check_properties(kinds.SENSITIVE_SITES, props) == ([], [])


def test_the_outdoor_dining_permit_fields_extend_the_pilot_kind_without_duplicates():
    kind = kinds.outdoor_dining_kind()
    names = [f.name for f in kind.fields]
    assert len(names) == len(set(names))
    assert {"area_m2", "capacity", "opening_hours", "season", "clear_walkway_m", "operator"} <= set(names)
    assert fieldtypes.check_value(kind.field_map["season"], "Apr-Oct") is None
    assert fieldtypes.check_value(kind.field_map["clear_walkway_m"], -1)


def test_planning_kinds_are_registered_complaints_staff_only():
    """sensitive_sites is a public context layer (off when the map opens), complaints staff only, and the
    registry's pilot kind is the one with the permit fields."""
    assert registry.get("sensitive_sites") is kinds.SENSITIVE_SITES and registry.get("complaints") is kinds.COMPLAINTS
    assert kinds.SENSITIVE_SITES.context and not kinds.SENSITIVE_SITES.shown and not kinds.SENSITIVE_SITES.staff_only
    assert kinds.COMPLAINTS.staff_only and [k.id for k in registry.KINDS if k.staff_only] == \
        ["complaints", "outdoor_dining_proposals"]
    assert kinds.COMPLAINTS not in registry.PUBLIC_KINDS and kinds.SENSITIVE_SITES in registry.PUBLIC_KINDS
    assert [k for k in registry.KINDS if not k.staff_only] == list(registry.PUBLIC_KINDS)
    assert kinds.outdoor_dining_kind() is registry.get("outdoor_dining_pilots")
    assert {"season", "clear_walkway_m", "operator"} <= set(registry.get("outdoor_dining_pilots").field_map)
