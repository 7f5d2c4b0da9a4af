"""Each layer kind's map style (layers.registry: ``style`` and ``rules``) for desktop GIS: OGC SLD 1.0 and QGIS
QML, so a QGIS user who adds a collection gets the map's colours, line widths, dashes and the rules' zh/en labels.

The map draws with Leaflet, whose path options are the registry's style keys: ``color``/``weight``/
``opacity``/``dashArray`` for the stroke, ``fillColor``/``fillOpacity`` for the fill, ``radius`` for point
markers (circle markers), in screen pixels. A rule's style is laid over the kind's style for the features
whose property equals the rule's value, as the map does; every other feature gets the kind's style (in SLD a
filter saying so — the property differs or is empty —, in QML an ``ELSE`` rule). Both documents are built with ElementTree: labels and values are
escaped by it, never pasted into markup.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from .schema import LayerKind

#: The id of each collection's one style.
DEFAULT = "default"

#: Leaflet's defaults for path options the registry leaves out.
LEAFLET_DEFAULTS = {"color": "#3388ff", "weight": 3, "opacity": 1.0, "fillOpacity": 0.2, "radius": 10}

SLD = "http://www.opengis.net/sld"
OGC = "http://www.opengis.net/ogc"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("", SLD)
ET.register_namespace("ogc", OGC)
ET.register_namespace("xsi", XSI)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


@dataclass(frozen=True)
class Rule:
    """One legend entry: a label, the filter (``None`` for "every other feature") and the full Leaflet style."""

    label_zh: str
    label_en: str
    prop: str | None
    value: object
    style: dict

    @property
    def label(self) -> str:
        return f"{self.label_zh} {self.label_en}"


def geometry_class(kind: LayerKind) -> str:
    """"point", "line" or "polygon": how the kind's features are drawn."""
    if kind.is_point_layer:
        return "point"
    if set(kind.geometry_types) <= {"LineString", "MultiLineString"}:
        return "line"
    return "polygon"


def _full(style: dict, kind: LayerKind) -> dict:
    full = {**LEAFLET_DEFAULTS, **style}
    full.setdefault("fillColor", full["color"])
    return full


def legend(kind: LayerKind) -> list[Rule]:
    """The kind's rules, then the style of every other feature (the kind's own)."""
    rules = [Rule(r.zh, r.en, r.prop, r.value, _full({**kind.style, **r.style}, kind)) for r in kind.rules]
    other = ("其他", "other") if kind.rules else (kind.zh, kind.en)
    label = (f"{kind.zh}（{other[0]}）", f"{kind.en} ({other[1]})") if kind.rules else other
    return rules + [Rule(*label, None, None, _full(kind.style, kind))]


def _literal(value) -> str:
    """A value as OGC filters and QGIS write it in text: true/false for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dashes(style: dict) -> list[str]:
    return str(style.get("dashArray", "")).replace(",", " ").split()


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    text = hex_colour.lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _number(value) -> str:
    return f"{float(value):g}"


# -- SLD 1.0 ------------------------------------------------------------------------------------------------

def _sld(tag: str, parent=None, text=None, **attrs):
    element = ET.Element(f"{{{SLD}}}{tag}", attrs) if parent is None else ET.SubElement(parent, f"{{{SLD}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _css(parent, name: str, value) -> None:
    _sld("CssParameter", parent, str(value), name=name)


def _sld_stroke(parent, style: dict) -> None:
    stroke = _sld("Stroke", parent)
    _css(stroke, "stroke", style["color"])
    _css(stroke, "stroke-width", _number(style["weight"]))
    _css(stroke, "stroke-opacity", _number(style["opacity"]))
    if _dashes(style):
        _css(stroke, "stroke-dasharray", " ".join(_dashes(style)))


def _sld_fill(parent, style: dict) -> None:
    fill = _sld("Fill", parent)
    _css(fill, "fill", style["fillColor"])
    _css(fill, "fill-opacity", _number(style["fillOpacity"]))


def _equal_to(parent, prop: str, value) -> None:
    equal = ET.SubElement(parent, f"{{{OGC}}}PropertyIsEqualTo")
    ET.SubElement(equal, f"{{{OGC}}}PropertyName").text = prop
    ET.SubElement(equal, f"{{{OGC}}}Literal").text = _literal(value)


def _sld_other_filter(rule, kind: LayerKind) -> None:
    """The filter of "every other feature": for each rule, the property differs from its value or is empty.
    Written out rather than as an ``ElseFilter``, which QGIS (3.22) reads as "every feature" and so would
    draw the other features' style over the rules' features."""
    parent = ET.SubElement(rule, f"{{{OGC}}}Filter")
    if len(kind.rules) > 1:
        parent = ET.SubElement(parent, f"{{{OGC}}}And")
    for r in kind.rules:
        either = ET.SubElement(parent, f"{{{OGC}}}Or")
        _equal_to(ET.SubElement(either, f"{{{OGC}}}Not"), r.prop, r.value)
        ET.SubElement(ET.SubElement(either, f"{{{OGC}}}PropertyIsNull"), f"{{{OGC}}}PropertyName").text = r.prop


def sld(kind: LayerKind) -> bytes:
    """The kind's style as an OGC Styled Layer Descriptor 1.0 (UTF-8 XML)."""
    root = _sld("StyledLayerDescriptor", version="1.0.0", **{
        f"{{{XSI}}}schemaLocation": f"{SLD} http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd"})
    layer = _sld("NamedLayer", root)
    _sld("Name", layer, kind.id)
    user_style = _sld("UserStyle", layer)
    _sld("Name", user_style, DEFAULT)
    _sld("Title", user_style, f"{kind.zh} {kind.en}")
    feature_style = _sld("FeatureTypeStyle", user_style)
    shape = geometry_class(kind)
    for rule in legend(kind):
        element = _sld("Rule", feature_style)
        _sld("Name", element, f"{rule.prop}={_literal(rule.value)}" if rule.prop else "other")
        _sld("Title", element, rule.label)
        if rule.prop is not None:
            _equal_to(ET.SubElement(element, f"{{{OGC}}}Filter"), rule.prop, rule.value)
        elif kind.rules:  # alone, the rule applies to every feature without a filter
            _sld_other_filter(element, kind)
        style = rule.style
        if shape == "polygon":
            symbolizer = _sld("PolygonSymbolizer", element)
            _sld_fill(symbolizer, style)
            _sld_stroke(symbolizer, style)
        elif shape == "line":
            _sld_stroke(_sld("LineSymbolizer", element), style)
        else:
            graphic = _sld("Graphic", _sld("PointSymbolizer", element))
            mark = _sld("Mark", graphic)
            _sld("WellKnownName", mark, "circle")
            _sld_fill(mark, style)
            _sld_stroke(mark, style)
            _sld("Size", graphic, _number(2 * float(style["radius"])))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- QGIS QML -----------------------------------------------------------------------------------------------

