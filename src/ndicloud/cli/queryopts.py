"""The query options ``--isa``, ``--where`` and ``--depends-on`` shared by ``local find`` and ``documents query``."""

from __future__ import annotations

import json
import shlex
from typing import Annotated, Any

import typer

from ..core import NdiError, Query
from ..core.errors import QueryError
from .output import fail

IsaOpt = Annotated[list[str], typer.Option("--isa", help="Class (or superclass) name; repeatable.")]
WhereOpt = Annotated[
    list[str],
    typer.Option("--where", metavar="FIELD OP VALUE",
                 help="A condition, e.g. --where base.name exact_string doc_1; repeatable."),
]
DependsOnOpt = Annotated[
    list[str], typer.Option("--depends-on", metavar="[NAME=]ID",
                            help="Documents depending on ID (under role NAME; any role by default).")
]


NUMERIC_OPERATIONS = frozenset({"exact_number", "lessthan", "lessthaneq", "greaterthan", "greaterthaneq", "hasmember"})


def _parse_value(operation: str, text: str) -> Any:
    """VALUE as a number for numeric operations (when it reads as one); text otherwise.

    ``--where app.version exact_string 1.0`` must look for the text "1.0", not the number 1.
    """
    if operation.lstrip("~") not in NUMERIC_OPERATIONS:
        return text
    try:
        return json.loads(text) if text.strip() and text.strip()[0] in "-0123456789" else text
    except json.JSONDecodeError:
        return text


def build_query(isa: list[str], where: list[tuple[str, str, str]], depends_on: list[str]) -> Query:
    query = Query()
    for class_name in isa:
        query = query & Query.isa(class_name)
    for field, operation, value in where:
        query = query & Query(field, operation, _parse_value(operation, value))
    for spec in depends_on:
        name, _, value = spec.rpartition("=")
        query = query & Query.depends_on(name or "*", value)
    return query if query.leaves else Query.all()


WHERE_SEPARATOR = "\x1f"


def split_where(value: str) -> tuple[str, str, str]:
    """One ``--where`` condition: three tokens grouped by ``main`` or one quoted string."""
    parts = value.split(WHERE_SEPARATOR) if WHERE_SEPARATOR in value else shlex.split(value)
    if len(parts) != 3:
        raise QueryError(f"--where takes FIELD OPERATION VALUE, got {' '.join(parts)!r}")
    return parts[0], parts[1], parts[2]


def query_from_options(isa: list[str], where: list[str], depends_on: list[str]) -> Query:
    """The query the options describe (all must hold); a bad one exits with its reason."""
    try:
        return build_query(isa, [split_where(w) for w in where], depends_on)
    except NdiError as exc:
        raise fail(str(exc)) from exc
