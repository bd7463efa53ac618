"""Bulk adds and the query fast paths: the optimised routes must give the plain routes' results."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from ndicloud.core import Dataset, DidSqliteStore, Document, DuplicateDocumentError, Query, new_id
from ndicloud.core import prepare as prepare_module
from ndicloud.core.sample import generate_documents

ROWS_SQL = (
    "SELECT d.doc_id, f.field_name, typeof(v.value), v.value FROM doc_data v "
    "JOIN docs d ON d.doc_idx = v.doc_idx JOIN fields f ON f.field_idx = v.field_idx"
)


def _documents(count: int, session_id: str) -> list[Document]:
    return list(generate_documents(count, session_id, seed=7))


def _snapshot(store: DidSqliteStore) -> tuple[dict[str, str], Counter, list[tuple]]:
    conn = store.connection
    texts = dict(conn.execute("SELECT doc_id, json_code FROM docs"))
    rows = Counter(conn.execute(ROWS_SQL).fetchall())
    fields = conn.execute("SELECT class, field_name, json_name, field_idx FROM fields ORDER BY field_idx").fetchall()
    return texts, rows, fields


def _index_names(store: DidSqliteStore) -> set[str]:
    return {r[0] for r in store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_helper_process_and_in_process_give_identical_databases(tmp_path: Path):
    session = new_id()
    docs = _documents(1_300, session)  # three chunks: the helper process is used
    parallel = DidSqliteStore.create(tmp_path / "p" / "did-sqlite.sqlite")
    serial = DidSqliteStore.create(tmp_path / "s" / "did-sqlite.sqlite")
    assert parallel.add([d.copy() for d in docs], parallel=True) == 1_300
    assert serial.add([d.copy() for d in docs], parallel=False) == 1_300
    assert _snapshot(parallel) == _snapshot(serial)
    assert parallel.live_ids() == [d.id for d in docs]  # insertion order is the input order
    assert _index_names(parallel) == _index_names(serial)


def test_helper_that_cannot_start_falls_back_to_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    session = new_id()
    docs = _documents(1_100, session)
    monkeypatch.setattr(prepare_module, "_BOOT", "import sys; sys.exit(3)  # {root}")
    store = DidSqliteStore.create(tmp_path / "a" / "did-sqlite.sqlite")
    assert store.add([d.copy() for d in docs]) == 1_100
    reference = DidSqliteStore.create(tmp_path / "b" / "did-sqlite.sqlite")
    reference.add([d.copy() for d in docs], parallel=False)
    assert _snapshot(store) == _snapshot(reference)


def test_small_adds_never_start_a_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def refuse() -> None:
        raise AssertionError("a helper process was started for a small add")

    monkeypatch.setattr(prepare_module, "_Helper", refuse)
    store = DidSqliteStore.create(tmp_path / "did-sqlite.sqlite")
    assert store.add(_documents(400, new_id())) == 400


def test_unencodable_value_fails_the_whole_bulk_add(tmp_path: Path):
    dataset = Dataset.create(tmp_path / "ds", "bulk")
    docs = _documents(1_200, dataset.id)
    docs[900].properties["subject"] = {"weights": {1, 2, 3}}  # a set is not JSON
    with pytest.raises(TypeError, match="set"):
        dataset.add_documents(docs)
    assert dataset.count() == 1
    assert dataset.store.connection.execute("SELECT count(*) FROM doc_data").fetchone()[0] == 11


def test_failed_bulk_load_restores_the_deferred_indexes(tmp_path: Path):
    dataset = Dataset.create(tmp_path / "ds", "bulk")
    before = _index_names(dataset.store)
    assert {"doc_data_value", "ndipy_doc_data_meta"} <= before
    docs = _documents(1_600, dataset.id)
    docs[1_400] = Document(docs[3].to_dict())  # the same id again, well after the indexes were dropped
    with pytest.raises(DuplicateDocumentError, match=docs[3].id):
        dataset.add_documents(docs)
    assert _index_names(dataset.store) == before
    assert dataset.count() == 1
    assert dataset.store.connection.execute("SELECT count(*) FROM docs").fetchone()[0] == 1


def test_successful_bulk_load_rebuilds_every_index(tmp_path: Path):
    dataset = Dataset.create(tmp_path / "ds", "bulk")
    before = _index_names(dataset.store)
    dataset.add_documents(_documents(1_600, dataset.id))
    assert _index_names(dataset.store) == before
    assert dataset.count() == 1_601
    plan = dataset.store.connection.execute(
        "EXPLAIN QUERY PLAN SELECT doc_idx FROM doc_data WHERE value = 'element'").fetchall()
    assert "doc_data_value" in str(plan)


QUERIES = [
    Query.isa("element"),
    Query.isa("epochid"),  # a superclass
    Query.isa("app"),
    Query.isa("base"),
    Query.isa("ele"),
    ~Query.isa("element_epoch"),
    Query.isa("element") | Query.isa("subject"),
    Query.isa("element_epoch") & Query("element_epoch.sample_rate", "exact_number", 20000),
    Query("element.type", "exact_string", "n-trode"),
    Query("tuningcurve_calc.fit.c50", "lessthan", 0.3),
    Query("stimulus_tuningcurve.response_units", "hasfield"),
    Query("subject.local_identifier", "contains_string", "mouse00*"),
]


def test_index_fast_paths_match_plain_sql(tmp_path: Path):
    """Queries over our ndipy_ indexes return what the same SQL returns without them."""
    dataset = Dataset.create(tmp_path / "ds", "q")
    docs = _documents(700, dataset.id)
    dataset.add_documents(docs)
    element = dataset.store.search_ids(Query.isa("element"))[3]
    queries = [*QUERIES, Query.depends_on("element_id", element), Query.depends_on("*", element),
               ~Query.depends_on("*", element)]
    dataset.close()
    plain = tmp_path / "plain.sqlite"
    shutil.copy(tmp_path / "ds" / ".ndi" / "did-sqlite.sqlite", plain)
    with sqlite3.connect(plain) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'ndipy_%'").fetchall():
            conn.execute(f'DROP INDEX "{name}"')
    fast = DidSqliteStore.open(tmp_path / "ds" / ".ndi" / "did-sqlite.sqlite")
    slow = DidSqliteStore.open(plain)
    assert fast._meta_ids and not slow._meta_ids
    for query in queries:
        expected = slow.search_ids(query)
        assert fast.search_ids(query) == expected, query.describe()
        assert [d.id for d in fast.search(query)] == expected, query.describe()
    assert len(fast.search_ids(Query.isa("epochid"))) == sum(d.class_name == "element_epoch" for d in docs)


def test_removal_builds_its_index_and_purges_rows(tmp_path: Path):
    dataset = Dataset.create(tmp_path / "ds", "rm")
    docs = _documents(50, dataset.id)
    dataset.add_documents(docs)
    assert "ndipy_doc_data_doc" not in _index_names(dataset.store)
    victim = next(d for d in docs if d.class_name == "subject")
    removed = dataset.remove_documents(victim.id)
    assert "ndipy_doc_data_doc" in _index_names(dataset.store)
    assert victim.id in removed and len(removed) > 1  # its elements (and theirs) went with it
    conn = dataset.store.connection
    assert conn.execute("SELECT count(*) FROM docs WHERE doc_id = ?", (victim.id,)).fetchone()[0] == 0
    orphans = conn.execute("SELECT count(*) FROM doc_data WHERE doc_idx NOT IN (SELECT doc_idx FROM docs)")
    assert orphans.fetchone()[0] == 0
    assert dataset.count() == 51 - len(removed)


def test_helper_transport_keeps_every_value_exact():
    tricky = [
        {"a": {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}},
        {"a": {"none": None, "text": "null", "big": 2**80, "float": 4.0}},
        {"a": {"plain": [1, 2.5, "x"], "nested": {"k": [[1, 2], [3, 4]]}}},
    ]
    decoded = prepare_module.decode_chunk(prepare_module.encode_chunk(tricky))
    assert decoded[0]["a"]["inf"] == float("inf") and decoded[0]["a"]["ninf"] == float("-inf")
    assert decoded[0]["a"]["nan"] != decoded[0]["a"]["nan"]  # still NaN, not None
    assert decoded[1] == tricky[1] and type(decoded[1]["a"]["float"]) is float
    assert decoded[2] == tricky[2]


def test_tuples_are_indexed_like_arrays(tmp_path: Path):
    as_tuple = Document.new("demo", properties={"demo": {"v": (1.0, 2.0, 3.0), "one": ("x",)}})
    as_list = Document.new("demo", properties={"demo": {"v": [1.0, 2.0, 3.0], "one": ["x"]}})
    store = DidSqliteStore.create(tmp_path / "did-sqlite.sqlite")
    store.add([as_tuple, as_list])
    rows = store.connection.execute(
        "SELECT d.doc_id, v.value FROM doc_data v JOIN docs d ON d.doc_idx = v.doc_idx "
        "JOIN fields f ON f.field_idx = v.field_idx WHERE f.field_name IN ('demo.v', 'demo.one') ORDER BY f.field_name"
    ).fetchall()
    values = {doc_id: [] for doc_id, _ in rows}
    for doc_id, value in rows:
        values[doc_id].append(value)
    assert values[as_tuple.id] == values[as_list.id] == ["x", "[3x1] double"]


def test_dataset_search_covers_linked_sessions(tmp_path: Path):
    session_folder = tmp_path / "linked-session"
    linked = Dataset.create(session_folder, "exp_linked")
    probe = Document.new("element", session_id=linked.id, properties={"element": {"name": "p1"}})
    linked.add_documents(probe)
    stray = Document.new("element", session_id=new_id(), properties={"element": {"name": "other"}})
    linked.store.add(stray)  # another session's document in the same file: not part of this session
    linked.close()

    dataset = Dataset.create(tmp_path / "ds", "with_link")
    member = Document.new("session_in_a_dataset", session_id=dataset.id, properties={"session_in_a_dataset": {
        "session_id": linked.id, "session_reference": "exp_linked", "is_linked": 1,
        "session_creator": "ndi.session.dir", "session_creator_input1": "exp_linked",
        "session_creator_input2": str(session_folder), "session_creator_input3": linked.id,
        "session_creator_input4": "", "session_creator_input5": "", "session_creator_input6": ""}})
    own = Document.new("element", properties={"element": {"name": "own"}})
    dataset.add_documents([member, own])
    names = sorted(d.properties["element"]["name"] for d in dataset.search(Query.isa("element")))
    assert names == ["own", "p1"]
    assert dataset.member_sessions()[0].is_linked
