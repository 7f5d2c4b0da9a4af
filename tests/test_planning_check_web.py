"""Check a site (/staff/planning/check): the JSON check on the sample data (verdicts, buffers, distance lines),
bad input as a 400, staff only, and saving the checked site as a proposed pilot."""

import json
import re
import subprocess
import sys

import pytest
import shapely

from layers.planning import geometry
from layers.registry import REGISTRY
from webmap import create_app

from .conftest import ROOT, password_hash

PASSWORD = "correct horse battery"
CHECK, SAVE = "/staff/planning/check.json", "/staff/planning/check/save.json"
#: The Taidong barbecue seating (sample pilot), 6 m from 威海路居民小区 (data/planning/README.md).
TAIDONG = {"type": "Point", "coordinates": [120.3492, 36.0889]}
LATE = {"name": "台东测试外摆", "opening_hours": "Mo-Su 17:00-01:00", "clear_walkway_m": 2.0, "capacity": 20}


@pytest.fixture(scope="module")
def app():
    app = create_app({"TESTING": True, "BASEMAP": "none"})
    store = app.extensions["store"]
    store.create_user("admin", password_hash(PASSWORD), "admin", [], actor="test")
    store.create_user("ed", password_hash(PASSWORD), "editor", ["hq_clusters"], actor="test")
    store.create_user("pilots", password_hash(PASSWORD), "editor", ["outdoor_dining_proposals"], actor="test")
    return app


def login(app, name):
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    assert client.post("/staff/login", data={"name": name, "password": PASSWORD, "csrf_token": token}).status_code == 302
    page = client.get("/staff/planning/check")
    assert page.status_code == 200
    client.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    client.page = page.get_data(as_text=True)
    return client


@pytest.fixture(scope="module")
def admin(app):
    return login(app, "admin")


def post(client, path, body, raw=None):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    return client.post(path, data=data, headers={"Content-Type": "application/json", "X-CSRFToken": client.csrf})


def radius(buffer, centre) -> tuple[float, float]:
    ring = geometry.metric(shapely.geometry.shape(buffer["geometry"])).exterior
    origin = geometry.metric(shapely.geometry.shape(centre))
    radii = [origin.distance(shapely.Point(c)) for c in ring.coords]
    return min(radii), max(radii)


def test_a_site_by_the_residential_compound_fails_r1_with_the_distance_buffers_and_lines(admin):
    response = post(admin, CHECK, {"geometry": TAIDONG, "properties": LATE, "site_id": "od-taidong-residential"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    answer = response.get_json()
    r1 = answer["result"]["verdicts"][0]
    assert r1["rule"] == "R1" and r1["status"] == "fail"
    assert r1["reason"].startswith("居民小区 威海路居民小区 6.0 m，外摆营业至次日 01:00 · residential 威海路居民小区 6.0 m")
    assert "close outdoor seating at 22:00 to pass rule R1" in r1["suggestion"]
    assert answer["overall"] == {"status": "fail", "zh": "不通过", "en": "fail"}
    assert answer["ruleset"]["version"] == 0 and answer["data"]["sensitive_sites"] == 1
    assert answer["site"]["district"] == "市北区" and answer["site"]["type"] == "Point"
    # the buffers: one per distance, their radius the rules' distance in metres
    assert [(b["distance_m"], b["rules"]) for b in answer["buffers"]] == [(30.0, ["R1"]), (50.0, ["R2", "R3", "R5"])]
    for b in answer["buffers"]:
        low, high = radius(b, TAIDONG)
        assert b["distance_m"] - 0.05 < low <= high < b["distance_m"] + 0.05
    # the lines: edge to edge to each place listed, nearest first, as long as the verdicts say
    lines = [(line["name"], line["distance_m"]) for line in answer["lines"]]
    assert lines[0] == ("威海路居民小区", 6.0) and ("台东幼儿园", 42.0) in lines
    first = geometry.metric(shapely.geometry.shape(answer["lines"][0]["geometry"]))
    assert abs(first.length - 6.0) < 0.06
    assert [p["name"] for p in answer["places"]][:1] == ["威海路居民小区"]


def test_closing_at_22_passes_r1_and_a_drawn_area_is_checked_edge_to_edge(admin):
    early = dict(LATE, opening_hours="Mo-Su 17:00-22:00")
    answer = post(admin, CHECK, {"geometry": TAIDONG, "properties": early}).get_json()
    assert answer["result"]["verdicts"][0]["status"] == "pass"
    x, y = TAIDONG["coordinates"]
    drawn = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.0001, y], [x + 0.0001, y + 0.00005], [x, y + 0.00005],
                                                 [x, y]]]}
    answer = post(admin, CHECK, {"geometry": drawn, "properties": LATE}).get_json()
    assert answer["site"]["type"] == "Polygon" and 40 < answer["site"]["area_m2"] < 60
    assert answer["lines"][0]["name"] == "威海路居民小区" and answer["lines"][0]["distance_m"] <= 6.0
    assert answer["buffers"][0]["geometry"]["type"] == "Polygon"


