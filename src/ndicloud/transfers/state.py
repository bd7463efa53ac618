"""The sync state in ``.ndi/sync/index.json`` (sync.md §2): NDI-matlab's keys plus ``ndiCloudState``.

``ndiCloudState`` holds, per cloud dataset id: each ndiId's content hash on each side at the last confirmed
transfer, and each file uid's size, sha256 and whether the cloud confirmed it. Beside it, the small
``pending.json`` lists document chunks sent but not yet seen in a listing, so that an interrupted upload waits
for them instead of sending them twice; it is rewritten before every send, which the (large) index is not.
One process at a time holds the lock file; every write is atomic.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core.errors import DocumentJsonError
from ..core.syncindex import SyncIndex, read_sync_index, sync_index_path, write_json_atomically, write_sync_index

try:
    import fcntl
except ImportError:  # Windows: no lock between processes (documented)
    fcntl = None  # type: ignore[assignment]

STATE_KEY = "ndiCloudState"


class StateLockedError(RuntimeError):
    """Another process is transferring or syncing this dataset right now."""


@contextmanager
def exclusive(lock_path: Path, what: str, *, wait_s: float = 10.0) -> Iterator[None]:
    """Hold ``lock_path`` (an advisory lock file) for the duration: one ndi-cloud process per dataset at a time."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StateLockedError(f"another ndi-cloud process is transferring or syncing {what} "
                                               f"(lock {lock_path}); wait for it to finish") from None
                    time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


class SyncState:
    """One cloud dataset's part of the sync state, changed in memory and written with :meth:`save`."""

    def __init__(self, dataset_path: Path, cloud_dataset_id: str, index: SyncIndex):
        self.dataset_path = dataset_path
        self.cloud_dataset_id = cloud_dataset_id
        self.index = index
        all_states = index.extra.setdefault(STATE_KEY, {})
        if not isinstance(all_states, dict):
            all_states = index.extra[STATE_KEY] = {}
        mine = all_states.setdefault(cloud_dataset_id, {})
        self.documents: dict[str, dict[str, Any]] = mine.setdefault("documents", {})
        for entry in self.documents.values():  # one string for two equal hashes: a large state is large
            if isinstance(entry, dict) and entry.get("remote") == entry.get("local"):
                entry["remote"] = entry.get("local")
        self.files: dict[str, dict[str, Any]] = mine.setdefault("files", {})
        self.reported_failed_jobs: list[str] = mine.setdefault("reportedFailedJobs", [])  # bulk jobs, by id
        mine.pop("pendingUploads", None)
        self._pending_path = sync_index_path(dataset_path).with_name("pending.json")
        pending = _read_json(self._pending_path).get(cloud_dataset_id)
        self.pending_uploads: list[dict[str, Any]] = pending if isinstance(pending, list) else []

    @classmethod
    @contextmanager
    def locked(cls, dataset_path: str | Path, cloud_dataset_id: str, *, wait_s: float = 10.0) -> Iterator[SyncState]:
        """The dataset's state, held under ``.ndi/sync/index.lock`` for the duration (waits up to ``wait_s``)."""
        path = Path(dataset_path)
        with exclusive(sync_index_path(path).with_name("index.lock"), str(path), wait_s=wait_s):
            yield cls(path, cloud_dataset_id, read_sync_index(path))

    def confirm_document(self, ndi_id: str, local_hash: str | None, remote_hash: str | None,
                         api_ids: Iterable[str] | None = None) -> None:
        """Record a document's content hash on each side (None: not there, or not known) and its cloud ids."""
        entry: dict[str, Any] = {"local": local_hash, "remote": remote_hash}
        if api_ids:
            entry["apiIds"] = sorted(api_ids)
        if self.documents.get(ndi_id) != entry:  # a no-op sync of a large dataset rewrites nothing here
            self.documents[ndi_id] = entry

    def forget_document(self, ndi_id: str) -> None:
        """The document is on neither side any more."""
        self.documents.pop(ndi_id, None)

    def confirm_file(self, uid: str, size: int, sha256: str | None, confirmed: bool) -> None:
        self.files[uid] = {"size": size, "sha256": sha256, "confirmed": confirmed}

    def save_pending(self) -> None:
        """Write the list of sent-but-unconfirmed chunks (before each send, and once they are confirmed)."""
        data = _read_json(self._pending_path)
        if self.pending_uploads:
            data[self.cloud_dataset_id] = self.pending_uploads
        else:
            data.pop(self.cloud_dataset_id, None)
        write_json_atomically(self._pending_path, data)

    def save(self, *, local_ids: list[str] | None = None, remote_ids: list[str] | None = None) -> None:
        """Write the state (atomically); MATLAB's id lists and timestamp when given."""
        if local_ids is not None:
            self.index.local_ids = local_ids
        if remote_ids is not None:
            self.index.remote_ids = remote_ids
        if local_ids is not None or remote_ids is not None:
            self.index.timestamp = datetime.now().astimezone().isoformat(timespec="seconds")
        write_sync_index(self.dataset_path, self.index)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise DocumentJsonError(f"malformed {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}
