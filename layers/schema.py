"""The vocabulary layer kinds are declared in: fields, style rules and the kind itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import fieldtypes

#: Value types a property may be declared with; what each means is one entry of :data:`layers.fieldtypes.TYPES`.
FIELD_TYPES = tuple(fieldtypes.TYPES)

#: Geometry types of RFC 7946.
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection")


@dataclass(frozen=True)
class Field:
    """One declared property of a layer kind."""

    name: str
    type: str
    zh: str
    en: str
    required: bool = False
    choices: tuple[str, ...] = ()
    #: zh/en labels of enum values, e.g. {"pilot": ("试点", "pilot")}.
    choice_labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    #: Other column headers that mean this field (the zh label is one already), e.g. ("店名", "场所名称").
    aliases: tuple[str, ...] = ()
    #: Other words for enum values, e.g. {"咖啡馆": "cafe"}; the zh/en labels are words for their value already.
    synonyms: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name!r}: unknown type {self.type!r}; use one of {FIELD_TYPES}")
        if (self.type == "enum") != bool(self.choices):
            raise ValueError(f"field {self.name!r}: choices go with type 'enum', and only with it")
        wrong = sorted(set(self.synonyms.values()) - set(self.choices))
        if wrong:
            raise ValueError(f"field {self.name!r}: synonyms name values that are not choices: {wrong}")

    @property
    def headers(self) -> tuple[str, ...]:
        """Every column header that means this field: its name, its zh label and its aliases."""
        return (self.name, self.zh) + self.aliases

    @property
    def words(self) -> dict[str, str]:
        """Every word a person may write for an enum value (case-folded) -> the value stored."""
        found = {}
        for value, labels in self.choice_labels.items():
            for label in labels:
                found[label.casefold()] = value
        found.update({word.casefold(): value for word, value in self.synonyms.items()})
        found.update({value.casefold(): value for value in self.choices})
        return found


@dataclass(frozen=True)
class StyleRule:
    """A style override for the features whose property ``prop`` equals ``value``; also a legend entry."""

    prop: str
    value: object
    style: dict
    zh: str
    en: str


@dataclass(frozen=True)
class LayerKind:
    """A kind of layer: what its features may contain and how the map shows them."""

    id: str
    zh: str
    en: str
    geometry_types: tuple[str, ...]
    fields: tuple[Field, ...]
    style: dict
    popup: tuple[str, ...]
    rules: tuple[StyleRule, ...] = ()
    context: bool = False
    #: Whether the public map shows the layer when the page opens.
    shown: bool = True
    #: Drawing order on the map: higher is drawn above (smaller areas above larger ones).
    z_order: int = 0
    #: Staff-only data (e.g. hotline complaints): never in the public map, /api or /ogc for anonymous users;
    #: the public accessors of webmap.db answer its id like an unknown one. Staff pages edit it as any layer.
    staff_only: bool = False
    description_zh: str = ""
    description_en: str = ""

    def __post_init__(self):
        unknown = set(self.geometry_types) - set(GEOMETRY_TYPES)
        if unknown:
            raise ValueError(f"layer kind {self.id!r}: unknown geometry types {sorted(unknown)}")
        names = [f.name for f in self.fields]
        missing = [p for p in self.popup + tuple(r.prop for r in self.rules) if p not in names]
        if missing:
            raise ValueError(f"layer kind {self.id!r}: popup/rules name undeclared fields {missing}")

    @property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def geometry_type(self) -> str:
        """The one geometry type clients are told the kind has, and that it is served and exported as: the
        multi-part type when the kind allows single and multi-part (a Polygon is served as a MultiPolygon of one
        part), otherwise its only type. GIS clients type a layer from it; mixed types read as "Unknown"."""
        multi = [t for t in self.geometry_types if t.startswith("Multi")]
        if len(self.geometry_types) == 1:
            return self.geometry_types[0]
        if len(multi) == 1 and all(t in (multi[0], multi[0][5:]) for t in self.geometry_types):
            return multi[0]
        return "GeometryCollection"

    @property
    def is_point_layer(self) -> bool:
        return set(self.geometry_types) <= {"Point", "MultiPoint"}

    def to_public(self) -> dict:
        """What the map page and the API tell clients about the kind (JSON-serialisable)."""
        return {
            "id": self.id, "zh": self.zh, "en": self.en, "context": self.context, "shown": self.shown,
            "z_order": self.z_order,
            "description": {"zh": self.description_zh, "en": self.description_en},
            "geometry_types": list(self.geometry_types), "point_layer": self.is_point_layer,
            "style": self.style,
            "rules": [{"prop": r.prop, "value": r.value, "style": r.style, "zh": r.zh, "en": r.en}
                      for r in self.rules],
            "fields": [{"name": f.name, "type": f.type, "input": fieldtypes.TYPES[f.type].input,
                        "zh": f.zh, "en": f.en, "required": f.required,
                        "choices": {c: list(labels) for c, labels in fieldtypes.choices(f).items()}}
                       for f in self.fields],
            "popup": list(self.popup),
        }
