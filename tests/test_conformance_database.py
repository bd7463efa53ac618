"""Conformance checklist of the local-format specification (§8), part 2 of 3: the DID-SQLite database.

Items 8-11 (schema, pragmas, timestamps, indexing of values and field names), 13-15 (queries), 16-20 (removal,
update, the files table and binaries), with the §4.6, §4.8, §4.9 and §6.2 rules the checklist implies. The document
JSON items are in test_conformance_documents.py, the dataset folder items in test_conformance_dataset.py.

Every expected value here is taken from the specification text (shared/spec/local-format.md) or read from the
MATLAB-written fixture files, never from the output of the implementation under test.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ndicloud.core import ids
from ndicloud.core.canonical import canonical_bytes
from ndicloud.core.dataset import Dataset
from ndicloud.core.document import Document
from ndicloud.core.errors import DocumentNotFoundError, DuplicateFileUidError, MissingBinaryError, QueryError
from ndicloud.core.query import Query
from ndicloud.core.store import DidSqliteStore

from conformance_helpers import (
    ONE_MINUTE_DAYS,
    db_path,
    fixture_json_codes,
    ids_of,
    matlab_local_datenum_now,
    new_demo,
    query_db,
    schema_snapshot,
)
from conftest import MATLAB_DATASET, MATLAB_DOCUMENTS
from fixture_facts import (
    CLOUD_DATASET,
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
    UIDS,
)

META_FIELDS = ["meta.class", "meta.superclass", "meta.datestamp", "meta.creation", "meta.deletion",
               "meta.depends_on"]


# ---------------------------------------------------------------------------------------------
# Helpers (independent of the implementation)
# ---------------------------------------------------------------------------------------------


def doc_data_multiset(path: Path) -> Counter:
    return Counter(
        query_db(
            path,
            "SELECT d.doc_id, f.field_name, typeof(v.value), v.value FROM doc_data v "
            "JOIN docs d ON d.doc_idx = v.doc_idx JOIN fields f ON f.field_idx = v.field_idx",
        )
    )


def files_rows(path: Path) -> list[tuple[Any, ...]]:
    return sorted(
        query_db(
            path,
            "SELECT d.doc_id, f.doc_idx, f.filename, f.uid, f.orig_location, f.type, f.parameters "
            "FROM files f JOIN docs d ON d.doc_idx = f.doc_idx",
        )
    )


def doc_rows(path: Path, doc_id: str) -> list[tuple[Any, ...]]:
    """(field_name, json_name, class, typeof(value), value) of one document, in rowid order."""
    return query_db(
        path,
        "SELECT f.field_name, f.json_name, f.class, typeof(v.value), v.value FROM doc_data v "
        "JOIN docs d ON d.doc_idx = v.doc_idx JOIN fields f ON f.field_idx = v.field_idx "
        "WHERE d.doc_id = ? ORDER BY v.rowid",
        (doc_id,),
    )


def rows_by_field(path: Path, doc_id: str) -> dict[str, tuple[str, Any]]:
    rows = doc_rows(path, doc_id)
    out = {r[0]: (r[3], r[4]) for r in rows}
    assert len(out) == len(rows), f"duplicate field rows for {doc_id}: {rows}"
    return out


def new_store(root: Path) -> DidSqliteStore:
    (root / ".ndi").mkdir(parents=True, exist_ok=True)
    return DidSqliteStore.create(db_path(root))


def rewrite_fixture(source_dataset: Path, target: Path) -> Path:
    """Item 8: the 8 live fixture documents, in doc_idx order, into a new empty database."""
    with DidSqliteStore.open(db_path(source_dataset), readonly=True) as src:
        docs = [src.get(doc_id) for doc_id in DOC_IDS]
    sources = {uid: source_dataset / ".ndi" / "files" / uid for uid in UIDS}
    with new_store(target) as store:
        assert store.add(docs, file_sources=sources) == 8
    return db_path(target)


def search_both(dataset: Path, query: Query) -> list[str]:
    """Run a query through DidSqliteStore.search_ids and Dataset.search; they must agree."""
    with DidSqliteStore.open(db_path(dataset)) as store:
        via_store = store.search_ids(query)
    with Dataset.open(dataset) as ds:
        via_dataset = ids_of(ds.search(query))
    assert sorted(via_store) == sorted(via_dataset)
    return sorted(via_store)


# ---------------------------------------------------------------------------------------------
# 8-11: writing the database
# ---------------------------------------------------------------------------------------------


def test_item_08_rewrite_fixture_matches_fixture_database(matlab_dataset: Path, tmp_path: Path) -> None:
    fixture_db = db_path(matlab_dataset)
    new_db = rewrite_fixture(matlab_dataset, tmp_path / "rewritten")

    # tables, column declarations, constraints, named + automatic indexes
    fixture_schema = schema_snapshot(fixture_db)
    assert fixture_schema["tables"] == ["branches", "docs", "sqlite_sequence", "branch_docs", "fields",
                                        "doc_data", "files"]
    named = {i[0] for t in fixture_schema["tables"] for i in fixture_schema.get((t, "indexes"), [])
             if i[2] == "c"}
    assert named == {"docs_doc_id", "doc_data_value", "fields_field_name"}
    new_schema = schema_snapshot(new_db)
    for key in fixture_schema:
        assert new_schema.get(key) == fixture_schema[key], key
    assert new_schema == fixture_schema
    assert dict(query_db(new_db, "SELECT name, seq FROM sqlite_sequence")) == {"docs": 8, "fields": 22}

    # the global field dictionary
    fields_sql = "SELECT class, field_name, json_name, field_idx FROM fields ORDER BY field_idx"
    fixture_fields = query_db(fixture_db, fields_sql)
    assert [r[3] for r in fixture_fields] == list(range(1, 23))
    assert query_db(new_db, fields_sql) == fixture_fields

    # the indexed values
    expected = doc_data_multiset(fixture_db)
    actual = doc_data_multiset(new_db)
    assert sum(actual.values()) == 97
    types = Counter()
    for (_doc, _field, kind, _value), n in actual.items():
        types[kind] += n
    assert types == {"text": 60, "real": 6, "null": 31}
    assert actual == expected

    # files rows except cached_location; the bytes are in the new files/ folder
    assert files_rows(new_db) == files_rows(fixture_db)
    assert len(files_rows(new_db)) == 5
    new_files = new_db.parent / "files"
    for uid in UIDS:
        assert (new_files / uid).read_bytes() == (matlab_dataset / ".ndi" / "files" / uid).read_bytes()
        cached = query_db(new_db, "SELECT cached_location FROM files WHERE uid = ?", (uid,))[0][0]
        assert cached is not None and Path(cached).is_absolute()
        assert Path(cached).resolve() == (new_files / uid).resolve()
    # bytes supplied per uid: nothing deleted at the source
    assert sorted(p.name for p in (matlab_dataset / ".ndi" / "files").iterdir()) == UIDS

    # branches and branch_docs
    assert [r[:2] for r in query_db(new_db, "SELECT branch_id, parent_id FROM branches")] == [("a", None)]
    assert query_db(new_db, "SELECT COUNT(*), COUNT(DISTINCT doc_idx) FROM branch_docs WHERE branch_id = 'a'") \
        == [(8, 8)]
    assert query_db(new_db, "SELECT COUNT(*) FROM branch_docs") == [(8,)]

    # the stored JSON is the same document
    fixture_codes = dict(query_db(fixture_db, "SELECT doc_id, json_code FROM docs"))
    new_codes = dict(query_db(new_db, "SELECT doc_id, json_code FROM docs ORDER BY doc_idx"))
    assert list(new_codes) == DOC_IDS
    for doc_id in DOC_IDS:
        assert canonical_bytes(json.loads(new_codes[doc_id])) == canonical_bytes(json.loads(fixture_codes[doc_id]))


def test_item_08_file_level_pragmas(matlab_dataset: Path, tmp_path: Path) -> None:
    """§4.1: page size, encoding, auto_vacuum, user_version, application_id as in the fixture."""
    new_db = rewrite_fixture(matlab_dataset, tmp_path / "rewritten")
    pragmas = ["page_size", "encoding", "auto_vacuum", "user_version", "application_id", "journal_mode"]
    expected = {"page_size": 4096, "encoding": "UTF-8", "auto_vacuum": 0, "user_version": 0,
                "application_id": 0, "journal_mode": "delete"}
    for path in (db_path(matlab_dataset), new_db):
        values = {p: query_db(path, f"PRAGMA {p}")[0][0] for p in pragmas}
        assert values == expected, path
    assert query_db(new_db, "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'") == []


def test_item_09_timestamps_are_local_datenums_and_journal_delete(matlab_dataset: Path,
                                                                    tmp_path: Path) -> None:
    new_db = rewrite_fixture(matlab_dataset, tmp_path / "rewritten")
    # also write into the MATLAB-written database
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        extra = new_demo(9.0)
        ds.add_documents([extra])
    now = matlab_local_datenum_now()
    for table in ("docs", "branch_docs", "branches"):
        rows = query_db(new_db, f"SELECT typeof(timestamp), timestamp FROM {table}")
        assert rows, table
        for kind, value in rows:
            assert kind == "real", (table, kind, value)
            assert abs(value - now) < ONE_MINUTE_DAYS, (table, value, now)
    added = query_db(db_path(matlab_dataset),
                     "SELECT typeof(d.timestamp), d.timestamp, typeof(b.timestamp), b.timestamp FROM docs d "
                     "JOIN branch_docs b ON b.doc_idx = d.doc_idx WHERE d.doc_id = ?", (extra.id,))
    assert len(added) == 1
    kind_d, ts_d, kind_b, ts_b = added[0]
    assert kind_d == kind_b == "real"
    assert abs(ts_d - now) < ONE_MINUTE_DAYS and abs(ts_b - now) < ONE_MINUTE_DAYS
    for path in (new_db, db_path(matlab_dataset)):
        assert query_db(path, "PRAGMA journal_mode") == [("delete",)]
        assert not Path(str(path) + "-wal").exists()
        header = path.read_bytes()[:20]
        assert header[18:20] == b"\x01\x01"  # legacy (rollback-journal) file format, not WAL


ITEM10_BLOCK = {
    "vec": [1, 2, 3, 4, 5, 6],
    "mat": [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 17, 18], [19, 20, 21, 22, 23, 24],
            [25, 26, 27, 28, 29, 30.5]],
    "strs": ["alpha", "beta"],
    "one": ["contrast"],
    "sa": [{"p": 1, "q": "first"}, {"p": 2, "q": "second"}],
    "flag": True,
    "nan": math.nan,
    "inf": math.inf,
    "ninf": -math.inf,
    "int": 7,
    "empty": "",
    "emptylist": [],
    "emptyobj": {},
    "bools": [True, False],
    "mixed": [1, "a"],
    "differing": [{"a": 1}, {"b": 2}],
    "Doc_ID": "skipped",
}


def test_item_10_value_typing(tmp_path: Path) -> None:
    doc = Document.new("testblock", properties={"testblock": ITEM10_BLOCK})
    with new_store(tmp_path / "ds") as store:
        store.add(doc)
    path = db_path(tmp_path / "ds")
    rows = rows_by_field(path, doc.id)
    block = {k: v for k, v in rows.items() if k.startswith("testblock.")}
    assert block == {
        "testblock.vec": ("text", "[6x1] double"),
        "testblock.mat": ("text", "[5x6] double"),
        "testblock.strs": ("text", "[2x1] cell"),
        "testblock.one": ("text", "contrast"),
        "testblock.sa.p_1": ("real", 1.0),
        "testblock.sa.q_1": ("text", "first"),
        "testblock.sa.p_2": ("real", 2.0),
        "testblock.sa.q_2": ("text", "second"),
        "testblock.flag": ("real", 1.0),
        "testblock.nan": ("null", None),
        "testblock.inf": ("real", math.inf),
        "testblock.ninf": ("real", -math.inf),
        "testblock.int": ("real", 7.0),
        "testblock.empty": ("null", None),
        "testblock.emptylist": ("null", None),
        "testblock.bools": ("text", "[2x1] logical"),
        "testblock.mixed": ("text", "[2x1] cell"),
        "testblock.differing": ("text", "[2x1] cell"),
    }
    names = {r[0]: (r[1], r[2]) for r in doc_rows(path, doc.id)}
    assert names["testblock.sa.p_1"] == ("testblock___sa___p_1", "testblock")
    assert names["testblock.vec"] == ("testblock___vec", "testblock")
    # the six meta rows come first, in order, with class meta
    ordered = doc_rows(path, doc.id)
    assert [r[0] for r in ordered[:6]] == META_FIELDS
    assert {r[2] for r in ordered[:6]} == {"meta"}
    assert rows["meta.class"] == ("text", "testblock")
    assert rows["meta.superclass"] == ("text", "base")
    assert rows["meta.datestamp"] == ("text", doc.datestamp)
    assert rows["meta.creation"] == rows["meta.deletion"] == rows["meta.depends_on"] == ("null", None)
    assert rows["base.id"] == ("text", doc.id)
    assert query_db(path, "SELECT COUNT(*) FROM doc_data WHERE typeof(value) IN ('integer', 'blob')") == [(0,)]


def test_item_10_fixture_mock_documents_indexing(tmp_path: Path) -> None:
    """The §4.5-§4.7 examples that the spec takes from the MATLAB mock documents."""
    simple = Document.from_file(MATLAB_DOCUMENTS / "example_simple_mock.1.json")
    tuning = Document.from_file(MATLAB_DOCUMENTS / "stimulus_tuningcurve_mock.1.json")
    with new_store(tmp_path / "ds") as store:
        store.add([simple, tuning])
    path = db_path(tmp_path / "ds")
    s = rows_by_field(path, simple.id)
    assert s["meta.class"] == ("text", "simple_calc")
    assert s["meta.superclass"] == ("text", "app, base")
    assert s["meta.depends_on"] == ("text", "document_id,412694ff44b7e58c_c0c3bf143b542c1c;")
    assert s["simple_calc.input_parameters.answer"] == ("real", 5.0)
    assert s["simple_calc.answer"] == ("real", 5.0)
    assert s["app.name"] == ("text", "ndi.calc.example.simple")
    t = rows_by_field(path, tuning.id)
    assert t["meta.class"] == ("text", "tuningcurve_calc")
    assert t["meta.superclass"] == ("text", "base, stimulus_tuningcurve")  # sorted, de-duplicated
    assert t["meta.depends_on"] == (
        "text",
        "element_id,41269512cace73f6_c0c424c28329af3b;"
        "stimulus_response_scalar_id,41269512cad103f5_c0d873103e8cdb1a;",
    )
    assert t["stimulus_tuningcurve.individual_responses_real"] == ("text", "[5x6] double")
    assert t["stimulus_tuningcurve.response_mean"] == ("text", "[6x1] double")
    assert t["stimulus_tuningcurve.independent_variable_label"] == ("text", "contrast")
    assert t["stimulus_tuningcurve.control_stimid"] == ("null", None)
    assert t["tuningcurve_calc.depends_on.name_1"] == ("text", "stimulus_response_scalar_id")
    assert t["tuningcurve_calc.depends_on.value_2"] == ("text", "41269512cad103f5_c0d873103e8cdb1a")
    assert t["tuningcurve_calc.input_parameters.selection.property"] == ("text", "contrast")
    assert "depends_on.name" not in t and not any(k.startswith(("document_class", "files")) for k in t)


def test_item_11_collapsed_field_name(tmp_path: Path) -> None:
    doc = Document.new("element", properties={"element": {"subelement": {"x": 1}, "name": "probe"}})
    with new_store(tmp_path / "ds") as store:
        store.add(doc)
    path = db_path(tmp_path / "ds")
    rows = {r[0]: r for r in doc_rows(path, doc.id)}
    assert rows["element.subx"][1:] == ("element___subx", "element", "real", 1.0)
    assert rows["element.name"][3:] == ("text", "probe")
    assert not any("subelement" in name for name in rows)


# ---------------------------------------------------------------------------------------------
# 13-15: queries
# ---------------------------------------------------------------------------------------------


ITEM13 = [
    (Query.isa("base"), DOC_IDS),
    (Query.isa("session"), [D1, D2]),
    (Query.isa("demoNDI"), DEMO_IDS),
    (Query.isa("sess"), []),
    (Query("demoNDI.value", "greaterthan", 2), [D5, D6, D7]),
    (Query("demoNDI.value", "exact_number", 3), [D5]),
    (Query("demoNDI.value", "exact_string", "3"), []),
    (Query("base.name", "exact_string", ""), []),
    (Query("base.name", "regexp", "^doc_[135]$"), [D3, D5, D7]),
    (Query("base.name", "contains_string", "DOC"), DEMO_IDS),
    (Query("demoNDI.value", "hasfield"), DEMO_IDS),
    (Query("files", "hasfield"), []),
    (Query("base.session_id", "exact_string", INGESTED_SESSION_ID), [D2, D3, D4, D5, D6, D7]),
    (Query("dataset_session_info.is_linked", "exact_number", 0), [D8]),
]


def test_item_13_fixture_queries(matlab_dataset: Path) -> None:
    for query, expected in ITEM13:
        assert search_both(matlab_dataset, query) == sorted(expected), query.to_structure()
    with DidSqliteStore.open(db_path(matlab_dataset)) as store:
        assert store.search_ids(Query.isa("base")) == DOC_IDS  # doc_idx order


def _edge_case_docs() -> dict[str, Document]:
    a = Document.new(
        "testblock",
        properties={"testblock": {"numtext": "3", "vec": [1, 2, 3], "pi": 3.14159, "nan": math.nan,
                                  "members": "a,b,c", "sa": [{"p": 1}, {"p": 2}]}},
        depends_on={"underlying_element_id": D3},
        session_id=DATASET_ID,
    )
    b = Document.new("testblock", properties={"testblock": {"numtext": "x"}},
                     depends_on=[{"name": "subject_id", "value": D4}, {"name": "openminds", "value": ""}],
                     session_id=DATASET_ID)
    c = Document.new("element_epoch", superclasses=("base", "epochid"),
                     properties={"element_epoch": {"epoch_clock": "dev_local_time"}}, session_id=DATASET_ID)
    return {"A": a, "B": b, "C": c}


def test_item_14_edge_cases(matlab_dataset: Path) -> None:
    # On the untouched fixture (items 1-5, 7, 8, 11, 12 of §5.3)
    fixture_cases = [
        (Query("base.name", "exact_string", ""), []),
        (Query("base.name", "~exact_string", "doc_1"), [D4, D5, D6, D7]),
        (Query("demoNDI.value", "exact_string", "3"), []),
        (Query("base.name", "greaterthan", 0), DEMO_IDS),
        (Query("base.name", "greaterthaneq", 0), DEMO_IDS),
        (Query("base.name", "lessthan", 1e300), []),
        (Query("base.name", "lessthaneq", 1e300), []),
        (Query("base.name", "contains_string", "DOC"), DEMO_IDS),
        (Query("base.name", "contains_string", "d*_3"), [D5]),
        (Query("base.name", "contains_string", "d%_4"), [D6]),
        (Query("base.name", "contains_string", "o_"), []),  # '_' is literal
        (Query("demoNDI.value", "contains_string", "1.0"), [D3]),
        (Query.isa("sess"), []),
        (Query("dataset_session_info.dataset_session_info.session_id", "exact_string", INGESTED_SESSION_ID), []),
        (Query("dataset_session_info.session_id", "exact_string", INGESTED_SESSION_ID), [D8]),
        (Query("files", "hasfield"), []),
        (Query("depends_on", "hasfield"), []),
        (Query("document_class", "hasfield"), []),
        (Query("document_class.class_name", "exact_string", "session"), []),
        (Query("demoNDI.value", "exact_number", 3.0000001), []),  # 10: full precision
        (Query("demoNDI.value", "greaterthan", 4.999999), [D7]),  # 10: full precision
        (~Query.isa("session"), [D3, D4, D5, D6, D7, D8]),  # 11
        (Query("", "~isa", "session"), [D3, D4, D5, D6, D7, D8]),  # 11
        (Query("demoNDI.value", "~hasfield"), [D1, D2, D8]),  # 12
        (Query("demoNDI.value", "hasmember", 3), [D5]),  # 13
        (Query("demoNDI.value", "exact_number", []), []),  # 13
        (Query("base.name", "~exact_string_anycase", "DOC_1"), [D4, D5, D6, D7]),  # 14
    ]
    for query, expected in fixture_cases:
        assert search_both(matlab_dataset, query) == sorted(expected), query.to_structure()
    for op in ("lessthan", "lessthaneq", "greaterthan", "greaterthaneq"):
        with pytest.raises(QueryError):
            search_both(matlab_dataset, Query("demoNDI.value", op, []))

    # With documents that exercise the remaining cases (2, 3, 4, 5, 6, 7, 9, 10, 13)
    extra = _edge_case_docs()
    a, b, c = extra["A"].id, extra["B"].id, extra["C"].id
    with DidSqliteStore.open(db_path(matlab_dataset), readonly=False) as store:
        store.add(list(extra.values()))
    added_cases = [
        (Query("testblock.numtext", "exact_number", 3), []),  # 2
        (Query("testblock.numtext", "exact_string", "3"), [a]),  # 2
        (Query("testblock.numtext", "greaterthan", 1000), [a, b]),  # 3
        (Query("testblock.numtext", "lessthan", 1000), []),  # 3
        (Query("testblock.pi", "contains_string", "3.14"), [a]),  # 4
        (Query.isa("element"), []),  # 5
        (Query.isa("element_epoch"), [c]),
        (Query.isa("epochid"), [c]),
        (Query.depends_on("element_id", D3), [a]),  # 6: suffix
        (Query.depends_on("*", D3), [a]),
        (Query.depends_on("ELEMENT_ID", D3.upper()), [a]),  # 6: ASCII case-insensitive
        (Query.depends_on("*", "_" + D3[1:]), [a]),  # 6: '_' in V is a one-character wildcard
        (Query.depends_on("subject_id", D3), []),
        (Query.depends_on("openminds", ""), [b]),
        (Query("", "~depends_on", "*", D3), [b]),  # 6: never documents without dependencies
        (Query("testblock.sa.p", "exact_number", 1), []),  # 7
        (Query("testblock.sa.p_1", "exact_number", 1), [a]),  # 7
        (Query("testblock.sa.p_2", "exact_number", 2), [a]),
        (Query("testblock.vec", "exact_number", 1), []),  # 9
        (Query("testblock.vec", "exact_string", "[3x1] double"), [a]),  # 9
        (Query("testblock.nan", "hasfield"), [a]),  # 9: the field exists, the value is NULL
        (Query("testblock.nan", "~exact_number", 1), []),  # 9
        (Query("testblock.nan", "greaterthan", -1e300), []),  # 9
        (Query("testblock.pi", "exact_number", 3.14159), [a]),  # 10
        (Query("testblock.pi", "exact_number", 3.1416), []),  # 10
        (Query("testblock.members", "hasmember", "b"), [a]),  # 13
        (Query("testblock.members", "hasmember", "a"), [a]),
        (Query("testblock.members", "hasmember", "a,b,c"), [a]),
        (Query("testblock.members", "hasmember", "d"), []),
        (~Query.isa("session"), [D3, D4, D5, D6, D7, D8, a, b, c]),  # 11
    ]
    for query, expected in added_cases:
        assert search_both(matlab_dataset, query) == sorted(expected), query.to_structure()


def test_item_15_depends_on_from_meta_without_decoding(matlab_dataset: Path) -> None:
    extra = _edge_case_docs()
    a, b = extra["A"].id, extra["B"].id
    with DidSqliteStore.open(db_path(matlab_dataset), readonly=False) as store:
        store.add(list(extra.values()))
    # Break every stored JSON text: a depends_on query must still be answered from doc_data.
    con = sqlite3.connect(db_path(matlab_dataset))
    with con:
        con.execute("UPDATE docs SET json_code = '{ this is not json'")
    con.close()
    with DidSqliteStore.open(db_path(matlab_dataset)) as store:
        assert store.search_ids(Query.depends_on("*", D3)) == [a]  # '*' matches any name
        assert store.search_ids(Query.depends_on("element_id", D3)) == [a]  # suffix of underlying_element_id
        assert store.search_ids(Query.depends_on("underlying_element_id", D3)) == [a]
        assert store.search_ids(Query.depends_on("subject_id", D4)) == [b]
        assert store.search_ids(Query.depends_on("ubject_id", D4)) == [b]
        assert store.search_ids(Query.depends_on("subject_id", D3)) == []
        assert sorted(store.search_ids(Query.depends_on("*", "%"))) == sorted([a, b])


# ---------------------------------------------------------------------------------------------
# 16-20: writing documents and binaries
# ---------------------------------------------------------------------------------------------


def test_item_16_remove_and_readd(matlab_dataset: Path, tmp_path: Path) -> None:
    fixture_db = db_path(matlab_dataset)
    expected_schema = schema_snapshot(db_path(MATLAB_DATASET))
    expected_data = doc_data_multiset(fixture_db)
    expected_files = [r[:1] + r[2:] for r in files_rows(fixture_db)]
    uid = UID_OF_DOC[D7]
    bytes_copy = tmp_path / "bytes-copy"
    shutil.copyfile(matlab_dataset / ".ndi" / "files" / uid, bytes_copy)

    with DidSqliteStore.open(fixture_db, readonly=False) as store:
        original = store.get(D7)
        assert store.remove(D7) == 1
        assert not store.exists(D7)
        with pytest.raises(DocumentNotFoundError):
            store.get(D7)
        assert store.count() == 7
        assert D7 not in store.live_ids()
        assert store.search_ids(Query.isa("demoNDI")) == [D3, D4, D5, D6]
        assert store.search_ids(Query("base.name", "exact_string", "doc_5")) == []
    assert query_db(fixture_db, "SELECT COUNT(*) FROM branch_docs b JOIN docs d ON d.doc_idx = b.doc_idx "
                                "WHERE d.doc_id = ?", (D7,)) == [(0,)]

    changed = original.copy()
    changed.properties["demoNDI"]["value"] = 42
    with DidSqliteStore.open(fixture_db, readonly=False) as store:
        store.add(changed, file_sources={uid: bytes_copy})
        assert store.get(D7).properties["demoNDI"]["value"] == 42
        assert store.search_ids(Query("demoNDI.value", "exact_number", 42)) == [D7]
        assert store.search_ids(Query("demoNDI.value", "exact_number", 5)) == []
        assert store.count() == 8
    with Dataset.open(matlab_dataset) as ds, ds.open_binary(D7, FILE_NAME) as fh:
        assert fh.read() == b"doc_5"

    # still readable by the checks of item 8
    assert schema_snapshot(fixture_db) == expected_schema
    assert query_db(fixture_db, "SELECT COUNT(*) FROM docs WHERE doc_id = ?", (D7,)) == [(1,)]
    assert query_db(fixture_db, "SELECT COUNT(*) FROM docs") == [(8,)]
    assert query_db(fixture_db, "SELECT COUNT(*) FROM branch_docs WHERE branch_id = 'a'") == [(8,)]
    for table in ("doc_data", "files", "branch_docs"):
        orphans = query_db(fixture_db, f"SELECT COUNT(*) FROM {table} WHERE doc_idx NOT IN (SELECT doc_idx FROM docs)")
        assert orphans == [(0,)], table
    expected_data = expected_data.copy()
    expected_data[(D7, "demoNDI.value", "real", 5.0)] -= 1
    expected_data[(D7, "demoNDI.value", "real", 42.0)] += 1
    assert doc_data_multiset(fixture_db) == +expected_data
    assert [r[:1] + r[2:] for r in files_rows(fixture_db)] == expected_files
    assert query_db(fixture_db, "SELECT COUNT(*) FROM fields") == [(22,)]


def test_item_16_replace_is_an_update(matlab_dataset: Path) -> None:
    with DidSqliteStore.open(db_path(matlab_dataset), readonly=False) as store:
        changed = store.get(D1).copy()
        changed.properties["session"]["reference"] = "renamed"
        store.add(changed, replace=True)
        assert store.get(D1).properties["session"]["reference"] == "renamed"
        assert store.search_ids(Query("session.reference", "exact_string", "renamed")) == [D1]
        assert store.search_ids(Query("session.reference", "exact_string", "ds_demo")) == []
        assert store.count() == 8
    assert query_db(db_path(matlab_dataset), "SELECT COUNT(*) FROM docs") == [(8,)]
    assert query_db(db_path(matlab_dataset), "SELECT COUNT(*) FROM doc_data") == [(97,)]


def test_item_17_duplicate_file_uid_raises(matlab_dataset: Path, tmp_path: Path) -> None:
    source = tmp_path / "payload.bin"
    source.write_bytes(b"other bytes")
    clash = new_demo(8.0)
    clash.add_file(FILE_NAME, str(source), uid=UIDS[0], delete_original=0)
    with DidSqliteStore.open(db_path(matlab_dataset), readonly=False) as store:
        with pytest.raises(DuplicateFileUidError) as info:
            store.add(clash)
        assert UIDS[0] in str(info.value)
        assert store.count() == 8
        assert not store.exists(clash.id)
    assert query_db(db_path(matlab_dataset), "SELECT COUNT(*) FROM files") == [(5,)]
    assert (matlab_dataset / ".ndi" / "files" / UIDS[0]).read_bytes() == b"doc_1"  # stored bytes untouched
    assert (matlab_dataset / ".ndi" / "files" / UIDS[0]).read_bytes() == b"doc_1"
    assert source.read_bytes() == b"other bytes"


def test_item_18_ingest_copies_bytes_and_honours_delete_original(matlab_dataset: Path, tmp_path: Path) -> None:
    src_delete = tmp_path / "delete-me.bin"
    src_keep = tmp_path / "keep-me.bin"
    src_delete.write_bytes(b"bytes to ingest and delete")
    src_keep.write_bytes(b"bytes to ingest and keep")
    doc_delete = new_demo(10.0)
    loc_delete = doc_delete.add_file(FILE_NAME, str(src_delete))
    doc_keep = new_demo(11.0)
    loc_keep = doc_keep.add_file(FILE_NAME, str(src_keep), delete_original=0)
    assert (loc_delete["ingest"], loc_delete["delete_original"], loc_delete["location_type"]) == (1, 1, "file")
    assert (loc_keep["ingest"], loc_keep["delete_original"]) == (1, 0)
    files_dir = matlab_dataset / ".ndi" / "files"
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        assert ds.add_documents([doc_delete, doc_keep]) == 2
        rows = {r.uid: r for r in ds.store.file_rows()}
    for loc, src, payload in ((loc_delete, src_delete, b"bytes to ingest and delete"),
                              (loc_keep, src_keep, b"bytes to ingest and keep")):
        uid = loc["uid"]
        assert (files_dir / uid).read_bytes() == payload
        row = rows[uid]
        assert row.filename == FILE_NAME
        assert row.orig_location == str(src)
        assert row.type == "file"
        assert row.parameters is None
        assert row.cached_location is not None
        assert Path(row.cached_location).resolve() == (files_dir / uid).resolve()
    assert not src_delete.exists()
    assert src_keep.read_bytes() == b"bytes to ingest and keep"
    assert sorted(p.name for p in files_dir.iterdir()) == sorted([*UIDS, loc_delete["uid"], loc_keep["uid"]])


def test_item_19_ndic_location(matlab_dataset: Path) -> None:
    uid = ids.new_id()
    link = f"ndic://{CLOUD_DATASET}/{uid}"
    doc = new_demo(12.0)
    loc = doc.add_file(FILE_NAME, link, uid=uid)
    assert loc["location_type"] == "ndicloud"
    assert loc["ingest"] == 0 and type(loc["ingest"]) is not bool
    assert loc["delete_original"] == 0 and type(loc["delete_original"]) is not bool
    assert loc["uid"] == uid and loc["location"] == link
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        ds.add_documents(doc)
        rows = [r for r in ds.store.file_rows() if r.uid == uid]
        assert len(rows) == 1
        assert rows[0].cached_location is None
        assert rows[0].type == "ndicloud"
        assert rows[0].orig_location == link
        assert [b.uid for b in ds.missing_binaries()] == [uid]
        with pytest.raises(MissingBinaryError):
            ds.binary_path(doc.id, FILE_NAME)
        (matlab_dataset / ".ndi" / "files" / uid).write_bytes(b"fetched from the cloud")
        assert ds.binary_path(doc.id, FILE_NAME).resolve() == (matlab_dataset / ".ndi" / "files" / uid).resolve()
        with ds.open_binary(doc.id, FILE_NAME) as fh:
            assert fh.read() == b"fetched from the cloud"
        assert ds.missing_binaries() == []
        entry = [b for b in ds.binaries() if b.uid == uid]
        assert len(entry) == 1 and entry[0].present and entry[0].location_type == "ndicloud"
        assert ds.get(doc.id).locations(FILE_NAME)[0]["location"] == link  # document not rewritten


def test_item_20_no_read_through_stored_location(matlab_dataset: Path, tmp_path: Path) -> None:
    source = tmp_path / "still-here.bin"
    source.write_bytes(b"the original bytes")
    doc = new_demo(13.0)
    loc = doc.add_file(FILE_NAME, str(source), delete_original=0)
    uid = loc["uid"]
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        ds.add_documents(doc)
        (matlab_dataset / ".ndi" / "files" / uid).unlink()
        assert source.exists()
        with pytest.raises(MissingBinaryError):
            ds.binary_path(doc.id, FILE_NAME)
        with pytest.raises(MissingBinaryError):
            ds.open_binary(doc.id, FILE_NAME)
        assert [b.uid for b in ds.missing_binaries()] == [uid]
        # the same for a non-ingested file location that exists on disk
        other = new_demo(14.0)
        other_loc = other.add_file(FILE_NAME, str(source), ingest=0, delete_original=0)
        ds.add_documents(other)
        assert not (matlab_dataset / ".ndi" / "files" / other_loc["uid"]).exists()
        with pytest.raises(MissingBinaryError):
            ds.open_binary(other.id, FILE_NAME)
        assert sorted(b.uid for b in ds.missing_binaries()) == sorted([uid, other_loc["uid"]])
        # a fixture document whose files/<uid> vanished
        (matlab_dataset / ".ndi" / "files" / UIDS[0]).unlink()
        with pytest.raises(MissingBinaryError):
            ds.open_binary(D3, FILE_NAME)
    assert source.read_bytes() == b"the original bytes"


# ---------------------------------------------------------------------------------------------
# Further MUST/SHOULD rules of the spec that the checklist implies
# ---------------------------------------------------------------------------------------------


def test_section_4_6_json_name_and_struct_array_suffixes(tmp_path: Path) -> None:
    """§4.6: json_name turns '.' into '___' and whitespace runs into '_'; struct arrays get _k."""
    doc = Document.new("testblock", properties={"testblock": {"my  key": 1.5}})
    tuning2 = Document.from_file(MATLAB_DOCUMENTS / "stimulus_tuningcurve_mock.2.json")
    with new_store(tmp_path / "ds") as store:
        store.add([doc, tuning2])
    path = db_path(tmp_path / "ds")
    rows = {r[0]: r for r in doc_rows(path, doc.id)}
    assert rows["testblock.my  key"][1:] == ("testblock___my_key", "testblock", "real", 1.5)
    t = rows_by_field(path, tuning2.id)
    prefix = "tuningcurve_calc.input_parameters.selection."
    assert t[prefix + "property_1"] == ("text", "angle")
    assert t[prefix + "property_2"] == ("text", "contrast")
    assert t[prefix + "operation_3"] == ("text", "exact_number")
    assert t[prefix + "value_3"] == ("text", "best")
    assert prefix + "property" not in t


def test_section_4_9_stale_row_left_by_matlab_removal(matlab_dataset: Path) -> None:
    """§4.9: a docs row without branch_docs is not live; re-adding the id purges it first."""
    path = db_path(matlab_dataset)
    con = sqlite3.connect(path)
    with con:  # what MATLAB's do_remove_doc does: only the branch_docs row goes
        con.execute("DELETE FROM branch_docs WHERE doc_idx = 3")
    con.close()
    with DidSqliteStore.open(path, readonly=False) as store:
        assert store.count() == 7
        assert not store.exists(D3)
        with pytest.raises(DocumentNotFoundError):
            store.get(D3)
        assert store.search_ids(Query.isa("demoNDI")) == [D4, D5, D6, D7]
        assert store.search_ids(Query("base.name", "exact_string", "doc_1")) == []
        stale = Document.from_json(fixture_json_codes()[D3])
        stale.properties["demoNDI"]["value"] = 77
        stale.properties["base"]["name"] = "doc_1_new"
        store.add(stale, file_sources={UIDS[0]: MATLAB_DATASET / ".ndi" / "files" / UIDS[0]})
        got = store.get(D3)
        assert got.properties["demoNDI"]["value"] == 77  # the new JSON, not MATLAB's stale row
        assert got.name == "doc_1_new"
        assert store.search_ids(Query("demoNDI.value", "exact_number", 77)) == [D3]
        assert store.search_ids(Query("demoNDI.value", "exact_number", 1)) == []
        assert store.count() == 8
    assert query_db(path, "SELECT COUNT(*) FROM docs") == [(8,)]
    assert query_db(path, "SELECT COUNT(*) FROM doc_data") == [(97,)]
    assert query_db(path, "SELECT COUNT(*) FROM files") == [(5,)]
    assert query_db(path, "SELECT COUNT(*) FROM doc_data WHERE doc_idx NOT IN (SELECT doc_idx FROM docs)") \
        == [(0,)]


def test_section_4_8_url_location_gets_files_row(matlab_dataset: Path) -> None:
    doc = new_demo(21.0)
    loc = doc.add_file(FILE_NAME, "HTTPS://example.org/data/x.bin")
    assert (loc["location_type"], loc["ingest"], loc["delete_original"]) == ("url", 0, 0)
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        ds.add_documents(doc)
        rows = [r for r in ds.store.file_rows() if r.uid == loc["uid"]]
    assert len(rows) == 1
    assert (rows[0].filename, rows[0].orig_location, rows[0].cached_location, rows[0].type, rows[0].parameters) \
        == (FILE_NAME, "HTTPS://example.org/data/x.bin", None, "url", None)
    assert not (matlab_dataset / ".ndi" / "files" / loc["uid"]).exists()


def test_section_6_2_empty_files_table_resolves_from_json(matlab_dataset: Path) -> None:
    con = sqlite3.connect(db_path(matlab_dataset))
    with con:
        con.execute("DELETE FROM files")
    con.close()
    with Dataset.open(matlab_dataset) as ds:
        for k, doc_id in enumerate(DEMO_IDS, start=1):
            assert ds.binary_path(doc_id, FILE_NAME).name == UID_OF_DOC[doc_id]
            with ds.open_binary(doc_id, FILE_NAME) as fh:
                assert fh.read() == f"doc_{k}".encode()
        assert sorted(b.uid for b in ds.binaries()) == UIDS


def test_section_4_9_remove_with_dependents(matlab_dataset: Path) -> None:
    child = Document.new("testblock", properties={"testblock": {"v": 1}}, depends_on={"document_id": D3})
    grandchild = Document.new("testblock", properties={"testblock": {"v": 2}}, depends_on={"parent_id": child.id})
    other = Document.new("testblock", properties={"testblock": {"v": 3}}, depends_on={"document_id": D4})
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        ds.add_documents([child, grandchild, other])
        assert ds.count() == 11
        removed = ds.remove_documents(D3)
        assert sorted(removed) == sorted([D3, child.id, grandchild.id])
        assert ds.count() == 8
        assert ds.store.exists(other.id)
        assert ds.remove_documents(other.id, with_dependents=False) == [other.id]
        assert ds.remove_documents(D4, with_dependents=True) == [D4]
        assert ds.count() == 6
