"""Excel (.xlsx) through the one import path: a hotline export read as the CSV its first sheet makes (the same
lon/lat and header rules), hostile workbooks refused before anything is unpacked, and the complaints imported
from the command line and the staff import page into the staff-only layer."""

import datetime as dt
import re
import zipfile
from html import unescape

import openpyxl
import pytest

from layers import readers, xlsx
from layers.readers import read_file
from layers.registry import get
from webmap import create_app

from .conftest import password_hash
from .test_staff import PASSWORD, login, publish_form, upload

HEADER = ["工单编号", "受理日期", "诉求类型", "经度", "纬度", "诉求内容", "所在区", "数据来源"]


def hotline(path, *, title=True, extra_sheet=True):
    """A 12345 hotline export as a city office sends it: a title row, Chinese headers, dates as dates (one with
    a time), one as text, numbers as numbers (and one as text), a text that starts with '=', a formula."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "受理记录"
    if title:
        sheet.append(["青岛市12345政务服务便民热线 工单导出（2026年11月）"])
    sheet.append(HEADER)
    sheet.append(["GD001", dt.datetime(2026, 11, 3, 22, 41), "噪音扰民", 120.3933, 36.0589, "夜间外摆喧哗", "市南区", "官方发布"])
    sheet.append(["GD002", dt.datetime(2026, 11, 4), "占道经营", "120.3941", "36.0593", None, "市南", "official"])
    sheet.append([])
    sheet.append(["GD003", "2026/11/5", "油烟", 120.3950, 36.0601, "=HYPERLINK(\"http://evil\")", "市南区", "official"])
    text = sheet.cell(row=sheet.max_row, column=6)
    text.data_type = "s"  # a text cell that starts with '=' (openpyxl would otherwise write a formula)
    sheet.append(["GD004", dt.date(2026, 11, 6), "noise", 120.3962, 36.0610, "=1+2", "市南区", "official"])
    if extra_sheet:
        workbook.create_sheet("说明").append(["本表由热线系统导出"])
    workbook.save(path)
    return path


def with_cached_value(path, formula="1+2", value="3"):
    """The same workbook with the formula's value cached, as Excel saves it (openpyxl writes none)."""
    members = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            members[info.filename] = archive.read(info)
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    members["xl/worksheets/sheet1.xml"] = sheet.replace(f"<f>{formula}</f><v></v>", f"<f>{formula}</f><v>{value}</v>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_hotline_export_reads_as_the_csv_rules_read_it(tmp_path):
    layer = read_file(hotline(tmp_path / "热线导出.xlsx"), get("complaints"))
    assert layer.report.ok, layer.report.text()
    props = dict(zip(layer.ids, layer.properties))  # the work-order number (工单编号) is the id
    assert [props[k]["received"] for k in ("GD001", "GD002", "GD003", "GD004")] == [
        "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"]
    assert [props[k]["category"] for k in ("GD001", "GD002", "GD003", "GD004")] == ["noise", "obstruction", "odour", "noise"]
    assert props["GD003"]["text"] == '=HYPERLINK("http://evil")'  # text stays text
    assert "text" not in props["GD004"]  # a formula never calculated has no cached value: empty, not evaluated
    assert props["GD002"]["district"] == "市南区" and props["GD001"]["text"] == "夜间外摆喧哗"
    coords = [g.coords[0] for g in layer.geometries]
    assert coords[0] == (120.3933, 36.0589) and coords[1] == (120.3941, 36.0593)
    warnings = " ".join(p.message for p in layer.report.problems if p.severity == "warning")
    assert "只读取了第一个「受理记录」" in warnings and "the header is on row 2" in warnings and "1 empty rows" in warnings


def test_a_formula_is_read_as_its_cached_value(tmp_path):
    path = with_cached_value(hotline(tmp_path / "cached.xlsx", title=False, extra_sheet=False))
    layer = read_file(path, get("complaints"))
    assert dict(zip(layer.ids, (p.get("text") for p in layer.properties)))["GD004"] == "3"
    assert not [p for p in layer.report.problems if "header" in p.message or "sheets" in p.message]


def test_a_permit_spreadsheet_with_a_seats_column(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["name", "district", "source", "lon", "lat", "seats", "opening_hours", "clear_walkway_m"])
    workbook.active.append(["台东外摆 A", "市北区", "sample", 120.3465, 36.0852, 24, "Mo-Su 17:00-22:00", 2.5])
    workbook.save(tmp_path / "permits.xlsx")
    layer = read_file(tmp_path / "permits.xlsx", get("outdoor_dining_pilots"))
    assert layer.report.ok, layer.report.text()
    assert layer.properties[0]["capacity"] == 24 and layer.properties[0]["clear_walkway_m"] == 2.5


@pytest.mark.parametrize("content, words", [
    (b"id,lon,lat\n1,120.3,36.0\n", "not an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old Excel (.xls)"),
    (b"PK\x03\x04not really a zip", "damaged"),
])
def test_what_is_not_an_xlsx_is_refused(tmp_path, content, words):
    path = tmp_path / "upload.xlsx"
    path.write_bytes(content)
    layer = read_file(path, get("complaints"))
    assert not layer.report.ok and len(layer) == 0 and words in layer.report.text()


def test_a_zip_that_is_not_a_workbook_and_a_zip_bomb_are_refused_before_unpacking(tmp_path):
    plain = tmp_path / "plain.xlsx"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("data.csv", "lon,lat\n120,36\n")
    assert "no Excel workbook" in read_file(plain, get("complaints")).report.text()
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 << 20))
    assert "zip bomb" in read_file(bomb, get("complaints")).report.text()


