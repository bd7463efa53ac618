"""Sync on a folder NDI-matlab synced last (sync.md §2, local-format.md §7): its ``.ndi/sync/index.json`` is
honoured as MATLAB reads it, and after our sync MATLAB still finds its keys, with the right ids."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ndicloud.api import CloudClient, documents
from ndicloud.core import Dataset
from ndicloud.sync import download_new, two_way_sync, upload_new
from sync_helpers import QUIET, acted, linked_pair, local_contents, remote_listing

MATLAB_STAMP = "2025-05-28T21:09:33GMT+02:00"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def write_matlab_index(path: Path, local_ids: Any, remote_ids: Any, **extra: Any) -> Path:
    """The index as NDI-matlab's writeSyncIndex leaves it: compact jsonencode, one id as a bare string."""
    index = path / ".ndi" / "sync" / "index.json"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(json.dumps({"localDocumentIdsLastSync": local_ids, "remoteDocumentIdsLastSync": remote_ids,
                                 "lastSyncTimestamp": MATLAB_STAMP, **extra}, separators=(",", ":")))
    return index


def assert_matlab_can_read(index: Path, cloud_id: str, local_ids: list[str], remote_ids: list[str]) -> dict[str, Any]:
    """MATLAB's three keys (id lists as arrays), the Python port's copies, and this project's state."""
    data = json.loads(index.read_text())
    assert data["localDocumentIdsLastSync"] == sorted(local_ids)
    assert data["remoteDocumentIdsLastSync"] == sorted(remote_ids)
    assert data["local_doc_ids_last_sync"] == sorted(local_ids)
    assert data["remote_doc_ids_last_sync"] == sorted(remote_ids)
    stamp = data["lastSyncTimestamp"]
    assert stamp != MATLAB_STAMP and ISO_WITH_OFFSET.match(stamp) and data["last_sync_timestamp"] == stamp
    state = data["ndiCloudState"][cloud_id]
    assert set(state) >= {"documents", "files"}
    assert all(re.fullmatch(r"[a-z_][A-Za-z0-9_]*", key, re.IGNORECASE) for key in data)  # MATLAB identifiers
    return data


def test_download_new_honours_a_matlab_index(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["both"], ["seen", "new"])
    documents.add_document(cloud_id, made["both"], client=sync_client)  # also in the cloud, never in the index
    # MATLAB's last sync saw "seen" in the cloud (it was deleted here since): not new, not downloaded again
    index = write_matlab_index(path, [], made["seen"].id)
    report = download_new(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    # "both" is here already: skipped (MATLAB would fail on it with a duplicate error), not downloaded twice
    assert report.counts("document") == {"downloaded": 1} and acted(report, "downloaded") == [made["new"].id]
    assert sorted(local_contents(path)) == sorted([made["both"].id, made["new"].id])
    ids = {name: doc.id for name, doc in made.items()}
    assert_matlab_can_read(index, cloud_id, [ids["both"], ids["new"]], [ids["both"], ids["seen"], ids["new"]])
    again = download_new(path, options=QUIET, client=sync_client)  # and we honour what we wrote
    assert again.success and again.counts("document") == {}


def test_upload_new_honours_a_matlab_index(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["gone", "new"], ["there"])
    other_tool = {"settings": {"keep": True}}
    someone_elses_state = {"0123456789abcdef01234567": {"documents": {"x": {"local": "h", "remote": "h"}},
                                                        "files": {}}}
    # MATLAB's last sync saw "gone" in the cloud (deleted there since): not new, not uploaded again
    index = write_matlab_index(path, made["gone"].id, [made["gone"].id, made["there"].id], otherTool=other_tool,
                               ndiCloudState=copy.deepcopy(someone_elses_state))
    report = upload_new(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"uploaded": 1} and acted(report, "uploaded") == [made["new"].id]
    listing = remote_listing(cloud_id, sync_client)
    assert sorted(listing) == sorted([made["new"].id, made["there"].id])
    data = assert_matlab_can_read(index, cloud_id, [made["gone"].id, made["new"].id],
                                  [made["new"].id, made["there"].id])
    assert data["otherTool"] == other_tool  # keys we do not know are kept
    assert data["ndiCloudState"]["0123456789abcdef01234567"] == someone_elses_state["0123456789abcdef01234567"]
    assert data["ndiCloudState"][cloud_id]["documents"][made["new"].id]["apiIds"] == listing[made["new"].id]


def test_a_matlab_index_with_single_ids_and_empty_lists_starts_a_two_way_sync(tmp_path: Path,
                                                                              sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["both", "here"], ["there"])
    documents.add_document(cloud_id, made["both"], client=sync_client)
    index = write_matlab_index(path, made["both"].id, made["both"].id)
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success, report.message
    assert acted(report, "uploaded") == [made["here"].id] and acted(report, "downloaded") == [made["there"].id]
    everything = [doc.id for doc in made.values()]
    assert_matlab_can_read(index, cloud_id, everything, everything)
    write_matlab_index(path, [], [])  # MATLAB's empty lists: nothing was synced, so no absence is a deletion
    with Dataset.open(path, readonly=False) as dataset:
        dataset.store.remove(made["here"].id)
    again = two_way_sync(path, options=replace(QUIET, propagate_deletions=True), client=sync_client)
    assert again.success and again.counts("document") == {"downloaded": 1}, again.message
    assert sorted(local_contents(path)) == sorted(remote_listing(cloud_id, sync_client)) == sorted(everything)


def test_deletions_follow_from_the_ids_matlab_recorded(tmp_path: Path, sync_client: CloudClient):
    names = ["kept", "deleted_here", "deleted_there"]
    path, cloud_id, made = linked_pair(tmp_path, sync_client, names, [])
    api_ids = {name: documents.add_document(cloud_id, made[name], client=sync_client) for name in names}
    everything = sorted(doc.id for doc in made.values())
    write_matlab_index(path, everything, everything)  # MATLAB's last sync: all three on both sides
    with Dataset.open(path, readonly=False) as dataset:
        dataset.store.remove(made["deleted_here"].id)
    documents.bulk_delete_documents(cloud_id, [api_ids["deleted_there"]], client=sync_client)
    report = two_way_sync(path, options=replace(QUIET, propagate_deletions=True), client=sync_client)
    assert report.success, report.message
    assert report.counts("document") == {"deleted_remote": 1, "deleted_local": 1}
    assert acted(report, "deleted_remote") == [made["deleted_here"].id]
    assert acted(report, "deleted_local") == [made["deleted_there"].id]
    assert list(remote_listing(cloud_id, sync_client)) == list(local_contents(path)) == [made["kept"].id]
