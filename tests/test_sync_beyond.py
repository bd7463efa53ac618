"""Sync behaviour beyond NDI-matlab (sync.md §3, §9): one-sided edits follow, two-sided edits are conflicts,
deletions follow when asked, edits of documents with files and edits in place. Files of synced documents,
failed bulk jobs, dry runs and the live remote are in test_sync_runs.py. All against the local server over
HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ndicloud.api import CloudClient, documents
from ndicloud.core import Dataset
from ndicloud.sync import (
    mirror_from_remote,
    mirror_to_remote,
    two_way_sync,
)
from sync_helpers import (
    QUIET,
    acted,
    change_in_cloud,
    change_local,
    delete_here,
    delete_in_cloud,
    detail,
    doc_with_file,
    edit,
    edit_in_cloud,
    edit_in_place,
    linked_pair,
    local_contents,
    remote_contents,
    remote_listing,
    synced_pair,
)

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
