"""CQL2 filters (OGC API - Features - Part 3) and the ``datetime`` parameter, for one layer kind.

A filter is parsed by pygeofilter (``cql2-text`` or ``cql2-json``), bounded (text length, nodes, depth, WKT
vertices), and checked against the kind's declared fields through :mod:`layers.fieldtypes`: an unknown
property, a value of the wrong type (a year compared with a text) or an operator this server does not offer
is a :class:`FilterError` naming it, Chinese first, then English after " · ".

What comes out is a small tree of :class:`Node` objects that :class:`layers.index.FeatureIndex` evaluates
vectorized against its columns (numpy arrays per declared field, built once per layer version) and its STRtree,
with SQL's three-valued logic: a comparison with a missing value is neither true nor false, so
``NOT (capacity > 10)`` does not select the features without a capacity, as PostgreSQL would not.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import shapely
import shapely.geometry

from . import fieldtypes
from .schema import LayerKind

#: Bounds on the work one filter can cause.
MAX_TEXT = 8000  # characters of filter text (a URL is shorter than that on most servers anyway)
MAX_NODES = 200  # predicates, logical operators and literals
MAX_DEPTH = 20  # nesting of logical operators
MAX_VERTICES = 500  # coordinates in all the geometry literals of a filter
MAX_IN = 200  # values in one IN list

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: filter-crs values meaning CRS84 (lon/lat, WGS-84)
CRS84_NAMES = {CRS84, "OGC:CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "https://www.opengis.net/def/crs/OGC/1.3/CRS84"}
LANGUAGES = ("cql2-text", "cql2-json")
#: Earlier names of the languages: GDAL's OAPIF driver (3.12 too) sends its SQL filters as CQL text when the
#: OpenAPI document offers filter-lang=cql-text, in the syntax CQL2 text kept (comparisons, LIKE, IS NULL,
#: AND/OR/NOT).
ALIASES = {"cql-text": "cql2-text"}
#: The name a filter uses for a feature's geometry, and the id.
GEOMETRY = "geometry"
ID = "id"
#: Designation years are China's administrative calendar years (UTC+08:00, no daylight saving time).
CHINA = timezone(timedelta(hours=8))

log = logging.getLogger(__name__)


class FilterError(ValueError):
    """A filter (or datetime) that cannot be honoured: why, in Chinese (``zh``) and English (``en``)."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} · {en}")
        self.zh, self.en = zh, en


def _error(zh: str, en: str) -> FilterError:
    return FilterError(zh, en)


def check_language(lang: str, crs: str) -> str:
    """The language ``lang`` names (aliases resolved); FilterError for a language or CRS not offered."""
    lang = ALIASES.get(lang, lang)
    if lang not in LANGUAGES:
        raise _error(f"filter-lang={lang[:40]!r} 不受支持，可用 {'、'.join(LANGUAGES)}",
                     f"filter-lang={lang[:40]!r} is not offered; use {' or '.join(LANGUAGES)}")
    if crs not in CRS84_NAMES:
        raise _error(f"filter-crs={crs[:80]!r} 不受支持，只接受 CRS84", f"filter-crs={crs[:80]!r} is not offered; "
                     f"coordinates in filters are CRS84 ({CRS84})")
    return lang


# --- the evaluated tree ----------------------------------------------------------------------------------------

class Node:
    """One part of a checked filter. ``evaluate(index, positions)`` returns two boolean masks over
    ``positions`` (all features when None): where the part is true, and where it is false (neither: unknown)."""

    spatial = False


@dataclass(frozen=True)
class Constant(Node):
    value: bool


@dataclass(frozen=True)
class Compare(Node):
    column: str
    op: str  # = <> < <= > >=
    value: object


@dataclass(frozen=True)
class Like(Node):
    column: str
    pattern: str


@dataclass(frozen=True)
class In(Node):
    column: str
    values: tuple


