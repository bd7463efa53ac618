"""Downloading documents in bulk (sync.md §7, cloud-api §6.4): chunks of ids, polled zips, read as data.

Each chunk's zip is fetched to disk (never held in memory) once the cloud has written it; a chunk that comes
back short is asked again for the missing documents, and what is still missing is reported.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..api import CloudClient, TransferError, transfer
from ..api import documents as cloud_documents
from ..core import Document
from ..transfers.zips import read_document_zip

DOCUMENT_CHUNK = 2000


def fetch_zip(url: str, target: Path, *, client: CloudClient, timeout_s: float = 120.0) -> Path:
    """Poll a bulk-download URL until the zip exists (from 20 ms, doubling to 2 s), then stream it to ``target``."""
    deadline = time.monotonic() + timeout_s
    wait = 0.02
    while True:
        try:
            transfer.get_file(url, target, client=client, durable=False)
            return target
        except TransferError as exc:
            if exc.status not in (403, 404) or time.monotonic() >= deadline:  # not written yet: 404 (or 403)
                raise
        time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        wait = min(2.0, wait * 2)


def download_document_collection(cloud_dataset_id: str, wanted: dict[str, str], staging: Path, *,
                                 client: CloudClient, chunk: int = DOCUMENT_CHUNK,
                                 timeout_s: float = 120.0) -> tuple[list[Path], dict[str, str]]:
    """Fetch the documents ``wanted`` (ndiId -> apiId) as zips into ``staging``.

    Returns the zip files and the ndiIds still missing after one more request for them (ndiId -> why).
    """
    zips: list[Path] = []
    arrived: set[str] = set()
    for path in fetch_wanted(cloud_dataset_id, wanted, staging, arrived, client=client, chunk=chunk,
                             timeout_s=timeout_s):
        zips.append(path)
        arrived.update(properties["base"]["id"] for properties in read_document_zip(path) if _has_id(properties))
    return zips, missing_reasons(wanted, arrived)


def fetch_wanted(cloud_dataset_id: str, wanted: dict[str, str], staging: Path, arrived: set[str], *,
                 client: CloudClient, chunk: int = DOCUMENT_CHUNK, timeout_s: float = 120.0) -> Iterator[Path]:
    """The zips of the documents ``wanted`` (ndiId -> apiId), in chunks of ``chunk``.

    The caller adds the ndiIds it finds in each zip to ``arrived``. What the first pass left out is asked for
    once more (NDI-matlab#916: a short chunk is retried before anything is reported).
    """
    items = sorted(wanted.items())
    parts = [dict(items[start:start + chunk]) for start in range(0, len(items), chunk)]
    for attempt in range(2):
        for _, path in stream_document_chunks(cloud_dataset_id, parts, staging / f"pass-{attempt}", client=client,
                                              timeout_s=timeout_s):
            yield path
        left = {ndi_id: api_id for ndi_id, api_id in wanted.items() if ndi_id not in arrived}
        if not left:
            return
        parts = [left]


def missing_reasons(wanted: dict[str, str], arrived: set[str]) -> dict[str, str]:
    return {ndi_id: "not in the cloud's bulk download (asked twice)" for ndi_id in wanted if ndi_id not in arrived}


def _has_id(properties: dict[str, Any]) -> bool:
    base = properties.get("base")
    return isinstance(base, dict) and isinstance(base.get("id"), str)


def unseen_documents(zips: Iterable[Path], seen: set[str]) -> Iterator[Document]:
    """The documents in downloaded zips whose ndiId is not in ``seen`` (each once: ``seen`` grows)."""
    for path in zips:
        for properties in read_document_zip(path):
            if not _has_id(properties):
                continue
            ndi_id = properties["base"]["id"]
            if ndi_id in seen:
                continue
            seen.add(ndi_id)
            yield Document(properties)


def jsons_to_documents(zips: Iterable[Path], *, skip: set[str] | None = None) -> Iterator[Document]:
    """The documents in downloaded zips, each ndiId once (the first copy wins), minus ``skip``."""
    return unseen_documents(zips, set(skip or ()))


def stream_document_chunks(cloud_dataset_id: str, parts: list[dict[str, str]], staging: Path, *,
                           client: CloudClient, timeout_s: float = 120.0) -> Iterator[tuple[dict[str, str], Path]]:
    """Each chunk's zip in order, the next one fetched on a background thread while the caller adds this one.

    Each chunk's URL is asked for just before its zip is awaited (presigned URLs expire); a chunk whose zip
    never comes is asked for once more.
    """
    staging.mkdir(parents=True, exist_ok=True)

    def fetch(n: int, part: dict[str, str]) -> Path:
        target = staging / f"chunk-{n:05d}.zip"
        ids = list(part.values())
        try:
            url = cloud_documents.get_bulk_download_url(cloud_dataset_id, ids, client=client)
            return fetch_zip(url, target, client=client, timeout_s=timeout_s)
        except TransferError:  # expired, or never written: one fresh request
            url = cloud_documents.get_bulk_download_url(cloud_dataset_id, ids, client=client)
            return fetch_zip(url, target, client=client, timeout_s=timeout_s)

    if not parts:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(fetch, 0, parts[0])
        for n, part in enumerate(parts):
            path = upcoming.result()
            if n + 1 < len(parts):
                upcoming = pool.submit(fetch, n + 1, parts[n + 1])
            yield part, path
