"""The map shell: folium composes the map (tiles, empty overlay groups, controls); the browser fills the
overlays from /api/layers/<id> (static/js/scenemap.js). No layer data is embedded in the page."""

from __future__ import annotations

import json
from dataclasses import dataclass

import folium
import numpy as np
import shapely
from flask import url_for
from folium.plugins import Draw, Fullscreen, LocateControl, MarkerCluster, Search
from folium.template import Template

from layers import area, export
from layers.registry import PUBLIC_KINDS

from . import assets
from .basemaps import Basemap


class TextSearch(Search):
    """folium's Search, with result tips set as text (leaflet-search's default puts them in innerHTML),
    searching as Chinese input methods type, and the found feature revealed by SceneMap.reveal (its
    group shown, popup opened)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = new L.Control.Search({
            layer: {{ this.layer.get_name() }},
            propertyName: {{ this.search_label|tojson }},
            textPlaceholder: {{ this.placeholder|tojson }},
            textErr: {{ this.text_err|tojson }},
            textCancel: {{ this.text_cancel|tojson }},
            position: {{ this.position|tojson }},
            collapsed: {{ this.collapsed|tojson }},
            initial: false, marker: false, autoCollapse: true, firstTipSubmit: true,
            buildTip: function (text) { var li = document.createElement('li'); li.textContent = text; return li; },
            moveToLocation: function (latlng) { window.SceneMap.reveal(latlng.layer); }
        });
        {{ this._parent.get_name() }}.addControl({{ this.get_name() }});
        // Chinese input methods (and phone keyboards) change the text without key events: search on input too.
        L.DomEvent.on({{ this.get_name() }}._input, 'input', function (e) {
            if (!e.isComposing) { {{ this.get_name() }}._handleKeypress({ keyCode: 0 }); }
        });
        {% endmacro %}
    """)

    def __init__(self, layer, search_label, placeholder, text_err, text_cancel, **kwargs):
        super().__init__(layer, search_label=search_label, placeholder=placeholder, **kwargs)
        self.text_err, self.text_cancel = text_err, text_cancel

    def test_params(self, keys):  # the searched group is filled in the browser, so there is nothing to check here
        pass


@dataclass(frozen=True)
class MapShell:
    header: str
    html: str
    script: str
    config: dict


def _add_tiles(fmap, basemap: Basemap) -> None:
    if basemap.url:
        folium.TileLayer(basemap.url, attr=basemap.attribution, name=f"{basemap.zh} {basemap.en}",
                         max_zoom=basemap.max_zoom, subdomains=basemap.subdomains, control=False).add_to(fmap)


def _render(fmap, config: dict) -> MapShell:
    """Point the map's assets at our own copies, render it once, and keep the parts our templates place."""
    assets.localize(fmap)
    root = fmap.get_root()
    root.render()
    return MapShell(root.header.render(), root.html.render(), root.script.render(), config)


def label(kind) -> str:
    return f"{kind.zh} {kind.en}"


def build(basemap: Basemap) -> MapShell:
    """Compose the map for ``basemap``; must run inside an app context (asset URLs)."""
    fmap = folium.Map(location=area.CENTER, zoom_start=area.ZOOM, tiles=None, control_scale=True, maxZoom=basemap.max_zoom,
                      min_zoom=7, max_bounds=True, min_lat=area.BOUNDS[1] - 1, max_lat=area.BOUNDS[3] + 1,
                      min_lon=area.BOUNDS[0] - 1, max_lon=area.BOUNDS[2] + 1)
    _add_tiles(fmap, basemap)
    groups = {}
    for kind in PUBLIC_KINDS:  # the public map: never a staff-only layer
        if kind.is_point_layer:
            group = MarkerCluster(name=label(kind), show=kind.shown,
                                  options={"showCoverageOnHover": False, "maxClusterRadius": 40})
        else:
            group = folium.FeatureGroup(name=label(kind), show=kind.shown)
        groups[kind.id] = group.add_to(fmap)
    searchable = folium.FeatureGroup(name="search", control=False, show=False).add_to(fmap)
    TextSearch(searchable, search_label="searchLabel", placeholder="搜索名称 Search by name",
               text_err="未找到 Not found", text_cancel="取消 Cancel", position="topright",
               collapsed=False).add_to(fmap)
    Fullscreen(position="topleft", title="全屏 Full screen", title_cancel="退出全屏 Exit full screen").add_to(fmap)
    LocateControl(position="topleft", strings={"title": "显示我的位置 Show my location"},
                  flyTo=True, showPopup=False).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    config = {
        "map": fmap.get_name(), "search": searchable.get_name(),
        "basemap": {"id": basemap.id, "crs": basemap.crs, "tiles": bool(basemap.url)},
        "download": {"url": url_for("api.download_view"),
                     "formats": [[name, fmt.title] for name, fmt in export.FORMATS.items()]},
        "layers": [dict(kind.to_public(), group=groups[kind.id].get_name(),
                        url=url_for("api.layer", layer_id=kind.id, crs=None if basemap.crs == "wgs84" else basemap.crs))
                   for kind in PUBLIC_KINDS],
    }
    return _render(fmap, config)


