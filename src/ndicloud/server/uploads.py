"""Bulk uploads and downloads waiting for the worker: document zips, file zips (jobs), download zips."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .ids import object_id, utc_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, dataset_id TEXT NOT NULL, owner_id TEXT NOT NULL,
    blob_key TEXT NOT NULL UNIQUE, state TEXT NOT NULL, due REAL, url_expires REAL NOT NULL,
    -- due: when the worker should take it up (NULL: nothing to do now)
    created_at TEXT NOT NULL, started_at TEXT, completed_at TEXT, files_extracted INTEGER NOT NULL DEFAULT 0,
    total_files INTEGER, error TEXT, payload TEXT);
CREATE INDEX IF NOT EXISTS transfers_by_dataset ON transfers (dataset_id, kind, created_at);
CREATE INDEX IF NOT EXISTS transfers_due ON transfers (due);
CREATE INDEX IF NOT EXISTS transfers_queued ON transfers (url_expires) WHERE state = 'queued';
"""
# kinds: "documents" (a zip of document JSON), "files" (a zip of binaries; a job), "download" (a zip to write)
ACTIVE_STATES = ("queued", "extracting")
JOB_STATES = ("queued", "extracting", "complete", "failed")


@dataclass(frozen=True)
class Transfer:
    id: str
    kind: str
    dataset_id: str
    owner_id: str
    blob_key: str
    state: str
    created_at: str
    started_at: str | None
    completed_at: str | None
    files_extracted: int
    total_files: int | None
    error: str | None
    payload: Any

    def job_json(self) -> dict[str, Any]:
        return {"jobId": self.id, "datasetId": self.dataset_id, "state": self.state, "createdAt": self.created_at,
                "startedAt": self.started_at, "completedAt": self.completed_at,
                "filesExtracted": self.files_extracted, "totalFiles": self.total_files, "error": self.error}


_COLUMNS = ("id, kind, dataset_id, owner_id, blob_key, state, created_at, started_at, completed_at, "
            "files_extracted, total_files, error, payload")


def _transfer(row: tuple[Any, ...]) -> Transfer:
    return Transfer(*row[:12], json.loads(row[12]) if row[12] else None)


class Transfers:
    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._conn = connect
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def create(self, kind: str, dataset_id: str, owner_id: str, key_prefix: str, url_expires: float, *,
               state: str = "queued", due: float | None = None, payload: Any = None) -> Transfer:
        """A new transfer whose URL expires at ``url_expires`` (Unix seconds; an unused upload fails then)."""
        transfer_id = object_id()
        key = f"{key_prefix}/{transfer_id}.zip"
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO transfers (id, kind, dataset_id, owner_id, blob_key, state, due, url_expires, created_at, "
                "payload) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (transfer_id, kind, dataset_id, owner_id, key, state, due, url_expires, utc_timestamp(),
                 None if payload is None else json.dumps(payload)))
        found = self.get(transfer_id)
        assert found is not None
        return found

    def get(self, transfer_id: str) -> Transfer | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM transfers WHERE id = ?", (transfer_id,)).fetchone()
        return None if row is None else _transfer(row)

    def by_key(self, blob_key: str) -> Transfer | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM transfers WHERE blob_key = ?", (blob_key,)).fetchone()
        return None if row is None else _transfer(row)

    def jobs(self, dataset_id: str, states: tuple[str, ...]) -> list[Transfer]:
        marks = ",".join("?" * len(states))
        rows = self._conn().execute(
            f"SELECT {_COLUMNS} FROM transfers WHERE dataset_id = ? AND kind = 'files' AND state IN ({marks}) "
            "ORDER BY created_at", (dataset_id, *states))
        return [_transfer(r) for r in rows]

    def update(self, transfer_id: str, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._conn() as conn:
            conn.execute(f"UPDATE transfers SET {assignments} WHERE id = ?", (*columns.values(), transfer_id))

    def due(self, now: float) -> list[Transfer]:
        """Transfers to work on now: uploaded zips to read, download zips to write."""
        rows = self._conn().execute(
            f"SELECT {_COLUMNS} FROM transfers WHERE due IS NOT NULL AND due <= ? ORDER BY due", (now,))
        return [_transfer(r) for r in rows]

    def expire_unused(self, now: float) -> int:
        """Jobs whose upload URL expired before any upload: failed."""
        unused = "state = 'queued' AND kind IN ('files', 'documents') AND url_expires < ?"
        if self._conn().execute(f"SELECT 1 FROM transfers WHERE {unused} LIMIT 1", (now,)).fetchone() is None:
            return 0  # nothing expired: no write transaction
        with self._conn() as conn:
            cursor = conn.execute(
                f"UPDATE transfers SET state = 'failed', error = 'upload URL expired', completed_at = ? WHERE {unused}",
                (utc_timestamp(), now))
        return cursor.rowcount
