"""NDI/DID queries: ``{field, operation, param1, param2}`` leaves, AND-lists and ``or``.

A ``Query`` is an AND of leaves; ``q1 & q2`` concatenates, ``q1 | q2`` makes an
``or`` leaf, ``~q`` negates a single leaf (a ``~`` prefix on its operation).
Evaluation lives in ``sqlquery``: MATLAB's SQL semantics are normative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import QueryError

SQL_OPERATIONS = frozenset(
    {
        "exact_string",
        "exact_string_anycase",
        "contains_string",
        "regexp",
        "exact_number",
        "lessthan",
        "lessthaneq",
        "greaterthan",
        "greaterthaneq",
        "hasfield",
        "hasmember",
        "isa",
        "depends_on",
        "or",
    }
)
# DID defines these, but neither DID-matlab's SQL engine nor this one evaluates them.
UNSUPPORTED_OPERATIONS = frozenset(
    {"hassize", "partial_struct", "hasanysubfield_contains_string", "hasanysubfield_exact_string"}
)


@dataclass(frozen=True)
class Leaf:
    """One search condition. For ``or``, ``param1`` and ``param2`` are Queries."""

    field: str
    operation: str
    param1: Any = None
    param2: Any = None
    negated: bool = False

    @property
    def full_operation(self) -> str:
        return ("~" if self.negated else "") + self.operation

    def describe(self) -> str:
        if self.operation == "or":
            return f"({self.param1.describe()}) OR ({self.param2.describe()})"
        if self.operation == "isa":
            return f"{self.full_operation} {self.param1}"
        if self.operation == "depends_on":
            return f"{self.full_operation} {self.param1 or '*'}={self.param2}"
        if self.operation == "hasfield":
            return f"{self.field} {self.full_operation}"
        return f"{self.field} {self.full_operation} {self.param1!r}"

    def to_structure(self) -> dict[str, Any]:
        p1, p2 = self.param1, self.param2
        if self.operation == "or":
            p1, p2 = p1.to_structure(), p2.to_structure()
        return {"field": self.field, "operation": self.full_operation, "param1": p1, "param2": p2}


def _parse_operation(operation: object) -> tuple[str, bool]:
    if not isinstance(operation, str) or not operation:
        raise QueryError(f"query operation must be a non-empty string, got {operation!r}")
    negated = operation.startswith("~")
    name = operation[1:] if negated else operation
    if name in UNSUPPORTED_OPERATIONS:
        raise QueryError(f"query operation {name!r} has no SQL form and is not supported (as in NDI-matlab)")
    if name not in SQL_OPERATIONS:
        allowed = ", ".join(sorted(SQL_OPERATIONS))
        raise QueryError(f"unknown query operation {operation!r}; use one of: {allowed}")
    if negated and name == "or":
        raise QueryError("'or' cannot be negated; negate its parts instead")
    return name, negated


class Query:
    """An AND-list of leaves."""

    __slots__ = ("leaves",)

    def __init__(self, field: str | None = None, operation: str | None = None,
                 param1: Any = None, param2: Any = None):
        if operation is None:
            self.leaves: tuple[Leaf, ...] = ()
            return
        name, negated = _parse_operation(operation)
        if name == "or":
            param1, param2 = Query.coerce(param1), Query.coerce(param2)
        elif name not in ("isa", "depends_on") and (not isinstance(field, str) or not field):
            raise QueryError(f"query operation {operation!r} needs a field name, got {field!r}")
        elif name == "isa" and not (isinstance(param1, str) and param1):
            raise QueryError(f"'isa' needs a class name as param1, got {param1!r}")
        self.leaves = (Leaf(field or "", name, param1, param2, negated),)

    @classmethod
    def _from_leaves(cls, leaves: Iterable[Leaf]) -> Query:
        query = cls()
        query.leaves = tuple(leaves)
        return query

    @classmethod
    def all(cls) -> Query:
        """Every document (``isa base``)."""
        return cls("", "isa", "base")

    @classmethod
    def isa(cls, class_name: str) -> Query:
        return cls("", "isa", class_name)

    @classmethod
    def depends_on(cls, name: str, value: str) -> Query:
        """Documents depending on ``value`` under role ``name`` (``*`` = any role)."""
        return cls("", "depends_on", name, value)

    @classmethod
    def coerce(cls, value: Query | Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> Query:
        return value if isinstance(value, Query) else cls.from_structure(value)

    @classmethod
    def from_structure(cls, structure: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> Query:
        """Build from NDI's search structure: one leaf dict or a list of them (AND)."""
        items = [structure] if isinstance(structure, Mapping) else list(structure)
        leaves: list[Leaf] = []
        for item in items:
            if not isinstance(item, Mapping) or "operation" not in item:
                raise QueryError(f"a search structure entry needs 'field' and 'operation', got {item!r}")
            sub = cls(item.get("field", ""), item["operation"], item.get("param1"), item.get("param2"))
            leaves.extend(sub.leaves)
        return cls._from_leaves(leaves)

    def to_structure(self) -> list[dict[str, Any]]:
        return [leaf.to_structure() for leaf in self.leaves]

    def describe(self) -> str:
        """A one-line human-readable form, e.g. ``isa element AND element.type exact_string 'x'``."""
        return " AND ".join(leaf.describe() for leaf in self.leaves) or "(everything)"

    def __and__(self, other: Query) -> Query:
        return Query._from_leaves(self.leaves + Query.coerce(other).leaves)

    def __or__(self, other: Query) -> Query:
        return Query("", "or", self, Query.coerce(other))

    def __invert__(self) -> Query:
        if len(self.leaves) != 1:
            raise QueryError("only a single search condition can be negated")
        leaf = self.leaves[0]
        if leaf.operation == "or":
            raise QueryError("'or' cannot be negated; negate its parts instead")
        return Query._from_leaves([Leaf(leaf.field, leaf.operation, leaf.param1, leaf.param2, not leaf.negated)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and self.leaves == other.leaves

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Query({self.to_structure()!r})"