#: Most vertices a preview map carries in all, whatever the features (the JSON answers stay exact).
PREVIEW_VERTEX_BUDGET = 5000


def _simplify(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker (25x faster than GEOS's topology-preserving simplifier at 10^6 vertices); where that
    breaks a geometry (invalid, emptied, or of another type), the topology-preserving one for that geometry."""
    fast = shapely.simplify(geoms, tolerance, preserve_topology=False)
    broken = (~shapely.is_valid(fast) | shapely.is_empty(fast)
              | (shapely.get_type_id(fast) != shapely.get_type_id(geoms)))
    if broken.any():
        fast[broken] = shapely.simplify(geoms[broken], tolerance, preserve_topology=True)
    return fast


def fit_vertices(geoms: np.ndarray, budget: int = PREVIEW_VERTEX_BUDGET) -> np.ndarray:
    """``geoms`` with at most ``budget`` vertices in all: as they are when they fit; else simplified with a
    growing tolerance, each staying valid (see :func:`_simplify`); else (too many parts or holes for that)
    their bounding boxes; else (too many features, e.g. points) an evenly spaced sample of those."""
    return _fit(geoms, budget)[0]


def _fit(geoms: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit_vertices`, and the positions in ``geoms`` of what it drew."""
    everything = np.arange(len(geoms))
    if shapely.get_num_coordinates(geoms).sum() <= budget:
        return geoms, everything
    minx, miny, maxx, maxy = shapely.total_bounds(geoms).tolist()
    extent = max(maxx - minx, maxy - miny)
    tolerance = extent / budget
    while tolerance < extent:
        simplified = _simplify(geoms, tolerance)
        if shapely.get_num_coordinates(simplified).sum() <= budget:
            return simplified, everything
        tolerance *= 2
    boxes = shapely.envelope(geoms)
    counts = shapely.get_num_coordinates(boxes)
    if counts.sum() <= budget:
        return boxes, everything
    keep = np.linspace(0, len(boxes) - 1, budget // int(counts.max())).round().astype(int)
    return boxes[keep], keep


#: Styles of the staff preview's context: the district outlines, and the layer's live features (grey, under
#: the new ones, which keep the kind's own style).
DISTRICT_OUTLINE = {"color": "#5b6770", "weight": 1, "fill": False, "dashArray": "4 3"}
LIVE_STYLE = {"color": "#8a8f94", "weight": 2, "fillColor": "#c9cdd1", "fillOpacity": 0.3, "radius": 5, "opacity": 0.8}


def _shapes(geoms: np.ndarray, style: dict, name: str):
    """A folium GeoJson of bare geometries: each feature carries only its number (``i``), never text."""
    shapes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"i": i}, "geometry": json.loads(g)}
        for i, g in enumerate(shapely.to_geojson(geoms))]}
    style = {"fill": True, **style}  # folium's CircleMarker draws rings unless told to fill (points were invisible)
    return folium.GeoJson(shapes, name=name, style_function=lambda _: style,
                          marker=folium.CircleMarker(radius=style.get("radius", 6), fill=style["fill"]))


