"""Stored NDI documents of cloud datasets (cloud-api §5.3, §7): no de-duplication by ndiId, soft delete."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .ids import object_id, utc_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, dataset_id TEXT NOT NULL,
    ndi_id TEXT NOT NULL, name TEXT NOT NULL, class_name TEXT NOT NULL, properties TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0, delete_due REAL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS documents_by_dataset ON documents (dataset_id, is_deleted, seq);
CREATE INDEX IF NOT EXISTS documents_by_ndi_id ON documents (dataset_id, ndi_id);
"""


@dataclass(frozen=True)
class StoredDocument:
    id: str
    dataset_id: str
    ndi_id: str
    name: str
    class_name: str
    properties: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "ndiId": self.ndi_id, "name": self.name, "className": self.class_name}

    def full_entry(self) -> dict[str, Any]:
        return {**self.summary(), "datasetId": self.dataset_id, "data": self.properties}

    def detail(self) -> dict[str, Any]:
        """The stored properties at the top level, with the cloud id added as ``id`` (and nothing else)."""
        return {"id": self.id, **{k: v for k, v in self.properties.items() if k != "id"}}


def _identity(properties: dict[str, Any]) -> tuple[str, str, str]:
    base = properties.get("base") if isinstance(properties.get("base"), dict) else {}
    doc_class = properties.get("document_class") if isinstance(properties.get("document_class"), dict) else {}
    name = base.get("name") if isinstance(base.get("name"), str) else ""
    class_name = doc_class.get("class_name") if isinstance(doc_class.get("class_name"), str) else ""
    return str(base.get("id", "")), name, class_name


_COLUMNS = "id, dataset_id, ndi_id, name, class_name, properties"


def _row(row: tuple[Any, ...]) -> StoredDocument:
    return StoredDocument(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))


class Documents:
    """Document records; uses the record store's per-thread connection."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._conn = connect
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def add(self, dataset_id: str, properties: dict[str, Any]) -> StoredDocument:
        return self.add_many(dataset_id, [properties])[0]

    def add_many(self, dataset_id: str, documents: Iterable[dict[str, Any]]) -> list[StoredDocument]:
        """Add documents in one transaction; each gets a new cloud id (ndiIds are not de-duplicated)."""
        now = utc_timestamp()
        added = []
        with self._conn() as conn:
            for properties in documents:
                ndi_id, name, class_name = _identity(properties)
                doc = StoredDocument(object_id(), dataset_id, ndi_id, name, class_name, properties)
                conn.execute(
                    "INSERT INTO documents (id, dataset_id, ndi_id, name, class_name, properties, created_at, "
                    "updated_at) VALUES (?,?,?,?,?,?,?,?)",
                    (doc.id, dataset_id, ndi_id, name, class_name, json.dumps(properties, allow_nan=True), now, now),
                )
                added.append(doc)
        return added

    def get(self, dataset_id: str, document_id: str) -> StoredDocument | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM documents WHERE id = ? AND dataset_id = ? "
                                   "AND is_deleted = 0", (document_id, dataset_id)).fetchone()
        return None if row is None else _row(row)

    def replace(self, dataset_id: str, document_id: str, properties: dict[str, Any]) -> bool:
        ndi_id, name, class_name = _identity(properties)
        with self._conn() as conn:
            cursor = conn.execute(
                "UPDATE documents SET ndi_id = ?, name = ?, class_name = ?, properties = ?, updated_at = ? "
                "WHERE id = ? AND dataset_id = ? AND is_deleted = 0",
                (ndi_id, name, class_name, json.dumps(properties, allow_nan=True), utc_timestamp(), document_id,
                 dataset_id))
        return cursor.rowcount == 1

    def page(self, dataset_id: str, page: int, page_size: int, *, deleted: bool = False) -> list[StoredDocument]:
        rows = self._conn().execute(
            f"SELECT {_COLUMNS} FROM documents WHERE dataset_id = ? AND is_deleted = ? ORDER BY seq LIMIT ? OFFSET ?",
            (dataset_id, int(deleted), page_size, (page - 1) * page_size))
        return [_row(r) for r in rows]

    def fetch(self, dataset_id: str, document_ids: list[str]) -> list[StoredDocument]:
        """Live documents of this dataset among ``document_ids`` (others silently left out)."""
        found: list[StoredDocument] = []
        for start in range(0, len(document_ids), 500):  # far below SQLite's bound-variable limit
            part = document_ids[start:start + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn().execute(
                f"SELECT {_COLUMNS} FROM documents WHERE dataset_id = ? AND is_deleted = 0 AND id IN ({marks}) "
                "ORDER BY seq", (dataset_id, *part))
            found.extend(_row(r) for r in rows)
        return found

    def live_ids(self, dataset_id: str) -> list[str]:
        rows = self._conn().execute("SELECT id FROM documents WHERE dataset_id = ? AND is_deleted = 0 ORDER BY seq",
                                    (dataset_id,))
        return [r[0] for r in rows]

    def count(self, dataset_id: str, *, include_deleted: bool = False) -> int:
        deleted = "" if include_deleted else " AND is_deleted = 0"
        return self._conn().execute(f"SELECT count(*) FROM documents WHERE dataset_id = ?{deleted}",
                                    (dataset_id,)).fetchone()[0]

    def class_counts(self, dataset_id: str) -> dict[str, int]:
        rows = self._conn().execute(
            "SELECT class_name, count(*) FROM documents WHERE dataset_id = ? AND is_deleted = 0 GROUP BY class_name",
            (dataset_id,))
        counts: dict[str, int] = {}
        for class_name, n in rows:
            key = class_name or "unknown"
            counts[key] = counts.get(key, 0) + n
        return counts

    def soft_delete(self, dataset_id: str, document_ids: list[str], due: float) -> int:
        if not document_ids:
            return 0
        marks = ",".join("?" * len(document_ids))
        with self._conn() as conn:
            cursor = conn.execute(
                f"UPDATE documents SET is_deleted = 1, delete_due = ?, updated_at = ? WHERE dataset_id = ? "
                f"AND is_deleted = 0 AND id IN ({marks})", (due, utc_timestamp(), dataset_id, *document_ids))
        return cursor.rowcount

    def prune_due(self, now: float) -> int:
        with self._conn() as conn:
            cursor = conn.execute("DELETE FROM documents WHERE is_deleted = 1 AND delete_due <= ?", (now,))
        return cursor.rowcount

    def prune_dataset(self, dataset_id: str) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM documents WHERE dataset_id = ?", (dataset_id,))
