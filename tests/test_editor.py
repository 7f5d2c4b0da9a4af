"""Editing a layer in the browser (Leaflet.draw + the schema form), saved through check, version and audit."""

import pytest

from webmap import create_app

from .conftest import password_hash

PASSWORD = "correct horse battery"


@pytest.fixture
def editor_page(browser, serve):
    app = create_app({"TESTING": True, "BASEMAP": "none", "CATALOG_REFRESH_SECONDS": 0})
    app.extensions["store"].create_user("ed", password_hash(PASSWORD), "editor",
                                        ["outdoor_dining_pilots"], actor="test")
    server = serve(app)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(8000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    dialogs = page.scene_dialogs = []  # (type, message) of each dialog; accepted unless scene_refuse is set
    page.scene_refuse = False
    page.on("dialog", lambda d: (dialogs.append((d.type, d.message)),
                                 d.dismiss() if page.scene_refuse else d.accept()))
    page.goto(server.url + "/staff/login")
    page.fill("input[name=name]", "ed")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(server.url + "/staff/layers/outdoor_dining_pilots/edit")
    page.wait_for_selector("body[data-layers-loaded=true]")
    yield page, app, errors
    page.close()


def live(app):
    client = app.test_client()
    return {f["id"]: f for f in client.get("/api/layers/outdoor_dining_pilots").get_json(force=True)["features"]}


def save(page):
    page.evaluate("() => document.body.removeAttribute('data-saved')")
    page.click("#editor-save")
    page.wait_for_selector("body[data-saved]")
    return page.get_attribute("body", "data-saved"), page.inner_text("#editor-status")


def test_draw_a_point_fill_the_form_and_save(editor_page):
    page, app, errors = editor_page
    page.click(".leaflet-draw-draw-marker")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    page.fill("#editor-form input[name=name]", "新画的外摆点")
    page.select_option("#editor-form select[name=district]", "市南区")
    page.select_option("#editor-form select[name=source]", "survey")
    page.fill("#editor-form input[name=opening_hours]", "Sa,Su 10:00-21:00")
    status, text = save(page)
    assert status == "200" and "version 2" in text and "+1 ~0 −0" in text
    new = [f for f in live(app).values() if f["properties"]["name"] == "新画的外摆点"]
    assert len(new) == 1 and new[0]["properties"]["opening_hours"] == "Sa,Su 10:00-21:00"
    lon, lat = new[0]["geometry"]["coordinates"]
    assert 119 < lon < 122 and 35 < lat < 38
    assert app.extensions["store"].audit_log("outdoor_dining_pilots")[-1]["actor"] == "ed"
    assert errors == []


def test_change_a_property_and_delete_a_feature(editor_page):
    page, app, errors = editor_page
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') window.SceneEditor.select(l); }); }""")
    page.fill("#editor-form input[name=capacity]", "42")
    status, text = save(page)
    assert status == "200" and "~1" in text
    assert live(app)["od-licun"]["properties"]["capacity"] == 42
    # delete with Leaflet.draw's delete tool: pick the feature, confirm with the toolbar's Save
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-jimo-old-town') l._map.setView(l.getLatLng(), 15); }); }""")
    page.click(".leaflet-draw-edit-remove")
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-jimo-old-town') l.fire('click'); }); }""")
    page.click(".leaflet-draw-actions a:has-text('完成 Done (not saved yet)')")
    status, text = save(page)
    assert status == "200" and "−1" in text
    assert page.scene_dialogs[-1][0] == "confirm" and "将删除 1 个现有要素" in page.scene_dialogs[-1][1]
    assert "od-jimo-old-town" not in live(app) and "od-licun" in live(app)
    assert errors == []


def test_invalid_edits_are_refused_with_the_problems_and_nothing_changes(editor_page):
    page, app, errors = editor_page
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') window.SceneEditor.select(l); }); }""")
    page.fill("#editor-form input[name=name]", "")
    page.fill("#editor-form input[name=opening_hours]", "whenever")
    status, text = save(page)
    assert status == "400" and "Not saved" in text
    problems = page.inner_text("#editor-problems")
    assert "od-licun" in problems and "'name'" in problems and "opening_hours" in problems
    assert app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1


def test_a_stale_editor_gets_409(editor_page):
    page, app, errors = editor_page
    from layers.registry import get

    store = app.extensions["store"]
    layer = store.load(get("outdoor_dining_pilots"))
    layer.properties[0] = dict(layer.properties[0], capacity=7)
    store.publish(layer, author="someone-else")  # published while the page was open
    status, text = save(page)
    assert status == "409" and "version 2, not 1" in text
    assert live(app)["od-pichaiyuan-cafe"]["properties"]["capacity"] == 7


def test_move_a_feature_by_dragging_it(editor_page):
    page, app, errors = editor_page
    before = live(app)["od-licun"]["geometry"]["coordinates"]
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') l._map.setView(l.getLatLng(), 16, {animate: false}); }); }""")
    page.click(".leaflet-draw-edit-edit")
    box = page.evaluate("""() => { let r = null; window.SceneEditor.group.eachLayer(l => {
        if (l.feature.id === 'od-licun') { const b = l._icon.getBoundingClientRect();
            r = {x: b.x + b.width / 2, y: b.y + b.height - 4}; } }); return r; }""")
    page.mouse.move(box["x"], box["y"])
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + 8 * step, box["y"] + 4 * step)
    page.mouse.up()
    page.click(".leaflet-draw-actions a:has-text('完成 Done (not saved yet)')")
    dropped = page.evaluate("""() => { let p = null; window.SceneEditor.group.eachLayer(l => {
        if (l.feature.id === 'od-licun') p = [l.getLatLng().lng, l.getLatLng().lat]; }); return p; }""")
    status, text = save(page)
    assert status == "200" and "~1" in text
    after = live(app)["od-licun"]["geometry"]["coordinates"]
    assert after[0] > before[0] and after[1] < before[1]  # dragged right and down: east and south
    assert after == pytest.approx(dropped, abs=1e-6)  # saved where it was dropped
    assert errors == []


