"""The server's records (users, organizations, memberships, revoked tokens, datasets) in SQLite.

SQLite in WAL mode, one connection per thread; routes use only the methods below,
so another backend (PostgreSQL, say) can replace this class without touching them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compute import ComputeSessions
from .documents import Documents
from .filestore import FileRegistry
from .ids import object_id, utc_timestamp
from .licenses import Licenses
from .regexp import regex_function
from .spent import SpentUploadUrls
from .uploads import Transfers

DATABASE_FILE = "records.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
    password_hash TEXT NOT NULL, is_admin INTEGER NOT NULL DEFAULT 0, is_validated INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL, can_compute INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS organizations (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS memberships (
    user_id TEXT NOT NULL REFERENCES users(id), organization_id TEXT NOT NULL REFERENCES organizations(id),
    can_upload INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (user_id, organization_id));
CREATE TABLE IF NOT EXISTS revoked_tokens (token_id TEXT PRIMARY KEY, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS account_codes (
    email TEXT NOT NULL COLLATE NOCASE, purpose TEXT NOT NULL, code_hash TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (email, purpose));
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, metadata TEXT NOT NULL,
    is_published INTEGER NOT NULL DEFAULT 0, is_submitted INTEGER NOT NULL DEFAULT 0,
    is_deleted INTEGER NOT NULL DEFAULT 0, delete_command_time TEXT, delete_occurrence_time TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, uploaded_at TEXT,
    branch_of TEXT, pending_action TEXT, pending_due REAL, delete_due REAL);
CREATE INDEX IF NOT EXISTS datasets_by_organization ON datasets (organization_id, created_at);
CREATE INDEX IF NOT EXISTS datasets_published ON datasets (is_published, created_at);
CREATE INDEX IF NOT EXISTS datasets_branches ON datasets (branch_of);
"""


@dataclass(frozen=True)
class Membership:
    organization_id: str
    name: str
    can_upload: bool


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str
    is_admin: bool
    is_validated: bool
    organizations: tuple[Membership, ...] = ()
    can_compute: bool = True

    def member_of(self, organization_id: str) -> Membership | None:
        return next((m for m in self.organizations if m.organization_id == organization_id), None)


