"""Bad input is refused with an error that names the offending thing, and leaves no trace."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ndicloud.core import ids, jsonio
from ndicloud.core.dataset import Dataset
from ndicloud.core.document import Document
from ndicloud.core.errors import (
    DatabaseFormatError,
    DocumentJsonError,
    DocumentNotFoundError,
    DuplicateDocumentError,
    DuplicateFileUidError,
    InvalidDocumentError,
    InvalidFileNameError,
    InvalidIdError,
    MissingBinaryError,
    NdiError,
    NotAnNdiFolderError,
    QueryError,
)
from ndicloud.core.query import Query
from ndicloud.core.store import DidSqliteStore

from conftest import MATLAB_DATASET
from fixture_facts import D3, FILE_NAME, INGESTED_SESSION_ID, UIDS

GOOD_CLASS = {
    "definition": "$NDIDOCUMENTPATH/x.json", "validation": "$NDISCHEMAPATH/x.json", "class_name": "x",
    "property_list_name": "x", "class_version": 1, "superclasses": {"definition": "$NDIDOCUMENTPATH/base.json"},
}


def db(dataset: Path) -> Path:
    return dataset / ".ndi" / "did-sqlite.sqlite"


def dump(path: Path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("docs", "branch_docs", "doc_data", "fields", "files")}
    finally:
        con.close()


def raw_doc(**base: Any) -> dict[str, Any]:
    values = {"session_id": INGESTED_SESSION_ID, "id": ids.new_id(), "name": "",
              "datestamp": "2025-12-12T12:15:04.583Z"}
    values.update(base)
    return {"base": values, "document_class": dict(GOOD_CLASS), "x": {"v": 1}}


def demo(value: float) -> Document:
    return Document.new("demoNDI", properties={"demoNDI": {"value": value}}, file_list=[FILE_NAME])


# ---------------------------------------------------------------------------------------------
# Malformed documents
# ---------------------------------------------------------------------------------------------


def test_malformed_json_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "base": {\n    "id": "x",\n  }\n}', encoding="utf-8")
    with pytest.raises(DocumentJsonError) as info:
        Document.from_file(path)
    message = str(info.value)
    assert str(path) in message
    assert re.search(r"line\D{0,3}4\b", message), message
    assert isinstance(info.value, InvalidDocumentError) and isinstance(info.value, ValueError)


def test_malformed_json_text_names_source() -> None:
    with pytest.raises(DocumentJsonError) as info:
        Document.from_json('{"base": {"id": }}', source="upload/doc-17.json")
    assert "upload/doc-17.json" in str(info.value)
    assert re.search(r"line\D{0,3}1\b", str(info.value))
    with pytest.raises(DocumentJsonError) as info2:
        jsonio.loads("\n\n[1, 2", source="payload.json")
    assert "payload.json" in str(info2.value)
    assert re.search(r"line\D{0,3}3\b", str(info2.value))


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2, 3]", encoding="utf-8")
    with pytest.raises(DocumentJsonError) as info:
        Document.from_file(path)
    assert str(path) in str(info.value)


def test_document_without_base_id() -> None:
    values = raw_doc()
    del values["base"]["id"]
    with pytest.raises(InvalidDocumentError) as info:
        Document(values)
    assert "base.id" in str(info.value)
    with pytest.raises(InvalidDocumentError) as info2:
        Document({"document_class": dict(GOOD_CLASS), "x": {}})
    assert "base" in str(info2.value)


def test_document_file_without_base_id_names_file(tmp_path: Path) -> None:
    values = raw_doc()
    del values["base"]["id"]
    path = tmp_path / "no-id.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    with pytest.raises(InvalidDocumentError) as info:
        Document.from_file(path)
    assert str(path) in str(info.value) and "base.id" in str(info.value)


@pytest.mark.parametrize("bad", [
    "not-an-id",
    "",
    "412694f69ab19eb0-40dcc7544b5b9e1c",  # wrong separator
    "412694f69ab19eb0_40dcc7544b5b9e1",  # 32 characters
    "412694f69ab19eb0_40dcc7544b5b9e1cc",  # 34 characters
    "412694f69ab19eg0_40dcc7544b5b9e1c",  # not hex
    "412694f69ab19eb040dcc7544b5b9e1c_",
])
def test_invalid_base_id(bad: str) -> None:
    with pytest.raises(InvalidIdError) as info:
        Document(raw_doc(id=bad))
    message = str(info.value)
    assert "base.id" in message
    if bad:
        assert bad in message
    assert not ids.is_valid_id(bad)


def test_validate_id_names_what_and_value() -> None:
    with pytest.raises(InvalidIdError) as info:
        ids.validate_id("abc_def", what="depends_on subject_id")
    assert "abc_def" in str(info.value) and "depends_on subject_id" in str(info.value)
    assert ids.validate_id(D3) == D3
    assert ids.is_valid_id(D3.upper())


def test_invalid_dependency_value_is_named() -> None:
    with pytest.raises(InvalidIdError) as info:
        Document.new("x", depends_on={"subject_id": "garbage-value"})
    assert "garbage-value" in str(info.value) and "subject_id" in str(info.value)


# ---------------------------------------------------------------------------------------------
# Folders and databases
# ---------------------------------------------------------------------------------------------


def test_folder_without_ndi(tmp_path: Path) -> None:
    folder = tmp_path / "plain-folder"
    folder.mkdir()
    (folder / "data.bin").write_bytes(b"123")
    with pytest.raises(NotAnNdiFolderError) as info:
        Dataset.open(folder)
    assert str(folder) in str(info.value)
    assert sorted(p.name for p in folder.iterdir()) == ["data.bin"]  # nothing created


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(NotAnNdiFolderError) as info:
        Dataset.open(tmp_path / "does-not-exist")
    assert "does-not-exist" in str(info.value)
    assert not (tmp_path / "does-not-exist").exists()


def test_ndi_folder_without_reference_files(tmp_path: Path) -> None:
    """§3.1: an NDI folder is one whose .ndi holds a file whose name contains reference.txt."""
    folder = tmp_path / "half"
    (folder / ".ndi").mkdir(parents=True)
    shutil.copyfile(db(MATLAB_DATASET), db(folder))
    with pytest.raises(NotAnNdiFolderError) as info:
        Dataset.open(folder)
    assert str(folder) in str(info.value)


@pytest.mark.parametrize("table", ["branches", "docs", "branch_docs", "fields", "doc_data"])
def test_database_missing_required_table(matlab_dataset: Path, table: str) -> None:
    path = db(matlab_dataset)
    con = sqlite3.connect(path)
    with con:
        con.execute(f"DROP TABLE {table}")
    con.close()
    for opener in (lambda: DidSqliteStore.open(path), lambda: DidSqliteStore.open(path, readonly=False),
                   lambda: Dataset.open(matlab_dataset)):
        with pytest.raises(DatabaseFormatError) as info:
            opener()
        message = str(info.value)
        assert table in message or str(path) in message, message


def test_not_a_database(matlab_dataset: Path) -> None:
    path = db(matlab_dataset)
    path.write_bytes(b"this is not an SQLite database" * 100)
    before = path.read_bytes()
    with pytest.raises(DatabaseFormatError) as info:
        DidSqliteStore.open(path)
    assert str(path) in str(info.value) or path.name in str(info.value)
    with pytest.raises(DatabaseFormatError):
        Dataset.open(matlab_dataset)
    assert path.read_bytes() == before


def test_missing_database_file(tmp_path: Path) -> None:
    path = tmp_path / ".ndi" / "did-sqlite.sqlite"
    path.parent.mkdir()
    with pytest.raises(DatabaseFormatError) as info:
        DidSqliteStore.open(path)
    assert str(path) in str(info.value) or path.name in str(info.value)
    assert not path.exists()  # a read-only open never creates the file


def test_empty_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    with pytest.raises(DatabaseFormatError):
        DidSqliteStore.open(path)


def test_readonly_store_refuses_writes(matlab_dataset: Path) -> None:
    before = dump(db(matlab_dataset))
    with DidSqliteStore.open(db(matlab_dataset)) as store:
        with pytest.raises(NdiError):
            store.add(demo(1.0))
        with pytest.raises(NdiError):
            store.remove(D3)
    assert dump(db(matlab_dataset)) == before


# ---------------------------------------------------------------------------------------------
# File names and uids
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil.ext", "a/b.ext", "a\\b.ext", "c:d.ext", "/abs.ext"])
def test_add_file_name_with_path_characters(tmp_path: Path, name: str) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"x")
    doc = demo(1.0)
    with pytest.raises(InvalidFileNameError) as info:
        doc.add_file(name, str(source))
    assert name in str(info.value) or repr(name) in str(info.value)
    assert doc.file_info == []


def test_add_file_name_not_in_file_list(tmp_path: Path) -> None:
    doc = demo(1.0)
    with pytest.raises(InvalidDocumentError) as info:
        doc.add_file("other.ext", str(tmp_path / "src.bin"))
    assert "other.ext" in str(info.value)
    numbered = Document.new("y", file_list=["chan.nbf_#"])
    numbered.add_file("chan.nbf_1", "https://example.org/1")
    numbered.add_file("chan.nbf_12", "https://example.org/12")
    assert numbered.file_names == ["chan.nbf_1", "chan.nbf_12"]
    with pytest.raises(InvalidDocumentError):
        numbered.add_file("chan.nbf_x", "https://example.org/x")


def _with_location(name: str, uid: str, location: str, ingest: int = 1) -> Document:
    values = json.loads(demo(1.0).to_json())
    values["files"]["file_list"] = [name]
    values["files"]["file_info"] = {"name": name, "locations": {
        "delete_original": 0, "uid": uid, "location": location, "parameters": "", "location_type": "file",
        "ingest": ingest}}
    return Document(values)


@pytest.mark.parametrize("uid", ["../../escape", "a/b", "a\\b", "c:d", ".."])
def test_store_refuses_uid_with_path_characters(matlab_dataset: Path, tmp_path: Path, uid: str) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"payload")
    files_before = sorted(p.name for p in (matlab_dataset / ".ndi" / "files").iterdir())
    doc = _with_location(FILE_NAME, uid, str(source))
    with DidSqliteStore.open(db(matlab_dataset), readonly=False) as store:
        before = dump(db(matlab_dataset))  # after the write-open, which MAY add ndipy_ indexes
        with pytest.raises(InvalidFileNameError) as info:
            store.add(doc)
        assert uid in str(info.value) or repr(uid) in str(info.value)
    assert dump(db(matlab_dataset)) == before
    assert sorted(p.name for p in (matlab_dataset / ".ndi" / "files").iterdir()) == files_before
    assert not (matlab_dataset / "escape").exists() and not (matlab_dataset / ".ndi" / "escape").exists()
    assert source.read_bytes() == b"payload"


def test_store_refuses_file_name_with_path_characters(matlab_dataset: Path, tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"payload")
    doc = _with_location("sub/dir.ext", ids.new_id(), str(source))
    with DidSqliteStore.open(db(matlab_dataset), readonly=False) as store:
        before = dump(db(matlab_dataset))
        with pytest.raises(InvalidFileNameError) as info:
            store.add(doc)
        assert "sub/dir.ext" in str(info.value)
    assert dump(db(matlab_dataset)) == before


# ---------------------------------------------------------------------------------------------
# Atomic batches
# ---------------------------------------------------------------------------------------------


def _bad_last(kind: str, tmp_path: Path, dataset: Path, first_uid: str) -> tuple[Document, type[Exception], str]:
    if kind == "duplicate id":
        with DidSqliteStore.open(db(dataset)) as store:
            return store.get(D3), DuplicateDocumentError, D3
    if kind == "duplicate uid":
        src = tmp_path / "dup-src.bin"
        src.write_bytes(b"dup")
        doc = demo(3.0)
        doc.add_file(FILE_NAME, str(src), uid=UIDS[2], delete_original=0)
        return doc, DuplicateFileUidError, UIDS[2]
    if kind == "missing source":
        missing = tmp_path / "no-such-source.bin"
        doc = demo(3.0)
        doc.add_file(FILE_NAME, str(missing))
        return doc, MissingBinaryError, str(missing)
    if kind == "uid reused inside batch":
        src = tmp_path / "reuse.bin"
        src.write_bytes(b"reuse")
        doc = demo(3.0)
        doc.add_file(FILE_NAME, str(src), uid=first_uid, delete_original=0)
        return doc, DuplicateFileUidError, first_uid
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["duplicate id", "duplicate uid", "missing source", "uid reused inside batch"])
def test_batch_with_bad_last_document_changes_nothing(matlab_dataset: Path, tmp_path: Path, kind: str) -> None:
    files_dir = matlab_dataset / ".ndi" / "files"
    source = tmp_path / "first-source.bin"
    source.write_bytes(b"first payload")
    first = demo(100.0)
    first_uid = first.add_file(FILE_NAME, str(source))["uid"]  # ingest 1, delete_original 1
    second = Document.new("brand_new_class", properties={"brand_new_class": {"alpha": 1, "beta": "two"}})
    bad, error, named = _bad_last(kind, tmp_path, matlab_dataset, first_uid)

    with DidSqliteStore.open(db(matlab_dataset), readonly=False) as store:
        before_dump = dump(db(matlab_dataset))
        before_counts = counts(db(matlab_dataset))
        before_files = sorted(p.name for p in files_dir.iterdir())
        assert before_counts == {"docs": 8, "branch_docs": 8, "doc_data": 97, "fields": 22, "files": 5}
        with pytest.raises(error) as info:
            store.add([first, second, bad])
        assert named in str(info.value)
        assert store.count() == 8
        assert not store.exists(first.id) and not store.exists(second.id)
        assert store.search_ids(Query.isa("brand_new_class")) == []
    assert counts(db(matlab_dataset)) == before_counts
    assert dump(db(matlab_dataset)) == before_dump
    assert sorted(p.name for p in files_dir.iterdir()) == before_files  # no stray or temporary files
    assert source.read_bytes() == b"first payload"  # delete_original only after a commit
    for k, uid in enumerate(UIDS, start=1):
        assert (files_dir / uid).read_bytes() == f"doc_{k}".encode()


def test_dataset_level_batch_is_atomic(matlab_dataset: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.bin"
    good = demo(200.0)
    bad = demo(201.0)
    bad.add_file(FILE_NAME, str(missing))
    with Dataset.open(matlab_dataset, readonly=False) as ds:
        before = dump(db(matlab_dataset))
        with pytest.raises(MissingBinaryError):
            ds.add_documents([good, bad])
        assert ds.count() == 8
    assert dump(db(matlab_dataset)) == before


# ---------------------------------------------------------------------------------------------
# Duplicates and missing things
# ---------------------------------------------------------------------------------------------


def test_duplicate_document_id_without_replace(matlab_dataset: Path) -> None:
    with DidSqliteStore.open(db(matlab_dataset), readonly=False) as store:
        again = store.get(D3)
        with pytest.raises(DuplicateDocumentError) as info:
            store.add(again, file_sources={UIDS[0]: matlab_dataset / ".ndi" / "files" / UIDS[0]})
        assert D3 in str(info.value)
        assert store.count() == 8
        assert store.add(again, replace=True, file_sources={UIDS[0]: matlab_dataset / ".ndi" / "files" / UIDS[0]}) \
            == 1
        assert store.count() == 8
    assert counts(db(matlab_dataset))["docs"] == 8
    assert (matlab_dataset / ".ndi" / "files" / UIDS[0]).read_bytes() == b"doc_1"


def test_duplicate_id_within_one_batch(tmp_path: Path) -> None:
    (tmp_path / ".ndi").mkdir()
    doc = Document.new("x", properties={"x": {"v": 1}})
    with DidSqliteStore.create(tmp_path / ".ndi" / "did-sqlite.sqlite") as store:
        with pytest.raises(DuplicateDocumentError) as info:
            store.add([doc, doc.copy()])
        assert doc.id in str(info.value)
        assert store.count() == 0


def test_missing_ingest_source(matlab_dataset: Path, tmp_path: Path) -> None:
    missing = tmp_path / "vanished" / "data.bin"
    doc = demo(6.0)
    uid = doc.add_file(FILE_NAME, str(missing))["uid"]
    with DidSqliteStore.open(db(matlab_dataset), readonly=False) as store:
        with pytest.raises(MissingBinaryError) as info:
            store.add(doc)
        assert str(missing) in str(info.value)
        assert isinstance(info.value, FileNotFoundError)
        assert not store.exists(doc.id)
    assert not (matlab_dataset / ".ndi" / "files" / uid).exists()


def test_missing_file_source_mapping(matlab_dataset: Path, tmp_path: Path) -> None:
    """Bytes supplied per uid from a path that does not exist."""
    with DidSqliteStore.open(db(matlab_dataset)) as src:
        doc = src.get(D3)
    target = tmp_path / "target"
    (target / ".ndi").mkdir(parents=True)
    missing = tmp_path / "nowhere" / UIDS[0]
    with DidSqliteStore.create(db(target)) as store:
        with pytest.raises(MissingBinaryError) as info:
            store.add(doc, file_sources={UIDS[0]: missing})
        assert str(missing) in str(info.value) or UIDS[0] in str(info.value)
        assert store.count() == 0


def test_get_unknown_id(matlab_dataset: Path) -> None:
    unknown = "412694f69ab19eb0_40dcc7544b5b9e1d"
    with DidSqliteStore.open(db(matlab_dataset)) as store:
        with pytest.raises(DocumentNotFoundError) as info:
            store.get(unknown)
        assert unknown in str(info.value)
        assert isinstance(info.value, KeyError)
    with Dataset.open(matlab_dataset) as ds:
        with pytest.raises(DocumentNotFoundError):
            ds.get(unknown)
        with pytest.raises((DocumentNotFoundError, MissingBinaryError)):
            ds.binary_path(unknown, FILE_NAME)


def test_binary_of_unknown_file_name(matlab_dataset: Path) -> None:
    with Dataset.open(matlab_dataset) as ds:
        with pytest.raises(MissingBinaryError) as info:
            ds.binary_path(D3, "other.ext")
        assert "other.ext" in str(info.value)


def test_unknown_query_operation_is_named() -> None:
    with pytest.raises(QueryError) as info:
        Query("base.name", "exactly_string", "x")
    assert "exactly_string" in str(info.value)
