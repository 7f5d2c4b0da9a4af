"""The live layers, loaded once and kept ready to serve: the one door the web layer uses to reach data."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from . import crs, fieldtypes
from .index import FeatureIndex
from .load import Layer, as_declared_type, read_layer
from .problems import DataError
from .registry import KINDS
from .schema import LayerKind

log = logging.getLogger(__name__)
_ENCODING_LOCK = threading.Lock()

#: Decimal places kept in served degrees: 7 is about 1 cm (metres keep 2: see layers.crs.DECIMALS).
PRECISION = crs.DECIMALS["degree"]

#: Serializations kept per layer besides WGS-84's, which is made at load and always kept. Each is about the size
#: of the layer's GeoJSON: the OGC API offers 6 coordinate systems and /api 3, so keeping all of them for every
#: layer would hold up to 8 extra copies of every layer in every worker. The least recently used beyond these
#: is dropped (and made again, in ~the time of an import's serialization, if it is asked for again).
KEPT_ENCODINGS = 3


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
    """The geometries in ``system`` (a key of layers.crs.SYSTEMS), in its axis order, rounded per its unit."""
    return crs.get(system).geometries(geoms)


def served_properties(kind: LayerKind | None):
    """How a feature's properties are given to clients: every declared field, in declared order, ``None`` (JSON
    null) where the feature has no value, numbers declared as decimals as floats (12 -> 12.0, by
    :func:`layers.fieldtypes.to_json`); then any undeclared properties as stored. GIS clients (GDAL, QGIS) type
    their columns from the first features they see: a field missing there is dropped, and a whole number types a
    decimal field as integer. Returns the function from stored to served properties."""
    if kind is None:
        return lambda props: props
    names = [fld.name for fld in kind.fields]
    declared = frozenset(names)
    decimals = [fld for fld in kind.fields if fieldtypes.of(fld).decimal]

    def served(props: dict) -> dict:
        out = {name: props.get(name) for name in names}
        for fld in decimals:
            out[fld.name] = fieldtypes.to_json(fld, out[fld.name])
        if not declared.issuperset(props):
            out.update((name, value) for name, value in props.items() if name not in declared)
        return out

    return served


def encode_features(layer: Layer, system: str = "wgs84") -> Encoded:
    """Serialize a layer as a GeoJSON FeatureCollection in ``system`` coordinates (WGS-84 by default; any key of
    layers.crs.SYSTEMS, in that system's axis order: EPSG:4326 is written latitude first): the properties by
    :func:`served_properties`, the geometries as the kind's one geometry type (single parts promoted to
    multi-part: :func:`layers.load.as_declared_type`)."""
    geojson = shapely.to_geojson(_round(as_declared_type(layer.kind, layer.geometries), system)) if len(layer) else []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    served = served_properties(layer.kind)
    return Encoded([f'{{"type":"Feature","id":{dumps(fid)},"properties":{dumps(served(props))},"geometry":{geom}}}'
                    .encode() for fid, props, geom in zip(layer.ids, layer.properties, geojson)])


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
        """The serialization in ``system`` (see :func:`encode_features`): WGS-84's always kept, others made on
        first use and kept while among the KEPT_ENCODINGS most recently used."""
        encoded = self.encoded.get(system)
        if system == "wgs84" and encoded is not None:
            return encoded
        if encoded is None:  # made outside the lock: requests in other systems need not wait for it
            encoded = encode_features(self.layer, system)
        with _ENCODING_LOCK:
            self.encoded.pop(system, None)
            self.encoded[system] = encoded  # most recently used last
            others = [key for key in self.encoded if key != "wgs84"]
            for key in others[:max(0, len(others) - KEPT_ENCODINGS)]:
                del self.encoded[key]
        return encoded

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

    def public(self) -> Catalog:
        """The same live layers without the staff-only ones (:attr:`LayerKind.staff_only`): what anonymous
        users may see."""
        return Catalog({i: live for i, live in self._layers.items() if not live.kind.staff_only})

    def __contains__(self, layer_id: str) -> bool:
        return layer_id in self._layers

    def __iter__(self):
        return iter(self._layers.values())

    def get(self, layer_id: str) -> LiveLayer:
        return self._layers[layer_id]