SAVE_URL = "**/staff/layers/outdoor_dining_pilots/edits"


def test_a_proxy_error_page_is_shown_and_saving_works_again(editor_page):
    page, app, errors = editor_page
    page.route(SAVE_URL, lambda route: route.fulfill(status=502, content_type="text/html",
                                                     body="<html><body><h1>502 Bad Gateway</h1></body></html>"))
    status, text = save(page)
    assert status == "502" and text.startswith("服务器错误") and "HTTP 502" in text
    assert page.is_enabled("#editor-save")
    page.unroute(SAVE_URL)
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') window.SceneEditor.select(l); }); }""")
    page.fill("#editor-form input[name=capacity]", "17")
    status, text = save(page)
    assert status == "200" and "version 2" in text
    assert live(app)["od-licun"]["properties"]["capacity"] == 17


def test_a_network_failure_is_shown_and_saving_works_again(editor_page):
    page, app, errors = editor_page
    page.route(SAVE_URL, lambda route: route.abort("connectionreset"))
    status, text = save(page)
    assert status == "0" and text.startswith("网络错误") and "Network error" in text
    assert page.is_enabled("#editor-save")
    assert app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1


def test_an_ended_session_is_shown_and_the_button_works_again(editor_page):
    page, app, errors = editor_page
    status = page.evaluate("""async () => {  // log out in another request, as another tab would
        const body = new URLSearchParams({csrf_token: document.querySelector('meta[name="csrf-token"]').content});
        return (await fetch('/staff/logout', {method: 'POST', body: body})).status; }""")
    assert status == 200  # followed the redirect to the map
    status, text = save(page)
    assert status == "401" and text.startswith("登录已过期") and "log in again" in text
    assert page.is_enabled("#editor-save")
    assert app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1


