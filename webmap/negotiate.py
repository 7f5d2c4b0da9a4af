"""Choosing JSON or HTML for a request: ``f=json|html`` wins, then the Accept header (JSON by default); and which
encoding of a style (SLD or QML)."""

from __future__ import annotations

from flask import abort, request

FORMATS = ("json", "html")


def prefers_html() -> bool:
    """Whether the client asked for HTML (an unknown ``f`` counts as not)."""
    f = request.args.get("f")
    if f is not None:
        return f == "html"
    accept = request.accept_mimetypes
    best = accept.best_match(["application/json", "application/geo+json", "text/html"])
    return best == "text/html" and accept["text/html"] > accept["application/json"]


def wants_html() -> bool:
    """Like :func:`prefers_html`, refusing (400) an ``f`` that is neither json nor html."""
    f = request.args.get("f")
    if f is not None and f not in FORMATS:
        abort(400, f"不提供 f={f[:40]!r}，请用 f=json 或 f=html · f={f[:40]!r} is not offered here; use f=json or f=html")
    return prefers_html()


def style_format(formats: dict) -> str:
    """Which encoding of a style to send (``formats``: name -> an object with ``mimetype``): ``f=<name>`` wins,
    then the Accept header (``application/vnd.ogc.sld+xml``, ``application/vnd.qgis.qml``), else the first."""
    f = request.args.get("f")
    if f is not None:
        if f not in formats:
            abort(400, f"样式不提供 f={f[:40]!r} · f={f[:40]!r} is not offered for styles; use one of {', '.join(formats)}")
        return f
    by_type = {fmt.mimetype.split(";")[0]: name for name, fmt in formats.items()}
    return by_type.get(request.accept_mimetypes.best_match(list(by_type)), next(iter(formats)))
