"""The OpenAPI 3.0 document of /ogc and the queryables of each collection, generated from the registry."""

from __future__ import annotations

from flask import url_for

from layers import fieldtypes, query

_JSON, _GEOJSON, _HTML = "application/json", "application/geo+json", "text/html"
def queryables(kind, self_url: str) -> dict:
    """The queryables of a collection (OGC API - Features - Part 3): a JSON Schema of every declared property
    (its schema from layers.fieldtypes), the id and the geometry; each may be used in a CQL2 filter, in sortby
    (not the geometry) and as a query parameter of its own (not the geometry)."""
    props = {"id": {"title": "要素编号 Feature id", "type": "string", "x-ogc-role": "id"}}
    props.update({f.name: fieldtypes.json_schema(f) for f in query.filter_fields(kind)})
    props["geometry"] = {"title": "几何 Geometry", "format": f"geometry-{kind.geometry_type.lower()}",
                         "x-ogc-role": "primary-geometry"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": self_url, "type": "object",
            "title": f"{kind.zh} {kind.en}", "properties": props, "additionalProperties": False}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _responses(schema: dict, media: str = _JSON, errors=(400,)) -> dict:
    out = {"200": {"description": "OK", "content": {media: {"schema": schema}, _HTML: {"schema": {"type": "string"}}}}}
    for status in errors:
        out[str(status)] = {"description": "Error", "content": {_JSON: {"schema": _ref("exception")},
                                                                 _HTML: {"schema": {"type": "string"}}}}
    return out


def _param(name: str, schema: dict, description: str, required=False, location="query", **extra) -> dict:
    return {"name": name, "in": location, "required": required, "schema": schema, "description": description, **extra}


_F = _param("f", {"type": "string", "enum": ["json", "html"]}, "Response format (overrides the Accept header).")
_BBOX = _param("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
               "minLon,minLat,maxLon,maxLat in WGS-84 (CRS84); features intersecting it.",
               style="form", explode=False)
_LIMIT = _param("limit", {"type": "integer", "minimum": 1, "default": query.DEFAULT_LIMIT},
                f"Features per page; values above {query.MAX_LIMIT} are clamped to {query.MAX_LIMIT}.")
_CRS = [_param(name, {"type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]},
               "Coordinate reference system (only CRS84 is offered).") for name in ("crs", "bbox-crs")]
_SELECT = [
    _param("filter", {"type": "string"},
           "CQL2 filter (OGC API - Features - Part 3) on the queryables (/queryables): comparisons, LIKE, IN, "
           "BETWEEN, IS NULL, AND/OR/NOT, S_INTERSECTS/S_WITHIN/S_CONTAINS/S_DISJOINT... with WKT in CRS84. "
           "Example: designation_year >= 2020 AND name LIKE '%啤酒%'."),
    _param("filter-lang", {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"], "default": "cql2-text"},
           "Language of filter; cql-text is read as cql2-text (GDAL's OAPIF driver sends its filters so)."),
    _param("filter-crs", {"type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]},
           "CRS of the coordinates in filter (only CRS84 is offered)."),
    _param("datetime", {"type": "string"},
           "A date, a date-time or an interval (RFC 3339, .. for an open end): features whose designation year "
           "overlaps it; collections without a time property match every feature."),
]
_SORTBY = _param("sortby", {"type": "array", "items": {"type": "string", "pattern": r"^[+-]?[A-Za-z0-9_]+$"}},
                 "Sort keys: queryable names, prefix - for descending (+ or none: ascending); missing values last.",
                 style="form", explode=False)


def _properties(kind) -> dict:
    return _param("properties", {"type": "array", "items": {"type": "string", "enum": [f.name for f in kind.fields]}},
                  "Only these properties in the items (comma-separated names).", style="form", explode=False)


_OFFSET = _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "Features to skip (see the next/prev links).")

_SCHEMAS = {
    "link": {"type": "object", "required": ["href", "rel"],
             "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
                            "title": {"type": "string"}}},
    "links": {"type": "array", "items": _ref("link")},
    "exception": {"type": "object", "required": ["code"],
                  "properties": {"code": {"type": "string"}, "description": {"type": "string"}}},
    "landingPage": {"type": "object", "required": ["links"],
                    "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "links": _ref("links")}},
    "confClasses": {"type": "object", "required": ["conformsTo"],
                    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}},
    "extent": {"type": "object", "properties": {"spatial": {"type": "object", "properties": {
        "bbox": {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 4, "maxItems": 6,
                                                          "items": {"type": "number"}}},
        "crs": {"type": "string"}}}}},
    "collection": {"type": "object", "required": ["id", "links"],
                   "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                  "description": {"type": "string"}, "extent": _ref("extent"),
                                  "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}},
                                  "links": _ref("links")}},
    "collections": {"type": "object", "required": ["links", "collections"],
                    "properties": {"links": _ref("links"), "collections": {"type": "array", "items": _ref("collection")}}},
    "geometry": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "enum": [
        "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"]}}},
    "feature": {"type": "object", "required": ["type", "geometry", "properties"],
                "properties": {"type": {"type": "string", "enum": ["Feature"]},
                               "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                               "geometry": _ref("geometry"), "properties": {"type": "object", "nullable": True},
                               "links": _ref("links")}},
    "featureCollection": {"type": "object", "required": ["type", "features"],
                          "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                         "features": {"type": "array", "items": _ref("feature")},
                                         "links": _ref("links"), "timeStamp": {"type": "string", "format": "date-time"},
                                         "numberMatched": {"type": "integer", "minimum": 0},
                                         "numberReturned": {"type": "integer", "minimum": 0}}},
}