def test_an_expired_csrf_token_is_shown(editor_page):
    page, app, errors = editor_page
    page.route(SAVE_URL, lambda route: route.continue_(headers=dict(route.request.headers, **{"x-csrftoken": "stale"})))
    status, text = save(page)
    assert status == "400" and "HTTP 400" in text and "页面已过期" in text
    assert page.is_enabled("#editor-save")


def test_the_toolbar_s_done_only_ends_a_step_and_unsaved_changes_are_said_until_saved(editor_page):
    page, app, errors = editor_page
    assert page.get_attribute("body", "data-unsaved") == "false"
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') l._map.setView(l.getLatLng(), 15); }); }""")
    page.click(".leaflet-draw-edit-remove")
    actions = page.inner_text(".leaflet-draw-actions:visible")
    assert "完成 Done (not saved yet)" in actions and "Save" not in actions.replace("Save as", "")
    assert "点击要删除的要素" in page.inner_text(".leaflet-draw-tooltip")  # the cursor hint speaks Chinese too
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') l.fire('click'); }); }""")
    page.click(".leaflet-draw-actions a:has-text('完成 Done (not saved yet)')")
    page.wait_for_selector("body[data-unsaved=true]")
    assert "Unsaved changes (+0 ~0 −1)" in page.inner_text("#editor-unsaved")
    page.click(".leaflet-draw-draw-marker")  # its hint is copied when the tool is made: before the map script
    assert "在地图上点击放置标记" in page.inner_text(".leaflet-draw-tooltip")
    assert "od-licun" in live(app) and app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1
    # the save names what it removes and asks; refused, nothing is sent
    page.scene_refuse = True
    status, text = save(page)
    assert status == "cancelled" and "Not saved" in text and "od-licun" in live(app)
    kind, message = page.scene_dialogs[-1]
    assert kind == "confirm" and "This will remove 1 existing features" in message and "李村商圈咖啡外摆" in message
    assert page.get_attribute("body", "data-unsaved") == "true"
    page.scene_refuse = False
    status, text = save(page)
    assert status == "200" and "od-licun" not in live(app)
    assert page.get_attribute("body", "data-unsaved") == "false" and "No unsaved changes" in page.inner_text("#editor-unsaved")
    assert errors == []


def test_leaving_the_editor_with_unsaved_edits_asks_first(editor_page):
    page, app, errors = editor_page
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') window.SceneEditor.select(l); }); }""")
    page.fill("#editor-form input[name=capacity]", "42")
    assert page.get_attribute("body", "data-unsaved") == "true"
    page.scene_refuse = True  # stay on the page
    page.click("nav a:has-text('历史 History')")
    page.wait_for_timeout(300)
    assert [kind for kind, _ in page.scene_dialogs] == ["beforeunload"] and "/edit" in page.url
    page.scene_refuse = False
    save(page)
    page.click("nav a:has-text('历史 History')")
    page.wait_for_url("**/history")
    assert [kind for kind, _ in page.scene_dialogs] == ["beforeunload"]  # saved: no second question
    assert errors == []


def test_a_field_without_a_value_is_empty_and_an_untouched_save_changes_nothing(editor_page):
    page, app, errors = editor_page
    assert live(app)["od-licun"]["properties"]["designation_year"] is None  # served as null: declared, no value
    page.evaluate("""() => { const g = window.SceneEditor.group;
        g.eachLayer(l => { if (l.feature.id === 'od-licun') window.SceneEditor.select(l); }); }""")
    year = "#editor-form input[name=designation_year]"
    assert page.input_value(year) == ""
    assert "null" not in page.evaluate("() => [...document.querySelectorAll('#editor-form input')].map(i => i.value)")
    page.fill(year, "2019")
    assert page.get_attribute("body", "data-unsaved") == "true"
    page.fill(year, "")  # back to no value: nothing to save
    assert page.get_attribute("body", "data-unsaved") == "false"
    status, text = save(page)
    assert status == "200" and "Nothing changed" in text
    assert app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1
    assert errors == []
