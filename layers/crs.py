"""The coordinate systems features are served in: WGS-84 (CRS84, as stored), the EPSG systems the OGC API offers
(OGC API - Features - Part 2: Coordinate Reference Systems by Reference), and China's offset GCJ-02/BD-09.

Each system turns stored CRS84 coordinates (longitude, latitude) into its own, *in its own axis order* and
rounded to what it can mean (7 decimals of a degree is about 1 cm; metres keep 2 decimals), and turns a
bounding box given in it back into CRS84. The axis order is EPSG's, read from pyproj: EPSG:4326 and
EPSG:4490 are latitude first, EPSG:4549 is northing first (X north, Y east, as Chinese surveying writes
it), EPSG:3857 and CRS84 are easting/longitude first. pyproj computes in (x=east, y=north) order
(``always_xy``) and the axes are put in the system's order afterwards.

WGS-84 and CGCS2000 (EPSG:4490/4549) are taken as coincident, as PROJ does: they differ by centimetres in
China. GCJ-02 and BD-09 are not geodetic CRSs (no EPSG code; an obfuscated offset that maps licensed in
mainland China use) and are converted with :mod:`layers.coords`; the OGC API offers GCJ-02 under a URI
of its own, never as an EPSG code.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from . import coords

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"

#: Decimals kept per unit: 7 decimals of a degree is about 1 cm, 2 decimals of a metre is 1 cm.
DECIMALS = {"degree": 7, "metre": 2}


class CrsError(ValueError):
    """A bounding box that cannot be expressed in CRS84 (outside where the system is defined)."""


@dataclass(frozen=True)
class System:
    """One coordinate system features can be served in."""

    #: the name serializations are made and cached under ("wgs84", "EPSG:4326", "gcj02", ...)
    key: str
    #: the OGC URI (``None`` for GCJ-02/BD-09: the web layer names them with a URI of its own server)
    uri: str | None
    title: str
    unit: str
    #: whether the first axis is north (latitude or northing): coordinates are written (north, east)
    north_first: bool = False
    #: whether the OGC API offers it (BD-09 is for Baidu's SDK on /api only)
    ogc: bool = True

    @property
    def decimals(self) -> int:
        return DECIMALS[self.unit]

    @property
    def epsg(self) -> int | None:
        return int(self.key.split(":")[1]) if self.key.startswith("EPSG:") else None

    # -- CRS84 -> this system ----------------------------------------------------------------------------

    def _xy_from_crs84(self, lon: np.ndarray, lat: np.ndarray):
        if self.key in coords.SYSTEMS:
            return coords.from_wgs84(self.key, lon, lat)
        return _transformer("OGC:CRS84", self.key).transform(lon, lat)

    def from_crs84(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) CRS84 lon/lat -> (N, 2) in this system, in its axis order, rounded."""
        if self.key == "wgs84":
            return np.round(xy, self.decimals)
        x, y = self._xy_from_crs84(xy[:, 0], xy[:, 1])
        pair = (y, x) if self.north_first else (x, y)
        return np.round(np.column_stack(pair), self.decimals)

    def geometries(self, geoms: np.ndarray) -> np.ndarray:
        """Shapely geometries (CRS84) with their coordinates in this system, axis order and rounding."""
        return shapely.transform(geoms, self.from_crs84)

    # -- this system -> CRS84 ----------------------------------------------------------------------------

    def bbox_to_crs84(self, values: tuple[float, ...]) -> tuple[float, float, float, float]:
        """A bbox in this system (lower corner, upper corner in its axis order; heights, if 6 numbers, are
        dropped) as (minLon, minLat, maxLon, maxLat) in CRS84: the envelope of its edges, densified, so a
        projected box maps onto every longitude and latitude it covers."""
        dims = len(values) // 2
        lo, hi = values[:2], values[dims:dims + 2]
        if self.north_first:
            lo, hi = lo[::-1], hi[::-1]
        (minx, miny), (maxx, maxy) = lo, hi
        if self.key == "wgs84":
            return (minx, miny, maxx, maxy)
        if minx > maxx or miny > maxy:
            raise CrsError(f"bbox 最小值大于最大值 · the bbox minimum is greater than its maximum in {self.title} "
                           f"(order: {'north, east' if self.north_first else 'east, north'})")
        if self.key in coords.SYSTEMS:
            steps = np.linspace(0.0, 1.0, 21)
            xs = np.concatenate([minx + (maxx - minx) * steps, np.full(21, maxx), maxx - (maxx - minx) * steps,
                                 np.full(21, minx)])
            ys = np.concatenate([np.full(21, miny), miny + (maxy - miny) * steps, np.full(21, maxy),
                                 maxy - (maxy - miny) * steps])
            lon, lat = coords.to_wgs84(self.key, xs, ys)
            box = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        else:
            box = _transformer(self.key, "OGC:CRS84").transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
        if not all(math.isfinite(v) for v in box):
            raise CrsError(f"bbox 超出该坐标系的范围 · the bbox lies outside where {self.title} is defined")
        return tuple(float(v) for v in box)


def _epsg(code: int, unit: str) -> System:
    crs = CRS.from_epsg(code)
    return System(f"EPSG:{code}", f"{EPSG_URI}{code}", f"{crs.name} (EPSG:{code})", unit,
                  north_first=crs.axis_info[0].direction == "north")


#: Every system, by key; the OGC API offers those with ``ogc`` (CRS84 first: the default and storage CRS).
SYSTEMS: dict[str, System] = {s.key: s for s in (
    System("wgs84", CRS84, "WGS 84 longitude/latitude (CRS84)", "degree"),
    _epsg(4326, "degree"),
    _epsg(4490, "degree"),
    _epsg(4549, "metre"),
    _epsg(3857, "metre"),
    System("gcj02", None, "GCJ-02 (国测局坐标, the obfuscated datum of maps licensed in China; not an EPSG CRS)",
           "degree"),
    System("bd09", None, "BD-09 (Baidu's offset of GCJ-02; not an EPSG CRS)", "degree", ogc=False),
)}

#: The systems the OGC API offers, in the order collections list them.
OGC = tuple(s for s in SYSTEMS.values() if s.ogc)


def get(key: str) -> System:
    """The system named ``key`` (a key of :data:`SYSTEMS`); KeyError names the known ones."""
    try:
        return SYSTEMS[key]
    except KeyError:
        raise KeyError(f"unknown coordinate system {key!r}; known: {', '.join(SYSTEMS)}") from None


_local = threading.local()


def _transformer(source: str, target: str) -> Transformer:
    """A pyproj Transformer in (x=east, y=north) order, one per thread (they are not to be shared)."""
    cache = _local.__dict__.setdefault("transformers", {})
    key = (source, target)
    if key not in cache:
        cache[key] = Transformer.from_crs(source, target, always_xy=True)
    return cache[key]
