"""The ten behaviour tests of sync.md §9 (from NDI-matlab's sync unit tests), against the local server."""

from __future__ import annotations

import copy
import shutil
from dataclasses import replace
from pathlib import Path

from ndicloud.api import CloudClient, documents
from ndicloud.core import Dataset, Document
from ndicloud.download import download_dataset
from ndicloud.sync import (
    download_new,
    find_duplicates,
    mirror_from_remote,
    mirror_to_remote,
    remove_duplicates,
    two_way_sync,
    upload_new,
    validate,
)
from ndicloud.upload import upload_dataset
from sync_helpers import (
    QUIET,
    linked_pair,
    local_contents,
    new_doc,
    remote_contents,
    remote_listing,
)

from conftest import dataset_contents
from fixture_facts import FILE_NAME

DRY = replace(QUIET, dry_run=True)


def test_1_upload_new_uploads_a_local_document_and_a_dry_run_nothing(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], [])
    dry = upload_new(path, options=DRY, client=sync_client)
    assert dry.success and dry.counts() == {} and remote_listing(cloud_id, sync_client) == {}
    assert dry.plan is not None and dry.plan["upload"] == [made["doc1"].id]
    done = upload_new(path, options=QUIET, client=sync_client)
    assert done.success, done.message
    assert done.counts("document") == {"uploaded": 1}
    assert list(remote_listing(cloud_id, sync_client)) == [made["doc1"].id]


def test_2_upload_new_twice_sends_only_the_new_document(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], [])
    assert upload_new(path, options=QUIET, client=sync_client).success
    with Dataset.open(path, readonly=False) as dataset:
        made["doc2"] = new_doc(dataset.id, "doc2")
        dataset.add_documents(made["doc2"])
    second = upload_new(path, options=QUIET, client=sync_client)
    assert second.success and [i.key for i in second.items if i.action == "uploaded"] == [made["doc2"].id]
    listing = remote_listing(cloud_id, sync_client)
    assert sorted(listing) == sorted([made["doc1"].id, made["doc2"].id])
    assert all(len(copies) == 1 for copies in listing.values())


def test_3_download_new_fetches_a_remote_document_once_and_a_dry_run_nothing(tmp_path: Path, sync_client: CloudClient):
    path, _, made = linked_pair(tmp_path, sync_client, [], ["doc1"])
    dry = download_new(path, options=DRY, client=sync_client)
    assert dry.success and dry.counts() == {} and local_contents(path) == {}
    first = download_new(path, options=QUIET, client=sync_client)
    assert first.success and first.counts("document") == {"downloaded": 1}
    again = download_new(path, options=QUIET, client=sync_client)
    assert again.success and again.counts("document") == {}
    assert list(local_contents(path)) == [made["doc1"].id]


def test_4_download_new_twice_with_a_new_remote_document_between(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, [], ["doc1"])
    assert download_new(path, options=QUIET, client=sync_client).success
    with Dataset.open(path) as dataset:
        made["doc2"] = new_doc(dataset.id, "doc2")
    documents.add_document(cloud_id, made["doc2"], client=sync_client)
    second = download_new(path, options=QUIET, client=sync_client)
    assert second.success and second.counts("document") == {"downloaded": 1}
    with Dataset.open(path) as dataset:
        ids = [d.id for d in dataset.documents() if d.class_name == "demoNDI"]
    assert sorted(ids) == sorted([made["doc1"].id, made["doc2"].id])  # exactly two, no duplicate


def test_5_mirror_from_remote_downloads_deletes_here_and_keeps_the_link(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], ["doc2"])
    report = mirror_from_remote(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"downloaded": 1, "deleted_local": 1}
    assert list(local_contents(path)) == [made["doc2"].id]
    with Dataset.open(path) as dataset:
        link = dataset.remote_link()
        assert link is not None and link.dataset_id == cloud_id


