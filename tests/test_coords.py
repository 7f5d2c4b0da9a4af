"""layers.coords: round trips and agreement with an independent implementation (prcoords)."""

import numpy as np
import prcoords
import pyproj
import pytest

from layers import area, coords

GEOD = pyproj.Geod(ellps="WGS84")


def _grid(step=0.05):
    lon, lat = np.meshgrid(np.arange(area.BOUNDS[0], area.BOUNDS[2] + 1e-9, step),
                           np.arange(area.BOUNDS[1], area.BOUNDS[3] + 1e-9, step))
    return lon.ravel(), lat.ravel()


def _metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_is_under_half_a_metre_everywhere_in_qingdao(system):
    lon, lat = _grid()
    assert lon.size > 1500
    back = coords.to_wgs84(system, *coords.from_wgs84(system, lon, lat))
    assert _metres(lon, lat, *back).max() < 0.5
    # and from the other side: a GCJ/BD position, to WGS-84 and forward again
    there = coords.from_wgs84(system, *coords.to_wgs84(system, lon, lat))
    assert _metres(lon, lat, *there).max() < 0.5


def test_the_offset_has_the_known_size_in_qingdao():
    # GCJ-02 shifts Qingdao by roughly 400-600 m (north-east); a zero or tiny shift means a broken formula.
    lon, lat = _grid(0.2)
    shift = _metres(lon, lat, *coords.wgs84_to_gcj02(lon, lat))
    assert 300 < shift.min() and shift.max() < 700


def test_agrees_with_prcoords():
    lon, lat = _grid(0.1)
    ours_gcj = np.column_stack(coords.wgs84_to_gcj02(lon, lat))
    ours_bd = np.column_stack(coords.gcj02_to_bd09(*ours_gcj.T))
    for i, (x, y) in enumerate(zip(lon, lat)):
        theirs = prcoords.wgs_gcj((y, x))  # prcoords works in (lat, lon)
        assert _metres(x, y, ours_gcj[i, 0], ours_gcj[i, 1]) == pytest.approx(
            _metres(x, y, theirs[1], theirs[0]), abs=0.01)
        assert _metres(ours_gcj[i, 0], ours_gcj[i, 1], theirs[1], theirs[0]) < 0.01
        bd = prcoords.gcj_bd(theirs)
        assert _metres(ours_bd[i, 0], ours_bd[i, 1], bd[1], bd[0]) < 0.01
        # inverse: prcoords' exact ("bored") inverse against ours
        back = prcoords.gcj_wgs_bored((ours_gcj[i, 1], ours_gcj[i, 0]))
        ours_back = coords.gcj02_to_wgs84(ours_gcj[i, 0], ours_gcj[i, 1])
        assert _metres(float(ours_back[0]), float(ours_back[1]), back[1], back[0]) < 0.05
        bd_back = prcoords.bd_gcj_bored(bd)
        ours_bd_back = coords.bd09_to_gcj02(ours_bd[i, 0], ours_bd[i, 1])
        assert _metres(float(ours_bd_back[0]), float(ours_bd_back[1]), bd_back[1], bd_back[0]) < 0.05


def test_scalars_and_unknown_systems():
    lon, lat = coords.wgs84_to_gcj02(120.38, 36.07)
    assert np.ndim(lon) == 0 and float(lon) != 120.38
    with pytest.raises(KeyError):
        coords.to_wgs84("epsg:3857", 1, 2)
