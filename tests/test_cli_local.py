"""The ``ndi-cloud local`` and ``demo`` commands, run in-process through the real entry point."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from ndicloud.cli.main import group_where_tokens
from ndicloud.core import Dataset, Document

from conftest import MATLAB_DOCUMENTS, run_cli
from fixture_facts import DATASET_ID, FILE_NAME, INGESTED_SESSION_ID, UIDS

run = run_cli


def test_info_json_reports_documents_and_files(matlab_dataset: Path, capsys):
    code, out, _ = run(capsys, "local", "info", str(matlab_dataset), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["id"] == DATASET_ID
    assert info["reference"] == "ds_demo"
    assert info["documents"] == {"total": 8, "by_class": {"dataset_session_info": 1, "demoNDI": 5, "session": 2}}
    assert info["files"] == {"present": 5, "missing": 0}
    assert info["sessions"][0]["session_id"] == INGESTED_SESSION_ID


def test_info_counts_missing_files(matlab_dataset: Path, capsys):
    (matlab_dataset / ".ndi" / "files" / UIDS[0]).unlink()
    code, out, _ = run(capsys, "local", "info", str(matlab_dataset), "--json")
    assert code == 0
    assert json.loads(out)["files"] == {"present": 4, "missing": 1}


def test_info_human_output(matlab_dataset: Path, capsys):
    code, out, _ = run(capsys, "local", "info", str(matlab_dataset))
    assert code == 0
    assert "ds_demo" in out and "demoNDI" in out and "5 present, 0 missing" in out


def test_info_on_plain_folder_fails_clearly(tmp_path: Path, capsys):
    code, _, err = run(capsys, "local", "info", str(tmp_path))
    assert code == 1
    assert "no .ndi folder" in err


def test_find_with_isa_and_where(matlab_dataset: Path, capsys):
    code, out, _ = run(capsys, "local", "find", str(matlab_dataset), "--isa", "demoNDI",
                       "--where", "demoNDI.value", "greaterthan", "2", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["count"] == 3
    assert sorted(d["base"]["name"] for d in result["documents"]) == ["doc_3", "doc_4", "doc_5"]


def test_find_where_repeats_and_quoted_form(matlab_dataset: Path, capsys):
    code, out, _ = run(capsys, "local", "find", str(matlab_dataset),
                       "--where", "base.name regexp ^doc_[135]$",
                       "--where", "demoNDI.value", "lessthan", "5", "--json")
    assert code == 0
    assert sorted(d["base"]["name"] for d in json.loads(out)["documents"]) == ["doc_1", "doc_3"]


def test_find_depends_on(tmp_path: Path, capsys):
    ds = Dataset.create(tmp_path / "ds", "deps")
    subject = Document.new("subject", properties={"subject": {"local_identifier": "m1"}})
    probe = Document.new("element", depends_on={"subject_id": subject.id, "underlying_element_id": ""})
    ds.add_documents([subject, probe])
    ds.close()
    code, out, _ = run(capsys, "local", "find", str(tmp_path / "ds"), "--depends-on", subject.id, "--json")
    assert code == 0
    assert [d["base"]["id"] for d in json.loads(out)["documents"]] == [probe.id]
    code, out, _ = run(capsys, "local", "find", str(tmp_path / "ds"), "--depends-on", f"element_id={subject.id}",
                       "--json")
    assert json.loads(out)["count"] == 0


def test_find_bad_operation_is_an_error(matlab_dataset: Path, capsys):
    code, _, err = run(capsys, "local", "find", str(matlab_dataset), "--where", "base.name", "like", "x")
    assert code == 1
    assert "unknown query operation 'like'" in err


def test_group_where_tokens_leaves_other_arguments():
    args = ["local", "find", "p", "--where", "a", "b", "c", "--isa", "x"]
    grouped = group_where_tokens(args)
    assert grouped[:3] == ["local", "find", "p"]
    assert grouped[3] == "--where" and grouped[4].count("\x1f") == 2
    assert grouped[5:] == ["--isa", "x"]


def test_add_documents_with_file(matlab_dataset: Path, tmp_path: Path, capsys):
    doc = Document.new("demoNDI", properties={"demoNDI": {"value": 6}}, name="doc_6", file_list=[FILE_NAME])
    doc.add_file(FILE_NAME, "/nonexistent/original/path.bin")
    doc_path = tmp_path / "doc6.json"
    doc_path.write_text(doc.to_json())
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"doc_6")
    code, out, err = run(capsys, "local", "add", str(matlab_dataset), str(doc_path),
                         "--file", f"{FILE_NAME}={payload}", "--json")
    assert code == 0, err
    assert json.loads(out)["added"] == 1
    with Dataset.open(matlab_dataset) as ds:
        added = ds.get(doc.id)
        assert added.session_id == DATASET_ID  # the empty session id is claimed by the dataset
        with ds.open_binary(doc.id, FILE_NAME) as handle:
            assert handle.read() == b"doc_6"
    assert payload.exists()  # bytes supplied with --file are copied, never deleted


def test_add_is_all_or_nothing(matlab_dataset: Path, tmp_path: Path, capsys):
    good = Document.new("demoNDI", properties={"demoNDI": {"value": 7}})
    (tmp_path / "good.json").write_text(good.to_json())
    (tmp_path / "bad.json").write_text('{"base": {"id": "not-an-id"}}')
    code, _, err = run(capsys, "local", "add", str(matlab_dataset), str(tmp_path / "good.json"),
                       str(tmp_path / "bad.json"))
    assert code == 1
    assert "bad.json" in err and "not-an-id" in err
    with Dataset.open(matlab_dataset) as ds:
        assert ds.count() == 8


def test_add_refuses_missing_binary(matlab_dataset: Path, tmp_path: Path, capsys):
    doc = Document.new("demoNDI", properties={"demoNDI": {"value": 8}}, file_list=[FILE_NAME])
    doc.add_file(FILE_NAME, str(tmp_path / "gone.bin"))
    (tmp_path / "d.json").write_text(doc.to_json())
    code, _, err = run(capsys, "local", "add", str(matlab_dataset), str(tmp_path / "d.json"))
    assert code == 1
    assert "nothing was added" in err and doc.id in err
    with Dataset.open(matlab_dataset) as ds:
        assert ds.count() == 8


def test_export_then_reread_gives_same_hashes(matlab_dataset: Path, tmp_path: Path, capsys):
    out_dir = tmp_path / "json"
    code, _, _ = run(capsys, "local", "export", str(matlab_dataset), str(out_dir))
    assert code == 0
    files = sorted(out_dir.glob("*.json"))
    assert len(files) == 8
    with Dataset.open(matlab_dataset) as ds:
        originals = {d.id: d.hash() for d in ds.documents()}
    assert {p.stem: Document.from_file(p).hash() for p in files} == originals


def test_add_matlab_mock_document(tmp_path: Path, capsys):
    Dataset.create(tmp_path / "ds", "mocks").close()
    local_copy = tmp_path / "example_simple_mock.1.json"
    shutil.copy(MATLAB_DOCUMENTS / local_copy.name, local_copy)
    code, _, err = run(capsys, "local", "add", str(tmp_path / "ds"), str(local_copy), "--allow-foreign-sessions")
    assert code == 0, err
    code, out, _ = run(capsys, "local", "find", str(tmp_path / "ds"), "--isa", "app", "--json")
    assert json.loads(out)["count"] == 1


def test_add_foreign_session_refused_by_default(tmp_path: Path, capsys):
    Dataset.create(tmp_path / "ds", "mocks").close()
    code, _, err = run(capsys, "local", "add", str(tmp_path / "ds"),
                       str(MATLAB_DOCUMENTS / "example_simple_mock.1.json"))
    assert code == 1
    assert "412694ff3855b91d_c0d52dfaea736fc7" in err


def test_demo_round_trip(tmp_path: Path, capsys):
    code, out, err = run(capsys, "demo", "--dir", str(tmp_path / "demo"), "--sessions", "2", "--documents", "30")
    assert code == 0, err
    assert "round trip OK" in out
    # the two copies met through the cloud: new documents (with binaries) one way, an edit the other
    assert "5 uploaded" in out and "5 downloaded, 1 updated_remote" in out and "1 updated_local" in out


def test_find_json_keeps_nan_as_sentinel(tmp_path: Path, capsys):
    ds = Dataset.create(tmp_path / "ds", "nan")
    doc = Document.new("demoNDI", properties={"demoNDI": {"value": float("nan")}})
    ds.add_documents(doc)
    ds.close()
    code, out, _ = run(capsys, "local", "find", str(tmp_path / "ds"), "--isa", "demoNDI", "--json")
    assert code == 0
    found = json.loads(out)["documents"][0]
    assert found["demoNDI"]["value"] == "__NDI__NaN__"
    value = Document.from_json(json.dumps(found)).properties["demoNDI"]["value"]
    assert isinstance(value, float) and math.isnan(value)  # NDI readers turn the sentinel back into NaN


def test_info_on_the_read_only_shared_fixture(capsys):
    from conftest import MATLAB_DATASET

    code, out, err = run(capsys, "local", "info", str(MATLAB_DATASET), "--json")
    assert code == 0, err
    assert json.loads(out)["documents"]["total"] == 8
