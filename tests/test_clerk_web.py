"""The clerk's path on the staff pages: a CSV in Chinese (headers, labels, hours), the fixes offered on the
preview (swap these rows, GB18030, GCJ-02), the preview map with names. Test client first, then Chromium."""

import re

import pytest

from layers import coords
from webmap import create_app

from .conftest import password_hash
from .test_clerk import HEADER, ROWS
from .test_staff import PASSWORD, login, publish_form, upload

LAYER = "outdoor_dining_pilots"


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "BASEMAP": "none", "UPLOAD_DIR": str(tmp_path / "uploads"),
                      "SECURE_COOKIES": False})
    app.extensions["store"].create_user("ed", password_hash(PASSWORD), "editor", [LAYER], actor="test")
    app.extensions["store"].create_user("ed2", password_hash(PASSWORD), "editor", [LAYER], actor="test")
    return app


def csv(rows, encoding="utf-8") -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode(encoding)


def fix_form(html: str, fix: str) -> dict:
    form = re.search(r'<form[^>]*staff/layers/\w+/reread[^>]*>(.*?)</form>',
                     html[html.index(f'name="fix" value="{fix}"') - 600:], re.S).group(1)
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))


def test_a_chinese_csv_with_swapped_rows_is_fixed_on_the_page_and_published(app):
    client = login(app.test_client(), "ed")
    page = upload(client, LAYER, csv(ROWS), filename="外摆.csv", mode="append")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<strong>2</strong> 个要素可发布" in html
    assert "第 3 行 row 3" in html and "栈桥酒吧外摆" in html and "经纬度可能填反了" in html
    assert "「试点」读作 pilot" in html and "「每天 10:00-22:00」读作 Mo-Su 10:00-22:00，请核对" in html
    assert "交换这 1 行的经纬度 Swap lat/lon for these 1 rows" in html
    form = fix_form(html, "swap")
    assert form["rows"] == "1"  # the second data row, zero-based inside
    fixed = client.post(f"/staff/layers/{LAYER}/reread", data=form).get_data(as_text=True)
    assert "<strong>3</strong> 个要素可发布" in fixed and "已按你的要求交换经纬度" in fixed and "交换这" not in fixed
    assert client.post(f"/staff/layers/{LAYER}/publish", data=publish_form(fixed)).status_code == 302
    live = app.extensions["store"].load(app.extensions["catalog"].get(LAYER).kind)
    got = {p["name"]: (g.x, p) for p, g in zip(live.properties, live.geometries)}
    assert got["栈桥酒吧外摆"][0] == pytest.approx(120.3190)  # published as swapped on the preview
    assert got["台东咖啡外摆"][1]["venue_type"] == "cafe" and got["五四广场轻餐"][1]["source"] == "sample"


def test_a_gbk_csv_is_detected_and_re_read_as_gb18030(app):
    client = login(app.test_client(), "ed")
    html = upload(client, LAYER, csv(ROWS[:1], "gbk"), filename="外摆.csv").get_data(as_text=True)
    assert "GBK/GB18030" in html and "名称,经度,纬度" in html and "codec" not in html
    fixed = client.post(f"/staff/layers/{LAYER}/reread", data=fix_form(html, "encoding")).get_data(as_text=True)
    assert "<strong>1</strong> 个要素可发布" in fixed and "台东咖啡外摆" in fixed
    assert 'name="fix" value="encoding"><input type="hidden" name="encoding" value="gb18030"' not in fixed


def test_coordinates_like_the_live_ones_in_gcj02_are_diagnosed_and_re_read(app):
    live = app.extensions["catalog"].get(LAYER).layer
    rows = []
    for props, geom in list(zip(live.properties, live.geometries))[:3]:
        lon, lat = coords.wgs84_to_gcj02(geom.x, geom.y)
        rows.append(f"{props['name']},{float(lon):.7f},{float(lat):.7f},{props['district']},试点,咖啡店,示例,,")
    client = login(app.test_client(), "ed")
    html = upload(client, LAYER, csv(rows), filename="amap.csv", mode="append").get_data(as_text=True)
    assert "看起来像" not in html and "look like GCJ02" in html
    fixed = client.post(f"/staff/layers/{LAYER}/reread", data=fix_form(html, "crs") | {"crs": "gcj02"})
    assert "现为 now read as gcj02" in fixed.get_data(as_text=True) and "look like GCJ02" not in fixed.get_data(as_text=True)


