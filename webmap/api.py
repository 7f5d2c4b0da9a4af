"""/api/layers: the live layers as GeoJSON, pre-serialized, with ETag and gzip."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from layers.coords import SYSTEMS

bp = Blueprint("api", __name__, url_prefix="/api")


def _catalog():
    return current_app.extensions["catalog"]


@bp.get("/layers")
def index():
    return jsonify(layers=[{
        "id": live.kind.id, "zh": live.kind.zh, "en": live.kind.en, "context": live.kind.context,
        "count": live.count, "bounds": live.bounds, "url": url_for("api.layer", layer_id=live.kind.id, _external=False),
    } for live in _catalog()])


@bp.get("/layers/<layer_id>")
def layer(layer_id: str):
    if layer_id not in _catalog():
        abort(404, f"no layer {layer_id!r}; known layers: {', '.join(live.kind.id for live in _catalog())}")
    crs = request.args.get("crs", "wgs84")
    if crs not in SYSTEMS:
        abort(400, f"crs={crs!r} is not supported; use one of {', '.join(SYSTEMS)} (default wgs84)")
    encoded = _catalog().get(layer_id).encoding(crs)
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(encoded.gzipped if gzip_ok else encoded.body, mimetype="application/geo+json")
    if gzip_ok:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(f"{encoded.etag}-{'gz' if gzip_ok else 'id'}")
    return response.make_conditional(request)
