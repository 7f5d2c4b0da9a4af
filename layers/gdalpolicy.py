"""What GDAL may do in this process: it reads files strangers upload, so it gets an allow-list.

GDAL picks a driver from a file's *content*: a file named ``.csv`` holding OGR VRT XML is opened by the VRT
driver, which reads whatever path or URL the XML names (the server's secret key, its database, ``/etc/passwd``,
``/vsicurl/http://…``). So, once per process, before any file is opened:

- every GDAL driver is deregistered except :data:`DRIVERS`, the ones the project reads and writes (each
  upload is further opened only by the driver of its declared format: see :mod:`layers.readers`);
- every virtual file system is removed except :data:`FILESYSTEMS` (no ``/vsicurl/``, ``/vsis3/``,
  ``/vsizip/``…: no network, no sub-files named by content);
- GDAL's and PROJ's own switches for network access and directory probing are set (:data:`CONFIG`).

pyogrio (GDAL's Python reader) exposes no ``allowed_drivers``, so the policy is applied through GDAL's C API
(ctypes, on the very library pyogrio loaded): nothing in PyPI does this, and it is a dozen calls.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

import pyogrio

log = logging.getLogger(__name__)

#: The GDAL drivers this process keeps: reading CSV, GeoPackage, Shapefile and KML uploads, and writing
#: exports (GeoJSON, GeoPackage, CSV, Shapefile, KML). An allow-list: any other driver is removed.
DRIVERS = frozenset({"CSV", "GPKG", "ESRI Shapefile", "LIBKML", "GeoJSON"})
#: The virtual file systems kept (pyogrio reads and writes in-memory buffers through /vsimem/).
FILESYSTEMS = frozenset({"/vsimem/"})
#: GDAL configuration: no network, no directory listing on open, no Python in VRTs, no external KML styles.
CONFIG = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".scenemap-no-network",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "OGR_SQLITE_LIST_VIRTUAL_OGR": "NO",
    "LIBKML_RESOLVE_STYLE": "NO",
    "LIBKML_EXTERNAL_STYLE": "NO",
    "PROJ_NETWORK": "OFF",
}

_applied = False


def _library() -> ctypes.CDLL:
    """The libgdal pyogrio is linked with (its wheel's copy, or the system's when built from source)."""
    here = Path(pyogrio.__file__).resolve().parent
    bundled = sorted((here.parent / "pyogrio.libs").glob("libgdal*"))
    if bundled:
        return ctypes.CDLL(str(bundled[0]))
    for module in here.glob("_io*.so"):  # a source build: ask the dynamic linker for its libgdal
        return ctypes.CDLL(str(module))
    raise RuntimeError("cannot find the GDAL library pyogrio uses")


def _prototypes(lib: ctypes.CDLL) -> None:
    lib.GDALGetDriverCount.restype = ctypes.c_int
    lib.GDALGetDriver.argtypes, lib.GDALGetDriver.restype = [ctypes.c_int], ctypes.c_void_p
    lib.GDALGetDriverShortName.argtypes, lib.GDALGetDriverShortName.restype = [ctypes.c_void_p], ctypes.c_char_p
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    lib.VSIGetFileSystemsPrefixes.restype = ctypes.POINTER(ctypes.c_char_p)
    lib.VSIRemovePluginHandler.argtypes, lib.VSIRemovePluginHandler.restype = [ctypes.c_char_p], ctypes.c_int
    lib.CSLDestroy.argtypes = [ctypes.c_void_p]


def _prefixes(lib: ctypes.CDLL) -> list[str]:
    listing = lib.VSIGetFileSystemsPrefixes()
    names, i = [], 0
    while listing[i]:
        names.append(listing[i].decode())
        i += 1
    lib.CSLDestroy(ctypes.cast(listing, ctypes.c_void_p))
    return names


def apply() -> None:
    """Apply the policy to this process (idempotent). Called when :mod:`layers.readers` is imported."""
    global _applied
    if _applied:
        return
    for name, value in CONFIG.items():
        os.environ[name] = value  # PROJ reads PROJ_NETWORK from the environment
    pyogrio.set_gdal_config_options(CONFIG)
    try:
        import pyproj.network

        pyproj.network.set_network_enabled(False)
    except ImportError:  # pragma: no cover - pyproj is a dependency
        pass
    lib = _library()
    _prototypes(lib)
    for i in reversed(range(lib.GDALGetDriverCount())):
        driver = lib.GDALGetDriver(i)
        if lib.GDALGetDriverShortName(driver).decode() not in DRIVERS:
            lib.GDALDeregisterDriver(driver)
    for prefix in _prefixes(lib):
        if prefix not in FILESYSTEMS:
            lib.VSIRemovePluginHandler(prefix.encode())
    _applied = True
    log.debug("GDAL restricted to %s; file systems %s", sorted(DRIVERS), sorted(FILESYSTEMS))


def drivers() -> set[str]:
    """The drivers GDAL has now (for tests and diagnostics)."""
    return set(pyogrio.list_drivers())


def filesystems() -> list[str]:
    lib = _library()
    _prototypes(lib)
    return _prefixes(lib)
