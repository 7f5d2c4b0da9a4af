"""Printable reports of the planning desk: what a site's check sheet and a district summary show, their static
maps (drawn without tiles, with matplotlib's Agg backend through geopandas: district outlines, the site, each
distance rule's buffer, the protected places coloured by category, distance lines), and the PDF made from
their HTML by WeasyPrint with a URL fetcher that fetches nothing but ``data:`` URIs.

Framework-free: the web views and the CLI render the same Jinja template and call :func:`pdf`.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
from dataclasses import dataclass

import numpy as np
import shapely

from .context import to_metric
from .kinds import CATEGORIES
from .results import STATUSES
from .tables import CheckAll, SiteRow

log = logging.getLogger(__name__)

#: The font every report and map uses for Chinese text (Debian fonts-wqy-microhei).
FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT = "WenQuanYi Micro Hei"
#: Map colours: protected places by category, verdicts by status.
CATEGORY_COLOURS = {"residential": "#e9c46a", "school": "#2a9d8f", "kindergarten": "#57cc99", "hospital": "#e63946",
                    "elderly_care": "#b5179e", "office_unit": "#6c757d", "other": "#adb5bd"}
STATUS_COLOURS = {"pass": "#2b9348", "warn": "#f4a261", "fail": "#d00000", "cannot_assess": "#6c757d"}
#: The static map's size in pixels (width, height) at DPI.
MAP_SIZE, DPI = (900, 600), 100
#: How far beyond the largest buffer (or nearest place) the site map reaches, in metres.
MARGIN_M = 40.0

_DRAW = threading.Lock()  # matplotlib's font cache and rc settings are process-wide


# --- the static maps -------------------------------------------------------------------------------------

def _matplotlib():
    import matplotlib
    from matplotlib import font_manager

    if FONT not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(FONT_FILE)
    return matplotlib


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    out = io.BytesIO()
    canvas.print_png(out)
    return out.getvalue()


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(MAP_SIZE[0] / DPI, MAP_SIZE[1] / DPI), dpi=DPI)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig, ax


def _districts(ax, districts_layer, extent, names: bool = True) -> list[str]:
    """District outlines within ``extent`` (a metric box), named at their representative point when
    ``names``; returns the names of the districts drawn."""
    import geopandas as gpd

    if districts_layer is None or not len(districts_layer):
        return []
    metric = to_metric(districts_layer.geometries)
    near = shapely.intersects(metric, extent)
    if not near.any():
        return []
    gpd.GeoSeries(metric[near]).boundary.plot(ax=ax, color="#457b9d", linewidth=1.2, linestyle="-", zorder=1)
    drawn = []
    for geometry, props in zip(metric[near], np.array(districts_layer.properties, dtype=object)[near]):
        drawn.append(props.get("name", ""))
        label = geometry.representative_point()
        if names and shapely.contains(extent, label):
            ax.annotate(props.get("name", ""), (label.x, label.y), color="#457b9d", fontsize=11, alpha=0.8,
                        ha="center", zorder=1)
    return drawn


def _fit(extent, ratio: float = MAP_SIZE[0] / MAP_SIZE[1]):
    """``extent`` widened (or heightened) to the map's shape, around its centre."""
    minx, miny, maxx, maxy = extent.bounds
    cx, cy, w, h = (minx + maxx) / 2, (miny + maxy) / 2, maxx - minx, maxy - miny
    w, h = max(w, h * ratio), max(h, w / ratio)
    return shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _finish(ax, extent) -> None:
    minx, miny, maxx, maxy = extent.bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_xlabel("")
    ax.set_ylabel("")
    _scale_bar(ax, extent)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85)


def _scale_bar(ax, extent) -> None:
    minx, miny, maxx, maxy = extent.bounds
    width = maxx - minx
    length = next(v for v in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000) if v >= width / 6)
    x, y = minx + width * 0.04, miny + (maxy - miny) * 0.05
    ax.plot([x, x + length], [y, y], color="black", linewidth=3, zorder=6)
    ax.annotate(f"{length:g} m" if length < 1000 else f"{length / 1000:g} km", (x + length / 2, y),
                xytext=(0, 4), textcoords="offset points", ha="center", fontsize=9, zorder=6)


def site_map(row: SiteRow, geometry, report: CheckAll, places_layer, districts_layer) -> bytes:
    """The site's map as PNG (MAP_SIZE): districts, the site, each distance rule's buffer (labelled with its
    rule and distance), the protected places within reach coloured by category, a solid line to each place a
    verdict names, ending in a marker and numbered as in the sheet's table of nearest places (the distances are
    in that table, not on the map, so no label overprints another). In EPSG:4549 metres; no tiles, nothing
    fetched."""
    matplotlib = _matplotlib()
    with _DRAW, matplotlib.rc_context({"font.family": FONT, "axes.unicode_minus": False}):
        return _png(site_figure(row, geometry, report, places_layer, districts_layer))


