"""Selecting features of a live layer: a shapely STRtree for bounding boxes and spatial filters, a numpy
column per declared field (and the id) for CQL2 filters, ``datetime`` and sorting, inverted indexes for the
equality parameters, and a position for each id. Built once per layer version.

Every caller selects through :meth:`FeatureIndex.select`, which returns a :class:`Selection`.
"""

from __future__ import annotations

import bisect
import functools
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely

from . import fieldtypes, filtering
from .load import Layer
from .schema import LayerKind

_EMPTY = np.empty(0, dtype=np.intp)
_STRINGS = np.dtypes.StringDType()
#: Sorting a selection larger than 1/SORT_SUBSET_SHARE of the layer filters the layer's cached order instead.
SORT_SUBSET_SHARE = 16


class Selection:
    """Which features of a layer a query selects, in the order they are served. ``positions`` None means
    every feature in layer order, without materializing them (paging the whole of 10^6 features costs a
    page, not an array of 10^6)."""

    def __init__(self, size: int, positions: np.ndarray | None = None):
        self.size = size
        self._positions = positions

    @property
    def is_all(self) -> bool:
        """Nothing was asked: every feature, in layer order (the whole-layer serializations fit it)."""
        return self._positions is None

    @property
    def count(self) -> int:
        return self.size if self._positions is None else len(self._positions)

    def __len__(self) -> int:
        return self.count

    @property
    def positions(self) -> np.ndarray:
        """Every selected position, in order (materialized)."""
        return np.arange(self.size, dtype=np.intp) if self._positions is None else self._positions

    def page(self, offset: int, limit: int) -> np.ndarray:
        """The positions of the page that starts at ``offset`` and holds at most ``limit`` features."""
        start, stop = min(offset, self.count), min(offset + limit, self.count)
        if self._positions is None:
            return np.arange(start, stop, dtype=np.intp)
        return self._positions[start:stop]

    def __iter__(self):
        return iter(range(self.size)) if self._positions is None else iter(self._positions.tolist())

    def tolist(self) -> list[int]:
        return self.positions.tolist()


@dataclass(frozen=True)
class Column:
    """One property of every feature, for vectorized filters and sorting.

    ``kind`` is "text", "number" or "boolean" (from the field type's JSON Schema type). Text is
    dictionary-encoded: ``values`` are int32 codes into ``categories`` (sorted, so code order is text order),
    -1 where missing; numbers are float64 (NaN where missing); booleans are bool."""

    kind: str
    values: np.ndarray
    missing: np.ndarray
    categories: np.ndarray | None = None


def _column(kind: str, raw: list) -> Column:
    missing = np.fromiter((v is None for v in raw), dtype=bool, count=len(raw))
    if kind == "number":
        values = np.array([np.nan if v is None else v for v in raw], dtype=np.float64)
        return Column(kind, values, missing | np.isnan(values))
    if kind == "boolean":
        return Column(kind, np.array([bool(v) for v in raw], dtype=bool), missing)
    present = [str(v) for v in raw if v is not None]
    categories, codes = np.unique(np.array(present, dtype=object), return_inverse=True) if present else ([], [])
    values = np.full(len(raw), -1, dtype=np.int32)
    values[~missing] = codes
    return Column(kind, values, missing, np.array(list(categories), dtype=_STRINGS))


_KINDS = {"string": "text", "integer": "number", "number": "number", "boolean": "boolean"}


