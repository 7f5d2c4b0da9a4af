"""The OpenAPI 3.0 document of /ogc, the queryables and the schema (Part 5) of each collection, generated from
the registry."""

from __future__ import annotations

from flask import url_for

from layers import crs as systems
from layers import fieldtypes, query, styles

_JSON, _GEOJSON, _HTML = "application/json", "application/geo+json", "text/html"
_SCHEMA_JSON = "application/schema+json"
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


def feature_schema(kind, self_url: str) -> dict:
    """The collection's schema (OGC API - Features - Part 5, "returnables"): JSON Schema 2020-12 of a feature's
    properties, flattened as Part 5 has them: the id and the geometry (with their ``x-ogc-role``; the geometry
    typed by ``format`` with the one type clients are told, ``LayerKind.geometry_type``) beside the declared
    fields (type, choices, range, zh/en title), in the order the items write them."""
    props = {
        "id": {"title": "要素编号 Feature id", "type": "string", "x-ogc-role": "id", "x-ogc-propertySeq": 1},
        "geometry": {"title": "几何 Geometry", "format": f"geometry-{kind.geometry_type.lower()}",
                     "x-ogc-role": "primary-geometry", "x-ogc-propertySeq": 2},
    }
    for seq, fld in enumerate(kind.fields, start=3):
        props[fld.name] = {**fieldtypes.json_schema(fld), "x-ogc-propertySeq": seq}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": self_url, "type": "object",
            "title": f"{kind.zh} {kind.en}",
            "description": f"{kind.description_zh} / {kind.description_en}".strip(" /"),
            "properties": props,
            "required": ["id", "geometry", *(f.name for f in kind.fields if f.required)]}


def geojson_feature_schema(kind, self_url: str) -> dict:
    """The same fields as :func:`feature_schema`, as a JSON Schema of one GeoJSON Feature (the declared fields
    under ``properties.properties``, each with one type). GDAL's OAPIF driver (3.6 as in QGIS 3.22, and newer)
    types its columns from this shape, linked as ``describedBy``, instead of guessing them from the first page;
    it ignores Part 5's flat schema."""
    fields = {fld.name: fieldtypes.json_schema(fld) for fld in kind.fields}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": self_url, "type": "object",
            "title": f"{kind.zh} {kind.en}", "required": ["type", "geometry", "properties"],
            "description": "每个字段一种类型；null 表示无值 · One type per field; a property written as null has "
                           "no value (GDAL reads a field typed [\"integer\", \"null\"] as text).",
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "string"},
                "geometry": {"title": "几何 Geometry", "format": f"geometry-{kind.geometry_type.lower()}"},
                "properties": {"type": "object", "properties": fields,
                               "required": [f.name for f in kind.fields if f.required]}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _responses(schema: dict, media: str = _JSON, errors=(400,), headers: dict | None = None) -> dict:
    out = {"200": {"description": "OK", "content": {media: {"schema": schema}, _HTML: {"schema": {"type": "string"}}}}}
    if headers:
        out["200"]["headers"] = headers
    for status in errors:
        out[str(status)] = {"description": "Error", "content": {_JSON: {"schema": _ref("exception")},
                                                                 _HTML: {"schema": {"type": "string"}}}}
    return out


def _param(name: str, schema: dict, description: str, required=False, location="query", **extra) -> dict:
    return {"name": name, "in": location, "required": required, "schema": schema, "description": description, **extra}


_F = _param("f", {"type": "string", "enum": ["json", "html"]}, "Response format (overrides the Accept header).")
_BBOX_DESCRIPTION = (
    "Only features whose geometry intersects the bounding box are selected: four numbers (lower left corner, "
    "upper right corner) or six (with the minimum and maximum height), in the axis order of `bbox-crs`. Without "
    "`bbox-crs` the numbers are WGS 84 longitude/latitude (CRS84): minLon,minLat,maxLon,maxLat.")
