"""Sync behaviour beyond NDI-matlab (sync.md §3, §9), continued from test_sync_beyond.py: files of synced
documents are sent, a failed bulk job stops a sync, a dry run changes nothing and plans what the real run does,
and the live remote is re-checked. All against the local server over HTTP."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ndicloud.api import CloudClient, documents, transfer
from ndicloud.api import files as cloud_files
from ndicloud.core import Dataset, Document
from ndicloud.sync import (
    download_new,
    mirror_from_remote,
    mirror_to_remote,
    two_way_sync,
    upload_new,
)
from ndicloud.transfers.report import TransferReport
from sync_helpers import (
    QUIET,
    acted,
    delete_here,
    delete_in_cloud,
    detail,
    doc_with_file,
    edit,
    edit_in_cloud,
    linked_pair,
    local_contents,
    new_doc,
    remote_contents,
    remote_listing,
    synced_pair,
)

# -- files of documents that are already in the cloud (NDI-matlab#805) -----------------------------------------



def cloud_bytes(cloud_id: str, api: CloudClient, uid: str, scratch: Path) -> bytes:
    """The bytes the cloud holds for a file uid, downloaded through its presigned URL."""
    url = cloud_files.get_file_details(cloud_id, uid, client=api)["downloadUrl"]
    target = scratch / f"cloud-{uid}"
    transfer.get_file(url, target, client=api)
    return target.read_bytes()


def uploaded_files(cloud_id: str, api: CloudClient) -> dict[str, int | None]:
    return {f.uid: f.size for f in cloud_files.list_files(cloud_id, client=api) if f.uploaded}


@pytest.mark.parametrize("mode", [upload_new, two_way_sync])
def test_bytes_that_appear_after_their_document_was_uploaded_are_sent(tmp_path: Path, sync_client: CloudClient,
                                                                      mode: Callable[..., TransferReport]):
    path, cloud_id, _ = linked_pair(tmp_path, sync_client, [], [])
    payload = b"recorded later " * 100
    doc, uid = doc_with_file(path, "recording", payload, tmp_path)
    ingested = path / ".ndi" / "files" / uid
    aside = tmp_path / "aside.bin"
    ingested.rename(aside)  # the bytes are not here yet
    refused = mode(path, options=QUIET, client=sync_client)
    assert not refused.success and acted(refused, "failed", "file") == [uid] and doc.id in detail(refused, uid)
    first = mode(path, options=replace(QUIET, allow_missing_files=True), client=sync_client)
    assert first.success, first.message
    assert acted(first, "skipped", "file") == [uid] and uid not in uploaded_files(cloud_id, sync_client)
    assert list(remote_listing(cloud_id, sync_client)) == [doc.id]
    aside.rename(ingested)  # now they are
    second = mode(path, options=QUIET, client=sync_client)
    assert second.success, second.message
    assert second.counts("document") == {} and acted(second, "uploaded", "file") == [uid]
    assert uploaded_files(cloud_id, sync_client) == {uid: len(payload)}
    assert cloud_bytes(cloud_id, sync_client, uid, tmp_path) == payload
    assert len(remote_listing(cloud_id, sync_client)[doc.id]) == 1  # the document was not sent again
    third = mode(path, options=QUIET, client=sync_client)
    assert third.success and acted(third, "uploaded", "file") == [] and third.counts("document") == {}


def test_a_file_added_to_a_synced_document_goes_with_its_new_version(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, _ = linked_pair(tmp_path, sync_client, [], [])
    doc, first_uid = doc_with_file(path, "recording", b"first file", tmp_path)
    assert two_way_sync(path, options=QUIET, client=sync_client).success
    assert set(uploaded_files(cloud_id, sync_client)) == {first_uid}
    second = tmp_path / "second.bin"
    second.write_bytes(b"a second file, added later")
    with Dataset.open(path, readonly=False) as dataset:
        changed = dataset.get(doc.id)
        second_uid = changed.add_file("other.ext", str(second), delete_original=False)["uid"]
        dataset.store.add(changed, replace=True)
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert acted(report, "updated_remote") == [doc.id] and acted(report, "uploaded", "file") == [second_uid]
    assert uploaded_files(cloud_id, sync_client) == {first_uid: len(b"first file"),
                                                     second_uid: len(b"a second file, added later")}
    assert cloud_bytes(cloud_id, sync_client, second_uid, tmp_path) == second.read_bytes()
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)


# -- a failed bulk job fails the sync --------------------------------------------------------------------------


def folder_bytes(path: Path) -> dict[str, str]:
    """sha256 of every file under the dataset folder (database, files, sync state, locks), by relative path."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def cloud_picture(cloud_id: str, api: CloudClient, scratch: Path) -> tuple[Any, ...]:
    """All a client can see of a cloud dataset: its listing (cloud ids), contents and files."""
    listing = {ndi_id: sorted(copies) for ndi_id, copies in remote_listing(cloud_id, api).items()}
    files = sorted((f.uid, f.uploaded, f.size) for f in cloud_files.list_files(cloud_id, client=api))
    return listing, remote_contents(cloud_id, api, scratch), files


