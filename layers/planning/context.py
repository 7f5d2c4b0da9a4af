"""The context a check is made against — protected places and complaints — projected to EPSG:4549 and
indexed once per layer version (cached by the layer object: a live layer version is one object)."""

from __future__ import annotations

import weakref

import numpy as np
import shapely
from pyproj import Transformer

from .. import area
from .kinds import COMPLAINT_CATEGORIES

_TO_METRIC = Transformer.from_crs("EPSG:4326", area.METRIC_CRS, always_xy=True)


def to_metric(geometries: np.ndarray) -> np.ndarray:
    """WGS-84 geometries (lon, lat) in EPSG:4549 metres, in one vectorized call."""
    geometries = np.asarray(geometries, dtype=object)
    if not len(geometries):
        return geometries
    return shapely.transform(geometries, lambda c: np.column_stack(_TO_METRIC.transform(c[:, 0], c[:, 1])))


class Places:
    """Protected places (the ``sensitive_sites`` layer), projected and indexed by category group."""

    def __init__(self, ids, names, categories, geometries):
        self.ids = list(ids)
        self.names = list(names)
        self.categories = np.asarray(categories, dtype=object)
        self.metric = to_metric(geometries)
        self._trees: dict[frozenset, tuple[np.ndarray, shapely.STRtree]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_layer(cls, layer) -> Places:
        props = layer.properties
        return cls(layer.ids, [p.get("name", "") for p in props], [p.get("category") for p in props],
                   layer.geometries)

    def tree(self, categories) -> tuple[np.ndarray, shapely.STRtree]:
        """(positions, STRtree of their metric geometries) of the places of ``categories``; built once."""
        key = frozenset(categories)
        if key not in self._trees:
            positions = np.flatnonzero(np.isin(self.categories, list(key)))
            self._trees[key] = (positions, shapely.STRtree(self.metric[positions]))
        return self._trees[key]


class Complaints:
    """Complaint records (the ``complaints`` layer), projected and indexed."""

    def __init__(self, ids, categories, received, site_ids, geometries):
        self.ids = list(ids)
        self.categories = np.asarray(categories, dtype=object)
        #: categories as small integers (the index in COMPLAINT_CATEGORIES; -1 for another value)
        codes = {c: i for i, c in enumerate(COMPLAINT_CATEGORIES)}
        self.codes = np.array([codes.get(c, -1) for c in categories], dtype=np.int8)
        self.received = np.array([r if r else "NaT" for r in received], dtype="datetime64[D]")
        self.site_ids = np.array([None if s is None else str(s) for s in site_ids], dtype=object)
        self.metric = to_metric(geometries)
        self.tree = shapely.STRtree(self.metric)
        self._by_site: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_layer(cls, layer) -> Complaints:
        props = layer.properties
        return cls(layer.ids, [p.get("category") for p in props], [p.get("received") for p in props],
                   [p.get("site_id") for p in props], layer.geometries)

    def naming(self, site_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(site positions, complaint positions) of the complaints whose ``site_id`` names one of ``site_ids``."""
        if self._by_site is None:
            groups: dict[str, list[int]] = {}
            for i, sid in enumerate(self.site_ids):
                if sid is not None:
                    groups.setdefault(sid, []).append(i)
            self._by_site = {k: np.asarray(v, dtype=np.intp) for k, v in groups.items()}
        pairs = [(n, self._by_site[sid]) for n, sid in enumerate(site_ids) if sid in self._by_site]
        if not pairs:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        return (np.concatenate([np.full(len(c), n, dtype=np.intp) for n, c in pairs]),
                np.concatenate([c for _, c in pairs]))


_PREPARED: dict[tuple[str, int], tuple[weakref.ref, object]] = {}


def _prepared(kind: str, layer, build):
    key = (kind, id(layer))
    hit = _PREPARED.get(key)
    if hit is not None and hit[0]() is layer:
        return hit[1]
    prepared = build(layer)
    _PREPARED[key] = (weakref.ref(layer, lambda _ref, key=key: _PREPARED.pop(key, None)), prepared)
    return prepared


def prepare_places(layer) -> Places | None:
    """The protected places of a ``sensitive_sites`` layer, projected and indexed once per layer object;
    prepared places and None (not loaded) are returned as they are."""
    return layer if layer is None or isinstance(layer, Places) else _prepared("places", layer, Places.from_layer)


def prepare_complaints(layer) -> Complaints | None:
    """The records of a ``complaints`` layer, projected and indexed once per layer object (as above)."""
    return (layer if layer is None or isinstance(layer, Complaints)
            else _prepared("complaints", layer, Complaints.from_layer))
