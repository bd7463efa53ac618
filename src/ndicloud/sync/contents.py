"""Cloud documents' contents, fetched in bulk only where a plan needs them (sync.md §1: remote content hashes
are otherwise known only from the sync state)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..api import CloudClient
from ..download.documents import DOCUMENT_CHUNK, fetch_wanted, unseen_documents


@dataclass
class RemoteContents:
    """Content hash and ``base.datestamp`` of each fetched cloud document (by ndiId)."""

    hashes: dict[str, str] = field(default_factory=dict)
    datestamps: dict[str, str] = field(default_factory=dict)


def fetch_remote_contents(cloud_dataset_id: str, wanted: dict[str, str], *, client: CloudClient,
                          chunk: int = DOCUMENT_CHUNK, timeout_s: float = 120.0) -> RemoteContents:
    """Bulk-download the documents ``wanted`` (ndiId -> cloud id) into a scratch folder and hash them."""
    found = RemoteContents()
    if not wanted:
        return found
    scratch = Path(tempfile.mkdtemp(prefix="ndi-sync-"))
    try:
        seen: set[str] = set()
        for zipped in fetch_wanted(cloud_dataset_id, wanted, scratch, seen, client=client, chunk=chunk,
                                   timeout_s=timeout_s):
            for doc in unseen_documents([zipped], seen):
                found.hashes[doc.id] = doc.content_hash()
                stamp = doc.properties.get("base", {}).get("datestamp")
                found.datestamps[doc.id] = stamp if isinstance(stamp, str) else ""
            zipped.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return found
