"""Property test: the SQL query engine answers as a plain in-memory evaluator of spec §4.5-§4.7 and §5.

Random documents (nested blocks, numbers with NaN/±Infinity/-0, empties, arrays, struct arrays, block-name
collapsing, dependencies, superclasses) go into a fresh DID-SQLite store; random queries (every operation with
an SQL form, negation, ``or``, AND-lists) are answered by ``DidSqliteStore.search_ids`` and by ``evaluate``
below, which reads ``Document.properties`` directly and never the index tables or the compiler.

Modelled: every operation of §5.2 with an SQL form, negation as in §5.2 and §5.3 items 11-12, SQLite's
three-valued logic where a NaN parameter is bound as NULL (comparisons with NaN match nothing, negated or not).
The text form of a REAL value is SQLite's own (``CAST(x AS TEXT)``), as §5.1 prescribes for ``regex``/``LIKE``.
Excluded: ``hassize``, ``partial_struct`` and ``hasanysubfield_*`` (no SQL form; the engine raises as MATLAB
does, covered in test_fixture_queries), and invalid regular expressions (a QueryError, covered elsewhere).
"""

from __future__ import annotations

import math
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndicloud.core import ids
from ndicloud.core.document import Document
from ndicloud.core.query import Query
from ndicloud.core.store import DidSqliteStore

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BLOCKS = ("blk", "alpha")
CLASSES = ("alpha", "beta", "gamma_x")
SUPERCLASSES = ("base", "beta", "gamma", "gamma_x")
KEYS = ("x", "y", "n", "subblk", "xalpha", "doc_id", "Doc_ID")
DEP_IDS = tuple(ids.new_id() for _ in range(3))
DEP_NAMES = ("subject_id", "element_id", "sub")
STRINGS = ("", "a", "A", "ab", "aB", "a_b", "a%b", "x*y", "3", "1.5", "É", "é", "a, b", "b,a", "c\\d", "[2x1] double")
NUMBERS = (0, 1, 3, -2, 1.5, 3.0, -0.0, 2.5e-7, 1e20, math.inf, -math.inf, math.nan)

Row = tuple[str, Any]  # (field_name, SQL value: str, float or None)

# ---------------------------------------------------------------------------------------------------------
# random documents

scalars = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.booleans(), st.none())
number_rows = st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3)


def _values(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(KEYS)
    return st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(keys, children, max_size=3),
        st.lists(st.dictionaries(st.just("x"), children, min_size=1), min_size=1, max_size=3),  # struct arrays
        st.lists(number_rows, min_size=1, max_size=3),  # matrices, ragged ones included
    )


values = st.recursive(scalars, _values, max_leaves=8)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    """A document of a random class, with random blocks, superclasses and dependencies."""
    class_name = draw(st.sampled_from(CLASSES))
    content = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=4)
    blocks = draw(st.dictionaries(st.sampled_from(BLOCKS), content, min_size=1, max_size=2))
    deps = draw(st.lists(st.tuples(st.sampled_from(DEP_NAMES), st.sampled_from((*DEP_IDS, ""))), max_size=3))
    depends_on = [{"name": n, "value": v} for n, v in deps] if deps or draw(st.booleans()) else None
    return Document.new(class_name, superclasses=draw(st.sets(st.sampled_from(SUPERCLASSES), max_size=3)),
                        properties=blocks, name=draw(st.sampled_from(STRINGS)), depends_on=depends_on)


# ---------------------------------------------------------------------------------------------------------
# the evaluator: index rows straight from the spec's tables


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_elements(items: list[Any]) -> bool:
    """Numbers, with nulls (NaN to MATLAB) among them, and at least one number."""
    return all(_is_number(v) or v is None for v in items) and any(_is_number(v) for v in items)


def sql_value(value: Any) -> Any:
    """§4.7: the stored value of a decoded leaf."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if _is_number(value):
        return None if math.isnan(value) else float(value)
    if not isinstance(value, list) or not value:
        return None
    if len(value) == 1:
        return sql_value(value[0])
    n = len(value)
    if _numeric_elements(value):
        return f"[{n}x1] double"
    if all(isinstance(v, bool) for v in value):
        return f"[{n}x1] logical"
    if all(isinstance(v, list) for v in value):
        widths = {len(v) for v in value}
        if len(widths) == 1 and widths != {0} and _numeric_elements([x for v in value for x in v]):
            return f"[{n}x{widths.pop()}] double"
    return f"[{n}x1] cell"


def _leaves(value: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    """§4.6: depth-first leaves; one-element object arrays unwrap, struct arrays get ``_k`` suffixes."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, [*path, key])
    elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        yield from _leaves(value[0], path)
    elif (isinstance(value, list) and len(value) >= 2 and all(isinstance(v, dict) for v in value)
          and all(v.keys() == value[0].keys() for v in value)):
        for k, element in enumerate(value, start=1):
            for key, item in element.items():
                yield from _leaves(item, [*path, f"{key}_{k}"])
    else:
        yield path, sql_value(value)


