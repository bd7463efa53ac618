"""Keeping a local dataset and its NDI Cloud copy in step (sync.md): plan from both live sides and the last
sync, act, verify, record. NDI-matlab's ``ndi.cloud.sync`` under its snake_case names."""

from .compare import DocumentDifference, ValidationResult, document_difference, validate
from .duplicates import find_duplicates, remove_duplicates
from .engine import sync_dataset
from .modes import download_new, mirror_from_remote, mirror_to_remote, two_way_sync, upload_new
from .options import CONFLICT_POLICIES, SyncMode, SyncOptions
from .plan import SyncPlan

__all__ = [
    "CONFLICT_POLICIES",
    "DocumentDifference",
    "SyncMode",
    "SyncOptions",
    "SyncPlan",
    "ValidationResult",
    "document_difference",
    "download_new",
    "find_duplicates",
    "mirror_from_remote",
    "mirror_to_remote",
    "remove_duplicates",
    "sync_dataset",
    "two_way_sync",
    "upload_new",
    "validate",
]