def test_a_workbook_of_too_much_shared_text_is_refused_before_openpyxl_holds_it(tmp_path):
    # millions of tiny distinct strings, packed below the zip-bomb ratio by a stored incompressible member
    import os

    many = tmp_path / "strings.xlsx"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", "<sst>" + "".join(f"<si><t>{i}</t></si>" for i in range(2_000_000))
                         + "</sst>")
        archive.writestr(zipfile.ZipInfo("xl/media/noise.bin"), os.urandom(1 << 20))
    text = read_file(many, get("complaints")).report.text()
    assert "shared text" in text and "CSV" in text and "zip bomb" not in text


def test_too_many_columns_or_rows_are_refused(tmp_path, monkeypatch):
    wide = openpyxl.Workbook()
    wide.active.append(["lon", "lat"])
    wide.active.cell(row=1, column=xlsx.MAX_COLUMNS + 5, value="x")
    wide.save(tmp_path / "wide.xlsx")
    assert f"at most {xlsx.MAX_COLUMNS}" in read_file(tmp_path / "wide.xlsx", get("complaints")).report.text()
    monkeypatch.setattr(readers, "MAX_FEATURES", 2)
    text = read_file(hotline(tmp_path / "long.xlsx"), get("complaints")).report.text()
    assert "more than 2 rows" in text and "split" in text


def test_xml_with_entities_is_refused(tmp_path):
    path = hotline(tmp_path / "entities.xlsx", title=False, extra_sheet=False)
    members = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            members[info.filename] = archive.read(info)
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    members["xl/worksheets/sheet1.xml"] = sheet.replace(
        "<worksheet", '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><worksheet', 1).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    layer = read_file(path, get("complaints"))
    text = layer.report.text()
    assert not layer.report.ok and len(layer) == 0 and "DTD or entities" in text and "/tmp" not in text


# --- through the import service: the command line and the staff page -------------------------------------

def test_the_command_line_imports_a_hotline_xlsx_into_the_staff_only_layer(app, runner, tmp_path):
    path = hotline(tmp_path / "热线导出.xlsx")
    done = runner.invoke(args=["layers", "import", "complaints", str(path), "--encoding", "gb18030", "--yes"])
    assert done.exit_code == 0, done.output
    assert "Published Complaints version" in done.stdout and "the chosen encoding gb18030 was not used" in done.stdout
    live = app.extensions["store"].load(get("complaints"))
    assert {"2026-11-03", "2026-11-06"} <= {p["received"] for p in live.properties}
    assert app.test_client().get("/api/layers/complaints").status_code == 404  # staff only


