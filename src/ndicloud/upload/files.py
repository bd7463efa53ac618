"""Uploading binary files (sync.md §6, cloud-api §6.1-§6.2): zips of small files, single PUTs for large ones.

Which files: every uid the documents reference that the cloud does not already list as uploaded with the
same size. A referenced file missing here is reported before anything is sent. Batches go ``workers`` at a
time; zip jobs are waited for; and only a fresh file listing with the right sizes confirms an upload.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..api import Backoff, CloudClient, CloudError, FileEntry, OutcomeUnknown, transfer, waiters
from ..api import files as cloud_files
from ..transfers.inventory import LocalFile, remote_files
from ..transfers.progress import Step
from ..transfers.report import TransferReport
from ..transfers.state import SyncState
from ..transfers.urls import with_fresh_url
from ..transfers.zips import write_files_zip

ZIP_BATCH_BYTES = 50_000_000  # the reference's batch size (50 MB)
# Zipping saves requests, which is what small files cost; from a few megabytes on, the transfer itself
# dominates, and a zip only adds copies (the zip on this disk, the zip and its extraction on the server).
SINGLE_PUT_FROM_BYTES = 4_000_000


def scan_for_upload(local: dict[str, LocalFile], remote: dict[str, FileEntry], *, report: TransferReport,
                    state: SyncState, allow_missing: bool = False) -> list[LocalFile]:
    """The files to send; missing ones are reported (failed, or skipped when allowed), present ones noted."""
    to_send = []
    for uid, entry in sorted(local.items()):
        there = remote.get(uid)
        if not entry.present:
            if there is not None and there.uploaded:  # e.g. a lazily downloaded dataset: the cloud has it
                report.record("file", uid, "skipped", "already in the cloud (not here)")
                continue
            needed_by = ", ".join(entry.document_ids[:5]) + ("…" if len(entry.document_ids) > 5 else "")
            report.record("file", uid, "skipped" if allow_missing else "failed",
                          f"missing locally (.ndi/files/{uid}); needed by document(s) {needed_by}")
            continue
        if there is not None and there.uploaded and there.size == entry.size:
            report.record("file", uid, "skipped", "already in the cloud")
            if uid not in state.files:
                state.confirm_file(uid, entry.size or 0, None, True)
            continue
        to_send.append(entry)
    return to_send


def zip_for_upload(files: list[LocalFile], limit: int = ZIP_BATCH_BYTES,
                   single_from: int = SINGLE_PUT_FROM_BYTES) -> tuple[list[list[LocalFile]], list[LocalFile]]:
    """Greedy batches of small files (each at most ``limit`` bytes in all) and the files sent alone (from
    ``single_from`` bytes, and any too large for a batch)."""
    batches: list[list[LocalFile]] = []
    singles: list[LocalFile] = []
    current: list[LocalFile] = []
    current_size = 0
    for entry in sorted(files, key=lambda f: f.uid):
        size = entry.size or 0
        if size > limit or size >= single_from:
            singles.append(entry)
            continue
        if current and current_size + size > limit:
            batches.append(current)
            current, current_size = [], 0
        current.append(entry)
        current_size += size
    if current:
        batches.append(current)
    return batches, singles


def upload_files(cloud_dataset_id: str, files: list[LocalFile], *, client: CloudClient, report: TransferReport,
                 strategy: str = "batch", workers: int = 4, step: Step | None = None,
                 job_wait: Backoff | None = None) -> dict[str, tuple[int, str]]:
    """Send the files; uid -> (size, sha256) of those the transfer layer saw accepted (not yet confirmed)."""
    if strategy not in ("batch", "serial"):
        raise ValueError(f"file_upload_strategy must be 'batch' or 'serial', got {strategy!r}")
    batches, singles = zip_for_upload(files) if strategy == "batch" else ([], list(files))
    accepted: dict[str, tuple[int, str]] = {}
    with tempfile.TemporaryDirectory(prefix="ndi-files-") as scratch:
        tasks: list[tuple[list[LocalFile], Callable[[], dict[str, tuple[int, str]]]]] = []
        for n, batch in enumerate(batches):
            zipped = Path(scratch) / f"batch-{n}.zip"
            tasks.append((batch, lambda b=batch, z=zipped: _send_zip(cloud_dataset_id, b, z, client, job_wait)))
        for entry in singles:
            tasks.append(([entry], lambda e=entry: _send_single(cloud_dataset_id, e, client)))
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(task): batch for batch, task in tasks}
            for future in as_completed(futures):
                batch = futures[future]
                try:
                    done = future.result()
                except OutcomeUnknown:  # perhaps stored: the file listing decides (confirm_files)
                    done = {entry.uid: (entry.size or 0, None) for entry in batch}
                except (CloudError, OSError) as exc:
                    for entry in batch:
                        report.record("file", entry.uid, "failed", str(exc))
                    continue
                accepted.update(done)
                moved = sum(size for size, _ in done.values())
                report.bytes_moved += moved
                if step is not None:
                    step.advance(moved)
    return accepted


def _send_zip(cloud_dataset_id: str, batch: list[LocalFile], zipped: Path, client: CloudClient,
              job_wait: Backoff | None) -> dict[str, tuple[int, str]]:
    written = write_files_zip(((entry.uid, entry.path) for entry in batch), zipped)
    jobs: list[str | None] = []

    def new_url() -> str:
        url, job = cloud_files.get_file_collection_upload_url(cloud_dataset_id, client=client)
        jobs.append(job)
        return url

    try:
        with_fresh_url(new_url, lambda url: transfer.put_file(url, zipped, client=client))
    finally:
        zipped.unlink(missing_ok=True)
    job_id = jobs[-1]
    if job_id:
        waiters.wait_for_bulk_upload(job_id, client=client,
                                     backoff=job_wait or Backoff(first_s=0.2, cap_s=5.0, timeout_s=600.0))
    return written


def _send_single(cloud_dataset_id: str, entry: LocalFile, client: CloudClient) -> dict[str, tuple[int, str]]:
    digest = transfer.Digest()
    size = with_fresh_url(lambda: cloud_files.get_file_upload_url(cloud_dataset_id, entry.uid, client=client),
                          lambda url: transfer.put_file(url, entry.path, client=client, digest=digest))
    return {entry.uid: (size, digest.hexdigest())}


def confirm_files(cloud_dataset_id: str, accepted: dict[str, tuple[int, str]], *, client: CloudClient,
                  report: TransferReport, state: SyncState, timeout_s: float = 120.0) -> None:
    """Re-read the file listing until every accepted uid is uploaded with its size (or time is up)."""
    deadline = time.monotonic() + timeout_s
    wait = 0.25
    while True:
        listed = remote_files(cloud_dataset_id, client)
        waiting = [uid for uid, (size, _) in accepted.items()
                   if not (uid in listed and listed[uid].uploaded and listed[uid].size == size)]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        wait = min(5.0, wait * 2)
    for uid, (size, sha) in accepted.items():
        if uid in waiting:
            there = listed.get(uid)
            seen = "not listed" if there is None else f"listed with uploaded={there.uploaded}, size={there.size}"
            report.record("file", uid, "failed", f"{seen} {timeout_s:.0f} s after upload (sent {size} bytes)")
        else:
            report.record("file", uid, "uploaded")
            state.confirm_file(uid, size, sha, True)
