"""The registry of a dataset's binary files: uid, size, owner (cloud-api §4 file entry, §10.4)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from .ids import utc_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    dataset_id TEXT NOT NULL, uid TEXT NOT NULL, size INTEGER NOT NULL, source_dataset_id TEXT NOT NULL,
    blob_key TEXT NOT NULL, visible_after REAL NOT NULL, created_at TEXT NOT NULL,
    pending INTEGER NOT NULL DEFAULT 0,  -- 1 until the worker registers it (after visible_after)
    PRIMARY KEY (dataset_id, uid));
CREATE INDEX IF NOT EXISTS files_pending ON files (visible_after) WHERE pending = 1;  -- the worker's every tick
"""


@dataclass(frozen=True)
class FileEntry:
    uid: str
    size: int
    source_dataset_id: str
    blob_key: str

    def json(self) -> dict[str, object]:
        return {"uid": self.uid, "uploaded": True, "size": self.size, "sourceDatasetId": self.source_dataset_id}


class FileRegistry:
    """Files appear only once their bytes are stored, and after the registration delay (as on the real service)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._conn = connect
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def register(self, dataset_id: str, uid: str, size: int, blob_key: str, delay_s: float, *,
                 pending: bool = False) -> None:
        """Record stored bytes; ``pending`` ones wait for the worker (``register_due``), as on the real service."""
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO files (dataset_id, uid, size, source_dataset_id, blob_key, "
                         "visible_after, created_at, pending) VALUES (?,?,?,?,?,?,?,?)",
                         (dataset_id, uid, size, dataset_id, blob_key, time.time() + delay_s, utc_timestamp(),
                          int(pending)))

    def register_due(self, now: float) -> int:
        due = "pending = 1 AND visible_after <= ?"
        if self._conn().execute(f"SELECT 1 FROM files WHERE {due} LIMIT 1", (now,)).fetchone() is None:
            return 0  # nothing due: no write transaction
        with self._conn() as conn:
            cursor = conn.execute(f"UPDATE files SET pending = 0 WHERE {due}", (now,))
        return cursor.rowcount

    def get(self, dataset_id: str, uid: str) -> FileEntry | None:
        row = self._conn().execute(
            "SELECT uid, size, source_dataset_id, blob_key FROM files WHERE dataset_id = ? AND uid = ? "
            "AND pending = 0 AND visible_after <= ?", (dataset_id, uid, time.time())).fetchone()
        return None if row is None else FileEntry(*row)

    def list(self, dataset_id: str) -> list[FileEntry]:
        rows = self._conn().execute(
            "SELECT uid, size, source_dataset_id, blob_key FROM files WHERE dataset_id = ? AND pending = 0 "
            "AND visible_after <= ? ORDER BY uid", (dataset_id, time.time()))
        return [FileEntry(*r) for r in rows]

    def total_sizes(self, dataset_ids: list[str]) -> dict[str, int]:
        """Bytes of the files ``list`` shows, per dataset (``totalSize``); datasets without files are left out."""
        marks = ",".join("?" * len(dataset_ids))
        rows = self._conn().execute(
            f"SELECT dataset_id, SUM(size) FROM files WHERE dataset_id IN ({marks}) AND pending = 0 "
            "AND visible_after <= ? GROUP BY dataset_id", (*dataset_ids, time.time()))
        return {dataset_id: int(size) for dataset_id, size in rows}

    def delete_dataset(self, dataset_id: str) -> None:
        """Forget a dataset's files (the worker removes the bytes: see Worker.sweep_orphans)."""
        with self._conn() as conn:
            conn.execute("DELETE FROM files WHERE dataset_id = ?", (dataset_id,))