def test_missing_hours_cannot_be_assessed_never_pass(admin):
    answer = post(admin, CHECK, {"geometry": TAIDONG, "properties": {"name": "无时间"}}).get_json()
    r1, r4 = answer["result"]["verdicts"][0], answer["result"]["verdicts"][3]
    assert r1["status"] == "cannot_assess" and "opening_hours" in r1["reason"]
    assert r4["status"] == "cannot_assess" and answer["overall"]["status"] != "pass"


BOWTIE = {"type": "Polygon", "coordinates": [[[120.349, 36.088], [120.350, 36.089], [120.350, 36.088],
                                              [120.349, 36.089], [120.349, 36.088]]]}


@pytest.mark.parametrize("raw, expected", [
    (json.dumps({"geometry": BOWTIE}), "自相交"),
    (json.dumps({"geometry": {"type": "Point", "coordinates": [116.39, 39.9]}}), "Qingdao"),
    (json.dumps({"geometry": {"type": "LineString", "coordinates": [[120.34, 36.08], [120.35, 36.09]]}}), "Point"),
    (json.dumps({"geometry": {"type": "Point", "coordinates": ["a", 1]}}), "two numbers"),
    (json.dumps({"geometry": {"type": "Point", "coordinates": ["120.38", "36.06"]}}), "two numbers"),
    (json.dumps({"geometry": {"type": "Point", "coordinates": [120.38]}}), "two numbers"),
    (json.dumps({"geometry": {"type": "Polygon", "coordinates": [[[120.38, 36.06], [120.381, 36.061],
                                                                 [120.381, 36.06]]]}}), "must be closed"),
    (json.dumps({"geometry": {"type": "Polygon", "coordinates": [[[120.38 + i * 1e-7, 36.06] for i in range(10_001)]
                                                                + [[120.38, 36.06]]]}}), "more than 10,000 points"),
    (json.dumps({"geometry": TAIDONG, "properties": {"clear_walkway_m": -1}}), "clear_walkway_m"),
    (json.dumps({"geometry": TAIDONG, "properties": {"capacity": 2.5}}), "capacity"),
    (json.dumps({"geometry": TAIDONG, "properties": {"capacity": True}}), "capacity"),
    (json.dumps({"geometry": TAIDONG, "colour": "red"}), "unknown field 'colour'"),
    (json.dumps({"geometry": TAIDONG, "properties": {"colour": "red"}}), "no field 'colour'"),
    (json.dumps({"geometry": TAIDONG, "properties": {"name": {"a": 1}}}), "text or a number"),
    (json.dumps({"geometry": TAIDONG, "properties": []}), "properties must be an object"),
    (json.dumps({"geometry": TAIDONG, "site_id": "no-such-pilot"}), "no outdoor-dining pilot"),
    (json.dumps([TAIDONG]), "JSON object"),
    ('{"geometry": ', "not valid JSON"),
    ('{"geometry": {"type": "Point", "coordinates": [NaN, 36]}}', "not valid JSON"),
    ('{"geometry": 1, "geometry": 2}', "not valid JSON"),
    ("", "not valid JSON"),
])
def test_bad_input_is_a_bilingual_400_never_a_500(admin, raw, expected):
    response = post(admin, CHECK, None, raw=raw.encode())
    assert response.status_code == 400 and response.is_json, response.get_data(as_text=True)[:300]
    detail = response.get_json()["detail"]
    assert expected in detail and "·" in detail and re.search(r"[\u4e00-\u9fff]", detail)


