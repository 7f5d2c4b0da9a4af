"""The live layers, loaded once and kept ready to serve: the one door the web layer uses to reach data."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from . import coords
from .load import Layer, read_layer
from .problems import DataError
from .registry import KINDS
from .schema import LayerKind

log = logging.getLogger(__name__)

#: Decimal places kept in served coordinates: 7 is about 1 cm.
PRECISION = 7


@dataclass(frozen=True)
class Encoded:
    """One serialization of a layer: the bytes, their gzip, and an ETag."""

    body: bytes
    gzipped: bytes
    etag: str


def _round(geoms: np.ndarray, system: str) -> np.ndarray:
    def _apply(c):
        lon, lat = coords.from_wgs84(system, c[:, 0], c[:, 1])
        return np.round(np.column_stack([lon, lat]), PRECISION)

    return shapely.transform(geoms, _apply)


def encode_features(layer: Layer, system: str = "wgs84") -> Encoded:
    """Serialize a layer as a GeoJSON FeatureCollection in ``system`` coordinates (WGS-84 by default)."""
    geojson = shapely.to_geojson(_round(layer.geometries, system)) if len(layer) else []
    parts = (f'{{"type":"Feature","id":{json.dumps(fid, ensure_ascii=False)},'
             f'"properties":{json.dumps(props, ensure_ascii=False, separators=(",", ":"))},"geometry":{geom}}}'
             for fid, props, geom in zip(layer.ids, layer.properties, geojson))
    body = ('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}").encode()
    return Encoded(body, gzip.compress(body, 6, mtime=0), hashlib.sha256(body).hexdigest()[:32])


@dataclass
class LiveLayer:
    """A layer as served: its features, their serializations per coordinate system, and its extent."""

    kind: LayerKind
    layer: Layer
    encoded: dict[str, Encoded]

    @property
    def count(self) -> int:
        return len(self.layer)

    @property
    def bounds(self) -> list[float] | None:
        if not len(self.layer):
            return None
        return [round(v, 6) for v in shapely.total_bounds(self.layer.geometries).tolist()]

    def encoding(self, system: str = "wgs84") -> Encoded:
        if system not in self.encoded:
            self.encoded[system] = encode_features(self.layer, system)
        return self.encoded[system]


class Catalog:
    """The live layers by id."""

    def __init__(self, layers: dict[str, LiveLayer]):
        self._layers = layers

    @classmethod
    def from_layers(cls, layers: list[Layer]) -> "Catalog":
        return cls({lyr.kind.id: LiveLayer(lyr.kind, lyr, {"wgs84": encode_features(lyr)}) for lyr in layers})

    @classmethod
    def from_directory(cls, directory: str | Path, kinds: tuple[LayerKind, ...] = KINDS) -> "Catalog":
        """Load ``<directory>/<kind id>.geojson`` for every kind; raise DataError if any file is refused."""
        directory = Path(directory)
        layers, bad = [], []
        for kind in kinds:
            path = directory / f"{kind.id}.geojson"
            if not path.exists():
                log.warning("no data file %s: layer %s starts empty", path, kind.id)
            layer = read_layer(path, kind) if path.exists() else Layer(kind=kind)
            if layer.report is not None:
                for problem in layer.report.problems:
                    if problem.severity != "error":
                        log.info("%s", problem)
                if not layer.report.ok:
                    bad.append(layer.report)
            layers.append(layer)
        if bad:
            raise DataError(bad)
        log.info("loaded %s", ", ".join(f"{lyr.kind.id}={len(lyr)}" for lyr in layers))
        return cls.from_layers(layers)

    def __contains__(self, layer_id: str) -> bool:
        return layer_id in self._layers

    def __iter__(self):
        return iter(self._layers.values())

    def get(self, layer_id: str) -> LiveLayer:
        return self._layers[layer_id]
