"""layers.changes and the history/diff pages: Beijing time, file names not paths, per-field diffs with
geometry moves in metres, the diff as CSV (Excel-safe) and JSON, and the audit log with filters."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime

import pytest
import shapely

from layers import changes
from layers.load import read_layer
from layers.registry import get

from .conftest import feature_collection, point
from .test_staff import app, login, publish_form, upload  # noqa: F401 - the staff app fixture
from .test_store import store  # noqa: F401 - on SQLite and PostgreSQL

DINING = get("outdoor_dining_pilots")


def layer_of(features):
    return read_layer(feature_collection(features).encode(), DINING, source="x.geojson")


def test_beijing_time_is_utc_plus_8_for_naive_and_aware_times():
    assert changes.beijing(datetime(2026, 1, 1, 16, 30)) == "2026-01-02 00:30:00"
    assert changes.beijing(datetime(2026, 7, 1, 16, 30, tzinfo=UTC), "%H:%M") == "00:30"  # no DST
    assert changes.beijing(None) == ""
    since, until = changes.beijing_days(date(2026, 3, 1), date(2026, 3, 1))
    assert since == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert until == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("source, name", [("/srv/scenemap/data/hq.geojson", "hq.geojson"),
                                          ("C:\\Users\\王\\外摆.zip", "外摆.zip"), ("plain.csv", "plain.csv"), ("", "")])
def test_file_names_never_show_folders(source, name):
    assert changes.file_name(source) == name


def test_a_diff_names_each_field_before_and_after_and_moves_in_metres(store):
    store.publish(layer_of([point("a", 120.38, 36.07), point("b", 120.39, 36.07, capacity=40)]), author="ann",
                  source="/home/ann/first.geojson")
    # a moves 0.001 degrees east: at 36.07 N that is 0.001 * 111320 * cos(36.07) ≈ 90 m
    store.publish(layer_of([point("a", 120.381, 36.07, name="=cmd|' /C calc'!A0"),
                            point("c", 120.40, 36.07, note="新")]), author="bob", source="C:\\tmp\\second.geojson")
    rows = changes.history_rows(store, DINING.id)
    assert [r["origin"]["file"] for r in rows] == ["first.geojson", "second.geojson"]
    assert [r["origin"]["mode"] for r in rows] == ["replace", "replace"]
    diff = changes.version_diff(store, DINING, 2)
    assert [f["id"] for f in diff["added"]] == ["c"] and [f["id"] for f in diff["removed"]] == ["b"]
    (moved,) = diff["changed"]
    assert moved["fields"] == [{"field": "name", "label": "名称 Name", "before": "测试点 a", "after": "=cmd|' /C calc'!A0"}]
    expected = shapely.distance(changes.metric(shapely.Point(120.38, 36.07)), changes.metric(shapely.Point(120.381, 36.07)))
    assert 89 < expected < 91
    assert moved["geometry"]["centroid_shift_m"] == pytest.approx(expected, abs=0.01)
    assert moved["geometry"]["hausdorff_m"] == pytest.approx(expected, abs=0.01)
    removed = {f["field"]: f["before"] for f in diff["removed"][0]["fields"]}
    assert removed["capacity"] == 40 and removed["name"] == "测试点 b"
    assert removed["source"].startswith("sample（") and removed["source"] != "sample（sample）"  # with its label
    assert {f["field"]: f["after"] for f in diff["added"][0]["fields"]}["note"] == "新"


def test_a_rollback_row_says_which_version_it_restores(store):
    store.publish(layer_of([point("a", 120.38, 36.07)]), author="ann", source="one.geojson")
    store.publish(layer_of([point("a", 120.39, 36.07)]), author="ann", source="two.geojson")
    store.rollback(DINING, 1, author="bob")
    row = changes.history_rows(store, DINING.id)[-1]
    assert row["origin"]["kind"] == "rollback" and row["restored_from"] == 1
    (change,) = changes.version_diff(store, DINING, 3)["changed"]
    assert change["fields"] == [] and change["geometry"]["centroid_shift_m"] > 800


def test_the_csv_opens_in_excel_as_text_and_never_as_a_formula():
    diff = {"version": 2, "added": [], "removed": [], "changed": [
        {"id": "=1+1", "name": "@SUM(A1)", "where": {}, "fields": [
            {"field": "name", "label": "", "before": "-2+3", "after": "\t=x"},
            {"field": "capacity", "label": "", "before": -5, "after": 7}],
         "geometry": {"changed": True, "type_before": "Point", "type_after": "Point", "centroid_shift_m": 12.345,
                      "hausdorff_m": 12.345}}]}
    body = changes.diff_csv(diff)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][2:7] == ["'=1+1", "'@SUM(A1)", "name", "'-2+3", "'\t=x"]
    assert rows[2][5:7] == ["-5", "7"]  # numbers stay numbers
    assert rows[3][4:] == ["(geometry)", "Point", "Point", "12.35", "12.35"]


# -- the pages --------------------------------------------------------------------------------------------

def test_history_and_diff_pages_show_beijing_time_file_names_and_values(app):
    client = login(app.test_client(), "ed")
    live = app.test_client().get("/api/layers/outdoor_dining_pilots").get_json(force=True)
    first = live["features"][0]
    moved = dict(first, properties=dict(first["properties"], name="<b>新名字</b>"))
    body = json.dumps(dict(live, features=[moved] + live["features"][1:])).encode()
    page = upload(client, "outdoor_dining_pilots", body, filename="外摆 2026.geojson", mode="replace")
    html = page.get_data(as_text=True)
    confirm = re.search(r'name="confirm" value="([^"]+)"', html).group(1)  # it changes one: confirmed
    assert client.post("/staff/layers/outdoor_dining_pilots/publish",
                       data=dict(publish_form(html), confirm=confirm)).status_code == 302
    history = client.get("/staff/layers/outdoor_dining_pilots/history").get_data(as_text=True)
    assert "北京时间" in history and "<code>外摆 2026.geojson</code> (替换 replace)" in history
    assert "outdoor_dining_pilots.geojson" in history and "/data/" not in history  # the seed's file, no folder
    version = app.extensions["store"].history("outdoor_dining_pilots")[-1]
    assert changes.beijing(version["created_at"]) in history
    diff = client.get("/staff/layers/outdoor_dining_pilots/versions/2").get_data(as_text=True)
    assert "&lt;b&gt;新名字&lt;/b&gt;" in diff and "<b>新名字" not in diff
    assert first["properties"]["name"] in diff and "未变 unchanged" in diff
    assert client.get("/staff/layers/outdoor_dining_pilots/versions/7").status_code == 404


def test_the_diff_downloads_as_csv_and_json(app):
    client = login(app.test_client(), "ed")
    page = upload(client, "outdoor_dining_pilots",
                  feature_collection([point("od-x", 120.39, 36.06, name="=HYPERLINK(\"x\")")]).encode(), mode="append")
    client.post("/staff/layers/outdoor_dining_pilots/publish", data=publish_form(page.get_data(as_text=True)))
    base = "/staff/layers/outdoor_dining_pilots/versions/2/changes"
    got = client.get(base + ".csv")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert got.headers["Content-Disposition"] == "attachment; filename=changes-outdoor_dining_pilots-v2.csv"
    text = got.data.decode("utf-8-sig")
    assert "od-x" in text and "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    data = client.get(base + ".json").get_json()
    assert data["version"] == 2 and [f["id"] for f in data["added"]] == ["od-x"]
    assert client.get(base + ".exe").status_code == 404
    assert client.get("/staff/layers/nope/versions/1/changes.csv").status_code == 404
    assert app.test_client().get(base + ".csv").status_code == 302  # log in first


# -- the audit log ------------------------------------------------------------------------------------------

def test_the_audit_log_filters_pages_and_shows_text(app):
    store = app.extensions["store"]
    for n in range(60):
        store.audit("<script>x</script>" if n == 59 else "ed", "test-action", "hq_clusters" if n % 2 else None,
                    {"n": n, "source": "/srv/secret/path/file.geojson"})
    admin = login(app.test_client(), "admin")
    page = admin.get("/staff/audit?action=test-action").get_data(as_text=True)
    assert "60 条记录" in page and "Page 1 of 2" in page and 'rel="next"' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert "source: file.geojson" in page and "/srv/secret" not in page
    assert "北京时间" in page
    logins = admin.get("/staff/audit?action=login").get_data(as_text=True)
    assert "<td>登录 log-in</td>" in logins and '<option value="login" selected>登录 log-in</option>' in logins
    assert "30 条记录" in admin.get("/staff/audit?action=test-action&layer=hq_clusters").get_data(as_text=True)
    assert "1 条记录" in admin.get("/staff/audit?actor=%3Cscript%3Ex%3C/script%3E").get_data(as_text=True)
    today = changes.beijing(datetime.now(UTC), "%Y-%m-%d")
    assert "60 条记录" in admin.get(f"/staff/audit?action=test-action&from={today}&to={today}").get_data(as_text=True)
    assert "0 条记录" in admin.get("/staff/audit?action=test-action&to=2020-01-01").get_data(as_text=True)
    second = admin.get("/staff/audit?action=test-action&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and 'rel="prev"' in second


@pytest.mark.parametrize("query", ["from=2026-13-01", "to=yesterday", "page=0", "page=x", "layer=nope",
                                   "from=2026-02-02&to=2026-02-01", "from=２０２６-01-01"])
def test_bad_audit_filters_are_400(app, query):
    admin = login(app.test_client(), "admin")
    assert admin.get(f"/staff/audit?{query}").status_code == 400


def test_a_browser_edit_is_shown_as_a_map_edit_without_a_mode(app):
    client = login(app.test_client(), "ed")
    body = {"expected_version": 1, "collection": app.test_client().get("/api/layers/outdoor_dining_pilots").get_json(force=True)}
    body["collection"]["features"][0]["properties"]["capacity"] = 99
    saved = client.post("/staff/layers/outdoor_dining_pilots/edits", json=body,
                        headers={"X-CSRFToken": re.search(r'name="csrf-token" content="([^"]+)"', client.get(
                            "/staff/layers/outdoor_dining_pilots/edit").get_data(as_text=True)).group(1)})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    history = client.get("/staff/layers/outdoor_dining_pilots/history").get_data(as_text=True)
    assert "地图编辑 map edit</td>" in history and "map edit (replace)" not in history
