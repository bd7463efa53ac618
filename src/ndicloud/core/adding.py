"""Adding documents to a DID-SQLite database: one transaction, binaries ingested, nothing half-done.

``AddBatch`` holds the state of one ``DidSqliteStore.add`` call: the field
dictionary, the next doc_idx, the binaries it copied in (removed again if the
transaction rolls back) and the originals to delete once it has committed.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice, repeat
from pathlib import Path
from typing import Any

from . import ids
from .document import Document, check_file_name, location_type_of
from .errors import DuplicateDocumentError, DuplicateFileUidError, InvalidDocumentError, MissingBinaryError
from .indexing import json_name
from .prepare import Prepared
from .schema import MAIN_BRANCH, META_INDEX

log = logging.getLogger(__name__)

CHUNK = 500  # documents per executemany batch (and per IN (...) lookup)
# Below this many documents, rebuilding the meta index after a bulk add costs less than maintaining it.
SMALL_DATABASE = 5_000


def field_dictionary(conn: sqlite3.Connection) -> dict[str, int]:
    """The global ``fields`` dictionary: field name to field_idx."""
    return dict(conn.execute("SELECT field_name, field_idx FROM fields"))


def flag(value: Any) -> bool:
    """MATLAB writes 0/1; the Python port wrote booleans; accept both (and "1"/"true")."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return bool(value)


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def checked_chunks(docs: Iterable[Document]) -> Iterator[list[Document]]:
    """Chunks of documents, each id written in lower case (readers accept either; writers use lower)."""
    for chunk in chunks(docs, CHUNK):
        for doc in chunk:
            if not isinstance(doc, Document):
                raise TypeError(f"expected Document, got {type(doc).__name__}")
            if not doc.id.islower():
                doc.properties["base"]["id"] = doc.id.lower()
        yield chunk


_ROWS_PER_INSERT = 300  # doc_data rows per INSERT statement: 900 bound values, under every SQLite limit
_INSERT_DOC_DATA = "INSERT INTO doc_data (doc_idx, field_idx, value) VALUES "


def insert_doc_data(conn: sqlite3.Connection, doc_idx: list[int], field_idx: list[int], value: list[Any]) -> None:
    """Insert doc_data rows, given column by column, with multi-row INSERTs: fewer statements to step than one
    per row (DID-SQLite's table here; the local server's search index has the same three columns)."""
    count = len(doc_idx)
    flat: list[Any] = [None] * (3 * count)
    flat[0::3], flat[1::3], flat[2::3] = doc_idx, field_idx, value
    full = count - count % _ROWS_PER_INSERT
    width = 3 * _ROWS_PER_INSERT
    if full:
        statement = _INSERT_DOC_DATA + ",".join(["(?, ?, ?)"] * _ROWS_PER_INSERT)
        conn.executemany(statement, (flat[i:i + width] for i in range(0, 3 * full, width)))
    if count > full:
        conn.execute(_INSERT_DOC_DATA + ",".join(["(?, ?, ?)"] * (count - full)), flat[3 * full:])


