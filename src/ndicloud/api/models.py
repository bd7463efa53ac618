"""Typed views of the service's main records (cloud-api §4), each keeping the full record in ``raw``.

The service's field sets vary between routes and versions, so each view reads what it needs leniently
(``id`` or ``_id``, missing booleans as False) and never drops what it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _text(record: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value == value:  # not NaN
        return int(value)
    return None


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    can_upload_dataset: bool

    @classmethod
    def from_wire(cls, record: dict[str, Any]) -> Organization:
        return cls(str(record.get("id", "")), str(record.get("name", "")), bool(record.get("canUploadDataset")))


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    is_admin: bool
    organizations: tuple[Organization, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, record: dict[str, Any]) -> User:
        organizations = record.get("organizations") or []
        if isinstance(organizations, dict):
            organizations = [organizations]
        return cls(str(record.get("id", "")), str(record.get("email", "")), str(record.get("name", "")),
                   bool(record.get("isAdmin")),
                   tuple(Organization.from_wire(o) for o in organizations if isinstance(o, dict)), record)


@dataclass(frozen=True)
class FileEntry:
    """One entry of a dataset's ``files`` (the only file listing the service has)."""

    uid: str
    uploaded: bool
    size: int | None
    source_dataset_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, record: dict[str, Any]) -> FileEntry:
        return cls(str(record.get("uid", "")), bool(record.get("uploaded")), _int(record.get("size")),
                   _text(record, "sourceDatasetId"), record)


@dataclass(frozen=True)
class Dataset:
    """A dataset detail (D3, id in ``_id``) or list item (id in ``id``)."""

    id: str
    name: str
    organization_id: str | None
    is_published: bool
    is_submitted: bool
    is_deleted: bool
    document_count: int | None
    total_size: int | None
    branch_of: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, record: dict[str, Any]) -> Dataset:
        return cls(_text(record, "id", "_id") or "", str(record.get("name") or ""),
                   _text(record, "organizationId"), bool(record.get("isPublished")),
                   bool(record.get("isSubmitted")), bool(record.get("isDeleted")),
                   _int(record.get("documentCount")), _int(record.get("totalSize")), _text(record, "branchOf"),
                   record)

    @property
    def files(self) -> list[FileEntry]:
        """The detail's file entries, normalised and without repeated uids (as the reference lists them)."""
        seen: dict[str, FileEntry] = {}
        for entry in self.raw.get("files") or []:
            if isinstance(entry, dict) and entry.get("uid"):
                seen.setdefault(str(entry["uid"]), FileEntry.from_wire(entry))
        return list(seen.values())


@dataclass(frozen=True)
class DatasetPage:
    datasets: list[Dataset]
    total: int | None
    page: int
    page_size: int


@dataclass(frozen=True)
class DocumentSummary:
    """A document as lists and queries give it: cloud id, NDI id, name, class (and dataset in queries)."""

    id: str
    ndi_id: str
    name: str
    class_name: str
    dataset_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, record: dict[str, Any]) -> DocumentSummary:
        return cls(_text(record, "id", "_id") or "", str(record.get("ndiId") or ""), str(record.get("name") or ""),
                   str(record.get("className") or ""), _text(record, "datasetId"), record)


@dataclass(frozen=True)
class QueryPage:
    documents: list[DocumentSummary]
    total: int | None
    page: int
    page_size: int


@dataclass(frozen=True)
class BulkJob:
    """A zip-of-files upload job (F4/F5): ``queued -> extracting -> complete | failed``."""

    job_id: str
    dataset_id: str | None
    state: str
    files_extracted: int
    total_files: int | None
    error: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    FINAL_STATES = frozenset({"complete", "failed"})

    @classmethod
    def from_wire(cls, record: dict[str, Any]) -> BulkJob:
        return cls(_text(record, "jobId", "id") or "", _text(record, "datasetId"), str(record.get("state") or ""),
                   _int(record.get("filesExtracted")) or 0, _int(record.get("totalFiles")),
                   _text(record, "error"), record)

    @property
    def finished(self) -> bool:
        return self.state in self.FINAL_STATES


@dataclass(frozen=True)
class ComputeSession:
    session_id: str
    status: str
    current_stage_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, record: dict[str, Any]) -> ComputeSession:
        return cls(_text(record, "sessionId", "id") or "", str(record.get("status") or ""),
                   _text(record, "currentStageId"), record)

    @property
    def history(self) -> dict[str, Any]:
        history = self.raw.get("history")
        return history if isinstance(history, dict) else {}
