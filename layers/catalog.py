"""The live layers, loaded once and kept ready to serve: the one door the web layer uses to reach data."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from . import coords
from .index import FeatureIndex
from .load import Layer, read_layer
from .problems import DataError
from .registry import KINDS
from .schema import LayerKind

log = logging.getLogger(__name__)

#: Decimal places kept in served coordinates: 7 is about 1 cm.
PRECISION = 7


_PREFIX = b'{"type":"FeatureCollection","features":['
_SUFFIX = b"]}"


class Encoded:
    """One serialization of a layer: the whole FeatureCollection, where each feature sits in it (so any
    subset is served by slicing, never re-serializing), its gzip (made on first use) and an ETag."""

    def __init__(self, features: list[bytes]):
        lengths = np.fromiter(map(len, features), dtype=np.int64, count=len(features))
        self.starts = len(_PREFIX) + np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]) if len(features) else lengths
        self.ends = self.starts + lengths
        self.body = _PREFIX + b",".join(features) + _SUFFIX
        self.etag = hashlib.sha256(self.body).hexdigest()[:32]
        self._gzipped = None

    @property
    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, 6, mtime=0)
        return self._gzipped

    def feature(self, i: int) -> memoryview:
        return memoryview(self.body)[self.starts[i]:self.ends[i]]

    def features(self, indices) -> bytes:
        """The comma-joined JSON of the features at ``indices`` (in that order)."""
        view = memoryview(self.body)
        return b",".join([view[s:e] for s, e in zip(self.starts[indices].tolist(), self.ends[indices].tolist())])


def _round(geoms: np.ndarray, system: str) -> np.ndarray:
    def _apply(c):
        lon, lat = coords.from_wgs84(system, c[:, 0], c[:, 1])
        return np.round(np.column_stack([lon, lat]), PRECISION)

    return shapely.transform(geoms, _apply)


def encode_features(layer: Layer, system: str = "wgs84") -> Encoded:
    """Serialize a layer as a GeoJSON FeatureCollection in ``system`` coordinates (WGS-84 by default)."""
    geojson = shapely.to_geojson(_round(layer.geometries, system)) if len(layer) else []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return Encoded([f'{{"type":"Feature","id":{dumps(fid)},"properties":{dumps(props)},"geometry":{geom}}}'.encode()
                    for fid, props, geom in zip(layer.ids, layer.properties, geojson)])


@dataclass
class LiveLayer:
    """A layer as served: its features, their serializations per coordinate system, and its extent."""

    kind: LayerKind
    layer: Layer
    encoded: dict[str, Encoded]
    version: int = 0

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

    @functools.cached_property
    def digest(self) -> str:
        """A digest of this version's features (ids, properties and exact geometries): with the version
        number, it names the version's exports, so files made from another store's version of the same
        number (a store that was reset) are never taken for this one."""
        digest = hashlib.sha256(self.encoding().body)
        digest.update(b"".join(shapely.to_wkb(self.layer.geometries).tolist()) if len(self.layer) else b"")
        return digest.hexdigest()[:16]

    @functools.cached_property
    def index(self) -> FeatureIndex:
        """The spatial and attribute index, built on first use, once per layer version."""
        return FeatureIndex(self.kind, self.layer)


class Catalog:
    """The live layers by id."""

    def __init__(self, layers: dict[str, LiveLayer]):
        self._layers = layers

    @staticmethod
    def _live(layer: Layer, version: int = 0) -> LiveLayer:
        """Serialize and index a layer now, once: worker processes forked later share the result."""
        live = LiveLayer(layer.kind, layer, {"wgs84": encode_features(layer)}, version)
        live.index  # noqa: B018 - built here, not on the first request of each worker
        return live

    @classmethod
    def from_layers(cls, layers: list[Layer]) -> Catalog:
        return cls({lyr.kind.id: cls._live(lyr) for lyr in layers})

    @classmethod
    def from_store(cls, store, kinds: tuple[LayerKind, ...] = KINDS) -> Catalog:
        """The live version of every kind in ``store``."""
        versions = store.live_versions()
        return cls({kind.id: cls._live(store.load(kind), versions.get(kind.id, 0)) for kind in kinds})

    def refresh(self, store, kinds: tuple[LayerKind, ...] = KINDS) -> list[str]:
        """Reload the layers whose live version in ``store`` moved on; return their ids."""
        versions = store.live_versions()
        changed = [k for k in kinds if versions.get(k.id, 0) != getattr(self._layers.get(k.id), "version", None)]
        for kind in changed:
            self._layers[kind.id] = self._live(store.load(kind), versions.get(kind.id, 0))
            log.info("reloaded %s at version %d", kind.id, versions.get(kind.id, 0))
        return [k.id for k in changed]

    @classmethod
    def read_directory(cls, directory: str | Path, kinds: tuple[LayerKind, ...] = KINDS) -> list[Layer]:
        """Read ``<directory>/<kind id>.geojson`` for every kind; raise DataError if any file is refused."""
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
        log.info("read %s", ", ".join(f"{lyr.kind.id}={len(lyr)}" for lyr in layers))
        return layers

    @classmethod
    def from_directory(cls, directory: str | Path, kinds: tuple[LayerKind, ...] = KINDS) -> Catalog:
        """The layers of ``directory`` (see :meth:`read_directory`), without a store."""
        return cls.from_layers(cls.read_directory(directory, kinds))

    def __contains__(self, layer_id: str) -> bool:
        return layer_id in self._layers

    def __iter__(self):
        return iter(self._layers.values())

    def get(self, layer_id: str) -> LiveLayer:
        return self._layers[layer_id]