def data_rows(props: dict[str, Any]) -> list[Row]:
    """The document's rows: the six ``meta`` rows (§4.5), then its blocks' leaves with collapsed field names
    (§4.6) and typed values (§4.7)."""
    doc_class = props["document_class"]
    stems = sorted(set(_superclass_names(props)))
    rows: list[Row] = [("meta.class", doc_class["class_name"] or None), ("meta.superclass", ", ".join(stems) or None),
                       ("meta.datestamp", props["base"]["datestamp"] or None), ("meta.creation", None),
                       ("meta.deletion", None), ("meta.depends_on", depends_text(props))]
    for block, content in props.items():
        if block in ("depends_on", "document_class", "files") or not isinstance(content, dict):
            continue
        for key, item in content.items():
            if key.lower() == "doc_id":
                continue
            for path, value in _leaves(item, [block, key]):
                dotted = ".".join(path).strip().replace(block + ".", "")
                rows.append((f"{block}.{dotted}", value))
    return rows


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def depends_text(props: dict[str, Any]) -> str | None:
    """§4.5 ``meta.depends_on``."""
    text = "".join(f"{d['name']},{d['value']};" for d in _listed(props.get("depends_on")))
    return text or None


_SQLITE = sqlite3.connect(":memory:")


def as_text(value: str | float) -> str:
    """A value in SQLite's text form (what LIKE, instr, replace and CAST see)."""
    return value if isinstance(value, str) else _SQLITE.execute("SELECT CAST(? AS TEXT)", (value,)).fetchone()[0]


def ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def like(value: str, pattern: str, escaped: bool) -> bool:
    """SQLite ``LIKE``: ``%`` any run, ``_`` one character (unless ``escaped``), ASCII case-insensitive."""
    parts = []
    for char in ascii_lower(pattern):
        parts.append(".*" if char == "%" else "." if char == "_" and not escaped else re.escape(char))
    return re.fullmatch("".join(parts), ascii_lower(value), re.DOTALL) is not None


def param_text(param: Any) -> str:
    """A text parameter: a number spelt as in the canonical form (§1.8 rule 4), a one-element list unwrapped."""
    if isinstance(param, list) and len(param) == 1:
        return param_text(param[0])
    if param is None:
        return ""
    if _is_number(param):
        number = float(param)
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    return str(param)


def first_number(param: Any) -> float | None:
    if isinstance(param, list):
        param = param[0] if param else None
    if param is None or (isinstance(param, str) and not param.strip()):
        return None
    return float(param)


Test = Callable[[Any], bool | None]  # True, False or None (SQL unknown) for a non-NULL value


def value_test(operation: str, param: Any) -> Test:
    """§5.2's per-row predicate for a non-NULL stored value."""
    if operation == "exact_string":
        return lambda v: isinstance(v, str) and v == param_text(param)
    if operation == "exact_string_anycase":
        # lower() gives a REAL its text form, so numbers match as text ("3.0"), as with contains_string
        return lambda v: ascii_lower(as_text(v)) == ascii_lower(param_text(param))
    if operation == "contains_string":
        wanted = "%" + param_text(param).replace("*", "%") + "%"
        return lambda v: like(as_text(v), wanted, escaped=True)
    if operation == "regexp":
        return lambda v: re.search(param_text(param), as_text(v)) is not None
    if operation == "exact_number":
        number = first_number(param)
        return lambda v: number is not None and not math.isnan(number) and _is_number(v) and v == number
    if operation == "hasmember":
        member = param[0] if isinstance(param, list) and param else param
        text = param_text(member)
        equal = float(member) if _is_number(member) else text

        def member_test(v: Any) -> bool:
            same = type(v) is type(equal) and v == equal
            return same or f",{text}," in "," + as_text(v).replace(", ", ",") + ","
        return member_test
    bound = first_number(param)
    assert bound is not None
    compare = {"lessthan": float.__lt__, "lessthaneq": float.__le__,
               "greaterthan": float.__gt__, "greaterthaneq": float.__ge__}[operation]

    def comparison(v: Any) -> bool | None:
        if math.isnan(bound):  # bound as NULL: unknown
            return None
        if isinstance(v, str):  # TEXT sorts above every number
            return operation.startswith("greater")
        return compare(v, bound)
    return comparison


