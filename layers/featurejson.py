"""The JSON bodies of features as served: a page of a FeatureCollection and one Feature, assembled from the
pre-serialized feature bytes of :class:`layers.catalog.Encoded` in this one place (views never splice JSON).
"""

from __future__ import annotations

import json

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _members(members: dict) -> bytes:
    return b",".join(_dumps(str(key)).encode() + b":" + _dumps(value).encode() for key, value in members.items())


def collection(head: dict, features: bytes) -> bytes:
    """A FeatureCollection: the members of ``head`` (type, numberMatched, links...), then ``features``, the
    comma-joined JSON of the page's features."""
    if "features" in head:
        raise ValueError("the head of a FeatureCollection does not hold its features")
    members = _members(head)
    return b"{" + members + (b"," if members else b"") + b'"features":[' + bytes(features) + b"]}"


def feature(serialized: bytes, extra: dict) -> bytes:
    """One pre-serialized Feature (a JSON object) with the members of ``extra`` (such as its links) added."""
    serialized = bytes(serialized)
    if not (serialized.startswith(b'{"') and serialized.endswith(b"}")):
        raise ValueError("a serialized feature is a non-empty JSON object")
    return serialized[:-1] + (b"," + _members(extra) if extra else b"") + b"}"


def with_properties(serialized: list, names: tuple[str, ...]) -> bytes:
    """The comma-joined features of ``serialized`` (JSON bytes each) carrying only the properties ``names``
    (in that order), re-serialized: only a page is, never the layer."""
    out = []
    for one in serialized:
        decoded = json.loads(bytes(one))
        props = decoded.get("properties") or {}
        decoded["properties"] = {name: props[name] for name in names if name in props}
        out.append(_dumps(decoded).encode())
    return b",".join(out)
