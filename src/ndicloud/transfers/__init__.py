"""What uploads, downloads and sync share: the report, the sync state, inventories, safe zips, progress.

A layer between the API client and the operations (``ndicloud.upload``, ``ndicloud.download``,
``ndicloud.sync``), so that those three stay peers that never import one another.
"""

from .report import ItemOutcome, TransferReport
from .state import StateLockedError, SyncState

__all__ = ["ItemOutcome", "StateLockedError", "SyncState", "TransferReport"]
