"""Stored NDI documents of cloud datasets (cloud-api §5.3, §7): no de-duplication by ndiId, soft delete."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..core.adding import insert_doc_data
from ..core.indexing import index_rows
from ..core.query import Query
from ..core.sqlquery import compile_query
from .ids import object_id, utc_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, dataset_id TEXT NOT NULL,
    ndi_id TEXT NOT NULL, name TEXT NOT NULL, class_name TEXT NOT NULL, properties TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0, delete_due REAL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS documents_by_dataset ON documents (dataset_id, is_deleted, seq);
CREATE INDEX IF NOT EXISTS documents_by_ndi_id ON documents (dataset_id, ndi_id);
-- the worker looks for due prunes every tick: without this it would scan every document each time
CREATE INDEX IF NOT EXISTS documents_delete_due ON documents (delete_due) WHERE is_deleted = 1;
-- The search index, shaped like DID-SQLite's so the core's query compiler runs on it unchanged:
-- doc_idx is documents.seq; branch_docs is a view of the live documents.
CREATE TABLE IF NOT EXISTS fields (field_idx INTEGER PRIMARY KEY, field_name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS doc_data (doc_idx INTEGER NOT NULL, field_idx INTEGER NOT NULL, value);
-- every compiled query names its fields, so (field_idx, value) serves them all; an index on value alone
-- would only slow each ingest (older data folders lose it on open)
DROP INDEX IF EXISTS doc_data_value;
CREATE INDEX IF NOT EXISTS doc_data_field_value ON doc_data (field_idx, value, doc_idx);
CREATE INDEX IF NOT EXISTS doc_data_doc ON doc_data (doc_idx);
CREATE VIEW IF NOT EXISTS branch_docs AS SELECT 'a' AS branch_id, seq AS doc_idx FROM documents WHERE is_deleted = 0;
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


def stored_text(properties: dict[str, Any]) -> str:
    """The JSON text a document is stored as: orjson's where it is exact (it would write NaN and Infinity
    as null, so any null sends the document to json, which keeps them as tokens)."""
    try:
        text = orjson.dumps(properties)
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits, non-text keys
        return json.dumps(properties, allow_nan=True)
    return json.dumps(properties, allow_nan=True) if b"null" in text else text.decode("utf-8")


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
        """Add documents in one transaction; each gets a new cloud id (ndiIds are not de-duplicated).

        The stored text and index rows are made first; only then is the write lock taken, so that the API's
        own writes (a new upload URL, say) wait for the inserts alone. seq numbers are assigned under that lock,
        which also keeps the field dictionary read at its start true to the end.
        """
        now = utc_timestamp()
        added: list[StoredDocument] = []
        texts: list[str] = []
        indexed: list[list[tuple[str, str, Any]]] = []
        for properties in documents:
            ndi_id, name, class_name = _identity(properties)
            added.append(StoredDocument(object_id(), dataset_id, ndi_id, name, class_name, properties))
            texts.append(stored_text(properties))
            indexed.append(index_rows(properties))
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            fields = dict(conn.execute("SELECT field_name, field_idx FROM fields"))
            last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'documents'").fetchone()
            first = 1 + max(last[0] if last else 0, conn.execute("SELECT max(seq) FROM documents").fetchone()[0] or 0)
            conn.executemany(
                "INSERT INTO documents (seq, id, dataset_id, ndi_id, name, class_name, properties, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                ((seq, doc.id, dataset_id, doc.ndi_id, doc.name, doc.class_name, text, now, now)
                 for seq, doc, text in zip(range(first, first + len(added)), added, texts, strict=True)))
            columns: tuple[list[int], list[int], list[Any]] = ([], [], [])
            for seq, index in zip(range(first, first + len(added)), indexed, strict=True):
                self._index(conn, fields, seq, index, columns)
            insert_doc_data(conn, *columns)
        return added

    @staticmethod
    def _index(conn: sqlite3.Connection, fields: dict[str, int], seq: int, index: Iterable[tuple[str, str, Any]],
               columns: tuple[list[int], list[int], list[Any]]) -> None:
        """Append the document's index rows (``core.indexing.index_rows``: named and typed as DID-SQLite does)
        to ``columns`` (doc_idx, field_idx, value), registering field names never seen before."""
        doc_column, field_column, value_column = columns
        for name, _, value in index:
            field_idx = fields.get(name)
            if field_idx is None:
                field_idx = conn.execute("INSERT INTO fields (field_name) VALUES (?)", (name,)).lastrowid
                assert field_idx is not None
                fields[name] = field_idx
            doc_column.append(seq)
            field_column.append(field_idx)
            value_column.append(value)

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
                (ndi_id, name, class_name, stored_text(properties), utc_timestamp(), document_id,
                 dataset_id))
            if cursor.rowcount != 1:
                return False
            seq = conn.execute("SELECT seq FROM documents WHERE id = ?", (document_id,)).fetchone()[0]
            conn.execute("DELETE FROM doc_data WHERE doc_idx = ?", (seq,))
            columns: tuple[list[int], list[int], list[Any]] = ([], [], [])
            self._index(conn, dict(conn.execute("SELECT field_name, field_idx FROM fields")), seq,
                        index_rows(properties), columns)
            insert_doc_data(conn, *columns)
        return True

    def summaries(self, dataset_id: str, page: int, page_size: int, *, deleted: bool = False) -> list[dict[str, Any]]:
        """One page of summaries (C2, C6), read without parsing the stored documents."""
        rows = self._conn().execute(
            "SELECT id, ndi_id, name, class_name FROM documents WHERE dataset_id = ? AND is_deleted = ? "
            "ORDER BY seq LIMIT ? OFFSET ?", (dataset_id, int(deleted), page_size, (page - 1) * page_size))
        return [{"id": r[0], "ndiId": r[1], "name": r[2], "className": r[3]} for r in rows]

    def fetch_texts(self, dataset_id: str, document_ids: list[str]) -> Iterator[str]:
        """The stored JSON text of the live documents among ``document_ids``, in order of addition."""
        for start in range(0, len(document_ids), 500):
            part = document_ids[start:start + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn().execute(
                f"SELECT properties FROM documents WHERE +dataset_id = ? AND +is_deleted = 0 AND id IN ({marks}) "
                "ORDER BY seq", (dataset_id, *part))
            yield from (r[0] for r in rows)

    def fetch(self, dataset_id: str, document_ids: list[str]) -> list[StoredDocument]:
        """Live documents of this dataset among ``document_ids`` (others silently left out)."""
        found: list[StoredDocument] = []
        for start in range(0, len(document_ids), 500):  # far below SQLite's bound-variable limit
            part = document_ids[start:start + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn().execute(
                # unary + keeps the planner on the id index: the dataset index would scan the whole dataset
                # for every part, quadratic in the dataset's size
                f"SELECT {_COLUMNS} FROM documents WHERE +dataset_id = ? AND +is_deleted = 0 AND id IN ({marks}) "
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

    def live_counts(self, dataset_ids: list[str]) -> dict[str, int]:
        """Live documents per dataset, in one query; datasets without any are left out."""
        marks = ",".join("?" * len(dataset_ids))
        rows = self._conn().execute(f"SELECT dataset_id, count(*) FROM documents WHERE dataset_id IN ({marks}) "
                                    "AND is_deleted = 0 GROUP BY dataset_id", dataset_ids)
        return dict(rows)

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
                f"UPDATE documents SET is_deleted = 1, delete_due = ?, updated_at = ? WHERE +dataset_id = ? "
                f"AND +is_deleted = 0 AND id IN ({marks})", (due, utc_timestamp(), dataset_id, *document_ids))
        return cursor.rowcount

    def prune_due(self, now: float) -> int:
        due = "SELECT seq FROM documents WHERE is_deleted = 1 AND delete_due <= ?"
        if self._conn().execute(due + " LIMIT 1", (now,)).fetchone() is None:
            return 0  # the usual tick: no write transaction, so no wait for (or by) the API's writers
        with self._conn() as conn:
            conn.execute(f"DELETE FROM doc_data WHERE doc_idx IN ({due})", (now,))
            cursor = conn.execute("DELETE FROM documents WHERE is_deleted = 1 AND delete_due <= ?", (now,))
        return cursor.rowcount

    def prune_dataset(self, dataset_id: str) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM doc_data WHERE doc_idx IN (SELECT seq FROM documents WHERE dataset_id = ?)",
                         (dataset_id,))
            conn.execute("DELETE FROM documents WHERE dataset_id = ?", (dataset_id,))

    def search(self, query: Query, dataset_ids: list[str], page: int, page_size: int, *,
               scoped: bool | None = None) -> tuple[int, list[StoredDocument]]:
        """Live documents of ``dataset_ids`` matching ``query``: (total, one page). Raises QueryError.

        Conditions the index can seek (an exact value, a class) always use it. The others (patterns, ranges,
        negations) scan: with ``scoped`` they scan the datasets in scope alone, so a costly regular expression
        never runs on other users' values; otherwise the whole index. Left to None, ``scoped`` is chosen when
        the scope holds under a quarter of the stored documents (a wide scope scans faster through the index).
        """
        if not dataset_ids:
            return 0, []
        marks = ",".join("?" * len(dataset_ids))
        conn = self._conn()
        fields = self.fields()
        sql, params = compile_query(query, fields, scan_table="scope_data", live_sql="SELECT doc_idx FROM scope_docs")
        scans = "scope_" in sql  # else the index seeks every condition, and both plans are this one statement
        if scoped is None and not scans:
            scoped = False
        if scoped is None:  # counted only up to the quarter: a wide scope costs no full count
            quarter = (conn.execute("SELECT max(seq) FROM documents").fetchone()[0] or 0) // 4
            in_scope = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM documents WHERE is_deleted = 0 AND "
                                    f"dataset_id IN ({marks}) LIMIT ?)", (*dataset_ids, quarter + 1)).fetchone()[0]
            scoped = in_scope <= quarter and quarter > 0
        prefix = ""
        scope: tuple[str, ...] = ()
        if scoped:
            # (SQLite evaluates a common table expression only where the statement reads it)
            prefix = (f"WITH scope_docs AS (SELECT seq AS doc_idx FROM documents WHERE is_deleted = 0 "
                      f"AND dataset_id IN ({marks})), scope_data AS (SELECT doc_idx, field_idx, value FROM doc_data "
                      "WHERE doc_idx IN (SELECT doc_idx FROM scope_docs)) ")
            scope = tuple(dataset_ids)
        elif scans:  # the same conditions over the whole index
            sql, params = compile_query(query, fields)
        where = f"is_deleted = 0 AND dataset_id IN ({marks}) AND seq IN ({sql})"
        arguments = (*scope, *dataset_ids, *params)
        total = conn.execute(f"{prefix}SELECT count(*) FROM documents WHERE {where}", arguments).fetchone()[0]
        rows = conn.execute(f"{prefix}SELECT {_COLUMNS} FROM documents WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
                            (*arguments, page_size, (page - 1) * page_size))
        return total, [_row(r) for r in rows]

    def fields(self) -> dict[str, int]:
        return dict(self._conn().execute("SELECT field_name, field_idx FROM fields"))
