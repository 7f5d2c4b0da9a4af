"""/ogc: OGC API - Features - Part 1: Core (GeoJSON and HTML), Part 2: CRS by reference, and the collection
schemas of Part 5, with each collection's style as SLD and QGIS QML.

One collection per layer kind, its id the layer id. Items are answered from the layer's index (built once
per layer version) and its pre-serialized features (one serialization per coordinate system, see
layers.catalog): nothing is re-read or re-serialized per request.

Every JSON answer carries an ETag (304 on If-None-Match) and is gzipped when the client accepts it; HTML
pages carry neither ETag nor 304 (each has a CSP nonce of its own). Any origin may read /ogc and /api
(CORS, GET/HEAD, no credentials): see :func:`_cors`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import numpy as np
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.routing import PathConverter

from layers import crs as systems
from layers import export, featurejson, fieldtypes, query, styles
from layers.area import BOUNDS

from . import mapshell, openapi
from .auth import limiter
from .db import get_catalog, get_live
from .negotiate import prefers_html, style_format, wants_html

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


class FeatureIdConverter(PathConverter):
    """``<feature_id:...>``: the rest of the path, whatever it holds (werkzeug's ``path`` refuses a leading
    "/"); ids are text and may contain "/" (layers.load.canonical_id keeps out the "." and ".." segments
    browsers would resolve away)."""

    regex = ".+"
    part_isolating = False  # it spans "/" (werkzeug guesses from the regex, which has none)


@bp.record_once
def _register_converter(state) -> None:
    state.app.url_map.converters["feature_id"] = FeatureIdConverter

#: Most features an HTML items page lists (JSON pages go up to query.MAX_LIMIT).
HTML_PAGE_LIMIT = 100

#: The HTML pages of features (a table and a map each) are limited per client address; see HTML_RATE_LIMIT.
_html_limit = limiter.shared_limit(
    lambda: current_app.config["HTML_RATE_LIMIT"], scope="ogc-html",
    error_message="网页请求太频繁，请稍后再试，或改用 GeoJSON（f=json）。 "
                  "Too many HTML pages from your address: please wait a minute, or use GeoJSON (f=json).")


def html_limit(view):
    """Rate-limit ``view`` when it answers HTML; JSON requests skip the limiter (it cost ~150 µs a request,
    half the time of an items page)."""
    limited = _html_limit(view)

    @functools.wraps(view)
    def choose(*args, **kwargs):
        return limited(*args, **kwargs) if prefers_html() else view(*args, **kwargs)

    return choose

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/returnables-and-receivables",
    # Part 3: filtering with CQL2 (layers.filtering), queryables (also as query parameters)
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    # the same classes under their draft names, which QGIS (3.32+) and GDAL look for
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-operators",
    # sortby: the class pygeoapi declares (OGC API - Records), and the draft Features Part 8's
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
    # properties: the draft Features Part 6's property selection
    "http://www.opengis.net/spec/ogcapi-features-6/1.0/conf/property-selection",
]
CRS84 = systems.CRS84
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
REL_SCHEMA = "http://www.opengis.net/def/rel/ogc/1.0/schema"
REL_STYLES = "http://www.opengis.net/def/rel/ogc/1.0/styles"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
TITLE = {"zh": "青岛消费场景地图 数据服务", "en": "Qingdao Consumption-Scene Map: data API"}


def _catalog():
    return get_catalog()


def _live(collection_id: str):
    return get_live(collection_id)


def link(endpoint: str, rel: str, type_: str, title: str, **values) -> dict:
    return {"href": url_for(endpoint, _external=True, **values), "rel": rel, "type": type_, "title": title}


def _self_links(endpoint: str, json_type: str = "application/json", **values) -> list[dict]:
    html = wants_html()
    return [link(endpoint, "self" if not html else "alternate", json_type, "JSON", f="json", **values),
            link(endpoint, "self" if html else "alternate", "text/html", "HTML", f="html", **values)]


def _json(doc: dict, mimetype: str = "application/json") -> Response:
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=mimetype)


def _answer(doc: dict, template: str, mimetype: str = "application/json", **context):
    if wants_html():
        return render_template(template, doc=doc, **context)
    return _json(doc, mimetype)


# -- coordinate systems (Part 2) ----------------------------------------------------------------------------

def crs_uri(system: systems.System) -> str:
    """The URI a system is named by: its OGC URI, or for GCJ-02 a page of this server describing it."""
    return system.uri or url_for("ogc.crs_definition", name=system.key, _external=True)


def offered_crs() -> dict[str, systems.System]:
    """URI -> system, for every coordinate system the collections offer (CRS84 first)."""
    return {crs_uri(s): s for s in systems.OGC}


def requested_crs(name: str = "crs") -> systems.System:
    """The system the ``crs`` (or ``bbox-crs``) parameter names, CRS84 when absent; 400 for one not offered."""
    uri = request.args.get(name)
    if uri is None:
        return systems.SYSTEMS["wgs84"]
    offered = offered_crs()
    if uri not in offered:
        abort(400, f"不提供坐标系 {name}={uri[:200]!r} · {name}={uri[:200]!r} is not offered; use one of: "
                   f"{', '.join(offered)}")
    return offered[uri]


def _content_crs(view):
    """Check ``crs`` before the view, and name the coordinates' system in a Content-Crs header (Part 2) on
    GeoJSON answers."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        system = requested_crs()
        response = current_app.make_response(view(*args, **kwargs))
        if response.mimetype == GEOJSON:
            response.headers["Content-Crs"] = f"<{crs_uri(system)}>"
        return response

    return wrapped