def preview(kind, geoms, budget: int | None = PREVIEW_VERTEX_BUDGET, *, names=None, live=None,
            districts=None) -> MapShell:
    """A small map of some features (shapely geometries) of a kind, for the OGC and staff pages: no tiles,
    framed to the features, at most ``budget`` vertices in all (see :func:`fit_vertices`; its config says
    ``simplified`` when the drawing is not exact).

    The staff preview adds, under the features, the layer's ``live`` features and the ``districts``
    (each ``(geometries, names)``). ``names`` (and the context's) are not put in the map: the config lists the
    drawn features' names by group for static/js/preview.js, which shows them as tooltips, as text."""
    fmap = folium.Map(tiles=None, control_scale=True, maxZoom=19, location=area.CENTER, zoom_start=area.ZOOM)
    groups = [("districts", districts, DISTRICT_OUTLINE), ("live", live, LIVE_STYLE)]
    groups = [(role, part, style) for role, part, style in groups if part is not None and len(part[0])]
    # each context group gets a fifth of the budget, the new features the rest
    share = budget // 5 if budget is not None else None
    config = {"simplified": False, "groups": {}, "names": {}}
    for role, (shapes, labels), style in groups:
        drawn, kept = _fit(shapes, share) if share is not None else (shapes, np.arange(len(shapes)))
        layer = _shapes(drawn, style, role).add_to(fmap)
        config["groups"][role], config["names"][role] = layer.get_name(), [labels[k] for k in kept]
    own = budget - share * len(groups) if budget is not None else None
    drawn, kept = _fit(geoms, own) if own is not None and len(geoms) else (geoms, np.arange(len(geoms)))
    if len(geoms):
        layer = _shapes(drawn, dict(kind.style), "new").add_to(fmap)
        config["groups"]["new"] = layer.get_name()
        config["names"]["new"] = [names[k] for k in kept] if names is not None else []
        config["simplified"] = drawn is not geoms
        minx, miny, maxx, maxy = shapely.total_bounds(geoms).tolist()
        fmap.fit_bounds([[miny, minx], [maxy, maxx]], max_zoom=16)
    return _render(fmap, config)


_DRAW_TOOLS = {"Point": {"marker": True}, "LineString": {"polyline": True},
               "Polygon": {"polygon": {"allowIntersection": False, "showArea": True}, "rectangle": True}}


def editor(kind, basemap: Basemap) -> MapShell:
    """The map for editing one layer: folium's Draw plugin (Leaflet.draw) on an empty group that
    static/js/editor.js fills with the layer's features and saves from."""
    fmap = folium.Map(location=area.CENTER, zoom_start=area.ZOOM, tiles=None, control_scale=True,
                      maxZoom=basemap.max_zoom)
    _add_tiles(fmap, basemap)
    editable = folium.FeatureGroup(name=label(kind), control=False).add_to(fmap)
    tools = {"polyline": False, "polygon": False, "rectangle": False, "circle": False, "marker": False,
             "circlemarker": False}
    for gtype in kind.geometry_types:
        tools.update(_DRAW_TOOLS.get(gtype.replace("Multi", ""), {}))
    Draw(feature_group=editable, draw_options=tools, edit_options={"poly": {"allowIntersection": False}},
         position="topleft").add_to(fmap)
    return _render(fmap, {"map": fmap.get_name(), "group": editable.get_name(), "kind": kind.to_public()})


def checker(basemap: Basemap) -> MapShell:
    """The planning desk's check map: Leaflet.draw's marker and polygon tools (one site at a time, nothing
    editable: a new drawing replaces it) on an empty group; static/js/planning-check.js adds the context
    layers (pilots, protected places, complaints) and draws each check's buffers and distance lines."""
    fmap = folium.Map(location=area.CENTER, zoom_start=area.ZOOM, tiles=None, control_scale=True,
                      maxZoom=basemap.max_zoom)
    _add_tiles(fmap, basemap)
    site = folium.FeatureGroup(name="site", control=False).add_to(fmap)
    tools = {"polyline": False, "rectangle": False, "circle": False, "circlemarker": False, "marker": True,
             "polygon": {"allowIntersection": False, "showArea": True}}
    Draw(feature_group=site, draw_options=tools, edit_options={"edit": False, "remove": False},
         show_geometry_on_click=False, position="topleft").add_to(fmap)
    return _render(fmap, {"map": fmap.get_name(), "group": site.get_name()})
