"""Downloading binary files (sync.md §7, cloud-api §6.5), and fetching lazy ``ndic://`` files on first use.

Each file: a fresh ``downloadUrl`` just before use, streamed to ``<uid>.part`` (resumed with Range), its size
checked against the listing, its sha256 recorded, renamed into ``.ndi/files/<uid>``. A complete file already
there is not fetched again.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import BinaryIO

from ..api import CloudClient, CloudError, FileEntry, transfer
from ..api import files as cloud_files
from ..api.client import resolve
from ..core import Dataset, Document, MissingBinaryError
from ..core.files import binary_path, parse_ndic, sha256_of_file
from ..transfers.progress import Step
from ..transfers.report import TransferReport
from ..transfers.state import SyncState
from ..transfers.urls import with_fresh_url


def download_dataset_files(cloud_dataset_id: str, dataset: Dataset, remote: dict[str, FileEntry], *,
                           client: CloudClient, report: TransferReport, state: SyncState, workers: int = 4,
                           step: Step | None = None) -> None:
    """Fetch every file the local documents reference that is in the cloud and not (completely) here."""
    wanted: dict[str, FileEntry] = {}
    for entry in dataset.binaries():
        there = remote.get(entry.uid)
        if there is None or not there.uploaded:
            if not entry.present and entry.uid not in wanted:
                report.record("file", entry.uid, "failed", "not uploaded to the cloud, and not here")
            continue
        if entry.present and entry.path.stat().st_size == there.size:
            continue
        wanted[entry.uid] = there

    def fetch(uid: str, there: FileEntry) -> tuple[int, str]:
        target = binary_path(dataset.files_dir, uid)
        size = with_fresh_url(  # an URL that expires on the way is replaced; the .part is kept
            lambda: cloud_files.get_file_details(cloud_dataset_id, uid, client=client)["downloadUrl"],
            lambda url: transfer.get_file(url, target, expected_size=there.size, client=client))
        return size, sha256_of_file(target)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(fetch, uid, there): uid for uid, there in wanted.items()}
        for future in as_completed(futures):
            uid = futures[future]
            try:
                size, sha = future.result()
            except (CloudError, OSError) as exc:
                report.record("file", uid, "failed", str(exc))
                continue
            report.record("file", uid, "downloaded")
            report.bytes_moved += size
            state.confirm_file(uid, size, sha, True)
            if step is not None:
                step.advance(size)


def open_binary(dataset: Dataset, doc: Document | str, name: str, *, client: CloudClient | None = None) -> BinaryIO:
    """Open a document's binary; a lazy ``ndic://`` one is fetched into ``.ndi/files`` first (once)."""
    try:
        return dataset.open_binary(doc, name)
    except MissingBinaryError:
        document = doc if isinstance(doc, Document) else dataset.get(doc)
        links = [loc for loc in document.locations(name)
                 if str(loc.get("location", "")).startswith("ndic://")]
        if not links:
            raise
    link = parse_ndic(links[0]["location"])
    cloud = resolve(client)
    with _fetching(link.uid):  # two opens of one file at once fetch it once
        target = binary_path(dataset.files_dir, link.uid)
        if not target.is_file():
            expected: dict[str, int | None] = {}

            def fresh_url() -> str:
                details = cloud_files.get_file_details(link.dataset_id, link.uid, client=cloud)
                size = details.get("size")
                if not isinstance(size, int):  # the detail's fields vary: the listing has the size
                    size = {e.uid: e.size for e in cloud_files.list_files(link.dataset_id, client=cloud)}.get(link.uid)
                expected["size"] = size
                return details["downloadUrl"]

            with_fresh_url(fresh_url, lambda url: transfer.get_file(url, target, expected_size=expected["size"],
                                                                    client=cloud))
    return dataset.open_binary(document, name)


_fetch_locks: dict[str, threading.Lock] = {}
_fetch_guard = threading.Lock()


def _fetching(uid: str) -> threading.Lock:
    with _fetch_guard:
        return _fetch_locks.setdefault(uid, threading.Lock())
