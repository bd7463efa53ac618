"""Presigned file upload URLs that already stored their bytes (cloud-api §10.4), kept in the records database.

A used URL may send the same bytes again (a client's retry) but may not replace them. The record survives a
restart, so a URL replayed after one is still caught; it is dropped once the URL has expired, since an expired
URL is refused by its signature alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA = """
CREATE TABLE IF NOT EXISTS spent_upload_urls (signature TEXT PRIMARY KEY, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS spent_upload_urls_by_expiry ON spent_upload_urls (expires);
"""


class SpentUploadUrls:
    """Signatures of file upload URLs that stored their bytes, until the URLs expire."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._conn = connect
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def spend(self, signature: str, expires: float) -> None:
        with self._conn() as conn:
            conn.execute("INSERT OR IGNORE INTO spent_upload_urls (signature, expires) VALUES (?, ?)",
                         (signature, expires))

    def is_spent(self, signature: str) -> bool:
        return self._conn().execute("SELECT 1 FROM spent_upload_urls WHERE signature = ?",
                                    (signature,)).fetchone() is not None

    def forget_expired(self, now: float) -> int:
        """Drop the URLs expired by ``now``; returns how many."""
        if self._conn().execute("SELECT 1 FROM spent_upload_urls WHERE expires < ? LIMIT 1", (now,)).fetchone() is None:
            return 0  # nothing expired: no write transaction on the worker's every tick
        with self._conn() as conn:
            return conn.execute("DELETE FROM spent_upload_urls WHERE expires < ?", (now,)).rowcount
