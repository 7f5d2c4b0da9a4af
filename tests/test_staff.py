"""Staff web pages: log-in, roles, CSRF, rate limit, upload -> report -> publish, conflicts, rollback, quarantine."""

import io
import json
import re
import stat
import threading
from pathlib import Path

import pytest

from webmap import create_app

from .conftest import CORPUS, feature_collection, password_hash, point

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "BASEMAP": "none", "LOGIN_RATE_LIMIT": "5 per minute",
                      "UPLOAD_DIR": str(tmp_path / "uploads")})
    store = app.extensions["store"]
    store.create_user("admin", password_hash(PASSWORD), "admin", [], actor="test")
    store.create_user("ed", password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"], actor="test")
    store.create_user("ed2", password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"], actor="test")
    return app


def token(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.get_data(as_text=True)).group(1)


def login(client, name):
    response = client.post("/staff/login", data={"name": name, "password": PASSWORD,
                                                 "csrf_token": token(client, "/staff/login")})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def upload(client, layer_id, content: bytes, filename="upload.geojson", **options):
    csrf = token(client, f"/staff/layers/{layer_id}/import")
    data = {"csrf_token": csrf, "file": (io.BytesIO(content), filename), **options}
    return client.post(f"/staff/layers/{layer_id}/import", data=data, content_type="multipart/form-data")


def publish_form(page_html: str) -> dict:
    return {name: re.search(rf'name="{name}" value="([^"]*)"', page_html).group(1)
            for name in ("csrf_token", "token", "expected")}


def test_anonymous_writes_change_nothing(app):
    client = app.test_client()
    assert client.get("/staff/").status_code == 302
    for path in ("/staff/layers/hq_clusters/publish", "/staff/layers/hq_clusters/rollback",
                 "/staff/layers/hq_clusters/import"):
        response = client.post(path, data={"version": "1"})
        assert response.status_code in (302, 400, 401, 403)
    assert app.extensions["store"].live_versions()["hq_clusters"] == 1


def test_wrong_password_is_401_and_attempts_are_limited(app):
    client = app.test_client()
    for _ in range(5):
        response = client.post("/staff/login", data={"name": "admin", "password": "nope" * 3,
                                                     "csrf_token": token(client, "/staff/login")})
        assert response.status_code == 401
    response = client.post("/staff/login", data={"name": "admin", "password": PASSWORD,
                                                 "csrf_token": token(client, "/staff/login")})
    assert response.status_code == 429


def test_forms_need_the_csrf_token(app):
    client = login(app.test_client(), "admin")
    response = client.post("/staff/layers/hq_clusters/rollback", data={"version": "1"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_session_cookie_flags(app):
    client = app.test_client()
    response = client.post("/staff/login", data={"name": "admin", "password": PASSWORD,
                                                 "csrf_token": token(client, "/staff/login")})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_editors_change_only_their_layers(app):
    client = login(app.test_client(), "ed")
    assert client.get("/staff/layers/outdoor_dining_pilots/import").status_code == 200
    assert client.get("/staff/layers/hq_clusters/import").status_code == 403
    assert client.get("/staff/layers/hq_clusters/history").status_code == 200


def test_upload_report_publish_quarantine_and_the_public_map_follows(app):
    client = login(app.test_client(), "ed")
    features = [point("od-new", 120.39, 36.06, name="新外摆"), point("bad", 36.06, 120.39)]
    page = upload(client, "outdoor_dining_pilots", feature_collection(features).encode(), mode="append")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "out of range" in html and "<strong>1</strong> 个要素可发布" in html
    done = client.post("/staff/layers/outdoor_dining_pilots/publish", data=publish_form(html))
    assert done.status_code == 302
    history = client.get("/staff/layers/outdoor_dining_pilots/history").get_data(as_text=True)
    assert "v2" in history and "+1 ~0 −0" in history
    link = re.search(r'href="(/staff/layers/outdoor_dining_pilots/quarantine/\d+\.geojson)"', history).group(1)
    refused = json.loads(client.get(link).data)["features"]
    assert [f["id"] for f in refused] == ["bad"] and "out of range" in refused[0]["properties"]["_refused"][0]
    public = app.test_client().get("/api/layers/outdoor_dining_pilots").get_json(force=True)
    assert "od-new" in [f["id"] for f in public["features"]]
    diff = client.get("/staff/layers/outdoor_dining_pilots/versions/2").get_data(as_text=True)
    assert "od-new" in diff


def test_two_editors_the_second_gets_409_and_nothing_is_lost(app):
    first, second = login(app.test_client(), "ed"), login(app.test_client(), "ed2")
    a = upload(first, "outdoor_dining_pilots", feature_collection([point("a", 120.38, 36.07)]).encode(), mode="append")
    b = upload(second, "outdoor_dining_pilots", feature_collection([point("b", 120.38, 36.07)]).encode(), mode="append")
    assert first.post("/staff/layers/outdoor_dining_pilots/publish", data=publish_form(a.get_data(as_text=True))).status_code == 302
    late = second.post("/staff/layers/outdoor_dining_pilots/publish", data=publish_form(b.get_data(as_text=True)))
    assert late.status_code == 409 and "version 2, not 1" in late.get_data(as_text=True)
    ids = [i for i in app.extensions["store"].load(app.extensions["catalog"].get("outdoor_dining_pilots").kind).ids]
    assert "a" in ids and "b" not in ids


def test_rollback_from_the_history_page(app):
    client = login(app.test_client(), "admin")
    html = upload(client, "hq_clusters", feature_collection([]).encode()).get_data(as_text=True)
    assert "没有可发布的要素" in html  # an empty file publishes nothing
    csrf = token(client, "/staff/layers/hq_clusters/history")
    page = upload(client, "hq_clusters", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "hq-x", "properties": {"name": "测试", "district": "市南区", "source": "sample"},
         "geometry": {"type": "Polygon", "coordinates": [[[120.38, 36.06], [120.39, 36.06], [120.39, 36.07],
                                                           [120.38, 36.06]]]}}]}).encode())
    client.post("/staff/layers/hq_clusters/publish", data=publish_form(page.get_data(as_text=True)))
    assert app.extensions["store"].live_versions()["hq_clusters"] == 2
    confirm = client.get("/staff/layers/hq_clusters/rollback/1").get_data(as_text=True)  # the history's link
    assert "将删除 1 个现有要素" in confirm and 'name="confirm" value="0:1"' in confirm
    client.post("/staff/layers/hq_clusters/rollback", data={"csrf_token": csrf, "version": "1", "expected": "2",
                                                            "confirm": "0:1"})
    assert app.extensions["store"].live_versions()["hq_clusters"] == 3
    listed = {layer["id"]: layer for layer in app.test_client().get("/api/layers").get_json()["layers"]}
    assert listed["hq_clusters"]["count"] == 3


