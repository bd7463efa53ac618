"""DID-SQLite: the database NDI-matlab keeps at ``<dataset>/.ndi/did-sqlite.sqlite``.

A database written here is indistinguishable from one written by DID-matlab in
schema and value typing (spec §4), so MATLAB opens it without repair. Adds are
transactional: a batch of documents, with their ingested binaries, lands whole
or not at all.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ids
from .adding import CHUNK, AddBatch, checked_chunks, chunks, field_dictionary
from .document import Document
from .errors import (
    DatabaseFormatError,
    DatabaseLockedError,
    DocumentNotFoundError,
    NdiError,
)
from .prepare import prepared_chunks
from .query import Query
from .schema import (
    ALL_TABLES,
    CREATE_FILES_TABLE,
    CREATE_INDEXES,
    CREATE_TABLES,
    DEFAULT_META_FIELD_IDS,
    DOC_ID_INDEX_SQL,
    MAIN_BRANCH,
    META_FIELDS_INDEXED,
    META_INDEX,
    META_INDEX_SQL,
    REMOVAL_INDEX_SQL,
    REQUIRED_TABLES,
    meta_index_where,
)
from .sqlquery import compile_query, regex_function

DATABASE_FILENAME = "did-sqlite.sqlite"
FILES_DIRNAME = "files"
_LIVE_JOIN = "JOIN branch_docs b ON b.doc_idx = d.doc_idx AND b.branch_id = 'a'"


@dataclass(frozen=True)
class FileRow:
    """One row of the ``files`` table, with the owning document's id."""

    doc_id: str
    filename: str
    uid: str
    orig_location: str
    cached_location: str | None
    type: str
    parameters: str | None


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        else:
            conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DatabaseFormatError(f"{path} is not a readable SQLite database: {exc}") from exc
    conn.create_function("regex", 2, regex_function, deterministic=True)
    if not readonly:
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -65536")
    return conn


