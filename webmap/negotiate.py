"""Choosing JSON or HTML for a request: ``f=json|html`` wins, then the Accept header (JSON by default)."""

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
        abort(400, f"f={f!r} is not offered here; use f=json or f=html")
    return prefers_html()
