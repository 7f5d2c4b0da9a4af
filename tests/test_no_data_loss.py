"""Never lose data by accident: what a publish will do is shown (counts and names) before it happens, changing or
removing existing features needs an explicit confirmation, the import defaults to append, rows without ids
cannot overwrite other rows, and a rollback is confirmed on a page that says what it will change."""

import re

from .test_staff import app, login, publish_form, token, upload  # noqa: F401 (fixtures)

LAYER = "outdoor_dining_pilots"
HEAD = "name,name_en,district,status,venue_type,capacity,opening_hours,source,lon,lat\n"
#: A clerk's CSV: Chinese text, lon/lat, no id column (6 rows).
CLERK_CSV = HEAD + "".join(f"{name},,{district},pilot,cafe,{seats},Mo-Su 10:00-22:00,survey,{lon},{lat}\n"
                           for name, district, seats, lon, lat in [
                               ("八大关花园咖啡外摆", "市南区", 20, 120.3530, 36.0520),
                               ("台东步行街夜市外摆", "市北区", 40, 120.3480, 36.0890),
                               ("啤酒街露天餐位", "市北区", 60, 120.3560, 36.0800),
                               ("万象城广场外摆", "市南区", 30, 120.3820, 36.0660),
                               ("李村商圈外摆", "李沧区", 25, 120.4250, 36.1570),
                               ("金沙滩海鲜排档", "黄岛区", 80, 120.2400, 35.9700)])
SECOND_CSV = HEAD + ("奥帆中心露台,,市南区,pilot,bar,30,Mo-Su 17:00-02:00,survey,120.3900,36.0580\n"
                     "浮山湾咖啡外摆,,市南区,pilot,cafe,12,Mo-Su 09:00-21:00,survey,120.3950,36.0600\n")


def public_ids(app):  # noqa: F811
    return {f["id"]: f["properties"]["name"] for f in
            app.test_client().get(f"/api/layers/{LAYER}").get_json(force=True)["features"]}


def plan_numbers(html):
    section = re.search(r'id="publish-plan"[^>]*data-added="(\d+)" data-changed="(\d+)" data-removed="(\d+)"', html)
    return tuple(int(n) for n in section.groups())


def test_the_import_form_defaults_to_append_which_cannot_remove(app):  # noqa: F811
    client = login(app.test_client(), "ed")
    form = client.get(f"/staff/layers/{LAYER}/import").get_data(as_text=True)
    assert re.search(r'name="mode" value="append" checked', form) and 'value="replace" checked' not in form
    before = public_ids(app)
    page = upload(client, LAYER, CLERK_CSV.encode(), filename="外摆.csv")  # no mode sent: the default
    html = page.get_data(as_text=True)
    assert plan_numbers(html) == (6, 0, 0) and "将删除 0" in html and "Append removes nothing" in html
    assert 'name="confirm"' not in html  # nothing to confirm: nothing existing is touched
    assert client.post(f"/staff/layers/{LAYER}/publish", data=publish_form(html)).status_code == 302
    after = public_ids(app)
    assert set(before) < set(after) and len(after) == len(before) + 6


def test_replace_says_what_it_removes_with_names_and_removes_nothing_without_the_confirmation(app):  # noqa: F811
    client = login(app.test_client(), "ed")
    before = public_ids(app)
    assert len(before) == 13
    html = upload(client, LAYER, CLERK_CSV.encode(), filename="外摆.csv", mode="replace").get_data(as_text=True)
    assert plan_numbers(html) == (6, 0, 13)
    assert "将删除 13 个现有要素" in html and "this will remove 13 existing features" in html
    for name in before.values():
        assert name in html
    box = re.search(r'<input type="checkbox" name="confirm" value="0:13" required>', html)
    assert box and "I have checked: update 0 and remove 13 existing features" in html
    refused = client.post(f"/staff/layers/{LAYER}/publish", data=publish_form(html))  # box not ticked
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "Not published" in text and "remove 13" in text
    assert public_ids(app) == before
    wrong = client.post(f"/staff/layers/{LAYER}/publish", data={**publish_form(html), "confirm": "0:12"})
    assert wrong.status_code == 409 and public_ids(app) == before
    bad = client.post(f"/staff/layers/{LAYER}/publish", data={**publish_form(html), "confirm": "all"})
    assert bad.status_code == 400 and public_ids(app) == before
    done = client.post(f"/staff/layers/{LAYER}/publish", data={**publish_form(html), "confirm": "0:13"})
    assert done.status_code == 302 and sorted(public_ids(app).values()) == sorted(
        line.split(",")[0] for line in CLERK_CSV.splitlines()[1:])


