"""JSON as NDI-matlab reads and writes it.

MATLAB writes non-finite numbers as the bare literals ``NaN``/``Infinity`` and
pretty-prints with two-space indents; NDI Cloud replaces non-finite numbers with
sentinel strings. ``loads`` accepts all of these; ``dumps`` writes MATLAB's layout
so that a document written here looks like one written by NDI-matlab.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from .errors import DocumentJsonError

NAN_SENTINELS: dict[str, float] = {
    "__NDI__NaN__": math.nan,
    "__NDI__Infinity__": math.inf,
    "__NDI__-Infinity__": -math.inf,
}
_SENTINEL_MARK = "__NDI__"
_INT_LIMIT = float(1 << 53)


def rehydrate_sentinels(value: Any) -> Any:
    """Replace NDI Cloud's sentinel strings by the non-finite numbers they stand for."""
    if isinstance(value, str):
        return NAN_SENTINELS.get(value, value)
    if isinstance(value, dict):
        return {k: rehydrate_sentinels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rehydrate_sentinels(v) for v in value]
    return value


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
        value = json.loads(text)
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


def format_number(value: float | int) -> str:
    """A number the way MATLAB's jsonencode spells it in meaning (integral without fraction)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < _INT_LIMIT:
        return str(int(value))
    return repr(value)


def dumps(value: Any) -> str:
    """Encode like MATLAB's pretty jsonencode with NaN kept: 2-space indent, LF, no trailing newline."""
    parts: list[str] = []
    _write(value, "", parts)
    return "".join(parts)


def _write(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        out.append("{\n")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",\n")
            first = False
            out.append(inner)
            out.append(encode_basestring(str(key)))
            out.append(": ")
            _write(item, inner, out)
        out.append("\n")
        out.append(indent)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        out.append("[\n")
        first = True
        for item in value:
            if not first:
                out.append(",\n")
            first = False
            out.append(inner)
            _write(item, inner, out)
        out.append("\n")
        out.append(indent)
        out.append("]")
    elif value is None:
        out.append("null")
    elif isinstance(value, (bool, int, float)):
        out.append(format_number(value))
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as NDI JSON")
