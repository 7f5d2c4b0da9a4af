"""Protected places from an OpenStreetMap extract (``.osm`` XML or ``.osm.pbf``), by one declared table.

How the OSM driver is allowed: the server process keeps only five GDAL drivers (:mod:`layers.gdalpolicy`),
because GDAL picks a driver by a file's content and strangers upload files. An extract (``.osm``, ``.pbf``)
imported into a kind of :data:`KINDS` — by ``flask --app webmap layers import sensitive_sites x.osm.pbf`` or the
staff import page, both through :func:`layers.readers.read_file` — is read in a **child process**
(``python -m layers.planning.osm FILE``) whose GDAL keeps the OSM driver alone, with the same no-network
settings, a memory limit and a timeout; the server's own GDAL never gains a driver. The child prints
protected places as GeoJSON; they then go the normal import path (check → preview → store) like any other
file, with ``"source": "osm"``.

The mapping (:data:`TAGS`) is the issue's table plus ``social_facility=nursing_home``, the tag OSM now uses
for nursing homes; the first matching row wins (specific amenities before buildings before land use).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: The layer kinds an OpenStreetMap extract can be imported into (by ``layers import`` and the staff import
#: page), with their Chinese names.
KINDS = {"sensitive_sites": "敏感点"}
#: The child's address-space limit: a hostile or runaway extract ends the child, not the server.
MEMORY_LIMIT = 2 << 30

#: (OSM key, value, category): the one table from OSM tags to sensitive-site categories, first match wins.
TAGS: tuple[tuple[str, str, str], ...] = (
    ("amenity", "kindergarten", "kindergarten"),
    ("amenity", "school", "school"),
    ("amenity", "hospital", "hospital"),
    ("amenity", "clinic", "hospital"),
    ("amenity", "nursing_home", "elderly_care"),
    ("social_facility", "nursing_home", "elderly_care"),
    ("building", "apartments", "residential"),
    ("building", "residential", "residential"),
    ("landuse", "residential", "residential"),
)
#: The GDAL layers of the OSM driver read, and how each names an OSM object's id.
LAYERS = {"points": (("osm_id", "node"),), "multipolygons": (("osm_id", "relation"), ("osm_way_id", "way"))}
#: Names tried, in order (a Chinese name first).
NAME_TAGS = ("name:zh", "name", "name:zh-Hans", "name:en")
TIMEOUT_S = 600

_HSTORE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def parse_other_tags(text: str | None) -> dict[str, str]:
    """The tags GDAL's OSM driver puts in ``other_tags`` (hstore text: ``"k"=>"v","k2"=>"v2"``)."""
    if not text:
        return {}
    return {k.replace('\\"', '"').replace("\\\\", "\\"): v.replace('\\"', '"').replace("\\\\", "\\")
            for k, v in _HSTORE.findall(text)}


def category(tags: dict[str, str]) -> tuple[str, str] | None:
    """(category, the tag that decided it, e.g. "amenity=school") for an OSM object's tags, or None."""
    for key, value, cat in TAGS:
        if value in (v.strip() for v in str(tags.get(key, "")).split(";")):
            return cat, f"{key}={value}"
    return None


def _features(path: str):
    """In the child: read ``path`` with the OSM driver alone and yield sensitive-site features."""
    from .. import gdalpolicy

    gdalpolicy.DRIVERS = frozenset({"OSM"})  # this child process reads one OSM extract, nothing else
    gdalpolicy.apply()
    import resource

    from pyogrio import set_gdal_config_options

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    # JOSM saves new objects with negative ids, which the driver's default node index refuses
    set_gdal_config_options({"OSM_USE_CUSTOM_INDEXING": "NO"})
    import pyogrio.raw
    import shapely

    from .kinds import CATEGORIES

    for layer, id_columns in LAYERS.items():
        meta, _, wkb, columns = pyogrio.raw.read(path, layer=layer)
        names = list(meta["fields"])
        geometries = shapely.from_wkb(wkb)
        for i in range(len(geometries)):
            row = {n: columns[j][i] for j, n in enumerate(names)}
            tags = parse_other_tags(row.pop("other_tags", None))
            tags.update({k: str(v) for k, v in row.items() if v not in (None, "") and not k.startswith("osm_")})
            found = category(tags)
            if found is None or geometries[i] is None:
                continue
            cat, _tag = found
            osm_id = next((f"osm:{kind}/{row[col]}" for col, kind in id_columns if row.get(col)), None)
            name = next((tags[t] for t in NAME_TAGS if tags.get(t)), None) or f"未命名{CATEGORIES[cat][0]}"
            yield {"type": "Feature", "id": osm_id,
                   "properties": {"name": name, "category": cat, "source": "osm"},
                   "geometry": shapely.geometry.mapping(geometries[i])}


def read_osm(path: str | Path, *, timeout: float = TIMEOUT_S) -> dict:
    """A GeoJSON FeatureCollection of the protected places in the OSM extract at ``path``, read by GDAL's
    OSM driver in a child process (see the module's notes); ValueError (Chinese · English) if it cannot."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"找不到文件 · no such file: {path.name}")
    if not path.name.lower().endswith((".osm", ".osm.pbf", ".pbf")):
        raise ValueError(f"应为 OpenStreetMap 文件（.osm 或 .osm.pbf）· expected an OpenStreetMap extract (.osm or "
                         f".osm.pbf), not {path.name}")
    try:
        done = subprocess.run([sys.executable, "-m", __name__, str(path)], capture_output=True, text=True,
                              timeout=timeout, cwd=Path(__file__).resolve().parents[2])
    except subprocess.TimeoutExpired:
        raise ValueError(f"读取超时（{timeout:g} 秒）· reading the extract took longer than {timeout:g} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1][:300]
        raise ValueError(f"无法读取 OpenStreetMap 文件 · GDAL could not read the extract: {last}")
    features = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    log.info("read %d protected places from %s", len(features), path.name)
    return {"type": "FeatureCollection", "features": features}


def main(argv: list[str]) -> int:
    for feature in _features(argv[0]):
        sys.stdout.write(json.dumps(feature, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