def document(catalog) -> dict:
    """The OpenAPI 3.0 document of /ogc for the collections in ``catalog``."""
    ids = [live.kind.id for live in catalog]
    collection_id = _param("collectionId", {"type": "string", "enum": ids}, "Collection (layer) id.", True, "path")
    paths = {
        "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage", "parameters": [_F],
                      "responses": _responses(_ref("landingPage"))}},
        "/conformance": {"get": {"summary": "Conformance classes", "operationId": "getConformance",
                                 "parameters": [_F], "responses": _responses(_ref("confClasses"))}},
        "/collections": {"get": {"summary": "Collections", "operationId": "getCollections", "parameters": [_F],
                                 "responses": _responses(_ref("collections"))}},
        "/collections/{collectionId}": {"get": {
            "summary": "One collection", "operationId": "describeCollection", "parameters": [collection_id, _F],
            "responses": _responses(_ref("collection"), errors=(400, 404))}},
        "/collections/{collectionId}/queryables": {"get": {
            "summary": "Fields the items can be filtered on", "operationId": "getQueryables",
            "parameters": [collection_id],
            "responses": {"200": {"description": "JSON Schema", "content": {"application/schema+json": {
                "schema": {"type": "object"}}}},
                "404": {"description": "Error", "content": {_JSON: {"schema": _ref("exception")}}}}}},
    }
    for live in catalog:
        cid = live.kind.id
        filters = [_param(f.name, fieldtypes.json_schema(f, title=False), f"Equality filter: {f.zh} {f.en}")
                   for f in query.filter_fields(live.kind)]
        filters.append(_param("id", {"type": "string"}, "Equality filter: the feature id"))
        paths[f"/collections/{cid}/items"] = {"get": {
            "summary": f"Features of {live.kind.en} ({live.kind.zh})", "operationId": f"getFeatures_{cid}",
            "tags": [cid], "parameters": [_BBOX, _LIMIT, _OFFSET, *_SELECT, _SORTBY, _properties(live.kind), *filters, *_CRS, _F],
            # 429: HTML pages of features are rate-limited (HTML_RATE_LIMIT)
            "responses": _responses(_ref("featureCollection"), _GEOJSON, errors=(400, 429))}}
        paths[f"/collections/{cid}/items/{{featureId}}"] = {"get": {
            "summary": f"One feature of {live.kind.en}", "operationId": f"getFeature_{cid}", "tags": [cid],
            "parameters": [_param("featureId", {"type": "string"}, "Feature id.", True, "path"), _F],
            "responses": _responses(_ref("feature"), _GEOJSON, errors=(400, 404, 429))}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "青岛消费场景地图 Qingdao Consumption-Scene Map — OGC API - Features", "version": "1.0.0",
                 "description": "The map's layers as OGC API - Features collections. Coordinates are WGS-84 (CRS84)."},
        "servers": [{"url": url_for("ogc.landing", _external=True).rstrip("/")}],
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