@dataclass(frozen=True)
class Between(Node):
    column: str
    low: object
    high: object


@dataclass(frozen=True)
class IsNull(Node):
    column: str


@dataclass(frozen=True)
class Spatial(Node):
    op: str  # intersects, within, contains, touches, crosses, overlaps, equals, disjoint (feature op literal)
    geometry: object  # shapely geometry in CRS84
    spatial = True


@dataclass(frozen=True)
class Period(Node):
    """Some temporal field's value overlaps the days [low, high] (dates in China; None: open): a year field's
    year lies between theirs, a date field's date between them."""

    columns: tuple
    low: date | None
    high: date | None


@dataclass(frozen=True)
class Not(Node):
    child: Node


@dataclass(frozen=True)
class And(Node):
    children: tuple


@dataclass(frozen=True)
class Or(Node):
    children: tuple


# --- parsing ----------------------------------------------------------------------------------------------------

def _parser():
    """pygeofilter's CQL2 text grammar and transformer, with CQL2's ``''`` escape inside strings (GDAL writes
    it) and without the transformer's debugging prints; built once, on first use."""
    global _TEXT_PARSER
    if _TEXT_PARSER is None:
        import logging

        from lark import Lark
        from pygeofilter.parsers.cql2_text import parser as cql2_text

        logging.getLogger("lark").setLevel(logging.CRITICAL)  # pygeofilter sets it to DEBUG on import

        class Transformer(cql2_text.CQLTransformer):
            def SINGLE_QUOTED(self, token):
                return token[1:-1].replace("''", "'")

            def wkt__geometry_with_srid(self, *args):
                raise _error("几何不能带 SRID；坐标须为 CRS84（经度 纬度）",
                             "geometries cannot carry an SRID: coordinates are CRS84 (longitude latitude)")

            def wkt__multipoint_2(self, *coordinates):
                if len(coordinates) == 1 and isinstance(coordinates[0], list):
                    coordinates = tuple(coordinates[0])
                return {"type": "MultiPoint", "coordinates": coordinates}

        path = Path(cql2_text.__file__).with_name("grammar.lark")
        grammar = path.read_text("utf-8")
        for old, new in _GRAMMAR_FIXES:
            if old not in grammar:
                raise RuntimeError(f"pygeofilter's CQL2 grammar changed: {old!r} is gone; review _GRAMMAR_FIXES")
            grammar = grammar.replace(old, new)
        _TEXT_PARSER = Lark(io.StringIO(grammar), parser="lalr", maybe_placeholders=False, transformer=Transformer(),
                            source_path=str(path), import_paths=[str(path.parent.parent)])
    return _TEXT_PARSER


_TEXT_PARSER = None


def warm() -> None:
    """Build the CQL2 text parser now (once per process)."""
    _parser()
#: Where pygeofilter 0.4's CQL2 text grammar departs from CQL2 1.0: a quote inside a text is written twice
#: ('O''Brien', as GDAL writes it), and NOT applies to any condition (its grammar refuses
#: "NOT (a = 1 AND b = 2)", which GDAL sends, and "NOT NOT a = 1").
_GRAMMAR_FIXES = (
    ("SINGLE_QUOTED: \"'\" /.*?/ \"'\"", "SINGLE_QUOTED: /'(?:[^']|'')*'/"),
    (('            | "NOT"i predicate                                               -> not_\n'
      '            | "NOT"i "(" predicate ")"                                       -> not_\n'),
     '            | "NOT"i condition_1                                             -> not_\n'),
)


def _json_depth(value) -> tuple[int, int]:
    """(nesting depth, number of values) of parsed JSON, without recursion."""
    deepest, count, stack = 0, 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if count > 20 * MAX_NODES + MAX_VERTICES * 3:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest, count


