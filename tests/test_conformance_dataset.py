"""Conformance checklist of the local-format specification (§8), part 3 of 3: dataset folders and sessions.

Items 1-4 (opening the fixture: id, live documents, binaries, member sessions), 21 (the sync index) and 22-23
(created datasets, dataset_remote), with the §2.2 and §3.4 rules the checklist implies. The document JSON items are in
test_conformance_documents.py, the database items in test_conformance_database.py.

Every expected value here is taken from the specification text (shared/spec/local-format.md) or read from the
MATLAB-written fixture files, never from the output of the implementation under test.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ndicloud.core import ids
from ndicloud.core.dataset import Dataset
from ndicloud.core.document import Document
from ndicloud.core.errors import NdiError, RemoteLinkError
from ndicloud.core.query import Query
from ndicloud.core.store import DidSqliteStore
from ndicloud.core.syncindex import SyncIndex, read_sync_index, sync_index_path, write_sync_index

from conformance_helpers import (
    CLOUD_ORG,
    ID_RE,
    ONE_MINUTE_DAYS,
    db_path,
    ids_of,
    matlab_local_datenum_now,
    new_demo,
    query_db,
    schema_snapshot,
)
from conftest import MATLAB_DATASET
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
    DOC_CLASSES,
    DOC_IDS,
    FILE_NAME,
    INGESTED_SESSION_ID,
    UID_OF_DOC,
    UIDS,
)

# ---------------------------------------------------------------------------------------------
# Helpers (independent of the implementation)
# ---------------------------------------------------------------------------------------------


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 for every file under root (directories listed with a marker)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# ---------------------------------------------------------------------------------------------
# 1-4: opening the fixture
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
# 22-23: creating datasets
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


# ---------------------------------------------------------------------------------------------
# Further MUST/SHOULD rules of the spec that the checklist implies
# ---------------------------------------------------------------------------------------------


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