@bp.get("/crs/<name>", strict_slashes=False)
def crs_definition(name: str):
    """What our own coordinate-system URIs mean (GCJ-02 has no EPSG code, and must not be taken for one)."""
    system = systems.SYSTEMS.get(name)
    if system is None or system.uri is not None or not system.ogc:
        abort(404, f"no coordinate system {name!r} is defined here; EPSG systems are named by their OGC URIs")
    doc = {"id": crs_uri(system), "title": system.title, "epsg": None,
           "axes": [{"name": "longitude", "direction": "east", "unit": "degree"},
                    {"name": "latitude", "direction": "north", "unit": "degree"}],
           "description": ("GCJ-02（国测局坐标，俗称“火星坐标”）不是大地坐标系，也没有 EPSG 编号：它是中国境内地图（高德、腾讯等）"
                           "按规定对 WGS-84 经纬度施加的非线性偏移，约 300–700 米。本服务按公开的正算公式由 WGS-84 换算，"
                           "逆算迭代求解。只在叠加高德、腾讯等底图时使用；与 EPSG 数据一起分析请用 WGS-84 或 CGCS2000。 · "
                           "GCJ-02 ('Mars coordinates') is not a geodetic CRS and has no EPSG code: it is the non-linear "
                           "offset (about 300-700 m) that maps licensed in mainland China (AMap/Gaode, Tencent) apply to "
                           "WGS-84 longitude/latitude. Converted here from WGS-84 by the published forward formula (and "
                           "its inverse solved by iteration). Use it only to overlay those basemaps; for analysis with "
                           "EPSG data use WGS-84 or CGCS2000."),
           "links": _self_links("ogc.crs_definition", name=name)}
    return _answer(doc, "ogc/crs.html")


def _query(live, params) -> query.FeatureQuery:
    """The items query: ``crs`` checked, a ``bbox`` given in ``bbox-crs`` turned into CRS84 (what the index and
    layers.query work in), then layers.query's checks."""
    requested_crs("crs")
    bbox_system = requested_crs("bbox-crs")
    if "bbox" in params and bbox_system.key != "wgs84" and len(params["bbox"]) == 1:
        params = {**params, "bbox": [_bbox_in_crs84(params["bbox"][0], bbox_system)]}
    return query.parse(live.kind, params, other=("f", "crs", "bbox-crs"))


