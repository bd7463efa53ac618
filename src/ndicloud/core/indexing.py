"""Turn a document into DID-SQLite index rows, exactly as DID-matlab's doc2sql does.

Each document yields six ``meta`` rows, then one row per leaf of every class block.
Field names are MATLAB's: path segments joined with ``.``, every ``<block>.``
removed textually and the block name prefixed again; struct arrays get ``_k``
suffixes; values are typed REAL / TEXT / NULL, arrays summarised as ``[MxN] double``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .document import RESERVED_KEYS, superclass_stem
from .jsonio import as_list, to_double

META_FIELDS = (
    "meta.class",
    "meta.superclass",
    "meta.datestamp",
    "meta.creation",
    "meta.deletion",
    "meta.depends_on",
)
META_CLASS = "meta"

SqlValue = str | float | None
IndexRow = tuple[str, str, SqlValue]  # (field_name, class, value)

_WHITESPACE = re.compile(r"\s+")
_SEP = "___"
_field_names: dict[str, dict[str, str]] = {}  # block -> path -> field name (bounded below)
_FIELD_NAME_CACHE_LIMIT = 100_000
_superclass_texts: dict[tuple[str, ...], str | None] = {}


def json_name(field_name: str) -> str:
    """The ``fields.json_name`` of a field name: dots to ``___``, whitespace runs to ``_``."""
    return _WHITESPACE.sub("_", field_name.replace(".", _SEP))


def field_name(block: str, path: str) -> str:
    """MATLAB's collapsed field name of a leaf at ``path`` (``block___a___b``) in ``block``."""
    names = _field_names.get(block)
    if names is None:
        names = _field_names[block] = {}
    name = names.get(path)
    if name is None:
        dotted = path.replace(_SEP, ".").strip().replace(block + ".", "")
        name = f"{block}.{dotted}"
        if len(names) < _FIELD_NAME_CACHE_LIMIT:
            names[path] = name
    return name



def scalar_value(value: Any) -> SqlValue:
    """SQL value of a scalar leaf: REAL numbers, TEXT strings, NULL for empties and NaN."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        number = to_double(value)
        return None if math.isnan(number) else number
    return None


_NUMBER_TYPES = frozenset({int, float})
_NUMBER_OR_NULL = frozenset({int, float, type(None)})
_ROW_TYPES = frozenset({list, tuple})
_PLAIN_TYPES = frozenset({bool, int, float, str, list, tuple, dict, type(None)})


def _element_types(values: Any) -> set[type]:
    """The types among ``values``, subclasses (numpy scalars, say) counted as their base type."""
    kinds = set(map(type, values))
    if kinds <= _PLAIN_TYPES:
        return kinds
    return {next((b for b in (bool, int, float, str, list, tuple, dict) if issubclass(k, b)), k) for k in kinds}


def _numeric(kinds: set[type]) -> bool:
    """Element types of a numeric array: numbers, with nulls (NaN to MATLAB) allowed among them."""
    return kinds <= _NUMBER_OR_NULL and not kinds.isdisjoint(_NUMBER_TYPES)


def summary_value(items: list[Any] | tuple[Any, ...]) -> SqlValue:
    """SQL value of an array leaf: the element itself when single, else MATLAB's size summary."""
    n = len(items)
    if n == 0:
        return None
    if n == 1:
        only = items[0]
        return summary_value(only) if isinstance(only, (list, tuple)) else scalar_value(only)
    kinds = _element_types(items)  # bool is its own type here, not a number
    if _numeric(kinds):
        return f"[{n}x1] double"
    if kinds == {bool}:
        return f"[{n}x1] logical"
    if kinds <= _ROW_TYPES:
        widths = set(map(len, items))
        if len(widths) == 1:
            width = widths.pop()
            if width >= 1 and _numeric(_element_types(v for row in items for v in row)):
                return f"[{n}x{width}] double"
    return f"[{n}x1] cell"


def _is_struct_array(items: list[Any] | tuple[Any, ...]) -> bool:
    if len(items) < 2 or not all(isinstance(x, dict) for x in items):
        return False
    keys = items[0].keys()
    return all(x.keys() == keys for x in items[1:])


def _walk(value: Any, block: str, names: dict[str, str], path: str, out: list[IndexRow]) -> None:
    """Append the rows of ``value`` at ``path``; ``names`` is the block's field-name cache."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            _walk(item, block, names, f"{path}{_SEP}{key}", out)
        return
    if kind is list or kind is tuple:
        if len(value) == 1 and type(value[0]) is dict:
            _walk(value[0], block, names, path, out)
            return
        if _is_struct_array(value):
            for k, element in enumerate(value, start=1):
                for key, item in element.items():
                    _walk(item, block, names, f"{path}{_SEP}{key}_{k}", out)
            return
        sql: SqlValue = summary_value(value)
    elif kind is str:
        sql = value or None
    elif kind is float:
        sql = None if value != value else value
    elif kind is int:
        sql = to_double(value)
    elif isinstance(value, dict):  # dict subclasses, as the generic path
        _walk(dict(value), block, names, path, out)
        return
    else:
        sql = scalar_value(value)
    out.append((names.get(path) or field_name(block, path), block, sql))


def _superclass_text(doc_class: dict[str, Any]) -> str | None:
    """``meta.superclass``: sorted, de-duplicated stems joined by ', ' (cached per definition list)."""
    entries = doc_class.get("superclasses")
    if type(entries) is dict:
        entries = [entries]
    definitions = tuple(e.get("definition") if type(e) is dict else None for e in entries or ())
    text = _superclass_texts.get(definitions, False)
    if text is False:
        stems = sorted({superclass_stem(d) for d in definitions if isinstance(d, str)})
        text = ", ".join(stems) or None
        if len(_superclass_texts) < 10_000:
            _superclass_texts[definitions] = text
    return text  # type: ignore[return-value]


def meta_values(props: dict[str, Any]) -> tuple[SqlValue, ...]:
    """Values of the six ``meta`` rows, in META_FIELDS order."""
    doc_class = props.get("document_class") or {}
    depends = [d for d in as_list(props.get("depends_on")) if isinstance(d, dict)]
    depends_text = "".join(
        f"{d.get('name', '')},{d.get('value') if isinstance(d.get('value'), str) else ''};" for d in depends
    )
    datestamp = (props.get("base") or {}).get("datestamp")
    return (
        doc_class.get("class_name") or None,
        _superclass_text(doc_class),
        datestamp if isinstance(datestamp, str) and datestamp else None,
        None,
        None,
        depends_text or None,
    )


def index_rows(props: dict[str, Any]) -> list[IndexRow]:
    """All ``(field_name, class, value)`` rows of a document, in MATLAB's order."""
    out: list[IndexRow] = [(name, META_CLASS, value) for name, value in zip(META_FIELDS, meta_values(props),
                                                                             strict=True)]
    for block, content in props.items():
        if block in RESERVED_KEYS or not isinstance(content, dict):
            continue
        names = _field_names.get(block)
        if names is None:
            names = _field_names[block] = {}
        for key, item in content.items():
            if key.lower() == "doc_id":
                continue
            _walk(item, block, names, f"{block}{_SEP}{key}", out)
    return out
