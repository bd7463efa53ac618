"""Conformance checklist of the local-format specification (§8, items 1-24).

Every expected value here is taken from the specification text
(/work/shared/spec/local-format.md) or read from the MATLAB-written fixture files,
never from the output of the implementation under test.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import sqlite3
import struct
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ndicloud.core import ids
from ndicloud.core.canonical import canonical_bytes, canonical_hash
from ndicloud.core.dataset import Dataset
from ndicloud.core.document import Document
from ndicloud.core.errors import (
    DocumentNotFoundError,
    DuplicateFileUidError,
    MissingBinaryError,
    NdiError,
    QueryError,
    RemoteLinkError,
)
from ndicloud.core.query import Query
from ndicloud.core.store import DidSqliteStore
from ndicloud.core.syncindex import SyncIndex, read_sync_index, sync_index_path, write_sync_index

from conftest import CLOUD_ENTRY, MATLAB_DATASET, MATLAB_DOCUMENTS, same_values

# ---------------------------------------------------------------------------------------------
# Fixture facts (spec §8 items 1-4, §2.6, §3.3, §4.8)
# ---------------------------------------------------------------------------------------------

DATASET_ID = "412694f69ab1e1cf_c0db1c5ba8cf6bc8"
INGESTED_SESSION_ID = "412694f69aafaba3_40dbbdf6582271b2"
D1 = "412694f69ab1ee31_40dbbe31dde03ada"  # session (dataset's own), doc_idx 1
D2 = "412694f69ab01f2b_c0bb8d41c21210cf"  # session (ingested session), doc_idx 2
D3 = "412694f69ab19eb0_40dcc7544b5b9e1c"  # demoNDI doc_1
D4 = "412694f69ab1adc8_40cac452ba627cb4"  # demoNDI doc_2
D5 = "412694f69ab1ba5f_40b5cd572384dc0e"  # demoNDI doc_3
D6 = "412694f69ab1c608_c0d66ab720c6f1e8"  # demoNDI doc_4
D7 = "412694f69ab1d1f7_40bdac4047081e90"  # demoNDI doc_5
D8 = "412694f69ab2e765_c0ceb2ccd3ec124e"  # dataset_session_info, doc_idx 8
DOC_IDS = [D1, D2, D3, D4, D5, D6, D7, D8]
DOC_CLASSES = ["session", "session", "demoNDI", "demoNDI", "demoNDI", "demoNDI", "demoNDI",
               "dataset_session_info"]
DEMO_IDS = [D3, D4, D5, D6, D7]
UIDS = [
    "412694f69ab27668_c0ce4d32f2417873",
    "412694f69ab27c4f_40c830d3b8dd287a",
    "412694f69ab284c1_c0a94880f24640be",
    "412694f69ab28a24_c0d152faa2aba8b3",
    "412694f69ab28f2c_c0d638458be17389",
]
UID_OF_DOC = dict(zip(DEMO_IDS, UIDS, strict=True))
FILE_NAME = "filename1.ext"

CLOUD_DATASET = "682e7772cdf3f24938176fac"
CLOUD_ORG = "0123456789abcdef01234567"

META_FIELDS = ["meta.class", "meta.superclass", "meta.datestamp", "meta.creation", "meta.deletion",
               "meta.depends_on"]

ID_RE = re.compile(r"^[0-9a-f]{16}_[0-9a-f]{16}$")
DATESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ONE_MINUTE_DAYS = 1.0 / 1440.0


# ---------------------------------------------------------------------------------------------
# Helpers (independent of the implementation)
# ---------------------------------------------------------------------------------------------


def matlab_local_datenum_now() -> float:
    """MATLAB datenum of the current local wall-clock time (spec §2.1)."""
    now = time.time()
    return 719529 + (now + time.localtime(now).tm_gmtoff) / 86400


def db_path(dataset: Path) -> Path:
    return dataset / ".ndi" / "did-sqlite.sqlite"


def ro_connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def query_db(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    con = ro_connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def fixture_json_codes() -> dict[str, str]:
    """doc_id -> json_code of the fixture database, read without the implementation."""
    con = sqlite3.connect(f"file:{db_path(MATLAB_DATASET)}?mode=ro&immutable=1", uri=True)
    try:
        return dict(con.execute("SELECT doc_id, json_code FROM docs ORDER BY doc_idx"))
    finally:
        con.close()


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 for every file under root (directories listed with a marker)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def schema_snapshot(path: Path) -> dict[Any, Any]:
    """Tables, column declarations, constraints and indexes (ignoring ndipy_ indexes)."""
    con = ro_connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")]
        snap: dict[Any, Any] = {"tables": tables}
        for table in tables:
            snap[table, "table_info"] = con.execute(f'PRAGMA table_info("{table}")').fetchall()
            snap[table, "foreign_keys"] = sorted(
                r[2:] for r in con.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
            )
            indexes = []
            for _seq, name, unique, origin, partial in con.execute(f'PRAGMA index_list("{table}")'):
                if name.startswith("ndipy_"):
                    continue
                cols = tuple(r[2] for r in con.execute(f'PRAGMA index_info("{name}")'))
                # automatic indexes are compared by their columns, named ones by name
                key = name if origin == "c" else f"<auto {origin}>"
                indexes.append((key, unique, origin, partial, cols))
            snap[table, "indexes"] = sorted(indexes)
        return snap
    finally:
        con.close()


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


def ids_of(docs: list[Document]) -> list[str]:
    return [d.id for d in docs]


def search_both(dataset: Path, query: Query) -> list[str]:
    """Run a query through DidSqliteStore.search_ids and Dataset.search; they must agree."""
    with DidSqliteStore.open(db_path(dataset)) as store:
        via_store = store.search_ids(query)
    with Dataset.open(dataset) as ds:
        via_dataset = ids_of(ds.search(query))
    assert sorted(via_store) == sorted(via_dataset)
    return sorted(via_store)


def new_demo(value: float, **kwargs: Any) -> Document:
    return Document.new("demoNDI", properties={"demoNDI": {"value": value}}, file_list=[FILE_NAME], **kwargs)


def walk_values(value: Any, key: str | None = None):
    """Yield (key, value) for every dict entry, depth first."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from walk_values(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from walk_values(item, key)