def test_uploads_over_the_limit_are_413(app):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    client = login(app.test_client(), "admin")
    response = upload(client, "hq_clusters", b" " * 5000)
    assert response.status_code == 413 and "nothing was stored" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*/*.geojson")), ids=lambda p: p.name)
def test_the_corpus_through_the_upload_path_never_5xx(app, path):
    client = login(app.test_client(), "admin")
    response = upload(client, "night_economy_zones", path.read_bytes(), filename=path.name)
    assert response.status_code == 200
    assert "拒绝 refused" in response.get_data(as_text=True) or "没有可发布的要素" in response.get_data(as_text=True)
    assert app.extensions["store"].live_versions()["night_economy_zones"] == 1


def test_an_upload_named_like_our_own_files_is_harmless(app):
    client = login(app.test_client(), "admin")
    page = upload(client, "hq_clusters", b'{"type": "FeatureCollection", "features": []}', filename="meta.json")
    assert page.status_code == 200


def test_admins_create_accounts_editors_cannot(app):
    admin = login(app.test_client(), "admin")
    data = {"csrf_token": token(admin, "/staff/users"), "name": "newbie", "password": "long enough pw",
            "role": "editor", "layers": ["hq_clusters", "pedestrian_streets"]}
    assert admin.post("/staff/users", data=data).status_code == 302
    user = app.extensions["store"].user("newbie")
    assert user["role"] == "editor" and user["layers"] == ["hq_clusters", "pedestrian_streets"]
    assert user["password_hash"].startswith("scrypt:")
    newbie = app.test_client()
    assert newbie.post("/staff/login", data={"name": "newbie", "password": "long enough pw",
                                             "csrf_token": token(newbie, "/staff/login")}).status_code == 302
    assert newbie.get("/staff/layers/hq_clusters/import").status_code == 200
    editor = login(app.test_client(), "ed")
    assert editor.get("/staff/users").status_code == 403
    short = dict(data, name="other", password="short", csrf_token=token(admin, "/staff/users"))
    assert admin.post("/staff/users", data=short).status_code == 200 and app.extensions["store"].user("other") is None


# -- what an editor may send: every bad value is a 400/403/404 with a message, never a 500 --------------------

def previewed(client, layer_id="outdoor_dining_pilots", fid="a", **options):
    page = upload(client, layer_id, feature_collection([point(fid, 120.38, 36.07)]).encode(), mode="append", **options)
    assert page.status_code == 200
    return publish_form(page.get_data(as_text=True))


@pytest.mark.parametrize("expected", ["abc", "", "1.5", "²", "١", "-1", "1\n", "9" * 30])
def test_publish_with_a_bad_expected_version_is_400(app, expected):
    client = login(app.test_client(), "ed")
    form = dict(previewed(client), expected=expected)
    response = client.post("/staff/layers/outdoor_dining_pilots/publish", data=form)
    assert response.status_code == 400 and "版本号无效" in response.get_data(as_text=True)
    assert app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1


@pytest.mark.parametrize("bad", ["x" * 5000, "../" * 10 + "etc", "A" * 32, "0" * 31, ""])
def test_publish_with_a_token_we_did_not_issue_is_400(app, bad):
    client = login(app.test_client(), "ed")
    form = dict(previewed(client), token=bad)
    response = client.post("/staff/layers/outdoor_dining_pilots/publish", data=form)
    assert response.status_code == 400 and "上传编号无效" in response.get_data(as_text=True)


@pytest.mark.parametrize("version", ["²", "١", "1 ", "-1", "", "99999999999999999999"])
def test_rollback_to_a_bad_version_number_is_400_and_changes_nothing(app, version):
    client = login(app.test_client(), "admin")
    csrf = token(client, "/staff/layers/hq_clusters/history")
    response = client.post("/staff/layers/hq_clusters/rollback", data={"csrf_token": csrf, "version": version})
    assert response.status_code == 400 and "版本号无效" in response.get_data(as_text=True)
    assert len(app.extensions["store"].history("hq_clusters")) == 1


@pytest.mark.parametrize("path", ["/staff/layers/hq_clusters/versions/١", "/staff/layers/hq_clusters/versions/²",
                                  "/staff/layers/hq_clusters/versions/99999999999999999999",
                                  "/staff/layers/hq_clusters/quarantine/١.geojson"])
def test_numbers_in_urls_follow_the_same_rule(app, path):
    client = login(app.test_client(), "admin")
    assert client.get(path).status_code == 404
    assert client.get("/staff/layers/hq_clusters/versions/1").status_code == 200


def edits(client, layer_id, body: bytes, csrf=None):
    csrf = token(client, f"/staff/layers/{layer_id}/import") if csrf is None else csrf
    return client.post(f"/staff/layers/{layer_id}/edits", data=body,
                       headers={"Content-Type": "application/json", "X-CSRFToken": csrf})


@pytest.mark.parametrize("body, expected", [
    (b'{"expected_version": 1, "collection": ' + b"[" * 6000 + b"]" * 6000 + b"}", "nested"),
    (b"[" * 100000 + b"]" * 100000, "nested"),
    (b'{"expected_version": 1, "expected_version": 1, "collection": {}}', "twice"),
    (b'{"expected_version": NaN, "collection": {}}', "NaN"),
    (b'{"expected_version": true, "collection": {"type": "FeatureCollection", "features": []}}', ""),
    (b'{"expected_version": 1.0, "collection": {"type": "FeatureCollection", "features": []}}', ""),
    (b"", "empty"),
])
def test_bad_edit_bodies_are_a_json_400(app, body, expected):
    client = login(app.test_client(), "ed")
    response = edits(client, "outdoor_dining_pilots", body)
    assert response.status_code == 400 and response.is_json, response.get_data(as_text=True)[:300]
    answer = response.get_json()
    assert answer["detail"].startswith("请求无效") and expected in json.dumps(answer["problems"])
    assert app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1


def test_errors_of_the_edits_endpoint_are_json(app):
    client = login(app.test_client(), "ed")
    body = json.dumps({"expected_version": 1, "collection": {"type": "FeatureCollection", "features": []}}).encode()
    expired = edits(client, "outdoor_dining_pilots", body, csrf="not-the-token")
    assert expired.status_code == 400 and expired.is_json and "CSRF" in expired.get_json()["detail"]
    assert expired.get_json()["detail"].startswith("页面已过期")
    csrf = token(client, "/staff/layers/outdoor_dining_pilots/import")
    foreign = edits(client, "hq_clusters", body, csrf=csrf)
    assert foreign.status_code == 403 and foreign.is_json and "你不能修改" in foreign.get_json()["detail"]
    unknown = edits(client, "nope", body, csrf=csrf)
    assert unknown.status_code == 404 and unknown.is_json
    app.config["MAX_CONTENT_LENGTH"] = 50
    large = edits(client, "outdoor_dining_pilots", body, csrf=csrf)
    assert large.status_code == 413 and large.is_json and large.get_json()["detail"].startswith("修改太大")


@pytest.mark.parametrize("layer_id", ["hq_clusters%0D%0ASet-Cookie:%20stolen=1", 'hq_clusters%22;filename=%22evil.exe',
                                      "hq_clusters%22%3Bfilename%3D%22evil.exe"])
def test_the_quarantine_route_checks_the_layer(app, layer_id):
    client = login(app.test_client(), "admin")
    response = client.get(f"/staff/layers/{layer_id}/quarantine/1.geojson")
    assert response.status_code == 404 and "没有此图层" in response.get_data(as_text=True)
    assert "Content-Disposition" not in response.headers and "stolen" not in str(response.headers)


def test_only_those_who_may_change_a_layer_download_its_quarantine(app):
    admin = login(app.test_client(), "admin")
    page = upload(admin, "hq_clusters", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "bad", "properties": {"name": "x"}, "geometry": None}]}).encode())
    assert page.status_code == 200
    import_id = app.extensions["store"].record_refusal(
        app.extensions["store"].load(app.extensions["catalog"].get("hq_clusters").kind), author="admin", source="t")
    path = f"/staff/layers/hq_clusters/quarantine/{import_id}.geojson"
    editor = login(app.test_client(), "ed")
    assert editor.get(path).status_code == 403
    mine = admin.get(path)
    assert mine.status_code == 200 and mine.mimetype == "application/geo+json"
    assert mine.headers["Content-Disposition"] == f"attachment; filename=quarantine-hq_clusters-{import_id}.geojson"
    assert "下载隔离要素" not in editor.get("/staff/layers/hq_clusters/history").get_data(as_text=True)


# -- uploads: private, one waiting per user and layer, a quota per user --------------------------------------

def test_uploads_are_readable_by_the_server_s_user_only(app):
    client = login(app.test_client(), "ed")
    form = previewed(client)
    root = Path(app.config["UPLOAD_DIR"])
    folder = root / form["token"]
    assert stat.S_IMODE(root.stat().st_mode) == 0o700 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "upload.geojson"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


def test_a_new_upload_replaces_the_same_user_s_waiting_preview_of_the_layer(app):
    client, other = login(app.test_client(), "ed"), login(app.test_client(), "ed2")
    first, theirs = previewed(client, fid="first"), previewed(other, fid="theirs")
    second = previewed(client, fid="second")
    stale = client.post("/staff/layers/outdoor_dining_pilots/publish", data=first)
    text = stale.get_data(as_text=True)
    assert stale.status_code == 400 and "上传已过期" in text and "This upload is no longer waiting" in text
    assert client.post("/staff/layers/outdoor_dining_pilots/publish", data=second).status_code == 302
    assert sorted(p.name for p in Path(app.config["UPLOAD_DIR"]).iterdir()) == [theirs["token"]]


def test_waiting_uploads_have_a_quota_per_user(app):
    app.config["UPLOAD_QUOTA_BYTES"] = 3000
    client = login(app.test_client(), "admin")
    padded = lambda fid: (feature_collection([point(fid, 120.38, 36.07)]) + " " * 1700).encode()  # noqa: E731
    first = upload(client, "outdoor_dining_pilots", padded("a"), mode="append")
    assert first.status_code == 200
    over = upload(client, "night_economy_zones", padded("b"))
    assert over.status_code == 413 and "上传配额已满" in over.get_data(as_text=True)
    assert len(list(Path(app.config["UPLOAD_DIR"]).iterdir())) == 1  # the refused upload is not kept
    again = upload(client, "outdoor_dining_pilots", padded("c"), mode="append")  # replaces the first: within quota
    assert again.status_code == 200
    assert client.post("/staff/layers/outdoor_dining_pilots/publish",
                       data=publish_form(again.get_data(as_text=True))).status_code == 302
    assert upload(login(app.test_client(), "ed"), "outdoor_dining_pilots", padded("d")).status_code == 200


# -- simultaneous saves from the browser's endpoint: one wins, the others get 409 ----------------------------

def test_simultaneous_saves_through_the_web_one_wins_the_rest_409(tmp_path):
    from layers.store import Store

    app = create_app({"TESTING": True, "BASEMAP": "none", "LOGIN_RATE_LIMIT": "1000 per minute",
                      "DATABASE_URL": f"sqlite:///{tmp_path}/store.sqlite", "UPLOAD_DIR": str(tmp_path / "up")})
    app.extensions["store"].create_user("ed", password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"],
                                        actor="test")
    live = app.test_client().get("/api/layers/outdoor_dining_pilots").get_json(force=True)
    clients = [login(app.test_client(), "ed") for _ in range(12)]
    csrf = [token(c, "/staff/layers/outdoor_dining_pilots/import") for c in clients]
    barrier, answers = threading.Barrier(len(clients)), [None] * len(clients)

    def save(n):
        features = [dict(f, properties=dict(f["properties"], capacity=n + 1)) if i == 0 else f
                    for i, f in enumerate(live["features"])]
        body = json.dumps({"expected_version": 1, "collection": dict(live, features=features)}).encode()
        barrier.wait()
        response = edits(clients[n], "outdoor_dining_pilots", body, csrf=csrf[n])
        answers[n] = (response.status_code, response.get_json(silent=True))

    threads = [threading.Thread(target=save, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for code, _ in answers)
    assert codes == [200] + [409] * (len(clients) - 1), answers
    assert all("version 2, not 1" in body["detail"] for code, body in answers if code == 409)
    store = Store(app.config["DATABASE_URL"])
    assert [h["number"] for h in store.history("outdoor_dining_pilots")] == [1, 2]
    store.engine.dispose()
    app.extensions["store"].engine.dispose()


def test_publishing_what_is_already_live_says_nothing_changed(app):
    client = login(app.test_client(), "ed")
    body = app.test_client().get("/api/layers/outdoor_dining_pilots").data
    page = upload(client, "outdoor_dining_pilots", body, filename="same.geojson", mode="append")
    done = client.post("/staff/layers/outdoor_dining_pilots/publish", data=publish_form(page.get_data(as_text=True)),
                       follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Nothing changed: Outdoor-dining pilots version 1 stays live" in text and "Published" not in text
    assert app.extensions["store"].live_versions()["outdoor_dining_pilots"] == 1