def test_numbers_given_as_text_are_read_as_their_field_reads_them(admin):
    answer = post(admin, CHECK, {"geometry": TAIDONG, "properties": {"clear_walkway_m": "2.5", "opening_hours":
                                                                      "Mo-Su 10:00-21:00"}}).get_json()
    assert answer["result"]["verdicts"][3]["status"] == "pass"


def test_a_request_too_large_to_be_a_site_is_refused_before_it_is_read(admin):
    response = post(admin, CHECK, None, raw=b" " * (2 << 20))
    assert response.status_code == 413 and "larger than" in response.get_json()["detail"]


def test_the_out_of_qingdao_reason_is_the_domain_s(admin):
    detail = post(admin, CHECK, {"geometry": {"type": "Point", "coordinates": [116.39, 39.9]}}).get_json()["detail"]
    assert "青岛" in detail


def test_anonymous_users_get_no_data_and_no_page(app):
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)  # an anonymous session's own CSRF token
    client.csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    for response in (post(client, CHECK, {"geometry": TAIDONG}), post(client, SAVE, {"geometry": TAIDONG}),
                     client.get("/staff/planning/check")):
        assert response.status_code in (302, 401), response.status_code
        assert "/staff/login" in response.headers.get("Location", "/staff/login")
        assert b"verdicts" not in response.get_data() and "威海".encode() not in response.get_data()
    without_token = client.post(CHECK, json={"geometry": TAIDONG})
    assert without_token.status_code == 400 and b"verdicts" not in without_token.get_data()


def test_a_check_without_the_csrf_token_is_refused(admin):
    response = admin.post(CHECK, json={"geometry": TAIDONG})
    assert response.status_code == 400 and b"verdicts" not in response.get_data()


def test_the_page_is_the_map_with_the_form_and_the_save_button_only_for_those_who_may(app, admin):
    assert 'id="check-config"' in admin.page and 'id="check-save"' in admin.page
    config = json.loads(re.search(r'id="check-config">(.*?)</script>', admin.page, re.S).group(1))
    assert [f["name"] for f in config["form"]][:3] == ["name", "opening_hours", "clear_walkway_m"]
    assert set(config["kinds"]) == {"outdoor_dining_pilots", "outdoor_dining_proposals", "sensitive_sites", "complaints"}
    editor = login(app, "ed")
    assert 'id="check-save"' not in editor.page and 'id="check-config"' in editor.page
    assert post(editor, CHECK, {"geometry": TAIDONG, "properties": LATE}).status_code == 200  # editors check too


def pilots(app):
    store = app.extensions["store"]
    return store.live_versions()["outdoor_dining_proposals"]


def proposals(app) -> list[dict]:
    layer = app.extensions["store"].load(REGISTRY["outdoor_dining_proposals"])
    return [{"id": i, "properties": p, "geometry": shapely.geometry.mapping(g)}
            for i, p, g in zip(layer.ids, layer.properties, layer.geometries)]