def _bbox_in_crs84(text: str, system: systems.System) -> str:
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise query.QueryError("bbox", f"bbox needs 4 numbers or 6 (with heights), not {len(parts)}")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise query.QueryError("bbox", f"bbox must be numbers separated by commas, not {text[:80]!r}") from None
    if not all(np.isfinite(values)):
        raise query.QueryError("bbox", "bbox numbers must be finite (no NaN or Infinity)")
    try:
        minx, miny, maxx, maxy = system.bbox_to_crs84(values)
    except systems.CrsError as exc:
        raise query.QueryError("bbox", f"bbox-crs={crs_uri(system)}: {exc}") from None
    if system.unit == "metre":  # a projected box may reach past the poles or round the world: clip it to it
        minx, maxx = max(minx, -180.0), min(maxx, 180.0)
        miny, maxy = max(miny, -90.0), min(maxy, 90.0)
    return ",".join(repr(v) for v in (minx, miny, maxx, maxy))


# -- HTTP: ETag and 304, gzip, CORS -------------------------------------------------------------------------

#: Answers smaller than this are sent as they are (gzip would save little and cost a round of zlib).
GZIP_MIN_BYTES = 1024
#: zlib level for answers compressed per request: 1 compresses a page of district boundaries (330 kB) to 35 % in
#: 2 ms; level 5 reaches 30 % in 6 ms, 6 (gzip's default) in 21 ms: not worth a busy worker's time.
GZIP_LEVEL = 1
_CORS_PREFIXES = ("/ogc", "/api/")


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def _features_etag(view):
    """A weak ETag for items and item answers, made before the view from what determines them (the layer's
    version digest, the URL with its query and the encoding): a client that has the answer gets 304 without
    the page being built. Weak, because the body's ``timeStamp`` differs from second to second."""
    @functools.wraps(view)
    def wrapped(collection_id: str, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or prefers_html() or collection_id not in _catalog():
            return view(collection_id, *args, **kwargs)
        live = _catalog().get(collection_id)
        key = f"{live.kind.id}\n{live.version}\n{live.digest}\n{request.url}\n{request.headers.get('Accept', '')}"
        tag = hashlib.sha256(key.encode()).hexdigest()[:32] + ("-gz" if _accepts_gzip() else "-id")
        if request.if_none_match.contains_weak(tag):
            response = Response(status=304)
            response.set_etag(tag, weak=True)
            response.vary.update(("Accept", "Accept-Encoding"))
            return response
        g.ogc_etag = tag
        return view(collection_id, *args, **kwargs)

    return wrapped


@bp.after_request
def _etag_and_gzip(response: Response) -> Response:
    """ETag (and 304) for JSON answers, gzip for any answer when the client accepts it (Vary: Accept-Encoding)."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.direct_passthrough:
        return response
    html = response.mimetype == "text/html"
    body = response.get_data()
    gzip_ok = _accepts_gzip()
    if not html and "ETag" not in response.headers:
        tag = getattr(g, "ogc_etag", None)
        if tag is not None:
            response.set_etag(tag, weak=True)
        else:
            response.set_etag(hashlib.sha256(body).hexdigest()[:32] + ("-gz" if gzip_ok else "-id"))
            response.vary.add("Accept-Encoding")  # the tag names the encoding
        response.vary.add("Accept")
        if request.if_none_match.contains_weak(response.get_etag()[0]):
            response = Response(status=304, headers={k: v for k, v in response.headers.items()
                                                     if k in ("ETag", "Vary", "Content-Crs")})
            response.vary.add("Accept-Encoding")
            return response
    if len(body) >= GZIP_MIN_BYTES and "Content-Encoding" not in response.headers:
        response.vary.add("Accept-Encoding")
        if gzip_ok:
            response.set_data(gzip.compress(body, GZIP_LEVEL, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
    return response


@bp.after_app_request
def _cors(response: Response) -> Response:
    """Any origin may read the public data (/ogc and /api: GET and HEAD, no credentials, no cookies read there);
    a preflight (OPTIONS) for GET or HEAD is answered. Never under /staff or on any other path that uses the
    session: the header is added by path prefix here, and nothing else adds it."""
    if not request.path.startswith(_CORS_PREFIXES) and request.path != "/ogc":
        return response
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag, Content-Crs, Content-Disposition, Link, Shapefile-Truncated-Texts"
    elif (request.method == "OPTIONS" and "Origin" in request.headers
          and request.headers.get("Access-Control-Request-Method") in ("GET", "HEAD")):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language, If-None-Match, If-Modified-Since, Range"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


# -- resources ----------------------------------------------------------------------------------------------

def collection_doc(live) -> dict:
    kind, cid = live.kind, live.kind.id
    return {
        "id": cid, "title": f"{kind.zh} {kind.en}",
        "description": f"{kind.description_zh} / {kind.description_en}".strip(" /"),
        "extent": {"spatial": {"bbox": [live.bounds or list(BOUNDS)], "crs": CRS84}},
        "itemType": "feature", "crs": list(offered_crs()), "storageCrs": CRS84,
        "links": [
            *_self_links("ogc.collection", collection_id=cid),
            # no query string: GDAL appends "/<id>" to this link to fetch one feature (its -where "id = …")
            link("ogc.items", "items", GEOJSON, "Features (GeoJSON)", collection_id=cid),
            link("ogc.items", "items", "text/html", "Features (HTML)", collection_id=cid, f="html"),
            # GDAL's OAPIF driver types its columns from this one (3.6 matches the rel exactly as spelled here)
            link("ogc.geojson_schema", "describedBy", SCHEMA_JSON, "Schema of a GeoJSON feature (JSON Schema)",
                 collection_id=cid),
            link("ogc.schema", REL_SCHEMA, SCHEMA_JSON, "Schema (JSON Schema)", collection_id=cid),
            link("ogc.schema", REL_SCHEMA, "text/html", "Schema (HTML)", collection_id=cid, f="html"),
            link("ogc.queryables", REL_QUERYABLES, SCHEMA_JSON, "Queryables", collection_id=cid),
            link("ogc.styles", REL_STYLES, "application/json", "Styles", collection_id=cid),
            *[link("ogc.style", "stylesheet", fmt.mimetype, f"Style: {fmt.title}", collection_id=cid,
                   style_id=styles.DEFAULT, f=name) for name, fmt in styles.FORMATS.items()],
            *[link("api.download", "enclosure", fmt.mimetype, f"Download: {fmt.title}", layer_id=cid, format=name)
              for name, fmt in export.FORMATS.items()],
        ],
    }


@bp.get("/")
def landing():
    doc = {"title": f"{TITLE['zh']} · {TITLE['en']}",
           "description": "商圈、夜间经济、步行街、外摆试点、总部经济集聚区图层 / Layers of Qingdao's consumption scenes",
           "links": [*_self_links("ogc.landing"),
                     link("ogc.api", "service-desc", OPENAPI_JSON, "OpenAPI 3.0 (JSON)", f="json"),
                     link("ogc.api", "service-doc", "text/html", "API documentation (HTML)", f="html"),
                     link("ogc.conformance", "conformance", "application/json", "Conformance"),
                     link("ogc.collections", "data", "application/json", "Collections")]}
    return _answer(doc, "ogc/landing.html")


@bp.get("/conformance", strict_slashes=False)
def conformance():
    return _answer({"conformsTo": CONFORMANCE}, "ogc/conformance.html")


@bp.get("/api", strict_slashes=False)
def api():
    doc = openapi.document(_catalog())
    if wants_html():
        parameters = doc["components"]["parameters"]
        return render_template("ogc/api.html", doc=doc, schema_text=_schema_text,
                               resolve=lambda p: parameters[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p)
    return _json(doc, OPENAPI_JSON)


def _schema_text(schema: dict) -> str:
    """A parameter's JSON Schema in a few words, for the API page."""
    words = [schema.get("type", "")]
    if schema.get("type") == "array":
        sizes = [str(s["minItems"]) for s in schema.get("oneOf", []) if "minItems" in s]
        words.append(f"of {' or '.join(sizes) or 'any number of'} {schema.get('items', {}).get('type', '')}s")
    if "format" in schema:
        words.append(f"({schema['format']})")
    if "enum" in schema:
        shown = [str(v) for v in schema["enum"][:10]]
        words.append("one of " + ", ".join(shown) + (" …" if len(schema["enum"]) > 10 else ""))
    for key, word in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤"), ("default", "default")):
        if key in schema:
            words.append(f"{word} {schema[key]}")
    return " ".join(w for w in words if w)


@bp.get("/collections", strict_slashes=False)
def collections():
    doc = {"links": _self_links("ogc.collections"), "collections": [collection_doc(live) for live in _catalog()]}
    return _answer(doc, "ogc/collections.html")


@bp.get("/collections/<collection_id>", strict_slashes=False)
def collection(collection_id: str):
    return _answer(collection_doc(_live(collection_id)), "ogc/collection.html")


@bp.get("/collections/<collection_id>/queryables", strict_slashes=False)
def queryables(collection_id: str):
    return _schema_page(collection_id, "ogc.queryables", openapi.queryables, ("可查询字段", "Queryables"))


def _schema_page(collection_id: str, endpoint: str, build, what: tuple[str, str]):
    """A JSON Schema resource of a collection (``build(kind, its own URL)``), as JSON or as the schema page."""
    live = _live(collection_id)
    doc = build(live.kind, url_for(endpoint, collection_id=collection_id, _external=True))
    labels = {f.name: fieldtypes.choices(f) for f in live.kind.fields}
    return _answer(doc, "ogc/schema.html", SCHEMA_JSON, live=live, what=what, labels=labels,
                   page_links=_self_links(endpoint, SCHEMA_JSON, collection_id=collection_id))


@bp.get("/collections/<collection_id>/schema", strict_slashes=False)
def schema(collection_id: str):
    """The collection's schema (Part 5 "returnables"): JSON Schema 2020-12 of its features' properties."""
    return _schema_page(collection_id, "ogc.schema", openapi.feature_schema, ("数据结构", "Schema"))


@bp.get("/collections/<collection_id>/geojson-schema", strict_slashes=False)
def geojson_schema(collection_id: str):
    """The collection's features as a JSON Schema of a GeoJSON Feature: what GDAL and QGIS type columns from.
    Its HTML view is the schema page (the same fields)."""
    live = _live(collection_id)
    if wants_html():
        return redirect(url_for("ogc.schema", collection_id=collection_id, f="html"))
    doc = openapi.geojson_feature_schema(live.kind, url_for("ogc.geojson_schema", collection_id=collection_id,
                                                            _external=True))
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=SCHEMA_JSON)


