"""Sync behaviour beyond NDI-matlab (sync.md §3, §9): one-sided edits follow, two-sided edits are conflicts,
deletions follow when asked, files of synced documents are sent, a failed bulk job stops a sync, a dry run
changes nothing and plans what the real run does, and the live remote is re-checked. All against the local
server over HTTP."""

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
    edit,
    edit_in_cloud,
    linked_pair,
    local_contents,
    new_doc,
    remote_contents,
    remote_listing,
)

from fixture_facts import FILE_NAME


def acted(report: TransferReport, action: str, kind: str = "document") -> list[str]:
    """The ids the report says were ``action``-ed, sorted."""
    return sorted(item.key for item in report.items if item.kind == kind and item.action == action)


def detail(report: TransferReport, key: str) -> str:
    return " | ".join(item.detail or "" for item in report.items if item.key == key)


def synced_pair(tmp_path: Path, api: CloudClient, names: list[str]) -> tuple[Path, str, dict[str, Document]]:
    """A local dataset and its cloud dataset holding the same documents ``names``, synced once."""
    path, cloud_id, made = linked_pair(tmp_path, api, names, [])
    first = two_way_sync(path, options=QUIET, client=api)
    assert first.success and acted(first, "uploaded") == sorted(d.id for d in made.values()), first.message
    return path, cloud_id, made