def _superclass_names(props: dict[str, Any]) -> list[str]:
    entries = _listed(props["document_class"].get("superclasses"))
    return [e["definition"].rsplit("/", 1)[-1].split(".", 1)[0] for e in entries]


def evaluate(props: dict[str, Any], query: Query) -> bool:
    """Whether a live document matches ``query`` under §5's semantics."""
    return all(_leaf_matches(props, leaf) for leaf in query.leaves)


def _leaf_matches(props: dict[str, Any], leaf: Any) -> bool:
    op, negated = leaf.operation, leaf.negated
    if op == "or":
        return evaluate(props, leaf.param1) or evaluate(props, leaf.param2)
    if op == "isa":
        found = props["document_class"]["class_name"] == leaf.param1 or leaf.param1 in _superclass_names(props)
        return found != negated
    rows = data_rows(props)
    if op == "hasfield":
        found = any(n == leaf.field or n.startswith(leaf.field + ".") for n, _ in rows)
        return found != negated
    if op == "depends_on":
        name = "*" if leaf.param1 in (None, "") else leaf.param1
        text = depends_text(props)
        if text is None:  # never matched, negated or not (§5.3 item 6)
            return False
        return _depends_like(text, name, param_text(leaf.param2)) != negated
    if op == "hasmember":
        values = [v for n, v in rows if n == leaf.field or n.startswith(leaf.field + ".")]
    else:
        values = [v for n, v in rows if n == leaf.field]
    test = value_test(op, leaf.param1)
    results = [test(v) for v in values if v is not None]
    if negated:
        return any(r is False for r in results)
    return any(r is True for r in results)


def _depends_like(text: str, name: str, value: str) -> bool:
    """``text LIKE %N,V;%`` with N escaped except ``*`` (any run) and V unescaped."""
    parts = [".*"]
    for char in ascii_lower(name):
        parts.append(".*" if char in "*%" else re.escape(char))
    parts.append(",")
    for char in ascii_lower(value):
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    parts.append(";.*")
    return re.fullmatch("".join(parts), ascii_lower(text), re.DOTALL) is not None


# ---------------------------------------------------------------------------------------------------------
# random queries

FIELD_OPERATIONS = ("exact_string", "exact_string_anycase", "contains_string", "regexp", "exact_number",
                    "lessthan", "lessthaneq", "greaterthan", "greaterthaneq", "hasfield", "hasmember")
PATTERNS = ("a", "^a", "b$", "^$", "A|É", r"\d", r"^\[\d+x\d+\]", "1\\.5", "inf", "e-0", r"\.0$")


def _param_for(operation: str, seen: list[Any]) -> st.SearchStrategy[Any]:
    """A parameter for ``operation``: half the time one of the stored values ``seen`` (so that queries hit)."""
    texts = [v for v in seen if isinstance(v, str)]
    numbers_seen = [v for v in seen if isinstance(v, float)]
    if operation == "regexp":
        return st.one_of(st.sampled_from(PATTERNS), *([st.sampled_from(texts).map(re.escape)] if texts else []))
    if operation in ("exact_number", "lessthan", "lessthaneq", "greaterthan", "greaterthaneq"):
        numbers = st.sampled_from(NUMBERS + tuple(numbers_seen))
        extra = st.sampled_from(([], "", None)) if operation == "exact_number" else st.nothing()
        return st.one_of(numbers, numbers.map(lambda n: [n]), st.sampled_from(("3", "1.5")), extra)
    if operation == "hasmember":
        return st.one_of(st.sampled_from((*STRINGS[1:], "b", "a, b")), st.sampled_from((0, 1, 3, 1.5, -2)))
    mine = [st.sampled_from(texts)] * 2 if texts else []
    return st.one_of(*mine, st.sampled_from(STRINGS), st.sampled_from((0, 3, 1.5, -2)),
                     st.sampled_from(STRINGS).map(lambda s: [s]))