class DidSqliteStore:
    """An open DID-SQLite database and its ``files/`` folder of ingested binaries."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self._conn = conn
        self.path = path
        self.readonly = readonly
        self.files_dir = path.parent / FILES_DIRNAME

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def create(cls, db_path: str | Path) -> DidSqliteStore:
        """Create a new empty database with DID-matlab's tables, indexes and branch ``a``."""
        path = Path(db_path)
        if path.exists():
            raise FileExistsError(f"a database already exists at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path, readonly=False)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in (*CREATE_TABLES, *CREATE_INDEXES.values()):
                conn.execute(statement)
            conn.execute(META_INDEX_SQL.format(where=meta_index_where(DEFAULT_META_FIELD_IDS)))
            conn.execute(DOC_ID_INDEX_SQL)
            conn.execute(
                "INSERT INTO branches (branch_id, parent_id, timestamp) VALUES (?, NULL, ?)",
                (MAIN_BRANCH, ids.local_datenum()),
            )
            conn.execute("COMMIT")
            conn.execute("PRAGMA optimize")
        except BaseException:
            conn.close()
            path.unlink(missing_ok=True)
            raise
        (path.parent / FILES_DIRNAME).mkdir(exist_ok=True)
        store = cls(conn, path, readonly=False)
        store._load_meta_index()
        return store

    @classmethod
    def open(cls, db_path: str | Path, *, readonly: bool = True) -> DidSqliteStore:
        """Open an existing database. Read-only opening changes nothing on disk."""
        path = Path(db_path)
        if not path.is_file():
            raise DatabaseFormatError(f"no DID-SQLite database at {path}")
        conn = _connect(path, readonly)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            conn.close()
            raise DatabaseFormatError(f"{path} is not a DID-SQLite database: missing table(s) {', '.join(missing)}")
        store = cls(conn, path, readonly)
        store._has_files_table = "files" in tables
        if not readonly:
            store._prepare_for_write(tables)
        store._load_meta_index()
        return store

    _has_files_table = True
    _meta_ids: tuple[int, ...] = ()
    _has_removal_index = False
    _has_doc_id_index = False

    def _load_meta_index(self) -> None:
        """Learn which ndipy_ indexes exist; queries must repeat the partial index's WHERE term."""
        self._has_doc_id_index = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'ndipy_docs_idx_id'").fetchone() is not None
        row = self._conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                                 (META_INDEX,)).fetchone()
        match = re.search(r"field_idx IN \(([\d, ]+)\)", row[0]) if row and row[0] else None
        self._meta_ids = tuple(int(i) for i in match.group(1).split(",")) if match else ()

    def _prepare_for_write(self, tables: set[str]) -> None:
        with self._transaction():
            if "files" not in tables:
                self._conn.execute(CREATE_FILES_TABLE)
            if not self._conn.execute("SELECT 1 FROM branches WHERE branch_id = ?", (MAIN_BRANCH,)).fetchone():
                self._conn.execute(
                    "INSERT INTO branches (branch_id, parent_id, timestamp) VALUES (?, NULL, ?)",
                    (MAIN_BRANCH, ids.local_datenum()),
                )
            fields = self._fields()
            meta_ids = tuple(fields.get(name, default) for name, default in
                             zip(META_FIELDS_INDEXED, DEFAULT_META_FIELD_IDS, strict=True))
            existing = self._conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (META_INDEX,)).fetchone()
            if existing and "doc_idx" not in existing[0]:  # an older, non-covering version
                self._conn.execute(f'DROP INDEX "{META_INDEX}"')
            self._conn.execute(META_INDEX_SQL.format(where=meta_index_where(meta_ids)))
            self._conn.execute(DOC_ID_INDEX_SQL)
        self._has_files_table = True
        self.files_dir.mkdir(exist_ok=True)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> DidSqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for read-only inspection (tests, diagnostics)."""
        return self._conn

    # -- transactions -------------------------------------------------------------------------

    def _require_writable(self) -> None:
        if self.readonly:
            raise NdiError(f"{self.path} was opened read-only; open it with readonly=False to change it")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._locked(exc) from exc
        try:
            yield self._conn
            try:
                self._conn.execute("COMMIT")  # may fail (e.g. locked by a reader): then roll back too
            except sqlite3.OperationalError as exc:
                raise self._locked(exc) from exc
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._has_removal_index = False  # its creation may have been rolled back too
            raise

    def _locked(self, exc: sqlite3.OperationalError) -> Exception:
        if "locked" in str(exc) or "busy" in str(exc):
            return DatabaseLockedError(f"{self.path} is locked by another program ({exc}); nothing was changed")
        return exc

    def _fields(self) -> dict[str, int]:
        return field_dictionary(self._conn)

    # -- writing ------------------------------------------------------------------------------

    def add(
        self,
        docs: Document | Iterable[Document],
        *,
        replace: bool = False,
        file_sources: Mapping[str, str | Path] | None = None,
        allow_missing_files: bool = False,
        remove: Iterable[str] = (),
        parallel: bool = True,
    ) -> int:
        """Add documents in one transaction; return how many were added.

        Binaries of ingest-1 locations are copied to ``files/<uid>`` (from
        ``file_sources[uid]`` when given, else from a ``file`` location); originals
        with ``delete_original`` are deleted only after the commit, and never when the
        bytes came from ``file_sources``. Ids in ``remove`` are removed first, in the
        same transaction. On any error nothing is written. Large adds prepare
        documents in a helper process (``parallel=False`` keeps it all in this one).
        """
        self._require_writable()
        if isinstance(docs, Document):
            docs = [docs]
        batch = AddBatch(self._conn, self.path, self.files_dir, purge=self._purge, replace=replace,
                         sources=file_sources or {}, allow_missing=allow_missing_files)
        try:
            with self._transaction():
                for doc_idx in self._live_idx(list(remove)).values():
                    self._purge(doc_idx)
                for chunk, prepared in prepared_chunks(checked_chunks(docs), parallel=parallel):
                    batch.write(chunk, prepared)
                batch.finish()
        except BaseException:
            batch.discard_files()
            raise
        batch.delete_originals()
        return batch.count

    def remove(self, doc_ids: str | Iterable[str], *, missing_ok: bool = False) -> int:
        """Remove documents (branch row and their index rows); ingested bytes are kept."""
        self._require_writable()
        wanted = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        with self._transaction():
            live = self._live_idx(wanted)
            missing = [i for i in wanted if i not in live and i.lower() not in live]
            if missing and not missing_ok:
                raise DocumentNotFoundError(f"no live document with id {', '.join(missing[:5])}")
            for doc_idx in live.values():
                self._purge(doc_idx)
        return len(live)

    def _live_idx(self, doc_ids: list[str]) -> dict[str, int]:
        """doc_idx of live documents by id, matching each id as given and in lower case."""
        spellings = list(dict.fromkeys(s for i in doc_ids for s in (i, i.lower())))
        found: dict[str, int] = {}
        for chunk in chunks(spellings, CHUNK):
            marks = ",".join("?" * len(chunk))
            found.update(self._conn.execute(
                f"SELECT d.doc_id, d.doc_idx FROM docs d {_LIVE_JOIN} WHERE d.doc_id IN ({marks})", chunk
            ))
        return found

    def _purge(self, doc_idx: int) -> None:
        if not self._has_removal_index:
            self._conn.execute(REMOVAL_INDEX_SQL)
            self._has_removal_index = True
        for table in ("branch_docs", "doc_data", "files", "docs"):
            self._conn.execute(f"DELETE FROM {table} WHERE doc_idx = ?", (doc_idx,))

    # -- reading ------------------------------------------------------------------------------

    def _document(self, doc_id: str, json_code: str) -> Document:
        return Document.from_json(json_code, source=f"document {doc_id} in {self.path}")

    def get(self, doc_id: str) -> Document:
        """The live document with this id."""
        for candidate in dict.fromkeys((doc_id, doc_id.lower())):
            row = self._conn.execute(
                f"SELECT d.json_code FROM docs d {_LIVE_JOIN} WHERE d.doc_id = ?", (candidate,)
            ).fetchone()
            if row:
                return self._document(candidate, row[0])
        raise DocumentNotFoundError(f"no live document with id {doc_id!r} in {self.path}")

    def exists(self, doc_id: str) -> bool:
        return bool(self._live_idx([doc_id]))

    def _compile(self, query: Query | Any) -> tuple[str, list[Any]]:
        scope = meta_index_where(self._meta_ids) if self._meta_ids else None
        return compile_query(Query.coerce(query), self._fields(), scope, self._meta_ids,
                             distinct_values=self._distinct_values if scope else None)

    def _distinct_values(self, field_idx: int, scope: str) -> list[Any]:
        """Distinct values of one indexed meta field, by index seeks (an emulated skip-scan)."""
        base = f"FROM doc_data WHERE {scope} AND field_idx = {int(field_idx)}"
        sql = (
            f"WITH RECURSIVE v(x) AS (SELECT min(value) {base} "
            f"UNION ALL SELECT (SELECT min(value) {base} AND value > v.x) FROM v WHERE v.x IS NOT NULL) "
            "SELECT x FROM v WHERE x IS NOT NULL"
        )
        return [row[0] for row in self._conn.execute(sql)]

    def _matching(self, columns: str, query: Query | Any, *, by_id_index: bool) -> sqlite3.Cursor:
        body, params = self._compile(query)
        # The small (doc_idx, doc_id) index answers id-only searches without reading the JSON table.
        hint = " INDEXED BY ndipy_docs_idx_id" if by_id_index and self._has_doc_id_index else ""
        sql = (
            f"SELECT {columns} FROM docs d{hint} JOIN branch_docs b ON b.branch_id = 'a' AND b.doc_idx = d.doc_idx "
            f"WHERE d.doc_idx IN ({body}) ORDER BY d.doc_idx"
        )
        return self._conn.execute(sql, params)

    def search_ids(self, query: Query | Any) -> list[str]:
        """Ids of live documents matching ``query``, in insertion order."""
        return [row[0] for row in self._matching("d.doc_id", query, by_id_index=True)]

    def search(self, query: Query | Any) -> list[Document]:
        """Live documents matching ``query``, in insertion order."""
        rows = self._matching("d.doc_id, d.json_code", query, by_id_index=False)
        return [self._document(i, code) for i, code in rows]

    def live_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute(f"SELECT d.doc_id FROM docs d {_LIVE_JOIN} ORDER BY b.doc_idx")]

    def iter_documents(self) -> Iterator[Document]:
        """Every live document, streamed in insertion order."""
        # ordered by the branch index's own order: ORDER BY d.doc_idx made SQLite sort every document in memory
        cursor = self._conn.execute(f"SELECT d.doc_id, d.json_code FROM docs d {_LIVE_JOIN} ORDER BY b.doc_idx")
        while rows := cursor.fetchmany(CHUNK):
            for doc_id, code in rows:
                yield self._document(doc_id, code)

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM branch_docs WHERE branch_id = 'a'").fetchone()[0]

    def count_by_class(self) -> dict[str, int]:
        """Number of live documents per ``document_class.class_name``."""
        field = self._fields().get("meta.class")
        if field is None:
            return {}
        rows = self._conn.execute(
            "SELECT dd.value, count(*) FROM doc_data dd JOIN branch_docs b ON b.doc_idx = dd.doc_idx "
            "AND b.branch_id = 'a' WHERE dd.field_idx = ? GROUP BY dd.value ORDER BY dd.value",
            (field,),
        )
        return {str(value): n for value, n in rows}

    def file_rows(self, doc_id: str | None = None) -> list[FileRow]:
        """``files`` rows of live documents (of one document when ``doc_id`` is given)."""
        if not self._has_files_table:
            return []
        sql = (
            "SELECT d.doc_id, f.filename, f.uid, f.orig_location, f.cached_location, f.type, f.parameters "
            f"FROM files f JOIN docs d ON d.doc_idx = f.doc_idx {_LIVE_JOIN}"
        )
        params: tuple[Any, ...] = ()
        if doc_id is not None:
            sql += " WHERE d.doc_id = ?"
            params = (doc_id,)
        return [FileRow(*row) for row in self._conn.execute(sql + " ORDER BY f.doc_idx, f.rowid", params)]

    def tables(self) -> list[str]:
        present = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return [t for t in ALL_TABLES if t in present]
