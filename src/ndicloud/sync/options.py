"""The five sync modes and the options every mode takes (sync.md §3, §4)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

CONFLICT_POLICIES = ("fail", "local", "remote", "newer")
FILE_UPLOAD_STRATEGIES = ("batch", "serial")


class SyncMode(str, Enum):
    """NDI-matlab's sync modes, by their snake_case names."""

    DOWNLOAD_NEW = "download_new"
    UPLOAD_NEW = "upload_new"
    MIRROR_TO_REMOTE = "mirror_to_remote"
    MIRROR_FROM_REMOTE = "mirror_from_remote"
    TWO_WAY_SYNC = "two_way_sync"

    @classmethod
    def parse(cls, value: str | SyncMode) -> SyncMode:
        """A mode from its name (``two_way_sync``; ``two-way-sync`` and MATLAB's ``TwoWaySync`` too)."""
        if isinstance(value, SyncMode):
            return value
        key = "".join(ch for ch in str(value).lower() if ch.isalnum())
        for mode in cls:
            if mode.value.replace("_", "") == key:
                return mode
        names = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown sync mode {value!r}; use one of {names}")


@dataclass(frozen=True)
class SyncOptions:
    """How a sync runs. Defaults are NDI-matlab's, plus this project's safer ones (sync.md §4).

    ``check_remote_content`` fetches every document both sides hold to compare contents, which finds a
    document replaced in the cloud in place by another tool; without it, a cloud document counts as
    unchanged while it keeps the cloud id it had at the last sync (this toolkit's own updates give it a
    new one), so a sync that finds nothing to do costs one listing.
    """

    sync_files: bool = False
    dry_run: bool = False
    verbose: bool = True
    file_upload_strategy: str = "batch"
    conflict: str = "fail"
    propagate_deletions: bool = False
    update_changed: bool = True
    workers: int = 4
    document_chunk: int = 2000
    allow_missing_files: bool = False
    check_remote_content: bool = False
    ingest_timeout_s: float = 120.0
    download_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.conflict not in CONFLICT_POLICIES:
            raise ValueError(f"conflict must be one of {', '.join(CONFLICT_POLICIES)}; got {self.conflict!r} "
                             "(keep-both is not possible: both copies would have the same ndiId)")
        if self.file_upload_strategy not in FILE_UPLOAD_STRATEGIES:
            raise ValueError(f"file_upload_strategy must be 'batch' or 'serial', got {self.file_upload_strategy!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if not 1 <= self.document_chunk <= 100_000:
            raise ValueError(f"document_chunk must be between 1 and 100000, got {self.document_chunk}")
