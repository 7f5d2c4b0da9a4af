"""Facts about the area this product covers: Qingdao's extent and its ten districts."""

from __future__ import annotations

#: WGS-84 bounds (min lon, min lat, max lon, max lat) of the city with a margin of about 10 km: the
#: municipality spans roughly 119.5-121.0 E, 35.6-37.1 N (islands included).
BOUNDS = (119.3, 35.3, 121.3, 37.3)

#: Map centre (lat, lon) and zoom that frame the urban core (Shinan, Shibei, Laoshan, Licang).
CENTER = (36.09, 120.38)
ZOOM = 12

#: The ten county-level districts, in the order of their administrative codes.
DISTRICTS = {
    "370202": ("市南区", "Shinan"),
    "370203": ("市北区", "Shibei"),
    "370211": ("黄岛区", "Huangdao (West Coast New Area)"),
    "370212": ("崂山区", "Laoshan"),
    "370213": ("李沧区", "Licang"),
    "370214": ("城阳区", "Chengyang"),
    "370215": ("即墨区", "Jimo"),
    "370281": ("胶州市", "Jiaozhou"),
    "370283": ("平度市", "Pingdu"),
    "370285": ("莱西市", "Laixi"),
}
DISTRICT_NAMES = tuple(zh for zh, _ in DISTRICTS.values())
#: Other ways people write a district -> its name: without 区/市 ("市南"), the English name ("Shinan"), the
#: administrative code, and the West Coast New Area (黄岛区's other name).
DISTRICT_SYNONYMS = {
    **{zh[:-1]: zh for zh, _ in DISTRICTS.values()},
    **{en.split(" (")[0].casefold(): zh for zh, en in DISTRICTS.values()},
    **{code: zh for code, (zh, _) in DISTRICTS.items()},
    "西海岸新区": "黄岛区", "青岛西海岸新区": "黄岛区", "西海岸": "黄岛区",
    **{f"青岛市{zh}": zh for zh, _ in DISTRICTS.values()},
}

#: Metric CRS for areas and distances: CGCS2000 / 3-degree Gauss-Kruger CM 120E.
METRIC_CRS = "EPSG:4549"


def inside(lon: float, lat: float) -> bool:
    """Whether a WGS-84 position lies within :data:`BOUNDS`."""
    return BOUNDS[0] <= lon <= BOUNDS[2] and BOUNDS[1] <= lat <= BOUNDS[3]


def diagnose_outside(lon: float, lat: float) -> str:
    """Say what a position outside the Qingdao area most likely is, so the message names the fix."""
    if inside(lat, lon):
        return (f"经纬度可能填反了（经度 {lon:g}、纬度 {lat:g}；青岛的经度约 120、纬度约 36）· "
                "latitude and longitude look swapped")
    if abs(lon) > 180 or abs(lat) > 90:
        return ("数值像是以米为单位的平面坐标，不是经纬度：请转换为经纬度，或在导入时选择文件的坐标系 · "
                "the numbers look like projected metres, not degrees; convert to WGS-84 "
                "(e.g. from EPSG:4549 CGCS2000 Gauss-Kruger) or declare the CRS on import")
    return (f"位置（经度 {lon:g}、纬度 {lat:g}）不在青岛范围内，请检查坐标 · position ({lon:g}, {lat:g}) is "
            f"outside the Qingdao area (lon {BOUNDS[0]}..{BOUNDS[2]}, lat {BOUNDS[1]}..{BOUNDS[3]}); check the CRS")


def looks_swapped(lon: float, lat: float) -> bool:
    """Whether a position outside the area would be inside it with its two numbers exchanged."""
    return not inside(lon, lat) and inside(lat, lon)


def check_districts(layer, districts) -> None:
    """Warn, in ``layer.report``, where a feature's ``district`` names a district it does not touch, naming
    the district it lies in. ``districts``: the districts layer (names and boundaries, WGS-84)."""
    import numpy as np
    import shapely

    if not len(layer) or districts is None or not len(districts):
        return
    names = [p.get("name") for p in districts.properties]
    boundary = dict(zip(names, districts.geometries))
    given = [p.get("district") for p in layer.properties]
    named = np.array([boundary.get(d) for d in given], dtype=object)
    check = np.array([g is not None for g in named], dtype=bool)
    if not check.any():
        return
    touches = np.ones(len(layer), dtype=bool)
    touches[check] = shapely.intersects(layer.geometries[check], named[check])
    wrong = np.flatnonzero(~touches)
    if not len(wrong):
        return
    tree = shapely.STRtree(districts.geometries)
    points = shapely.point_on_surface(layer.geometries[wrong])
    inside_of = {}
    for feature, district in zip(*tree.query(points, predicate="intersects")):
        inside_of.setdefault(int(feature), names[int(district)])
    for n, j in enumerate(wrong):
        actual = inside_of.get(n)
        where = f"位置在{actual}" if actual else "位置不在任何区（市）界内"
        en = f"lies in {actual}" if actual else "lies outside every district boundary"
        index = layer.positions[j] if j < len(layer.positions) else None
        layer.report.add(f"所在区填写为{given[j]}，但{where}，请核对 · district says {given[j]} but the feature {en}",
                         "warning", index=index, feature_id=layer.ids[j])
