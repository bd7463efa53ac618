"""``ndi-cloud sync``, ``diff``, ``validate`` and ``duplicates`` against the local NDI Cloud server over HTTP."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndicloud.api import CloudClient, documents
from ndicloud.core import Dataset
from sync_helpers import edit, edit_in_cloud, linked_pair, local_contents, local_dataset, remote_listing

from cloud_server import CloudServer
from conftest import FAST_RETRY, run_cli


@pytest.fixture
def api(sync_cloud: CloudServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudClient]:
    """A fresh account on the quick server: the CLI logs in as it from the environment, the test arranges and
    checks the cloud side through this client."""
    account = sync_cloud.account()
    monkeypatch.setenv("NDI_CLOUD_URL", account.base_url)
    monkeypatch.setenv("NDI_CLOUD_USERNAME", account.email)
    monkeypatch.setenv("NDI_CLOUD_PASSWORD", account.password)
    with CloudClient(account.base_url, username=account.email, password=account.password, retry=FAST_RETRY,
                     cache=False) as client:
        yield client


def row(out: str, label: str) -> list[str]:
    """The cells of the first table row whose first cell is ``label``."""
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│┃").split("│")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{out}")


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path: Path, api: CloudClient, capsys):
    path, cloud_id, made = linked_pair(tmp_path, api, ["doc1", "doc2"], ["doc3"])
    before = local_contents(path)
    code, out, err = run_cli(capsys, "sync", str(path), "--dry-run")
    assert code == 0, err
    assert row(out, "upload")[1] == "2" and made["doc1"].id in out and made["doc2"].id in out
    assert row(out, "download")[1:] == ["1", made["doc3"].id]
    assert row(out, "in sync")[1] == "0" and "dry run: nothing was changed" in out
    assert "delete" not in out  # two_way_sync deletes nothing by default
    code, out, err = run_cli(capsys, "sync", str(path), "--mode", "two-way-sync", "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["success"] and report["operation"] == "two_way_sync" and report["cloudDatasetId"] == cloud_id
    assert report["plan"]["upload"] == sorted([made["doc1"].id, made["doc2"].id])
    assert report["plan"]["download"] == [made["doc3"].id] and report["counts"]["documents"] == {}
    assert local_contents(path) == before and list(remote_listing(cloud_id, api)) == [made["doc3"].id]


def test_a_big_plan_is_cut_short_and_json_lists_it_all(tmp_path: Path, api: CloudClient, capsys):
    path, cloud_id, made = linked_pair(tmp_path, api, [f"doc{n:02}" for n in range(14)], [])
    code, out, err = run_cli(capsys, "sync", str(path), "-m", "upload_new", "--dry-run")
    assert code == 0, err
    assert row(out, "upload")[1] == "14" and "… and 4 more (--json lists all)" in out
    assert sum(doc.id in out for doc in made.values()) == 10
    code, out, _ = run_cli(capsys, "sync", str(path), "-m", "upload_new", "--dry-run", "--json")
    assert sorted(json.loads(out)["plan"]["upload"]) == sorted(doc.id for doc in made.values())
    assert remote_listing(cloud_id, api) == {}


def test_two_way_sync_summary_then_nothing_to_do(tmp_path: Path, api: CloudClient, capsys):
    path, cloud_id, made = linked_pair(tmp_path, api, ["doc1", "doc2"], ["doc3"])
    code, out, err = run_cli(capsys, "sync", str(path), "--mode", "two_way_sync")
    assert code == 0, err
    assert row(out, "uploaded")[1] == "2" and row(out, "downloaded")[1] == "1"
    assert "two_way_sync done: documents: 1 downloaded, 2 uploaded" in out
    everything = sorted(doc.id for doc in made.values())
    assert sorted(local_contents(path)) == everything and sorted(remote_listing(cloud_id, api)) == everything
    code, out, err = run_cli(capsys, "sync", str(path), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["success"] and report["counts"] == {"documents": {}, "files": {}}
    assert report["plan"]["counts"]["in_sync"] == 3 and report["items"] == []
    code, out, _ = run_cli(capsys, "sync", str(path))
    assert code == 0 and "two_way_sync done: nothing to do" in out


def test_a_conflict_exits_1_until_a_policy_settles_it(tmp_path: Path, api: CloudClient, capsys):
    path, cloud_id, made = linked_pair(tmp_path, api, ["doc1"], [])
    assert run_cli(capsys, "sync", str(path))[0] == 0
    doc_id = made["doc1"].id
    edit(path, doc_id, value=2)
    edit_in_cloud(cloud_id, api, doc_id, tmp_path, value=3)
    here, there = local_contents(path), remote_listing(cloud_id, api)
    code, out, err = run_cli(capsys, "sync", str(path), "--dry-run")
    assert code == 1
    assert row(out, "conflict")[1:] == ["1", f"{doc_id}  (changed on both sides since the last sync)"]
    assert "1 conflict(s) left unresolved (--conflict fail)" in out and doc_id in err
    code, out, err = run_cli(capsys, "sync", str(path))
    assert code == 1 and row(out, "conflict")[1] == "1" and "two_way_sync FAILED" in out
    assert f"conflict document {doc_id}: changed on both sides" in err
    assert local_contents(path) == here and remote_listing(cloud_id, api) == there  # neither side changed
    code, out, err = run_cli(capsys, "sync", str(path), "--conflict", "local", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"]["documents"] == {"updated_remote": 1}
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 0 and "valid: both sides hold the same documents" in out


def test_bad_flags_are_usage_errors(tmp_path: Path, capsys):
    path, _ = local_dataset(tmp_path / "local", ["doc1"])
    code, _, err = run_cli(capsys, "sync", str(path), "--mode", "sideways")
    assert code == 2 and "unknown sync mode 'sideways'; use one of download_new, upload_new" in err
    code, _, err = run_cli(capsys, "sync", str(path), "--conflict", "maybe")
    assert code == 2 and "conflict must be one of fail, local, remote, newer; got 'maybe'" in err
    code, _, err = run_cli(capsys, "sync", str(path), "-m", "upload-new", "--propagate-deletions", "--files")
    assert code == 2 and "--propagate-deletions, --files has no effect in upload_new" in err
    code, _, err = run_cli(capsys, "sync", str(path), "--no-update-changed")
    assert code == 2 and "--no-update-changed has no effect in two_way_sync" in err
    code, _, err = run_cli(capsys, "sync", str(path), "--document-chunk", "200000")
    assert code == 2 and "document_chunk must be between 1 and 100000" in err


def test_an_unlinked_or_missing_dataset_is_named(tmp_path: Path, api: CloudClient, capsys):
    path, _ = local_dataset(tmp_path / "local", ["doc1"])
    for command in ("sync", "diff", "validate", "duplicates"):
        code, out, err = run_cli(capsys, command, str(path))
        assert code == 1 and out == "", command
        assert f"{path} is not linked to a cloud dataset" in err and len(err.strip().splitlines()) == 1, command
    nowhere = tmp_path / "nowhere"
    code, _, err = run_cli(capsys, "sync", str(nowhere))
    assert code == 1 and f"{nowhere} is not a folder" in err and "Traceback" not in err
    assert not nowhere.exists()  # nothing written for a folder that is not a dataset
    code, _, err = run_cli(capsys, "duplicates")
    assert code == 2 and "give a dataset folder PATH" in err


def test_dataset_links_an_unlinked_dataset(tmp_path: Path, api: CloudClient, capsys):
    path, made = local_dataset(tmp_path / "local", ["doc1"])
    cloud_id = linked_pair(tmp_path / "other", api, [], ["doc2"])[1]
    code, out, err = run_cli(capsys, "sync", str(path), "--dataset", cloud_id, "--json")
    assert code == 0, err
    assert json.loads(out)["counts"]["documents"] == {"uploaded": 1, "downloaded": 1}
    with Dataset.open(path) as dataset:
        assert dataset.remote_link().dataset_id == cloud_id  # type: ignore[union-attr]
    assert made["doc1"].id in remote_listing(cloud_id, api)


def test_a_held_lock_is_one_clear_line(tmp_path: Path, api: CloudClient, capsys, monkeypatch):
    from ndicloud.sync import engine
    from ndicloud.transfers import state

    path, cloud_id, _ = linked_pair(tmp_path, api, ["doc1"], [])
    lock = path / ".ndi" / "sync" / "transfer.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    original = state.exclusive
    monkeypatch.setattr(engine, "exclusive", lambda p, what, wait_s=10.0: original(p, what, wait_s=0.2))
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another process syncing it would
        code, out, err = run_cli(capsys, "sync", str(path))
    finally:
        os.close(fd)
    assert code == 1 and out == "" and "another ndi-cloud process is transferring or syncing" in err
    assert remote_listing(cloud_id, api) == {}


def test_diff_lists_one_sided_documents(tmp_path: Path, api: CloudClient, capsys):
    path, cloud_id, made = linked_pair(tmp_path, api, ["doc1", "doc2"], ["doc3"])
    code, out, err = run_cli(capsys, "diff", str(path))
    assert code == 0, err
    assert row(out, "local only")[1] == "2" and row(out, "remote only")[1:] == ["1", made["doc3"].id]
    code, out, _ = run_cli(capsys, "diff", str(path), "--json")
    assert json.loads(out) == {"counts": {"local_only": 2, "remote_only": 1, "common": 0},
                               "localOnly": sorted([made["doc1"].id, made["doc2"].id]),
                               "remoteOnly": [made["doc3"].id], "common": []}
    assert list(remote_listing(cloud_id, api)) == [made["doc3"].id]  # read only


def test_validate_names_the_mismatch_and_exits_1(tmp_path: Path, api: CloudClient, capsys):
    path, cloud_id, made = linked_pair(tmp_path, api, ["doc1", "doc2"], [])
    assert run_cli(capsys, "sync", str(path), "-m", "upload_new")[0] == 0
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 0 and "valid: both sides hold the same documents" in out
    edit_in_cloud(cloud_id, api, made["doc2"].id, tmp_path, value=7)
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 1 and "NOT valid" in out
    assert row(out, "mismatched")[1:] == ["1", f"{made['doc2'].id}  (differs in demoNDI.value)"]
    code, out, _ = run_cli(capsys, "validate", str(path), "--json")
    result = json.loads(out)
    assert code == 1 and not result["valid"] and result["mismatched"] == {made["doc2"].id: "differs in demoNDI.value"}
    assert result["counts"] == {"local_only": 0, "remote_only": 0, "common": 2, "mismatched": 1}


def test_duplicates_listed_then_removed_keeping_the_oldest(tmp_path: Path, api: CloudClient, capsys):
    path, cloud_id, made = linked_pair(tmp_path, api, ["doc1", "doc2"], [])
    for doc in (made["doc1"], made["doc1"], made["doc2"]):
        documents.add_document(cloud_id, doc, client=api)
    copies = remote_listing(cloud_id, api)[made["doc1"].id]
    oldest, extra = min(copies), sorted(copies)[1:]
    code, out, err = run_cli(capsys, "duplicates", str(path))
    assert code == 0, err
    assert row(out, made["doc1"].id)[1] == oldest and all(api_id in out for api_id in extra)
    assert "1 ndiId(s) with 1 extra copies" in out and made["doc2"].id not in out
    code, out, _ = run_cli(capsys, "duplicates", "--dataset", cloud_id, "--json")
    assert json.loads(out) == {"cloudDatasetId": cloud_id, "counts": {"duplicated": 1, "copies_to_delete": 1},
                               "duplicates": {made["doc1"].id: sorted(copies)}}
    code, out, _ = run_cli(capsys, "duplicates", str(path), "--remove", "--dry-run")
    assert code == 0 and "dry run: nothing was deleted; 1 extra copies would be" in out and extra[0] in out
    assert len(remote_listing(cloud_id, api)[made["doc1"].id]) == 2
    code, out, err = run_cli(capsys, "duplicates", str(path), "--remove")
    assert code == 0, err
    assert row(out, "deleted remote")[1] == "1" and "remove_duplicates done" in out
    assert remote_listing(cloud_id, api)[made["doc1"].id] == [oldest]
    code, out, _ = run_cli(capsys, "duplicates", str(path))
    assert code == 0 and "no ndiId is held by more than one copy" in out
