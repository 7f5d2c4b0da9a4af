"""Checking feature properties against a layer kind's declared fields."""

from __future__ import annotations

from . import fieldtypes
from .fieldtypes import check_value
from .schema import LayerKind

_HEADERS: dict[int, tuple[LayerKind, dict]] = {}


def header_map(kind: LayerKind) -> dict[str, str]:
    """Column header (case-folded, spaces taken out) -> declared field: the name, the zh label, the aliases."""
    cached = _HEADERS.get(id(kind))
    if cached is not None and cached[0] is kind:
        return cached[1]
    found = {}
    for fld in kind.fields:
        for header in fld.headers:
            found.setdefault(_header_key(header), fld.name)
    _HEADERS[id(kind)] = (kind, found)  # kinds are declared once; the kind is kept so its id is not reused
    return found


def _header_key(header) -> str:
    return "".join(str(header).split()).casefold()


def as_declared(kind: LayerKind, props: dict) -> tuple[dict, list[str]]:
    """The one step every reader's properties go through before they are checked: column headers in
    Chinese or other declared spellings become the field names, and words for values (an enum's Chinese
    labels and synonyms, district names without 区, 是/否, everyday hours) become the stored values.
    Returns the properties and a notice per change, for the person to confirm."""
    fields = kind.field_map
    names = header_map(kind)
    out, notices = {}, []
    for key, value in props.items():
        name = key if key in fields else names.get(_header_key(key), key)
        if name != key and (name in props or name in out):
            name = key  # the file has two spellings of one field: the first (or declared) one wins
        out[name] = value
    for name, value in list(out.items()):
        fld = fields.get(name)
        word = fieldtypes.word(fld, value) if fld is not None else None
        if word is None or word == value:
            continue
        out[name] = word
        if fieldtypes.of(fld).check_words:
            notices.append(f"{fld.zh}「{value}」读作 {word}，请核对 · {fld.en} {value!r} read as {word!r}: please check")
        else:
            shown = {True: "true", False: "false"}.get(word, word)
            notices.append(f"{fld.zh}「{value}」读作 {shown} · {fld.en} {value!r} read as {shown!r}")
    return out, notices


def normalize(kind: LayerKind, props: dict) -> dict:
    """One spelling per value, so an unchanged feature compares equal after a round trip through a GIS
    format: a whole "number" is written as an integer (GDAL reads 40 back as 40.0)."""
    for name in [f.name for f in kind.fields if fieldtypes.of(f).decimal]:
        value = props.get(name)
        if isinstance(value, float) and value.is_integer():
            props[name] = int(value)
    return props


def check_properties(kind: LayerKind, props: dict) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) for one feature's properties."""
    errors, warnings = [], []
    fields = kind.field_map
    for fld in kind.fields:
        value = props.get(fld.name)
        if value is None or value == "":
            if fld.required:
                errors.append(f"缺少「{fld.zh}」· property {fld.name!r} ({fld.zh}) is required")
            continue
        reason = check_value(fld, value)
        if reason:
            errors.append(f"「{fld.zh}」{reason.split(' · ')[0]} · property {fld.name!r} ({fld.zh}) "
                          f"{reason.split(' · ', 1)[-1]}")
    extra = sorted(set(props) - set(fields))
    if extra:
        warnings.append(f"这些列不属于本图层，会保留但不显示：{'、'.join(map(str, extra))[:200]} · "
                        f"properties not declared for {kind.id} are kept but not shown: {', '.join(map(str, extra))[:200]}")
    return errors, warnings
