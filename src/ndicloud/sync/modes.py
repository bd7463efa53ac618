"""The five modes as functions with NDI-matlab's names (``ndi.cloud.sync.twoWaySync`` -> ``two_way_sync``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..api import CloudClient
from ..core import Dataset
from ..transfers.report import TransferReport
from .engine import sync_dataset
from .options import SyncMode, SyncOptions


def _mode(mode: SyncMode, local_dataset: Dataset | str | Path, cloud_dataset_id: str | None,
          options: SyncOptions | None, client: CloudClient | None, overrides: dict[str, Any]) -> TransferReport:
    chosen = replace(options or SyncOptions(), **overrides)
    return sync_dataset(local_dataset, mode, chosen, cloud_dataset_id=cloud_dataset_id, client=client)


def download_new(local_dataset: Dataset | str | Path, cloud_dataset_id: str | None = None,
                 options: SyncOptions | None = None, *, client: CloudClient | None = None,
                 **overrides: Any) -> TransferReport:
    """Download the cloud documents that are new since the last sync (and not already here)."""
    return _mode(SyncMode.DOWNLOAD_NEW, local_dataset, cloud_dataset_id, options, client, overrides)


def upload_new(local_dataset: Dataset | str | Path, cloud_dataset_id: str | None = None,
               options: SyncOptions | None = None, *, client: CloudClient | None = None,
               **overrides: Any) -> TransferReport:
    """Upload the local documents that are new since the last sync, and every file the cloud lacks."""
    return _mode(SyncMode.UPLOAD_NEW, local_dataset, cloud_dataset_id, options, client, overrides)


def mirror_to_remote(local_dataset: Dataset | str | Path, cloud_dataset_id: str | None = None,
                     options: SyncOptions | None = None, *, client: CloudClient | None = None,
                     **overrides: Any) -> TransferReport:
    """Make the cloud equal this dataset: upload, update and delete (every copy) there."""
    return _mode(SyncMode.MIRROR_TO_REMOTE, local_dataset, cloud_dataset_id, options, client, overrides)


def mirror_from_remote(local_dataset: Dataset | str | Path, cloud_dataset_id: str | None = None,
                       options: SyncOptions | None = None, *, client: CloudClient | None = None,
                       **overrides: Any) -> TransferReport:
    """Make this dataset equal the cloud: download, update and delete here (never the link document)."""
    return _mode(SyncMode.MIRROR_FROM_REMOTE, local_dataset, cloud_dataset_id, options, client, overrides)


def two_way_sync(local_dataset: Dataset | str | Path, cloud_dataset_id: str | None = None,
                 options: SyncOptions | None = None, *, client: CloudClient | None = None,
                 **overrides: Any) -> TransferReport:
    """Bring both sides together: what is on one side only is copied over, a one-sided edit follows, a
    two-sided edit is a conflict (``options.conflict``); deletions follow only with ``propagate_deletions``."""
    return _mode(SyncMode.TWO_WAY_SYNC, local_dataset, cloud_dataset_id, options, client, overrides)
