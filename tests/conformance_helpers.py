"""Helpers shared by the test_conformance_*.py files.

They read the databases with sqlite3 directly, independently of the implementation under test; only new_demo and
ids_of go through Document.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from ndicloud.core.document import Document

from conftest import MATLAB_DATASET
from fixture_facts import FILE_NAME

CLOUD_ORG = "0123456789abcdef01234567"  # a 24-hex organization id for the dataset_remote documents written here
ID_RE = re.compile(r"^[0-9a-f]{16}_[0-9a-f]{16}$")
ONE_MINUTE_DAYS = 1.0 / 1440.0


def matlab_local_datenum_now() -> float:
    """MATLAB datenum of the current local wall-clock time (spec §2.1)."""
    now = time.time()
    return 719529 + (now + time.localtime(now).tm_gmtoff) / 86400


def db_path(dataset: Path) -> Path:
    return dataset / ".ndi" / "did-sqlite.sqlite"


def ro_connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def query_db(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    con = ro_connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def fixture_json_codes() -> dict[str, str]:
    """doc_id -> json_code of the fixture database, read without the implementation."""
    con = sqlite3.connect(f"file:{db_path(MATLAB_DATASET)}?mode=ro&immutable=1", uri=True)
    try:
        return dict(con.execute("SELECT doc_id, json_code FROM docs ORDER BY doc_idx"))
    finally:
        con.close()


def schema_snapshot(path: Path) -> dict[Any, Any]:
    """Tables, column declarations, constraints and indexes (ignoring ndipy_ indexes)."""
    con = ro_connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")]
        snap: dict[Any, Any] = {"tables": tables}
        for table in tables:
            snap[table, "table_info"] = con.execute(f'PRAGMA table_info("{table}")').fetchall()
            snap[table, "foreign_keys"] = sorted(
                r[2:] for r in con.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
            )
            indexes = []
            for _seq, name, unique, origin, partial in con.execute(f'PRAGMA index_list("{table}")'):
                if name.startswith("ndipy_"):
                    continue
                cols = tuple(r[2] for r in con.execute(f'PRAGMA index_info("{name}")'))
                # automatic indexes are compared by their columns, named ones by name
                key = name if origin == "c" else f"<auto {origin}>"
                indexes.append((key, unique, origin, partial, cols))
            snap[table, "indexes"] = sorted(indexes)
        return snap
    finally:
        con.close()


def ids_of(docs: list[Document]) -> list[str]:
    return [d.id for d in docs]


def new_demo(value: float, **kwargs: Any) -> Document:
    return Document.new("demoNDI", properties={"demoNDI": {"value": value}}, file_list=[FILE_NAME], **kwargs)
