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
from ..core.files import binary_path

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


def local_inventory(dataset: Dataset) -> tuple[dict[str, str], dict[str, LocalFile]]:
    """One pass over the live documents: ndiId -> content hash of each shareable one, and uid -> local state
    of every file they reference (every location of every ``file_info`` entry)."""
    hashes: dict[str, str] = {}
    needed: dict[str, list[str]] = {}
    for doc in shareable_documents(dataset):
        hashes[doc.id] = doc.content_hash()
        for info in doc.file_info:
            for location in info.get("locations") or []:
                uid = location.get("uid") if isinstance(location, dict) else None
                if isinstance(uid, str) and uid:
                    needed.setdefault(uid, []).append(doc.id)
    found: dict[str, LocalFile] = {}
    for uid, document_ids in needed.items():
        path = binary_path(dataset.files_dir, uid)
        present = path.is_file()
        found[uid] = LocalFile(uid, path, present, path.stat().st_size if present else None, tuple(document_ids))
    return hashes, found


def remote_documents(cloud_dataset_id: str, client: CloudClient) -> dict[str, list[str]]:
    """ndiId -> every cloud id carrying it, from one paged listing."""
    return cloud_documents.get_uploaded_document_ids(cloud_dataset_id, client=client)


def remote_files(cloud_dataset_id: str, client: CloudClient) -> dict[str, FileEntry]:
    return {entry.uid: entry for entry in cloud_files.list_files(cloud_dataset_id, client=client)}
