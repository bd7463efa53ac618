"""Sync behaviour beyond NDI-matlab (sync.md §3, §9): one-sided edits follow, two-sided edits are conflicts,
deletions follow when asked, files of synced documents are sent, a failed bulk job stops a sync, and the
live remote is re-checked. All against the local server over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ndicloud.api import CloudClient, documents
from ndicloud.core import Dataset, Document
from ndicloud.sync import (
    mirror_from_remote,
    mirror_to_remote,
    two_way_sync,
)
from ndicloud.transfers.report import TransferReport
from sync_helpers import (
    QUIET,
    edit,
    edit_in_cloud,
    linked_pair,
    local_contents,
    remote_contents,
    remote_listing,
)


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


def hash_of(properties: dict[str, Any]) -> str:
    return Document(properties).content_hash()


# -- 1. a content edit on one side propagates ---------------------------------------------------------------


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
