"""The planning desk's overview pages (/staff/planning/week, /stats, /targets): staff only, the tables carry the
figures of the sample data, bad input is a 400, untrusted names stay text, ECharts is served by the app, and
in a real browser the chart is drawn without a script error."""

import csv
import io
import json
import re

import pytest

from webmap import create_app

from .conftest import password_hash

PASSWORD = "correct horse battery"
PAGES = ("/staff/planning/week", "/staff/planning/stats", "/staff/planning/targets", "/staff/planning/stats.csv")


def make_app(**config):
    app = create_app({"TESTING": True, "BASEMAP": "none", **config})
    store = app.extensions["store"]
    store.create_user("admin", password_hash(PASSWORD), "admin", [], actor="test")
    store.create_user("ed", password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"], actor="test")
    return app


def login(app, name):
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    assert client.post("/staff/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    return client


@pytest.fixture(scope="module")
def app():
    return make_app()


@pytest.fixture(scope="module")
def admin(app):
    return login(app, "admin")


def text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[-600:]
    return response.get_data(as_text=True)


def cells(page: str, table_id: str, row_name: str) -> list[str]:
    """The cells of the row of ``table_id`` whose header starts with ``row_name``, as text."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S).group(0)
    for tr in re.findall(r"<tr.*?</tr>", table, re.S):
        header = re.search(r'<th scope="row">(.*?)</th>', tr, re.S)
        if header and re.sub(r"<[^>]+>", "", header.group(1)).strip().startswith(row_name):
            return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
                    for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)]
    raise AssertionError(f"no row {row_name} in {table_id}")


def island(page: str, element_id: str) -> dict:
    return json.loads(re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page,
                                re.S).group(1))


def test_anonymous_visitors_are_sent_to_log_in(app):
    client = app.test_client()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], path


@pytest.mark.parametrize("name", ["admin", "ed"])
def test_the_pages_render_for_editors_and_admins_and_run_no_inline_script(app, name):
    client = login(app, name)
    for path in PAGES[:3]:
        page = text(client.get(path))
        for tag in re.findall(r"<script[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag or "nonce=" in tag, (path, tag)
    assert 'href="/staff/planning/week"' in page and 'href="/staff/planning/targets"' in page  # in the desk's bar


def test_the_week_table_and_chart_show_seating_in_quiet_hours_near_homes(admin):
    page = text(admin.get("/staff/planning/week?week=2026-09-09"))
    assert "2026-09-07 – 2026-09-13" in page
    bbq = cells(page, "week-table", "台东居民楼下烧烤外摆")
    assert "邻近住宅" in bbq[1] and bbq[3] == "Mo-Su 17:00-01:00"
    assert bbq[4] == "00:00-01:00, 17:00-24:00 夜间近住宅 quiet hours near homes: 00:00-01:00, 22:00-24:00"
    bistro = cells(page, "week-table", "大鲍岛轻食外摆")  # 65 m from homes: not marked
    assert bistro[4] == "11:00-21:00" and "邻近住宅" not in bistro[1]
    assert cells(page, "week-table", "登州路周末步行街区")[4:] == ["—"] * 4 + ["18:00-23:00", "10:00-23:00",
                                                                      "10:00-23:00"]
    weekend = re.search(r'<ul class="weekend" id="weekend">(.*?)</ul>', page, re.S).group(1)
    assert "中山路 周六 09:00-22:00" in weekend and "登州路周末步行街区 周日 10:00-23:00" in weekend
    assert "台东三路步行街 周六 全天" in weekend
    chart = island(page, "week-data")
    labels = [r["label"] for r in chart["rows"]]
    y = labels.index("台东居民楼下烧烤外摆（外摆时段）")
    assert [24 * 2 + 22, y, 2] in chart["cells"] and [24 * 2 + 18, y, 1] in chart["cells"]
    assert chart["window"]["expression"] == "22:00-06:00"


def test_a_bad_week_is_a_bilingual_400_and_an_uncovered_year_a_clear_message(admin):
    response = admin.get("/staff/planning/week?week=2026-02-30")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "YYYY-MM-DD" in body and "日期无效：week=" in body
    for extreme in ("9999-12-31", "0001-01-01", "1900-01-01"):
        assert admin.get(f"/staff/planning/week?week={extreme}").status_code == 400
    page = text(admin.get("/staff/planning/week?week=2040-06-01"))
    assert re.search(r'role="alert">节假日历未包含 2040 年的安排.*no arrangement for 2040', page)
    assert 'id="week-chart"' in page  # hours that do not depend on the calendar are still shown


def test_the_statistics_tables_hold_the_sample_figures_by_location(app, admin):
    page = text(admin.get("/staff/planning/stats"))
    shinan = cells(page, "districts-table", "市南区")
    seats = re.search(r'<tr data-id="370202">.*?data-field="seats">(\d+)<', page, re.S).group(1)
    assert seats == "188"  # 24+30+16+12+50+20+36: the seven sites that lie in Shinan
    assert "486,643" in shinan and "3.863" in shinan  # 188 seats per 486,643 residents × 10,000
    assert "第七次全国人口普查" in page and "2020" in re.search(r'id="population-source">(.*?)</p>', page, re.S).group(1)
    with app.test_request_context():
        from webmap.db import get_desk

        expected = get_desk().check_all().by_district()  # no site lies outside the district it names
    for adcode, name in (("370202", "市南区"), ("370203", "市北区")):
        row = re.search(rf'<tr data-id="{adcode}">(.*?)</tr>', page, re.S).group(1)
        found = {k: int(v) for k, v in re.findall(r'data-verdict="(\w+)">(\d+)<', row)}
        assert found == expected[name]
    taidong = cells(page, "commercial-table", "台东商圈")
    assert taidong[0].startswith("台东商圈") and "1,911,018" in taidong
    assert "所在区" in page and 'id="mismatches">无' in page
    districts = re.search(r'<table[^>]*id="districts-table".*?</thead>', page, re.S).group(0)
    assert districts.count("投诉 Complaints</th>") == 1 and "面积 Area (km²)" in districts
    assert re.search(r'<tr data-id="370211">.*?data-field="area">2,129.75<', page, re.S)  # Huangdao, km²
    assert "../shared" not in page and "copied from" not in page and "青岛市统计局" in page
    chart = island(page, "stats-data")
    assert [d["name"] for d in chart["districts"]][:2] == ["市南区", "市北区"] and chart["districts"][0]["seats"] == 188


def test_the_statistics_download_as_csv(admin):
    response = admin.get("/staff/planning/stats.csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    header, shinan = rows[0], next(r for r in rows if r[1] == "市南区")
    assert shinan[header.index("外摆座位 seats")] == "188" and shinan[header.index("常住人口 population")] == "486643"
    commercial = list(csv.reader(io.StringIO(admin.get("/staff/planning/stats.csv?of=commercial").data.decode()[1:])))
    assert [r[1] for r in commercial[1:]][:2] == ["香港中路商圈", "台东商圈"]
    assert admin.get("/staff/planning/stats.csv?of=nope").status_code == 400


def test_the_targets_page_cites_sections_and_says_no_data_honestly(admin):
    page = text(admin.get("/staff/planning/targets"))
    t1, t3 = cells(page, "targets-table", "创建 3 至 5 家"), cells(page, "targets-table", "每年评选 10 家")
    assert t1[2].startswith("四.17") and "0 / 3-5（0%）未达成" in t1[5] and "示例数据" in t1[4]
    assert t3[5] == "暂无数据 · no data yet" and "0 /" not in t3[5] and "batch_year" in t3[4]
    t5 = cells(page, "targets-table", "探索设立周末分时段步行街区")
    assert "1 / 1（100%）已达成" in t5[5]
    assert '<progress max="100" value="100"' in page
    assert cells(page, "targets-table", "浮山湾")[2].startswith("四.12")
    assert "国家级 · national" in cells(page, "targets-table", "台东步行街争创")[3]
    t4 = cells(page, "targets-table", "探索 24 小时营业区试点")
    assert "试点中 1，运营中 0" in t4[4] and "1 / 1（100%）已达成" in t4[5]  # the plan asks to explore pilots
    period = re.search(r'id="plan-period">(.*?)</p>', page, re.S).group(1)
    assert "方案期限 2023-2025 年" in period and "截至" in period


def test_echarts_is_served_by_the_app(app):
    response = app.test_client().get("/vendor/echarts/dist/echarts.min.js")
    assert response.status_code == 200 and b"echarts" in response.data[:2000] and len(response.data) > 500000


def test_untrusted_names_stay_text(data_copy):
    path = data_copy / "pedestrian_streets.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][1]["properties"]["name"] = "<img src=x onerror=alert(1)>中山路"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    client = login(make_app(DATA_DIR=str(data_copy)), "ed")
    page = text(client.get("/staff/planning/week?week=2026-09-09"))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;中山路 周六 09:00-22:00" in page
    assert any(r["label"].startswith("<img src=x") for r in island(page, "week-data")["rows"])  # JSON, not HTML


def test_the_week_chart_is_drawn_in_a_browser_without_errors(app, browser, serve):
    server = serve(app)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(8000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/staff/login")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(server.url + "/staff/planning/week?week=2026-09-09")
    page.wait_for_selector("#week-chart canvas")
    assert page.locator("#week-chart canvas").first.bounding_box()["height"] > 200
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(server.url + "/staff/planning/stats")
    page.wait_for_selector("#stats-verdicts-chart canvas")
    # the wide table scrolls inside its box; the page itself is not wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    box = page.evaluate("(() => { const w = document.querySelector('.stats-wrap'); "
                        "return [w.scrollWidth, w.clientWidth, getComputedStyle(w).overflowX]; })()")
    assert box[0] > box[1] and box[2] == "auto"
    # the printable district summary: no favicon request, its print script allowed by the CSP
    page.goto(server.url + "/staff/planning/report.html?district=崂山区")
    assert page.locator("#no-sites").is_visible() and page.locator("#pdf-link").is_visible()
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.click("#print-link")
    assert page.evaluate("document.body.dataset.printed") == "yes"
    page.close()
    assert errors == []


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_admins_edit_the_targets_as_versions_and_can_restore_the_shipped_ones():
    app = make_app()
    editor, admin = login(app, "ed"), login(app, "admin")
    assert editor.get("/staff/planning/targets/edit").status_code == 403
    assert editor.post("/staff/planning/targets/restore", data={"number": "0", "expected_version": "0",
                                                                "csrf_token": csrf(editor, "/staff/planning/targets")}
                       ).status_code == 403
    assert "修改目标" not in text(editor.get("/staff/planning/targets"))
    page = text(admin.get("/staff/planning/targets/edit"))
    body = json.loads(re.search(r'<textarea[^>]*>(.*?)</textarea>', page, re.S).group(1).replace("&#34;", '"')
                      .replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    token = csrf(admin, "/staff/planning/targets/edit")
    body["targets"][0]["measure"] = "nope"
    refused = admin.post("/staff/planning/targets/edit", data={"csrf_token": token, "expected_version": "0",
                                                               "body": json.dumps(body, ensure_ascii=False)})
    assert refused.status_code == 400 and "targets[0]（T1）.measure" in refused.get_data(as_text=True)
    assert "&#34;nope&#34;" in refused.get_data(as_text=True) or "&quot;nope&quot;" in refused.get_data(as_text=True)
    body["targets"][0]["measure"] = "night_zones_provincial_or_above"
    body["targets"][0]["target"] = {"min": 0, "max": 5}
    saved = admin.post("/staff/planning/targets/edit", data={"csrf_token": token, "expected_version": "0",
                                                             "body": json.dumps(body, ensure_ascii=False),
                                                             "message": "T1 从 0 起"})
    assert saved.status_code == 302
    page = text(admin.get("/staff/planning/targets"))
    assert "已保存规划目标第 1 版" in page and "version 1" in page
    assert "0 / 0-5（100%）已达成" in cells(page, "targets-table", "创建 3 至 5 家")[5]
    stale = admin.post("/staff/planning/targets/edit", data={"csrf_token": token, "expected_version": "0",
                                                             "body": json.dumps(body, ensure_ascii=False)})
    assert stale.status_code == 409
    review = text(admin.post("/staff/planning/targets/restore", data={"csrf_token": token, "number": "0",
                                                                      "expected_version": "1"}))
    assert "确认恢复" in review and "修改 changed T1：maximum" not in review and "T1" in review
    assert re.search(r'id="restore-changes">.*?T1：minimum', review, re.S)  # what changes, before it does
    assert "version 1" in text(admin.get("/staff/planning/targets"))  # nothing restored yet
    restored = admin.post("/staff/planning/targets/restore", data={"csrf_token": token, "number": "0",
                                                                   "expected_version": "1", "confirm": "yes"})
    assert restored.status_code == 302
    page = text(admin.get("/staff/planning/targets"))
    assert "version 2" in page and "0 / 3-5（0%）未达成" in cells(page, "targets-table", "创建 3 至 5 家")[5]
    history = app.extensions["store"].documents.history("planning.targets")
    assert [(h["number"], h["restored_from"]) for h in history] == [(1, None), (2, 0)]
