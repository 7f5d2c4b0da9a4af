"""Front-end assets: every file a page loads comes from node_modules (installed from the npm registry by
``npm ci`` with package-lock.json) and is served by this app, never from a public CDN.

folium's elements name their assets (``default_js``/``default_css``); :data:`VENDOR` maps each name the
map uses to a file in node_modules, and :data:`OMITTED` lists folium's defaults the map does not need.
A name in neither raises an error that says what to add, so a new plugin cannot slip a CDN link in.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory, url_for

#: folium asset name -> path under node_modules.
VENDOR = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "Control_locate_min_js": "leaflet.locatecontrol/dist/L.Control.Locate.min.js",
    "Control_locate_min_css": "leaflet.locatecontrol/dist/L.Control.Locate.min.css",
    "Leaflet.Search.js": "leaflet-search/dist/leaflet-search.min.js",
    "Leaflet.Search.css": "leaflet-search/dist/leaflet-search.min.css",
    "leaflet_draw_js": "leaflet-draw/dist/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/dist/leaflet.draw.css",
    # not folium's: the planning desk's charts (templates/planning/_charts_head.html)
    "echarts": "echarts/dist/echarts.min.js",
}

#: folium defaults left out: they serve Bootstrap popups and awesome-markers icons, which this map does
#: not use (its popups and markers are built by static/js/scenemap.js); dropping them saves ~450 kB.
OMITTED = {"jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
           "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"}

#: Packages whose files may be served (their CSS refers to sibling images and fonts).
PACKAGES = sorted({path.split("/")[0] for path in VENDOR.values()})
_SERVED_SUFFIXES = {".js", ".css", ".png", ".svg", ".gif", ".jpg", ".woff", ".woff2"}

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


class UnknownAsset(LookupError):
    """A folium element asks for an asset that is neither vendored nor omitted."""


def _walk(element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def localize(root) -> None:
    """Point every folium element under ``root`` at the app's own copies of its JS and CSS."""
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if name in OMITTED:
                    continue
                if name not in VENDOR:
                    raise UnknownAsset(
                        f"{type(element).__name__} needs asset {name!r} ({url}); add its npm package to "
                        "package.json and map the name in webmap/assets.py VENDOR (or OMITTED)")
                local.append((name, url_for("vendor.file", path=VENDOR[name])))
            setattr(element, attr, local)


@bp.route("/<path:path>")
def file(path: str):
    package = path.split("/")[0]
    if package not in PACKAGES or Path(path).suffix not in _SERVED_SUFFIXES:
        abort(404)
    response = send_from_directory(current_app.config["NODE_MODULES"], path, max_age=86400)
    return response


def check_installed(node_modules: str | Path) -> list[str]:
    """Return the vendored files missing from ``node_modules`` (empty when ``npm ci`` has run)."""
    return [p for p in VENDOR.values() if not (Path(node_modules) / p).is_file()]