_NUMBER_TOKEN = re.compile(
    r"(?m)(^ *|: )(-?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|NaN|-?Infinity)(,?)$"
)


def _reference_layout(value: Any, indent: str = "") -> str:
    """MATLAB's pretty layout (§1.7) with every number replaced by '#'."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_reference_layout(v, inner)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [inner + _reference_layout(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return "#"


def assert_matlab_layout(text: str) -> None:
    """§1.7 / item 24: 2-space indent, ': ', one element per line, LF, no trailing newline."""
    assert "\r" not in text and "\t" not in text
    assert not text.endswith("\n")
    assert text.startswith("{\n") and text.endswith("\n}")
    numbers = [m.group(2) for m in _NUMBER_TOKEN.finditer(text)]
    for token in numbers:
        number = float(token)
        if math.isfinite(number) and number.is_integer() and abs(number) < 2**53:
            assert re.fullmatch(r"-?\d+", token), f"integral number written as {token!r}"
    normalised = _NUMBER_TOKEN.sub(r"\1#\3", text)
    assert normalised == _reference_layout(json.loads(text))


# ---------------------------------------------------------------------------------------------
# 1-5: opening the fixture
# ---------------------------------------------------------------------------------------------


def test_item_01_open_fixture_id_reference_and_bytes_unchanged(matlab_dataset: Path) -> None:
    before = tree_hashes(matlab_dataset)
    assert before == tree_hashes(MATLAB_DATASET)  # the copy is faithful
    with Dataset.open(matlab_dataset, readonly=True) as ds:
        assert ds.id == DATASET_ID
        assert ds.reference == "ds_demo"
        assert ds.count() == 8
        assert len(ds.search(Query.isa("base"))) == 8
        assert len(ds.member_sessions()) == 1
        assert len(ds.binaries()) == 5
        with ds.open_binary(D3, FILE_NAME) as fh:
            assert fh.read() == b"doc_1"
    with DidSqliteStore.open(db_path(matlab_dataset), readonly=True) as store:
        assert store.count() == 8
        assert store.search_ids(Query("demoNDI.value", "greaterthan", 2)) == [D5, D6, D7]
    assert tree_hashes(matlab_dataset) == before


def test_item_02_live_documents(matlab_dataset: Path) -> None:
    with DidSqliteStore.open(db_path(matlab_dataset)) as store:
        assert store.count() == 8
        assert sorted(store.live_ids()) == sorted(DOC_IDS)
        docs = list(store.iter_documents())
        assert [d.id for d in docs] == DOC_IDS  # doc_idx order
        assert [d.class_name for d in docs] == DOC_CLASSES
        assert [d.name for d in docs[2:7]] == ["doc_1", "doc_2", "doc_3", "doc_4", "doc_5"]
        assert store.count_by_class() == {"session": 2, "demoNDI": 5, "dataset_session_info": 1}
    with Dataset.open(matlab_dataset) as ds:
        assert [d.id for d in ds.documents()] == DOC_IDS
        assert ds.count() == 8


def test_item_03_binaries(matlab_dataset: Path) -> None:
    with Dataset.open(matlab_dataset) as ds:
        binaries = sorted(ds.binaries(), key=lambda b: b.uid)
        assert [b.uid for b in binaries] == UIDS
        assert [b.doc_id for b in binaries] == DEMO_IDS
        assert {b.name for b in binaries} == {FILE_NAME}
        assert all(b.present for b in binaries)
        assert {b.location_type for b in binaries} == {"file"}
        assert ds.missing_binaries() == []
        for k, doc_id in enumerate(DEMO_IDS, start=1):
            path = ds.binary_path(doc_id, FILE_NAME)
            assert path.resolve() == (matlab_dataset / ".ndi" / "files" / UID_OF_DOC[doc_id]).resolve()
            with ds.open_binary(doc_id, FILE_NAME) as fh:
                data = fh.read()
            assert data == f"doc_{k}".encode()
            assert len(data) == 5
    with DidSqliteStore.open(db_path(matlab_dataset)) as store:
        rows = store.file_rows()
        assert sorted(r.uid for r in rows) == UIDS
        assert {r.filename for r in rows} == {FILE_NAME}
        assert {r.type for r in rows} == {"file"}


def _check_member_session(ds: Dataset) -> None:
    sessions = ds.member_sessions()
    assert len(sessions) == 1
    info = sessions[0]
    assert info.session_id == INGESTED_SESSION_ID
    assert info.reference == "exp_demo"
    assert not info.is_linked
    assert info.creator == "ndi.session.dir"
    inputs = list(info.creator_inputs)
    assert inputs[:3] == ["exp_demo", "", INGESTED_SESSION_ID]


def test_item_04_member_session_from_legacy_document(matlab_dataset: Path) -> None:
    before = tree_hashes(matlab_dataset)
    with Dataset.open(matlab_dataset, readonly=True) as ds:
        _check_member_session(ds)
    assert tree_hashes(matlab_dataset) == before
    # Opening for write must not convert the legacy document either (§3.4: explicit operation only).
    json_before = dict(query_db(db_path(matlab_dataset), "SELECT doc_id, json_code FROM docs"))
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        _check_member_session(ds)
        assert ds.count() == 8
        assert ids_of(ds.search(Query.isa("dataset_session_info"))) == [D8]
        assert ds.search(Query.isa("session_in_a_dataset")) == []
    live = query_db(db_path(matlab_dataset),
                    "SELECT d.doc_id, d.json_code FROM docs d JOIN branch_docs b ON b.doc_idx = d.doc_idx "
                    "WHERE b.branch_id = 'a'")
    assert dict(live) == json_before


def _fixture_documents_all(mock_document_paths: list[Path]) -> dict[str, Document]:
    docs = {doc_id: Document.from_json(text) for doc_id, text in fixture_json_codes().items()}
    for path in mock_document_paths:
        docs[path.name] = Document.from_file(path)
    docs["cloud"] = Document(json.loads(CLOUD_ENTRY.read_text(encoding="utf-8"))["data"])
    return docs


def test_item_05_struct_array_paths_exposed_as_lists(mock_document_paths: list[Path]) -> None:
    docs = _fixture_documents_all(mock_document_paths)
    assert len(docs) == 15
    for key, doc in docs.items():
        assert isinstance(doc.superclass_definitions, list), key
        assert isinstance(doc.dependencies, list), key
        assert isinstance(doc.file_info, list), key
        for info in doc.file_info:
            assert isinstance(info["locations"], list), key
    # database documents: bare-object superclasses, [] or absent depends_on, bare file_info/locations
    for doc_id in DOC_IDS:
        assert docs[doc_id].superclass_definitions == ["$NDIDOCUMENTPATH/base.json"]
        assert docs[doc_id].superclass_names == ["base"]
        assert docs[doc_id].dependencies == []
    for doc_id in DEMO_IDS:
        info = docs[doc_id].file_info
        assert len(info) == 1 and info[0]["name"] == FILE_NAME
        assert len(info[0]["locations"]) == 1
        assert info[0]["locations"][0]["uid"] == UID_OF_DOC[doc_id]
        assert docs[doc_id].file_uids == [UID_OF_DOC[doc_id]]
        assert docs[doc_id].file_list == [FILE_NAME]
    for doc_id in (D1, D2, D8):
        assert docs[doc_id].file_info == []
    simple = docs["example_simple_mock.1.json"]
    assert simple.dependencies == [{"name": "document_id", "value": "412694ff44b7e58c_c0c3bf143b542c1c"}]
    assert simple.dependency_value("document_id") == "412694ff44b7e58c_c0c3bf143b542c1c"
    assert simple.superclass_names == ["app", "base"]
    tuning = docs["stimulus_tuningcurve_mock.1.json"]
    assert tuning.superclass_names == ["base", "stimulus_tuningcurve", "base"]  # duplicates kept
    assert [d["name"] for d in tuning.dependencies] == ["element_id", "stimulus_response_scalar_id"]
    cloud = docs["cloud"]
    assert cloud.dependencies == [
        {"name": "subject_id", "value": "41269430c7aec337_c0ca12e25b36c956"},
        {"name": "openminds", "value": ""},
    ]
    assert cloud.superclass_names == ["base", "openminds"]


# ---------------------------------------------------------------------------------------------
# 6-7: round trip and canonical form
# ---------------------------------------------------------------------------------------------


def test_item_06_roundtrip_every_fixture_document(mock_document_paths: list[Path]) -> None:
    originals: dict[str, str] = dict(fixture_json_codes())
    for path in mock_document_paths:
        originals[path.name] = path.read_text(encoding="utf-8")
    originals["cloud"] = json.dumps(json.loads(CLOUD_ENTRY.read_text(encoding="utf-8"))["data"])
    assert len(originals) == 15
    nan_seen = 0
    for key, text in originals.items():
        first = Document.from_json(text)
        written = first.to_json()
        second = Document.from_json(written)
        assert first.canonical() == second.canonical(), key
        assert first.hash() == second.hash(), key
        decoded = json.loads(written)
        assert same_values(decoded, json.loads(text)), key
        nan_seen += written.count("NaN")
    assert nan_seen == 48 + 40 + 72 + 96  # every NaN of the tuningcurve mocks survives as a literal


def _reorder(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


def test_item_07_canonical_form_invariants(mock_document_paths: list[Path]) -> None:
    for doc_id, text in fixture_json_codes().items():
        reference = canonical_bytes(json.loads(text))
        assert Document.from_json(text).canonical() == reference
        tabbed = re.sub(r"(?m)^((?:  )+)", lambda m: "\t" * (len(m.group(1)) // 2), text)
        compact = re.sub(r"\n\s*", "", text)
        assert tabbed != text and compact != text
        for variant in (tabbed, compact, json.dumps(_reorder(json.loads(text)), indent=7)):
            assert Document.from_json(variant).canonical() == reference, doc_id
    for path in mock_document_paths:
        text = path.read_text(encoding="utf-8")
        reordered = json.dumps(_reorder(json.loads(text)))
        assert Document.from_json(reordered).hash() == Document.from_json(text).hash(), path.name
    assert canonical_bytes({"x": [5]}) == canonical_bytes({"x": 5})
    assert canonical_hash({"x": [5]}) == canonical_hash({"x": 5})
    assert canonical_bytes({"x": ["a"]}) != canonical_bytes({"x": "a"})
    assert canonical_hash({"x": ["a"]}) != canonical_hash({"x": "a"})


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


def test_item_12_minted_ids_and_datestamps() -> None:
    minted = [ids.new_id() for _ in range(300)]
    now = matlab_local_datenum_now()
    assert len(set(minted)) == len(minted)
    randoms = []
    for value in minted:
        assert ID_RE.match(value), value
        first = struct.unpack(">d", bytes.fromhex(value[:16]))[0]
        second = struct.unpack(">d", bytes.fromhex(value[17:]))[0]
        assert abs(first - now) < ONE_MINUTE_DAYS, (value, first, now)
        assert -32727 <= second < 32728, (value, second)
        randoms.append(second)
    assert any(r < -1 for r in randoms) and any(r > 1 for r in randoms)  # k is really random
    assert len({math.floor(r) for r in randoms}) > 250
    stamps = [ids.datestamp_now(), Document.new("base").datestamp]
    for stamp in stamps:
        assert DATESTAMP_RE.match(stamp), stamp
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        assert abs(moment.timestamp() - time.time()) < 60
    assert ID_RE.match(Document.new("base").id)


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
# 21: sync index
# ---------------------------------------------------------------------------------------------


def _write_index(dataset: Path, content: Any) -> None:
    path = dataset / ".ndi" / "sync" / "index.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding="utf-8")


def test_item_21_sync_index_reader_and_writer(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    (ds / ".ndi").mkdir(parents=True)
    assert sync_index_path(ds) == ds / ".ndi" / "sync" / "index.json"

    missing = read_sync_index(ds)
    assert list(missing.local_ids) == [] and list(missing.remote_ids) == []

    stamp = "2026-01-02T10:15:30GMT-05:00"
    cases = [
        ({"localDocumentIdsLastSync": [D1, D2], "remoteDocumentIdsLastSync": [D1, D1, D3],
          "lastSyncTimestamp": stamp}, [D1, D2], [D1, D1, D3]),
        ({"localDocumentIdsLastSync": D1, "remoteDocumentIdsLastSync": D2, "lastSyncTimestamp": stamp},
         [D1], [D2]),
        ({"localDocumentIdsLastSync": [], "remoteDocumentIdsLastSync": [], "lastSyncTimestamp": stamp}, [], []),
        ({"localDocumentIdsLastSync": None, "remoteDocumentIdsLastSync": None, "lastSyncTimestamp": stamp},
         [], []),
        ({"local_doc_ids_last_sync": [D4], "remote_doc_ids_last_sync": [D5, D6],
          "last_sync_timestamp": "2026-01-02T15:15:30Z"}, [D4], [D5, D6]),
        ({"localDocumentIdsLastSync": [D1], "remoteDocumentIdsLastSync": [D2],
          "local_doc_ids_last_sync": [D7], "remote_doc_ids_last_sync": [D8],
          "lastSyncTimestamp": stamp}, [D1], [D2]),
        ({"localDocumentIdsLastSync": [D3], "remoteDocumentIdsLastSync": [D4], "lastSyncTimestamp": stamp,
          "someFutureKey": {"nested": [1, 2]}, "another": 5}, [D3], [D4]),
    ]
    for content, local, remote in cases:
        _write_index(ds, content)
        index = read_sync_index(ds)
        assert list(index.local_ids) == local, content
        assert list(index.remote_ids) == remote, content
    _write_index(ds, cases[0][0])
    assert read_sync_index(ds).timestamp == stamp  # opaque

    for local, remote in (([D1], [D2, D2]), ([], []), ([D1, D2, D3], [D4])):
        written = write_sync_index(ds, SyncIndex(local_ids=local, remote_ids=remote, timestamp=None, extra={}))
        assert Path(written) == sync_index_path(ds)
        raw = json.loads(sync_index_path(ds).read_text(encoding="utf-8"))
        assert raw["localDocumentIdsLastSync"] == local  # always an array
        assert raw["remoteDocumentIdsLastSync"] == remote
        assert isinstance(raw["lastSyncTimestamp"], str)
        assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key) for key in raw)
        back = read_sync_index(ds)
        assert list(back.local_ids) == local and list(back.remote_ids) == remote
    assert sorted(p.name for p in sync_index_path(ds).parent.iterdir()) == ["index.json"]


# ---------------------------------------------------------------------------------------------
# 22-24: creating datasets and documents
# ---------------------------------------------------------------------------------------------


def test_item_22_created_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "new-dataset"
    folder.mkdir()
    with Dataset.create(folder, "my_dataset") as ds:
        dataset_id = ds.id
        assert ds.reference == "my_dataset"
        assert ds.object_type == "dataset"
        docs = list(ds.documents())
    ndi = folder / ".ndi"
    assert (ndi / "did-sqlite.sqlite").is_file()
    assert (ndi / "files").is_dir()
    assert (ndi / "reference.txt").read_bytes() == b"my_dataset"
    unique = (ndi / "unique_reference.txt").read_bytes()
    assert len(unique) == 33 and ID_RE.match(unique.decode())
    assert unique.decode() == dataset_id
    assert (ndi / "ndi_object_type.txt").read_bytes() == b"dataset"
    assert len(docs) == 1
    session = docs[0]
    assert session.class_name == "session"
    assert session.session_id == dataset_id
    assert session.properties["session"]["reference"] == "my_dataset"
    assert schema_snapshot(ndi / "did-sqlite.sqlite") == schema_snapshot(db_path(MATLAB_DATASET))
    with Dataset.open(folder) as again:
        assert again.id == dataset_id and again.reference == "my_dataset"
        assert again.session_document is not None and again.session_document.id == session.id
        assert ids_of(again.search(Query.isa("session"))) == [session.id]

    chosen = "412694f69ab1e1cf_c0db1c5ba8cf6bc9"
    other = tmp_path / "with-id"
    other.mkdir()
    with Dataset.create(other, "chosen", dataset_id=chosen) as ds:
        assert ds.id == chosen
        assert ds.session_document.session_id == chosen
    assert (other / ".ndi" / "unique_reference.txt").read_text(encoding="utf-8") == chosen


def test_item_23_dataset_remote(tmp_path: Path) -> None:
    folder = tmp_path / "linked"
    folder.mkdir()
    with Dataset.create(folder, "linked_ds") as ds:
        assert ds.remote_link() is None
        doc = ds.create_remote_link(CLOUD_DATASET, CLOUD_ORG)
        assert doc.class_name == "dataset_remote"
        props = doc.properties
        assert props["dataset_remote"]["dataset_id"] == CLOUD_DATASET
        assert props["dataset_remote"]["organization_id"] == CLOUD_ORG
        assert re.fullmatch(r"[0-9a-f]{24}", props["dataset_remote"]["organization_id"])
        assert "depends_on" not in props
        assert isinstance(props["document_class"]["superclasses"], dict)
        assert doc.session_id == ds.id
        link = ds.remote_link()
        assert link is not None
        assert (link.dataset_id, link.organization_id) == (CLOUD_DATASET, CLOUD_ORG)
        with pytest.raises(RemoteLinkError):
            ds.create_remote_link("aaaaaaaaaaaaaaaaaaaaaaaa", CLOUD_ORG)
        assert len(ds.search(Query.isa("dataset_remote"))) == 1
        replaced = ds.replace_remote_link("bbbbbbbbbbbbbbbbbbbbbbbb", CLOUD_ORG)
        remotes = ds.search(Query.isa("dataset_remote"))
        assert ids_of(remotes) == [replaced.id]
        assert ds.remote_link().dataset_id == "bbbbbbbbbbbbbbbbbbbbbbbb"
        stored_id = replaced.id
        dataset_id = ds.id
    stored = json.loads(query_db(db_path(folder), "SELECT json_code FROM docs WHERE doc_id = ?", (stored_id,))[0][0])
    assert "depends_on" not in stored
    assert isinstance(stored["document_class"]["superclasses"], dict)
    assert stored["base"]["session_id"] == dataset_id
    assert stored["dataset_remote"] == {"dataset_id": "bbbbbbbbbbbbbbbbbbbbbbbb", "organization_id": CLOUD_ORG}


def test_item_24_written_json_code_layout(matlab_dataset: Path, tmp_path: Path) -> None:
    folder = tmp_path / "written"
    folder.mkdir()
    with Dataset.create(folder, "layout_ds") as ds:
        ds.create_remote_link(CLOUD_DATASET, CLOUD_ORG)
        nonfinite = Document.new("testblock", properties={"testblock": {
            "nan": math.nan, "inf": math.inf, "ninf": -math.inf, "whole": 3.0, "half": 0.5,
            "text": "naïve/ünïcode", "list": ["one"], "nums": [1.0, 2.0], "empty": "", "none": [], "obj": {}}})
        source = tmp_path / "payload.bin"
        source.write_bytes(b"x")
        with_file = new_demo(15.0)
        with_file.add_file(FILE_NAME, str(source), ingest=True, delete_original=False)
        url_file = new_demo(16.0)
        url_file.add_file(FILE_NAME, "https://example.org/data.bin")
        ds.add_documents([nonfinite, with_file, url_file])
        with DidSqliteStore.open(db_path(matlab_dataset)) as src:
            fixture_docs = [src.get(D3), src.get(D8)]
        ds.store.add(fixture_docs, file_sources={UIDS[0]: matlab_dataset / ".ndi" / "files" / UIDS[0]})
        nonfinite_id = nonfinite.id
    codes = dict(query_db(db_path(folder), "SELECT doc_id, json_code FROM docs"))
    assert len(codes) == 1 + 1 + 3 + 2  # session, dataset_remote, 3 added, 2 fixture
    checked_flags = 0
    for doc_id, text in codes.items():
        assert_matlab_layout(text)
        for key, value in walk_values(json.loads(text)):
            if key in ("ingest", "delete_original", "is_linked"):
                assert not isinstance(value, bool) and isinstance(value, (int, float)), (doc_id, key, value)
                checked_flags += 1
    assert checked_flags >= 2 * 3 + 1  # three locations, one is_linked
    text = codes[nonfinite_id]
    assert '"nan": NaN' in text and '"inf": Infinity' in text and '"ninf": -Infinity' in text
    assert '"whole": 3' in text and '"whole": 3.0' not in text
    assert "naïve/ünïcode" in text and "\\u" not in text and "\\/" not in text
    decoded = json.loads(text)["testblock"]
    assert math.isnan(decoded["nan"]) and decoded["inf"] == math.inf and decoded["ninf"] == -math.inf
    assert decoded["list"] == ["one"] and decoded["empty"] == "" and decoded["none"] == [] and decoded["obj"] == {}


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


def test_section_3_4_open_for_write_creates_branch_and_files(matlab_dataset: Path) -> None:
    path = db_path(matlab_dataset)
    files_dir = matlab_dataset / ".ndi" / "files"
    shutil.rmtree(files_dir)
    con = sqlite3.connect(path)
    with con:
        con.execute("DELETE FROM branches")
    con.close()
    with Dataset.open(matlab_dataset, readonly=True) as ds:
        assert ds.count() == 8  # liveness is the branch_docs row
    assert not files_dir.exists()
    assert query_db(path, "SELECT COUNT(*) FROM branches") == [(0,)]
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        assert ds.count() == 8
    assert files_dir.is_dir()
    rows = query_db(path, "SELECT branch_id, parent_id, typeof(timestamp), timestamp FROM branches")
    assert len(rows) == 1 and rows[0][:3] == ("a", None, "real")
    assert abs(rows[0][3] - matlab_local_datenum_now()) < ONE_MINUTE_DAYS


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


def test_section_2_2_dataset_add_claims_empty_session_id(matlab_dataset: Path) -> None:
    unclaimed = new_demo(31.0)
    assert unclaimed.session_id == ids.EMPTY_SESSION_ID
    member = Document.new("testblock", properties={"testblock": {"v": 1}}, session_id=INGESTED_SESSION_ID)
    foreign = Document.new("testblock", properties={"testblock": {"v": 2}},
                           session_id="412694f69aaaaaaa_40aaaaaaaaaaaaaa")
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        ds.add_documents([unclaimed, member])
        assert ds.get(unclaimed.id).session_id == DATASET_ID
        assert ds.get(member.id).session_id == INGESTED_SESSION_ID
        with pytest.raises(NdiError) as info:  # §2.2 "rejects"; every core error is an NdiError
            ds.add_documents(foreign)
        assert "412694f69aaaaaaa_40aaaaaaaaaaaaaa" in str(info.value)
        assert not ds.store.exists(foreign.id)
    stored = query_db(db_path(matlab_dataset), "SELECT json_code FROM docs WHERE doc_id = ?", (unclaimed.id,))
    assert json.loads(stored[0][0])["base"]["session_id"] == DATASET_ID


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


def test_section_1_3_new_document_from_definitions_the_matlab_way() -> None:
    from conftest import DEFINITIONS

    simple = Document.from_definition("simple_calc", DEFINITIONS)
    mock = json.loads((MATLAB_DOCUMENTS / "example_simple_mock.1.json").read_text(encoding="utf-8"))
    assert set(simple.properties) == set(mock)  # app, base, depends_on, document_class, simple_calc
    assert simple.superclass_definitions == ["$NDIDOCUMENTPATH/app.json", "$NDIDOCUMENTPATH/base.json"]
    assert simple.dependencies == [{"name": "document_id", "value": ""}]  # number 0 written as a string
    assert simple.properties["simple_calc"] == {"input_parameters": {"answer": 5}, "answer": 0}
    assert simple.class_name == "simple_calc"
    assert simple.properties["document_class"]["class_version"] == 1
    assert simple.session_id == ids.EMPTY_SESSION_ID
    assert ID_RE.match(simple.id) and DATESTAMP_RE.match(simple.datestamp)
    assert set(simple.properties["app"]) == set(mock["app"])
    demo = Document.from_definition("demoNDI", DEFINITIONS, session_id=DATASET_ID)
    assert demo.file_list == [FILE_NAME]
    assert demo.superclass_names == ["base"]
    assert demo.session_id == DATASET_ID
    assert demo.properties["demoNDI"] == {"value": ""}


def test_section_1_1_from_definition_without_dependencies_has_no_depends_on_key() -> None:
    """§1.1/§1.3: neither demoNDI.json nor base.json has depends_on, and the MATLAB-built demoNDI
    documents of the fixture (doc_idx 3-7) have no depends_on key; session.json has `[]` and the
    MATLAB-built session documents carry `[]`. Built the MATLAB way, the key's presence follows."""
    from conftest import DEFINITIONS

    fixture = {doc_id: json.loads(text) for doc_id, text in fixture_json_codes().items()}
    assert all("depends_on" not in fixture[d] for d in DEMO_IDS)
    assert all(fixture[d]["depends_on"] == [] for d in (D1, D2))
    session = Document.from_definition("session", DEFINITIONS)
    assert session.properties["depends_on"] == []
    demo = Document.from_definition("demoNDI", DEFINITIONS)
    assert "depends_on" not in demo.properties