class FeatureIndex:
    """Answers "which features, in which order" for a query, as a :class:`Selection`."""

    def __init__(self, kind: LayerKind, layer: Layer):
        self.kind, self.layer = kind, layer
        self.tree = shapely.STRtree(layer.geometries)
        # for points, "envelope intersects the box" is exact, and skipping the predicate is ~15x faster
        self.points_only = bool(np.isin(shapely.get_type_id(layer.geometries), (0,)).all())
        # per instance, so it goes with the index when a new layer version replaces it (an lru_cache on the
        # method kept every replaced index, and its layer, alive)
        self._inverted_by_field: dict[str, dict] = {}
        self._columns: dict[str, Column] = {}
        self._orders: OrderedDict = OrderedDict()
        # built now, before a server forks its workers, so they share them (and the CQL2 parser: ~20 MB and
        # 0.6 s that each worker would otherwise spend on its first filter)
        for name in (filtering.ID, *kind.field_map):
            self.column(name)
        filtering.warm()

    def __len__(self) -> int:
        return len(self.layer)

    @functools.cached_property
    def positions(self) -> dict[str, int]:
        return {str(fid): i for i, fid in enumerate(self.layer.ids)}

    def column(self, name: str) -> Column:
        """The column of a declared field, or of the id; built on first use, once per layer version."""
        if name not in self._columns:
            if name == filtering.ID:
                self._columns[name] = _column("text", [str(i) for i in self.layer.ids])
            else:
                kind = _KINDS[fieldtypes.of(self.kind.field_map[name]).schema["type"]]
                self._columns[name] = _column(kind, [props.get(name) for props in self.layer.properties])
        return self._columns[name]

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

    # --- selecting -----------------------------------------------------------------------------------------

    def _bbox(self, bbox) -> np.ndarray:
        minx, miny, maxx, maxy = bbox[:4]
        if minx > maxx:  # crosses the antimeridian: two boxes
            return np.union1d(self._bbox((minx, miny, 180.0, maxy)), self._bbox((-180.0, miny, maxx, maxy)))
        box = shapely.box(minx, miny, maxx, maxy)
        candidates = self.tree.query(box)
        if not self.points_only:
            shapely.prepare(box)
            candidates = candidates[shapely.intersects(box, self.layer.geometries[candidates])]
        return np.sort(candidates)

    def select(self, bbox: tuple[float, float, float, float] | None = None, filters: dict | None = None, *,
               where: filtering.Node | None = None, when: filtering.Node | None = None,
               sortby: tuple[tuple[str, bool], ...] = ()) -> Selection:
        """The features that intersect ``bbox``, equal every ``filters`` value (property name -> value, or
        "id"), satisfy the CQL2 filter ``where`` and the ``datetime`` filter ``when``, ordered by ``sortby``
        ((name, descending) pairs; nulls last, ties in layer order) or else in layer order."""
        selected = None if bbox is None else self._bbox(bbox)
        for field, value in (filters or {}).items():
            if field == filtering.ID:  # through the id column: the id -> position dict is built per worker
                column = self.column(filtering.ID)
                hits = np.flatnonzero(self._compare(column, column.values, "=", str(value)))
            else:
                hits = self._inverted(field).get(value, _EMPTY)
            selected = hits if selected is None else np.intersect1d(selected, hits, assume_unique=True)
        for part in filtering.conjuncts(where) + filtering.conjuncts(when):
            if selected is not None and not len(selected):
                break
            if isinstance(part, filtering.Spatial) and part.op != "disjoint":
                hits = self._spatial_hits(part)
                selected = hits if selected is None else np.intersect1d(selected, hits, assume_unique=True)
                continue
            true, _ = self.evaluate(part, selected)
            selected = np.flatnonzero(true) if selected is None else selected[true]
        if sortby:
            selected = self._order(selected, tuple(sortby))
        return Selection(len(self.layer), None if selected is None else selected.astype(np.intp, copy=False))

    # --- evaluating a filter -----------------------------------------------------------------------------------

    def evaluate(self, node: filtering.Node, positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(true, false) masks of ``node`` over ``positions`` (every feature when None); a feature in
        neither is unknown (a comparison with a missing value)."""
        size = len(self.layer) if positions is None else len(positions)
        if isinstance(node, filtering.Constant):
            return np.full(size, node.value), np.full(size, not node.value)
        if isinstance(node, filtering.Not):
            true, false = self.evaluate(node.child, positions)
            return false, true
        if isinstance(node, filtering.And):
            true, false = np.ones(size, dtype=bool), np.zeros(size, dtype=bool)
            for child in node.children:
                t, f = self.evaluate(child, positions)
                true &= t
                false |= f
            return true, false
        if isinstance(node, filtering.Or):
            true, false = np.zeros(size, dtype=bool), np.ones(size, dtype=bool)
            for child in node.children:
                t, f = self.evaluate(child, positions)
                true |= t
                false &= f
            return true, false
        if isinstance(node, filtering.Spatial):
            hits = self._spatial_hits(node)
            inside = np.zeros(len(self.layer), dtype=bool)
            inside[hits] = True
            inside = inside if positions is None else inside[positions]
            return (~inside, inside) if node.op == "disjoint" else (inside, ~inside)
        if isinstance(node, filtering.Period):
            true = np.zeros(size, dtype=bool)
            false = np.ones(size, dtype=bool)
            for name in node.columns:
                column = self.column(name)
                values, missing = self._slice(column, positions)
                inside = ~missing
                # a year column compares years; a date column (ISO text, in text order) compares dates
                low, high = ((None if d is None else (d.year if column.kind == "number" else d.isoformat()))
                             for d in (node.low, node.high))
                if low is not None:
                    inside &= self._compare(column, values, ">=", low)
                if high is not None:
                    inside &= self._compare(column, values, "<=", high)
                true |= inside
            false &= ~true  # a feature without a year does not match a datetime filter
            return true, false
        column = self.column(node.column)
        values, missing = self._slice(column, positions)
        present = ~missing
        if isinstance(node, filtering.IsNull):
            return missing.copy(), present
        if isinstance(node, filtering.Compare):
            hit = self._compare(column, values, node.op, node.value)
        elif isinstance(node, filtering.In):
            hit = np.zeros(size, dtype=bool)
            for value in node.values:
                hit |= self._compare(column, values, "=", value)
        elif isinstance(node, filtering.Between):
            hit = self._compare(column, values, ">=", node.low) & self._compare(column, values, "<=", node.high)
        elif isinstance(node, filtering.Like):
            hit = self._like(column, values, node.pattern)
        else:  # pragma: no cover - the checker makes no other node
            raise TypeError(f"cannot evaluate {node!r}")
        return hit & present, ~hit & present

    @staticmethod
    def _slice(column: Column, positions):
        if positions is None:
            return column.values, column.missing
        return column.values[positions], column.missing[positions]

    @staticmethod
    def _compare(column: Column, values: np.ndarray, op: str, value) -> np.ndarray:
        if column.kind == "text":
            # codes are in text order: compare with where the value falls among the categories
            # (bisect, not np.searchsorted: numpy 2.4's on StringDType fails on some arrays)
            left = bisect.bisect_left(column.categories, value)
            right = bisect.bisect_right(column.categories, value)
            if op == "=":
                return values == left if right > left else np.zeros(len(values), dtype=bool)
            if op == "<>":
                return values != left if right > left else np.ones(len(values), dtype=bool)
            # missing (-1) is masked out by the caller
            return {"<": values < left, "<=": values < right, ">": values >= right, ">=": values >= left}[op]
        return {"=": values == value, "<>": values != value, "<": values < value, "<=": values <= value,
                ">": values > value, ">=": values >= value}[op]

    @staticmethod
    def _like(column: Column, values: np.ndarray, pattern: str) -> np.ndarray:
        """LIKE on the distinct texts among ``values`` (few for an enum, or for a bbox window), then back to
        the features by their codes."""
        categories = column.categories
        if not len(categories):
            return np.zeros(len(values), dtype=bool)
        if len(values) * 8 < len(categories):  # a few features (a bbox window) of a column of many texts
            codes, inverse = np.unique(values, return_inverse=True)
            matching = filtering.like_mask(categories[np.maximum(codes, 0)], pattern) & (codes >= 0)
            return matching[inverse]
        # (np.unique sorts: a presence mask is ~50x faster on 10^6 codes)
        seen = np.zeros(len(categories), dtype=bool)
        seen[values[values >= 0]] = True
        if seen.all():
            matching = filtering.like_mask(categories, pattern)
        else:
            codes = np.flatnonzero(seen)
            matching = np.zeros(len(categories), dtype=bool)
            matching[codes] = filtering.like_mask(categories[codes], pattern)
        return np.where(values >= 0, matching[np.maximum(values, 0)], False)

    def _spatial_hits(self, node: filtering.Spatial) -> np.ndarray:
        """Sorted positions of the features that stand in ``node.op`` to the literal (disjoint: those that
        intersect it; the caller negates)."""
        geometry = node.geometry
        op = {"disjoint": "intersects"}.get(node.op, node.op)
        if op == "equals":
            candidates = self.tree.query(geometry)
            hits = candidates[shapely.equals(self.layer.geometries[candidates], geometry)]
        else:
            # tree.query(g, p) finds the features f for which p(g, f): "feature within g" is "g contains f"
            predicate = {"within": "contains", "contains": "within"}.get(op, op)
            hits = self.tree.query(geometry, predicate=predicate)
        return np.sort(hits).astype(np.intp, copy=False)

    # --- sorting --------------------------------------------------------------------------------------------

    def _sort_keys(self, sortby, positions) -> list[np.ndarray]:
        keys = []
        for name, descending in reversed(sortby):  # np.lexsort: the last key is the primary one
            column = self.column(name)
            values, missing = self._slice(column, positions)
            if column.kind == "number":
                values = np.where(missing, 0.0, values)
            else:
                values = values.astype(np.int64)
            keys += [-values if descending else values, missing]  # missing after the value: nulls last
        return keys

    def _layer_order(self, sortby) -> np.ndarray:
        """The whole layer's order for ``sortby`` (a few kept per index version)."""
        if sortby in self._orders:
            self._orders.move_to_end(sortby)
            return self._orders[sortby]
        order = np.lexsort(self._sort_keys(sortby, None)).astype(np.intp) if len(self.layer) else _EMPTY
        self._orders[sortby] = order
        while len(self._orders) > 8:
            self._orders.popitem(last=False)
        return order

    def _order(self, selected: np.ndarray | None, sortby) -> np.ndarray:
        if selected is None:
            return self._layer_order(sortby)
        if len(selected) * SORT_SUBSET_SHARE < len(self.layer):
            return selected[np.lexsort(self._sort_keys(sortby, selected))] if len(selected) else selected
        order = self._layer_order(sortby)
        chosen = np.zeros(len(self.layer), dtype=bool)
        chosen[selected] = True
        return order[chosen[order]]
