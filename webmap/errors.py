"""Error responses: OGC exceptions under /ogc, JSON under /api, a page elsewhere; never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import NoReturn

from flask import abort, current_app, jsonify, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, RequestEntityTooLarge

from layers.query import QueryError

from .negotiate import prefers_html

log = logging.getLogger(__name__)

_OGC_CODES = {400: "InvalidParameterValue", 404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable",
              500: "ServerError"}


def _respond(status: int, title: str, detail: str):
    if request.path.startswith("/ogc") and not prefers_html():
        return jsonify(code=_OGC_CODES.get(status, title), description=detail), status
    if request.path.startswith("/api/"):
        return jsonify(status=status, title=title, detail=detail), status
    return render_template("error.html", status=status, title=title, detail=detail), status


def unknown_layer(layer_id: str, known: Iterable[str]) -> NoReturn:
    """The one answer to a URL naming no layer, on every path (/api, /ogc, /staff): 404, bilingual, listing
    the layers there are. The id is shown shortened and quoted (repr: no line breaks reach a header or page)."""
    shown = repr(str(layer_id)[:80])
    abort(404, f"没有此图层 {shown} · There is no layer {shown}; 图层 layers: {', '.join(known)}")


def handle_http(exc: HTTPException):
    if isinstance(exc, RequestEntityTooLarge):
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return _respond(413, exc.name, f"文件太大 The upload is larger than {limit // (1024 * 1024)} MB; nothing was stored")
    return _respond(exc.code or 500, exc.name, exc.description or "")


def handle_query_error(exc: QueryError):
    """A query parameter the domain refused (layers.query) is the client's mistake: 400, saying which."""
    return _respond(400, BadRequest().name, str(exc))


def handle_unexpected(exc: Exception):
    log.exception("unhandled error on %s", request.path)
    return _respond(500, InternalServerError().name, "服务器内部错误，已记录。 An internal error occurred and was logged.")


def init_app(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(QueryError, handle_query_error)
    app.register_error_handler(Exception, handle_unexpected)
