"""Canonical form and content hash of NDI documents (local-format spec §1.8).

Raw JSON text is never compared: MATLAB rewrites numbers, key order and
one-element arrays on every round trip. The canonical form emulates a MATLAB
decode/encode so that two documents MATLAB considers equal hash alike.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from .errors import DocumentJsonError
from .jsonio import as_list, to_double

_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return "\\" + char if char in '"\\' else f"\\u{ord(char):04x}"


def _quote(text: str) -> str:
    """Only the mandatory JSON escapes, control characters always as \\u00XX (spec §1.8 rule 4)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'

_INT_LIMIT = float(1 << 53)
PROFILES = ("full", "content")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_double(value: int | float) -> float:
    return to_double(value) if isinstance(value, int) else value


def _normalise(value: Any, number: Callable[[int | float], Any] = _as_double) -> Any:
    """Bottom-up MATLAB collapse: one-element arrays, null as [], each number through ``number``
    (by default a double, as MATLAB holds it)."""
    if isinstance(value, dict):
        return {k: _normalise(v, number) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normalise(v, number) for v in value]
        if len(items) == 1:
            only = items[0]
            if isinstance(only, (bool, dict)) or _is_number(only):
                return only
            if isinstance(only, list) and all(_is_number(x) for x in only):
                return only
        return items
    if value is None:
        return []
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return number(value)
    return value



def _content_view(document: dict[str, Any]) -> dict[str, Any]:
    """Drop every location field but ``uid``: locations change legitimately on download."""
    files = document.get("files")
    if not isinstance(files, dict) or "file_info" not in files:
        return document
    infos = []
    for info in as_list(files["file_info"]):
        if isinstance(info, dict) and "locations" in info:
            locations = [
                {"uid": loc["uid"]} if isinstance(loc, dict) and "uid" in loc else {}
                for loc in as_list(info["locations"])
            ]
            info = {**info, "locations": locations}
        infos.append(info)
    return {**document, "files": {**files, "file_info": infos}}


def _serialise(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_quote(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            if i:
                out.append(",")
            out.append(_quote(key))
            out.append(":")
            _serialise(value[key], out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _serialise(item, out)
        out.append("]")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    else:
        number = to_double(value)
        if math.isnan(number):
            out.append("NaN")
        elif math.isinf(number):
            out.append("Infinity" if number > 0 else "-Infinity")
        elif number.is_integer() and abs(number) < _INT_LIMIT:
            out.append(str(int(number)))
        else:
            out.append(repr(number))


def _spelled(value: int | float) -> int | float:
    """A number in the type of its canonical spelling: integral doubles below 2**53 as int, others float."""
    number = to_double(value)
    if math.isfinite(number) and number.is_integer() and abs(number) < _INT_LIMIT:
        return int(number)
    return number


_NUMBERS = (int, float)
# orjson spells a float as Python's repr does only between these magnitudes (repr switches to an exponent
# outside them, orjson at other points); any other float, and NaN/Infinity, go through json instead.
_ORJSON_FLOATS = (1e-4, 1e16)


class _NeedsJson(Exception):
    """A value orjson would spell differently from the canonical form."""


def _normalise_for_orjson(value: Any) -> Any:
    """``_normalise(value, _spelled)`` for plain JSON values, dispatching on exact types (the hot path of every
    content hash); refuses (``_NeedsJson``) any float orjson would spell otherwise, and anything unusual
    (subclasses, numpy scalars, big integers), which the general path then takes."""
    kind = type(value)
    if kind is str or kind is bool:
        return value
    if kind is dict:
        return {k: _normalise_for_orjson(v) for k, v in value.items()}
    if kind is list:
        items = [_normalise_for_orjson(v) for v in value]
        if len(items) == 1:
            only = items[0]
            kind = type(only)
            if kind is dict or kind is bool or kind is int or kind is float:
                return only
            if kind is list and all(type(x) in _NUMBERS for x in only):
                return only
        return items
    if kind is int and -_INT_LIMIT < value < _INT_LIMIT:
        return value
    if kind is float:
        spelled = _spelled(value)
        if type(spelled) is float and not _ORJSON_FLOATS[0] <= abs(spelled) < _ORJSON_FLOATS[1]:
            raise _NeedsJson
        return spelled
    if value is None:
        return []
    raise _NeedsJson  # big integers, subclasses, numpy scalars: the general path


# json and orjson write \b \f \n \r \t for five control characters; the canonical form writes \u00XX
_SHORT_ESCAPES = {"b": "\\u0008", "f": "\\u000c", "n": "\\u000a", "r": "\\u000d", "t": "\\u0009"}
_ESCAPE = re.compile(r"\\(.)")
_BYTE_ESCAPES = {k.encode(): v.encode() for k, v in _SHORT_ESCAPES.items()}
_BYTE_ESCAPE = re.compile(rb"\\(.)")


def _long_escape(match: re.Match[str]) -> str:
    return _SHORT_ESCAPES.get(match.group(1), match.group(0))


def _long_byte_escape(match: re.Match[bytes]) -> bytes:
    return _BYTE_ESCAPES.get(match.group(1), match.group(0))


def canonical_bytes(document: Any, profile: str = "full") -> bytes:
    """The canonical UTF-8 bytes of a document (a Document or its JSON object).

    Written by orjson (or, for values it spells differently, the C JSON encoder) over the normalised value:
    sorted keys, no spaces, NaN/Infinity as tokens, json's five short escapes spelled as \\u00XX. The same
    bytes as ``reference_canonical_bytes``, many times faster.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown comparison profile {profile!r}; use one of {', '.join(PROFILES)}")
    data = document.properties if hasattr(document, "properties") else document
    if profile == "content":
        data = _content_view(data)
    try:
        raw = orjson.dumps(_normalise_for_orjson(data), option=orjson.OPT_SORT_KEYS)
    except (_NeedsJson, TypeError):  # orjson.JSONEncodeError is a TypeError: big integers, odd keys, surrogates
        pass
    else:
        return _BYTE_ESCAPE.sub(_long_byte_escape, raw) if b"\\" in raw else raw
    text = json.dumps(_normalise(data, _spelled), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=True)
    if "\\" in text:
        text = _ESCAPE.sub(_long_escape, text)
    return _utf8(text)


def reference_canonical_bytes(document: Any, profile: str = "full") -> bytes:
    """The canonical bytes written rule by rule (spec §1.8): the definition ``canonical_bytes`` must equal."""
    data = document.properties if hasattr(document, "properties") else document
    if profile == "content":
        data = _content_view(data)
    out: list[str] = []
    _serialise(_normalise(data), out)
    return _utf8("".join(out))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, escaped in JSON: no hash (nor store) can take it
        raise DocumentJsonError(f"text is not valid Unicode (lone surrogate {text[exc.start]!r}); "
                                "the document cannot be hashed") from None


def canonical_hash(document: Any, profile: str = "full") -> str:
    """Lower-case hex SHA-256 of the canonical form."""
    return hashlib.sha256(canonical_bytes(document, profile)).hexdigest()
