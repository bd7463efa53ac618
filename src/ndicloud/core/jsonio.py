"""JSON as NDI-matlab reads and writes it.

MATLAB writes non-finite numbers as the bare literals ``NaN``/``Infinity`` and
pretty-prints with two-space indents; NDI Cloud replaces non-finite numbers with
sentinel strings. ``loads`` accepts all of these; ``dumps`` writes MATLAB's layout
so that a document written here looks like one written by NDI-matlab.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

import orjson

from .errors import DocumentJsonError

NAN_SENTINELS: dict[str, float] = {
    "__NDI__NaN__": math.nan,
    "__NDI__Infinity__": math.inf,
    "__NDI__-Infinity__": -math.inf,
}
_SENTINEL_MARK = "__NDI__"
_LONG_DIGITS = re.compile(r"\d{19}")  # integers orjson might read as floats: json reads them exactly
_LONG_DIGIT_BYTES = re.compile(rb"\d{19}")
_INT_LIMIT = float(1 << 53)


def as_list(value: Any) -> list[Any]:
    """MATLAB writes a one-element struct array as a bare object; read both as a list (null as [])."""
    if isinstance(value, list):
        return value
    if value is None:
        return []
    return [value]


def rehydrate_sentinels(value: Any) -> Any:
    """Replace NDI Cloud's sentinel strings by the non-finite numbers they stand for."""
    if isinstance(value, str):
        return NAN_SENTINELS.get(value, value)
    if isinstance(value, dict):
        return {k: rehydrate_sentinels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rehydrate_sentinels(v) for v in value]
    return value


def dehydrate_sentinels(value: Any) -> Any:
    """Replace non-finite numbers by NDI Cloud's sentinel strings (the inverse of ``rehydrate_sentinels``)."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "__NDI__NaN__"
        return "__NDI__Infinity__" if value > 0 else "__NDI__-Infinity__"
    if isinstance(value, dict):
        return {k: dehydrate_sentinels(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dehydrate_sentinels(v) for v in value]
    return value


def parse(text: str | bytes) -> Any:
    """JSON text to Python values exactly as ``json.loads`` reads it (NaN/Infinity literals included), by
    orjson, several times faster, wherever it gives the same values. Raises json's errors."""
    long_digits = _LONG_DIGITS if isinstance(text, str) else _LONG_DIGIT_BYTES
    if not long_digits.search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN/Infinity literals, lone surrogates, deep nesting, errors: json says
            pass
    return json.loads(text)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def lone_surrogate(text: str | bytes, value: Any) -> str | None:
    """The first lone surrogate (as ``U+DCFF``) in a string or key of ``value``, parsed from ``text``; None if none.

    Valid JSON may escape one (``"\\udcff"``), yet no UTF-8 file or database can hold it. Text decoded from
    UTF-8 holds surrogates only through such escapes, so text without one is not walked.
    """
    escape = _SURROGATE_ESCAPE if isinstance(text, str) else _SURROGATE_ESCAPE_BYTES
    if not escape.search(text):
        return None
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"U+{ord(item[exc.start]):04X}"
    return None


def loads(text: str | bytes, source: str | None = None) -> dict[str, Any]:
    """Decode one JSON object as MATLAB wrote it (or as NDI Cloud served it).

    Raises DocumentJsonError naming ``source`` and the position of the fault.
    """
    where = f" in {source}" if source else ""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentJsonError(f"invalid UTF-8{where} at byte {exc.start}") from exc
    try:
        value = parse(text)
    except json.JSONDecodeError as exc:
        raise DocumentJsonError(
            f"malformed JSON{where}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise DocumentJsonError(f"JSON{where} is nested too deeply") from exc
    if not isinstance(value, dict):
        raise DocumentJsonError(f"JSON{where} must be an object, got {type(value).__name__}")
    if _SENTINEL_MARK in text:
        value = rehydrate_sentinels(value)
    return value


def to_double(value: int | float) -> float:
    """A number as MATLAB holds it: a double; integers too large for one become ±Infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def format_number(value: float | int) -> str:
    """A number the way MATLAB's jsonencode spells it in meaning (integral without fraction)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)  # never a subclass's repr (numpy 2 gives "np.int64(3)")
    value = float(value)
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < _INT_LIMIT:
        return str(int(value))
    return float.__repr__(value)


# orjson writes MATLAB's layout byte for byte, ten times faster than Python, except that
# it spells integral floats "1.0" and non-finite numbers "null". Output showing either is
# redone from a copy with integral floats as ints and non-finite floats as sentinel strings
# that are then replaced by the literals. (A real null or a string holding ".0" only takes
# that second, still fast, path.) Only what orjson cannot encode (integers beyond 64 bits,
# non-string keys, lone surrogates) goes to the Python writer.
_TOKEN = secrets.token_hex(8)  # no real string can equal a sentinel
_SENTINELS = {kind: f"\x00{kind}{_TOKEN}\x00" for kind in ("NaN", "Infinity", "-Infinity")}
_SENTINEL_TEXT = re.compile(rb'"\\u0000(NaN|Infinity|-Infinity)' + _TOKEN.encode() + rb'\\u0000"')


def _orjson_ready(value: Any) -> Any:
    """A copy orjson writes as MATLAB would: integral floats as ints, non-finite as sentinels."""
    kind = type(value)
    if kind is float:
        if value != value:
            return _SENTINELS["NaN"]
        if value in (math.inf, -math.inf):
            return _SENTINELS["Infinity" if value > 0 else "-Infinity"]
        if value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT:
            return int(value)
        return value
    if kind is dict:
        return {key: _orjson_ready(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_orjson_ready(item) for item in value]
    if isinstance(value, float) and not isinstance(value, bool):  # subclasses, e.g. numpy's
        return _orjson_ready(float(value))
    return value


def dumps(value: Any) -> str:
    """Encode like MATLAB's pretty jsonencode with NaN kept: 2-space indent, LF, no trailing newline."""
    try:
        fast = orjson.dumps(value, option=orjson.OPT_INDENT_2)
        if b"null" in fast or b".0," in fast or b".0\n" in fast or fast.endswith(b".0"):
            fast = orjson.dumps(_orjson_ready(value), option=orjson.OPT_INDENT_2)
            fast = _SENTINEL_TEXT.sub(lambda m: m.group(1), fast)
        return fast.decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError: big integers, odd keys, lone surrogates
        pass
    parts: list[str] = []
    _write(value, "\n", parts)
    text = "".join(parts)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: no database or file can hold it
        raise DocumentJsonError(
            f"text is not valid Unicode (lone surrogate {text[exc.start]!r}); it cannot be stored"
        ) from None
    return text


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is float:
        if value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT:
            return str(int(value))
        return format_number(value)
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return format_number(value)
    if isinstance(value, str):
        return encode_basestring(value)
    raise TypeError(f"cannot encode {type(value).__name__} as NDI JSON")


def _write(value: Any, newline: str, out: list[str]) -> None:
    """Append ``value``; ``newline`` is LF plus the current indent."""
    kind = type(value)
    if kind is dict or isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            out.append(separator)
            out.append(encode_basestring(key if type(key) is str else str(key)))
            item_kind = type(item)
            if item_kind is dict or item_kind is list or item_kind is tuple:
                out.append(": ")
                _write(item, inner, out)
            else:
                out.append(": " + _scalar(item))
            separator = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        if all(type(item) not in (dict, list, tuple) for item in value):
            out.append("[" + inner + ("," + inner).join(map(_scalar, value)) + newline + "]")
            return
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "]")
    else:
        out.append(_scalar(value))