@pytest.fixture
def staff_app(tmp_path):
    app = create_app({"TESTING": True, "BASEMAP": "none", "UPLOAD_DIR": str(tmp_path / "uploads")})
    app.extensions["store"].create_user("admin", password_hash(PASSWORD), "admin", [], actor="test")
    return app


def test_the_staff_import_page_takes_a_hotline_xlsx(staff_app, tmp_path):
    client = login(staff_app.test_client(), "admin")
    assert ".xlsx" in unescape(client.get("/staff/layers/complaints/import").get_data(as_text=True))
    content = hotline(tmp_path / "热线导出.xlsx").read_bytes()
    page = upload(client, "complaints", content, filename="热线导出.xlsx", mode="append")
    html = unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "<strong>4</strong> 个要素可发布" in page.get_data(as_text=True)
    assert "受理记录" in html
    assert client.post("/staff/layers/complaints/publish", data=publish_form(page.get_data(as_text=True))).status_code == 302
    live = staff_app.extensions["store"].load(get("complaints"))
    assert "GD003" in live.ids  # the work-order number is the complaint's id: a re-export updates it
    history = unescape(client.get("/staff/layers/complaints/history").get_data(as_text=True))
    assert "热线导出.xlsx" in history
    refused = upload(client, "complaints", b"id,lon,lat\n", filename="fake.xlsx")
    assert "not an Excel workbook" in unescape(refused.get_data(as_text=True))
    assert re.search(r"0</strong> 个要素可发布|没有可发布", refused.get_data(as_text=True))


def without_source(path):
    """The hotline export as the hotline system really sends it: no 数据来源 column."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["工单编号", "受理时间", "诉求类型", "经度", "纬度", "诉求内容"])
    sheet.append(["GD101", dt.datetime(2026, 11, 3, 22, 41), "噪音扰民", 120.3933, 36.0589, "夜间外摆喧哗"])
    sheet.append(["GD102", dt.datetime(2026, 11, 4, 21, 0), "油烟", 120.3941, 36.0593, "油烟大"])
    workbook.save(path)
    return path


def test_an_export_without_a_source_column_is_offered_the_fix_and_imported_with_it(app, runner, tmp_path):
    path = without_source(tmp_path / "hotline.xlsx")
    refused = runner.invoke(args=["layers", "import", "complaints", str(path), "--yes"])
    assert refused.exit_code == 1 and "修正 fix: --source" in refused.stdout and "2 个要素只缺「数据来源」" in refused.stdout
    done = runner.invoke(args=["layers", "import", "complaints", str(path), "--source", "official", "--yes"])
    assert done.exit_code == 0, done.output
    assert "2 个要素未给出数据来源，按导入选项填为「官方发布」" in done.stdout
    live = app.extensions["store"].load(get("complaints"))
    assert {live.properties[live.ids.index(i)]["source"] for i in ("GD101", "GD102")} == {"official"}
    again = runner.invoke(args=["layers", "import", "complaints", str(path), "--source", "official", "--yes"])
    assert "will add 0, update 0" in again.stdout  # the same tickets again add nothing
    wrong = runner.invoke(args=["layers", "import", "complaints", str(path), "--source", "12345"])
    assert wrong.exit_code == 2


def test_the_import_page_offers_a_source_for_rows_without_one(staff_app, tmp_path):
    client = login(staff_app.test_client(), "admin")
    page = upload(client, "complaints", without_source(tmp_path / "h.xlsx").read_bytes(), filename="h.xlsx",
                  mode="append")
    html = unescape(page.get_data(as_text=True))
    assert "2 个要素只因缺少「数据来源」被拒" in html and 'name="fix" value="source"' in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    fixed = client.post("/staff/layers/complaints/reread", data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1), "token": token,
        "fix": "source", "source": "official"})
    assert fixed.status_code == 200 and "<strong>2</strong> 个要素可发布" in fixed.get_data(as_text=True)
    bad = client.post("/staff/layers/complaints/reread", data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1), "token": token,
        "fix": "source", "source": "<b>"})
    assert bad.status_code == 400