class AddBatch:
    """State of one ``add`` call: index rows, ingested files, originals to delete."""

    def __init__(self, conn: sqlite3.Connection, db_path: Path, files_dir: Path, *,
                 purge: Callable[[int], None], replace: bool, sources: Mapping[str, str | Path],
                 allow_missing: bool):
        self.conn = conn
        self.db_path = db_path
        self.files_dir = files_dir
        self.purge = purge
        self.replace = replace
        self.sources = {uid.lower(): Path(p) for uid, p in sources.items()}
        self.allow_missing = allow_missing
        self.count = 0
        self.seen_ids: set[str] = set()
        self.seen_uids: set[str] = set()
        self.created: list[Path] = []
        self.originals: list[Path] = []
        self.fields: dict[str, int] | None = None
        self.next_field = 0
        self.next_doc = 0
        self.db_was_empty = False
        self.db_was_small = False
        self.deferred_indexes: list[tuple[str, str]] = []
        self.known_ids: set[str] | None = None
        self.known_uids: set[str] | None = None
        self.files_dir_abs = files_dir.resolve()

    def _start(self) -> None:
        self.fields = field_dictionary(self.conn)
        seq = dict(self.conn.execute("SELECT name, seq FROM sqlite_sequence"))
        max_field = max(self.fields.values(), default=0)
        max_doc = self.conn.execute("SELECT max(doc_idx) FROM docs").fetchone()[0] or 0
        self.next_field = max(seq.get("fields", 0), max_field) + 1
        self.next_doc = max(seq.get("docs", 0), max_doc) + 1
        self.db_was_empty = max_doc == 0
        live = self.conn.execute("SELECT count(*) FROM branch_docs").fetchone()[0]
        self.db_was_small = live < SMALL_DATABASE
        if self.db_was_small and not self.db_was_empty:
            # A small database's ids and uids fit in memory: chunks are checked against
            # these sets, and only an actual clash goes to SQL.
            self.known_ids = {i.lower() for (i,) in self.conn.execute("SELECT doc_id FROM docs")}
            self.known_uids = {u.lower() for (u,) in self.conn.execute("SELECT uid FROM files")}
        self.files_dir.mkdir(exist_ok=True)

    def _field_idx(self, name: str, block: str) -> int:
        assert self.fields is not None
        idx = self.fields.get(name)
        if idx is None:
            idx = self.next_field
            self.conn.execute(
                "INSERT INTO fields (class, field_name, json_name, field_idx) VALUES (?, ?, ?, ?)",
                (block, name, json_name(name), idx),
            )
            self.fields[name] = idx
            self.next_field += 1
        return idx

    def write(self, docs: list[Document], prepared: list[Prepared]) -> None:
        if self.fields is None:
            self._start()
        if self.count and self.db_was_small and not self.deferred_indexes:
            self._defer_indexes()
        doc_ids = [doc.id for doc in docs]  # lower case already (checked_chunks)
        for doc_id in doc_ids:
            if doc_id in self.seen_ids:
                raise DuplicateDocumentError(f"document {doc_id} appears twice in the documents being added")
            self.seen_ids.add(doc_id)
        if self.known_ids is not None:
            clashing = [i for i in doc_ids if i in self.known_ids]
            if clashing:
                self._clear_existing(clashing)
        elif not self.db_was_empty:
            self._clear_existing(doc_ids)
        infos = [doc.file_info for doc in docs]
        self._check_uids(docs, infos)

        now = ids.local_datenum()
        fields = self.fields
        assert fields is not None
        first_idx = self.next_doc
        self.next_doc += len(docs)
        row_docs: list[int] = []  # doc_data columns, gathered column by column
        row_fields: list[int] = []
        row_values: list[Any] = []
        file_rows = []
        for doc_idx, (doc, info_list, (_, names, blocks, values)) in enumerate(
                zip(docs, infos, prepared, strict=True), start=first_idx):
            field_ids = list(map(fields.get, names))
            if None in field_ids:  # a field never seen in this database: register it
                field_ids = [self._field_idx(n, b) if i is None else i
                             for n, b, i in zip(names, blocks, field_ids, strict=True)]
            row_docs.extend(repeat(doc_idx, len(field_ids)))
            row_fields.extend(field_ids)
            row_values.extend(values)
            for info in info_list:
                for loc in info["locations"]:
                    file_rows.append(self._file_row(doc, doc_idx, info.get("name"), loc))
        indexes = range(first_idx, self.next_doc)
        self.conn.executemany(
            "INSERT INTO docs (doc_id, doc_idx, json_code, timestamp) VALUES (?, ?, ?, ?)",
            zip(doc_ids, indexes, (p[0] for p in prepared), repeat(now)),
        )
        self.conn.executemany("INSERT INTO branch_docs (branch_id, doc_idx, timestamp) VALUES (?, ?, ?)",
                              zip(repeat(MAIN_BRANCH), indexes, repeat(now)))
        insert_doc_data(self.conn, row_docs, row_fields, row_values)
        if file_rows:
            self.conn.executemany(
                "INSERT INTO files (doc_idx, filename, uid, orig_location, cached_location, type, parameters) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                file_rows,
            )
        self.count += len(docs)

    def _defer_indexes(self) -> None:
        """Bulk load into an (almost) empty database: build the partial meta index at the end.

        SQLite evaluates a partial index's WHERE for every inserted doc_data row, which
        costs about five times more than building the index in one pass afterwards. The
        other indexes cost about the same either way and stay incremental, where their
        work overlaps with preparing the next chunk. Drop and rebuild are in the add's
        transaction, so a failure restores the index.
        """
        self.deferred_indexes = list(self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (?, ?, ?)",
            (META_INDEX, "docs_doc_id", "ndipy_docs_idx_id")))
        for name, _ in self.deferred_indexes:
            self.conn.execute(f'DROP INDEX "{name}"')

    def finish(self) -> None:
        for _, sql in self.deferred_indexes:
            self.conn.execute(sql)

    def _clear_existing(self, doc_ids: list[str]) -> None:
        """Purge stale (non-live) rows of these ids; refuse live ones unless replacing."""
        # ids arrive in lower case; another writer may have stored an upper-case spelling
        wanted = list(dict.fromkeys(s for doc_id in doc_ids for s in (doc_id, doc_id.upper())))
        marks = ",".join("?" * len(wanted))
        rows = self.conn.execute(
            "SELECT d.doc_id, d.doc_idx, b.doc_idx IS NOT NULL FROM docs d LEFT JOIN branch_docs b "
            f"ON b.doc_idx = d.doc_idx AND b.branch_id = 'a' WHERE d.doc_id IN ({marks})",
            wanted,
        ).fetchall()
        for doc_id, doc_idx, live in rows:
            if live and not self.replace:
                raise DuplicateDocumentError(
                    f"document {doc_id} is already in {self.db_path}; pass replace=True to update it"
                )
            self.purge(doc_idx)

    def _check_uids(self, chunk: list[Document], infos: list[list[dict[str, Any]]]) -> None:
        uids: list[tuple[str, Document]] = []
        for doc, info_list in zip(chunk, infos, strict=True):
            for info in info_list:
                check_file_name(info.get("name"), f"file name in document {doc.id}")
                for loc in info["locations"]:
                    if not isinstance(loc, dict) or "uid" not in loc:
                        raise InvalidDocumentError(f"document {doc.id}: a location of {info.get('name')!r} has no uid")
                    uid = check_file_name(loc["uid"], f"file uid in document {doc.id}")
                    for key in ("location", "location_type", "parameters"):
                        if loc.get(key) is not None and not isinstance(loc[key], str):
                            raise InvalidDocumentError(
                                f"document {doc.id}: {key} of file {info.get('name')!r} (uid {uid}) must be text, "
                                f"got {type(loc[key]).__name__}"
                            )
                    if uid.lower() in self.seen_uids:
                        raise DuplicateFileUidError(
                            f"file uid {uid} of document {doc.id} is used twice in the documents being added"
                        )
                    self.seen_uids.add(uid.lower())
                    uids.append((uid, doc))
        if not uids or self.db_was_empty:
            return
        if self.known_uids is not None:
            uids = [(u, doc) for u, doc in uids if u.lower() in self.known_uids]
            if not uids:
                return
        clash = None
        for part in chunks([u for u, _ in uids], CHUNK):  # stay far below SQLite's bound-variable limit
            marks = ",".join("?" * len(part))
            clash = self.conn.execute(
                f"SELECT f.uid, d.doc_id FROM files f JOIN docs d ON d.doc_idx = f.doc_idx WHERE f.uid IN ({marks})",
                part,
            ).fetchone()
            if clash:
                break
        if clash:
            owner = next(doc.id for uid, doc in uids if uid == clash[0])
            raise DuplicateFileUidError(
                f"file uid {clash[0]} of document {owner} already belongs to document {clash[1]}"
            )

    def _file_row(self, doc: Document, doc_idx: int, name: str, loc: dict[str, Any]) -> tuple[Any, ...]:
        uid = loc["uid"]
        location = loc.get("location") or ""
        kind = loc.get("location_type") or location_type_of(location)
        parameters = loc.get("parameters") or None
        cached: str | None = None
        dest = self.files_dir / uid
        source = self.sources.get(uid.lower())
        if flag(loc.get("ingest")):
            from_location = source is None and kind == "file"
            if from_location:
                source = Path(location)
            copied = False
            if dest.is_file():
                cached = str(self.files_dir_abs / uid)  # bytes of a uid never change
            elif source is not None and source.is_file():
                self._copy_in(source, dest)
                cached = str(self.files_dir_abs / uid)
                copied = True
            elif not self.allow_missing:
                raise MissingBinaryError(
                    f"document {doc.id}: file {name!r} (uid {uid}) cannot be ingested: "
                    f"{source if source is not None else location!r} does not exist"
                )
            # Only an original this add copied from, and never a file inside files/ itself.
            if copied and from_location and flag(loc.get("delete_original")) and source is not None \
                    and not source.resolve().is_relative_to(self.files_dir_abs):
                self.originals.append(source)
        elif source is not None and not dest.is_file():
            if not source.is_file():
                raise MissingBinaryError(f"document {doc.id}: bytes for uid {uid} not found at {source}")
            self._copy_in(source, dest)
        return (doc_idx, name, uid, location, cached, kind, parameters if isinstance(parameters, str) else None)

    def _copy_in(self, source: Path, dest: Path) -> None:
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.created.append(dest)

    def discard_files(self) -> None:
        """Undo ingestion after a rollback: remove every file this batch created."""
        for path in self.created:
            path.unlink(missing_ok=True)

    def delete_originals(self) -> None:
        for path in self.originals:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not delete ingested original %s: %s", path, exc)