@bp.get("/collections/<collection_id>/styles", endpoint="styles", strict_slashes=False)
def collection_styles(collection_id: str):
    """The collection's styles (one: the map's), each as SLD 1.0 and QGIS QML (OGC API - Styles' list)."""
    live = _live(collection_id)
    doc = {"default": styles.DEFAULT,
           "styles": [{"id": styles.DEFAULT, "title": f"{live.kind.zh} {live.kind.en}",
                       "links": [link("ogc.style", "stylesheet", fmt.mimetype, fmt.title, collection_id=collection_id,
                                      style_id=styles.DEFAULT, f=name) for name, fmt in styles.FORMATS.items()]}],
           "links": _self_links("ogc.styles", collection_id=collection_id)}
    return _answer(doc, "ogc/styles.html", live=live, legend=styles.legend(live.kind))


@bp.get("/collections/<collection_id>/styles/<style_id>", strict_slashes=False)
def style(collection_id: str, style_id: str):
    """One style as SLD 1.0 (``f=sld10``) or QGIS QML (``f=qml``), or as the Accept header asks (SLD by default)."""
    live = _live(collection_id)
    if style_id != styles.DEFAULT:
        abort(404, f"no style {style_id!r} for {collection_id}; its style is {styles.DEFAULT!r}")
    name = style_format(styles.FORMATS)
    fmt = styles.FORMATS[name]
    response = Response(fmt.build(live.kind), mimetype=fmt.mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="qingdao-{collection_id}.{fmt.extension}"'
    return response


@bp.get("/collections/<collection_id>/items/")
def items_slash(collection_id: str):
    """``items/`` is sent on to ``items`` (its page links are made from the request's own path), query kept."""
    query_string = request.query_string.decode()
    return redirect(url_for("ogc.items", collection_id=collection_id) + (f"?{query_string}" if query_string else ""),
                    308)


@bp.get("/collections/<collection_id>/items")
@html_limit
@_features_etag
@_content_crs
def items(collection_id: str):
    live = _live(collection_id)
    html = wants_html()
    q = _query(live, request.args.to_dict(flat=False))
    limit = min(q.limit, HTML_PAGE_LIMIT) if html else q.limit
    selection = live.index.select(**q.selection_args())
    matched = selection.count
    positions = selection.page(q.offset, limit)
    start, stop = min(q.offset, matched), min(q.offset, matched) + len(positions)
    args = {k: v for k, v in request.args.items() if k not in ("offset", "f")}
    if limit != q.limit:
        args["limit"] = str(limit)

    def page(rel: str, type_: str, title: str, offset: int, f: str) -> dict:
        # built from the request's own URL: url_for per link was a third of the request's cost
        return {"href": f"{request.base_url}?{urlencode({**args, 'offset': offset, 'f': f})}", "rel": rel,
                "type": type_, "title": title}

    links = [page("alternate" if html else "self", GEOJSON, "JSON", q.offset, "json"),
             page("self" if html else "alternate", "text/html", "HTML", q.offset, "html")]
    if stop < matched:
        links.append(page("next", GEOJSON, "Next page", stop, "json"))
    if start > 0:
        links.append(page("prev", GEOJSON, "Previous page", max(0, start - limit), "json"))
    links.append({"href": request.base_url.rsplit("/", 1)[0], "rel": "collection", "type": "application/json",
                  "title": live.kind.en})
    head = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": stop - start,
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links}
    if html:
        return render_template("ogc/items.html", doc=head, live=live, rows=live.index.rows(positions),
                               preview=mapshell.preview(live.kind, live.layer.geometries[positions]),
                               page_limit=HTML_PAGE_LIMIT)
    encoded = live.encoding(requested_crs().key)
    if q.properties is None:
        features = encoded.features(positions)
    else:  # only this page is re-serialized
        features = featurejson.with_properties([encoded.feature(i) for i in positions.tolist()], q.properties)
    return Response(featurejson.collection(head, features), mimetype=GEOJSON)


@bp.get("/collections/<collection_id>/items/<feature_id:feature_id>", merge_slashes=False)
@html_limit
@_features_etag
@_content_crs
def item(collection_id: str, feature_id: str):
    live = _live(collection_id)
    position = live.index.positions.get(feature_id)
    if position is None:
        abort(404, f"no feature {feature_id!r} in {collection_id}")
    html = wants_html()
    links = [*_self_links("ogc.item", GEOJSON, collection_id=collection_id, feature_id=feature_id),
             link("ogc.collection", "collection", "application/json", live.kind.en, collection_id=collection_id)]
    if html:
        return render_template("ogc/item.html", live=live, item_links=links, rows=live.index.rows([position]),
                               preview=mapshell.preview(live.kind, live.layer.geometries[[position]]))
    feature = live.encoding(requested_crs().key).feature(position)
    return Response(featurejson.feature(feature, {"links": links}), mimetype=GEOJSON)
