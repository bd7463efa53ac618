"""The DID-SQLite schema, statement for statement as DID-matlab creates it."""

from __future__ import annotations

REQUIRED_TABLES = ("branches", "docs", "branch_docs", "fields", "doc_data")
ALL_TABLES = (*REQUIRED_TABLES, "files")
MAIN_BRANCH = "a"

CREATE_TABLES = (
    'CREATE TABLE "branches" (branch_id TEXT NOT NULL UNIQUE, parent_id TEXT, timestamp NUMERIC, '
    "FOREIGN KEY(parent_id) REFERENCES branches(branch_id), PRIMARY KEY(branch_id))",
    'CREATE TABLE "docs" (doc_id    TEXT    NOT NULL UNIQUE, doc_idx   INTEGER NOT NULL UNIQUE, '
    "json_code TEXT, timestamp NUMERIC, PRIMARY KEY(doc_idx AUTOINCREMENT))",
    'CREATE TABLE "branch_docs" (branch_id TEXT    NOT NULL, doc_idx   INTEGER NOT NULL, timestamp NUMERIC, '
    "FOREIGN KEY(branch_id) REFERENCES branches(branch_id), FOREIGN KEY(doc_idx)   REFERENCES docs(doc_idx), "
    "PRIMARY KEY(branch_id,doc_idx))",
    'CREATE TABLE "fields" (class      TEXT NOT NULL, field_name TEXT NOT NULL UNIQUE, '
    "json_name  TEXT NOT NULL, field_idx  INTEGER NOT NULL UNIQUE DEFAULT 1, PRIMARY KEY(field_idx AUTOINCREMENT))",
    'CREATE TABLE "doc_data" (doc_idx   INTEGER NOT NULL, field_idx INTEGER NOT NULL, value, '
    "FOREIGN KEY(doc_idx)   REFERENCES docs(doc_idx), FOREIGN KEY(field_idx) REFERENCES fields(field_idx))",
    'CREATE TABLE "files" (doc_idx         INTEGER NOT NULL, filename        TEXT NOT NULL, '
    "uid             TEXT NOT NULL UNIQUE, orig_location   TEXT NOT NULL, cached_location TEXT, "
    "type            TEXT NOT NULL, parameters      TEXT, FOREIGN KEY(doc_idx) REFERENCES docs(doc_idx), "
    "PRIMARY KEY(doc_idx,filename,uid))",
)
CREATE_FILES_TABLE = CREATE_TABLES[-1]

# DID-matlab's three named indexes.
CREATE_INDEXES = {
    "docs_doc_id": 'CREATE INDEX "docs_doc_id"       ON "docs"     ("doc_id")',
    "doc_data_value": 'CREATE INDEX "doc_data_value"    ON "doc_data" ("value")',
    "fields_field_name": 'CREATE INDEX "fields_field_name" ON "fields"   ("field_name")',
}

# Extra indexes this package adds to databases it writes (spec §4.3 allows the ndipy_ prefix).
# A covering partial index over the meta.class, meta.superclass and meta.depends_on rows
# answers isa and depends_on from the index alone; it holds 3 small entries per document.
META_INDEX = "ndipy_doc_data_meta"
META_INDEX_SQL = (
    'CREATE INDEX IF NOT EXISTS "ndipy_doc_data_meta" ON "doc_data" ("field_idx", "value", "doc_idx") WHERE {where}'
)
META_FIELDS_INDEXED = ("meta.class", "meta.superclass", "meta.depends_on")
DEFAULT_META_FIELD_IDS = (1, 2, 6)  # meta rows are the first six fields of every DID-SQLite database
# Ids of matching documents come from this small index instead of the table holding the JSON.
DOC_ID_INDEX_SQL = 'CREATE INDEX IF NOT EXISTS "ndipy_docs_idx_id" ON "docs" ("doc_idx", "doc_id")'
# Removal needs a document's doc_data rows; this index is built the first time a document is
# removed, not during bulk adds, where it would cost about a fifth of the insert time.
REMOVAL_INDEX_SQL = 'CREATE INDEX IF NOT EXISTS "ndipy_doc_data_doc" ON "doc_data" ("doc_idx")'


def meta_index_where(field_ids: tuple[int, ...]) -> str:
    """The partial index's WHERE term; queries repeat it verbatim so SQLite can use the index."""
    return f"field_idx IN ({', '.join(str(i) for i in field_ids)})"
