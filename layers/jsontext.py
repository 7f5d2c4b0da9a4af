"""Turning the bytes of a JSON file into Python objects, refusing what RFC 8259 or good sense forbids.

Each refusal says where and what to do: a byte-order mark, text that is not UTF-8 (with the encoding it
looks like), malformed JSON (line and column), NaN/Infinity, numbers too large for a double, duplicate
object members and absurd nesting.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from .problems import Report

#: Returned by :func:`parse_json` when the bytes are refused (None is a valid JSON value: null).
REFUSED = object()

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class _Refused(ValueError):
    def __init__(self, message: str, token: str):
        super().__init__(message)
        self.token = token


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def _decode(data: bytes, encoding: str, report: Report) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        report.add("the file starts with a UTF-8 byte-order mark (BOM), which JSON text must not have "
                   "(RFC 8259 section 8.1); save it as UTF-8 without BOM")
        return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        report.add("the file is UTF-16 encoded; save it as UTF-8 (RFC 8259 requires UTF-8)")
        return None
    try:
        return data.decode(encoding)
    except LookupError:
        report.add(f"unknown text encoding {encoding!r}; use utf-8 or gb18030")
        return None
    except UnicodeDecodeError as exc:
        where = _line_col(data[: exc.start].decode(encoding, errors="replace"), exc.start)
        hint, fix = "", None
        if encoding.replace("-", "").lower() == "utf8":
            try:
                data.decode("gb18030")
                hint = ("; it reads as Chinese GBK/GB18030 text: save it as UTF-8, or read it with "
                        "encoding 'gb18030' (command line: --encoding gb18030)")
                fix = "gb18030"
            except UnicodeDecodeError:
                pass
        zh = "文件看起来是 GBK/GB18030 编码，可按 GB18030 重新读取 · " if fix else "文件编码不对 · "
        report.add(f"{zh}the text is not valid {encoding} (byte 0x{data[exc.start]:02x} at {where}){hint}", fix=fix)
        return None


def _depth(text: str) -> int:
    skeleton = _STRING.sub("", text).encode("ascii", errors="ignore").translate(
        None, delete=bytes(b for b in range(256) if b not in _BRACKETS))
    if not skeleton:
        return 0
    steps = np.frombuffer(skeleton, dtype=np.uint8)
    return int(np.cumsum(np.where((steps == ord("[")) | (steps == ord("{")), 1, -1)).max())


def _parse_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise _Refused(f"the number {token[:40]} is too large to be a coordinate or a value", token)
    return value


def _parse_int(token: str) -> int:
    if len(token.lstrip("-")) > 18:
        raise _Refused(f"the integer {token[:40]}{'…' if len(token) > 40 else ''} has {len(token)} digits", token)
    return int(token)


def _parse_constant(token: str):
    raise _Refused(f"{token} is not a number in JSON (RFC 8259); write null or a real number", token)


def _pairs(pairs: list[tuple]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen, dupes = set(), []
        for key, _ in pairs:
            if key in seen:
                dupes.append(key)
            seen.add(key)
        raise _Refused(f"an object has the member {dupes[0]!r} twice, which makes it ambiguous", f'"{dupes[0]}"')
    return obj


def parse_json(data: bytes, report: Report, encoding: str = "utf-8"):
    """Return the JSON value in ``data``, or :data:`REFUSED` with the reasons added to ``report``."""
    text = _decode(data, encoding, report)
    if text is None:
        return REFUSED
    if not text.strip():
        report.add("the file is empty")
        return REFUSED
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_float=_parse_float,
                          parse_int=_parse_int, parse_constant=_parse_constant)
    except _Refused as exc:
        pos = text.find(exc.token)
        report.add(str(exc), where=f"first at {_line_col(text, pos)}" if pos >= 0 else "")
    except json.JSONDecodeError as exc:
        sample = text[exc.pos: exc.pos + 30].splitlines()[0] if exc.pos < len(text) else "end of file"
        report.add(f"malformed JSON: {exc.msg} (near {sample!r})", where=f"line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        report.add(f"the JSON is nested {_depth(text)} levels deep; GeoJSON needs fewer than 10")
    except ValueError as exc:
        report.add(f"the JSON could not be read: {exc}")
    return REFUSED
