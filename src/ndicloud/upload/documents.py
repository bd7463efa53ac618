"""Uploading documents (sync.md §6, cloud-api §6.3): bulk zips by default, one request each when asked.

Every chunk is recorded as pending before it is sent. Completion is confirmed only by a fresh listing; a
chunk whose fate is unknown (a lost answer, a killed process) is waited for and then only its missing
documents are sent again, so a retry never makes duplicates.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import CloudClient, CloudError, OutcomeUnknown, transfer
from ..api import documents as cloud_documents
from ..api.datasets import document_count
from ..core import Document
from ..core.adding import chunks
from ..transfers.inventory import remote_documents
from ..transfers.progress import Step
from ..transfers.report import TransferReport
from ..transfers.state import SyncState
from ..transfers.urls import with_fresh_url
from ..transfers.zips import write_document_zip

DOCUMENT_CHUNK = 2000


def no_zip_requested() -> bool:
    """``NDI_CLOUD_UPLOAD_NO_ZIP`` set to true (also 1 or yes): one request per document, as NDI-matlab can."""
    return os.environ.get("NDI_CLOUD_UPLOAD_NO_ZIP", "").strip().lower() in ("true", "1", "yes")


@dataclass
class _Chunk:
    """One chunk on its way: its pending record, and what the cloud said (refused ndiIds; unknown fate)."""

    pending: dict[str, Any]
    ids: list[str]
    refused: dict[str, str] = field(default_factory=dict)
    unknown: bool = False  # a failure that may hide a stored upload: the listing decides, the entry stays


def upload_document_collection(cloud_dataset_id: str, documents: Iterable[Document], *, state: SyncState,
                               client: CloudClient, report: TransferReport, chunk: int = DOCUMENT_CHUNK,
                               serial: bool | None = None, step: Step | None = None,
                               replaces: dict[str, list[str]] | None = None) -> list[str]:
    """Send the documents (zips of ``chunk``, or one by one when ``serial``); the ndiIds sent.

    Nothing here says they arrived: confirm with :func:`confirm_documents`. A chunk the cloud refused (after
    the retries) is reported failed with the reason, and the others still go. A zip is sent on a thread
    while the next one is read and written here, so the two sides work at the same time; results are taken
    in order, and at most two zips exist at once. ``replaces`` (ndiId -> cloud ids of the copies a new version
    replaces) is kept in each chunk's pending record, so that a rerun can finish a replacement.
    """
    serial = no_zip_requested() if serial is None else serial
    sent: list[str] = []

    def finish(item: _Chunk) -> None:
        for ndi_id, why in item.refused.items():
            report.record("document", ndi_id, "failed", why)
        if len(item.refused) == len(item.ids):
            state.pending_uploads.remove(item.pending)
            state.save_pending()
            return
        if not item.unknown:
            item.pending["acknowledged"] = True  # stored: it will be ingested
            state.save_pending()
        sent.extend(ndi_id for ndi_id in item.ids if ndi_id not in item.refused)
        if step is not None:
            step.advance(len(item.ids))

    with tempfile.TemporaryDirectory(prefix="ndi-upload-") as scratch, \
            ThreadPoolExecutor(1, thread_name_prefix="ndi-upload") as sender:
        in_flight: deque[tuple[_Chunk, Future[None]]] = deque()
        try:
            for number, batch in enumerate(chunks(documents, chunk)):  # one pending record per chunk, both modes
                ids = [doc.id for doc in batch]
                item = _Chunk({"ndiIds": ids, "sentAt": time.time()}, ids)
                if replaces:
                    item.pending["replaces"] = {i: replaces[i] for i in ids if i in replaces}
                state.pending_uploads.append(item.pending)
                state.save_pending()
                if serial:
                    _send_each(cloud_dataset_id, batch, item, client)
                    finish(item)
                    continue
                zipped = Path(scratch) / f"documents-{number}.zip"
                write_document_zip((doc.properties for doc in batch), zipped)
                in_flight.append((item, sender.submit(_send_zip, cloud_dataset_id, zipped, item, client)))
                while len(in_flight) > 1:
                    _take(in_flight, finish)
            while in_flight:
                _take(in_flight, finish)
        finally:
            for _, future in in_flight:  # an error here: let the zip on its way settle (it may be stored)
                future.cancel()
    return sent


def _take(in_flight: deque[tuple[_Chunk, Future[None]]], finish: Callable[[_Chunk], None]) -> None:
    item, future = in_flight.popleft()
    future.result()  # CloudError is recorded in the item; anything else is a fault to raise
    finish(item)


def _send_each(cloud_dataset_id: str, batch: list[Document], item: _Chunk, client: CloudClient) -> None:
    for doc in batch:
        try:
            _send_one(cloud_dataset_id, doc, client)
        except CloudError as exc:
            if _maybe_stored(exc):
                item.unknown = True
            else:
                item.refused[doc.id] = str(exc)


def _send_zip(cloud_dataset_id: str, zipped: Path, item: _Chunk, client: CloudClient) -> None:
    try:
        with_fresh_url(lambda: cloud_documents.get_bulk_upload_url(cloud_dataset_id, client=client),
                       lambda url: transfer.put_file(url, zipped, client=client))
    except CloudError as exc:
        if _maybe_stored(exc):
            item.unknown = True
        else:  # refused (4xx), so not stored: nothing to wait for
            item.refused = dict.fromkeys(item.ids, str(exc))
    finally:
        zipped.unlink(missing_ok=True)


def _maybe_stored(exc: CloudError) -> bool:
    """A 5xx or a lost connection after the retries: the upload may have been stored anyway."""
    return exc.status is None or exc.status >= 500


def _send_one(cloud_dataset_id: str, document: Document, client: CloudClient) -> None:
    # A lost answer may hide an arrival: the confirming listing decides, and only a missing one is sent again.
    with contextlib.suppress(OutcomeUnknown):
        cloud_documents.add_document(cloud_dataset_id, document, client=client)


def confirm_documents(cloud_dataset_id: str, expected: set[str], *, client: CloudClient, timeout_s: float = 120.0,
                      already: int = 0, first_wait_s: float = 0.02, max_wait_s: float = 5.0,
                      replaced: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Re-list until every expected ndiId is there or the time is up; the last listing (ndiId -> apiIds).

    Between listings the cheap live count is polled: a full listing is taken only once the count has grown
    enough to hold every expected document (``already`` = documents listed before the upload) and every new
    version of those ``replaced`` (ndiId -> the cloud ids of the copies it replaces). The polls
    start 20 ms apart and grow by half each time: a near server has usually ingested the last chunk within
    a few of them, and a far one is not asked more than a few times a second for long.
    """
    deadline = time.monotonic() + timeout_s
    wait = first_wait_s
    while True:
        count = document_count(cloud_dataset_id, client=client)
        if count >= already + len(expected) + len(replaced or ()) or time.monotonic() >= deadline:
            listing = remote_documents(cloud_dataset_id, client)
            if (expected <= listing.keys() and not unreplaced(listing, replaced or {})) \
                    or time.monotonic() >= deadline:
                return listing
        time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        wait = min(max_wait_s, wait * 1.5)


