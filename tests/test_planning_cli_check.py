"""``flask --app webmap planning check``: the summary, the exit status (1 when any site fails), the output
formats chosen by the suffix, and refusals of what it cannot do."""

import csv
import io
import json

import openpyxl
import pypdfium2 as pdfium
import pytest

from layers.load import read_layer
from layers.planning.desk import load_ruleset, restore_ruleset, save_ruleset
from layers.planning.rules import DEFAULT
from layers.registry import REGISTRY
from webmap import create_app
from webmap.planning.cli_check import display_width

from .conftest import feature_collection, point

DATES = ["--as-of", "2026-11-21", "--week", "2026-09-09"]


@pytest.fixture(scope="module")
def app():
    return create_app({"TESTING": True, "BASEMAP": "none", "CATALOG_REFRESH_SECONDS": 0})


def check(app, *args):
    return app.test_cli_runner().invoke(args=["planning", "check", *DATES, *args])


@pytest.fixture
def ruleset(app):
    """Make a ruleset of some default rules live for a test, then the default again."""
    store = app.extensions["store"]

    def use(*rule_ids, **params):
        rules = [json.loads(json.dumps(r)) for r in DEFAULT["rules"] if r["id"] in rule_ids]
        for rule in rules:
            rule["params"].update(params.get(rule["id"], {}))
        return save_ruleset(store, {"rules": rules}, author="test")

    yield use
    if load_ruleset(store).version:
        restore_ruleset(store, 0, author="test")


def test_the_sample_data_has_failing_sites_so_the_exit_status_is_1(app):
    result = check(app)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("规则集 ruleset v0 (") and "as of 2026-11-21" in lines[0]
    assert "outdoor_dining_pilots v1" in lines[0]
    bar = next(line for line in lines if line.startswith("od-dabaodao-bar"))
    assert "不通过 fail" in bar and "R1:fail" in bar and "R4:fail" in bar and "大鲍岛里院酒吧外摆" in bar
    assert next(line for line in lines if line.startswith("od-golden-beach")).endswith("  -")
    assert lines[-1] == "合计 total: 通过 pass 6, 提示 warn 3, 不通过 fail 4, 无法判断 cannot assess 0"


def test_when_no_site_fails_the_exit_status_is_0(app, ruleset):
    ruleset("R4", R4={"minimum": 0.5})  # every sample site leaves at least 0.5 m
    result = check(app)
    assert result.exit_code == 0, result.output
    assert "通过 pass 13, 提示 warn 0, 不通过 fail 0" in result.output
    ruleset("R2", "R3")  # warnings only: still 0
    result = check(app)
    assert result.exit_code == 0 and "提示 warn 4" in result.output and "不通过 fail 0" in result.output


def test_cannot_assess_is_0_unless_strict(app, ruleset):
    ruleset("R4", R4={"minimum": 0.5})
    store = app.extensions["store"]
    site = point("x-no-walkway", 120.3805, 36.0705, name="无净宽数据外摆", district="市北区", status="pilot")
    store.publish(read_layer(feature_collection([site]).encode(), REGISTRY["outdoor_dining_pilots"]), author="t",
                  mode="append")
    app.test_client().get("/api/layers")  # the catalog takes the new version at a request
    result = check(app)
    assert result.exit_code == 0 and "无法判断 cannot assess 1" in result.output
    assert "R4:cannot_assess" in next(line for line in result.output.splitlines() if line.startswith("x-no-walkway"))
    assert check(app, "--strict").exit_code == 1
    # the names line up although "无法判断 cannot assess" is longer and CJK characters take two columns
    labels = ("通过 pass", "提示 warn", "不通过 fail", "无法判断 cannot assess")
    starts = set()
    for line in result.output.splitlines()[1:-1]:
        label = next(lb for lb in labels if f"  {lb} " in line)
        end = line.index(f"  {label} ") + len(label) + 2
        name_at = end + len(line[end:]) - len(line[end:].lstrip(" "))
        starts.add(display_width(line[:name_at]))
    assert len(starts) == 1, starts


def test_display_width_counts_cjk_as_two_columns():
    assert display_width("abc") == 3 and display_width("无法判断 x") == 10 and display_width("（") == 2


def test_each_output_format_is_a_readable_file(app, tmp_path):
    result = check(app, "-o", str(tmp_path / "check.xlsx"))
    assert result.exit_code == 1 and "check.xlsx" in result.output
    book = openpyxl.load_workbook(tmp_path / "check.xlsx")
    sites = book["外摆点 sites"]
    ids = [row[0].value for row in sites.iter_rows(min_row=2)]
    assert "od-dabaodao-bar" in ids and len(ids) == len(set(ids)) >= 13
    assert book["about"]["B3"].value == load_ruleset(app.extensions["store"]).digest
    check(app, "-o", str(tmp_path / "check.csv"))
    raw = (tmp_path / "check.csv").read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert raw.startswith(b"\xef\xbb\xbf") and [r[0] for r in rows[1:]] == ids
    assert rows[0] == [c.value for c in sites[1]]
    check(app, "-o", str(tmp_path / "check.html"))
    html = (tmp_path / "check.html").read_text(encoding="utf-8")
    assert "大鲍岛里院酒吧外摆" in html and 'src="data:image/png;base64,' in html and "<script" not in html
    assert check(app, "-o", str(tmp_path / "check.pdf")).exit_code == 1
    pdf = pdfium.PdfDocument(tmp_path / "check.pdf")
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r\n", "")
    assert "District summary" in text and "大鲍岛里院酒吧外摆" in text


@pytest.mark.parametrize("args, words", [
    (["-o", "report.docx"], [".xlsx, .csv, .pdf, .html", "'.docx'"]),
    (["-o", "report"], [".xlsx, .csv, .pdf, .html"]),
    (["--layer", "night_economy_zones"], ["only outdoor_dining_pilots", "只能检查外摆试点图层"]),
    (["--as-of", "2026-02-30"], ["YYYY-MM-DD", "日期无效"]),
    (["--week", "9999-12-31"], ["from 2000-01-01 to 2100-12-31", "日期超出范围"]),
])
def test_what_it_cannot_do_is_a_usage_error_that_says_why(app, tmp_path, args, words):
    result = app.test_cli_runner().invoke(args=["planning", "check", *args])
    assert result.exit_code == 2
    for word in words:
        assert word in result.output
    assert not (tmp_path / "report.docx").exists()