def change_local(path: Path, doc_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Replace a local document by a version changed by ``change`` (any field, e.g. ``base.datestamp``)."""
    with Dataset.open(path, readonly=False) as dataset:
        doc = dataset.get(doc_id)
        change(doc.properties)
        dataset.store.add(doc, replace=True)


def change_in_cloud(cloud_id: str, api: CloudClient, doc_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """As ``edit_in_cloud``, with any change: a new version added, every old copy removed."""
    old = remote_listing(cloud_id, api)[doc_id]
    properties = documents.get_document(cloud_id, max(old), client=api)
    properties.pop("id", None)
    change(properties)
    documents.add_document(cloud_id, properties, client=api)
    documents.bulk_delete_documents(cloud_id, old, client=api)


def edit_in_place(cloud_id: str, api: CloudClient, doc_id: str, value: Any) -> None:
    """Change a cloud document as another tool may: replaced in place (PUT), keeping its one cloud id."""
    (api_id,) = remote_listing(cloud_id, api)[doc_id]
    properties = documents.get_document(cloud_id, api_id, client=api)
    properties.pop("id", None)
    properties["demoNDI"]["value"] = value
    documents.update_document(cloud_id, api_id, properties, client=api)


# -- a content edit on one side propagates ---------------------------------------------------------------------


def test_local_edit_goes_to_the_cloud_in_two_way_sync(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2"])
    doc1 = made["doc1"].id
    old_copies = remote_listing(cloud_id, sync_client)[doc1]
    edit(path, doc1, value=42)
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"updated_remote": 1} and acted(report, "updated_remote") == [doc1]
    listing = remote_listing(cloud_id, sync_client)
    assert len(listing[doc1]) == 1 and listing[doc1] != old_copies  # one copy left: the new version
    assert remote_contents(cloud_id, sync_client, tmp_path) == local_contents(path)
    again = two_way_sync(path, options=QUIET, client=sync_client)
    assert again.success and again.counts("document") == {}


def test_cloud_edit_comes_here_in_two_way_sync(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2"])
    doc2 = made["doc2"].id
    edit_in_cloud(cloud_id, sync_client, doc2, tmp_path, value=7)
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"updated_local": 1} and acted(report, "updated_local") == [doc2]
    with Dataset.open(path) as dataset:
        assert dataset.get(doc2).properties["demoNDI"]["value"] == 7
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)
    again = two_way_sync(path, options=QUIET, client=sync_client)
    assert again.success and again.counts("document") == {}


def test_mirror_to_remote_replaces_changed_cloud_documents_and_all_their_copies(tmp_path: Path,
                                                                                sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2", "doc3"])
    doc1, doc2 = made["doc1"].id, made["doc2"].id
    edit_in_cloud(cloud_id, sync_client, doc1, tmp_path, value="cloud")  # changed in the cloud
    documents.add_document(cloud_id, made["doc2"], client=sync_client)  # a stray duplicate copy of doc2 ...
    edit(path, doc2, value="here")  # ... which changed here
    assert len(remote_listing(cloud_id, sync_client)[doc2]) == 2
    here = local_contents(path)
    report = mirror_to_remote(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"updated_remote": 2}
    assert acted(report, "updated_remote") == sorted([doc1, doc2])
    assert all(len(copies) == 1 for copies in remote_listing(cloud_id, sync_client).values())
    assert remote_contents(cloud_id, sync_client, tmp_path) == here == local_contents(path)  # nothing changed here


def test_mirror_from_remote_replaces_a_changed_local_document(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2"])
    doc2 = made["doc2"].id
    before = remote_listing(cloud_id, sync_client)
    edit(path, doc2, value="local")
    report = mirror_from_remote(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"updated_local": 1} and acted(report, "updated_local") == [doc2]
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)
    assert remote_listing(cloud_id, sync_client) == before  # the mirror changed nothing in the cloud
    with Dataset.open(path) as dataset:
        assert dataset.get(doc2).properties["demoNDI"]["value"] == 1


def test_mirrors_without_update_changed_leave_changed_documents_alone(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2"])
    doc1, doc2 = made["doc1"].id, made["doc2"].id
    edit(path, doc1, value="here")
    edit_in_cloud(cloud_id, sync_client, doc2, tmp_path, value="there")
    here, there = local_contents(path), remote_contents(cloud_id, sync_client, tmp_path)
    listing = remote_listing(cloud_id, sync_client)
    keep = replace(QUIET, update_changed=False)
    for mirror in (mirror_to_remote, mirror_from_remote):
        report = mirror(path, options=keep, client=sync_client)
        assert report.success and report.counts("document") == {}, report.message
        assert report.plan is not None and report.plan["counts"]["in_sync"] == 2
    assert local_contents(path) == here and remote_contents(cloud_id, sync_client, tmp_path) == there
    assert remote_listing(cloud_id, sync_client) == listing
    # the edits left alone are still edits: a later two-way sync carries each one across
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert acted(report, "updated_remote") == [doc1] and acted(report, "updated_local") == [doc2]
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)


# -- an edit on both sides is a conflict -----------------------------------------------------------------------


def edited_on_both_sides(tmp_path: Path, api: CloudClient) -> tuple[Path, str, str, str]:
    """A synced pair whose doc1 then changed differently on each side (value "here" / "there");
    (path, cloud id, doc1's id, doc2's id) - doc2 is untouched."""
    path, cloud_id, made = synced_pair(tmp_path, api, ["doc1", "doc2"])
    doc1 = made["doc1"].id
    edit(path, doc1, value="here")
    edit_in_cloud(cloud_id, api, doc1, tmp_path, value="there")
    return path, cloud_id, doc1, made["doc2"].id


def values(path: Path, cloud_id: str, api: CloudClient, doc_id: str) -> tuple[Any, Any]:
    """demoNDI.value of the document here and in the cloud (its only copy there)."""
    with Dataset.open(path) as dataset:
        here = dataset.get(doc_id).properties["demoNDI"]["value"]
    copies = remote_listing(cloud_id, api)[doc_id]
    assert len(copies) == 1
    return here, documents.get_document(cloud_id, copies[0], client=api)["demoNDI"]["value"]


def test_an_edit_on_both_sides_is_a_conflict_that_changes_neither_side(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, doc1, _ = edited_on_both_sides(tmp_path, sync_client)
    here, listing = local_contents(path), remote_listing(cloud_id, sync_client)
    there = remote_contents(cloud_id, sync_client, tmp_path)
    for _ in range(2):  # reported, and reported again: a conflict left is not forgotten
        report = two_way_sync(path, options=QUIET, client=sync_client)
        assert not report.success
        assert report.counts("document") == {"conflict": 1} and acted(report, "conflict") == [doc1]
        assert "changed on both sides" in detail(report, doc1) and doc1 in report.message
        assert local_contents(path) == here and remote_listing(cloud_id, sync_client) == listing
        assert remote_contents(cloud_id, sync_client, tmp_path) == there
    assert values(path, cloud_id, sync_client, doc1) == ("here", "there")


@pytest.mark.parametrize(("policy", "winner"), [("local", "here"), ("remote", "there")])
def test_a_conflict_is_resolved_by_the_local_or_remote_policy(tmp_path: Path, sync_client: CloudClient,
                                                               policy: str, winner: str):
    path, cloud_id, doc1, _ = edited_on_both_sides(tmp_path, sync_client)
    report = two_way_sync(path, options=replace(QUIET, conflict=policy), client=sync_client)
    assert report.success, report.message
    action = "updated_remote" if policy == "local" else "updated_local"
    assert report.counts("document") == {action: 1} and acted(report, action) == [doc1]
    assert values(path, cloud_id, sync_client, doc1) == (winner, winner)
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)
    after = two_way_sync(path, options=QUIET, client=sync_client)  # settled: the default policy finds nothing
    assert after.success and after.counts("document") == {}


def test_a_conflict_is_resolved_by_the_newer_datestamp(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2", "doc3"])
    doc1, doc2 = made["doc1"].id, made["doc2"].id

    def stamped(value: str, stamp: str) -> Callable[[dict[str, Any]], None]:
        def change(properties: dict[str, Any]) -> None:
            properties["demoNDI"]["value"] = value
            properties["base"]["datestamp"] = stamp
        return change

    change_local(path, doc1, stamped("here", "2031-01-01T00:00:02.000Z"))  # doc1: newer here
    change_in_cloud(cloud_id, sync_client, doc1, stamped("there", "2031-01-01T00:00:01.000Z"))
    change_local(path, doc2, stamped("here", "2031-01-01T00:00:01.000Z"))  # doc2: newer in the cloud
    change_in_cloud(cloud_id, sync_client, doc2, stamped("there", "2031-01-01T00:00:02.000Z"))
    report = two_way_sync(path, options=replace(QUIET, conflict="newer"), client=sync_client)
    assert report.success, report.message
    assert acted(report, "updated_remote") == [doc1] and acted(report, "updated_local") == [doc2]
    assert report.counts("document") == {"updated_remote": 1, "updated_local": 1}
    assert "local copy is newer" in detail(report, doc1)
    assert values(path, cloud_id, sync_client, doc1) == ("here", "here")
    assert values(path, cloud_id, sync_client, doc2) == ("there", "there")
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)


# -- deletions -------------------------------------------------------------------------------------------------


def delete_here(path: Path, doc_id: str) -> None:
    with Dataset.open(path, readonly=False) as dataset:
        dataset.store.remove(doc_id)


def delete_in_cloud(cloud_id: str, api: CloudClient, doc_id: str) -> None:
    documents.bulk_delete_documents(cloud_id, remote_listing(cloud_id, api)[doc_id], client=api)


PROPAGATE = replace(QUIET, propagate_deletions=True)


def test_deletions_since_the_last_sync_follow_when_asked(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2", "doc3"])
    doc1, doc2, doc3 = made["doc1"].id, made["doc2"].id, made["doc3"].id
    documents.add_document(cloud_id, made["doc1"], client=sync_client)  # a second, equal cloud copy of doc1
    delete_here(path, doc1)
    delete_in_cloud(cloud_id, sync_client, doc2)
    report = two_way_sync(path, options=PROPAGATE, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"deleted_remote": 1, "deleted_local": 1}
    assert acted(report, "deleted_remote") == [doc1] and acted(report, "deleted_local") == [doc2]
    assert list(remote_listing(cloud_id, sync_client)) == [doc3]  # every copy of doc1 is gone
    assert list(local_contents(path)) == [doc3]
    with Dataset.open(path) as dataset:
        assert dataset.remote_link() is not None
    again = two_way_sync(path, options=PROPAGATE, client=sync_client)
    assert again.success and again.counts("document") == {}


def test_without_propagation_a_two_way_sync_restores_deleted_documents(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2", "doc3"])
    doc1, doc2 = made["doc1"].id, made["doc2"].id
    everything = local_contents(path)
    delete_here(path, doc1)
    delete_in_cloud(cloud_id, sync_client, doc2)
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"downloaded": 1, "uploaded": 1}
    assert acted(report, "downloaded") == [doc1] and acted(report, "uploaded") == [doc2]
    assert local_contents(path) == everything == remote_contents(cloud_id, sync_client, tmp_path)


def test_a_deletion_does_not_win_over_an_edit_on_the_other_side(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2", "doc3"])
    doc1, doc2 = made["doc1"].id, made["doc2"].id
    delete_here(path, doc1)
    edit_in_cloud(cloud_id, sync_client, doc1, tmp_path, value="edited in the cloud")
    edit(path, doc2, value="edited here")
    delete_in_cloud(cloud_id, sync_client, doc2)
    report = two_way_sync(path, options=PROPAGATE, client=sync_client)
    assert report.success, report.message
    # the edited copy comes back to the side that deleted it, and the plan says why
    assert report.counts("document") == {"downloaded": 1, "uploaded": 1}
    assert acted(report, "downloaded") == [doc1] and acted(report, "uploaded") == [doc2]
    assert report.plan is not None
    assert "changed in the cloud" in report.plan["notes"][doc1] and "changed here" in report.plan["notes"][doc2]
    assert values(path, cloud_id, sync_client, doc1) == ("edited in the cloud", "edited in the cloud")
    assert values(path, cloud_id, sync_client, doc2) == ("edited here", "edited here")
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)
    assert len(local_contents(path)) == 3


def test_a_document_gone_from_both_sides_is_new_when_it_comes_back(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2"])
    doc1 = made["doc1"].id
    delete_here(path, doc1)
    delete_in_cloud(cloud_id, sync_client, doc1)
    quiet = two_way_sync(path, options=PROPAGATE, client=sync_client)
    assert quiet.success and quiet.counts("document") == {}, quiet.message
    documents.add_document(cloud_id, made["doc1"], client=sync_client)  # someone puts it back in the cloud
    report = two_way_sync(path, options=PROPAGATE, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"downloaded": 1} and acted(report, "downloaded") == [doc1]
    assert sorted(local_contents(path)) == sorted(remote_listing(cloud_id, sync_client)) == sorted(
        d.id for d in made.values())


# -- files of documents that are already in the cloud (NDI-matlab#805) -----------------------------------------


def doc_with_file(path: Path, name: str, payload: bytes, scratch: Path) -> tuple[Document, str]:
    """Add a demoNDI document carrying one file (ingested into ``.ndi/files``); the document and the file uid."""
    source = scratch / f"{name}.bin"
    source.write_bytes(payload)
    with Dataset.open(path, readonly=False) as dataset:
        doc = Document.new("demoNDI", session_id=dataset.id, name=name, file_list=[FILE_NAME, "other.ext"])
        uid = doc.add_file(FILE_NAME, str(source))["uid"]
        dataset.add_documents(doc)
    return doc, uid


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


# -- edits with files, edits in place, copies that were never synced -------------------------------------------


def test_a_cloud_edit_of_a_document_with_a_file_replaces_it_here_and_keeps_the_bytes(tmp_path: Path,
                                                                                   sync_client: CloudClient):
    path, cloud_id, _ = linked_pair(tmp_path, sync_client, [], [])
    doc, uid = doc_with_file(path, "recording", b"the recorded bytes", tmp_path)
    assert two_way_sync(path, options=QUIET, client=sync_client).success
    edit_in_cloud(cloud_id, sync_client, doc.id, tmp_path, value="annotated in the cloud")
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"updated_local": 1} and report.counts("file") == {"skipped": 1}
    with Dataset.open(path) as dataset:
        assert dataset.get(doc.id).properties["demoNDI"]["value"] == "annotated in the cloud"
        assert [(b.uid, b.present, b.path.read_bytes()) for b in dataset.binaries()] == [
            (uid, True, b"the recorded bytes")]
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)
    again = two_way_sync(path, options=QUIET, client=sync_client)
    assert again.success and again.counts("document") == {} and acted(again, "uploaded", "file") == []


def test_an_edit_in_place_in_the_cloud_is_found_when_contents_are_checked(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2"])
    doc1 = made["doc1"].id
    edit_in_place(cloud_id, sync_client, doc1, "edited in place by another tool")
    cheap = two_way_sync(path, options=QUIET, client=sync_client)  # one listing: the cloud ids are unchanged
    assert cheap.success and cheap.counts("document") == {}, cheap.message
    checked = two_way_sync(path, options=replace(QUIET, check_remote_content=True), client=sync_client)
    assert checked.success, checked.message
    assert checked.counts("document") == {"updated_local": 1} and acted(checked, "updated_local") == [doc1]
    assert values(path, cloud_id, sync_client, doc1) == ("edited in place by another tool",) * 2


def test_documents_that_differ_and_were_never_synced_are_a_conflict(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], [])
    cloud_version = made["doc1"].to_dict()
    cloud_version["demoNDI"]["value"] = "the cloud's"
    documents.add_document(cloud_id, cloud_version, client=sync_client)
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert not report.success and acted(report, "conflict") == [made["doc1"].id]
    assert "never synced" in detail(report, made["doc1"].id)
    settled = two_way_sync(path, options=replace(QUIET, conflict="local"), client=sync_client)
    assert settled.success and acted(settled, "updated_remote") == [made["doc1"].id], settled.message
    assert values(path, cloud_id, sync_client, made["doc1"].id) == (1, 1)


def test_the_same_edit_made_on_both_sides_is_recorded_as_in_sync(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = synced_pair(tmp_path, sync_client, ["doc1", "doc2"])
    doc1 = made["doc1"].id
    edit(path, doc1, value="agreed")
    edit_in_place(cloud_id, sync_client, doc1, "agreed")  # the same change, in place
    checked = two_way_sync(path, options=replace(QUIET, check_remote_content=True), client=sync_client)
    assert checked.success and checked.counts("document") == {}, checked.message
    listing = remote_listing(cloud_id, sync_client)
    cheap = two_way_sync(path, options=QUIET, client=sync_client)  # the state knows both sides agree
    assert cheap.success and cheap.counts("document") == {}, cheap.message
    assert remote_listing(cloud_id, sync_client) == listing
