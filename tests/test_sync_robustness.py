"""Sync under interruption and faults: a killed sync rerun converges, seeded random edits on two copies
converge through a faulty server, and what one mode records never hides a change from another."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ndicloud.api import CloudClient, RetryPolicy, datasets
from ndicloud.core import Dataset
from ndicloud.download import download_dataset
from ndicloud.sync import SyncMode, two_way_sync, upload_new
from ndicloud.upload import upload_dataset
from sync_helpers import (
    QUIET,
    edit,
    edit_in_cloud,
    linked_pair,
    local_contents,
    local_dataset,
    new_doc,
    remote_contents,
    remote_listing,
)

from cloud_server import Account, cloud_server
from conftest import lock_held_elsewhere

PATIENT = RetryPolicy(retries=10, base_s=0.01, cap_s=0.05)

RUN_SYNC = """
import json, sys
from ndicloud.sync import SyncOptions, sync_dataset
path, mode = sys.argv[1:3]
report = sync_dataset(path, mode, SyncOptions(verbose=False, ingest_timeout_s=10, download_timeout_s=10,
                                              document_chunk=2))
print(json.dumps({"success": report.success, "message": report.message}))
sys.exit(0 if report.success else 1)
"""


def run_sync(account: Account, path: Path, mode: str, *, exit_after: int | None = None
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NDI_CLOUD_URL": account.base_url, "NDI_CLOUD_USERNAME": account.email,
           "NDI_CLOUD_PASSWORD": account.password}
    env.pop("NDI_CLOUD_TEST_EXIT_AFTER_REQUESTS", None)
    if exit_after is not None:
        env["NDI_CLOUD_TEST_EXIT_AFTER_REQUESTS"] = str(exit_after)
    return subprocess.run([sys.executable, "-c", RUN_SYNC, str(path), mode], env=env, capture_output=True,
                          text=True, timeout=120)


def test_upload_new_after_a_cloud_edit_leaves_the_edit_for_two_way_sync(tmp_path: Path, sync_client: CloudClient):
    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], [])
    assert two_way_sync(path, options=QUIET, client=sync_client).success
    edit_in_cloud(cloud_id, sync_client, made["doc1"].id, tmp_path, value=2)
    assert upload_new(path, options=QUIET, client=sync_client).success  # compares nothing; must record nothing
    report = two_way_sync(path, options=QUIET, client=sync_client)
    assert report.success and report.counts("document") == {"updated_local": 1}
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)


def _expected_after(mode: SyncMode, local: dict[str, str], remote: dict[str, str]) -> tuple[dict, dict]:
    """Both sides after an uninterrupted run of ``mode`` on sides with no conflicts (edits on one side only)."""
    if mode is SyncMode.UPLOAD_NEW:
        return local, {**remote, **{k: v for k, v in local.items() if k not in remote}}
    if mode is SyncMode.DOWNLOAD_NEW:
        return {**local, **{k: v for k, v in remote.items() if k not in local}}, remote
    if mode is SyncMode.MIRROR_TO_REMOTE:
        return local, local
    if mode is SyncMode.MIRROR_FROM_REMOTE:
        return remote, remote
    union = {**remote, **local}
    return union, union


@pytest.mark.parametrize("mode", list(SyncMode))
@pytest.mark.parametrize("exit_after", [5, 11])
def test_a_killed_sync_rerun_ends_as_an_uninterrupted_one(tmp_path: Path, mode: SyncMode, exit_after: int):
    with cloud_server(tmp_path / "data", document_ingest_delay_s=0.05, download_delay_s=0.05,
                      file_registration_delay_s=0.02, zip_extract_delay_s=0.02, worker_interval_s=0.01) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password, retry=PATIENT,
                         cache=False) as client:
            path, cloud_id, made = linked_pair(tmp_path, client, ["a", "b", "c", "d", "e"], ["p", "q", "r"])
            assert two_way_sync(path, options=QUIET, client=client).success  # a last-sync state to work from
            with Dataset.open(path, readonly=False) as dataset:  # new documents on both sides ...
                dataset.add_documents([new_doc(dataset.id, f"local{n}") for n in range(3)])
                remote_new = [new_doc(dataset.id, f"remote{n}") for n in range(3)]
            from ndicloud.api import documents

            for doc in remote_new:
                documents.add_document(cloud_id, doc, client=client)
            edit(path, made["a"].id, value="edited here")  # ... and an edit on each side
            edit_in_cloud(cloud_id, client, made["p"].id, tmp_path, value="edited in the cloud")
            before_local = local_contents(path)
            before_remote = remote_contents(cloud_id, client, tmp_path)
            if mode is SyncMode.DOWNLOAD_NEW or mode is SyncMode.UPLOAD_NEW:  # new-only modes leave edits alone
                expected_local, expected_remote = _expected_after(mode, before_local, before_remote)
            else:
                expected_local, expected_remote = _expected_after(mode, before_local, before_remote)
                if mode is SyncMode.TWO_WAY_SYNC:  # the cloud edit comes here, the local one goes there
                    expected_local[made["p"].id] = before_remote[made["p"].id]
                    expected_remote[made["a"].id] = before_local[made["a"].id]

            killed = run_sync(account, path, mode.value, exit_after=exit_after)
            assert killed.returncode == 137, killed.stdout + killed.stderr  # it really died mid-way
            rerun = run_sync(account, path, mode.value)
            assert rerun.returncode == 0, rerun.stdout + rerun.stderr
            listing = remote_listing(cloud_id, client)
            assert all(len(copies) == 1 for copies in listing.values()), f"duplicates: {listing}"
            assert local_contents(path) == expected_local
            assert remote_contents(cloud_id, client, tmp_path) == expected_remote


def _random_changes(rnd: random.Random, path: Path, tag: str) -> None:
    """Add, edit and delete a few documents of a local copy."""
    with Dataset.open(path, readonly=False) as dataset:
        ids = sorted(d.id for d in dataset.documents() if d.class_name == "demoNDI")
        dataset.add_documents([new_doc(dataset.id, f"{tag}-new{n}") for n in range(rnd.randint(0, 2))])
        for doc_id in rnd.sample(ids, k=min(len(ids), rnd.randint(0, 3))):
            doc = dataset.get(doc_id)
            doc.properties["demoNDI"]["value"] = f"{tag}-{rnd.random()}"
            dataset.store.add(doc, replace=True)
        doomed = rnd.sample(ids, k=min(len(ids), rnd.randint(0, 2)))
        if doomed:
            dataset.store.remove(doomed, missing_ok=True)


FAULTS = "seed={seed},error_rate=0.1,api_drop_rate=0.05,after_commit_rate=0.1,drop_rate=0.2,upload_drop_rate=0.2"


@pytest.mark.parametrize("seed", range(20))
def test_two_copies_with_random_edits_converge_through_a_faulty_server(tmp_path: Path, seed: int):
    rnd = random.Random(seed)
    options = replace(QUIET, propagate_deletions=True, conflict="local", document_chunk=3)
    with cloud_server(tmp_path / "data", faults=FAULTS.format(seed=seed), document_ingest_delay_s=0.02,
                      download_delay_s=0.02, worker_interval_s=0.01) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password, retry=PATIENT,
                         cache=False) as client:
            path, _ = local_dataset(tmp_path / "here", [f"doc{n}" for n in range(8)])
            first = upload_dataset(path, document_chunk=3, client=client)  # creates and links the cloud dataset
            assert first.success, first.message
            cloud_id = first.cloud_dataset_id or ""
            other = download_dataset(cloud_id, tmp_path / "other", client=client)
            assert other.success, other.message
            other_path = Path(other.local_path or "")
            _random_changes(rnd, other_path, "other")
            _random_changes(rnd, path, "here")
            for copy in (other_path, path, other_path):
                report = two_way_sync(copy, options=options, client=client)
                assert report.success, report.message
            listing = remote_listing(cloud_id, client)
            assert all(len(copies) == 1 for copies in listing.values()), f"duplicates: {listing}"
            remote = remote_contents(cloud_id, client, tmp_path)
            assert local_contents(path) == remote
            assert local_contents(other_path) == remote
            assert datasets.get_dataset(cloud_id, client=client).id == cloud_id


def test_the_link_document_is_never_one_of_the_dataset_documents(tmp_path: Path, sync_client: CloudClient):
    import json

    from ndicloud.sync import document_difference

    path, cloud_id, _ = linked_pair(tmp_path, sync_client, ["doc1"], ["doc2"])
    assert two_way_sync(path, options=QUIET, client=sync_client).success
    difference = document_difference(path, client=sync_client)
    assert difference.local_only == [] and difference.remote_only == [] and len(difference.common) == 2
    down = download_dataset(cloud_id, tmp_path / "copy", client=sync_client)
    with Dataset.open(down.local_path or "") as copy:
        link = copy.remote_link()
        assert link is not None
        link_id = next(d.id for d in copy.documents() if d.class_name == "dataset_remote")
    state = json.loads((Path(down.local_path or "") / ".ndi" / "sync" / "index.json").read_text())
    assert link_id not in state["localDocumentIdsLastSync"] and len(state["localDocumentIdsLastSync"]) == 2


def test_a_sync_of_a_folder_that_is_not_a_dataset_changes_nothing(tmp_path: Path, sync_client: CloudClient):
    from ndicloud.core import NotAnNdiFolderError

    folder = tmp_path / "not-a-dataset"
    folder.mkdir()
    with pytest.raises(NotAnNdiFolderError, match="not an NDI dataset"):
        two_way_sync(folder, options=QUIET, client=sync_client)
    assert list(folder.iterdir()) == []


def test_a_second_sync_of_the_same_dataset_is_told_so_and_the_state_is_intact(
        tmp_path: Path, sync_client: CloudClient, monkeypatch: pytest.MonkeyPatch):
    from ndicloud.transfers import StateLockedError, state

    path, cloud_id, made = linked_pair(tmp_path, sync_client, ["doc1"], ["doc2"])
    assert two_way_sync(path, options=QUIET, client=sync_client).success
    index = path / ".ndi" / "sync" / "index.json"
    before = index.read_bytes()
    with lock_held_elsewhere(path / ".ndi" / "sync" / "transfer.lock"):
        original = state.exclusive
        monkeypatch.setattr("ndicloud.sync.engine.exclusive",
                            lambda lock, what, wait_s=10.0: original(lock, what, wait_s=0.3))
        with pytest.raises(StateLockedError, match="another ndi-cloud process is transferring or syncing"):
            two_way_sync(path, options=QUIET, client=sync_client)
        assert index.read_bytes() == before
    edit(path, made["doc1"].id, value="after the other process")
    report = two_way_sync(path, options=QUIET, client=sync_client)  # once it is gone, the sync runs
    assert report.success and report.counts("document") == {"updated_remote": 1}
    assert local_contents(path) == remote_contents(cloud_id, sync_client, tmp_path)
