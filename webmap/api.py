"""/api/layers: the live layers as GeoJSON, pre-serialized, with ETag and gzip; downloads in GIS formats
(whole layers from the export cache, selections built per request), rate-limited."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_file, url_for

from layers import export, query
from layers.coords import SYSTEMS

from .auth import limiter
from .db import get_catalog, get_exports, get_live

bp = Blueprint("api", __name__, url_prefix="/api")

#: Downloads (a file per request, or a build) are limited per client address; see DOWNLOAD_RATE_LIMIT.
download_limit = limiter.shared_limit(
    lambda: current_app.config["DOWNLOAD_RATE_LIMIT"], scope="downloads",
    error_message="下载太频繁，请稍后再试。 Too many downloads from your address: please wait a minute and try again.")


def _catalog():
    return get_catalog()


@bp.url_value_preprocessor
def _known_layer(_endpoint, values) -> None:
    """Every view that takes a layer id answers an unknown one the same way (db.get_live: 404, listing them)."""
    if values and "layer_id" in values:
        get_live(values["layer_id"])


@bp.get("/layers")
def index():
    return jsonify(layers=[{
        "id": live.kind.id, "zh": live.kind.zh, "en": live.kind.en, "context": live.kind.context,
        "count": live.count, "bounds": live.bounds, "url": url_for("api.layer", layer_id=live.kind.id, _external=False),
    } for live in _catalog()])


@bp.get("/layers/<layer_id>")
def layer(layer_id: str):
    live = get_live(layer_id)
    crs = request.args.get("crs", "wgs84")
    if crs not in SYSTEMS:
        abort(400, f"crs={crs!r} is not supported; use one of {', '.join(SYSTEMS)} (default wgs84)")
    encoded = live.encoding(crs)
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(encoded.gzipped if gzip_ok else encoded.body, mimetype="application/geo+json")
    if gzip_ok:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(f"{encoded.etag}-{'gz' if gzip_ok else 'id'}")
    return response.make_conditional(request)


#: On every Shapefile download: how many texts were cut to the format's 254 bytes (the zip's
#: ``<layer>.truncated.txt`` names them), so a client can tell without unpacking; 0 when none.
CUT_TEXTS_HEADER = "Shapefile-Truncated-Texts"


def _shapefile(fmt: str) -> bool:
    return export.FORMATS[fmt].driver == "ESRI Shapefile"


def _attachment(data: bytes, filename: str, mimetype: str, fmt: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if _shapefile(fmt):
        response.headers[CUT_TEXTS_HEADER] = str(export.cut_texts(data))
    return response


def _format() -> str:
    name = request.args.get("format", "geojson")
    if name not in export.FORMATS:
        abort(400, f"format={name!r} is not offered; choose one of {', '.join(export.FORMATS)}")
    return name


def _send_whole(live, fmt: str) -> Response:
    """The whole live version of a layer from the export cache (built on first use), streamed from its
    file, with an ETag and Last-Modified so a client that has it gets 304."""
    cached = get_exports().open(live.kind, live.layer, live.version, live.digest, fmt,
                                                    f"qingdao-{live.kind.id}")
    response = send_file(cached.file, mimetype=cached.mimetype, as_attachment=True, download_name=cached.filename,
                         etag=f"{live.kind.id}-v{live.version}-{live.digest}-r{export.EXPORT_REVISION}-{fmt}",
                         last_modified=cached.mtime,
                         conditional=False)
    response.content_length = cached.size
    if _shapefile(fmt):
        response.headers[CUT_TEXTS_HEADER] = str(cached.cut_texts)
    return response.make_conditional(request, accept_ranges=True, complete_length=cached.size)


@bp.get("/layers/<layer_id>/download")
@download_limit
def download(layer_id: str):
    """One layer as a file: whole from the export cache, or filtered by bbox and field values, built now."""
    live = get_live(layer_id)
    fmt = _format()
    _can_hold(live.kind, fmt)
    q = query.parse(live.kind, request.args.to_dict(flat=False), paging=False, other=("format",))
    selection = live.index.select(**q.selection_args())
    if selection.is_all:
        return _send_whole(live, fmt)
    _within_budget(selection.count)
    return _attachment(*export.export([(live.kind, live.layer, selection.positions)], fmt, f"qingdao-{layer_id}"),
                       fmt)


def _can_hold(kind, fmt: str) -> None:
    """400 when the format cannot hold the layer (a Shapefile of mixed geometry types: export.refusal)."""
    refused = export.refusal(kind, fmt)
    if refused:
        abort(400, refused)


def _within_budget(count: int) -> None:
    """Downloads built per request (filtered, or "what I see") hold at most DOWNLOAD_MAX_FEATURES features:
    whole layers come from the export cache, and the OGC API pages through anything larger."""
    budget = current_app.config["DOWNLOAD_MAX_FEATURES"]
    if count > budget:
        abort(400, f"所选范围内要素过多（{count:,} 个，最多 {budget:,} 个）：请缩小范围，或下载整个图层 · "
                   f"{count:,} features selected, at most {budget:,} per filtered download: zoom in, download the "
                   "whole layer (/api/layers/<id>/download), or page through /ogc")


@bp.get("/download")
@download_limit
def download_view():
    """Several layers within a bbox ("download what I see"): one GeoPackage, or a zip of files."""
    fmt = _format()
    unknown = set(request.args) - {"layers", "bbox", "format"}
    if unknown:
        abort(400, f"unknown parameter {sorted(unknown)[0]!r}; this download accepts layers, bbox, format")
    ids = [i for i in request.args.get("layers", "").split(",") if i]
    if not ids or any(i not in _catalog() for i in ids):
        abort(400, f"layers must list layer ids separated by commas, from: {', '.join(l.kind.id for l in _catalog())}")
    for layer_id in ids:
        _can_hold(_catalog().get(layer_id).kind, fmt)
    bbox = query.parse_bbox(request.args["bbox"]) if "bbox" in request.args else None
    selections = []
    for layer_id in dict.fromkeys(ids):
        live = _catalog().get(layer_id)
        selections.append((live.kind, live.layer, live.index.select(bbox).positions))
    _within_budget(sum(len(positions) for _, _, positions in selections))
    return _attachment(*export.export(selections, fmt, "qingdao-view"), fmt)


def init_app(app) -> None:
    """The export cache: EXPORT_CACHE_DIR, by default instance/exports (a fresh temporary folder, removed
    with the app, when testing)."""
    directory = app.config["EXPORT_CACHE_DIR"]
    if not directory and app.testing:
        directory = tempfile.mkdtemp(prefix="scenemap-exports-")
        weakref.finalize(app, shutil.rmtree, directory, True)
    app.extensions["exports"] = export.ExportCache(directory or Path(app.instance_path) / "exports")
