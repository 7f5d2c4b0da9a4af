"""The clerk's path in a real browser (Chromium): log in, import a Chinese CSV without ids, see what the publish
will do, confirm (or not), roll back through its confirmation page. Nothing is removed without the box ticked."""

import pytest

from webmap import create_app

from .conftest import password_hash
from .test_no_data_loss import CLERK_CSV, LAYER, SECOND_CSV

PASSWORD = "correct horse battery"


@pytest.fixture
def clerk(browser, serve, tmp_path):
    app = create_app({"TESTING": True, "BASEMAP": "none", "UPLOAD_DIR": str(tmp_path / "uploads")})
    app.extensions["store"].create_user("商务局办事员", password_hash(PASSWORD), "editor", [LAYER], actor="test")
    server = serve(app)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(8000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/staff/login")
    page.fill("input[name=name]", "商务局办事员")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    yield page, app, errors
    page.close()


def names(app):
    client = app.test_client()
    return sorted(f["properties"]["name"] for f in client.get(f"/api/layers/{LAYER}").get_json(force=True)["features"])


def import_file(page, text, filename, mode=None):
    page.click(f"a[href='/staff/layers/{LAYER}/import']")
    page.set_input_files("input[name=file]", {"name": filename, "mimeType": "text/csv", "buffer": text.encode()})
    if mode:
        page.check(f"input[name=mode][value={mode}]")
    page.click("button:has-text('检查并预览')")
    page.wait_for_selector("#publish-plan")
    return page.inner_text("#publish-plan")


def test_replace_shows_the_count_and_names_and_removes_nothing_without_the_confirmation(clerk):
    page, app, errors = clerk
    before = names(app)
    assert len(before) == 13
    plan = import_file(page, CLERK_CSV, "外摆试点.csv", mode="replace")
    assert "将删除 13 个现有要素" in plan and "this will remove 13 existing features" in plan
    assert all(name in plan for name in before)
    publish = page.locator("button:has-text('确认发布')")
    publish.click()  # the box is not ticked: the browser does not send the form
    page.wait_for_timeout(300)
    assert page.locator("#publish-plan").count() == 1 and names(app) == before
    # and the server refuses it too, should the form be sent without the box
    page.evaluate("() => document.querySelector('input[name=confirm]').removeAttribute('required')")
    publish.click()
    page.wait_for_selector("p.flash[role=alert]")
    assert "Not published" in page.inner_text("p.flash[role=alert]") and names(app) == before
    page.check("input[name=confirm]")
    page.locator("button:has-text('确认发布')").click()
    page.wait_for_url("**/history")
    assert names(app) == sorted(line.split(",")[0] for line in CLERK_CSV.splitlines()[1:])
    # the rollback asks first, on a page that says what it will do
    page.click(f"a[href='/staff/layers/{LAYER}/rollback/1']")
    plan = page.inner_text("#publish-plan")
    assert "将新增 13" in plan and "将删除 6 个现有要素" in plan and "八大关花园咖啡外摆" in plan
    assert names(app) != before
    page.check("input[name=confirm]")
    page.click("button:has-text('确认恢复')")
    page.wait_for_url("**/history")
    assert names(app) == before and "Version 3 restores version 1" in page.inner_text(".flash")
    assert errors == []


def test_append_is_the_default_and_a_second_csv_without_ids_overwrites_nothing(clerk):
    page, app, errors = clerk
    for text, filename, added in ((CLERK_CSV, "一.csv", "将新增 6"), (SECOND_CSV, "二.csv", "将新增 2")):
        page.click("nav a:has-text('图层管理')")
        plan = import_file(page, text, filename)  # the mode is left as it is offered
        assert added in plan and "将更新 0" in plan and "将删除 0" in plan and "Append removes nothing" in plan
        assert page.locator("input[name=confirm]").count() == 0
        page.click("button:has-text('确认发布')")
        page.wait_for_url("**/history")
    now = names(app)
    assert len(now) == 13 + 6 + 2 and "奥帆中心露台" in now and "八大关花园咖啡外摆" in now
    assert errors == []
