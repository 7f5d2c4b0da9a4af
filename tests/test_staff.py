"""Staff web pages: log-in, roles, CSRF, rate limit, upload -> report -> publish, conflicts, rollback, quarantine."""

import io
import json
import re

import pytest
from werkzeug.security import generate_password_hash

from webmap import create_app

from .conftest import CORPUS, feature_collection, point

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "BASEMAP": "none", "LOGIN_RATE_LIMIT": "5 per minute",
                      "UPLOAD_DIR": str(tmp_path / "uploads")})
    store = app.extensions["store"]
    store.create_user("admin", generate_password_hash(PASSWORD), "admin", [], actor="test")
    store.create_user("ed", generate_password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"], actor="test")
    store.create_user("ed2", generate_password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"], actor="test")
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
    for attempt in range(5):
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
    client.post("/staff/layers/hq_clusters/rollback", data={"csrf_token": csrf, "version": "1"})
    assert app.extensions["store"].live_versions()["hq_clusters"] == 3
    assert app.test_client().get("/api/layers").get_json()["layers"][-1]["count"] == 3


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
