"""The sync index ``<dataset>/.ndi/sync/index.json`` that NDI-matlab keeps.

MATLAB writes ``localDocumentIdsLastSync``, ``remoteDocumentIdsLastSync`` and
``lastSyncTimestamp`` (a one-element list as a bare string); the Python port wrote
snake_case keys. Both are read; MATLAB's keys win; writes keep MATLAB's keys
(always as arrays) plus the snake_case copies, atomically.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from . import jsonio
from .errors import DocumentJsonError

MATLAB_KEYS = ("localDocumentIdsLastSync", "remoteDocumentIdsLastSync", "lastSyncTimestamp")
PORT_KEYS = ("local_doc_ids_last_sync", "remote_doc_ids_last_sync", "last_sync_timestamp")


@dataclass
class SyncIndex:
    """Ids present on each side at the last sync (remote duplicates repeat)."""

    local_ids: list[str] = field(default_factory=list)
    remote_ids: list[str] = field(default_factory=list)
    timestamp: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def sync_index_path(dataset_path: str | Path) -> Path:
    return Path(dataset_path) / ".ndi" / "sync" / "index.json"


def _id_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [sys.intern(v) for v in value]  # the same ids are held elsewhere too (see the sync state)
    raise DocumentJsonError(f"sync index key {key!r} must be a list of ids or a string, got {value!r}")


def read_sync_index(dataset_path: str | Path) -> SyncIndex:
    """Read the index; a missing file is an empty state."""
    path = sync_index_path(dataset_path)
    try:
        data = jsonio.parse(path.read_bytes())
    except FileNotFoundError:
        return SyncIndex()
    except UnicodeDecodeError as exc:
        raise DocumentJsonError(f"malformed sync index {path}: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise DocumentJsonError(f"malformed sync index {path}: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(data, dict):
        raise DocumentJsonError(f"sync index {path} must hold a JSON object")
    values = []
    for matlab_key, port_key in zip(MATLAB_KEYS, PORT_KEYS, strict=True):
        key = matlab_key if matlab_key in data else port_key
        values.append((key, data.get(key)))
    extra = {k: v for k, v in data.items() if k not in MATLAB_KEYS and k not in PORT_KEYS}
    timestamp = values[2][1]
    return SyncIndex(
        local_ids=_id_list(values[0][1], values[0][0]),
        remote_ids=_id_list(values[1][1], values[1][0]),
        timestamp=timestamp if isinstance(timestamp, str) else None,
        extra=extra,
    )


def write_sync_index(dataset_path: str | Path, index: SyncIndex) -> Path:
    """Write the index atomically (temporary file, then rename) with MATLAB's keys as arrays."""
    path = sync_index_path(dataset_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = index.timestamp or datetime.now().astimezone().isoformat(timespec="seconds")
    data: dict[str, Any] = {
        "localDocumentIdsLastSync": list(index.local_ids),
        "remoteDocumentIdsLastSync": list(index.remote_ids),
        "lastSyncTimestamp": stamp,
        "local_doc_ids_last_sync": list(index.local_ids),
        "remote_doc_ids_last_sync": list(index.remote_ids),
        "last_sync_timestamp": stamp,
    }
    for key, value in index.extra.items():
        data.setdefault(key, value)
    write_json_atomically(path, data)
    return path


def write_json_atomically(path: Path, data: Any, *, indent: int | None = None) -> None:
    """Write JSON so that a reader or a crash never sees half of it: a temporary file in the same folder
    (mode 0600), flushed to disk, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if indent:
                handle.write(json.dumps(data, indent=indent).encode("utf-8"))
            else:
                _write_compact(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


_STREAMED_ENTRIES = 1000  # objects larger than this are written a slice at a time


def _large(value: Any) -> bool:
    """A dict with many entries, or holding one (directly or further down)."""
    return isinstance(value, dict) and (len(value) > _STREAMED_ENTRIES or any(
        isinstance(item, dict) and _large(item) for item in value.values()))


def _write_compact(handle: BinaryIO, value: Any) -> None:
    """Compact JSON, written as it is made: a large object (a big dataset's per-document state) goes a
    thousand entries at a time, so writing never holds a second copy of the whole state in memory."""
    if not _large(value):
        handle.write(_json_bytes(value))
        return
    handle.write(b"{")
    items = iter(value.items())
    first = True
    while part := list(islice(items, _STREAMED_ENTRIES)):
        small = {key: item for key, item in part if not _large(item)}
        if small:  # a slice in one call: "{...}" without its braces
            handle.write((b"" if first else b",") + _json_bytes(small)[1:-1])
            first = False
        for key, item in part:
            if key not in small:
                handle.write((b"" if first else b",") + _json_bytes(str(key)) + b":")
                first = False
                _write_compact(handle, item)
    handle.write(b"}")


def _json_bytes(data: Any) -> bytes:
    """Compact JSON by orjson (a state is rewritten after every batch of a transfer, so its speed shows),
    which writes NaN as null as MATLAB's jsonencode does; json for what orjson refuses."""
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError: non-text keys, integers beyond 64 bits
        return json.dumps(data, separators=(",", ":")).encode("utf-8")