def test_a_second_csv_without_ids_appended_adds_and_overwrites_nothing(app):  # noqa: F811
    client = login(app.test_client(), "ed")
    first = upload(client, LAYER, CLERK_CSV.encode(), filename="一.csv").get_data(as_text=True)
    client.post(f"/staff/layers/{LAYER}/publish", data=publish_form(first))
    kept = public_ids(app)
    second = upload(client, LAYER, SECOND_CSV.encode(), filename="二.csv").get_data(as_text=True)
    assert plan_numbers(second) == (2, 0, 0)
    assert client.post(f"/staff/layers/{LAYER}/publish", data=publish_form(second)).status_code == 302
    now = public_ids(app)
    assert {k: now[k] for k in kept} == kept and len(now) == len(kept) + 2
    # the same file again changes nothing: its made-up ids are those of its content
    again = upload(client, LAYER, SECOND_CSV.encode(), filename="二.csv").get_data(as_text=True)
    assert plan_numbers(again) == (0, 0, 0)


def test_an_append_matching_ids_says_it_will_update_them_by_name_and_needs_the_confirmation(app):  # noqa: F811
    client = login(app.test_client(), "ed")
    csv = ("id," + HEAD + "od-pichaiyuan-cafe,劈柴院咖啡（扩大）,,市南区,pilot,cafe,50,Mo-Su 09:00-22:00,survey,120.3229,36.0664\n"
           "od-dabaodao-bar,大鲍岛酒吧（新）,,市南区,pilot,bar,30,Mo-Su 17:00-02:00,survey,120.3210,36.0690\n")
    html = upload(client, LAYER, csv.encode(), filename="update.csv").get_data(as_text=True)
    assert plan_numbers(html) == (0, 2, 0)
    assert "将更新 2 个现有要素" in html and "will update 2 existing features" in html
    assert "劈柴院咖啡（扩大）" in html and "od-dabaodao-bar" in html
    assert client.post(f"/staff/layers/{LAYER}/publish", data=publish_form(html)).status_code == 409
    assert public_ids(app)["od-pichaiyuan-cafe"] == "劈柴院巷口咖啡外摆"
    assert client.post(f"/staff/layers/{LAYER}/publish",
                       data={**publish_form(html), "confirm": "2:0"}).status_code == 302
    assert public_ids(app)["od-pichaiyuan-cafe"] == "劈柴院咖啡（扩大）"


def test_a_confirmation_given_before_the_layer_moved_is_checked_again(app):  # noqa: F811
    client, other = login(app.test_client(), "ed"), login(app.test_client(), "ed2")
    html = upload(client, LAYER, CLERK_CSV.encode(), filename="外摆.csv", mode="replace").get_data(as_text=True)
    extra = upload(other, LAYER, SECOND_CSV.encode(), filename="二.csv").get_data(as_text=True)
    assert other.post(f"/staff/layers/{LAYER}/publish", data=publish_form(extra)).status_code == 302
    before = public_ids(app)
    late = client.post(f"/staff/layers/{LAYER}/publish", data={**publish_form(html), "confirm": "0:13"})
    assert late.status_code == 409 and public_ids(app) == before  # now it would remove 15: not what was confirmed


def test_a_rollback_is_confirmed_on_a_page_that_says_what_it_will_change(app):  # noqa: F811
    client = login(app.test_client(), "ed")
    html = upload(client, LAYER, CLERK_CSV.encode(), filename="外摆.csv", mode="replace").get_data(as_text=True)
    client.post(f"/staff/layers/{LAYER}/publish", data={**publish_form(html), "confirm": "0:13"})
    extra = upload(client, LAYER, SECOND_CSV.encode(), filename="二.csv").get_data(as_text=True)
    client.post(f"/staff/layers/{LAYER}/publish", data=publish_form(extra))  # v3: 8 features
    history = client.get(f"/staff/layers/{LAYER}/history").get_data(as_text=True)
    assert f'href="/staff/layers/{LAYER}/rollback/1"' in history and 'action="/staff/layers/' not in history
    page = client.get(f"/staff/layers/{LAYER}/rollback/1").get_data(as_text=True)
    assert plan_numbers(page) == (13, 0, 8) and "将删除 8 个现有要素" in page and "奥帆中心露台" in page
    form = {"csrf_token": token(client, f"/staff/layers/{LAYER}/rollback/1"), "version": "1", "expected": "3"}
    before = public_ids(app)
    unticked = client.post(f"/staff/layers/{LAYER}/rollback", data=form)
    assert unticked.status_code == 409 and "remove 8" in unticked.get_data(as_text=True) and public_ids(app) == before
    stale = client.post(f"/staff/layers/{LAYER}/rollback", data={**form, "expected": "2", "confirm": "0:8"})
    assert stale.status_code == 409 and public_ids(app) == before
    done = client.post(f"/staff/layers/{LAYER}/rollback", data={**form, "confirm": "0:8"})
    assert done.status_code == 302 and len(public_ids(app)) == 13
    assert client.get(f"/staff/layers/{LAYER}/rollback/99").status_code == 404
    assert login(app.test_client(), "admin").get("/staff/layers/hq_clusters/rollback/1").status_code == 200
    assert client.get("/staff/layers/hq_clusters/rollback/1").status_code == 403
