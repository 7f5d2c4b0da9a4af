"""Selecting features of a live layer: a shapely STRtree for bounding boxes, inverted indexes for
equality filters on declared fields, and a position for each id. Built once per layer version."""

from __future__ import annotations

import functools

import numpy as np
import shapely

from .load import Layer
from .schema import LayerKind

_EMPTY = np.empty(0, dtype=np.intp)


class FeatureIndex:
    """Answers "which features" for a bbox and field filters, as sorted positions in the layer."""

    def __init__(self, kind: LayerKind, layer: Layer):
        self.kind, self.layer = kind, layer
        self.tree = shapely.STRtree(layer.geometries)
        # for points, "envelope intersects the box" is exact, and skipping the predicate is ~15x faster
        self.points_only = bool(np.isin(shapely.get_type_id(layer.geometries), (0,)).all())
        # per instance, so it goes with the index when a new layer version replaces it (an lru_cache on the
        # method kept every replaced index, and its layer, alive)
        self._inverted_by_field: dict[str, dict] = {}

    def __len__(self) -> int:
        return len(self.layer)

    @functools.cached_property
    def positions(self) -> dict[str, int]:
        return {str(fid): i for i, fid in enumerate(self.layer.ids)}

    def _inverted(self, field: str) -> dict:
        """Positions of the features by their value of ``field``, built on first use."""
        if field not in self._inverted_by_field:
            groups: dict = {}
            for i, props in enumerate(self.layer.properties):
                value = props.get(field)
                if value is not None:
                    groups.setdefault(value, []).append(i)
            self._inverted_by_field[field] = {value: np.asarray(hits, dtype=np.intp) for value, hits in groups.items()}
        return self._inverted_by_field[field]

    def rows(self, positions) -> list[tuple[object, dict]]:
        """(id, properties) of the features at ``positions``, for tables."""
        return [(self.layer.ids[i], self.layer.properties[i]) for i in positions]

    def select(self, bbox: tuple[float, float, float, float] | None = None,
               filters: dict[str, object] | None = None) -> np.ndarray | None:
        """Sorted positions of the features that intersect ``bbox`` and equal every filter value;
        None means "all of them" (nothing was asked), so callers can page without materializing."""
        selected = None
        if bbox is not None:
            box = shapely.box(*bbox[:4])
            candidates = self.tree.query(box)
            if not self.points_only:
                shapely.prepare(box)
                candidates = candidates[shapely.intersects(box, self.layer.geometries[candidates])]
            selected = np.sort(candidates)
        for field, value in (filters or {}).items():
            hits = self._inverted(field).get(value, _EMPTY)
            selected = hits if selected is None else np.intersect1d(selected, hits, assume_unique=True)
        return selected
