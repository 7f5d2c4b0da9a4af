"""Staff-only layers (complaints, 12345-hotline records): never on a public path, answered exactly like an
unknown layer there, and seen, edited and imported by staff through the staff pages."""

from __future__ import annotations

import json
import re

import pytest

from layers.registry import KINDS, PUBLIC_KINDS

from .conftest import feature_collection, point
from .test_staff import app, login, publish_form, token, upload  # noqa: F401 - the staff app fixture

#: What must never reach an anonymous user: the id, the sample complaints' ids and texts, the kind's titles.
SECRETS = ("complaints", "cp-001", "cp-012", "晚上烧烤摊吵闹", "楼下外摆喧哗", "12345", "投诉", "Complaints")

#: Every public path that names a layer ({} is the layer id): /api and /ogc in their JSON and HTML forms.
BY_ID = (
    "/api/layers/{}", "/api/layers/{}?crs=gcj02", "/api/layers/{}/download", "/api/layers/{}/download?format=csv",
    "/api/layers/{}/download?format=gpkg&bbox=120,36,121,37",
    "/ogc/collections/{}", "/ogc/collections/{}?f=html", "/ogc/collections/{}/items",
    "/ogc/collections/{}/items?f=html", "/ogc/collections/{}/items?limit=1", "/ogc/collections/{}/items/",
    "/ogc/collections/{}/items/cp-001", "/ogc/collections/{}/items/cp-001?f=html",
    "/ogc/collections/{}/queryables", "/ogc/collections/{}/queryables?f=html", "/ogc/collections/{}/schema",
    "/ogc/collections/{}/geojson-schema", "/ogc/collections/{}/styles", "/ogc/collections/{}/styles/default",
)

#: The public paths that list layers (or describe the service): none may mention a staff-only layer.
LISTINGS = ("/", "/?basemap=osm", "/api/layers", "/ogc/", "/ogc/?f=html", "/ogc/conformance",
            "/ogc/conformance?f=html", "/ogc/collections", "/ogc/collections?f=html", "/ogc/api", "/ogc/api?f=html",
            "/ogc/collections/sensitive_sites", "/ogc/collections/sensitive_sites/items?limit=100")


def _body(response) -> str:
    return response.get_data(as_text=True)


def test_complaints_are_registered_staff_only_and_loaded():
    assert [k.id for k in KINDS if k.staff_only] == ["complaints", "outdoor_dining_proposals"]
    assert "complaints" not in [k.id for k in PUBLIC_KINDS] and "sensitive_sites" in [k.id for k in PUBLIC_KINDS]


def test_the_store_holds_the_sample_complaints(app):
    assert app.extensions["catalog"].get("complaints").count == 12


@pytest.mark.parametrize("path", BY_ID)
def test_a_staff_only_id_answers_exactly_like_an_unknown_one(app, path):
    anonymous = app.test_client()
    hidden, unknown = anonymous.get(path.format("complaints")), anonymous.get(path.format("casinos"))
    assert hidden.status_code == unknown.status_code and hidden.status_code in (404, 400) or \
        (hidden.status_code == unknown.status_code == 308), (path, hidden.status_code, unknown.status_code)
    assert hidden.headers.get("Content-Type") == unknown.headers.get("Content-Type"), path
    assert _body(hidden).replace("complaints", "casinos") == _body(unknown), path
    assert not any(secret in _body(hidden).replace("'complaints'", "") for secret in SECRETS if secret != "complaints")
    assert "complaints" not in _body(unknown), path  # the list of layers given does not name it


