"""Queries over the MATLAB-written fixture dataset (spec §5, §8 items 13-14).

Expected results are written from the spec's SQL semantics applied to the eight
fixture documents (their doc_data rows are listed in the comments below), not
from the implementation's output.

Fixture doc_data relevant to queries (doc_idx: field = value):
  1 session  D1  base.session_id=DATASET  base.name=NULL   session.reference='ds_demo'
  2 session  D2  base.session_id=INGESTED base.name=NULL   session.reference='exp_demo'
  3-7 demoNDI D3..D7 base.session_id=INGESTED base.name='doc_1'..'doc_5' demoNDI.value=1.0..5.0
  8 dataset_session_info D8 base.session_id=DATASET base.name=NULL
      dataset_session_info.session_id=INGESTED, .session_reference='exp_demo', .is_linked=0.0,
      .session_creator='ndi.session.dir', .session_creator_input1='exp_demo', input2=NULL,
      input3=INGESTED, input4..6=NULL
  every document: meta.class, meta.superclass='base', meta.datestamp, meta.creation/deletion/depends_on=NULL
  datestamps: D1 12:15:04.788, D2 12:15:03.596, D3 04.583, D4 04.622, D5 04.655, D6 04.685, D7 04.715,
      D8 12:15:05.430 (all 2025-12-12, Z)
"""

from __future__ import annotations

import math
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from ndicloud.core import ids
from ndicloud.core.dataset import Dataset
from ndicloud.core.document import Document
from ndicloud.core.errors import QueryError
from ndicloud.core.query import Query
from ndicloud.core.store import DidSqliteStore

from conftest import MATLAB_DATASET
from fixture_facts import (
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    DATASET_ID,
    DEMO_IDS,
    DOC_IDS,
    FILE_NAME,
    INGESTED_SESSION_ID,
    UID_OF_DOC,
)