def differing_pair(tmp_path: Path, api: CloudClient) -> tuple[Path, str, dict[str, Document]]:
    """A synced pair, then: doc1 edited here, doc2 edited in the cloud, doc3 edited on both sides, doc4
    deleted here, doc5 deleted in the cloud, new4 (with a file) added here only, new5 added in the cloud only."""
    path, cloud_id, made = synced_pair(tmp_path, api, [f"doc{n}" for n in range(1, 7)])
    edit(path, made["doc1"].id, value="here")
    edit_in_cloud(cloud_id, api, made["doc2"].id, tmp_path, value="there")
    edit(path, made["doc3"].id, value="here")
    edit_in_cloud(cloud_id, api, made["doc3"].id, tmp_path, value="there")
    delete_here(path, made["doc4"].id)
    delete_in_cloud(cloud_id, api, made["doc5"].id)
    made["new4"], _ = doc_with_file(path, "new4", b"bytes of new4", tmp_path)
    with Dataset.open(path) as dataset:
        made["new5"] = new_doc(dataset.id, "new5")
    documents.add_document(cloud_id, made["new5"], client=api)
    return path, cloud_id, made


def fail_a_bulk_job(cloud_id: str, api: CloudClient, scratch: Path) -> str:
    """Send the cloud a zip of files it cannot read, as a broken client would; the failed job's id."""
    url, job_id = cloud_files.get_file_collection_upload_url(cloud_id, client=api)
    assert job_id
    garbage = scratch / "garbage.zip"
    garbage.write_bytes(b"this is not a zip file")
    transfer.put_file(url, garbage, client=api)
    deadline = time.monotonic() + 20
    while cloud_files.get_bulk_upload_status(job_id, client=api).state != "failed":
        assert time.monotonic() < deadline, "the server never failed the job"
        time.sleep(0.05)
    return job_id


MODES = {"download_new": download_new, "upload_new": upload_new, "mirror_to_remote": mirror_to_remote,
         "mirror_from_remote": mirror_from_remote, "two_way_sync": two_way_sync}


@pytest.mark.parametrize(("mode", "dry_run"), [*((mode, False) for mode in sorted(MODES)), ("two_way_sync", True)])
def test_a_failed_bulk_job_fails_the_sync_and_changes_nothing(tmp_path: Path, sync_client: CloudClient, mode: str,
                                                              dry_run: bool):
    """Every mode stops before doing anything; a dry run too (its plan would be a plan that is not run). The
    failure is reported once: the sync state notes the job (a dry run writes nothing), and the next run goes on."""
    path, cloud_id, _ = differing_pair(tmp_path, sync_client)
    job_id = fail_a_bulk_job(cloud_id, sync_client, tmp_path)
    index = str(Path(".ndi") / "sync" / "index.json")
    here, there = folder_bytes(path), cloud_picture(cloud_id, sync_client, tmp_path)
    report = MODES[mode](path, options=replace(QUIET, dry_run=dry_run), client=sync_client)
    assert not report.success
    assert job_id in report.message and "failed" in report.message
    assert acted(report, "failed", "dataset") == [cloud_id]
    assert report.counts("document") == {} and report.counts("file") == {}
    after = folder_bytes(path)
    assert (after == here) if dry_run else ({k: v for k, v in after.items() if k != index}
                                            == {k: v for k, v in here.items() if k != index})
    assert cloud_picture(cloud_id, sync_client, tmp_path) == there
    noted = json.loads((path / index).read_text())["ndiCloudState"][cloud_id].get("reportedFailedJobs", [])
    assert noted == ([] if dry_run else [job_id])
    if not dry_run:
        again = MODES[mode](path, options=replace(QUIET, conflict="local"), client=sync_client)
        assert acted(again, "failed", "dataset") == [] and job_id not in again.message