@st.composite
def leaves(draw: st.DrawFn, pool: Pool) -> Query:
    """One leaf, negated or not, on a field the documents have (or a prefix, or a missing one)."""
    kind = draw(st.sampled_from(("field", "field", "field", "isa", "depends_on")))
    negate = draw(st.booleans())
    if kind == "isa":
        query = Query.isa(draw(st.sampled_from((*CLASSES, *SUPERCLASSES, "gamm", "ALPHA"))))
    elif kind == "depends_on":
        value = draw(st.one_of(st.sampled_from((*DEP_IDS, "", "%")), st.sampled_from(DEP_IDS).map(
            lambda i: i[:5] + "_" + i[6:])))
        query = Query.depends_on(draw(st.sampled_from((*DEP_NAMES, "*", "", "ject_id", "sub_ect_id"))), value)
    else:
        operation = draw(st.sampled_from(FIELD_OPERATIONS))
        field = draw(st.sampled_from(pool[0]) if draw(st.integers(0, 3)) else st.sampled_from(pool[1]))
        param = draw(_param_for(operation, [v for _, v in pool[2]]))
        if pool[2] and draw(st.booleans()):  # a stored (field, value) pair, so that the query hits
            field, value = draw(st.sampled_from(pool[2]))
            numeric = operation in ("exact_number", "lessthan", "lessthaneq", "greaterthan", "greaterthaneq")
            if isinstance(value, str) and not numeric:  # the value, a case variant or a part of it
                param = draw(st.sampled_from((value, value.swapcase(), value[1:], value[:-1], value.upper())))
                param = re.escape(param) if operation == "regexp" else param
            elif isinstance(value, float) and operation != "regexp":  # the value or a neighbour
                param = draw(st.sampled_from((value, value - 0.5, value + 1, str(value))))
        query = Query(field, operation, param)
    return ~query if negate else query


@st.composite
def queries(draw: st.DrawFn, pool: Pool, depth: int = 2) -> Query:
    """An AND-list of leaves and ``or`` leaves."""
    parts = []
    for _ in range(draw(st.integers(1, 2))):
        if depth and draw(st.integers(0, 4)) == 0:
            parts.append(draw(queries(pool, depth - 1)) | draw(queries(pool, depth - 1)))
        else:
            parts.append(draw(leaves(pool)))
    query = parts[0]
    for part in parts[1:]:
        query = query & part
    return query


Pool = tuple[list[str], list[str], list[Row]]  # leaf field names, other field names, stored (field, value)


def query_pool(docs: list[Document]) -> Pool:
    """What queries draw from: the documents' own leaf fields (mostly), prefixes, base, meta and missing
    fields, and the values stored in the block fields."""
    rows = [(n, v) for d in docs for n, v in data_rows(d.properties) if not n.startswith(("base.", "meta."))]
    names = {n for n, _ in rows}
    prefixes = {n.rsplit(".", 1)[0] for n in names if n.count(".") > 1}
    others = prefixes | {"blk", "alpha", "base.name", "base.id", "blk.missing", "files", "meta.class",
                         "meta.superclass", "meta.depends_on"}
    seen = sorted({r for r in rows if r[1] is not None and not (isinstance(r[1], float) and math.isinf(r[1]))},
                  key=repr)
    return sorted(names) or ["blk.missing"], sorted(others), seen


@contextmanager
def store_with(docs: list[Document]) -> Iterator[DidSqliteStore]:
    with tempfile.TemporaryDirectory() as folder:
        store = DidSqliteStore.create(Path(folder) / "did.sqlite")
        try:
            store.add(docs, parallel=False)
            yield store
        finally:
            store.close()


@SETTINGS
@given(st.lists(documents(), min_size=2, max_size=8), st.data())
def test_sql_answers_equal_the_in_memory_evaluator(docs: list[Document], data: st.DataObject) -> None:
    pool = query_pool(docs)
    with store_with(docs) as store:
        for _ in range(8):
            query = data.draw(queries(pool), label="query")
            expected = [d.id for d in docs if evaluate(d.properties, query)]
            assert store.search_ids(query) == expected, query.describe()


def test_the_evaluator_is_not_vacuous() -> None:
    """The evaluator tells documents apart: a query matching one document of two matches only that one."""
    docs = [Document.new("alpha", properties={"blk": {"x": [1.5], "y": "aB"}}),
            Document.new("beta", properties={"blk": {"x": "1.5", "y": [[1, 2], [3, 4]]}})]
    assert [evaluate(d.properties, Query("blk.x", "exact_number", 1.5)) for d in docs] == [True, False]
    assert [evaluate(d.properties, Query("blk.y", "exact_string", "[2x2] double")) for d in docs] == [False, True]
    assert [evaluate(d.properties, ~Query("blk.x", "greaterthan", 2)) for d in docs] == [True, False]
    with store_with(docs) as store:
        assert store.search_ids(Query("blk.y", "contains_string", "ab")) == [docs[0].id]
