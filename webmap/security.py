"""HTTP hardening in one place: security headers (Flask-Talisman: a Content-Security-Policy with a nonce per
response for our inline map scripts, nosniff, frame-ancestors/X-Frame-Options, Referrer-Policy), the
reverse-proxy headers trusted only from configured proxies (ProxyFix), and the public address the app
writes its absolute links with (PUBLIC_URL), so no request's Host header can redirect them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
from urllib.parse import urlsplit

import folium
from flask import request
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)


def tile_sources(basemaps) -> list[str]:
    """The origins the map may load tile images from: each offered basemap's URL template, its ``{s}``
    subdomain label widened to a wildcard (``https://webrd0{s}.is.autonavi.com`` → ``https://*.is.autonavi.com``)."""
    sources = []
    for basemap in basemaps.values():
        if not basemap.url:
            continue
        parts = urlsplit(basemap.url)
        if not parts.hostname:  # a path on this server: 'self'
            continue
        labels = ["*" if "{" in label else label for label in parts.hostname.split(".")]
        while labels.count("*") > 1 or (labels and labels[0] != "*" and "*" in labels):
            labels.pop(0)  # CSP allows one leading wildcard only
        host = ".".join(labels) + (f":{parts.port}" if parts.port else "")
        sources.append(f"{parts.scheme}://{host}")
    return sorted(set(sources))


@functools.cache
def folium_header_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline scripts folium writes into every map's <head> (its L_NO_TOUCH/L_DISABLE_3D
    switches, the same for every map): allowed by hash, while the map's own script carries the nonce."""
    fmap = folium.Map(tiles=None)
    root = fmap.get_root()
    root.render()
    bodies = re.findall(r"<script>(.*?)</script>", root.header.render(), re.S)
    return tuple(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in bodies)


def content_security_policy(basemaps) -> dict:
    return {
        "default-src": "'self'",
        # plus the response's nonce, for the map script folium composes
        "script-src": ["'self'", *folium_header_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],  # folium's and Leaflet's inline styles; no script runs from CSS
        "img-src": ["'self'", "data:", *tile_sources(basemaps)],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


class PublicURL:
    """WSGI middleware: every request is seen as made to ``url`` (scheme and host), whatever Host header or
    forwarded headers it came with, so absolute links (OGC API, downloads) always point at the public site."""

    def __init__(self, wsgi_app, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise SystemExit(f"PUBLIC_URL={url!r} must be a scheme and a host, e.g. https://map.example.gov.cn")
        self.wsgi_app, self.scheme, self.host = wsgi_app, parts.scheme, parts.netloc
        self.port = str(parts.port or (443 if parts.scheme == "https" else 80))

    def __call__(self, environ, start_response):
        environ["wsgi.url_scheme"] = self.scheme
        environ["HTTP_HOST"] = self.host
        environ["SERVER_NAME"] = self.host.rsplit(":", 1)[0] if not self.host.endswith("]") else self.host
        environ["SERVER_PORT"] = self.port
        return self.wsgi_app(environ, start_response)


def _no_store(response):
    """Staff pages hold names, drafts and data before publication: no browser or proxy may keep a copy."""
    if request.path.startswith("/staff"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app, basemaps) -> None:
    proxies = int(app.config["TRUSTED_PROXIES"] or 0)
    if proxies:  # X-Forwarded-For/-Proto/-Host are believed only from this many proxies in front of us
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if app.config["PUBLIC_URL"]:
        app.wsgi_app = PublicURL(app.wsgi_app, app.config["PUBLIC_URL"])
    elif not app.testing:
        log.info("PUBLIC_URL is not set: absolute links follow each request's Host header (set it in production)")
    Talisman(app, force_https=False, strict_transport_security=True,
             content_security_policy=content_security_policy(basemaps), content_security_policy_nonce_in=["script-src"],
             frame_options="DENY", referrer_policy="strict-origin-when-cross-origin",
             permissions_policy={"geolocation": "(self)", "camera": "()", "microphone": "()"},
             session_cookie_secure=app.config["SECURE_COOKIES"], session_cookie_http_only=True,
             x_content_type_options=True)
    app.after_request(_no_store)