@dataclass
class DatasetRecord:
    id: str
    organization_id: str
    metadata: dict[str, Any]
    is_published: bool
    is_submitted: bool
    is_deleted: bool
    delete_command_time: str | None
    delete_occurrence_time: str | None
    created_at: str
    updated_at: str
    uploaded_at: str | None
    branch_of: str | None = None
    pending_action: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Records:
    """SQLite-backed records; safe to use from the server's worker threads."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DATABASE_FILE
        self._local = threading.local()
        with self._conn() as conn:
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
            if "can_compute" not in columns:  # a data directory made before compute rights existed
                conn.execute("ALTER TABLE users ADD COLUMN can_compute INTEGER NOT NULL DEFAULT 1")
        self.documents = Documents(self._conn)
        self.files = FileRegistry(self._conn)
        self.transfers = Transfers(self._conn)
        self.compute = ComputeSessions(self._conn)
        self.licenses = Licenses(self._conn)
        self.spent_upload_urls = SpentUploadUrls(self._conn)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.create_function("regex", 2, regex_function, deterministic=True)  # ndiquery's regexp, time-limited
            self._local.conn = conn
        return conn

    # -- users and organizations ---------------------------------------------------------------

    def add_user(self, email: str, name: str, password_hash: str, *, is_admin: bool = False,
                 is_validated: bool = True, can_compute: bool = True) -> User:
        user_id = object_id()
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO users (id, email, name, password_hash, is_admin, is_validated, created_at, can_compute) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (user_id, email, name, password_hash, int(is_admin), int(is_validated), utc_timestamp(),
                 int(can_compute)),
            )
        user = self.user_by_id(user_id)
        assert user is not None
        return user

    def organization(self, name: str) -> str:
        """The id of the organization with this name, created when it does not exist."""
        with self._conn() as conn:
            row = conn.execute("SELECT id FROM organizations WHERE name = ?", (name,)).fetchone()
            if row:
                return row[0]
            org_id = object_id()
            conn.execute("INSERT INTO organizations (id, name) VALUES (?, ?)", (org_id, name))
            return org_id

    def add_membership(self, user_id: str, organization_id: str, *, can_upload: bool = True) -> None:
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO memberships (user_id, organization_id, can_upload) VALUES (?,?,?)",
                         (user_id, organization_id, int(can_upload)))

    def _user(self, column: str, value: str) -> User | None:
        conn = self._conn()
        row = conn.execute(f"SELECT id, email, name, password_hash, is_admin, is_validated, can_compute FROM users "
                           f"WHERE {column} = ?", (value,)).fetchone()
        if row is None:
            return None
        memberships = tuple(
            Membership(org_id, name, bool(can_upload)) for org_id, name, can_upload in conn.execute(
                "SELECT o.id, o.name, m.can_upload FROM memberships m JOIN organizations o ON o.id = m.organization_id "
                "WHERE m.user_id = ? ORDER BY o.name", (row[0],))
        )
        return User(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), memberships, bool(row[6]))

    def user_by_id(self, user_id: str) -> User | None:
        return self._user("id", user_id)

    def user_by_email(self, email: str) -> User | None:
        return self._user("email", email)

    def set_password(self, user_id: str, password_hash: str) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def set_validated(self, user_id: str) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE users SET is_validated = 1 WHERE id = ?", (user_id,))

    def save_code(self, email: str, purpose: str, code_hash: str, expires: float) -> None:
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO account_codes (email, purpose, code_hash, expires) VALUES (?,?,?,?)",
                         (email, purpose, code_hash, expires))

    def take_code(self, email: str, purpose: str) -> tuple[str, float] | None:
        """The stored code (hash, expiry) for this e-mail and purpose, removed once read."""
        with self._conn() as conn:
            row = conn.execute("SELECT code_hash, expires FROM account_codes WHERE email = ? AND purpose = ?",
                               (email, purpose)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM account_codes WHERE email = ? AND purpose = ?", (email, purpose))
        return None if row is None else (row[0], row[1])

    # -- tokens --------------------------------------------------------------------------------

    def revoke_token(self, token_id: str, expires: int) -> None:
        with self._conn() as conn:
            conn.execute("INSERT OR IGNORE INTO revoked_tokens (token_id, expires) VALUES (?, ?)", (token_id, expires))
            conn.execute("DELETE FROM revoked_tokens WHERE expires < ?", (int(time.time()) - 60,))

    def is_revoked(self, token_id: str) -> bool:
        row = self._conn().execute("SELECT 1 FROM revoked_tokens WHERE token_id = ?", (token_id,)).fetchone()
        return row is not None

    # -- datasets ------------------------------------------------------------------------------

    _DATASET_COLUMNS = ("id, organization_id, metadata, is_published, is_submitted, is_deleted, delete_command_time, "
                        "delete_occurrence_time, created_at, updated_at, uploaded_at, branch_of, pending_action")

    @staticmethod
    def _dataset(row: tuple[Any, ...]) -> DatasetRecord:
        return DatasetRecord(row[0], row[1], json.loads(row[2]), bool(row[3]), bool(row[4]), bool(row[5]),
                             row[6], row[7], row[8], row[9], row[10], row[11], row[12])

    def create_dataset(self, organization_id: str, metadata: dict[str, Any], *,
                       branch_of: str | None = None) -> DatasetRecord:
        dataset_id = object_id()
        now = utc_timestamp()
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO datasets (id, organization_id, metadata, created_at, updated_at, branch_of) "
                "VALUES (?,?,?,?,?,?)",
                (dataset_id, organization_id, json.dumps(metadata, allow_nan=True), now, now, branch_of),
            )
        record = self.dataset(dataset_id)
        assert record is not None
        return record

    def dataset(self, dataset_id: str) -> DatasetRecord | None:
        row = self._conn().execute(f"SELECT {self._DATASET_COLUMNS} FROM datasets WHERE id = ?",
                                   (dataset_id,)).fetchone()
        return None if row is None else self._dataset(row)

    def update_dataset(self, dataset_id: str, metadata: dict[str, Any], **flags: Any) -> None:
        columns = {"metadata": json.dumps(metadata, allow_nan=True), "updated_at": utc_timestamp(), **flags}
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._conn() as conn:
            conn.execute(f"UPDATE datasets SET {assignments} WHERE id = ?", (*columns.values(), dataset_id))

    def mark_uploaded(self, dataset_id: str) -> None:
        """Note that documents or file bytes just arrived: the dataset's ``uploadedAt``."""
        with self._conn() as conn:
            conn.execute("UPDATE datasets SET uploaded_at = ? WHERE id = ?", (utc_timestamp(), dataset_id))

    def list_datasets(self, where: str, params: tuple[Any, ...], page: int, page_size: int
                      ) -> tuple[int, list[DatasetRecord]]:
        """One page of the datasets matching a fixed WHERE clause of this module's callers, newest first."""
        conn = self._conn()
        total = conn.execute(f"SELECT count(*) FROM datasets WHERE {where}", params).fetchone()[0]
        rows = conn.execute(
            f"SELECT {self._DATASET_COLUMNS} FROM datasets WHERE {where} ORDER BY created_at DESC, id DESC "
            "LIMIT ? OFFSET ?", (*params, page_size, (page - 1) * page_size)).fetchall()
        return total, [self._dataset(r) for r in rows]

    # -- deletion and deferred actions (carried out by the worker) -------------------------------

    def soft_delete_dataset(self, dataset_id: str, due: float) -> None:
        """Hide the dataset now; the worker prunes it for good at ``due`` (Unix seconds)."""
        with self._conn() as conn:
            conn.execute("UPDATE datasets SET is_deleted = 1, delete_command_time = ?, delete_occurrence_time = ?, "
                         "delete_due = ?, pending_action = NULL, pending_due = NULL WHERE id = ?",
                         (utc_timestamp(), utc_timestamp(due), due, dataset_id))

    def prune_dataset(self, dataset_id: str) -> None:
        """Remove the dataset's records, and its documents, for good."""
        self.documents.prune_dataset(dataset_id)
        self.files.delete_dataset(dataset_id)
        with self._conn() as conn:
            conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))

    def schedule(self, dataset_id: str, action: str, due: float) -> None:
        """Ask the worker to carry out ``action`` (publish, unpublish, undelete) at ``due``."""
        with self._conn() as conn:
            conn.execute("UPDATE datasets SET pending_action = ?, pending_due = ? WHERE id = ?",
                         (action, due, dataset_id))

    def due_actions(self, now: float) -> list[tuple[str, str]]:
        rows = self._conn().execute(
            "SELECT id, pending_action FROM datasets WHERE pending_due IS NOT NULL AND pending_due <= ?", (now,))
        return list(rows)

    def finish_action(self, dataset_id: str, action: str) -> None:
        """Apply a due action and clear it (only if it is still the pending one)."""
        changes = {
            "publish": "is_published = 1",
            "unpublish": "is_published = 0",
            "undelete": "is_deleted = 0, delete_command_time = NULL, delete_occurrence_time = NULL, delete_due = NULL",
        }[action]
        with self._conn() as conn:
            conn.execute(f"UPDATE datasets SET {changes}, pending_action = NULL, pending_due = NULL, updated_at = ? "
                         "WHERE id = ? AND pending_action = ?", (utc_timestamp(), dataset_id, action))

    def dataset_exists(self, dataset_id: str) -> bool:
        return self._conn().execute("SELECT 1 FROM datasets WHERE id = ?", (dataset_id,)).fetchone() is not None

    def due_prunes(self, now: float) -> list[str]:
        rows = self._conn().execute(
            "SELECT id FROM datasets WHERE is_deleted = 1 AND delete_due IS NOT NULL AND delete_due <= ? "
            "AND (pending_action IS NULL OR pending_action != 'undelete')", (now,))
        return [r[0] for r in rows]
