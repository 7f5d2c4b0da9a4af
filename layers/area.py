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

#: Metric CRS for areas and distances: CGCS2000 / 3-degree Gauss-Kruger CM 120E.
METRIC_CRS = "EPSG:4549"


def inside(lon: float, lat: float) -> bool:
    """Whether a WGS-84 position lies within :data:`BOUNDS`."""
    return BOUNDS[0] <= lon <= BOUNDS[2] and BOUNDS[1] <= lat <= BOUNDS[3]


def diagnose_outside(lon: float, lat: float) -> str:
    """Say what a position outside the Qingdao area most likely is, so the message names the fix."""
    if inside(lat, lon):
        return "latitude and longitude look swapped (GeoJSON order is [longitude, latitude])"
    if abs(lon) > 180 or abs(lat) > 90:
        return ("the numbers look like projected metres, not degrees; convert to WGS-84 "
                "(e.g. from EPSG:4549 CGCS2000 Gauss-Kruger) or declare the CRS on import")
    return (f"position ({lon:g}, {lat:g}) is outside the Qingdao area "
            f"(lon {BOUNDS[0]}..{BOUNDS[2]}, lat {BOUNDS[1]}..{BOUNDS[3]}); check the CRS")