def test_fixes_are_for_the_owner_s_waiting_upload_and_checked(app):
    client = login(app.test_client(), "ed")
    html = upload(client, LAYER, csv(ROWS), filename="a.csv").get_data(as_text=True)
    form = fix_form(html, "swap")
    other = login(app.test_client(), "ed2")
    assert other.post(f"/staff/layers/{LAYER}/reread", data=form | {"csrf_token": publish_form(
        upload(other, LAYER, csv(ROWS[:1]), filename="a.csv").get_data(as_text=True))["csrf_token"]}).status_code == 403
    for bad in ({"rows": "1;2"}, {"rows": ""}, {"fix": "delete"}, {"fix": "crs", "crs": "EPSG:x"},
                {"fix": "encoding", "encoding": "latin-1"}):
        assert client.post(f"/staff/layers/{LAYER}/reread", data=form | bad).status_code == 400, bad
    assert client.post(f"/staff/layers/{LAYER}/reread", data=form | {"token": "0" * 32}).status_code == 400


def test_the_preview_map_has_the_districts_and_live_features_and_names_as_data(app):
    client = login(app.test_client(), "ed")
    html = upload(client, LAYER, csv(ROWS), filename="a.csv").get_data(as_text=True)
    config = re.search(r'<script type="application/json" id="preview-config">(.*?)</script>', html, re.S).group(1)
    import json
    config = json.loads(config)
    assert set(config["groups"]) == {"districts", "live", "new"}
    assert config["names"]["new"] == ["台东咖啡外摆", "五四广场轻餐"] and "市南区" in config["names"]["districts"]


# -- in Chromium --------------------------------------------------------------------------------------------

XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def page(browser, serve, app):
    server = serve(app)
    tab = browser.new_page()
    tab.set_default_timeout(10000)
    errors = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("console", lambda m: m.type == "error" and errors.append(m.text))
    tab.goto(server.url + "/staff/login")
    tab.fill("input[name=name]", "ed")
    tab.fill("input[name=password]", PASSWORD)
    tab.locator("form button[type=submit]").click()
    tab.wait_for_url("**/staff/**")
    tab.goto(server.url + f"/staff/layers/{LAYER}/import")
    tab.errors = errors
    yield tab
    tab.close()


def choose(page, tmp_path, content: bytes, name="外摆.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    page.set_input_files("input[type=file]", str(path))
    page.check("input[name=mode][value=append]")
    page.locator("button", has_text="检查并预览").click()
    page.wait_for_selector("h1:has-text('检查结果')")


def test_browser_clerk_path_chinese_csv_swap_fix_and_names(page, tmp_path):
    rows = ROWS[:2] + [ROWS[2].replace("五四广场轻餐", XSS)]
    choose(page, tmp_path, csv(rows))
    report = page.locator("table.report").inner_text()
    assert "第 3 行 row 3" in report and "栈桥酒吧外摆" in report and "经纬度可能填反了" in report
    assert "「咖啡店」读作 cafe" in report and "「实地调查」读作 survey" in report and "#0" not in report
    page.locator("button", has_text="交换这 1 行的经纬度").click()
    page.wait_for_selector("body[data-preview-ready=true]")
    assert "3 个要素可发布" in page.locator("main").inner_text()
    tips = page.evaluate("""() => { const c = JSON.parse(document.getElementById('preview-config').textContent);
        const out = {};
        for (const role of Object.keys(c.groups)) { out[role] = [];
            window[c.groups[role]].eachLayer(l => { if (l.getTooltip()) {
                out[role].push(l.getTooltip().getContent().textContent); } }); }
        return out; }""")
    assert any("栈桥酒吧外摆" in t for t in tips["new"]) and any(XSS in t for t in tips["new"])
    assert any("市南区" in t for t in tips["districts"]) and tips["live"]
    assert page.evaluate("() => window.__xss") is None and page.locator(".leaflet-tooltip img").count() == 0
    filled = page.evaluate("""() => { const c = JSON.parse(document.getElementById('preview-config').textContent);
        const out = []; window[c.groups.new].eachLayer(l => out.push(l.options.fill)); return out; }""")
    assert filled == [True, True, True]  # new points are drawn filled, not as faint rings
    page.locator("button", has_text="确认发布").click()
    page.wait_for_selector("text=已发布")
    assert page.errors == []


def test_browser_gbk_csv_is_detected_and_re_read(page, tmp_path):
    choose(page, tmp_path, csv(ROWS[:1], "gbk"))
    assert "GBK/GB18030" in page.locator("main").inner_text()
    page.locator("button", has_text="按 GB18030 重新读取").click()
    page.wait_for_selector("body[data-preview-ready=true]")
    text = page.locator("main").inner_text()
    assert "1 个要素可发布" in text and "台东咖啡外摆" in text
    assert page.errors == []
