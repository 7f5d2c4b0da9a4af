"""The map in a real browser (Debian's Chromium via Playwright), with every outside request blocked."""

from urllib.parse import urlparse

import pytest

from webmap import create_app

from .conftest import feature_collection, point

XSS_NAME = '<img src=x onerror="window.__xss=1">'
XSS_EN = "`${window.__xss=2}` <script>window.__xss=3</script>"


class Visit:
    """A page on the live server; records console errors and every request that leaves the machine."""

    def __init__(self, browser, server, path="/", viewport=(1280, 800), allow_tiles=False):
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.page.set_default_timeout(8000)
        self.errors, self.outside = [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        local = urlparse(server.url).netloc

        def route(r):
            if urlparse(r.request.url).netloc == local:
                return r.continue_()
            self.outside.append((r.request.resource_type, r.request.url))
            # tiles may be asked for, and fail here: the map must work without them
            return r.fulfill(status=204) if allow_tiles and r.request.resource_type == "image" else r.abort()

        self.page.route("**/*", route)
        self.page.goto(server.url + path)
        self.page.wait_for_selector("body[data-layers-loaded=true]", timeout=20000)

    def paths(self, layer_id):
        return self.page.locator(f".leaflet-scene-{layer_id}-pane path")


@pytest.fixture
def visit(browser, serve, app):
    server = serve(app)
    pages = []

    def _visit(**kw):
        pages.append(Visit(browser, server, **kw))
        return pages[-1]

    yield _visit
    for v in pages:
        v.page.close()


def test_the_map_works_offline_with_every_layer(visit):
    v = visit()
    labels = v.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    for name in ("行政区划", "商圈", "夜间经济集聚区", "步行街", "外摆试点", "总部经济集聚区", "敏感点"):
        assert any(name in label for label in labels), labels
    assert not any("投诉" in label or "Complaints" in label for label in labels), labels  # staff only
    assert v.page.evaluate("() => Object.keys(window.SceneMap.overlays).includes('complaints')") is False
    assert v.paths("night_economy_zones").count() == 6
    assert v.paths("districts").count() == 10
    assert v.page.locator(".scene-legend li").count() >= 8
    assert v.page.locator(".leaflet-control-scale").count() == 1
    assert v.page.locator(".leaflet-control-locate").count() == 1
    assert v.page.locator(".leaflet-control-zoom-fullscreen, .leaflet-control-fullscreen").count() >= 1
    assert v.errors == [] and v.outside == []


def test_toggling_an_overlay_and_opening_a_popup(visit):
    v = visit()
    toggle = v.page.locator(".leaflet-control-layers-overlays label", has_text="夜间经济集聚区")
    toggle.click()
    assert v.paths("night_economy_zones").count() == 0
    toggle.click()
    assert v.paths("night_economy_zones").count() == 6
    # Jinjialing HQ cluster stands alone: click it on the map
    v.page.evaluate("""() => { const o = window.SceneMap.overlays.hq_clusters;
        o.layer.eachLayer(l => { if (l.feature.id === 'hq-jinjialing') l._map.fitBounds(l.getBounds()); }); }""")
    v.page.wait_for_timeout(400)  # let the zoom animation settle before clicking (not an assertion)
    shape = v.page.locator(".leaflet-scene-hq_clusters-pane path").nth(2)
    box = shape.bounding_box()
    v.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = v.page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "金家岭总部集聚区" in text and "Jinjialing Headquarters Cluster" in text and "崂山区" in text
    assert "示例数据（非官方）" in text
    assert "null" not in text and "认定级别" not in text  # served as null (no value): not shown
    assert v.errors == [] and v.outside == []


def test_24_hour_pilot_and_weekend_block_are_marked(visit):
    v = visit()
    dashed = v.page.evaluate("""() => {
        const out = {};
        for (const id of ['night_economy_zones', 'pedestrian_streets']) {
            out[id] = [];
            window.SceneMap.overlays[id].layer.eachLayer(l => out[id].push([l.feature.id, l.options.dashArray || null]));
        }
        return out; }""")
    assert [fid for fid, dash in dashed["night_economy_zones"] if dash] == ["ne-sailing-center"]
    assert sorted(fid for fid, dash in dashed["pedestrian_streets"] if dash) == ["ps-dengzhou-rd", "ps-zhongshan-rd"]
    legend = v.page.locator(".scene-legend").inner_text()
    assert "24小时营业区试点" in legend and "周末分时段步行街区" in legend


def test_search_by_name_finds_and_opens_a_feature(visit):
    v = visit()
    v.page.locator(".leaflet-control-search input").press_sequentially("台东三路")
    # the sample protected places include 台东三路居民楼: the street is one of the matches (the list's order
    # follows which layer's data arrived first)
    tip = v.page.locator(".search-tooltip li", has_text="台东三路步行街")
    tip.wait_for()
    assert tip.count() == 1
    tip.click()
    popup = v.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Taidong Pedestrian Street" in popup.inner_text()
    assert v.errors == []


def test_with_tiles_only_tile_images_leave_the_machine(visit):
    v = visit(path="/?basemap=osm", allow_tiles=True)
    assert v.outside, "the OSM basemap should ask for tiles"
    assert {kind for kind, _ in v.outside} == {"image"}
    assert {urlparse(url).netloc for _, url in v.outside} == {"tile.openstreetmap.org"}
    assert v.paths("commercial_districts").count() == 6


def test_on_a_phone_the_controls_fold_away(visit):
    v = visit(viewport=(390, 800))
    assert v.page.locator(".leaflet-control-layers-expanded").count() == 0
    assert v.page.locator(".scene-legend ul").is_hidden()
    v.page.locator(".leaflet-control-layers-toggle").click()
    assert v.page.locator(".leaflet-control-layers-expanded").count() == 1
    assert v.errors == []


@pytest.fixture
def xss_app(data_copy):
    features = [point("x1", 120.3229, 36.0664, name=XSS_NAME, name_en=XSS_EN),
                point("x2", 120.3251, 36.0709, name="${alert(1)}`", note="<b>not bold</b>")]
    (data_copy / "outdoor_dining_pilots.geojson").write_text(feature_collection(features), "utf-8")
    return create_app({"TESTING": True, "BASEMAP": "none", "DATA_DIR": str(data_copy)})


def test_property_text_is_shown_as_text_and_runs_nothing(browser, serve, xss_app):
    v = Visit(browser, serve(xss_app))
    layer_texts = v.page.evaluate("""() => {
        const texts = [];
        window.SceneMap.overlays.outdoor_dining_pilots.layer.eachLayer(l => {
            l.openTooltip(); texts.push(l.getTooltip().getElement().innerText);
            l.openPopup(); texts.push(l.getPopup().getElement().innerText);
        });
        return texts; }""")
    joined = "\n".join(layer_texts)
    assert XSS_NAME in joined and "`${window.__xss=2}`" in joined and "<b>not bold</b>" in joined
    v.page.locator(".leaflet-control-search input").press_sequentially("<img")
    tip = v.page.locator(".search-tooltip li").first
    tip.wait_for()
    assert XSS_NAME in tip.inner_text()
    tip.click()
    assert v.page.evaluate("() => window.__xss") is None
    assert v.page.locator(".leaflet-popup-content img, .leaflet-tooltip img, .search-tooltip img").count() == 0
    assert v.errors == [] and v.outside == []
    v.page.close()


def test_on_gcj02_tiles_the_overlays_are_shifted_to_gcj02(visit):
    from layers import coords

    v = visit(path="/?basemap=amap", allow_tiles=True)
    assert {urlparse(url).netloc for _, url in v.outside} <= {f"webrd0{i}.is.autonavi.com" for i in range(1, 5)}
    latlng = v.page.evaluate("""() => { let p = null;
        window.SceneMap.overlays.outdoor_dining_pilots.layer.eachLayer(l => {
            if (l.feature.id === 'od-licun') p = l.getLatLng(); });
        return [p.lng, p.lat]; }""")
    expected = coords.wgs84_to_gcj02(120.4252, 36.1572)
    assert latlng[0] == pytest.approx(float(expected[0]), abs=1e-6)
    assert latlng[1] == pytest.approx(float(expected[1]), abs=1e-6)


def test_download_what_i_see(visit, tmp_path):
    import pyogrio

    v = visit()
    v.page.locator(".leaflet-control-layers-overlays label", has_text="行政区划").click()  # hide districts
    v.page.select_option(".scene-download select", "gpkg")
    with v.page.expect_download() as info:
        v.page.locator(".scene-download button").click()
    path = tmp_path / "view.gpkg"
    info.value.save_as(path)
    layers = set(pyogrio.list_layers(path)[:, 0])
    assert layers == {"commercial_districts", "night_economy_zones", "pedestrian_streets", "outdoor_dining_pilots",
                      "hq_clusters"}
    # the view frames the urban core: Jimo's old town and Golden Beach (far out) are not in it
    meta, _, _, fields = pyogrio.raw.read(path, layer="night_economy_zones", read_geometry=False)
    names = set(fields[list(meta["fields"]).index("name")])
    assert "劈柴院" in names and not names & {"即墨古城", "金沙滩啤酒城"}
    assert v.errors == [] and v.outside == []