def unreplaced(listing: dict[str, list[str]], replaced: dict[str, list[str]]) -> set[str]:
    """The ndiIds whose new version is not listed yet (every listed copy is one of those it replaces)."""
    return {ndi_id for ndi_id, old in replaced.items() if not set(listing.get(ndi_id, ())) - set(old)}


def pending_replacements(state: SyncState) -> dict[str, list[str]]:
    """ndiId -> the cloud ids a new version sent by an interrupted run replaces."""
    replaced: dict[str, list[str]] = {}
    for entry in state.pending_uploads:
        for ndi_id, old in (entry.get("replaces") or {}).items():
            replaced[ndi_id] = list(old)
    return replaced


def settle_pending(cloud_dataset_id: str, state: SyncState, *, client: CloudClient,
                   timeout_s: float, unacknowledged_s: float = 20.0) -> dict[str, list[str]]:
    """Chunks an earlier run sent without seeing them arrive: wait for them, then forget them.

    A chunk whose upload was acknowledged is waited for up to ``timeout_s`` after it was sent; one the run
    died while sending may or may not have been stored, and is waited for ``unacknowledged_s`` after it was
    sent (ingestion starts right after storage). A chunk of new versions is waited for until each is listed
    beside the copies it replaces (read those with :func:`pending_replacements` first). The returned listing
    is fresh; whatever is still missing from it is simply sent again.
    """
    replaced = pending_replacements(state)
    waiting = {ndi_id for entry in state.pending_uploads for ndi_id in entry.get("ndiIds", [])} - replaced.keys()
    if waiting or replaced:
        now = time.time()
        until = max(float(entry.get("sentAt", now)) + (timeout_s if entry.get("acknowledged") else
                                                        min(unacknowledged_s, timeout_s))
                    for entry in state.pending_uploads)
        listing = confirm_documents(cloud_dataset_id, waiting, client=client, timeout_s=max(0.0, until - now),
                                    replaced=replaced)
    else:
        listing = remote_documents(cloud_dataset_id, client)
    state.pending_uploads.clear()
    state.save_pending()
    return listing


def record_confirmed(report: TransferReport, state: SyncState, sent: list[str], listing: dict[str, list[str]],
                     hashes: dict[str, str], timeout_s: float) -> None:
    """Report each sent document as uploaded (listed) or failed (not listed in time), and keep the state.

    Pending chunks whose documents are all listed are forgotten; the others stay, so that a rerun waits for
    them (up to the ingest timeout after they were sent) before sending them again.
    """
    for ndi_id in sent:
        if ndi_id in listing:
            report.record("document", ndi_id, "uploaded")
            state.confirm_document(ndi_id, hashes.get(ndi_id), hashes.get(ndi_id), listing[ndi_id])
        else:
            report.record("document", ndi_id, "failed", f"not listed by the cloud {timeout_s:.0f} s after upload")
    state.pending_uploads[:] = [entry for entry in state.pending_uploads
                                if not set(entry.get("ndiIds", [])) <= listing.keys()]
    state.save_pending()
