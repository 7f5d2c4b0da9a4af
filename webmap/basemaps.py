"""Basemap tile sources, declared as data. ``crs`` says which coordinate system the tiles are drawn in:
overlays are served in that system so they line up (GCJ-02 tiles need GCJ-02 overlays)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Basemap:
    id: str
    zh: str
    en: str
    url: str | None
    attribution: str = ""
    crs: str = "wgs84"
    subdomains: str = "abc"
    max_zoom: int = 19


BASEMAPS = {
    "osm": Basemap("osm", "开放街图", "OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                   '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'),
    "amap": Basemap("amap", "高德地图", "AMap (GCJ-02)",
                    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                    "&copy; 高德地图 AutoNavi", crs="gcj02", subdomains="1234", max_zoom=18),
    "none": Basemap("none", "无底图（区界为底）", "No tiles (district outlines)", None),
}


def from_config(config) -> dict[str, Basemap]:
    """The basemaps on offer: the built-ins, plus a custom one when TILES_URL is set (e.g. an intranet server)."""
    offered = dict(BASEMAPS)
    if config.get("TILES_URL"):
        offered["custom"] = Basemap("custom", config.get("TILES_NAME", "自定义底图"), config.get("TILES_NAME", "Custom tiles"),
                                    config["TILES_URL"], config.get("TILES_ATTRIBUTION", ""),
                                    config.get("TILES_CRS", "wgs84"), config.get("TILES_SUBDOMAINS", "abc"))
    return offered
