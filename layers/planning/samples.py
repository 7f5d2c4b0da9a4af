"""Sample planning data: protected places around every outdoor-dining pilot and the 24-hour pilot zone,
and 12345-style complaints, written to ``data/planning/`` and copied to ``data/sensitive_sites.geojson`` and
``data/complaints.geojson`` (the layers the app loads; complaints are staff only).

Every feature is invented around the sample pilots (``"source": "sample"``): names are plausible, places
are not real. Distances are chosen, edge to edge in EPSG:4549, so that the default rules have something to
say: some places lie deliberately within 30 m (a fail where the seating opens into the night), some within
50 m of schools and hospitals (warnings), some far. The output is deterministic.

Run: ``.venv/bin/python -m layers.planning.samples`` (from the project root).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

from .. import area

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
OUT = DATA / "planning"
_TO_M = Transformer.from_crs("EPSG:4326", area.METRIC_CRS, always_xy=True)
_TO_DEG = Transformer.from_crs(area.METRIC_CRS, "EPSG:4326", always_xy=True)
NOTE = "示例数据，名称与位置为虚构，非真实敏感点 / Sample data: invented names and places, not real protected sites"
COMPLAINTS_NOTE = ("示例数据，投诉内容与位置为虚构，非真实 12345 热线记录 / Sample data: invented complaints and places, "
                   "not real 12345 hotline records")
PERMITS_NOTE = ("示例数据，外摆许可信息为虚构 / Sample data: invented outdoor-dining permit details, not real permits")

#: Per pilot: (name, category, gap in metres from the site to the place's edge, bearing in degrees from
#: east, anticlockwise; shape "area" (a compound or campus) or "point").
AROUND: dict[str, list[tuple[str, str, float, float, str]]] = {
    "od-pichaiyuan-cafe": [("劈柴院里院住宅", "residential", 22, 90, "area"), ("北京路社区养老服务站", "elderly_care", 85, 200, "point")],
    "od-dabaodao-bar": [("大鲍岛海泊路里院", "residential", 12, 0, "area"), ("市南区某街道办事处", "office_unit", 140, 250, "point")],
    "od-dabaodao-bistro": [("胶州路居民楼", "residential", 65, 180, "area")],
    "od-zhongshan-cafe": [("中山路小学", "school", 38, 270, "area"), ("天主教堂片区住宅", "residential", 120, 45, "area")],
    "od-taidong-night": [("台东三路居民楼", "residential", 45, 90, "area"), ("台东社区卫生服务中心", "hospital", 160, 300, "point")],
    "od-taidong-residential": [("威海路居民小区", "residential", 6, 270, "area"), ("台东幼儿园", "kindergarten", 42, 180, "point")],
    "od-dengzhou-beer": [("登州路啤酒厂宿舍", "residential", 25, 90, "area"), ("延安二路小学", "school", 210, 0, "area")],
    "od-sailing-bar": [("奥帆名仕公寓", "residential", 28, 135, "area")],
    "od-sailing-cafe": [("海军医院门诊部", "hospital", 48, 270, "area")],
    "od-may-fourth": [("海晶花园", "residential", 18.2, 90, "area"), ("五四广场幼儿园", "kindergarten", 95, 200, "point")],
    "od-licun": [("李村中学", "school", 44, 0, "area"), ("李沧颐养中心", "elderly_care", 260, 180, "point")],
    "od-jimo-old-town": [("古城西街民居", "residential", 75, 90, "area")],
    "od-golden-beach": [("金沙滩度假公寓", "residential", 320, 90, "area")],
}
#: Around the 24-hour pilot zone: (name, category, gap from the zone's edge in metres (negative: overlapping it
#: by that much), bearing of the side, shape).
AROUND_ZONE = [("燕儿岛路海景小区", "residential", -15, 20, "area"), ("奥帆中心北侧住宅", "residential", 20, 100, "area"),
               ("青岛市立医院东院区", "hospital", 350, 60, "area")]

#: Complaints: (pilot, category, received, metres from the site, bearing, names the site, text).
COMPLAINTS = [
    ("od-taidong-residential", "noise", "2026-09-12", 20, 10, True, "晚上烧烤摊吵闹，凌晨一点还在营业"),
    ("od-taidong-residential", "noise", "2026-10-03", 35, 200, False, "楼下外摆喧哗，影响休息"),
    ("od-taidong-residential", "noise", "2026-10-28", 15, 120, True, "夜间划拳声音很大"),
    ("od-taidong-residential", "odour", "2026-11-05", 12, 300, True, "烧烤油烟飘进家里"),
    ("od-taidong-residential", "noise", "2026-11-20", 40, 60, False, "深夜噪音扰民"),
    ("od-dengzhou-beer", "noise", "2026-10-15", 30, 80, True, "啤酒街外摆到两点，太吵"),
    ("od-dengzhou-beer", "litter", "2026-10-16", 25, 180, False, "外摆收摊后垃圾未清理"),
    ("od-dengzhou-beer", "noise", "2026-06-02", 20, 90, True, "夏天夜里很吵"),
    ("od-dabaodao-bar", "noise", "2026-11-01", 18, 0, True, "周末酒吧外摆音乐声大"),
    ("od-dabaodao-bar", "obstruction", "2026-11-08", 10, 270, False, "桌椅占用人行道，轮椅无法通过"),
    ("od-may-fourth", "noise", "2026-08-20", 60, 90, False, "广场夜间音响声大"),
    ("od-zhongshan-cafe", "obstruction", "2026-10-10", 5, 180, True, "外摆挡住盲道"),
]

#: Sample permit fields of the pilots (season, clear walkway, operator): merged into the pilot layer when its
#: kind gains these fields; two walkways are deliberately below 1.5 m.
PERMITS = {
    "od-pichaiyuan-cafe": ("Apr-Oct", 2.4, "劈柴院咖啡（示例）"), "od-dabaodao-bar": ("May-Oct", 1.2, "里院酒吧（示例）"),
    "od-dabaodao-bistro": ("Apr-Oct", 2.0, "大鲍岛轻食（示例）"), "od-zhongshan-cafe": ("Mar-Nov", 1.8, "街角咖啡（示例）"),
    "od-taidong-night": ("Apr-Oct", 3.0, "台东夜市管理方（示例）"), "od-taidong-residential": ("May-Sep", 1.0, "烧烤店（示例）"),
    "od-dengzhou-beer": ("Jun-Sep", 2.2, "啤酒街商户（示例）"), "od-sailing-bar": ("Apr-Oct", 3.5, "海景酒吧（示例）"),
    "od-sailing-cafe": ("Mar-Nov", 4.0, "码头咖啡（示例）"), "od-may-fourth": ("Apr-Oct", 5.0, "广场轻餐（示例）"),
    "od-licun": ("Apr-Oct", 2.6, "李村咖啡（示例）"), "od-jimo-old-town": ("Apr-Oct", 3.0, "古城茶饮（示例）"),
    "od-golden-beach": ("Jun-Sep", 6.0, "啤酒城运营方（示例）"),
}


def _metric(geometry):
    return shapely.transform(geometry, lambda c: np.column_stack(_TO_M.transform(c[:, 0], c[:, 1])))


def _degrees(geometry):
    return shapely.transform(geometry, lambda c: np.column_stack(_TO_DEG.transform(c[:, 0], c[:, 1])))


def _place(origin, gap: float, bearing: float, shape: str):
    """A place whose nearest edge lies ``gap`` metres from ``origin`` (a metric point or polygon) at ``bearing``."""
    if shape == "point":
        base = shapely.Point(gap, 0)
    else:  # a compound 60 m deep and 80 m wide, its near side facing the origin
        base = shapely.box(gap, -40, gap + 60, 40)
    if isinstance(origin, shapely.Point):
        return shapely.affinity.translate(shapely.affinity.rotate(base, bearing, origin=(0, 0)), origin.x, origin.y)
    # from a polygon: start at the point of its edge in that direction
    centre = origin.centroid
    far = shapely.Point(centre.x + 1e5 * math.cos(math.radians(bearing)), centre.y + 1e5 * math.sin(math.radians(bearing)))
    edge = origin.exterior.intersection(shapely.LineString([centre, far]))
    edge = edge if isinstance(edge, shapely.Point) else shapely.get_geometry(edge, 0)
    moved = shapely.affinity.translate(shapely.affinity.rotate(base, bearing, origin=(0, 0)), edge.x, edge.y)
    return moved


def _feature(fid: str, geometry, props: dict) -> dict:
    rounded = shapely.orient_polygons(shapely.set_precision(_degrees(geometry), 1e-7))  # RFC 7946 ring order
    return {"type": "Feature", "id": fid, "properties": props, "geometry": shapely.geometry.mapping(rounded)}


def _read(name: str) -> dict:
    return json.loads((DATA / f"{name}.geojson").read_text("utf-8"))


def build() -> dict[str, dict]:
    """The sample collections by file name."""
    pilots = {f["id"]: f for f in _read("outdoor_dining_pilots")["features"]}
    sites, complaints = [], []
    for pid, places in AROUND.items():
        pilot = pilots[pid]
        origin = _metric(shapely.geometry.shape(pilot["geometry"]))
        for n, (name, category, gap, bearing, shape) in enumerate(places, 1):
            sites.append(_feature(f"ss-{pid[3:]}-{n}", _place(origin, gap, bearing, shape),
                                  {"name": name, "category": category, "district": pilot["properties"]["district"],
                                   "source": "sample"}))
    zone = next(f for f in _read("night_economy_zones")["features"] if f["properties"].get("is_24h_pilot"))
    outline = _metric(shapely.geometry.shape(zone["geometry"]))
    for n, (name, category, gap, bearing, shape) in enumerate(AROUND_ZONE, 1):
        sites.append(_feature(f"ss-24h-{n}", _place(outline, gap, bearing, shape),
                              {"name": name, "category": category, "district": zone["properties"]["district"],
                               "source": "sample"}))
    for n, (pid, category, received, metres, bearing, names_site, text) in enumerate(COMPLAINTS, 1):
        pilot = pilots[pid]
        origin = _metric(shapely.geometry.shape(pilot["geometry"]))
        at = shapely.Point(origin.x + metres * math.cos(math.radians(bearing)),
                           origin.y + metres * math.sin(math.radians(bearing)))
        props = {"received": received, "category": category, "text": text,
                 "district": pilot["properties"]["district"], "source": "sample"}
        if names_site:
            props["site_id"] = pid
        complaints.append(_feature(f"cp-{n:03d}", at, props))
    permits = {pid: {"season": s, "clear_walkway_m": w, "operator": o} for pid, (s, w, o) in PERMITS.items()}
    return {"sensitive_sites": {"type": "FeatureCollection", "note": NOTE, "features": sites},
            "complaints": {"type": "FeatureCollection", "note": COMPLAINTS_NOTE, "features": complaints},
            "outdoor_dining_permits": {"note": PERMITS_NOTE, "by_pilot": permits}}


def as_text(content: dict) -> str:
    """A sample file's text (the one format, wherever it is written)."""
    return json.dumps(content, ensure_ascii=False, indent=1) + "\n"


#: The collections the app loads as layers too: copied to ``data/<kind id>.geojson``.
LOADED = ("sensitive_sites", "complaints")


def write(out: Path = OUT, loaded: Path | None = DATA) -> list[Path]:
    """Write the samples to ``out``, and the layers the app loads also to ``loaded`` (``data/``). The permit
    values are in the pilot layer already (scripts/build_sample_data.py reads :data:`PERMITS`)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in build().items():
        text = as_text(content)
        paths = [out / (f"{name}.json" if name == "outdoor_dining_permits" else f"{name}.geojson")]
        if loaded is not None and name in LOADED:
            paths.append(loaded / f"{name}.geojson")
        for path in paths:
            path.write_text(text, "utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in write():
        log.info("wrote %s", path.relative_to(ROOT))
