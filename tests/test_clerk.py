"""The clerk's language (layers, no Flask): Chinese headers and words, everyday hours, spreadsheet row numbers,
names on every line, the swap and GB18030 fixes."""

import pytest
from opening_hours import OpeningHours

from layers import hours
from layers.load import read_layer
from layers.properties import as_declared
from layers.readers import read_file
from layers.registry import KINDS, get

from .conftest import feature_collection, point

DINING = get("outdoor_dining_pilots")
HEADER = "名称,经度,纬度,所在区,状态,业态,数据来源,营业时间,外摆座位数\n"


@pytest.mark.parametrize("text, osm", [
    ("每天 10:00-22:00", "Mo-Su 10:00-22:00"),
    ("每日10：00～22：00", "Mo-Su 10:00-22:00"),
    ("周一至周五 9:00-21:00", "Mo-Fr 09:00-21:00"),
    ("星期一到星期日 8:30-20:30", "Mo-Su 08:30-20:30"),
    ("全天24小时", "24/7"),
    ("24小时营业", "24/7"),
    ("周一至周五 9:00-21:00；周六、周日 10:00-22:00", "Mo-Fr 09:00-21:00; Sa,Su 10:00-22:00"),
    ("每天 10:00-22:00，周一休息", "Mo-Su 10:00-22:00; Mo off"),
    ("每天 10:00-22:00 周一休息", "Mo-Su 10:00-22:00; Mo off"),
    ("周末及节假日 10:00-次日2:00", "Sa,Su,PH 10:00-02:00"),
    ("工作日 9:00-12:00,14:00-18:00", "Mo-Fr 09:00-12:00,14:00-18:00"),
    ("周五、周六 24小时", "Fr,Sa 00:00-24:00"),
])
def test_the_hours_table_translates_everyday_forms(text, osm):
    assert hours.translate(text) == osm
    OpeningHours(osm)  # and the result is valid OSM


@pytest.mark.parametrize("text", ["下午营业", "随时", "周一", "每天 25:00-26:00", "每天 10:00-22:00 12:00", "早上十点到晚上十点",
                                  "看情况", ""])
def test_what_the_table_does_not_hold_is_not_guessed(text):
    assert hours.translate(text) is None


def test_every_synonym_names_a_declared_value_and_headers_do_not_clash():
    for kind in KINDS:
        seen = {}
        for fld in kind.fields:
            for header in fld.headers:
                key = "".join(header.split()).casefold()
                assert seen.setdefault(key, fld.name) == fld.name, (kind.id, header)
            assert set(fld.words.values()) <= set(fld.choices)


def test_chinese_headers_and_words_become_declared_fields_and_values():
    props, notices = as_declared(DINING, {"名称": "咖啡外摆", "所在区": "市南", "状态": "试点", "业态": "咖啡店",
                                          "数据来源": "实地调查", "营业时间": "每天 10:00-22:00", "备注": "x"})
    assert props == {"name": "咖啡外摆", "district": "市南区", "status": "pilot", "venue_type": "cafe",
                     "source": "survey", "opening_hours": "Mo-Su 10:00-22:00", "note": "x"}
    joined = "\n".join(notices)
    assert "「试点」读作 pilot" in joined and "「咖啡店」读作 cafe" in joined and "「实地调查」读作 survey" in joined
    assert "「每天 10:00-22:00」读作 Mo-Su 10:00-22:00，请核对" in joined and "「市南」读作 市南区" in joined
    assert len(notices) == 5  # 名称 and 备注 are only headers: nothing to confirm


def test_values_already_declared_are_left_alone():
    props = {"name": "x", "status": "pilot", "opening_hours": "Mo-Su 10:00-22:00", "district": "市南区"}
    assert as_declared(DINING, dict(props)) == (props, [])


def write_csv(tmp_path, rows, encoding="utf-8", header=HEADER):
    path = tmp_path / "clerk.csv"
    path.write_bytes((header + "".join(r + "\n" for r in rows)).encode(encoding))
    return path


ROWS = ["台东咖啡外摆,120.3480,36.0870,市北区,试点,咖啡店,实地调查,每天 10:00-22:00,12",
        "栈桥酒吧外摆,36.0620,120.3190,市南区,运营中,酒吧,实地调查,全天24小时,30",
        "五四广场轻餐,120.3840,36.0610,市南区,规划中,轻餐饮,示例,周一至周五 9:00-21:00,8"]


def test_a_chinese_csv_reads_with_spreadsheet_rows_and_names_on_every_line(tmp_path):
    layer = read_file(write_csv(tmp_path, ROWS), DINING)
    assert len(layer) == 2 and layer.properties[0]["venue_type"] == "cafe"
    assert layer.properties[1]["opening_hours"] == "Mo-Fr 09:00-21:00"
    (swapped,) = layer.report.errors
    assert swapped.number == 3 and swapped.name == "栈桥酒吧外摆" and swapped.fix == "swap"
    assert "经纬度可能填反了" in swapped.message and "GeoJSON" not in swapped.message
    assert "clerk.csv: 第 3 行 row 3 「栈桥酒吧外摆」" in layer.report.text()
    assert all(p.name for p in layer.report.problems)
    assert {p.number for p in layer.report.problems} == {2, 3, 4}  # the header is row 1


def test_the_swap_fix_exchanges_exactly_the_rows_asked_for(tmp_path):
    path = write_csv(tmp_path, ROWS)
    first = read_file(path, DINING)
    rows = {p.index for p in first.report.fixes("swap")}
    layer = read_file(path, DINING, swap=rows)
    assert layer.report.ok and len(layer) == 3
    assert layer.geometries[1].x == pytest.approx(120.3190) and layer.geometries[0].x == pytest.approx(120.3480)
    assert any("交换经纬度" in p.message and p.number == 3 for p in layer.report.problems)


def test_gbk_text_is_detected_shown_and_offered(tmp_path):
    path = write_csv(tmp_path, ROWS[:1], encoding="gbk")
    (problem,) = read_file(path, DINING).report.problems
    assert problem.fix == "gb18030" and "GBK/GB18030" in problem.message and "名称,经度,纬度" in problem.message
    assert read_file(path, DINING, encoding="gb18030").report.ok


def test_geojson_goes_through_the_same_step_and_counts_features_from_one():
    doc = feature_collection([{"type": "Feature", "properties": {"名称": "甲", "所在区": "西海岸新区", "数据来源": "官方",
                                                                  "业态": "清吧"},
                               "geometry": {"type": "Point", "coordinates": [120.2, 35.96]}},
                              point("b", 36.07, 120.38)])
    layer = read_layer(doc.encode(), DINING)
    assert layer.properties[0] == {"name": "甲", "district": "黄岛区", "source": "official", "venue_type": "bar"}
    assert [p.number for p in layer.report.errors] == [2]


def test_a_district_that_does_not_match_the_location_is_a_warning_naming_both(tmp_path):
    from layers.area import check_districts
    from layers.catalog import Catalog

    from .conftest import DATA

    districts = Catalog.from_directory(DATA).get("districts").layer
    path = write_csv(tmp_path, [ROWS[0], ROWS[2].replace("市南区", "崂山区")])
    layer = read_file(path, DINING)
    check_districts(layer, districts)
    (warning,) = [p for p in layer.report.problems if "所在区填写为" in p.message]
    assert warning.severity == "warning" and warning.number == 3 and warning.name == "五四广场轻餐"
    assert "所在区填写为崂山区，但位置在市南区" in warning.message