#: The parameters every items operation shares, as components (GDAL reads the page size from ``limit``'s).
PARAMETERS = {
    # the official schema (OGC API - Features - Part 1, openapi/parameters/bbox.yaml)
    "bbox": _param("bbox", {"type": "array", "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
                            "items": {"type": "number"}}, _BBOX_DESCRIPTION, style="form", explode=False),
    # the official schema (openapi/parameters/limit.yaml) with our maximum and default
    "limit": _param("limit", {"type": "integer", "minimum": 1, "maximum": query.MAX_LIMIT,
                              "default": query.DEFAULT_LIMIT},
                    f"The number of features a page holds. Minimum = 1. Maximum = {query.MAX_LIMIT} (larger values "
                    f"are answered with {query.MAX_LIMIT}). Default = {query.DEFAULT_LIMIT}.", style="form",
                    explode=False),
    "offset": _param("offset", {"type": "integer", "minimum": 0, "default": 0},
                     "Features to skip (see the next/prev links)."),
}


def _crs_parameters(uris: list[str]) -> dict:
    """``crs`` and ``bbox-crs`` (Part 2) with the URIs offered."""
    listed = ", ".join(uris)
    return {
        "crs": _param("crs", {"type": "string", "format": "uri", "enum": uris},
                      "The coordinate system of the geometries in the answer (named in its Content-Crs header), "
                      f"in that system's axis order (EPSG:4326 and EPSG:4490 latitude first, EPSG:4549 northing "
                      f"first). Default CRS84 (longitude, latitude). Offered: {listed}.", style="form", explode=False),
        "bbox-crs": _param("bbox-crs", {"type": "string", "format": "uri", "enum": uris},
                           f"The coordinate system of `bbox`, in its axis order. Default CRS84. Offered: {listed}.",
                           style="form", explode=False),
    }


def _param_ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


_CONTENT_CRS = {"Content-Crs": {"description": "The URI, in angle brackets, of the coordinate system of the "
                                               "geometries in the answer.", "schema": {"type": "string"}}}

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
                                  "storageCrs": {"type": "string", "format": "uri"}, "links": _ref("links")}},
    "styles": {"type": "object", "required": ["styles"],
               "properties": {"default": {"type": "string"}, "links": _ref("links"), "styles": {
                   "type": "array", "items": {"type": "object", "required": ["id", "links"], "properties": {
                       "id": {"type": "string"}, "title": {"type": "string"}, "links": _ref("links")}}}}},
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


def _schema_responses(errors=(404,)) -> dict:
    out = {"200": {"description": "JSON Schema", "content": {_SCHEMA_JSON: {"schema": {"type": "object"}},
                                                            _HTML: {"schema": {"type": "string"}}}}}
    for status in errors:
        out[str(status)] = {"description": "Error", "content": {_JSON: {"schema": _ref("exception")},
                                                                 _HTML: {"schema": {"type": "string"}}}}
    return out


