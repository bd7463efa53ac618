"""Regression tests for hostile or unusual input and failure paths found in review."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ndicloud.cli.main import main
from ndicloud.core import (
    DatabaseLockedError,
    Dataset,
    DidSqliteStore,
    Document,
    DocumentJsonError,
    DuplicateDocumentError,
    InvalidDocumentError,
    InvalidFileNameError,
    NotAnNdiFolderError,
    Query,
    new_id,
)
from ndicloud.core import prepare as prepare_module
from ndicloud.core.sample import generate_documents

from conftest import MATLAB_DATASET
from fixture_facts import FILE_NAME


def _demo(value: object = 1.0, **kw: object) -> Document:
    return Document.new("demoNDI", properties={"demoNDI": {"value": value}}, **kw)


def test_crafted_uid_in_files_table_cannot_reach_outside(matlab_dataset: Path):
    db = matlab_dataset / ".ndi" / "did-sqlite.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE files SET uid = '../../../../etc/hostname' WHERE rowid = 1")
    with Dataset.open(matlab_dataset) as ds, pytest.raises(InvalidFileNameError, match="etc/hostname"):
        ds.binaries()


def test_failed_commit_rolls_back_and_the_store_stays_usable(tmp_path: Path):
    ds = Dataset.create(tmp_path / "ds", "locks")
    ds.store.connection.execute("PRAGMA busy_timeout = 50")
    reader = sqlite3.connect(ds.store.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM docs").fetchone()  # a reader's shared lock blocks the commit
    with pytest.raises(DatabaseLockedError, match=r"did-sqlite\.sqlite"):
        ds.add_documents(_demo())
    assert not ds.store.connection.in_transaction
    reader.execute("COMMIT")
    reader.close()
    ds.add_documents(_demo(2.0))
    assert ds.count() == 2


class _NumpyLikeFloat(float):
    def __repr__(self) -> str:
        return f"np.float64({float(self)!r})"


def test_float_subclasses_are_written_as_plain_numbers(tmp_path: Path):
    ds = Dataset.create(tmp_path / "ds", "np")
    doc = _demo(_NumpyLikeFloat(0.25))
    ds.add_documents(doc)
    assert ds.get(doc.id).properties["demoNDI"]["value"] == 0.25


def test_helper_with_stray_output_falls_back_to_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    noisy = "import sys; sys.stdout.write('hello from sitecustomize'); sys.stdout.flush(); " + prepare_module._BOOT
    monkeypatch.setattr(prepare_module, "_BOOT", noisy)
    store = DidSqliteStore.create(tmp_path / "did-sqlite.sqlite")
    assert store.add(generate_documents(1_200, new_id())) == 1_200


def test_silent_helper_is_given_up_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(prepare_module, "_BOOT", "import time; time.sleep(60)  # {root}")
    monkeypatch.setattr(prepare_module, "_READY_TIMEOUT_S", 0.5)
    store = DidSqliteStore.create(tmp_path / "did-sqlite.sqlite")
    started = time.monotonic()
    assert store.add(generate_documents(1_200, new_id())) == 1_200
    assert time.monotonic() - started < 30


def test_replace_never_deletes_the_ingested_copy(tmp_path: Path):
    ds = Dataset.create(tmp_path / "ds", "keep")
    source = tmp_path / "raw.bin"
    source.write_bytes(b"payload")
    doc = _demo(file_list=[FILE_NAME])
    doc.add_file(FILE_NAME, str(source))
    ds.add_documents(doc)
    assert not source.exists()  # delete_original = 1 after ingestion
    stored = ds.binary_path(doc.id, FILE_NAME)
    again = ds.get(doc.id)
    again.properties["demoNDI"]["value"] = 2
    again.file_info[0]["locations"][0]["location"] = str(stored.resolve())  # points at files/<uid> itself
    again.properties["files"]["file_info"]["locations"]["location"] = str(stored.resolve())
    ds.add_documents(again, replace=True)
    assert stored.read_bytes() == b"payload"


def test_upper_case_ids_are_stored_lower_case_and_found_either_way(tmp_path: Path):
    ds = Dataset.create(tmp_path / "ds", "case")
    doc = _demo()
    doc.properties["base"]["id"] = doc.id.upper()
    ds.add_documents(doc)
    lower = doc.id.lower()
    assert ds.store.live_ids()[-1] == lower
    assert ds.store.exists(lower.upper()) and ds.store.exists(lower)
    twin = _demo(3.0)
    twin.properties["base"]["id"] = lower
    with pytest.raises(DuplicateDocumentError, match=lower):
        ds.add_documents(twin)
    ds.store.remove(lower.upper())
    assert ds.count() == 1


def test_regexp_sees_numbers_as_sqlite_writes_them(tmp_path: Path):
    ds = Dataset.create(tmp_path / "ds", "re")
    ds.add_documents(_demo(1 / 3))
    pattern = Query("demoNDI.value", "regexp", r"^0\.333333333333333$")
    contains = Query("demoNDI.value", "contains_string", "0.333333333333333")
    assert len(ds.store.search_ids(pattern)) == len(ds.store.search_ids(contains)) == 1


def test_cli_where_keeps_text_for_string_operations(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    ds = Dataset.create(tmp_path / "ds", "cli")
    app = Document.new("demoNDI", superclasses=("base", "app"), properties={"app": {"version": "1.0"}})
    ds.add_documents(app)
    ds.close()
    with pytest.raises(SystemExit) as done:
        main(["local", "find", str(tmp_path / "ds"), "--where", "app.version", "exact_string", "1.0", "--json"])
    assert done.value.code in (0, None)
    assert json.loads(capsys.readouterr().out)["count"] == 1


def test_non_text_location_is_refused_naming_document_and_field(tmp_path: Path):
    ds = Dataset.create(tmp_path / "ds", "loc")
    doc = _demo(file_list=[FILE_NAME])
    doc.properties["files"]["file_info"] = {"name": FILE_NAME, "locations": {"uid": new_id(), "location": 5,
                                                                            "ingest": 0}}
    with pytest.raises(InvalidDocumentError, match=rf"{doc.id}.*location.*must be text"):
        ds.add_documents(doc)
    assert ds.count() == 1


def test_many_file_uids_stay_within_sqlite_variable_limit(tmp_path: Path):
    ds = Dataset.create(tmp_path / "ds", "uids")
    ds.add_documents(_demo())  # the uid check runs against a non-empty database
    ds.store.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    docs = []
    for _ in range(300):
        doc = _demo(file_list=["x.bin_#"])
        for k in range(1, 6):
            doc.add_file(f"x.bin_{k}", f"ndic://{'a' * 24}/{new_id()}")
        docs.append(doc)
    assert ds.add_documents(docs) == 300  # 1,500 uids checked, in slices


def test_huge_integer_becomes_infinity_like_matlab(tmp_path: Path):
    text = _demo().to_json().replace('"value": 1', '"value": 1' + "0" * 400)
    doc = Document.from_json(text)
    assert doc.hash()  # canonical form copes
    ds = Dataset.create(tmp_path / "ds", "big")
    ds.add_documents(doc)
    assert ds.store.search_ids(Query("demoNDI.value", "exact_number", math.inf)) == [doc.id]


def test_lone_surrogate_is_refused_and_nothing_is_written(tmp_path: Path):
    doc = Document.from_json(_demo().to_json().replace('"name": ""', '"name": "bad \\ud800 text"'))
    ds = Dataset.create(tmp_path / "ds", "utf")
    with pytest.raises(DocumentJsonError, match=rf"{doc.id}.*not valid Unicode"):
        ds.add_documents(doc)
    assert ds.count() == 1


def test_open_failure_leaves_no_database_handle_open(matlab_dataset: Path):
    (matlab_dataset / ".ndi" / "reference.txt").write_bytes(b"\xff\xfe not utf-8")
    db = (matlab_dataset / ".ndi" / "did-sqlite.sqlite").resolve()

    def handles() -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{fd}") == str(db))

    before = handles()
    with pytest.raises(NotAnNdiFolderError, match=r"reference\.txt"):
        Dataset.open(matlab_dataset)
    assert handles() == before


def test_cli_info_reports_two_remote_links_as_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    ds = Dataset.create(tmp_path / "ds", "links")
    ds.create_remote_link("a" * 24, "b" * 24)
    ds.store.add(Document.new("dataset_remote", session_id=ds.id,
                              properties={"dataset_remote": {"dataset_id": "c" * 24, "organization_id": "b" * 24}}))
    ds.close()
    with pytest.raises(SystemExit) as done:
        main(["local", "info", str(tmp_path / "ds")])
    assert done.value.code == 1
    assert "2 dataset_remote documents" in capsys.readouterr().err


def test_nulls_inside_a_numeric_matrix_count_as_nan(tmp_path: Path):
    store = DidSqliteStore.create(tmp_path / "did-sqlite.sqlite")
    doc = Document.new("demoNDI", properties={"demoNDI": {"m": [[1, None], [3, 4]]}})
    store.add(doc)
    value = store.connection.execute(
        "SELECT v.value FROM doc_data v JOIN fields f ON f.field_idx = v.field_idx WHERE f.field_name = 'demoNDI.m'"
    ).fetchone()[0]
    assert value == "[2x2] double"


def test_unguarded_script_is_not_re_run_by_the_helper(tmp_path: Path):
    script = tmp_path / "unguarded.py"
    marker = tmp_path / "runs.txt"
    script.write_text(
        "from pathlib import Path\n"
        "from ndicloud.core import DidSqliteStore, new_id\n"
        "from ndicloud.core.sample import generate_documents\n"
        f"with open({str(marker)!r}, 'a') as f: f.write('ran\\n')\n"
        f"store = DidSqliteStore.create(Path({str(tmp_path / 'x.sqlite')!r}))\n"
        "print(store.add(generate_documents(1200, new_id())))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(prepare_module.__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1200"
    assert marker.read_text() == "ran\n"  # the script body ran once: the helper did not import it


def test_read_only_fixture_is_not_touched_by_info():
    before = {p.name: p.stat().st_mtime_ns for p in (MATLAB_DATASET / ".ndi").iterdir()}
    with Dataset.open(MATLAB_DATASET) as ds:
        ds.binaries()
    assert {p.name: p.stat().st_mtime_ns for p in (MATLAB_DATASET / ".ndi").iterdir()} == before


def test_a_large_state_is_written_a_slice_at_a_time_and_reads_back_equal(tmp_path):
    import json as json_module

    from ndicloud.core import syncindex

    documents = {f"{n:033d}": {"local": "a" * 64, "remote": "a" * 64, "apiIds": [f"{n:024x}"]} for n in range(2500)}
    data = {"localDocumentIdsLastSync": sorted(documents), "lastSyncTimestamp": "2026-01-01T00:00:00+00:00",
            "ndiCloudState": {"c" * 24: {"documents": documents, "files": {"u1": {"size": 3, "sha256": None}}},
                              "d" * 24: {"documents": {}}},
            "other": {str(n): n for n in range(1200)}, "nan": float("nan")}
    target = tmp_path / "index.json"
    syncindex.write_json_atomically(target, data)
    back = json_module.loads(target.read_text())
    assert back["ndiCloudState"] == data["ndiCloudState"] and back["other"] == data["other"]
    assert back["localDocumentIdsLastSync"] == data["localDocumentIdsLastSync"]
    assert back["nan"] is None  # as MATLAB's jsonencode writes it
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left