# -- a dry run changes nothing, and its plan is what the real run does -----------------------------------------

PLAN_ACTIONS = {"upload": "uploaded", "download": "downloaded", "update_remote": "updated_remote",
                "update_local": "updated_local", "delete_remote": "deleted_remote", "delete_local": "deleted_local"}
DRY_CASES = {  # mode, options, the plan for differing_pair by document name (sync.md §3)
    "upload_new": ("upload_new", {}, {"upload": ["new4"]}),
    "download_new": ("download_new", {}, {"download": ["new5"]}),
    "mirror_to_remote": ("mirror_to_remote", {}, {"upload": ["doc5", "new4"], "delete_remote": ["doc4", "new5"],
                                                  "update_remote": ["doc1", "doc2", "doc3"]}),
    "mirror_from_remote": ("mirror_from_remote", {}, {"download": ["doc4", "new5"], "delete_local": ["doc5", "new4"],
                                                      "update_local": ["doc1", "doc2", "doc3"]}),
    "two_way_sync": ("two_way_sync", {}, {"upload": ["doc5", "new4"], "download": ["doc4", "new5"],
                                          "update_remote": ["doc1"], "update_local": ["doc2"],
                                          "conflicts": ["doc3"]}),
    "two_way_sync-propagate-newer": (  # equal datestamps: the local copy of doc3 wins
        "two_way_sync", {"propagate_deletions": True, "conflict": "newer"},
        {"upload": ["new4"], "download": ["new5"], "delete_remote": ["doc4"], "delete_local": ["doc5"],
         "update_remote": ["doc1", "doc3"], "update_local": ["doc2"]}),
}


@pytest.mark.parametrize("case", sorted(DRY_CASES))
def test_a_dry_run_leaves_both_sides_byte_identical_and_plans_the_real_run(tmp_path: Path, sync_client: CloudClient,
                                                                           case: str):
    mode, overrides, expected = DRY_CASES[case]
    path, cloud_id, made = differing_pair(tmp_path, sync_client)
    named = {doc.id: name for name, doc in made.items()}
    assert (path / ".ndi" / "did-sqlite.sqlite").is_file() and (path / ".ndi" / "sync" / "index.json").is_file()
    here, there = folder_bytes(path), cloud_picture(cloud_id, sync_client, tmp_path)
    options = replace(QUIET, **overrides)
    dry = MODES[mode](path, options=replace(options, dry_run=True), client=sync_client)
    assert folder_bytes(path) == here and cloud_picture(cloud_id, sync_client, tmp_path) == there
    assert dry.plan is not None
    assert [item for item in dry.items if item.action != "conflict"] == []  # nothing done, conflicts shown
    plan = {key: [named[i] for i in (dry.plan[key] if key != "conflicts" else sorted(dry.plan[key]))]
            for key in [*PLAN_ACTIONS, "conflicts"]}
    assert {key: sorted(names) for key, names in plan.items() if names} == expected
    uploads_files = mode in ("upload_new", "mirror_to_remote", "two_way_sync")
    assert len(dry.plan["filesToUpload"]) == (1 if uploads_files else 0)

    real = MODES[mode](path, options=options, client=sync_client)
    assert real.plan == dry.plan
    for key, action in PLAN_ACTIONS.items():
        assert acted(real, action) == dry.plan[key], (key, real.message)
    assert acted(real, "conflict") == sorted(dry.plan["conflicts"])
    assert acted(real, "uploaded", "file") == dry.plan["filesToUpload"]
    assert real.success == (not dry.plan["conflicts"]), real.message