def test_save_as_a_proposal_adds_one_planned_staff_only_feature_as_a_new_version_undone_by_rollback(app):
    client = login(app, "pilots")
    before = pilots(app)
    public = app.test_client().get("/api/layers/outdoor_dining_pilots").get_data()
    features = proposals(app)
    body = {"geometry": TAIDONG, "properties": dict(LATE, source="survey"), "site_id": "od-taidong-residential"}
    response = post(client, SAVE, body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    saved = response.get_json()
    assert saved["version"] == before + 1 and saved["added"] == 1 and saved["id"].startswith("od-plan-")
    assert saved["layer"] == "outdoor_dining_proposals"
    after = proposals(app)
    assert len(after) == len(features) + 1
    new = next(f for f in after if f["id"] == saved["id"])
    props = new["properties"]
    assert props["status"] == "planned" and props["source"] == "survey" and props["name"] == "台东测试外摆"
    assert props["district"] == "市北区" and props["opening_hours"] == "Mo-Su 17:00-01:00"
    assert "ruleset version 0: fail" in props["note"]
    assert list(new["geometry"]["coordinates"]) == TAIDONG["coordinates"]
    # a proposal, failing or not, is not public: not on the map, /api or /ogc; the pilot layer is unchanged
    anonymous = app.test_client()
    assert anonymous.get("/api/layers/outdoor_dining_pilots").get_data() == public
    assert anonymous.get("/api/layers/outdoor_dining_proposals").status_code == 404
    assert anonymous.get("/ogc/collections/outdoor_dining_proposals/items").status_code == 404
    store = app.extensions["store"]
    entry = store.audit_log("outdoor_dining_proposals")[-1]
    assert entry["actor"] == "pilots" and entry["detail"]["mode"] == "append" and entry["detail"]["added"] == 1
    message = [v for v in store.history("outdoor_dining_proposals") if v["number"] == saved["version"]][0]["message"]
    assert "ruleset version 0" in message and "site check" in message
    # undone by a rollback to the version before
    store.rollback(REGISTRY["outdoor_dining_proposals"], before, author="admin")
    assert len(proposals(app)) == len(features)


def test_a_drawn_area_is_saved_as_its_point_with_its_area(app, admin):
    x, y = TAIDONG["coordinates"]
    drawn = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.0001, y], [x + 0.0001, y + 0.00005], [x, y + 0.00005],
                                                 [x, y]]]}
    saved = post(admin, SAVE, {"geometry": drawn, "properties": dict(LATE, source="official")}).get_json()
    new = next(f for f in proposals(app) if f["id"] == saved["id"])
    assert new["geometry"]["type"] == "Point" and 40 < new["properties"]["area_m2"] < 60
    assert shapely.geometry.shape(drawn).contains(shapely.geometry.shape(new["geometry"]))


def test_an_editor_without_the_proposals_layer_may_not_save_and_nothing_changes(app):
    editor = login(app, "ed")
    before = pilots(app)
    response = post(editor, SAVE, {"geometry": TAIDONG, "properties": dict(LATE, source="survey")})
    assert response.status_code == 403 and "may not change outdoor_dining_proposals" in response.get_json()["detail"]
    assert pilots(app) == before


def test_a_save_without_a_source_or_with_bad_fields_is_a_400_that_names_them(app, admin):
    before = pilots(app)
    response = post(admin, SAVE, {"geometry": TAIDONG, "properties": LATE})
    assert response.status_code == 400 and "source" in json.dumps(response.get_json()["problems"])
    response = post(admin, SAVE, {"geometry": TAIDONG, "properties": dict(LATE, source="planning desk")})
    assert response.status_code == 400 and "planning desk" in json.dumps(response.get_json()["problems"], ensure_ascii=False)
    assert post(admin, SAVE, {"geometry": BOWTIE, "properties": dict(LATE, source="survey")}).status_code == 400
    assert pilots(app) == before


def test_the_http_benchmark_runs_and_reports_ours_beside_its_anchor():
    done = subprocess.run([sys.executable, "scripts/bench_planning_http.py", "--places", "300", "--complaints", "300",
                           "--checks", "5", "--workers", "1", "--no-postgis"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ours:") or line.startswith("| anchor:")]
    assert len(rows) == 3 and all(re.search(r"\| [0-9.]+ / [0-9.]+ / [0-9.]+ \|$", row) for row in rows), done.stdout
