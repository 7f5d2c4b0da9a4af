"""The planning desk's check-all page (filters, sorting, counts by district, dates), its XLSX and CSV exports
(opened with openpyxl and csv, checked cell by cell against the run) and who may see them."""

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest

from layers.load import read_layer
from layers.planning import tables
from layers.planning.results import GRAVITY, STATUSES
from layers.registry import REGISTRY
from webmap import create_app

from .conftest import feature_collection, password_hash, point

PASSWORD = "correct horse battery"
AS_OF, WEEK = "2026-11-21", "2026-09-09"
#: Sites whose names and hours a spreadsheet would take for formulas, and one whose name is HTML.
HOSTILE = {"x-formula": '=HYPERLINK("http://evil.example/","click")', "x-at": "@SUM(1+1)*cmd|' /C calc'!A0",
           "x-html": '<img src="http://evil.example/x.png">'}


@pytest.fixture(scope="module")
def app():
    app = create_app({"TESTING": True, "BASEMAP": "none", "CATALOG_REFRESH_SECONDS": 0})
    store = app.extensions["store"]
    store.create_user("ed", password_hash(PASSWORD), "editor", [], actor="test")
    features = [point(fid, 120.3805 + i * 0.001, 36.0705, name=name, district="市北区", capacity=8,
                      opening_hours="Mo-Su 10:00-20:00", status="pilot",
                      **({} if fid == "x-at" else {"clear_walkway_m": 2.0}))  # x-at: no walkway to assess
                for i, (fid, name) in enumerate(HOSTILE.items())]
    layer = read_layer(feature_collection(features).encode(), REGISTRY["outdoor_dining_pilots"], source="x.geojson")
    assert not layer.report.errors, layer.report.errors
    store.publish(layer, author="test", mode="append")
    app.test_client().get("/api/layers")  # the catalog takes the new version at a request
    return app


@pytest.fixture(scope="module")
def run(app):
    with app.app_context():
        from webmap.db import get_desk

        return tables.check_all(get_desk(), as_of=dt.date.fromisoformat(AS_OF), week=dt.date.fromisoformat(WEEK))