def _qgis_colour(hex_colour: str, opacity) -> str:
    return ",".join(map(str, (*_rgb(hex_colour), round(255 * float(opacity)))))


def _qgis_expression(prop: str, value) -> str:
    """A QGIS expression for ``prop = value``: the field name double-quoted, a text value single-quoted
    (quotes doubled), booleans and numbers as literals."""
    name = '"' + prop.replace('"', '""') + '"'
    if isinstance(value, bool):
        return f"{name} = {_literal(value)}"
    if isinstance(value, (int, float)):
        return f"{name} = {value!r}"
    return f"{name} = '" + str(value).replace("'", "''") + "'"


def _symbol_layer(parent, class_name: str, props: dict) -> None:
    """A QGIS symbol layer with its properties written both ways QGIS 3 reads them (Option map, and the
    older ``prop`` elements that QGIS 3.22 still writes)."""
    layer = ET.SubElement(parent, "layer", {"class": class_name, "enabled": "1", "locked": "0", "pass": "0"})
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(options, "Option", name=key, value=str(value), type="QString")
    for key, value in props.items():
        ET.SubElement(layer, "prop", k=key, v=str(value))


def _line_props(style: dict) -> dict:
    dashes = _dashes(style)
    return {"line_color": _qgis_colour(style["color"], style["opacity"]), "line_width": _number(style["weight"]),
            "line_width_unit": "Pixel", "line_style": "solid", "use_custom_dash": "1" if dashes else "0",
            "customdash": ";".join(dashes) if dashes else "5;2", "customdash_unit": "Pixel",
            "capstyle": "round", "joinstyle": "round"}


def _qml_symbol(parent, name: str, shape: str, style: dict) -> None:
    kind = {"polygon": "fill", "line": "line", "point": "marker"}[shape]
    symbol = ET.SubElement(parent, "symbol", {"type": kind, "name": name, "alpha": "1", "clip_to_extent": "1",
                                              "force_rhr": "0"})
    if shape == "polygon":
        _symbol_layer(symbol, "SimpleFill", {"color": _qgis_colour(style["fillColor"], style["fillOpacity"]),
                                             "style": "solid", "outline_style": "no"})
        _symbol_layer(symbol, "SimpleLine", _line_props(style))
    elif shape == "line":
        _symbol_layer(symbol, "SimpleLine", _line_props(style))
    else:
        _symbol_layer(symbol, "SimpleMarker", {
            "name": "circle", "color": _qgis_colour(style["fillColor"], style["fillOpacity"]),
            "outline_color": _qgis_colour(style["color"], style["opacity"]), "outline_style": "solid",
            "outline_width": _number(style["weight"]), "outline_width_unit": "Pixel",
            "size": _number(2 * float(style["radius"])), "size_unit": "Pixel"})


def qml(kind: LayerKind) -> bytes:
    """The kind's style as a QGIS layer style file (QML: a rule-based renderer with the map's rules)."""
    root = ET.Element("qgis", version="3.22.0", styleCategories="Symbology")
    renderer = ET.SubElement(root, "renderer-v2", type="RuleRenderer", symbollevels="0", enableorderby="0",
                             forceraster="0", referencescale="-1")
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"scenemap:{kind.id}")  # the same keys every time
    rules = ET.SubElement(renderer, "rules", key=f"{{{uuid.uuid5(namespace, 'root')}}}")
    symbols = ET.SubElement(renderer, "symbols")
    shape = geometry_class(kind)
    for i, rule in enumerate(legend(kind)):
        element = ET.SubElement(rules, "rule", key=f"{{{uuid.uuid5(namespace, str(i))}}}", symbol=str(i),
                                label=rule.label)
        if rule.prop is not None:
            element.set("filter", _qgis_expression(rule.prop, rule.value))
        elif kind.rules:  # alone, the rule applies to every feature without a filter
            element.set("filter", "ELSE")
        _qml_symbol(symbols, str(i), shape, rule.style)
    ET.SubElement(root, "layerGeometryType").text = {"point": "0", "line": "1", "polygon": "2"}[shape]
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n").encode("utf-8")


@dataclass(frozen=True)
class StyleFormat:
    title: str
    mimetype: str
    extension: str
    build: Callable[[LayerKind], bytes]


#: The encodings each style is published in, by the name ``f`` takes (the first is the default).
FORMATS: dict[str, StyleFormat] = {
    "sld10": StyleFormat("OGC SLD 1.0", "application/vnd.ogc.sld+xml;version=1.0", "sld", sld),
    "qml": StyleFormat("QGIS QML", "application/vnd.qgis.qml", "qml", qml),
}
