"""Compile a ``Query`` to SQL over DID-SQLite's index tables (DID-matlab semantics).

Each leaf selects the ``doc_idx`` of documents with some ``doc_data`` row that
satisfies it; AND is INTERSECT, ``or`` is UNION. The result is a set of doc_idx;
the store joins it to the live documents. Nothing is decoded to answer
``isa`` or ``depends_on``: both read the ``meta`` rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from .errors import QueryError
from .jsonio import format_number
from .query import Leaf, Query

LIVE_SQL = "SELECT doc_idx FROM branch_docs WHERE branch_id = 'a'"
_NOTHING = "SELECT doc_idx FROM branch_docs WHERE 0"
# (field_idx, meta_scope) -> the field's distinct values, read from the meta index
DistinctValues = Callable[[int, str], list[Any]]
_COMPARISONS = {"lessthan": "<", "lessthaneq": "<=", "greaterthan": ">", "greaterthaneq": ">="}


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regex_function(value: Any, pattern: Any) -> str | None:
    """SQL ``regex(value, pattern)``: the first match of an unanchored search, else NULL."""
    if value is None or pattern is None:
        return None
    text = value if isinstance(value, str) else str(value)  # queries pass CAST(value AS TEXT)
    match = _compiled(str(pattern)).search(text)
    return match.group(0) if match else None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("*", "%")


def _first_number(leaf: Leaf, required: bool) -> float | None:
    param = leaf.param1
    if isinstance(param, (list, tuple)):
        param = param[0] if param else None
    if param is None or (isinstance(param, str) and not param.strip()):
        if required:
            raise QueryError(f"{leaf.operation!r} on {leaf.field!r} needs a number as param1, got nothing")
        return None
    if isinstance(param, bool):
        return float(param)
    try:
        return float(param)
    except (TypeError, ValueError):
        raise QueryError(f"{leaf.operation!r} on {leaf.field!r} needs a number as param1, got {param!r}") from None


def _text_param(param: Any) -> str:
    if param is None:
        return ""
    if isinstance(param, (int, float)):
        return format_number(param)
    if isinstance(param, (list, tuple)) and len(param) == 1:
        return _text_param(param[0])
    return str(param)


class SqlCompiler:
    """Builds one SQL statement (with ``?`` parameters) for a query against a known fields table."""

    def __init__(self, fields: Mapping[str, int], meta_scope: str | None = None,
                 meta_ids: tuple[int, ...] = (), distinct_values: DistinctValues | None = None, *,
                 scan_table: str = "doc_data", live_sql: str = LIVE_SQL):
        self.fields = fields
        self.params: list[Any] = []
        # Conditions the (field_idx, value) index cannot seek (patterns, ranges, negations) read scan_table and
        # live_sql: a caller may name smaller sets there (the server: the datasets a query covers).
        self.scan_table = scan_table
        self.live_sql = live_sql
        # With the partial index over meta rows, repeating its WHERE term lets SQLite use it.
        self.meta_scope = meta_scope
        self.meta_ids = meta_ids
        self.distinct_values = distinct_values

    def compile(self, query: Query) -> tuple[str, list[Any]]:
        """SQL selecting the ``doc_idx`` of matching documents (live or not), and its parameters."""
        return self._and(query), self.params

    def _and(self, query: Query) -> str:
        if not query.leaves:
            return self.live_sql
        parts = [self._leaf(leaf) for leaf in query.leaves]
        return " INTERSECT ".join(f"SELECT doc_idx FROM ({part})" for part in parts)

    def _field_ids(self, name: str, with_children: bool = False) -> list[int]:
        found = [idx for fname, idx in self.fields.items()
                 if fname == name or (with_children and fname.startswith(name + "."))]
        return sorted(found)

    def _rows(self, field_ids: list[int], predicate: str, negated: bool) -> str:
        if not field_ids:
            return _NOTHING
        ids = ",".join(str(i) for i in field_ids)
        field_test = f"field_idx = {ids}" if len(field_ids) == 1 else f"field_idx IN ({ids})"
        if self.meta_scope and all(i in self.meta_ids for i in field_ids):
            field_test = f"{self.meta_scope} AND {field_test}"
        if negated:
            return (f"SELECT doc_idx FROM {self.scan_table} WHERE {field_test} AND value IS NOT NULL "
                    f"AND NOT ({predicate})")
        table = "doc_data" if predicate == "value = ?" or predicate.startswith("value IN (") else self.scan_table
        return f"SELECT doc_idx FROM {table} WHERE {field_test} AND {predicate}"

    def _leaf(self, leaf: Leaf) -> str:
        op = leaf.operation
        if op == "or":
            left = self._and(leaf.param1)
            right = self._and(leaf.param2)
            return f"SELECT doc_idx FROM ({left}) UNION SELECT doc_idx FROM ({right})"
        if op == "isa":
            matched = self._isa(str(leaf.param1))
            return f"{self.live_sql} EXCEPT SELECT doc_idx FROM ({matched})" if leaf.negated else matched
        if op == "hasfield":
            matched = self._rows(self._field_ids(leaf.field, with_children=True), "1", False)
            return f"{self.live_sql} EXCEPT SELECT doc_idx FROM ({matched})" if leaf.negated else matched
        if op == "depends_on":
            name = "*" if leaf.param1 in (None, "") else str(leaf.param1)
            value = _text_param(leaf.param2)
            pattern = f"%{_like_escape(name)},{value};%"
            return self._predicate(self._field_ids("meta.depends_on"), "value LIKE ? ESCAPE '\\'",
                                   [pattern], leaf.negated)
        if op == "hasmember":
            member = leaf.param1[0] if isinstance(leaf.param1, (list, tuple)) and leaf.param1 else leaf.param1
            as_value = float(member) if isinstance(member, (int, float)) else _text_param(member)
            predicate = "(value = ? OR instr(',' || replace(value, ', ', ',') || ',', ',' || ? || ',') > 0)"
            return self._predicate(self._field_ids(leaf.field, with_children=True), predicate,
                                   [as_value, _text_param(member)], leaf.negated)
        predicate, params = self._value_test(leaf)
        return self._predicate(self._field_ids(leaf.field), predicate, params, leaf.negated)

    def _predicate(self, field_ids: list[int], predicate: str, params: list[Any], negated: bool) -> str:
        sql = self._rows(field_ids, predicate, negated)
        if field_ids:
            self.params.extend(params)
        return sql

    def _isa(self, class_name: str) -> str:
        class_ids = self._field_ids("meta.class")
        super_ids = self._field_ids("meta.superclass")
        parts = []
        if class_ids:
            parts.append(self._rows(class_ids[:1], "value = ?", False))
            self.params.append(class_name)
        if super_ids and self.distinct_values is not None and self.meta_scope and super_ids[0] in self.meta_ids:
            # Few distinct superclass lists exist: match them here, then seek each one.
            wanted = f", {class_name},"
            lists = [v for v in self.distinct_values(super_ids[0], self.meta_scope)
                     if isinstance(v, str) and wanted in f", {v},"]
            if lists:
                parts.append(self._rows(super_ids[:1], f"value IN ({','.join('?' * len(lists))})", False))
                self.params.extend(lists)
        elif super_ids:
            parts.append(self._rows(super_ids[:1], "instr(', ' || value || ',', ?) > 0", False))
            self.params.append(f", {class_name},")
        return " UNION ".join(parts) if parts else _NOTHING

    def _value_test(self, leaf: Leaf) -> tuple[str, list[Any]]:
        op = leaf.operation
        if op == "exact_string":
            return "value = ?", [_text_param(leaf.param1)]
        if op == "exact_string_anycase":
            return "lower(value) = lower(?)", [_text_param(leaf.param1)]
        if op == "contains_string":
            return "value LIKE ? ESCAPE '\\'", [f"%{_like_escape(_text_param(leaf.param1))}%"]
        if op == "regexp":
            pattern = _text_param(leaf.param1)
            try:
                _compiled(pattern)
            except re.error as exc:
                raise QueryError(f"invalid regular expression {pattern!r} for {leaf.field!r}: {exc}") from None
            # CAST gives numbers SQLite's own text form, the same one LIKE (contains_string) sees
            return "regex(CAST(value AS TEXT), ?) IS NOT NULL", [pattern]
        if op == "exact_number":
            number = _first_number(leaf, required=False)
            if number is None or math.isnan(number):
                return "0", []
            return "value = ?", [number]
        if op in _COMPARISONS:
            number = _first_number(leaf, required=True)
            return f"value {_COMPARISONS[op]} ?", [number]
        raise QueryError(f"operation {op!r} cannot be compiled")  # guarded by Query's allow-list


def compile_query(query: Query, fields: Mapping[str, int], meta_scope: str | None = None,
                  meta_ids: tuple[int, ...] = (), distinct_values: DistinctValues | None = None, *,
                  scan_table: str = "doc_data", live_sql: str = LIVE_SQL) -> tuple[str, list[Any]]:
    """SQL and parameters selecting the ``doc_idx`` of documents matching ``query``.

    The caller restricts the set to live documents (branch ``a``) and picks columns. Conditions the index
    cannot seek read ``scan_table`` and ``live_sql`` (by default the whole index and every live document).
    """
    return SqlCompiler(fields, meta_scope, meta_ids, distinct_values, scan_table=scan_table,
                       live_sql=live_sql).compile(query)