def login(client, name="ed"):
    page = client.get("/staff/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    response = client.post("/staff/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302
    return client


@pytest.fixture(scope="module")
def client(app):
    return login(app.test_client())


def page(client, query=""):
    response = client.get(f"/staff/planning/?as_of={AS_OF}&week={WEEK}{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[-500:]
    return response.get_data(as_text=True)


def site_ids(html):
    return re.findall(r'<tr data-site="([^"]+)"', html)


def test_anonymous_visitors_are_sent_to_log_in(app):
    anonymous = app.test_client()
    for path in ("/staff/planning/", "/staff/planning/check-all.xlsx", "/staff/planning/check-all.csv",
                 "/staff/planning/report.html", "/staff/planning/sites/od-licun/report.pdf"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], path


def test_an_editor_sees_every_site_and_zone_with_the_runs_facts(client, run):
    html = page(client)
    assert sorted(site_ids(html)) == sorted(str(r.id) for r in run.sites) and len(run.sites) == 16
    assert sorted(re.findall(r'<tr data-zone="([^"]+)"', html)) == sorted(str(z.id) for z in run.zones)
    assert f"v{run.run.ruleset.version}" in html and run.run.ruleset.digest in html
    assert AS_OF in html and str(run.run.week) in html and "2026-09-07/2026-09-13" in html
    for layer_id, version in run.data.items():
        assert f"<code>{layer_id}</code> v{version}" in html
    # counts by district, as CheckRun.by_district() counts them
    table = html.split('id="by-district"')[1].split("</table>")[0]
    for district, counts in run.run.by_district().items():
        row = re.search(rf">{district}</a></td>(.*?)</tr>", table, re.S).group(1)
        assert re.findall(r"<td>(\d+)</td>", row) == [str(counts[s]) for s in STATUSES] + [str(sum(counts.values()))]
    # untrusted names are text, and each row links to its report
    assert '&lt;img src=&#34;http://evil.example/x.png&#34;&gt;' in html and '<img src="http://evil' not in html
    assert "/staff/planning/sites/od-licun/report.html" in html and "/staff/planning/sites/od-licun/report.pdf" in html


def test_a_place_that_only_touches_a_zones_edge_is_not_counted_inside(client, run):
    """金沙滩度假公寓 overlaps 金沙滩啤酒城 by a sliver (0.015 m²): listed as touching the edge, not inside."""
    beach = next(z for z in run.zones if z.name == "金沙滩啤酒城")
    assert beach.residents_inside() == 0 and beach.residential_share == 0.0
    assert [p.name for p in beach.edge] == ["金沙滩度假公寓"]
    assert all(z.residential_share > 0 for z in run.zones if z.residents_inside())  # a home inside has a share
    row = re.search(r'<tr data-zone="[^"]+"><td>金沙滩啤酒城</td>(.*?)</tr>', page(client), re.S).group(1)
    assert "<td>0</td>" in row and "仅与边界相接（不计入）" in row and "金沙滩度假公寓" in row


def test_filters_choose_rows_on_the_server(client, run):
    html = page(client, "&district=市北区&status=fail")
    expected = {str(r.id) for r in run.sites if r.district == "市北区" and r.status == "fail"}
    assert set(site_ids(html)) == expected and expected
    html = page(client, "&rule=R2&rule_status=warn")
    expected = {str(r.id) for r in run.sites if r.result.verdict("R2").status == "warn"}
    assert set(site_ids(html)) == expected and expected
    html = page(client, "&rule_status=cannot_assess")  # any rule
    expected = {str(r.id) for r in run.sites if any(v.status == "cannot_assess" for v in r.result.verdicts)}
    assert set(site_ids(html)) == expected == {"x-at"}  # it has no clear_walkway_m


def test_sorting_by_any_column_both_ways(client, run):
    walkways = sorted((r.walkway for r in run.sites if r.walkway is not None), reverse=True)
    ids = site_ids(page(client, "&sort=walkway&order=desc"))
    assert [next(r.walkway for r in run.sites if str(r.id) == i) for i in ids] == [*walkways, None]  # empty last
    ids = site_ids(page(client, "&sort=walkway&order=asc"))
    assert [next(r.walkway for r in run.sites if str(r.id) == i) for i in ids] == [*walkways[::-1], None]
    ids = site_ids(page(client, "&sort=R1&order=desc"))
    gravity = [GRAVITY.index(next(r for r in run.sites if str(r.id) == i).result.verdict("R1").status) for i in ids]
    assert gravity == sorted(gravity, reverse=True) and gravity[0] == GRAVITY.index("fail")
    assert site_ids(page(client, "&sort=name")) == [str(r.id) for r in sorted(run.sites, key=lambda r: r.name)]


@pytest.mark.parametrize("query", ["?as_of=2026-02-30", "?week=yesterday", "?as_of=20261121", "?status=bad",
                                   "?sort=nope", "?week=9999-12-31", "?as_of=0001-01-01"])
def test_a_bad_parameter_is_a_bilingual_400(client, query):
    response = client.get(f"/staff/planning/{query}")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "Traceback" not in text
    assert ("日期" in text and "must be a date" in text) or ("无效" in text and "must be one of" in text)
    assert client.get(f"/staff/planning/check-all.xlsx{query}").status_code == 400


def test_the_xlsx_has_the_sites_zones_and_about_cell_by_cell(client, run):
    response = client.get(f"/staff/planning/check-all.xlsx?as_of={AS_OF}&week={WEEK}&sort=name")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="check-all-20261121-rules-v0.xlsx"' in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["外摆点 sites", "集聚区 zones", "about"]
    sites = book["外摆点 sites"]
    assert sites.freeze_panes == "A2" and sites.column_dimensions["B"].width == 26
    head = [c.value for c in sites[1]]
    assert head[:7] == ["编号 Id", "名称 Name", "区市 District", "座位数 Seats", "外摆时间 Seating hours",
                        "人行道净宽（米） Clear walkway (m)", "总体结论 Overall"]
    assert head[7:9] == ["R1 结论 verdict", "R1 理由 reason"] and len(head) == 7 + 2 * len(run.rule_ids)
    rows = sorted(run.sites, key=lambda r: r.name)
    assert sites.max_row == len(rows) + 1
    for excel_row, row in zip(sites.iter_rows(min_row=2), rows):
        values = [c.value for c in excel_row]
        assert values[:7] == [str(row.id), row.name, row.district, row.seats, row.hours, row.walkway,
                              f"{STATUSES[row.status][0]} {STATUSES[row.status][1]}"]
        for n, rule_id in enumerate(run.rule_ids):
            verdict = row.result.verdict(rule_id)
            assert values[7 + 2 * n: 9 + 2 * n] == [" ".join(STATUSES[verdict.status]), verdict.reason]
    assert not [c.coordinate for sheet in book for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    formula = next(c for r in sites.iter_rows() for c in r if c.value == HOSTILE["x-formula"])
    assert formula.data_type == "s" and formula.quotePrefix
    zones = book["集聚区 zones"]
    assert [c.value for c in zones[1]][:3] == ["编号 Id", "名称 Name", "区市 District"]
    assert [r[0].value for r in zones.iter_rows(min_row=2)] == [str(z.id) for z in run.zones]
    for excel_row, zone in zip(zones.iter_rows(min_row=2), run.zones):
        assert excel_row[5].value == zone.residents_inside()
        assert excel_row[6].value == pytest.approx(zone.residential_share, abs=1e-4)
        assert excel_row[6].number_format == "0.0%"  # a number shown as a percent
    assert sites.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(head))}{sites.max_row}"
    assert zones.auto_filter.ref and zones.auto_filter.ref.startswith("A1:")
    about = {r[0].value: r[1].value for r in book["about"].iter_rows(min_row=2)}
    assert about["规则集版本 Ruleset version"] == run.run.ruleset.version
    assert about["规则集摘要 Ruleset digest"] == run.run.ruleset.digest
    assert about["截至日期（投诉统计） As of (complaints counted back from)"] == AS_OF
    assert about["营业时间计算周 Week the hours are read over"] == "2026-09-07/2026-09-13"
    assert about["数据版本 Data version: outdoor_dining_pilots"] == run.data["outdoor_dining_pilots"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", about["生成时间（北京时间） Generated (Beijing time)"])
    assert "none (every site)" in about["筛选与排序 Filter and sort"] and "sort: name 升序" in about["筛选与排序 Filter and sort"]
    filtered = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/staff/planning/check-all.xlsx?as_of={AS_OF}&week={WEEK}&district=市北区&sort=seats&order=desc").data))
    query = {r[0].value: r[1].value for r in filtered["about"].iter_rows(min_row=2)}["筛选与排序 Filter and sort"]
    assert "district=市北区" in query and "seats 降序 descending" in query
    assert f"{filtered['外摆点 sites'].max_row - 1} / {len(run.sites)}" in query


def test_the_csv_has_a_bom_the_sheets_columns_and_formula_text_quoted(client, run):
    response = client.get(f"/staff/planning/check-all.csv?as_of={AS_OF}&week={WEEK}&district=市北区&sort=name")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf") and ".csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == tables.site_headers(run)
    expected = sorted((r for r in run.sites if r.district == "市北区"), key=lambda r: r.name)
    assert [r[0] for r in rows[1:]] == [str(r.id) for r in expected]
    for line, row in zip(rows[1:], expected):
        assert line[1] == ("'" + row.name if row.name[:1] in "=+-@" else row.name)
        assert line[3] == str(row.seats) and line[6] == " ".join(STATUSES[row.status])
        assert line[8] == row.result.verdict("R1").reason
    assert [r[1] for r in rows if r[0] == "x-formula"] == ["'" + HOSTILE["x-formula"]]
    assert [r[1] for r in rows if r[0] == "x-at"] == ["'" + HOSTILE["x-at"]]


def test_reports_and_exports_share_the_download_limit():
    limited = create_app({"TESTING": True, "BASEMAP": "none", "DOWNLOAD_RATE_LIMIT": "2 per minute"})
    limited.extensions["store"].create_user("ed", password_hash(PASSWORD), "editor", [], actor="test")
    client = login(limited.test_client())
    answers = [client.get(url).status_code for url in ("/staff/planning/report.html", "/staff/planning/check-all.csv",
                                                       "/staff/planning/report.html")]
    assert answers == [200, 200, 429]
    assert client.get("/staff/planning/").status_code == 200  # the pages themselves are not limited
