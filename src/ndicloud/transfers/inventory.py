"""Both sides' inventories (sync.md §1): enumerated live, never inferred from the sync state.

Local: every live document's ndiId and content hash, and every referenced file uid with whether its bytes are
in ``.ndi/files``. Remote: one paged listing (ndiId -> every apiId, duplicates kept) and the dataset record's
file list. The ``dataset_remote`` link is machine-specific and stays out of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..api import CloudClient, FileEntry
from ..api import documents as cloud_documents
from ..api import files as cloud_files
from ..core import Dataset, Document

LINK_CLASS = "dataset_remote"


@dataclass(frozen=True)
class LocalFile:
    uid: str
    path: Path
    present: bool
    size: int | None
    document_ids: tuple[str, ...]


def shareable_documents(dataset: Dataset) -> Iterator[Document]:
    """The live documents that travel (all but the link to the cloud), streamed."""
    for document in dataset.documents():
        if document.class_name != LINK_CLASS:
            yield document


def local_document_hashes(dataset: Dataset) -> dict[str, str]:
    """ndiId -> content hash of every shareable local document."""
    return {doc.id: doc.content_hash() for doc in shareable_documents(dataset)}


def local_files(dataset: Dataset) -> dict[str, LocalFile]:
    """uid -> its local state, for every file the documents reference."""
    found: dict[str, LocalFile] = {}
    for entry in dataset.binaries():
        known = found.get(entry.uid)
        if known is not None:
            found[entry.uid] = LocalFile(known.uid, known.path, known.present, known.size,
                                         (*known.document_ids, entry.doc_id))
            continue
        size = entry.path.stat().st_size if entry.present else None
        found[entry.uid] = LocalFile(entry.uid, entry.path, entry.present, size, (entry.doc_id,))
    return found


def remote_documents(cloud_dataset_id: str, client: CloudClient) -> dict[str, list[str]]:
    """ndiId -> every cloud id carrying it, from one paged listing."""
    return cloud_documents.get_uploaded_document_ids(cloud_dataset_id, client=client)


def remote_files(cloud_dataset_id: str, client: CloudClient) -> dict[str, FileEntry]:
    return {entry.uid: entry for entry in cloud_files.list_files(cloud_dataset_id, client=client)}