@pytest.fixture(scope="module")
def fixture_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One private copy of the fixture for the read-only query tests of this module."""
    target = tmp_path_factory.mktemp("fixture-queries") / "matlab-dataset"
    shutil.copytree(MATLAB_DATASET, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))
    return target


def db(dataset: Path) -> Path:
    return dataset / ".ndi" / "did-sqlite.sqlite"


def run(dataset: Path, query: Query) -> list[str]:
    """Search through DidSqliteStore.search_ids and Dataset.search; both must agree. Sorted ids."""
    with DidSqliteStore.open(db(dataset)) as store:
        via_store = store.search_ids(query)
        via_store_docs = [d.id for d in store.search(query)]
    with Dataset.open(dataset) as ds:
        via_dataset = [d.id for d in ds.search(query)]
    assert via_store == via_store_docs
    assert len(set(via_store)) == len(via_store)  # no duplicates
    assert sorted(via_store) == sorted(via_dataset)
    return sorted(via_store)


# ---------------------------------------------------------------------------------------------
# Opening the fixture
# ---------------------------------------------------------------------------------------------


def test_fixture_opens_with_identity(fixture_copy: Path) -> None:
    with Dataset.open(fixture_copy) as ds:
        assert ds.id == DATASET_ID
        assert ds.reference == "ds_demo"
        assert ds.object_type == "unknown"  # §3.1: no ndi_object_type.txt in the fixture
        assert ds.path.resolve() == fixture_copy.resolve()
        assert ds.count() == 8
        assert ds.count_by_class() == {"session": 2, "demoNDI": 5, "dataset_session_info": 1}
        session = ds.session_document
        assert session is not None and session.id == D1
        assert session.properties["session"]["reference"] == "ds_demo"
        assert ds.remote_link() is None


def test_fixture_documents_and_classes(fixture_copy: Path) -> None:
    expected = {
        D1: ("session", "", DATASET_ID),
        D2: ("session", "", INGESTED_SESSION_ID),
        D3: ("demoNDI", "doc_1", INGESTED_SESSION_ID),
        D4: ("demoNDI", "doc_2", INGESTED_SESSION_ID),
        D5: ("demoNDI", "doc_3", INGESTED_SESSION_ID),
        D6: ("demoNDI", "doc_4", INGESTED_SESSION_ID),
        D7: ("demoNDI", "doc_5", INGESTED_SESSION_ID),
        D8: ("dataset_session_info", "", DATASET_ID),
    }
    with Dataset.open(fixture_copy) as ds:
        for doc_id, (cls, name, session) in expected.items():
            doc = ds.get(doc_id)
            assert (doc.class_name, doc.name, doc.session_id) == (cls, name, session)
        for k, doc_id in enumerate(DEMO_IDS, start=1):
            assert ds.get(doc_id).properties["demoNDI"]["value"] == k
        assert ds.get(D2).properties["session"]["reference"] == "exp_demo"


def test_fixture_member_session(fixture_copy: Path) -> None:
    with Dataset.open(fixture_copy) as ds:
        (info,) = ds.member_sessions()
        assert info.session_id == INGESTED_SESSION_ID
        assert info.reference == "exp_demo"
        assert not info.is_linked
        assert info.creator == "ndi.session.dir"
        assert list(info.creator_inputs)[:3] == ["exp_demo", "", INGESTED_SESSION_ID]


def test_fixture_files_by_uid(fixture_copy: Path) -> None:
    with Dataset.open(fixture_copy) as ds:
        found = {b.uid: b for b in ds.binaries()}
        assert sorted(found) == sorted(UID_OF_DOC.values())
        for k, doc_id in enumerate(DEMO_IDS, start=1):
            entry = found[UID_OF_DOC[doc_id]]
            assert entry.doc_id == doc_id and entry.name == FILE_NAME and entry.present
            assert entry.path.read_bytes() == f"doc_{k}".encode()
            with ds.open_binary(ds.get(doc_id), FILE_NAME) as fh:
                assert fh.read() == f"doc_{k}".encode()


# ---------------------------------------------------------------------------------------------
# §8 item 13
# ---------------------------------------------------------------------------------------------

ITEM_13 = [
    ("isa base", Query.isa("base"), DOC_IDS),
    ("isa session", Query.isa("session"), [D1, D2]),
    ("isa demoNDI", Query.isa("demoNDI"), DEMO_IDS),
    ("isa sess", Query.isa("sess"), []),
    ("value > 2", Query("demoNDI.value", "greaterthan", 2), [D5, D6, D7]),
    ("value == 3", Query("demoNDI.value", "exact_number", 3), [D5]),
    ("value exact_string '3'", Query("demoNDI.value", "exact_string", "3"), []),
    ("name exact_string ''", Query("base.name", "exact_string", ""), []),
    ("name regexp", Query("base.name", "regexp", "^doc_[135]$"), [D3, D5, D7]),
    ("name contains DOC", Query("base.name", "contains_string", "DOC"), DEMO_IDS),
    ("hasfield demoNDI.value", Query("demoNDI.value", "hasfield"), DEMO_IDS),
    ("hasfield files", Query("files", "hasfield"), []),
    ("session_id exact", Query("base.session_id", "exact_string", INGESTED_SESSION_ID), [D2, D3, D4, D5, D6, D7]),
    ("is_linked == 0", Query("dataset_session_info.is_linked", "exact_number", 0), [D8]),
]


@pytest.mark.parametrize(("label", "query", "expected"), ITEM_13, ids=[c[0] for c in ITEM_13])
def test_item_13_query(fixture_copy: Path, label: str, query: Query, expected: list[str]) -> None:
    assert run(fixture_copy, query) == sorted(expected)


# ---------------------------------------------------------------------------------------------
# §5.3 edge cases 1-14 on the fixture alone
# ---------------------------------------------------------------------------------------------

EDGE_FIXTURE = [
    ("1 empty string is NULL", Query("base.name", "exact_string", ""), []),
    ("1 negated skips NULL names", Query("base.name", "~exact_string", "doc_1"), [D4, D5, D6, D7]),
    ("2 exact_string never numbers", Query("demoNDI.value", "exact_string", "3"), []),
    ("2 exact_string never numbers 3.0", Query("demoNDI.value", "exact_string", "3.0"), []),
    ("2 exact_number never text", Query("session.reference", "exact_number", 0), []),
    ("3 text above numbers gt", Query("base.name", "greaterthan", 0), DEMO_IDS),
    ("3 text above numbers gte", Query("base.name", "greaterthaneq", 1e300), DEMO_IDS),
    ("3 text above numbers lt", Query("base.name", "lessthan", 1e300), []),
    ("3 text above numbers lte", Query("base.name", "lessthaneq", 0), []),
    ("4 case-insensitive", Query("base.name", "contains_string", "DOC"), DEMO_IDS),
    ("4 star wildcard", Query("base.name", "contains_string", "d*_3"), [D5]),
    ("4 percent wildcard", Query("base.name", "contains_string", "c%4"), [D6]),
    ("4 underscore literal", Query("base.name", "contains_string", "o_"), []),
    ("4 underscore present", Query("base.name", "contains_string", "c_2"), [D4]),
    ("4 number text form", Query("demoNDI.value", "contains_string", "1.0"), [D3]),
    ("4 number text form .0", Query("demoNDI.value", "contains_string", ".0"), DEMO_IDS),
    ("5 isa exact", Query.isa("sess"), []),
    ("5 isa exact demo", Query.isa("demo"), []),
    ("5 isa partial superclass", Query.isa("ase"), []),
    ("5 isa partial superclass prefix", Query.isa("bas"), []),
    ("6 no dependencies", Query.depends_on("*", "%"), []),
    ("6 no dependencies negated", Query("", "~depends_on", "*", "%"), []),
    ("7 uncollapsed name", Query("dataset_session_info.dataset_session_info.session_id", "exact_string",
                                 INGESTED_SESSION_ID), []),
    ("7 collapsed name", Query("dataset_session_info.session_id", "exact_string", INGESTED_SESSION_ID), [D8]),
    ("8 files", Query("files", "hasfield"), []),
    ("8 depends_on", Query("depends_on", "hasfield"), []),
    ("8 document_class", Query("document_class", "hasfield"), []),
    ("8 document_class.class_name", Query("document_class.class_name", "exact_string", "demoNDI"), []),
    ("9 NULL input invisible", Query("dataset_session_info.session_creator_input2", "~exact_string", "x"),
     []),
    ("10 full precision eq", Query("demoNDI.value", "exact_number", 3.0000001), []),
    ("10 full precision gt", Query("demoNDI.value", "greaterthan", 4.999999), [D7]),
    ("10 full precision lt", Query("demoNDI.value", "lessthan", 1.0000001), [D3]),
    ("11 not isa session", ~Query.isa("session"), [D3, D4, D5, D6, D7, D8]),
    ("11 not isa base", Query("", "~isa", "base"), []),
    ("11 not isa demoNDI", Query("", "~isa", "demoNDI"), [D1, D2, D8]),
    ("12 not hasfield", Query("demoNDI.value", "~hasfield"), [D1, D2, D8]),
    ("12 not hasfield reference", Query("session.reference", "~hasfield"), [D3, D4, D5, D6, D7, D8]),
    ("13 hasmember number", Query("demoNDI.value", "hasmember", 3), [D5]),
    ("13 hasmember text", Query("session.reference", "hasmember", "ds_demo"), [D1]),
    ("13 exact_number empty", Query("demoNDI.value", "exact_number", []), []),
    ("14 not anycase", Query("base.name", "~exact_string_anycase", "DOC_1"), [D4, D5, D6, D7]),
]


@pytest.mark.parametrize(("label", "query", "expected"), EDGE_FIXTURE, ids=[c[0] for c in EDGE_FIXTURE])
def test_edge_case_on_fixture(fixture_copy: Path, label: str, query: Query, expected: list[str]) -> None:
    assert run(fixture_copy, query) == sorted(expected)


@pytest.mark.parametrize("operation", ["lessthan", "lessthaneq", "greaterthan", "greaterthaneq",
                                       "~lessthan", "~greaterthan"])
def test_edge_13_comparison_with_empty_parameter_raises(fixture_copy: Path, operation: str) -> None:
    with pytest.raises(QueryError):
        run(fixture_copy, Query("demoNDI.value", operation, []))


# ---------------------------------------------------------------------------------------------
# More queries derived from the SQL semantics of §5.1-§5.2
# ---------------------------------------------------------------------------------------------

DERIVED = [
    ("all", Query.all(), DOC_IDS),
    ("isa via constructor", Query("", "isa", "session"), [D1, D2]),
    ("isa dataset_session_info", Query.isa("dataset_session_info"), [D8]),
    ("lessthan 3", Query("demoNDI.value", "lessthan", 3), [D3, D4]),
    ("lessthaneq 3", Query("demoNDI.value", "lessthaneq", 3), [D3, D4, D5]),
    ("greaterthaneq 3", Query("demoNDI.value", "greaterthaneq", 3), [D5, D6, D7]),
    ("greaterthan 2.5", Query("demoNDI.value", "greaterthan", 2.5), [D5, D6, D7]),
    ("exact_number list param", Query("demoNDI.value", "exact_number", [4, 99]), [D6]),
    ("not greaterthan 2", Query("demoNDI.value", "~greaterthan", 2), [D3, D4]),
    ("not exact_number 3", Query("demoNDI.value", "~exact_number", 3), [D3, D4, D6, D7]),
    ("not contains 3", Query("base.name", "~contains_string", "3"), [D3, D4, D6, D7]),
    ("not exact_string session", Query("base.session_id", "~exact_string", INGESTED_SESSION_ID), [D1, D8]),
    ("not is_linked 1", Query("dataset_session_info.is_linked", "~exact_number", 1), [D8]),
    ("exact_string_anycase name", Query("base.name", "exact_string_anycase", "DoC_3"), [D5]),
    ("exact_string_anycase ref", Query("session.reference", "exact_string_anycase", "DS_DEMO"), [D1]),
    ("exact_string case-sensitive", Query("session.reference", "exact_string", "DS_DEMO"), []),
    ("exact_string reference", Query("session.reference", "exact_string", "ds_demo"), [D1]),
    ("dataset session id", Query("base.session_id", "exact_string", DATASET_ID), [D1, D8]),
    ("regexp unanchored", Query("base.name", "regexp", "_[24]"), [D4, D6]),
    ("regexp on id prefix", Query("base.id", "regexp", "^412694f69ab1"), [D1, D3, D4, D5, D6, D7]),
    ("regexp no NULL", Query("base.name", "regexp", ".*"), DEMO_IDS),
    ("contains datestamp", Query("base.datestamp", "contains_string", "12:15:04"), [D1, D3, D4, D5, D6, D7]),
    ("meta.class literal field", Query("meta.class", "exact_string", "demoNDI"), DEMO_IDS),
    ("meta.superclass", Query("meta.superclass", "exact_string", "base"), DOC_IDS),
    ("hasfield prefix", Query("base", "hasfield"), DOC_IDS),
    ("hasfield block", Query("dataset_session_info", "hasfield"), [D8]),
    ("hasfield partial name", Query("demo", "hasfield"), []),
    ("hasfield NULL value", Query("dataset_session_info.session_creator_input2", "hasfield"), [D8]),
    ("hasfield base.name with NULLs", Query("base.name", "hasfield"), DOC_IDS),
    ("exact_string creator", Query("dataset_session_info.session_creator", "exact_string", "ndi.session.dir"),
     [D8]),
    ("hasmember superclass", Query("meta.superclass", "hasmember", "base"), DOC_IDS),
    ("hasmember no match", Query("session.reference", "hasmember", "ds"), []),
    ("unknown field", Query("nonexistent.field", "exact_string", "x"), []),
    ("unknown field negated", Query("nonexistent.field", "~exact_string", "x"), []),
    ("AND", Query.isa("demoNDI") & Query("demoNDI.value", "greaterthan", 2), [D5, D6, D7]),
    ("AND disjoint", Query("base.name", "exact_string", "doc_1") & Query("base.name", "exact_string", "doc_2"),
     []),
    ("AND three", Query.isa("base") & Query("base.session_id", "exact_string", INGESTED_SESSION_ID)
     & Query("demoNDI.value", "lessthaneq", 2), [D3, D4]),
    ("OR", Query("base.name", "exact_string", "doc_1") | Query("base.name", "exact_string", "doc_5"), [D3, D7]),
    ("OR classes", Query.isa("session") | Query.isa("dataset_session_info"), [D1, D2, D8]),
    ("OR overlapping", Query("demoNDI.value", "lessthan", 3) | Query("demoNDI.value", "lessthan", 4),
     [D3, D4, D5]),
    ("OR then AND", (Query.isa("session") | Query.isa("demoNDI")) & Query("base.session_id", "exact_string",
                                                                          DATASET_ID), [D1]),
    ("AND of negations", Query("demoNDI.value", "~exact_number", 1) & Query("base.name", "~exact_string",
                                                                            "doc_5"), [D4, D5, D6]),
    ("OR with negation", ~Query.isa("demoNDI") | Query("demoNDI.value", "exact_number", 1), [D1, D2, D3, D8]),
    ("depends_on nothing on fixture", Query.depends_on("*", ""), []),
]


@pytest.mark.parametrize(("label", "query", "expected"), DERIVED, ids=[c[0] for c in DERIVED])
def test_derived_query(fixture_copy: Path, label: str, query: Query, expected: list[str]) -> None:
    assert run(fixture_copy, query) == sorted(expected)


def test_search_ids_in_doc_idx_order(fixture_copy: Path) -> None:
    with DidSqliteStore.open(db(fixture_copy)) as store:
        assert store.search_ids(Query.all()) == DOC_IDS
        assert store.search_ids(Query("demoNDI.value", "lessthan", 10)) == DEMO_IDS
        assert store.search_ids(Query.isa("session") | Query.isa("dataset_session_info")) == [D1, D2, D8]


# ---------------------------------------------------------------------------------------------
# Query objects
# ---------------------------------------------------------------------------------------------


def test_structure_round_trip(fixture_copy: Path) -> None:
    leaf = Query("base.name", "exact_string", "doc_1")
    (entry,) = leaf.to_structure()
    assert (entry["field"], entry["operation"], entry["param1"]) == ("base.name", "exact_string", "doc_1")
    assert set(entry) >= {"field", "operation", "param1", "param2"}

    negated = (~Query("demoNDI.value", "greaterthan", 2)).to_structure()
    assert len(negated) == 1 and negated[0]["operation"] == "~greaterthan"

    both = Query.isa("demoNDI") & Query("demoNDI.value", "greaterthan", 2)
    assert len(both.to_structure()) == 2  # a list means AND

    either = Query("base.name", "exact_string", "doc_1") | Query("base.name", "exact_string", "doc_5")
    (or_leaf,) = either.to_structure()
    assert or_leaf["operation"] == "or"

    cases = [
        (leaf, [D3]),
        (both, [D5, D6, D7]),
        (either, [D3, D7]),
        (either & Query("demoNDI.value", "greaterthan", 1), [D7]),
        (Query.depends_on("*", D3), []),
        (Query("base.name", "~exact_string_anycase", "DOC_1"), [D4, D5, D6, D7]),
    ]
    for query, expected in cases:
        structure = query.to_structure()
        again = Query.from_structure(structure)
        assert again.to_structure() == structure
        assert run(fixture_copy, again) == sorted(expected)
        assert run(fixture_copy, query) == sorted(expected)


def test_from_structure_matlab_style_list(fixture_copy: Path) -> None:
    structure = [
        {"field": "", "operation": "isa", "param1": "demoNDI", "param2": ""},
        {"field": "demoNDI.value", "operation": "lessthaneq", "param1": 2, "param2": ""},
    ]
    assert run(fixture_copy, Query.from_structure(structure)) == [D3, D4]
    nested_or = [{
        "field": "", "operation": "or",
        "param1": [{"field": "base.name", "operation": "exact_string", "param1": "doc_2", "param2": ""}],
        "param2": [{"field": "session.reference", "operation": "exact_string", "param1": "exp_demo",
                    "param2": ""}],
    }]
    assert run(fixture_copy, Query.from_structure(nested_or)) == sorted([D4, D2])


def test_bad_queries_raise() -> None:
    with pytest.raises(QueryError, match="no_such_op"):
        Query("base.name", "no_such_op", "x")
    with pytest.raises(QueryError):  # 'or' cannot be negated
        ~(Query.isa("session") | Query.isa("demoNDI"))


def test_bad_regex_raises(fixture_copy: Path) -> None:
    with pytest.raises(QueryError):
        run(fixture_copy, Query("base.name", "regexp", "([unclosed"))


# ---------------------------------------------------------------------------------------------
# Queries on documents added to a copy (the fixture has no dependencies, arrays or text numbers)
# ---------------------------------------------------------------------------------------------


def _added_documents() -> dict[str, Document]:
    a = Document.new(
        "testblock",
        properties={"testblock": {
            "numtext": "3", "vec": [1, 2, 3], "mat": [[1, 2], [3, 4], [5, 6]], "strs": ["x", "y"],
            "one": ["solo"], "sa": [{"p": 1, "q": "u"}, {"p": 2, "q": "v"}], "flag": True, "nan": math.nan,
            "inf": math.inf, "pi": 3.14159, "members": "a,b,c", "pct": "50%_off",
        }},
        depends_on={"underlying_element_id": D3},
        session_id=DATASET_ID,
    )
    b = Document.new(
        "testblock", superclasses=("base", "app"),
        properties={"testblock": {"numtext": "x"}, "app": {"name": "my.app"}},
        depends_on=[{"name": "subject_id", "value": D4}, {"name": "openminds", "value": ""}],
        session_id=DATASET_ID,
    )
    c = Document.new("element_epoch", superclasses=("base", "epochid"),
                     properties={"element_epoch": {"epoch_clock": "dev_local_time"}},
                     depends_on={"element_id": D5}, session_id=DATASET_ID)
    e = Document.new("element", properties={"element": {"subelement": {"x": 1}}},
                     depends_on=[{"name": "underlying_element_id", "value": ""},
                                 {"name": "subject_id", "value": D4}],
                     session_id=DATASET_ID)
    return {"A": a, "B": b, "C": c, "E": e}


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    target = tmp_path_factory.mktemp("extended") / "matlab-dataset"
    shutil.copytree(MATLAB_DATASET, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))
    docs = _added_documents()
    with DidSqliteStore.open(db(target), readonly=False) as store:
        assert store.add(list(docs.values())) == 4
    return target, {k: d.id for k, d in docs.items()}


def _expected(names: list[str], added: dict[str, str]) -> list[str]:
    fixed = {"D1": D1, "D2": D2, "D3": D3, "D4": D4, "D5": D5, "D6": D6, "D7": D7, "D8": D8}
    return sorted(added.get(n) or fixed[n] for n in names)


ADDED = [
    # §5.3 case 2
    ("2 text number not exact_number", lambda: Query("testblock.numtext", "exact_number", 3), []),
    ("2 text number exact_string", lambda: Query("testblock.numtext", "exact_string", "3"), ["A"]),
    # case 3
    ("3 text > number", lambda: Query("testblock.numtext", "greaterthan", 1000), ["A", "B"]),
    ("3 text < number", lambda: Query("testblock.numtext", "lessthan", 1000), []),
    # case 4
    ("4 star", lambda: Query("testblock.pct", "contains_string", "0*o"), ["A"]),
    ("4 literal underscore", lambda: Query("testblock.pct", "contains_string", "_off"), ["A"]),
    ("4 number text", lambda: Query("testblock.pi", "contains_string", "3.14"), ["A"]),
    # case 5
    ("5 isa element not element_epoch", lambda: Query.isa("element"), ["E"]),
    ("5 isa element_epoch", lambda: Query.isa("element_epoch"), ["C"]),
    ("5 isa superclass", lambda: Query.isa("epochid"), ["C"]),
    ("5 isa app", lambda: Query.isa("app"), ["B"]),
    ("5 isa partial superclass", lambda: Query.isa("epoch"), []),
    ("5 isa partial second superclass", lambda: Query.isa("pp"), []),
    # case 6 and §8 item 15
    ("6 suffix", lambda: Query.depends_on("element_id", D3), ["A"]),
    ("6 exact name element_id", lambda: Query.depends_on("element_id", D5), ["C"]),
    ("6 star name", lambda: Query.depends_on("*", D4), ["B", "E"]),
    ("6 exact name", lambda: Query.depends_on("subject_id", D4), ["B", "E"]),
    ("6 wrong name", lambda: Query.depends_on("subject_id", D3), []),
    ("6 case-insensitive", lambda: Query.depends_on("SUBJECT_ID", D4.upper()), ["B", "E"]),
    ("6 underscore wildcard in value", lambda: Query.depends_on("*", D3[:16] + "_" + D3[17:20] + "_" + D3[21:]),
     ["A"]),
    ("6 empty value", lambda: Query.depends_on("openminds", ""), ["B"]),
    ("6 empty value suffix", lambda: Query.depends_on("underlying_element_id", ""), ["E"]),
    ("6 any dependency", lambda: Query.depends_on("*", "%"), ["A", "B", "C", "E"]),
    ("6 negated", lambda: Query("", "~depends_on", "*", D4), ["A", "C"]),
    ("6 negated element_id", lambda: Query("", "~depends_on", "element_id", D3), ["B", "C", "E"]),
    # case 7
    ("7 struct array without suffix", lambda: Query("testblock.sa.p", "exact_number", 1), []),
    ("7 struct array _1", lambda: Query("testblock.sa.p_1", "exact_number", 1), ["A"]),
    ("7 struct array _2", lambda: Query("testblock.sa.q_2", "exact_string", "v"), ["A"]),
    ("7 hasfield no suffix", lambda: Query("testblock.sa.p", "hasfield"), []),
    ("7 hasfield parent", lambda: Query("testblock.sa", "hasfield"), ["A"]),
    ("7 collapsed element name", lambda: Query("element.subx", "exact_number", 1), ["E"]),
    ("7 uncollapsed element name", lambda: Query("element.subelement.x", "hasfield"), []),
    # case 9
    ("9 array not element-searchable", lambda: Query("testblock.vec", "exact_number", 1), []),
    ("9 array summary", lambda: Query("testblock.vec", "exact_string", "[3x1] double"), ["A"]),
    ("9 matrix summary", lambda: Query("testblock.mat", "exact_string", "[3x2] double"), ["A"]),
    ("9 cell summary", lambda: Query("testblock.strs", "exact_string", "[2x1] cell"), ["A"]),
    ("9 one string is the string", lambda: Query("testblock.one", "exact_string", "solo"), ["A"]),
    ("9 hasmember on summary", lambda: Query("testblock.vec", "hasmember", 1), []),
    ("9 NaN field exists", lambda: Query("testblock.nan", "hasfield"), ["A"]),
    ("9 NaN invisible negated", lambda: Query("testblock.nan", "~exact_number", 1), []),
    ("9 NaN invisible gt", lambda: Query("testblock.nan", "greaterthan", -1e300), []),
    ("9 NaN invisible lt", lambda: Query("testblock.nan", "lessthan", 1e300), []),
    ("9 Inf is a number", lambda: Query("testblock.inf", "greaterthan", 1e300), ["A"]),
    ("9 true is 1", lambda: Query("testblock.flag", "exact_number", 1), ["A"]),
    # case 10
    ("10 full precision match", lambda: Query("testblock.pi", "exact_number", 3.14159), ["A"]),
    ("10 no 5-digit rounding", lambda: Query("testblock.pi", "exact_number", 3.1416), []),
    ("10 gt below", lambda: Query("testblock.pi", "greaterthan", 3.141589), ["A"]),
    ("10 gt above", lambda: Query("testblock.pi", "greaterthan", 3.141591), []),
    # case 13 hasmember
    ("13 hasmember middle", lambda: Query("testblock.members", "hasmember", "b"), ["A"]),
    ("13 hasmember first", lambda: Query("testblock.members", "hasmember", "a"), ["A"]),
    ("13 hasmember last", lambda: Query("testblock.members", "hasmember", "c"), ["A"]),
    ("13 hasmember equal", lambda: Query("testblock.members", "hasmember", "a,b,c"), ["A"]),
    ("13 hasmember absent", lambda: Query("testblock.members", "hasmember", "d"), []),
    # case 11 with more classes
    ("11 not isa testblock", lambda: ~Query.isa("testblock"), ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8",
                                                               "C", "E"]),
    ("11 not isa app", lambda: Query("", "~isa", "app"), ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "A",
                                                          "C", "E"]),
    # combinations
    ("AND depends_on", lambda: Query.depends_on("*", D4) & Query.isa("testblock"), ["B"]),
    ("OR depends_on", lambda: Query.depends_on("*", D3) | Query.depends_on("*", D5), ["A", "C"]),
    ("NOT exact_string combined", lambda: Query("testblock.numtext", "~exact_string", "3")
     & Query.isa("app"), ["B"]),
    ("meta.superclass app, base", lambda: Query("meta.superclass", "exact_string", "app, base"), ["B"]),
    ("meta.depends_on literal", lambda: Query("meta.depends_on", "exact_string",
                                              f"subject_id,{D4};openminds,;"), ["B"]),
]


@pytest.mark.parametrize(("label", "make", "expected"), ADDED, ids=[c[0] for c in ADDED])
def test_query_on_added_documents(extended: tuple[Path, dict[str, str]], label: str, make: Any,
                                  expected: list[str]) -> None:
    path, added = extended
    assert run(path, make()) == _expected(expected, added)


def test_added_documents_do_not_change_fixture_answers(extended: tuple[Path, dict[str, str]]) -> None:
    path, added = extended
    assert run(path, Query.isa("base")) == sorted([*DOC_IDS, *added.values()])
    assert run(path, Query.isa("demoNDI")) == sorted(DEMO_IDS)
    assert run(path, Query("demoNDI.value", "greaterthan", 2)) == sorted([D5, D6, D7])


def test_new_ids_are_searchable_by_id(extended: tuple[Path, dict[str, str]]) -> None:
    path, added = extended
    for doc_id in added.values():
        assert ids.is_valid_id(doc_id)
        assert run(path, Query("base.id", "exact_string", doc_id)) == [doc_id]
        assert run(path, Query("base.id", "exact_string_anycase", doc_id.upper())) == [doc_id]