def document(catalog) -> dict:
    """The OpenAPI 3.0 document of /ogc for the collections in ``catalog``."""
    ids = [live.kind.id for live in catalog]
    collection_id = _param("collectionId", {"type": "string", "enum": ids}, "Collection (layer) id.", True, "path")
    crs_uris = [s.uri or url_for("ogc.crs_definition", name=s.key, _external=True) for s in systems.OGC]
    own_crs = [s.key for s in systems.OGC if s.uri is None]
    style_f = _param("f", {"type": "string", "enum": list(styles.FORMATS)},
                     "Style encoding: sld10 (OGC SLD 1.0) or qml (QGIS); default SLD, or as the Accept header asks.")
    style_media = {fmt.mimetype: {"schema": {"type": "string"}} for fmt in styles.FORMATS.values()}
    paths = {
        "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage", "parameters": [_F],
                      "responses": _responses(_ref("landingPage"))}},
        "/api": {"get": {"summary": "This API definition (OpenAPI 3.0; f=html: readable documentation)",
                         "operationId": "getAPI", "parameters": [_F], "responses": {"200": {
                             "description": "OK", "content": {"application/vnd.oai.openapi+json;version=3.0": {
                                 "schema": {"type": "object"}}, _HTML: {"schema": {"type": "string"}}}},
                             "400": _responses({}, errors=(400,))["400"]}}},
        "/conformance": {"get": {"summary": "Conformance classes", "operationId": "getConformance",
                                 "parameters": [_F], "responses": _responses(_ref("confClasses"))}},
        "/collections": {"get": {"summary": "Collections", "operationId": "getCollections", "parameters": [_F],
                                 "responses": _responses(_ref("collections"))}},
        "/collections/{collectionId}": {"get": {
            "summary": "One collection", "operationId": "describeCollection", "parameters": [collection_id, _F],
            "responses": _responses(_ref("collection"), errors=(400, 404))}},
        "/collections/{collectionId}/queryables": {"get": {
            "summary": "Fields the items can be filtered on", "operationId": "getQueryables",
            "parameters": [collection_id, _F], "responses": _schema_responses((400, 404))}},
        "/collections/{collectionId}/schema": {"get": {
            "summary": "The schema of the collection's features (OGC API - Features - Part 5, JSON Schema 2020-12)",
            "operationId": "getSchema", "parameters": [collection_id, _F], "responses": _schema_responses((400, 404))}},
        "/collections/{collectionId}/geojson-schema": {"get": {
            "summary": "The same schema as a JSON Schema of one GeoJSON Feature (linked as describedBy; GDAL types "
                       "its columns from it)",
            "operationId": "getGeoJSONSchema", "parameters": [collection_id],
            "responses": _schema_responses((404,))}},
        "/collections/{collectionId}/styles": {"get": {
            "summary": "The collection's styles (the map's), each as SLD 1.0 and QGIS QML",
            "operationId": "getStyles", "parameters": [collection_id, _F],
            "responses": _responses(_ref("styles"), errors=(400, 404))}},
        "/collections/{collectionId}/styles/{styleId}": {"get": {
            "summary": "One style as OGC SLD 1.0 or QGIS QML", "operationId": "getStyle",
            "parameters": [collection_id, _param("styleId", {"type": "string", "enum": [styles.DEFAULT]},
                                                 "Style id.", True, "path"), style_f],
            "responses": {"200": {"description": "The style", "content": style_media},
                          **{k: v for k, v in _responses({}, errors=(400, 404)).items() if k != "200"}}}},
    }
    for key in own_crs:
        paths[f"/crs/{key}"] = {"get": {
            "summary": f"What the coordinate system URI {key} means (not an EPSG CRS)", "operationId": f"getCrs_{key}",
            "parameters": [_F], "responses": _responses({"type": "object"})}}
    for live in catalog:
        cid = live.kind.id
        filters = [_param(f.name, fieldtypes.json_schema(f, title=False), f"Equality filter: {f.zh} {f.en}")
                   for f in query.filter_fields(live.kind)]
        filters.append(_param("id", {"type": "string"}, "Equality filter: the feature id"))
        paths[f"/collections/{cid}/items"] = {"get": {
            "summary": f"Features of {live.kind.en} ({live.kind.zh})", "operationId": f"getFeatures_{cid}",
            "tags": [cid], "parameters": [_param_ref("bbox"), _param_ref("bbox-crs"), _param_ref("limit"),
                                          _param_ref("offset"), *_SELECT, _SORTBY, _properties(live.kind), *filters,
                                          _param_ref("crs"), _F],
            # 429: HTML pages of features are rate-limited (HTML_RATE_LIMIT)
            "responses": _responses(_ref("featureCollection"), _GEOJSON, errors=(400, 429), headers=_CONTENT_CRS)}}
        paths[f"/collections/{cid}/items/{{featureId}}"] = {"get": {
            "summary": f"One feature of {live.kind.en}", "operationId": f"getFeature_{cid}", "tags": [cid],
            "parameters": [_param("featureId", {"type": "string"}, "Feature id.", True, "path"), _param_ref("crs"),
                           _F],
            "responses": _responses(_ref("feature"), _GEOJSON, errors=(400, 404, 429), headers=_CONTENT_CRS)}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "青岛消费场景地图 Qingdao Consumption-Scene Map — OGC API - Features", "version": "1.0.0",
                 "description": "The map's layers as OGC API - Features collections (Part 1: Core, Part 2: "
                                "coordinate systems by reference, Part 5: schemas), with each collection's style "
                                "as OGC SLD 1.0 and QGIS QML. Coordinates are WGS-84 longitude/latitude (CRS84) "
                                "unless `crs` asks for another: " + ", ".join(crs_uris) + "."},
        "servers": [{"url": url_for("ogc.landing", _external=True).rstrip("/")}],
        "paths": paths,
        "components": {"schemas": _SCHEMAS, "parameters": {**PARAMETERS, **_crs_parameters(crs_uris)}},
    }