def test_6_mirror_to_remote_uploads_and_deletes_every_remote_copy(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], ["doc2"])
    documents.add_document(cloud_id, made["doc2"], client=sync_client)  # a duplicate copy: both must go
    report = mirror_to_remote(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"uploaded": 1, "deleted_remote": 1}
    assert list(remote_listing(cloud_id, sync_client)) == [made["doc1"].id]


def test_7_two_way_sync_unites_both_sides_and_deletes_nothing(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], ["doc2"])
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"uploaded": 1, "downloaded": 1}
    both = sorted([made["doc1"].id, made["doc2"].id])
    assert sorted(local_contents(path)) == both and sorted(remote_listing(cloud_id, sync_client)) == both


def test_8_validate_finds_one_sided_and_mismatched_documents(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1", "doc2", "doc3"], ["doc4"])
    for name in ("doc1", "doc2"):
        properties = copy.deepcopy(made[name].properties)
        if name == "doc2":
            properties["base"]["name"] = "renamed in the cloud"
        documents.add_document(cloud_id, properties, client=sync_client)
    result = validate(path, client=sync_client)
    assert result.local_only == [made["doc3"].id]
    assert result.remote_only == [made["doc4"].id]
    assert result.common == sorted([made["doc1"].id, made["doc2"].id])
    assert list(result.mismatched) == [made["doc2"].id] and "base.name" in result.mismatched[made["doc2"].id]
    assert not result.valid


def test_9_duplicates_are_found_and_removed(tmp_path: Path, sync_client: CloudClient):
    _, cloud_id, made = linked_pair(tmp_path, sync_client, [f"doc{n}" for n in range(10)], [])
    for _ in range(2):  # uploaded twice, without the missing-only filter
        for doc in made.values():
            documents.add_document(cloud_id, doc, client=sync_client)
    assert sum(len(c) for c in remote_listing(cloud_id, sync_client).values()) == 20
    duplicates = find_duplicates(cloud_id, client=sync_client)
    assert len(duplicates) == 10 and all(len(copies) == 2 for copies in duplicates.values())
    report = remove_duplicates(cloud_id, client=sync_client)
    assert report.success and report.counts("document") == {"deleted_remote": 10}
    after = remote_listing(cloud_id, sync_client)
    assert len(after) == 10 and all(copies == [min(duplicates[i])] for i, copies in after.items())


def test_10_two_copies_converge_through_the_cloud(tmp_path: Path, sync_client: CloudClient, matlab_dataset: Path):
    up = upload_dataset(matlab_dataset, client=sync_client)
    assert up.success, up.message
    cloud_id = up.cloud_dataset_id or ""
    down = download_dataset(cloud_id, tmp_path / "copies", mode="local", client=sync_client)
    assert down.success, down.message
    copy = Path(down.local_path or "")
    payload = tmp_path / "payload.bin"
    with Dataset.open(copy, readonly=False) as dataset:
        added = []
        for n in range(5):
            payload.write_bytes(f"bytes of document {n}".encode() * 300)
            doc = Document.new("demoNDI", session_id=dataset.id, name=f"new{n}", file_list=[FILE_NAME])
            doc.add_file("filename1.ext", str(payload))
            dataset.add_documents(doc)
            added.append(doc.id)
    from_copy = two_way_sync(copy, options=QUIET, client=sync_client)
    assert from_copy.success, from_copy.message
    assert from_copy.counts("document").get("uploaded", 0) >= 5 and from_copy.counts("file").get("uploaded") == 5
    into_original = two_way_sync(matlab_dataset, options=replace(QUIET, sync_files=True), client=sync_client)
    assert into_original.success, into_original.message
    assert into_original.counts("document").get("downloaded", 0) >= 5
    assert dataset_contents(matlab_dataset) == dataset_contents(copy)
    assert local_contents(copy) == remote_contents(cloud_id, sync_client, tmp_path)
    shutil.rmtree(tmp_path / "copies")
