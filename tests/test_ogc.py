"""/ogc: OGC API - Features core behaviour through the test client."""

import html
import json
import re

import numpy as np
import pytest
import shapely
from markupsafe import escape

from layers.query import MAX_LIMIT
from webmap.mapshell import PREVIEW_VERTEX_BUDGET
from webmap.ogc import HTML_PAGE_LIMIT


def items(client, collection, **params):
    response = client.get(f"/ogc/collections/{collection}/items", query_string=params)
    assert response.status_code == 200, response.data
    return response.get_json(force=True)


def test_landing_conformance_collections(client):
    landing = client.get("/ogc/").get_json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    collections = client.get("/ogc/collections").get_json()["collections"]
    assert [c["id"] for c in collections] == ["districts", "commercial_districts", "night_economy_zones",
                                              "pedestrian_streets", "outdoor_dining_pilots", "hq_clusters",
                                              "sensitive_sites"]  # complaints are staff only
    hq = next(c for c in collections if c["id"] == "hq_clusters")
    minx, miny, maxx, maxy = hq["extent"]["spatial"]["bbox"][0]
    assert 120 < minx < maxx < 121 and 35.5 < miny < maxy < 36.5
    assert {link["rel"] for link in hq["links"]} >= {"items", "enclosure", "self"}


def test_paging_returns_every_feature_exactly_once(client):
    seen, offset = [], 0
    while True:
        page = items(client, "outdoor_dining_pilots", limit=4, offset=offset)
        assert page["numberMatched"] == 13 and page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        nxt = [link for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        assert "offset=" in nxt[0]["href"] and "limit=4" in nxt[0]["href"]
        offset += 4
    assert len(seen) == 13 and len(set(seen)) == 13
    assert any(link["rel"] == "prev" for link in page["links"])


def test_bbox_equals_a_shapely_intersection(client, app):
    live = app.extensions["catalog"].get("commercial_districts")
    box = (120.30, 36.05, 120.36, 36.10)
    expected = {live.layer.ids[i] for i, g in enumerate(live.layer.geometries) if shapely.intersects(g, shapely.box(*box))}
    got = {f["id"] for f in items(client, "commercial_districts", bbox=",".join(map(str, box)))["features"]}
    assert got == expected and len(got) == 2


def test_equality_filters(client):
    zones = items(client, "night_economy_zones", district="市南区")["features"]
    assert zones and all(f["properties"]["district"] == "市南区" for f in zones)
    pilots = items(client, "night_economy_zones", is_24h_pilot="true")["features"]
    assert [f["id"] for f in pilots] == ["ne-sailing-center"]
    both = items(client, "outdoor_dining_pilots", district="市南区", venue_type="bar", capacity="50")
    assert [f["id"] for f in both["features"]] == ["od-sailing-bar"]
    assert items(client, "outdoor_dining_pilots", district="莱西市")["numberMatched"] == 0


def test_limit_default_and_clamp(client, data_copy):
    assert len(items(client, "outdoor_dining_pilots")["features"]) == 13
    assert items(client, "outdoor_dining_pilots", limit=MAX_LIMIT * 10)["numberReturned"] == 13


@pytest.mark.parametrize("params, expected", [
    ({"bbox": "1,2,3"}, "bbox needs 4 numbers"),
    ({"bbox": "120.3,36.1,120.5,36"}, "minimum latitude is greater"),
    ({"bbox": "120,nan,121,37"}, "finite"),
    ({"bbox": "120,36,121,95"}, "out of range"),
    ({"bbox": "a,b,c,d"}, "numbers separated by commas"),
    ({"limit": "0"}, "limit must be at least 1"),
    ({"limit": "ten"}, "limit must be a whole number"),
    ({"offset": "-1"}, "offset must be at least 0"),
    ({"status": "open"}, "'open' is not one of"),
    ({"district": "朝阳区"}, "not one of Qingdao's districts"),
    ({"is_24h_pilot": "maybe"}, "true or false"),
    ({"colour": "red"}, "unknown parameter 'colour'"),
    ({"f": "xml"}, "f='xml' is not offered"),
])
def test_bad_parameters_are_400_with_an_ogc_exception(client, params, expected):
    response = client.get("/ogc/collections/night_economy_zones/items", query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "InvalidParameterValue" and expected in body["description"]


def test_unknown_collections_and_items_are_404(client):
    assert client.get("/ogc/collections/casinos").status_code == 404
    assert client.get("/ogc/collections/casinos/items").get_json()["code"] == "NotFound"
    assert client.get("/ogc/collections/hq_clusters/items/nope").status_code == 404
    page = client.get("/ogc/collections/hq_clusters/items/nope?f=html")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_one_feature(client):
    feature = json.loads(client.get("/ogc/collections/hq_clusters/items/hq-jinjialing").data)
    assert feature["type"] == "Feature" and feature["properties"]["name"] == "金家岭总部集聚区"
    assert {link["rel"] for link in feature["links"]} >= {"self", "collection"}


def test_content_negotiation(client):
    assert client.get("/ogc/collections", headers={"Accept": "text/html"}).mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "application/json"}).mimetype == "application/json"
    assert client.get("/ogc/collections").mimetype == "application/json"
    assert client.get("/ogc/collections/hq_clusters/items", headers={"Accept": "text/html"}).mimetype == "text/html"
    assert client.get("/ogc/collections?f=json", headers={"Accept": "text/html"}).mimetype == "application/json"