@pytest.mark.parametrize("allow", [False, True], ids=["refused", "allowed"])
def test_a_dry_run_reports_a_missing_file_as_the_real_run_does(tmp_path: Path, sync_client: CloudClient,
                                                               allow: bool):
    path, _, _ = linked_pair(tmp_path, sync_client, [], [])
    doc, uid = doc_with_file(path, "recording", b"bytes that went missing", tmp_path)
    (path / ".ndi" / "files" / uid).unlink()
    options = replace(QUIET, allow_missing_files=allow)
    dry = upload_new(path, options=replace(options, dry_run=True), client=sync_client)
    assert dry.plan is not None and list(dry.plan["filesMissing"]) == [uid] and doc.id in dry.plan["filesMissing"][uid]
    real = upload_new(path, options=options, client=sync_client)
    outcome = "skipped" if allow else "failed"
    assert acted(dry, outcome, "file") == acted(real, outcome, "file") == [uid]
    assert dry.success == real.success == allow
    assert acted(dry, "uploaded") == [] and acted(real, "uploaded") == [doc.id]


# -- the live remote is re-checked; two copies of a dataset edit through the cloud -----------------------------


def test_upload_new_without_state_sends_only_what_the_live_cloud_lacks(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["mine", "shared"], [])
    documents.add_document(cloud_id, made["shared"], client=sync_client)  # another client sent it already
    assert not (path / ".ndi" / "sync" / "index.json").exists()
    report = upload_new(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"uploaded": 1} and acted(report, "uploaded") == [made["mine"].id]
    listing = remote_listing(cloud_id, sync_client)
    assert sorted(listing) == sorted([made["mine"].id, made["shared"].id])
    assert all(len(copies) == 1 for copies in listing.values())  # nothing uploaded twice
    # new since the last sync here, but sent by someone else meanwhile: the live listing says so
    with Dataset.open(path, readonly=False) as dataset:
        made["later"] = new_doc(dataset.id, "later")
        dataset.add_documents(made["later"])
    documents.add_document(cloud_id, made["later"], client=sync_client)
    again = upload_new(path, options=QUIET, client=sync_client)
    assert again.success and again.counts("document") == {}, again.message
    assert len(remote_listing(cloud_id, sync_client)[made["later"].id]) == 1


def test_download_new_without_state_fetches_remote_minus_local(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["shared", "mine"], ["theirs"])
    cloud_version = made["shared"].to_dict()
    cloud_version["demoNDI"]["value"] = "the cloud's version"
    documents.add_document(cloud_id, cloud_version, client=sync_client)
    here = local_contents(path)
    report = download_new(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"downloaded": 1} and acted(report, "downloaded") == [made["theirs"].id]
    after = local_contents(path)
    assert {i: after[i] for i in here} == here  # what was here stays as it was, "shared" included
    assert sorted(after) == sorted(d.id for d in made.values())


def test_two_copies_of_a_dataset_exchange_edits_through_the_cloud(tmp_path: Path, sync_client: CloudClient):
    from ndicloud.download import download_dataset

    first, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2", "doc3"])
    down = download_dataset(cloud_id, tmp_path / "second", client=sync_client)
    assert down.success, down.message
    second = Path(down.local_path or "")
    doc1, doc2 = made["doc1"].id, made["doc2"].id
    edit(second, doc1, value="from the second copy")
    sent = two_way_sync(second, options=QUIET, client=sync_client)
    assert sent.success and sent.counts("document") == {"updated_remote": 1}, sent.message
    came = two_way_sync(first, options=QUIET, client=sync_client)
    assert came.success and came.counts("document") == {"updated_local": 1}, came.message
    assert local_contents(first) == local_contents(second) == remote_contents(cloud_id, sync_client, tmp_path)
    edit(first, doc2, value="first")
    edit(second, doc2, value="second")
    assert two_way_sync(first, options=QUIET, client=sync_client).counts("document") == {"updated_remote": 1}
    clash = two_way_sync(second, options=QUIET, client=sync_client)
    assert not clash.success and acted(clash, "conflict") == [doc2]
    settled = two_way_sync(second, options=replace(QUIET, conflict="remote"), client=sync_client)
    assert settled.success and acted(settled, "updated_local") == [doc2], settled.message
    assert local_contents(first) == local_contents(second) == remote_contents(cloud_id, sync_client, tmp_path)
