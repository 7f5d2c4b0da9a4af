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
                                              "pedestrian_streets", "outdoor_dining_pilots", "hq_clusters"]
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
    ({"bbox": "120.5,36,120.3,36.1"}, "minimum is greater"),
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


@pytest.mark.parametrize("path", ["/ogc/?f=html", "/ogc/conformance?f=html", "/ogc/collections?f=html",
                                  "/ogc/collections/pedestrian_streets?f=html",
                                  "/ogc/collections/pedestrian_streets/items?f=html&limit=2",
                                  "/ogc/collections/outdoor_dining_pilots/items/od-licun?f=html"])
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
    assert np.array_equal(np.asarray(feature["geometry"]["coordinates"][0]), exact)
    page = client.get("/ogc/collections/commercial_districts/items?f=json").get_json(force=True)
    assert len(page["features"][0]["geometry"]["coordinates"][0]) == 100_001
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
