"""/ogc: OGC API - Features - Part 1: Core, with the GeoJSON and HTML conformance classes.

One collection per layer kind, its id the layer id. Items are answered from the layer's index (built once
per layer version) and its pre-serialized features: nothing is re-read or re-serialized per request.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import numpy as np
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from werkzeug.routing import PathConverter

from layers import export, query
from layers.area import BOUNDS

from . import mapshell, openapi
from .auth import limiter
from .negotiate import prefers_html, wants_html

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
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
TITLE = {"zh": "青岛消费场景地图 数据服务", "en": "Qingdao Consumption-Scene Map: data API"}


def _catalog():
    return current_app.extensions["catalog"]


def _live(collection_id: str):
    if collection_id not in _catalog():
        abort(404, f"no collection {collection_id!r}; collections: {', '.join(l.kind.id for l in _catalog())}")
    return _catalog().get(collection_id)


def link(endpoint: str, rel: str, type_: str, title: str, **values) -> dict:
    return {"href": url_for(endpoint, _external=True, **values), "rel": rel, "type": type_, "title": title}


def _self_links(endpoint: str, json_type: str = "application/json", **values) -> list[dict]:
    html = wants_html()
    return [link(endpoint, "self" if not html else "alternate", json_type, "JSON", f="json", **values),
            link(endpoint, "self" if html else "alternate", "text/html", "HTML", f="html", **values)]


def _answer(doc: dict, template: str, **context):
    if wants_html():
        return render_template(template, doc=doc, **context)
    return jsonify(doc)


def collection_doc(live) -> dict:
    kind, cid = live.kind, live.kind.id
    return {
        "id": cid, "title": f"{kind.zh} {kind.en}",
        "description": f"{kind.description_zh} / {kind.description_en}".strip(" /"),
        "extent": {"spatial": {"bbox": [live.bounds or list(BOUNDS)], "crs": CRS84}},
        "itemType": "feature", "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            *_self_links("ogc.collection", collection_id=cid),
            link("ogc.items", "items", GEOJSON, "Features (GeoJSON)", collection_id=cid, f="json"),
            link("ogc.items", "items", "text/html", "Features (HTML)", collection_id=cid, f="html"),
            link("ogc.queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
                 "Queryables", collection_id=cid),
            *[link("api.download", "enclosure", fmt.mimetype, f"Download: {fmt.title}", layer_id=cid, format=name)
              for name, fmt in export.FORMATS.items()],
        ],
    }


@bp.get("/")
def landing():
    doc = {"title": f"{TITLE['zh']} · {TITLE['en']}",
           "description": "商圈、夜间经济、步行街、外摆试点、总部经济集聚区图层 / Layers of Qingdao's consumption scenes",
           "links": [*_self_links("ogc.landing"),
                     link("ogc.api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI 3.0"),
                     link("ogc.conformance", "conformance", "application/json", "Conformance"),
                     link("ogc.collections", "data", "application/json", "Collections")]}
    return _answer(doc, "ogc/landing.html")


@bp.get("/conformance")
def conformance():
    return _answer({"conformsTo": CONFORMANCE}, "ogc/conformance.html")


@bp.get("/api")
def api():
    return Response(json.dumps(openapi.document(_catalog()), ensure_ascii=False),
                    mimetype="application/vnd.oai.openapi+json;version=3.0")


@bp.get("/collections")
def collections():
    doc = {"links": _self_links("ogc.collections"), "collections": [collection_doc(live) for live in _catalog()]}
    return _answer(doc, "ogc/collections.html")


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    return _answer(collection_doc(_live(collection_id)), "ogc/collection.html")


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    doc = openapi.queryables(_live(collection_id).kind, url_for("ogc.queryables", collection_id=collection_id,
                                                                 _external=True))
    return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/schema+json")


def _query(live, params) -> query.FeatureQuery:
    for name in ("crs", "bbox-crs"):  # Part 2 parameters clients send; only CRS84 is offered
        if params.get(name, [CRS84]) != [CRS84]:
            abort(400, f"{name}={params[name][0]!r} is not offered; coordinates are CRS84 ({CRS84})")
    return query.parse(live.kind, params, other=("f", "crs", "bbox-crs"))


@bp.get("/collections/<collection_id>/items")
@html_limit
def items(collection_id: str):
    live = _live(collection_id)
    html = wants_html()
    q = _query(live, request.args.to_dict(flat=False))
    limit = min(q.limit, HTML_PAGE_LIMIT) if html else q.limit
    selected = live.index.select(q.bbox, q.filters)
    matched = live.count if selected is None else len(selected)
    start, stop = min(q.offset, matched), min(q.offset + limit, matched)
    positions = np.arange(start, stop) if selected is None else selected[start:stop]
    args = {k: v for k, v in request.args.items() if k not in ("offset", "f", "crs")}
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
    body = (json.dumps(head, ensure_ascii=False)[:-1].encode() + b',"features":['
            + live.encoding().features(positions) + b"]}")
    return Response(body, mimetype=GEOJSON)


@bp.get("/collections/<collection_id>/items/<feature_id:feature_id>", merge_slashes=False)
@html_limit
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
    feature = bytes(live.encoding().feature(position))
    body = feature[:-1] + b',"links":' + json.dumps(links, ensure_ascii=False).encode() + b"}"
    return Response(body, mimetype=GEOJSON)