def _parse_json(text: str):
    from pygeofilter.parsers.cql2_json import parser as cql2_json

    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _error("过滤条件不是有效的 JSON", f"the filter is not valid JSON ({str(exc)[:120]})") from None
    depth, count = _json_depth(document)
    # a geometry's coordinates nest four deep; the logical depth is checked again on the tree
    if depth > 3 * MAX_DEPTH + 6 or count > 20 * MAX_NODES + MAX_VERTICES * 3:
        raise _too_large()
    if not isinstance(document, dict):
        raise _error("CQL2 JSON 过滤条件应为一个对象", "a cql2-json filter must be a JSON object")
    try:
        return cql2_json.walk_cql_json(_cql2_json_1_0(document))
    except FilterError:
        raise
    except Exception as exc:  # noqa: BLE001 - the walker's KeyError, TypeError... on a document it does not expect
        log.debug("cql2-json not read: %r", exc)  # the walker's own words name Python internals: not for people
        raise _error("无法解析过滤条件（CQL2 JSON），请检查每个运算的参数个数",
                     'the filter is not CQL2 JSON this server understands: check that each operation has its '
                     'arguments, e.g. {"op": "=", "args": [{"property": "district"}, "市南区"]}') from None


def _cql2_json_1_0(node):
    """CQL2 1.0's JSON where pygeofilter 0.4 reads an earlier draft: ``between`` with three arguments (it
    expects [value, [low, high]]), and ``{"bbox": [...]}`` literals (read as BBOX(), in CQL2's order)."""
    if isinstance(node, list):
        return [_cql2_json_1_0(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"} and isinstance(node["bbox"], list):
        return {"function": {"name": "bbox", "arguments": node["bbox"]}}
    node = {key: _cql2_json_1_0(value) for key, value in node.items()}
    if node.get("op") == "between" and isinstance(node.get("args"), list) and len(node["args"]) == 3:
        node["args"] = [node["args"][0], node["args"][1:]]
    return node


def _too_large():
    return _error(f"过滤条件太大或嵌套太深（最多 {MAX_NODES} 个条件、{MAX_DEPTH} 层、几何共 {MAX_VERTICES} 个顶点）",
                  f"the filter is too large or too deeply nested (at most {MAX_NODES} terms, {MAX_DEPTH} levels, "
                  f"{MAX_VERTICES} vertices in its geometries)")


#: Checked filters by (kind, text, language, crs): a client paging through a filter, or asking the same one
#: again, is not parsed again (the nodes are immutable).
_CACHE: OrderedDict = OrderedDict()
CACHE_SIZE = 256
_CACHE_LOCK = threading.Lock()


def parse(kind: LayerKind, text: str, lang: str = "cql2-text", crs: str = CRS84) -> Node:
    """The checked filter ``text`` (in ``lang``) on features of ``kind``; FilterError when it cannot be."""
    key = (id(kind), text, lang, crs)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None and found[0] is kind:
            _CACHE.move_to_end(key)
            return found[1]
    node = _parse(kind, text, lang, crs)
    with _CACHE_LOCK:
        _CACHE[key] = (kind, node)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return node


def _parse(kind: LayerKind, text: str, lang: str, crs: str) -> Node:
    lang = check_language(lang, crs)
    if not text.strip():
        raise _error("过滤条件为空", "the filter is empty")
    if len(text) > MAX_TEXT:
        raise _error(f"过滤条件太长（{len(text)} 字符，最多 {MAX_TEXT}）",
                     f"the filter is {len(text)} characters long; at most {MAX_TEXT}")
    if lang == "cql2-json":
        tree = _parse_json(text)
    else:
        function = _FUNCTION.search(re.sub(r"'(?:[^']|'')*'", "''", text))  # outside quoted texts
        if function:
            raise _error(f"不支持函数 {function.group(1).upper()}()", f"the function {function.group(1).upper()}() is "
                         "not offered (temporal and array functions: use the datetime parameter for time)")
        try:
            tree = _parser().parse(text)
        except FilterError:
            raise
        except Exception as exc:  # noqa: BLE001 - lark's errors, and the transformer's on odd literals
            raise _error("无法解析过滤条件（CQL2 文本）", f"the filter is not CQL2 text this server understands: "
                         f"{_syntax_message(exc)}") from None
    return _Checker(kind).check(tree)


_FUNCTION = re.compile(r"\b([TA]_[A-Za-z]+)\s*\(", re.IGNORECASE)


def _syntax_message(exc: Exception) -> str:
    from lark.exceptions import UnexpectedInput

    if isinstance(exc, UnexpectedInput):
        column = getattr(exc, "column", None)
        token = getattr(exc, "token", None) or getattr(exc, "char", None)
        if token in (None, "") or str(getattr(token, "type", "")) == "$END":
            return "it ends too early"
        return f"unexpected {str(token)[:40]!r} at character {column}"
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


class _Checker:
    """Turns pygeofilter's tree into checked :class:`Node` objects."""

    def __init__(self, kind: LayerKind):
        self.kind = kind
        self.fields = kind.field_map
        self.nodes = 0
        self.vertices = 0

    # names and values -----------------------------------------------------------------------------------------

    def _count(self, n: int = 1):
        self.nodes += n
        if self.nodes > MAX_NODES:
            raise _too_large()

    def _queryables(self) -> str:
        return ", ".join([ID, *self.fields, GEOMETRY])

    def _property(self, node) -> str:
        from pygeofilter import ast

        if isinstance(node, ast.Function):
            raise _error(f"不支持函数 {node.name.upper()}()", f"the function {node.name.upper()}() is not offered")
        if not isinstance(node, ast.Attribute):
            raise _error("比较的一侧须为属性名", f"one side of a comparison must be a property name, not {_shown(node)}")
        name = node.name
        if name == GEOMETRY:
            raise _error("几何只能用于空间函数（S_INTERSECTS 等）",
                         "the geometry can only be used in spatial functions (S_INTERSECTS, S_WITHIN, ...)")
        if name != ID and name not in self.fields:
            raise _error(f"没有属性「{name[:60]}」，可用：{self._queryables()}",
                         f"unknown property {name[:60]!r}; the queryables are: {self._queryables()}")
        return name

    def _is_date(self, name: str) -> bool:
        return name != ID and fieldtypes.of(self.fields[name]).schema.get("format") == "date"

    def _type(self, name: str) -> str:
        return "string" if name == ID else fieldtypes.of(self.fields[name]).schema["type"]

    def _value(self, name: str, value, *, exact: bool = False):
        """``value`` checked against the type of property ``name`` (and, with ``exact``, against its choices)."""
        from pygeofilter import ast

        if isinstance(value, (ast.Node, list)) or hasattr(value, "geometry"):
            if isinstance(value, ast.Attribute):
                raise _error(f"不支持两个属性相互比较（{name} 与 {value.name[:60]}）",
                             f"comparing two properties ({name} and {value.name[:60]}) is not offered")
            raise _error(f"「{name}」只能与字面值比较", f"{name} can only be compared with a literal value, "
                         f"not {_shown(value)}")
        kind = self._type(name)
        label = ID if name == ID else f"{self.fields[name].zh}（{name}）"
        if name != ID:  # as a GIS client writes it: GDAL and QGIS send a boolean as 1/0 ("is_24h_pilot = 1")
            value = fieldtypes.of(self.fields[name]).native(self.fields[name], value)
        ok = {"string": isinstance(value, str),
              "integer": _number(value), "number": _number(value), "boolean": isinstance(value, bool)}[kind]
        if name == ID and _number(value) and float(value).is_integer():
            return str(int(value))  # canonical ids are text: 7 names the feature "7"
        if not ok and isinstance(value, date) and not isinstance(value, datetime) and self._is_date(name):
            return value.isoformat()  # DATE('2026-03-05') on a date field
        if not ok:
            words = {"string": ("文字", "text"), "integer": ("整数", "an integer"), "number": ("数字", "a number"),
                     "boolean": ("布尔值（TRUE/FALSE）", "a boolean (TRUE or FALSE)")}[kind]
            raise _error(f"{label}是{words[0]}，不能与{_shown_zh(value)}比较",
                         f"{name} is {words[1]}; it cannot be compared with {_shown(value)}")
        if exact and name != ID and fieldtypes.choices(self.fields[name]):
            reason = fieldtypes.check_value(self.fields[name], value)
            if reason:
                raise _error(f"{label}：{reason.split('·', 1)[0].strip()}", f"{name}: {reason.rsplit('·', 1)[-1].strip()}")
        return float(value) if kind in ("integer", "number") else value

    # the tree -------------------------------------------------------------------------------------------------

    def check(self, tree) -> Node:
        return self._node(tree, 0)

    def _node(self, node, depth: int) -> Node:
        from pygeofilter import ast

        if depth > MAX_DEPTH:
            raise _too_large()
        self._count()
        if isinstance(node, bool):
            return Constant(node)
        if isinstance(node, (ast.And, ast.Or)):
            kind = type(node)
            parts, stack = [], [node]
            while stack:  # a chain of ANDs (or ORs) is one level, however long
                item = stack.pop()
                if type(item) is kind:
                    self._count()
                    stack += [item.rhs, item.lhs]
                else:
                    parts.append(self._node(item, depth + 1))
            return (And if kind is ast.And else Or)(tuple(parts))
        if isinstance(node, ast.Not):
            return Not(self._node(node.sub_node, depth + 1))
        if isinstance(node, ast.Include):
            return Constant(not node.not_)
        if isinstance(node, ast.Comparison):
            return self._comparison(node)
        if isinstance(node, ast.Like):
            name = self._property(node.lhs)
            if self._type(name) != "string":
                raise _error(f"LIKE 只能用于文字属性，「{name}」不是文字", f"LIKE applies to text properties; "
                             f"{name} is not text")
            if not isinstance(node.pattern, str):
                raise _error("LIKE 的模式须为文字", f"the pattern of LIKE must be a text, not {_shown(node.pattern)}")
            if len(node.pattern) > fieldtypes.MAX_TEXT:
                raise _too_large()
            found = Like(name, node.pattern)
            return Not(found) if node.not_ else found
        if isinstance(node, ast.In):
            name = self._property(node.lhs)
            if len(node.sub_nodes) > MAX_IN:
                raise _error(f"IN 列表最多 {MAX_IN} 个值", f"an IN list holds at most {MAX_IN} values")
            self._count(len(node.sub_nodes))
            found = In(name, tuple(self._value(name, v, exact=True) for v in node.sub_nodes))
            return Not(found) if node.not_ else found
        if isinstance(node, ast.Between):
            name = self._property(node.lhs)
            if self._type(name) not in ("integer", "number"):
                raise _error(f"BETWEEN 只能用于数值属性，「{name}」不是数值", f"BETWEEN applies to numeric properties; "
                             f"{name} is not a number")
            found = Between(name, self._value(name, node.low), self._value(name, node.high))
            return Not(found) if node.not_ else found
        if isinstance(node, ast.IsNull):
            if isinstance(node.lhs, ast.Attribute) and node.lhs.name == GEOMETRY:
                return Constant(bool(node.not_))  # every feature has a geometry
            found = IsNull(self._property(node.lhs))
            return Not(found) if node.not_ else found
        if isinstance(node, ast.SpatialComparisonPredicate):
            return self._spatial(node)
        if isinstance(node, ast.BBox):
            return self._spatial_of("intersects", node.lhs, shapely.box(node.minx, node.miny, node.maxx, node.maxy))
        return self._unsupported(node)

    def _unsupported(self, node):
        from pygeofilter import ast

        if isinstance(node, ast.TemporalPredicate):
            what = ("时间函数（T_*）", "temporal functions (T_*): use the datetime parameter")
        elif isinstance(node, ast.ArrayPredicate):
            what = ("数组函数（A_*）", "array functions (A_*)")
        elif isinstance(node, (ast.Arithmetic,)):
            what = ("算术表达式", "arithmetic")
        elif isinstance(node, ast.Function):
            what = (f"函数 {node.name.upper()}()", f"the function {node.name.upper()}()")
        elif isinstance(node, ast.Attribute):
            what = (f"单独的属性「{node.name[:60]}」（请写成比较，如 {node.name[:60]} = TRUE）",
                    (f"a bare property {node.name[:60]!r} as a condition (write a comparison, e.g. "
                     f"{node.name[:60]} = TRUE)"))
        else:
            what = (f"{type(node).__name__}", f"{_shown(node)} as a condition")
        raise _error(f"不支持{what[0]}", f"{what[1]} is not offered")

    def _comparison(self, node) -> Node:
        from pygeofilter import ast

        ops = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=", ast.GreaterThan: ">",
               ast.GreaterEqual: ">="}
        op = ops[type(node)]
        lhs, rhs = node.lhs, node.rhs
        literal = (str, bool, int, float)
        if isinstance(lhs, literal) and isinstance(rhs, literal):  # 1 = 1
            if type(lhs) is not type(rhs) and not (_number(lhs) and _number(rhs)):
                raise _error(f"不能比较{_shown_zh(lhs)}与{_shown_zh(rhs)}", f"cannot compare {_shown(lhs)} with "
                             f"{_shown(rhs)}")
            return Constant(bool(_OPS[op](lhs, rhs)))
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        name = self._property(lhs)
        if op not in ("=", "<>") and self._type(name) == "boolean":
            raise _error(f"「{name}」是布尔值，只能用 = 或 <> 比较", f"{name} is a boolean: compare it with = or <> only")
        return Compare(name, op, self._value(name, rhs, exact=op in ("=", "<>")))

    def _spatial(self, node) -> Node:
        from pygeofilter import ast

        op = {ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
              ast.GeometryContains: "contains", ast.GeometryWithin: "within", ast.GeometryTouches: "touches",
              ast.GeometryCrosses: "crosses", ast.GeometryOverlaps: "overlaps", ast.GeometryEquals: "equals"}[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if not _is_geometry_property(lhs) and _is_geometry_property(rhs):
            lhs, rhs = rhs, lhs
            op = {"within": "contains", "contains": "within"}.get(op, op)
        if not _is_geometry_property(lhs):
            if isinstance(lhs, ast.Attribute):
                raise _error(f"空间函数的属性须为 {GEOMETRY}，不是「{lhs.name[:60]}」",
                             f"spatial functions apply to the property {GEOMETRY!r}, not {lhs.name[:60]!r}")
            raise _error(f"空间函数须有一侧为 {GEOMETRY}", f"a spatial function needs {GEOMETRY!r} on one side")
        return self._spatial_of(op, lhs, self._geometry(rhs))

    def _spatial_of(self, op, lhs, geometry) -> Node:
        if not _is_geometry_property(lhs):
            raise _error(f"空间函数须有一侧为 {GEOMETRY}", f"a spatial function needs {GEOMETRY!r} on one side")
        return Spatial(op, geometry)

    def _geometry(self, value):
        """A shapely geometry from a literal: WKT, GeoJSON (cql2-json), or BBOX(...)."""
        from pygeofilter import ast

        if isinstance(value, ast.Function) and value.name == "bbox":
            args = value.arguments
            if len(args) not in (4, 6) or not all(_number(a) for a in args):
                raise _error("BBOX 需要 4 个（或 6 个）数字", "BBOX needs 4 (or 6) numbers")
            half = len(args) // 2
            minx, miny, maxx, maxy = args[0], args[1], args[half], args[half + 1]
            self._check_coordinates(np.array([[minx, miny], [maxx, maxy]], dtype=float))
            if miny > maxy:
                raise _error("BBOX 的南边大于北边", "the BBOX's minimum latitude is greater than its maximum")
            if minx > maxx:  # it crosses the antimeridian
                return shapely.union(shapely.box(minx, miny, 180, maxy), shapely.box(-180, miny, maxx, maxy))
            return shapely.box(minx, miny, maxx, maxy)
        if hasattr(value, "x1") and hasattr(value, "y2"):  # pygeofilter's Envelope (ENVELOPE, or {"bbox": ...})
            return self._geometry(ast.Function("bbox", [value.x1, value.y1, value.x2, value.y2]))
        geometry = getattr(value, "geometry", None)
        if not isinstance(geometry, dict):
            raise _error("空间函数的另一侧须为几何（WKT 或 GeoJSON，CRS84）",
                         f"the other side of a spatial function must be a geometry (WKT, or GeoJSON in cql2-json; "
                         f"CRS84), not {_shown(value)}")
        if "crs" in geometry:
            raise _error("几何不能自带坐标系；坐标须为 CRS84", "geometries cannot carry their own crs: use CRS84")
        self.vertices += _count_coordinates(geometry)
        if self.vertices > MAX_VERTICES:
            raise _too_large()
        try:
            shape = shapely.geometry.shape(geometry)
        except Exception as exc:  # noqa: BLE001 - shapely's errors on a malformed literal
            raise _error("几何无效", f"the geometry is not valid: {str(exc)[:160]}") from None
        if shape.is_empty:
            raise _error("几何为空", "the geometry is empty")
        self._check_coordinates(shapely.get_coordinates(shape))
        if not shape.is_valid:
            raise _error("几何无效（如自相交）", f"the geometry is not valid: {shapely.is_valid_reason(shape)}")
        return shape

    @staticmethod
    def _check_coordinates(xy: np.ndarray) -> None:
        if not np.isfinite(xy).all() or (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
            raise _error("坐标超出范围：经度 -180..180，纬度 -90..90（CRS84，经度在前）",
                         "coordinates out of range: longitude -180..180, latitude -90..90 (CRS84, longitude first)")


def _is_geometry_property(node) -> bool:
    from pygeofilter import ast

    return isinstance(node, ast.Attribute) and node.name == GEOMETRY


def _count_coordinates(geometry) -> int:
    count, stack = 0, [geometry.get("coordinates", geometry.get("geometries", ()))]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.append(item.get("coordinates", item.get("geometries", ())))
        elif isinstance(item, (list, tuple)):
            if item and all(isinstance(v, (int, float)) for v in item):
                count += 1
            else:
                stack.extend(item)
        if count > MAX_VERTICES:
            break
    return count


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _shown_zh(value) -> str:
    """A literal as the Chinese half of a message shows it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return f"文字「{value[:60]}」"
    if isinstance(value, (int, float)):
        return f"数字 {value!r}"
    if isinstance(value, (date, datetime)):
        return f"日期 {value.isoformat()}"
    return "该值"


def _shown(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return f"the text {value[:60]!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, (date, datetime)):
        return f"the date {value.isoformat()}"
    name = getattr(value, "name", None)
    return f"{type(value).__name__} {name}" if isinstance(name, str) else type(value).__name__


_OPS = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


# --- LIKE ----------------------------------------------------------------------------------------------------------

def like_parts(pattern: str) -> tuple[list[str], bool]:
    """A CQL2 LIKE pattern as its literal pieces between ``%`` wildcards, and whether it has a ``_`` (one
    character) wildcard; ``\\`` escapes the next character."""
    pieces, current, single, chars = [], [], False, iter(pattern)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))
        elif char == "%":
            pieces.append("".join(current))
            current = []
        else:
            single |= char == "_"
            current.append(char)
    pieces.append("".join(current))
    return pieces, single


def like_regex(pattern: str) -> re.Pattern:
    out, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def like_mask(values: np.ndarray, pattern: str) -> np.ndarray:
    """Which of ``values`` (a numpy StringDType array) match the CQL2 LIKE ``pattern``: numpy's vectorized
    string functions for patterns of ``%`` and literal text; a regular expression per value when the pattern
    has ``_``."""
    pieces, single = like_parts(pattern)
    if single:
        regex = like_regex(pattern)
        return np.fromiter((regex.fullmatch(v) is not None for v in values.tolist()), dtype=bool, count=len(values))
    if len(pieces) == 1:
        return values == pieces[0]
    first, *middle, last = pieces
    ok = np.strings.startswith(values, first) if first else np.ones(len(values), dtype=bool)
    position = np.full(len(values), len(first), dtype=np.int64)
    for piece in middle:
        if not piece:
            continue
        found = np.strings.find(values, piece, position)
        ok &= found >= 0
        position = np.where(found >= 0, found + len(piece), position)
    if last:
        ok &= np.strings.endswith(values, last) & (np.strings.str_len(values) - len(last) >= position)
    return ok


# --- datetime (OGC API - Features - Part 1) -------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _instant(text: str) -> date | None:
    """The calendar day (in China, UTC+08:00) of an RFC 3339 date or date-time; None for an open end."""
    if text in ("..", ""):
        return None
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _DATETIME.fullmatch(text):
            moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T"))
            return moment.astimezone(CHINA).date()
    except ValueError:
        pass
    raise _error(f"datetime 中的「{text[:40]}」不是 RFC 3339 日期或时间（如 2019-05-01、2019-05-01T08:00:00Z）",
                 f"{text[:40]!r} in datetime is not an RFC 3339 date or date-time (e.g. 2019-05-01, "
                 "2019-05-01T08:00:00Z); intervals are start/end, with .. for an open end")


def parse_datetime(kind: LayerKind, text: str) -> Node | None:
    """The ``datetime`` parameter as a filter on the kind's temporal fields (a year spans the whole year, a date
    the whole day, in China's time zone); None when the kind has no temporal field (every feature matches)."""
    parts = text.split("/")
    if len(parts) > 2 or not text:
        raise _error("datetime 应为一个日期时间，或用 / 分隔的区间", "datetime must be a date, a date-time, or an "
                     "interval start/end (.. for an open end)")
    if len(parts) == 1:
        if text in ("..", ""):
            raise _error("datetime 的单个值不能是 ..", "a single datetime value cannot be '..'")
        low = high = _instant(text)
    else:
        low, high = _instant(parts[0]), _instant(parts[1])
        if low is not None and high is not None and low > high:
            raise _error("datetime 区间的开始晚于结束", "the datetime interval starts after it ends")
        if parts[0] not in ("..", "") and parts[1] not in ("..", ""):
            _check_order(parts[0], parts[1])
    columns = tuple(f.name for f in kind.fields if fieldtypes.of(f).temporal)
    return Period(columns, low, high) if columns else None


def _check_order(start: str, end: str) -> None:
    def moment(text, days=0):
        if _DATE.fullmatch(text):  # a date is the whole day (in China): an end date ends at the next midnight
            return datetime.fromisoformat(text).replace(tzinfo=CHINA) + timedelta(days=days)
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T"))

    if moment(start) >= moment(end, 1) if _DATE.fullmatch(end) else moment(start) > moment(end):
        raise _error("datetime 区间的开始晚于结束", "the datetime interval starts after it ends")


def conjuncts(node: Node | None) -> list[Node]:
    """The parts of a filter that must all hold (a top-level AND split), spatial ones first: they narrow the
    candidates through the STRtree before anything is evaluated on columns."""
    if node is None:
        return []
    parts = list(node.children) if isinstance(node, And) else [node]
    return sorted(parts, key=lambda part: not part.spatial)