@pytest.mark.parametrize("path", LISTINGS)
def test_no_public_listing_mentions_complaints(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 200, path
    text = _body(response)
    for secret in SECRETS:
        assert secret not in text, (path, secret)


def test_the_map_page_carries_the_public_layers_only(app):
    html = _body(app.test_client().get("/"))
    config = json.loads(re.search(r'id="scenemap-config">(.*?)</script>', html, re.S).group(1))
    assert [layer["id"] for layer in config["layers"]] == [k.id for k in PUBLIC_KINDS]
    sites = next(layer for layer in config["layers"] if layer["id"] == "sensitive_sites")
    assert sites["context"] and not sites["shown"]  # a context layer, off when the page opens
    assert "/api/layers/sensitive_sites" in html


def test_the_several_layer_download_refuses_complaints_like_an_unknown_layer(app):
    anonymous = app.test_client()
    for layers in ("complaints", "districts,complaints"):
        hidden = anonymous.get(f"/api/download?layers={layers}&format=geojson")
        unknown = anonymous.get(f"/api/download?layers={layers.replace('complaints', 'casinos')}&format=geojson")
        assert hidden.status_code == unknown.status_code == 400
        assert _body(hidden) == _body(unknown) and "complaints" not in _body(hidden)
    assert anonymous.get("/api/download?layers=sensitive_sites&format=geojson").status_code == 200


def test_the_openapi_document_does_not_list_complaints(app):
    doc = app.test_client().get("/ogc/api").get_json(force=True)
    text = json.dumps(doc, ensure_ascii=False)
    assert "sensitive_sites" in text and "complaints" not in text and "cp-001" not in text


def test_sensitive_sites_are_public_but_a_shapefile_of_them_is_refused(app):
    anonymous = app.test_client()
    assert len(anonymous.get("/api/layers/sensitive_sites").get_json(force=True)["features"]) == 24
    assert anonymous.get("/ogc/collections/sensitive_sites/items?limit=30").get_json(force=True)["numberMatched"] == 24
    assert anonymous.get("/api/layers/sensitive_sites/download?format=gpkg").status_code == 200
    refused = anonymous.get("/api/layers/sensitive_sites/download?format=shp")
    assert refused.status_code == 400 and "Shapefile" in _body(refused)
    refused = anonymous.get("/api/download?layers=districts,sensitive_sites&format=shp")
    assert refused.status_code == 400 and "Shapefile" in _body(refused)


def test_a_logged_in_staff_member_still_gets_no_complaints_from_the_public_paths(app):
    staff = login(app.test_client(), "admin")
    assert staff.get("/api/layers/complaints").status_code == 404
    assert "complaints" not in _body(staff.get("/ogc/collections"))


def test_anonymous_users_get_no_complaints_from_the_staff_pages(app):
    anonymous = app.test_client()
    for path in ("/staff/layers/complaints/data", "/staff/layers/complaints/history",
                 "/staff/layers/complaints/edit", "/staff/layers/complaints/import"):
        response = anonymous.get(path)
        assert response.status_code in (302, 401), path
        assert "cp-001" not in _body(response) and "晚上烧烤摊吵闹" not in _body(response)


def test_staff_see_complaints_on_the_staff_pages(app):
    staff = login(app.test_client(), "admin")
    assert "complaints" in _body(staff.get("/staff/"))
    assert staff.get("/staff/layers/complaints/history").status_code == 200
    data = staff.get("/staff/layers/complaints/data")
    assert data.status_code == 200 and data.mimetype == "application/geo+json"
    features = data.get_json(force=True)["features"]
    assert len(features) == 12 and features[0]["id"] == "cp-001" and "晚上烧烤摊吵闹" in features[0]["properties"]["text"]
    page = _body(staff.get("/staff/layers/complaints/edit"))
    assert "/staff/layers/complaints/data" in page and "/api/layers/complaints" not in page
    # an editor without the layer may not change it (the staff pages' usual rule)
    editor = login(app.test_client(), "ed")
    assert editor.get("/staff/layers/complaints/edit").status_code == 403


def test_staff_edit_complaints_in_the_browser_editor(app):
    staff = login(app.test_client(), "admin")
    page = _body(staff.get("/staff/layers/complaints/edit"))
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    served = staff.get("/staff/layers/complaints/data").get_json(force=True)
    served["features"][0]["properties"]["text"] = "已核实：凌晨仍营业"
    saved = staff.post("/staff/layers/complaints/edits", json={"expected_version": 1, "collection": served},
                       headers={"X-CSRFToken": csrf})
    assert saved.status_code == 200 and saved.get_json()["changed"] == 1, _body(saved)
    assert app.extensions["store"].live_versions()["complaints"] == 2
    again = {f["id"]: f for f in staff.get("/staff/layers/complaints/data").get_json(force=True)["features"]}
    assert again["cp-001"]["properties"]["text"] == "已核实：凌晨仍营业" and len(again) == 12
    anonymous = app.test_client()
    assert anonymous.get("/api/layers/complaints").status_code == 404
    assert "已核实" not in _body(anonymous.get("/ogc/collections/complaints/items"))


def test_staff_import_complaints_and_they_stay_off_the_public_paths(app):
    staff = login(app.test_client(), "admin")
    new = point("cp-new", 120.349, 36.089, received="2026-11-20", category="noise", text="新的噪声投诉测试",
                district="市北区", source="survey")
    page = upload(staff, "complaints", feature_collection([new]).encode())
    assert page.status_code == 200, _body(page)[:500]
    html = _body(page)
    published = staff.post("/staff/layers/complaints/publish", data=publish_form(html))
    assert published.status_code in (200, 302), _body(published)[:500]
    assert app.extensions["store"].live_versions()["complaints"] == 2
    ids = [f["id"] for f in staff.get("/staff/layers/complaints/data").get_json(force=True)["features"]]
    assert "cp-new" in ids and len(ids) == 13  # appended
    anonymous = app.test_client()
    for path in ("/", "/api/layers", "/ogc/collections", "/ogc/collections/complaints/items",
                 "/api/layers/complaints", "/ogc/api"):
        assert "新的噪声投诉测试" not in _body(anonymous.get(path)) and "cp-new" not in _body(anonymous.get(path))
    assert token(staff, "/staff/layers/complaints/history")