def _nearest_first(row: SiteRow) -> list:
    """The places the verdicts name, each once at its least distance, nearest first (the sheet's numbering)."""
    named: dict = {}
    for verdict in row.result.verdicts:
        for place in verdict.nearest:
            if place.id not in named or place.distance_m < named[place.id].distance_m:
                named[place.id] = place
    return sorted(named.values(), key=lambda p: p.distance_m)


def site_figure(row: SiteRow, geometry, report: CheckAll, places_layer, districts_layer):
    """The site map's matplotlib Figure (call under :data:`_DRAW` with the report font, as site_map does)."""
    import geopandas as gpd

    site = to_metric(np.array([geometry], dtype=object))[0]
    distances = [(rule.id, rule.param("distance_m")) for rule in report.run.ruleset if rule.param("distance_m")]
    named = _nearest_first(row)
    reach = max([d for _r, d in distances] + [n.distance_m for n in named] + [60.0]) + MARGIN_M
    extent = _fit(shapely.box(*site.buffer(reach).bounds))
    centre = site.centroid
    fig, ax = _figure()
    drawn = _districts(ax, districts_layer, extent, names=False)
    if drawn:
        ax.annotate("区市 District: " + "、".join(drawn), (0.01, 0.98), xycoords="axes fraction", va="top",
                    fontsize=10, color="#457b9d", zorder=6)
    directions = []  # unit vectors from the site to each numbered place
    if places_layer is not None and len(places_layer):
        metric = to_metric(places_layer.geometries)
        near = np.flatnonzero(shapely.intersects(metric, extent))
        cats = [places_layer.properties[i].get("category") for i in near]
        for category in dict.fromkeys(cats):
            mine = [metric[i] for i, c in zip(near, cats) if c == category]
            colour = CATEGORY_COLOURS.get(category, "#adb5bd")
            gpd.GeoSeries(mine).plot(ax=ax, color=colour, edgecolor="#333333", linewidth=0.6, alpha=0.75,
                                     markersize=60, zorder=2,
                                     label=f"{CATEGORIES.get(category, (category, category))[0]} "
                                           f"{CATEGORIES.get(category, (category, category))[1]}")
        ids = list(places_layer.ids)
        for number, place in enumerate(named, 1):
            if place.id not in ids:
                continue
            line = shapely.shortest_line(site, metric[ids.index(place.id)])
            xs, ys = line.xy
            ax.plot(xs, ys, color="#1d3557", linewidth=2.2, solid_capstyle="round", zorder=4)
            ax.plot([xs[-1]], [ys[-1]], marker="o", markersize=5, color="#1d3557", zorder=4)
            dx, dy = xs[-1] - centre.x, ys[-1] - centre.y
            if not dx and not dy:  # the site touches the place: point the label up
                dx, dy = 0.0, 1.0
            length = float(np.hypot(dx, dy))
            directions.append((dx / length, dy / length))
            # the number sits 28 points beyond the place end, away from the site, with an arrow to that end
            ax.annotate(str(number), (xs[-1], ys[-1]), xytext=(28 * dx / length, 28 * dy / length),
                        textcoords="offset points", ha="center", va="center", fontsize=10,
                        color="white", zorder=7,
                        bbox={"boxstyle": "circle,pad=0.25", "fc": "#1d3557", "ec": "white"},
                        arrowprops={"arrowstyle": "-|>", "color": "#1d3557", "lw": 1.2, "shrinkA": 0, "shrinkB": 2})
    dashes = ("--", "-.", ":", (0, (5, 1)))
    rings: dict[float, list[str]] = {}
    for rule_id, distance in distances:
        rings.setdefault(distance, []).append(rule_id)
    for n, (distance, rule_ids) in enumerate(sorted(rings.items())):
        ring = site.buffer(distance)
        gpd.GeoSeries([ring]).boundary.plot(ax=ax, color="#e76f51", linewidth=1, linestyle=dashes[n % 4], zorder=3)
        top = ring.bounds
        ax.annotate(f"{'/'.join(rule_ids)} {distance:g} m", ((top[0] + top[2]) / 2, top[3]), fontsize=8,
                    ha="center", va="bottom", color="#e76f51", zorder=5)
    gpd.GeoSeries([site]).plot(ax=ax, color=STATUS_COLOURS[row.status], edgecolor="black", linewidth=1.2,
                               markersize=120, marker="*", zorder=5)
    # the site's name goes on the side away from the numbered places (below-right when there are none)
    ux, uy = (-sum(d[0] for d in directions), -sum(d[1] for d in directions)) if directions else (0.6, -0.8)
    norm = float(np.hypot(ux, uy)) or 1.0
    ux, uy = (ux / norm, uy / norm) if norm > 1e-9 else (0.6, -0.8)
    ax.annotate(row.name, (centre.x, centre.y), xytext=(26 * ux, 26 * uy), textcoords="offset points",
                ha="left" if ux > 0.3 else "right" if ux < -0.3 else "center",
                va="bottom" if uy > 0.3 else "top" if uy < -0.3 else "center", fontsize=11, zorder=6,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
    _finish(ax, extent)
    return fig


def district_map(rows: list[SiteRow], report: CheckAll, districts_layer, district: str | None) -> bytes:
    """The district (or the whole city) with every site in it coloured by its overall verdict, as PNG."""
    import geopandas as gpd

    matplotlib = _matplotlib()
    points = [(row, to_metric(np.array([report.geometries[row.id]], dtype=object))[0])
              for row in rows if row.id in report.geometries]
    outline = None
    if districts_layer is not None and len(districts_layer):
        metric = to_metric(districts_layer.geometries)
        chosen = [g for g, p in zip(metric, districts_layer.properties) if not district or p.get("name") == district]
        outline = shapely.union_all(chosen) if chosen else None
    shapes = [g for _r, g in points] + ([outline] if outline is not None else [])
    extent = _fit(shapely.box(*shapely.union_all(shapes).buffer(500).bounds) if shapes else shapely.box(0, 0, 1, 1))
    with _DRAW, matplotlib.rc_context({"font.family": FONT, "axes.unicode_minus": False}):
        fig, ax = _figure()
        _districts(ax, districts_layer, extent)
        for status, colour in STATUS_COLOURS.items():
            mine = [g.centroid for r, g in points if r.status == status]
            if mine:
                gpd.GeoSeries(mine).plot(ax=ax, color=colour, edgecolor="black", markersize=50, zorder=4,
                                         label=f"{STATUSES[status][0]} {STATUSES[status][1]} ({len(mine)})")
        _finish(ax, extent)
        return _png(fig)


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI, to embed in the report's HTML (the PDF then fetches nothing)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --- what a report shows ---------------------------------------------------------------------------------

@dataclass
class SiteReport:
    """One site's check sheet."""

    report: CheckAll
    row: SiteRow
    rules: list  # (Rule, Verdict) in the ruleset's order
    nearest: list  # the protected places the verdicts name, nearest first (Nearby)
    map_png: bytes


def site_report(report: CheckAll, site_id, places_layer, districts_layer) -> SiteReport:
    """The check sheet of ``site_id`` (KeyError when the run has no such site)."""
    row = next((r for r in report.sites if str(r.id) == str(site_id)), None)
    if row is None:
        raise KeyError(site_id)
    rules = [(rule, row.result.verdict(rule.id)) for rule in report.run.ruleset]
    png = site_map(row, report.geometries[row.id], report, places_layer, districts_layer)
    return SiteReport(report, row, rules, _nearest_first(row), png)


def districts_of(report: CheckAll) -> list[str]:
    return sorted({row.district for row in report.sites if row.district})


def district_names(districts_layer) -> list[str]:
    """The names of the districts on the map (a district with no site is still a district)."""
    if districts_layer is None:
        return []
    return sorted({str(p.get("name")) for p in districts_layer.properties if p.get("name")})


# --- PDF -------------------------------------------------------------------------------------------------

def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class DataOnly(URLFetcher):
        """Fetches ``data:`` URIs and refuses every other URL (http, https, file, ftp ...): a report's names
        and texts are untrusted, and making a PDF must never reach the network or the disk."""

        def __init__(self):
            super().__init__(allowed_protocols=("data",), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if not url.lower().startswith("data:"):
                self.refused.append(url)
                log.warning("report PDF: refused to fetch %r", url[:200])
                raise ValueError(f"只允许 data: 地址 · only data: URIs are fetched, not {url[:80]!r}")
            return super().fetch(url, headers)

    return DataOnly


def data_only_fetcher():
    """A WeasyPrint URL fetcher that fetches only ``data:`` URIs; ``.refused`` lists what it refused."""
    return _fetcher_class()()


def pdf(html: str, fetcher=None) -> bytes:
    """The PDF of a report's HTML (WeasyPrint; fonts through fontconfig; nothing fetched but data: URIs)."""
    from weasyprint import HTML

    fetcher = fetcher or data_only_fetcher()
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()


__all__ = ["CATEGORY_COLOURS", "FONT", "STATUS_COLOURS", "SiteReport", "data_only_fetcher", "data_uri",
           "district_map", "district_names", "districts_of", "pdf", "site_figure", "site_map", "site_report"]
