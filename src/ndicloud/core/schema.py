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

# Extra indexes this package adds to databases it writes (spec §4.3 allows the ndipy_ prefix):
# per-field scans answer isa/depends_on without reading all of doc_data, and removal
# finds a document's rows without a full scan.
CREATE_EXTRA_INDEXES = {
    "ndipy_doc_data_field_value": 'CREATE INDEX IF NOT EXISTS "ndipy_doc_data_field_value" '
    'ON "doc_data" ("field_idx", "value")',
    "ndipy_doc_data_doc": 'CREATE INDEX IF NOT EXISTS "ndipy_doc_data_doc" ON "doc_data" ("doc_idx")',
}