HTML_PAGES = ["/ogc/?f=html", "/ogc/conformance?f=html", "/ogc/collections?f=html", "/ogc/api?f=html",
              "/ogc/collections/pedestrian_streets?f=html", "/ogc/collections/pedestrian_streets/queryables?f=html",
              "/ogc/collections/pedestrian_streets/schema?f=html", "/ogc/collections/pedestrian_streets/styles?f=html",
              "/ogc/collections/pedestrian_streets/items?f=html&limit=2", "/ogc/crs/gcj02?f=html",
              "/ogc/collections/outdoor_dining_pilots/items/od-licun?f=html"]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_are_bilingual_and_local(client, path):
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "数据集 Collections" in html
    assert "cdn." not in html and "unpkg" not in html


def test_items_html_shows_a_table_and_a_map(client):
    html = client.get("/ogc/collections/pedestrian_streets/items?f=html").get_data(as_text=True)
    assert "台东三路步行街" in html and "folium-map" in html and "Taidong Pedestrian Street" in html


def test_html_escapes_property_text(data_copy):
    from webmap import create_app

    from .conftest import feature_collection, point

    (data_copy / "outdoor_dining_pilots.geojson").write_text(
        feature_collection([point("x", 120.38, 36.07, name="<script>alert(1)</script>")]), "utf-8")
    client = create_app({"TESTING": True, "DATA_DIR": str(data_copy)}).test_client()
    for path in ("/ogc/collections/outdoor_dining_pilots/items?f=html",
                 "/ogc/collections/outdoor_dining_pilots/items/x?f=html"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_queryables_list_the_declared_fields(client):
    doc = client.get("/ogc/collections/outdoor_dining_pilots/queryables").get_json(force=True)
    assert doc["properties"]["venue_type"]["enum"] == ["bar", "cafe", "light_dining", "mixed"]
    assert doc["properties"]["capacity"]["type"] == "integer"
    assert "district" in doc["properties"] and "geometry" in doc["properties"]


def test_openapi_document_describes_every_collection(client):
    doc = client.get("/ogc/api").get_json(force=True)
    assert doc["openapi"].startswith("3.0")
    for cid in ("districts", "hq_clusters", "outdoor_dining_pilots"):
        assert f"/collections/{cid}/items" in doc["paths"]
    params = {p["name"] for p in resolved(doc, doc["paths"]["/collections/outdoor_dining_pilots/items"]["get"]["parameters"])}
    assert {"bbox", "bbox-crs", "crs", "limit", "offset", "f", "district", "venue_type", "capacity"} <= params


def resolved(doc: dict, parameters: list[dict]) -> list[dict]:
    """Parameters with their local $refs (#/components/parameters/...) resolved."""
    return [doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in parameters]


# -- large layers, odd ids and limits: a layer published straight into the app's store ----------------------

@pytest.fixture
def publish(tmp_path):
    """publish(layer_id, ids, geometries, **config) -> a test client of an app whose live version of that
    layer is exactly those features (properties copied from the layer's first feature)."""
    from layers.load import Layer
    from webmap import create_app

    def _publish(layer_id, ids, geometries, **config):
        app = create_app({"TESTING": True, "BASEMAP": "none", "CATALOG_REFRESH_SECONDS": 0,
                          "EXPORT_CACHE_DIR": str(tmp_path / "exports"), **config})
        live = app.extensions["catalog"].get(layer_id)
        props = [dict(live.layer.properties[0], name=f"要素 {i}") for i in range(len(ids))]
        app.extensions["store"].publish(Layer(live.kind, list(ids), props, np.asarray(geometries, dtype=object)),
                                        author="test")
        return app.test_client()

    return _publish


def circle(n: int, lon=120.38, lat=36.07, r=0.01):
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return shapely.Polygon(np.column_stack([lon + r * np.cos(angles), lat + r * np.sin(angles)]))


def drawn(html: str) -> list:
    """The geometries the page's preview map draws (folium's GeoJson data in the page's script)."""
    found = []
    for match in re.finditer(r"geo_json_[0-9a-f]+_add\(", html):
        data, _ = json.JSONDecoder().raw_decode(html, match.end())
        found += [shapely.from_geojson(json.dumps(f["geometry"])) for f in data["features"]]
    return found


def test_the_preview_of_a_huge_polygon_is_simplified_and_the_json_stays_exact(publish):
    big = circle(100_000)
    client = publish("commercial_districts", ["big", "small"], [big, circle(40, lon=120.42, r=0.002)])
    for path in ("/ogc/collections/commercial_districts/items?f=html",
                 "/ogc/collections/commercial_districts/items/big?f=html"):
        html = client.get(path).get_data(as_text=True)
        shapes = drawn(html)
        assert shapes and shapely.get_num_coordinates(shapes).sum() <= PREVIEW_VERTEX_BUDGET
        assert abs(shapes[0].area - big.area) / big.area < 0.01 and shapes[0].is_valid
        assert "The map is drawn simplified" in html
    feature = json.loads(client.get("/ogc/collections/commercial_districts/items/big").data)
    exact = np.round(shapely.get_coordinates(big), 7)
    assert feature["geometry"]["type"] == "MultiPolygon"  # the kind's one type: a polygon is served as one part
    assert np.array_equal(np.asarray(feature["geometry"]["coordinates"][0][0]), exact)
    page = client.get("/ogc/collections/commercial_districts/items?f=json").get_json(force=True)
    assert len(page["features"][0]["geometry"]["coordinates"][0][0]) == 100_001
    small = client.get("/ogc/collections/commercial_districts/items/small?f=html").get_data(as_text=True)
    assert shapely.get_num_coordinates(drawn(small)).sum() == 41 and "drawn simplified" not in small


@pytest.mark.parametrize("geoms", [
    [shapely.Polygon(circle(8, r=0.2).exterior, [circle(4, lon=120.2 + i % 40 / 100, lat=35.9 + i // 40 / 100,
                                                        r=0.001).exterior for i in range(2000)])],
    list(shapely.points(np.column_stack([np.linspace(120.1, 120.6, 20_000), np.full(20_000, 36.1)]))),
], ids=["holes", "points"])
def test_previews_stay_within_the_budget_whatever_the_geometry(geoms):
    from webmap.mapshell import fit_vertices

    fitted = fit_vertices(np.asarray(geoms, dtype=object))
    assert 0 < shapely.get_num_coordinates(fitted).sum() <= PREVIEW_VERTEX_BUDGET and shapely.is_valid(fitted).all()


def test_html_pages_list_at_most_a_hundred_features(publish):
    points = shapely.points(np.column_stack([np.linspace(120.30, 120.45, 250), np.full(250, 36.08)]))
    client = publish("outdoor_dining_pilots", [f"p{i}" for i in range(250)], points)
    html = client.get("/ogc/collections/outdoor_dining_pilots/items?f=html&limit=1000").get_data(as_text=True)
    assert html.count('<tr><td><a href="') == HTML_PAGE_LIMIT == 100
    assert "at most 100 features" in html and "最多列出 100 个要素" in html
    nxt = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    assert "limit=100" in nxt and "offset=100" in nxt
    assert client.get(nxt).get_data(as_text=True).count('<tr><td><a href="') == 100
    page = client.get("/ogc/collections/outdoor_dining_pilots/items?limit=1000").get_json(force=True)
    assert page["numberReturned"] == 250  # JSON pages are not capped


def test_html_pages_are_rate_limited_and_json_is_not(publish):
    client = publish("hq_clusters", ["a"], [circle(10)], HTML_RATE_LIMIT="2 per minute")
    for path in ("/ogc/collections/hq_clusters/items?f=html", "/ogc/collections/hq_clusters/items/a?f=html"):
        assert client.get(path).status_code == 200
    refused = client.get("/ogc/collections/hq_clusters/items", headers={"Accept": "text/html"})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    text = refused.get_data(as_text=True)
    assert "网页请求太频繁" in text and "Too many HTML pages" in text and "Traceback" not in text
    assert client.get("/ogc/collections/hq_clusters/items/a").status_code == 200
    assert client.get("/ogc/collections/hq_clusters/items?f=json").status_code == 200


ODD_IDS = ["a/b", "a/b/c", "ends/", "/leading", "two//slashes", "...", "a.b/..c", "q?x=1", "h#1", "50%", "%2F", "with space", "中文编号", "x&y=z", "+plus",
           "semi;colon", "quote'\"", "plain"]


def test_every_item_link_reaches_its_feature_whatever_its_id(publish):
    points = shapely.points(np.column_stack([np.linspace(120.30, 120.45, len(ODD_IDS)), np.full(len(ODD_IDS), 36.08)]))
    client = publish("outdoor_dining_pilots", ODD_IDS, points)
    table = client.get("/ogc/collections/outdoor_dining_pilots/items?f=html").get_data(as_text=True)
    hrefs = [html.unescape(h) for h in re.findall(r'<tr><td><a href="([^"]+)">', table)]
    assert len(hrefs) == len(ODD_IDS)
    for fid, href in zip(ODD_IDS, hrefs):
        page = client.get(href)
        assert page.status_code == 200, (fid, href)
        text = page.get_data(as_text=True)
        assert f"<code>{escape(fid)}</code>" in text
        links = [html.unescape(h) for h in re.findall(r'<li><a href="([^"]+)" type="application/geo\+json">', text)]
        assert links
        for link in links:
            feature = json.loads(client.get(link).data)
            assert feature["id"] == fid, (fid, link)
            for item_link in feature["links"]:
                answer = client.get(item_link["href"])
                assert answer.status_code == 200, (fid, item_link)
                if item_link["rel"] == "collection":
                    assert answer.get_json()["id"] == "outdoor_dining_pilots"
                elif item_link["type"] == "text/html":
                    assert f"<code>{escape(fid)}</code>" in answer.get_data(as_text=True)
                else:
                    assert json.loads(answer.data)["id"] == fid


# -- Part 1 gaps: service-doc, trailing slashes, the official parameter schemas, ETag/gzip, CORS ----------------

def test_the_landing_page_links_a_readable_api_page_that_lists_every_operation(client):
    links = {link["rel"]: link for link in client.get("/ogc/").get_json()["links"]}
    assert links["service-doc"]["type"] == "text/html" and links["service-desc"]["type"].startswith(
        "application/vnd.oai.openapi+json")
    page = client.get(links["service-doc"]["href"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = html.unescape(page.get_data(as_text=True))
    doc = client.get("/ogc/api").get_json(force=True)
    for path in doc["paths"]:
        assert f"GET {path}" in text
    assert "bbox-crs" in text and "limit" in text and "Maximum = 10000" in text
    assert "<script" not in text  # rendered on the server: nothing runs, nothing comes from elsewhere
    assert client.get("/ogc/api", headers={"Accept": "text/html"}).mimetype == "text/html"
    assert client.get("/ogc/api").mimetype == "application/vnd.oai.openapi+json"


@pytest.mark.parametrize("path", ["/ogc/collections/", "/ogc/collections/hq_clusters/", "/ogc/conformance/",
                                  "/ogc/collections/hq_clusters/items/", "/ogc/collections/hq_clusters/schema/",
                                  "/ogc/collections/hq_clusters/queryables/", "/ogc/api/"])
def test_a_trailing_slash_gets_the_same_document(client, path):
    with_slash, without = client.get(path, follow_redirects=True), client.get(path.rstrip("/"))
    assert with_slash.status_code == 200 and with_slash.mimetype == without.mimetype
    strip = lambda r: re.sub(rb'"timeStamp":"[^"]+"', b"", r.get_data())  # noqa: E731
    assert strip(with_slash) == strip(without)


def test_items_with_a_trailing_slash_are_sent_on_with_their_query(client):
    response = client.get("/ogc/collections/hq_clusters/items/?limit=2&f=json")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/ogc/collections/hq_clusters/items?limit=2&f=json")


def test_bbox_and_limit_have_the_official_schemas(client):
    doc = client.get("/ogc/api").get_json(force=True)
    params = doc["components"]["parameters"]
    # as in opengeospatial/ogcapi-features core/openapi/parameters/bbox.yaml and limit.yaml
    assert params["bbox"]["schema"] == {"type": "array", "oneOf": [{"minItems": 4, "maxItems": 4},
                                                                   {"minItems": 6, "maxItems": 6}],
                                        "items": {"type": "number"}}
    assert params["bbox"]["style"] == "form" and params["bbox"]["explode"] is False
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}
    for path, item in doc["paths"].items():
        if path.endswith("/items"):
            refs = [p.get("$ref") for p in item["get"]["parameters"]]
            assert "#/components/parameters/bbox" in refs and "#/components/parameters/limit" in refs


@pytest.mark.parametrize("path", ["/ogc/collections", "/ogc/collections/hq_clusters/items?limit=3",
                                  "/ogc/collections/hq_clusters/items/hq-jinjialing", "/ogc/api",
                                  "/ogc/collections/hq_clusters/schema",
                                  "/ogc/collections/hq_clusters/styles/default?f=qml"])
def test_json_answers_carry_an_etag_and_304_when_it_matches(client, path):
    first = client.get(path)
    tag = first.headers["ETag"]
    assert first.status_code == 200 and "Accept" in first.headers["Vary"]
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and not again.data and again.headers["ETag"] == tag
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["ETag"] != tag  # another representation, another tag


def test_items_answers_are_gzipped_when_accepted_and_304_skips_building_them(app, client, monkeypatch):
    import gzip

    plain = client.get("/ogc/collections/districts/items")
    zipped = client.get("/ogc/collections/districts/items", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    strip = lambda b: re.sub(rb'"timeStamp":"[^"]+"', b"", b)  # noqa: E731
    assert strip(gzip.decompress(zipped.data)) == strip(plain.data) and len(zipped.data) < len(plain.data) / 2
    assert plain.headers["ETag"].startswith('W/"')  # weak: the timeStamp changes, the features do not
    live = app.extensions["catalog"].get("districts")
    monkeypatch.setattr(type(live), "index", property(lambda self: pytest.fail("the page was built")))
    assert client.get("/ogc/collections/districts/items",
                      headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


def test_html_pages_carry_no_etag(client):
    # each page has a CSP nonce of its own: a 304 would pair an old page with a new nonce
    for path in HTML_PAGES:
        assert "ETag" not in client.get(path).headers, path


def test_a_new_version_of_a_layer_changes_the_etag(publish):
    client = publish("hq_clusters", ["a"], [circle(10)])
    before = client.get("/ogc/collections/hq_clusters/items").headers["ETag"]
    client2 = publish("hq_clusters", ["a"], [circle(11)])
    assert client2.get("/ogc/collections/hq_clusters/items", headers={"If-None-Match": before}).status_code == 200


@pytest.mark.parametrize("path", ["/ogc/", "/ogc/collections", "/ogc/collections/hq_clusters/items",
                                  "/ogc/collections/nope", "/api/layers", "/api/layers/hq_clusters"])
def test_any_origin_may_read_the_public_data(client, path):
    response = client.get(path, headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options(path, headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET",
                                              "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.status_code in (200, 204) if response.status_code != 404 else True
    if response.status_code != 404:
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
        assert "POST" not in preflight.headers["Access-Control-Allow-Methods"]
        assert "if-none-match" in preflight.headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("path", ["/staff/login", "/staff/", "/", "/api-not-ours"])
def test_no_cross_origin_access_elsewhere(client, path):
    response = client.get(path, headers={"Origin": "https://example.org"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(path, headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_preflight_for_a_write_is_not_approved(client):
    preflight = client.options("/ogc/collections", headers={"Origin": "https://example.org",
                                                            "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_keep_the_content_security_policy(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    for attrs in re.findall(r"<script( [^>]*)?>", response.get_data(as_text=True)):
        attrs = attrs or ""
        assert "src=" in attrs or f'nonce="{nonce}"' in attrs or "application/json" in attrs or "folium" in attrs \
            or attrs == "", attrs
    assert "http://" not in re.sub(r'href="http://localhost[^"]*"', "", response.get_data(as_text=True)).split(
        "<body", 1)[0]  # nothing loaded from elsewhere


# -- Part 2: coordinate systems by reference ----------------------------------------------------------------

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: 五四广场 May Fourth Square, Qingdao
SQUARE = (120.3845, 36.0614)


@pytest.fixture
def square(publish):
    """An app whose outdoor-dining layer is one point on May Fourth Square."""
    return publish("outdoor_dining_pilots", ["square"], [shapely.Point(*SQUARE)])


def expected_position(uri: str) -> list[float]:
    """The square's coordinates in ``uri``, computed by pyproj (authority axis order) or layers.coords."""
    from pyproj import Transformer

    from layers import coords

    if uri == CRS84:
        return list(SQUARE)
    if uri.endswith("/ogc/crs/gcj02"):
        lon, lat = coords.wgs84_to_gcj02(*SQUARE)
        return [round(float(lon), 7), round(float(lat), 7)]
    code = int(uri.rsplit("/", 1)[1])
    # without always_xy pyproj writes the target's authority order: 4326/4490 lat,lon; 4549 northing,easting
    a, b = Transformer.from_crs("EPSG:4326", f"EPSG:{code}").transform(SQUARE[1], SQUARE[0])
    digits = 7 if code in (4326, 4490) else 2
    return [round(a, digits), round(b, digits)]


def test_collections_list_their_coordinate_systems(client):
    collection = client.get("/ogc/collections/hq_clusters").get_json()
    assert collection["storageCrs"] == CRS84 and collection["crs"][0] == CRS84
    assert set(collection["crs"]) >= {CRS84, EPSG + "4326", EPSG + "4490", EPSG + "4549", EPSG + "3857"}
    gcj = [c for c in collection["crs"] if "gcj02" in c]
    assert gcj == ["http://localhost/ogc/crs/gcj02"] and "opengis.net" not in gcj[0]  # never dressed as EPSG
    about = client.get(gcj[0]).get_json()
    assert about["epsg"] is None and "not a geodetic CRS" in about["description"] and "火星坐标" in about["description"]
    conformance = client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance


@pytest.mark.parametrize("uri", [CRS84, EPSG + "4326", EPSG + "4490", EPSG + "4549", EPSG + "3857",
                                 "http://localhost/ogc/crs/gcj02"])
def test_coordinates_in_each_crs_agree_with_pyproj(square, uri):
    page = square.get("/ogc/collections/outdoor_dining_pilots/items", query_string={"crs": uri})
    assert page.status_code == 200 and page.headers["Content-Crs"] == f"<{uri}>"
    position = json.loads(page.data)["features"][0]["geometry"]["coordinates"]
    assert position == pytest.approx(expected_position(uri), abs=1e-9)
    one = square.get("/ogc/collections/outdoor_dining_pilots/items/square", query_string={"crs": uri})
    assert one.headers["Content-Crs"] == f"<{uri}>"
    assert json.loads(one.data)["geometry"]["coordinates"] == position


def test_axis_order_and_rounding_per_crs(square):
    get = lambda uri: json.loads(square.get("/ogc/collections/outdoor_dining_pilots/items",  # noqa: E731
                                            query_string={"crs": uri}).data)["features"][0]["geometry"]["coordinates"]
    assert get(EPSG + "4326") == [36.0614, 120.3845]  # latitude first, as EPSG defines it
    northing, easting = get(EPSG + "4549")
    assert 3_990_000 < northing < 3_995_000 and 530_000 < easting < 540_000  # X north, Y east (CM 120E)
    assert northing == round(northing, 2) and easting == round(easting, 2)
    x, y = get(EPSG + "3857")
    assert 13_000_000 < x < 14_000_000 and 4_000_000 < y < 5_000_000


def test_items_without_crs_say_crs84(client):
    assert client.get("/ogc/collections/hq_clusters/items").headers["Content-Crs"] == f"<{CRS84}>"


@pytest.mark.parametrize("name", ["crs", "bbox-crs"])
def test_a_crs_not_offered_is_a_400_that_lists_the_offered(client, name):
    response = client.get("/ogc/collections/hq_clusters/items",
                          query_string={name: EPSG + "4214", "bbox": "120,36,121,37"})
    assert response.status_code == 400 and EPSG + "4549" in response.get_json()["description"]
    assert client.get("/ogc/collections/hq_clusters/items/hq-jinjialing",
                      query_string={"crs": "EPSG:4326"}).status_code == 400


@pytest.mark.parametrize("uri, near, far", [
    (EPSG + "4326", "36.06,120.38,36.07,120.39", "36.06,120.40,36.07,120.41"),
    (EPSG + "4490", "36.06,120.38,36.07,120.39", "36.06,120.40,36.07,120.41"),
    (EPSG + "4549", "3992000,534000,3993000,535000", "3992000,536000,3993000,537000"),
    (EPSG + "3857", "13400800,4308800,13401400,4309400", "13402000,4308800,13402600,4309400"),
    ("http://localhost/ogc/crs/gcj02", "120.388,36.06,120.391,36.063", "120.383,36.06,120.386,36.063"),
    (CRS84, "120.38,36.06,120.39,36.07", "120.40,36.06,120.41,36.07"),
])
def test_bbox_crs(square, uri, near, far):
    def matched(bbox):
        page = square.get("/ogc/collections/outdoor_dining_pilots/items", query_string={"bbox": bbox, "bbox-crs": uri})
        assert page.status_code == 200, page.data
        return json.loads(page.data)["numberMatched"]

    assert matched(near) == 1 and matched(far) == 0
    # the next links carry crs and bbox-crs as given
    page = square.get("/ogc/collections/outdoor_dining_pilots/items",
                      query_string={"bbox": near, "bbox-crs": uri, "crs": uri, "limit": 1})
    self_link = next(l for l in json.loads(page.data)["links"] if l["rel"] == "self")["href"]
    assert "bbox-crs=" in self_link and "crs=" in self_link.replace("bbox-crs=", "")


def test_the_gcj02_offset_is_hundreds_of_metres_and_never_applied_by_default(square):
    wgs = json.loads(square.get("/ogc/collections/outdoor_dining_pilots/items").data)
    gcj = json.loads(square.get("/ogc/collections/outdoor_dining_pilots/items",
                                query_string={"crs": "http://localhost/ogc/crs/gcj02"}).data)
    (lon0, lat0), (lon1, lat1) = wgs["features"][0]["geometry"]["coordinates"], gcj["features"][0]["geometry"]["coordinates"]
    metres = np.hypot((lon1 - lon0) * 90_000, (lat1 - lat0) * 111_000)
    assert 200 < metres < 800


@pytest.mark.parametrize("bbox", ["1e300,1e300,2e300,2e300", "-5e12,-5e12,5e12,5e12", "0,0,1,1,2", "a,b,c,d"])
def test_odd_projected_bboxes_are_400_not_500(client, bbox):
    response = client.get("/ogc/collections/hq_clusters/items", query_string={"bbox": bbox, "bbox-crs": EPSG + "4549"})
    assert response.status_code in (200, 400), response.data


def test_encodings_per_crs_are_bounded(app):
    from layers.catalog import KEPT_ENCODINGS
    from layers.crs import SYSTEMS

    live = app.extensions["catalog"].get("hq_clusters")
    for key in SYSTEMS:
        live.encoding(key)
    assert "wgs84" in live.encoded and len(live.encoded) == 1 + KEPT_ENCODINGS
    assert list(live.encoded)[-1] == list(SYSTEMS)[-1]  # the most recently used are the ones kept


# -- Part 5: the collection's schema ------------------------------------------------------------------------

@pytest.mark.parametrize("layer_id, geometry", [("districts", "multipolygon"), ("outdoor_dining_pilots", "point"),
                                                ("pedestrian_streets", "multilinestring")])
def test_each_collection_links_its_schema(client, layer_id, geometry):
    import jsonschema_rs

    links = client.get(f"/ogc/collections/{layer_id}").get_json()["links"]
    described = [l for l in links if l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/schema"
                 and l["type"] == "application/schema+json"]
    assert len(described) == 1
    response = client.get(described[0]["href"])
    assert response.mimetype == "application/schema+json"
    schema = response.get_json(force=True)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema" and schema["type"] == "object"
    assert schema["$id"] == described[0]["href"] and "?" not in schema["$id"]
    jsonschema_rs.meta.validate(schema)
    props = schema["properties"]
    assert props["id"]["x-ogc-role"] == "id"
    assert props["geometry"] == {"title": "几何 Geometry", "format": f"geometry-{geometry}",
                                 "x-ogc-role": "primary-geometry", "x-ogc-propertySeq": 2}
    assert all("type" in p for name, p in props.items() if name != "geometry")
    assert {"id", "geometry", "name", "source"} <= set(schema["required"])


@pytest.mark.parametrize("layer_id", ["districts", "night_economy_zones"])
def test_each_collection_is_described_by_a_geojson_feature_schema_gdal_reads(client, layer_id):
    """GDAL's OAPIF driver types columns from a "describedBy" JSON Schema shaped as a GeoJSON Feature (and
    ignores Part 5's flat schema): the same fields, each with one type."""
    import jsonschema_rs

    from layers.registry import get

    links = client.get(f"/ogc/collections/{layer_id}").get_json()["links"]
    described = [l for l in links if l["rel"] == "describedBy"]
    assert [l["type"] for l in described] == ["application/schema+json"]
    schema = client.get(described[0]["href"]).get_json(force=True)
    jsonschema_rs.meta.validate(schema)
    fields = schema["properties"]["properties"]["properties"]
    kind = get(layer_id)
    assert list(fields) == [f.name for f in kind.fields]
    assert all(isinstance(p["type"], str) for p in fields.values())
    feature = client.get(f"/ogc/collections/{layer_id}/items?limit=1").get_json()["features"][0]
    assert None in feature["properties"].values() or layer_id == "districts"  # no value: written as null
    # one type per field (GDAL reads ["integer","null"] as text): null stands for "no value", as the schema says
    assert "null" in schema["description"]
    feature["properties"] = {k: v for k, v in feature["properties"].items() if v is not None}
    jsonschema_rs.validate(schema, feature)


def test_the_schema_has_every_declared_field_with_its_type_choices_range_and_title(client):
    from layers.registry import get

    schema = client.get("/ogc/collections/outdoor_dining_pilots/schema").get_json(force=True)
    kind = get("outdoor_dining_pilots")
    assert list(schema["properties"])[2:] == [f.name for f in kind.fields]
    props = schema["properties"]
    assert props["capacity"]["type"] == "integer" and props["capacity"]["maximum"] == 10000
    assert props["area_m2"]["type"] == "number" and props["area_m2"]["minimum"] == 0
    assert props["venue_type"]["enum"] == ["bar", "cafe", "light_dining", "mixed"]
    assert props["district"]["enum"][0].endswith("区") and props["name"]["title"] == "名称 Name"
    assert props["designation_year"] == {"type": "integer", "minimum": 1990, "maximum": 2100,
                                         "title": "认定年份 Year designated", "x-ogc-propertySeq": 8}
    night = client.get("/ogc/collections/night_economy_zones/schema").get_json(force=True)
    assert night["properties"]["is_24h_pilot"]["type"] == "boolean"


@pytest.mark.parametrize("layer_id", ["districts", "night_economy_zones", "pedestrian_streets", "outdoor_dining_pilots"])
def test_every_feature_fits_its_collections_schema(client, layer_id):
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(client.get(f"/ogc/collections/{layer_id}/schema").get_json(force=True))
    for feature in items(client, layer_id, limit=1000)["features"]:
        # the schema describes the logical values: a property absent or null in GeoJSON has no value
        flat = {"id": feature["id"], "geometry": feature["geometry"],
                **{k: v for k, v in feature["properties"].items() if v is not None}}
        validator.validate(flat)


def test_the_schema_page_lists_the_fields_with_their_labels(client):
    text = client.get("/ogc/collections/night_economy_zones/schema?f=html").get_data(as_text=True)
    assert "is_24h_pilot" in text and "24小时营业区试点" in text and "primary-geometry" in text
    assert "运营中" in text and "geometry-multipolygon" in text


# -- styles: SLD 1.0 and QGIS QML ---------------------------------------------------------------------------

SLD_NS = {"sld": "http://www.opengis.net/sld", "ogc": "http://www.opengis.net/ogc"}


def parse_xml(data: bytes):
    from defusedxml import ElementTree as SafeET

    return SafeET.fromstring(data)


@pytest.mark.parametrize("layer_id", ["districts", "night_economy_zones", "pedestrian_streets",
                                      "outdoor_dining_pilots", "hq_clusters", "commercial_districts"])
def test_each_collection_links_its_style_as_sld_and_qml(client, layer_id):
    links = client.get(f"/ogc/collections/{layer_id}").get_json()["links"]
    sheets = {l["type"]: l["href"] for l in links if l["rel"] == "stylesheet"}
    assert set(sheets) == {"application/vnd.ogc.sld+xml;version=1.0", "application/vnd.qgis.qml"}
    styles_link = next(l for l in links if l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/styles")
    listed = client.get(styles_link["href"]).get_json()
    assert listed["default"] == "default" and {l["href"] for l in listed["styles"][0]["links"]} == set(sheets.values())
    for media, href in sheets.items():
        response = client.get(href)
        assert response.status_code == 200 and response.mimetype == media.split(";")[0]
        assert parse_xml(response.data) is not None  # well-formed
    # the Accept header chooses too
    assert client.get(f"/ogc/collections/{layer_id}/styles/default",
                      headers={"Accept": "application/vnd.qgis.qml"}).mimetype == "application/vnd.qgis.qml"
    assert client.get(f"/ogc/collections/{layer_id}/styles/default").mimetype == "application/vnd.ogc.sld+xml"
    assert client.get(f"/ogc/collections/{layer_id}/styles/default?f=svg").status_code == 400
    assert client.get(f"/ogc/collections/{layer_id}/styles/other").status_code == 404


def _opacity(value) -> int:
    return round(255 * float(value))


def test_the_sld_has_each_rule_with_its_filter_and_the_registrys_colours(client):
    from layers.registry import get

    kind = get("night_economy_zones")
    root = parse_xml(client.get("/ogc/collections/night_economy_zones/styles/default?f=sld10").data)
    assert root.tag == "{http://www.opengis.net/sld}StyledLayerDescriptor" and root.get("version") == "1.0.0"
    assert root.find("sld:NamedLayer/sld:Name", SLD_NS).text == "night_economy_zones"
    rules = root.findall(".//sld:Rule", SLD_NS)
    assert len(rules) == len(kind.rules) + 1
    pilot, other = rules
    equal = pilot.find("ogc:Filter/ogc:PropertyIsEqualTo", SLD_NS)
    assert equal.find("ogc:PropertyName", SLD_NS).text == "is_24h_pilot" and equal.find("ogc:Literal", SLD_NS).text == "true"
    assert pilot.find("sld:Title", SLD_NS).text == "24小时营业区试点 24-hour pilot"
    # every other feature: not a 24-hour pilot, or the flag is empty (an ElseFilter is read by QGIS as "all")
    either = other.find("ogc:Filter/ogc:Or", SLD_NS)
    assert either.find("ogc:Not/ogc:PropertyIsEqualTo/ogc:Literal", SLD_NS).text == "true"
    assert either.find("ogc:PropertyIsNull/ogc:PropertyName", SLD_NS).text == "is_24h_pilot"

    def css(rule, part):
        return {p.get("name"): p.text for p in rule.findall(f"sld:PolygonSymbolizer/sld:{part}/sld:CssParameter", SLD_NS)}

    assert css(pilot, "Fill") == {"fill": "#ff7b00", "fill-opacity": "0.45"}
    assert css(pilot, "Stroke") == {"stroke": "#d00000", "stroke-width": "4", "stroke-opacity": "1",
                                    "stroke-dasharray": "8 4"}
    assert css(other, "Fill") == {"fill": kind.style["fillColor"], "fill-opacity": "0.35"}
    assert css(other, "Stroke")["stroke"] == kind.style["color"]
    # lines and points
    lines = parse_xml(client.get("/ogc/collections/pedestrian_streets/styles/default?f=sld10").data)
    weekend = lines.findall(".//sld:Rule", SLD_NS)[0]
    assert {p.get("name"): p.text for p in weekend.findall("sld:LineSymbolizer/sld:Stroke/sld:CssParameter", SLD_NS)} \
        == {"stroke": "#0a9396", "stroke-width": "6", "stroke-opacity": "0.9", "stroke-dasharray": "10 6"}
    points = parse_xml(client.get("/ogc/collections/outdoor_dining_pilots/styles/default?f=sld10").data)
    mark = points.find(".//sld:PointSymbolizer/sld:Graphic", SLD_NS)
    assert mark.find("sld:Mark/sld:WellKnownName", SLD_NS).text == "circle" and mark.find("sld:Size", SLD_NS).text == "14"
    assert points.find(".//sld:Rule/ogc:Filter", SLD_NS) is None  # one rule: every feature


def test_the_qml_is_a_rule_based_renderer_with_the_maps_colours_and_labels(client):
    root = parse_xml(client.get("/ogc/collections/pedestrian_streets/styles/default?f=qml").data)
    assert root.tag == "qgis" and root.find("renderer-v2").get("type") == "RuleRenderer"
    rules = root.findall("renderer-v2/rules/rule")
    assert [r.get("filter") for r in rules] == ['"weekend_block" = true', "ELSE"]
    assert rules[0].get("label") == "周末分时段步行街区 Weekend time-sliced block"
    symbols = {s.get("name"): s for s in root.findall("renderer-v2/symbols/symbol")}

    def props(rule):
        layer = symbols[rule.get("symbol")].find("layer")
        return {o.get("name"): o.get("value") for o in layer.findall("Option/Option")}

    assert props(rules[0])["line_color"] == f"10,147,150,{_opacity(0.9)}" and props(rules[0])["customdash"] == "10;6"
    assert props(rules[1])["line_color"] == f"232,93,4,{_opacity(0.9)}" and props(rules[1])["use_custom_dash"] == "0"
    assert props(rules[1])["line_width"] == "6" and props(rules[1])["line_width_unit"] == "Pixel"
    keys = [r.get("key") for r in rules]
    assert keys == [r.get("key") for r in parse_xml(client.get(
        "/ogc/collections/pedestrian_streets/styles/default?f=qml").data).findall("renderer-v2/rules/rule")]


def test_style_labels_are_escaped_not_pasted(client):
    from layers import styles
    from layers.schema import Field, LayerKind, StyleRule

    evil = '</Title><script>alert(1)</script>&"\''
    kind = LayerKind(id="x", zh=evil, en="x", geometry_types=("Point",),
                     fields=(Field("kind", "text", "类", "Kind"),),
                     style={"color": "#000", "fillColor": "#fff"}, popup=(),
                     rules=(StyleRule("kind", evil, {"color": "#f00"}, evil, "en"),))
    for build in (styles.sld, styles.qml):
        root = parse_xml(build(kind))
        texts = [e.text for e in root.iter()] + [v for e in root.iter() for v in e.attrib.values()]
        assert any(evil in (t or "") for t in texts)
    qml = parse_xml(styles.qml(kind))
    assert qml.find("renderer-v2/rules/rule").get("filter") == '"kind" = \'' + evil.replace("'", "''") + "'"


def test_the_readme_names_every_path_and_crs_of_the_api(client):
    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text("utf-8")
    doc = client.get("/ogc/api").get_json(force=True)
    ids = [c["id"] for c in client.get("/ogc/collections").get_json()["collections"]]
    for path in doc["paths"]:
        generic = re.sub("|".join(f"/collections/{i}/" for i in ids), "/collections/{collectionId}/", path)
        generic = generic.replace("{collectionId}", "<id>").replace("{featureId}", "<featureId>")
        generic = generic.replace("{styleId}", "default")
        assert f"/ogc{generic.rstrip('/') or '/'}" in readme, generic
    for uri in client.get("/ogc/collections/hq_clusters").get_json()["crs"]:
        assert uri.replace("http://localhost", "http://<host>") in readme, uri
    assert "ogr2ogr -f GPKG out.gpkg OAPIF:" in readme and "Add WFS / OGC API" in readme


@pytest.mark.parametrize("params", [{"bbox": "1,2,3"}, {"limit": "0"}, {"limit": "abc"}, {"offset": "-1"},
                                    {"crs": "EPSG:9999"}, {"foo": "1"}, {"bbox": "x"},
                                    {"filter": '{"op": "=", "args": [{"property": "capacity"}]}',
                                     "filter-lang": "cql2-json"}])
def test_refusals_are_chinese_first_and_name_no_python_internals(client, params):
    body = client.get("/ogc/collections/outdoor_dining_pilots/items", query_string=params).get_json()
    head, _, english = body["description"].partition(" · ")
    assert english and any("\u4e00" <= c <= "\u9fff" for c in head), body["description"]
    assert "Error" not in body["description"] and "__init__" not in body["description"]


def test_the_schema_pages_show_ranges_only_where_there_are_some(client):
    html = client.get("/ogc/collections/outdoor_dining_pilots/queryables?f=html").get_data(as_text=True)
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr><td><code>(\w+)</code>.*?</tr>", html, re.S)}
    assert "≥" not in rows["name"] and "≥ 0" in rows["area_m2"]
    assert "市南区 / 市南区" not in html and "市南区" in rows["district"]


def test_a_filter_type_error_reads_as_chinese_in_its_chinese_half(client):
    body = client.get("/ogc/collections/outdoor_dining_pilots/items",
                      query_string={"filter": "designation_year = 'abc'"}).get_json()
    head = body["description"].split(" · ")[0]
    assert "不能与文字「abc」比较" in head and "the text" not in head


def test_the_geojson_schema_answers_f_as_every_resource_does(client):
    url = "/ogc/collections/districts/geojson-schema"
    assert client.get(url).mimetype == "application/schema+json"
    page = client.get(url, query_string={"f": "html"})
    assert page.status_code == 302 and page.location.endswith("/ogc/collections/districts/schema?f=html")
    assert client.get(url, query_string={"f": "xml"}).status_code == 400
