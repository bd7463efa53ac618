"""Concurrent clients on one cloud dataset, with fault injection on: two local copies syncing at the same
time (one of them twice at once, which its sync state lock serializes), while a third client uploads files.
The end state is consistent: no duplicates, no lost document, both copies equal to the cloud."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from ndicloud.api import CloudClient, RetryPolicy, files
from ndicloud.api.transfer import get_file, put_file
from ndicloud.core import Dataset, new_id
from ndicloud.download import download_dataset
from ndicloud.sync import two_way_sync
from ndicloud.transfers import StateLockedError, TransferReport, state
from ndicloud.upload import upload_dataset
from sync_helpers import QUIET, local_contents, local_dataset, new_doc, remote_contents, remote_listing

from cloud_server import Account, cloud_server

PATIENT = RetryPolicy(retries=10, base_s=0.01, cap_s=0.05)
FAULTS = "seed={seed},error_rate=0.1,api_drop_rate=0.05,after_commit_rate=0.1,drop_rate=0.2,upload_drop_rate=0.2"
OPTIONS = replace(QUIET, conflict="local", document_chunk=3)


def _client(account: Account) -> CloudClient:
    return CloudClient(account.base_url, username=account.email, password=account.password, retry=PATIENT,
                       cache=False)


def _changes(path: Path, tag: str, edit_ids: list[str]) -> dict[str, object]:
    """Add three documents and edit some; the demoNDI value each changed or new document now has."""
    expected: dict[str, object] = {}
    with Dataset.open(path, readonly=False) as dataset:
        added = [new_doc(dataset.id, f"{tag}-new{n}", value=f"{tag}-new{n}") for n in range(3)]
        dataset.add_documents(added)
        expected.update({d.id: f"{tag}-new{n}" for n, d in enumerate(added)})
        for doc_id in edit_ids:
            doc = dataset.get(doc_id)
            doc.properties["demoNDI"]["value"] = f"{tag}-edit"
            dataset.store.add(doc, replace=True)
            expected[doc_id] = f"{tag}-edit"
    return expected


def _values(path: Path) -> dict[str, object]:
    with Dataset.open(path) as dataset:
        return {d.id: d.properties["demoNDI"]["value"] for d in dataset.documents() if d.class_name == "demoNDI"}


def _recording_lock(held: list[tuple[str, float, float]]) -> Callable[..., Iterator[None]]:
    """The sync state lock, noting when each holder got it and let it go."""
    original = state.exclusive

    @contextmanager
    def exclusive(lock_path: Path, what: str, *, wait_s: float = 10.0) -> Iterator[None]:
        with original(lock_path, what, wait_s=wait_s):
            start = time.monotonic()
            try:
                yield
            finally:
                held.append((str(lock_path), start, time.monotonic()))

    return exclusive


@pytest.mark.parametrize("seed", [1, 2])
def test_two_copies_and_a_file_uploader_at_the_same_time_end_consistent(tmp_path: Path, seed: int,
                                                                         monkeypatch: pytest.MonkeyPatch):
    held: list[tuple[str, float, float]] = []
    monkeypatch.setattr("ndicloud.sync.engine.exclusive", _recording_lock(held))
    with cloud_server(tmp_path / "data", faults=FAULTS.format(seed=seed), document_ingest_delay_s=0.02,
                      file_registration_delay_s=0.02, zip_extract_delay_s=0.02, download_delay_s=0.02,
                      worker_interval_s=0.01) as server:
        account = server.account()
        with _client(account) as client:
            here, _ = local_dataset(tmp_path / "here", [f"doc{n}" for n in range(8)])
            first = upload_dataset(here, document_chunk=3, client=client)
            assert first.success, first.message
            cloud_id = first.cloud_dataset_id or ""
            down = download_dataset(cloud_id, tmp_path / "there", client=client)
            assert down.success, down.message
            there = Path(down.local_path or "")
        original = sorted(_values(here))
        rnd = random.Random(seed)
        shuffled = rnd.sample(original, len(original))
        expected: dict[str, object] = dict.fromkeys(original, 1)
        expected.update(_changes(here, "here", shuffled[:2]))  # the copies edit different documents
        expected.update(_changes(there, "there", shuffled[2:4]))

        payloads = {new_id(): rnd.randbytes(rnd.randint(1, 50_000)) for _ in range(6)}
        reports: list[tuple[str, TransferReport]] = []
        locked: list[str] = []

        def sync(name: str, path: Path) -> Callable[[], None]:
            def run() -> None:
                with _client(account) as api:
                    try:
                        reports.append((name, two_way_sync(path, options=OPTIONS, client=api)))
                    except StateLockedError as exc:
                        locked.append(str(exc))

            return run

        def upload_files() -> None:
            with _client(account) as api:
                for uid, payload in payloads.items():
                    source = tmp_path / f"{uid}.bin"
                    source.write_bytes(payload)
                    put_file(files.get_file_upload_url(cloud_id, uid, client=api), source, client=api)

        with ThreadPoolExecutor(max_workers=4) as pool:
            running = [pool.submit(work) for work in
                       (sync("here", here), sync("there", there), sync("here again", here), upload_files)]
            for future in running:
                future.result(timeout=120)  # a client's error is raised here
        # Two syncs of one copy at once: the lock lets one wait for the other (or tells it so); never both inside.
        assert len(reports) + len(locked) == 3
        assert all("another ndi-cloud process is transferring or syncing" in message for message in locked)
        here_lock = [(start, end) for lock, start, end in sorted(held, key=lambda h: h[1])
                     if Path(lock).parents[2] == here]
        assert len(here_lock) == 2 - len(locked) and all(a[1] <= b[0] for a, b in pairwise(here_lock))
        failed = [(name, report.message) for name, report in reports if not report.success]
        # A sync may lose a race to the other copy's changes; it says so, and the next one settles it.
        for path in (here, there, here):
            with _client(account) as api:
                report = two_way_sync(path, options=OPTIONS, client=api)
                assert report.success, (report.message, failed)

        with _client(account) as api:
            listing = remote_listing(cloud_id, api)
            assert all(len(copies) == 1 for copies in listing.values()), f"duplicates: {listing}"
            remote = remote_contents(cloud_id, api, tmp_path)
            assert files.get_uploaded_file_ids(cloud_id, client=api) >= set(payloads)
            for uid, payload in payloads.items():  # the uploader's bytes, whole, under faults
                received = tmp_path / f"{uid}.received"
                get_file(files.get_file_details(cloud_id, uid, client=api)["downloadUrl"], received, client=api)
                assert received.read_bytes() == payload, uid
        assert local_contents(here) == remote and local_contents(there) == remote
        assert _values(here) == expected  # nothing lost, every change kept
        for path in (here, there):
            state = json.loads((path / ".ndi" / "sync" / "index.json").read_text())
            assert sorted(state["localDocumentIdsLastSync"]) == sorted(expected)
