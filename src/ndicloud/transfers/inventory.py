"""Both sides' inventories (sync.md §1): enumerated live, never inferred from the sync state.

Local: every live document's ndiId and content hash, and every referenced file uid with whether its bytes are
in ``.ndi/files``. Remote: one paged listing (ndiId -> every apiId, duplicates kept) and the dataset record's
file list. The ``dataset_remote`` link is machine-specific and stays out of both.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..api import CloudClient, FileEntry
from ..api import documents as cloud_documents
from ..api import files as cloud_files
from ..core import Dataset, Document, Query
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


def shareable_ids(dataset: Dataset) -> set[str]:
    """The ndiIds of the live documents that travel, from the index (no document is decoded)."""
    links = dataset.store.search_ids(Query.isa(LINK_CLASS))  # document_class itself is not indexed
    return set(dataset.store.live_ids()).difference(links)


@dataclass
class LocalInventory:
    """What a pass over the live shareable documents found: each one's content hash, and which documents
    reference each file uid (every location of every ``file_info`` entry)."""

    hashes: dict[str, str] = field(default_factory=dict)
    references: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset: Dataset) -> LocalInventory:
        """The inventory of the whole dataset, from one pass over its live shareable documents."""
        inventory = cls()
        for _ in inventory.scan(dataset):
            pass
        return inventory

    def scan(self, dataset: Dataset) -> Iterator[Document]:
        """Yield every shareable document, recording it on the way (so that one pass can also send them)."""
        for doc in shareable_documents(dataset):
            self.hashes[sys.intern(doc.id)] = doc.content_hash()
            for info in doc.file_info:
                for location in info.get("locations") or []:
                    uid = location.get("uid") if isinstance(location, dict) else None
                    if isinstance(uid, str) and uid:
                        self.references.setdefault(uid, []).append(doc.id)
            yield doc

    def files(self, dataset: Dataset) -> dict[str, LocalFile]:
        """uid -> local state of every referenced file: whether its bytes are in ``.ndi/files``, and their size."""
        found: dict[str, LocalFile] = {}
        for uid, document_ids in self.references.items():
            path = binary_path(dataset.files_dir, uid)
            present = path.is_file()
            found[uid] = LocalFile(uid, path, present, path.stat().st_size if present else None, tuple(document_ids))
        return found


def remote_documents(cloud_dataset_id: str, client: CloudClient) -> dict[str, list[str]]:
    """ndiId -> every cloud id carrying it, from one paged listing."""
    return cloud_documents.get_uploaded_document_ids(cloud_dataset_id, client=client)


def newest_copies(listing: dict[str, list[str]], *, skip: Collection[str] = ()) -> dict[str, str]:
    """ndiId -> the cloud id of its newest copy, for the ndiIds not in ``skip``. Cloud ids grow with time, and
    this toolkit updates a cloud document by adding the new version before removing the old one, so the
    newest copy is the current one."""
    return {ndi_id: max(api_ids) for ndi_id, api_ids in listing.items() if api_ids and ndi_id not in skip}


def remote_files(cloud_dataset_id: str, client: CloudClient) -> dict[str, FileEntry]:
    return {entry.uid: entry for entry in cloud_files.list_files(cloud_dataset_id, client=client)}
