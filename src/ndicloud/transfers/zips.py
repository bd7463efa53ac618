"""Zips going to and coming from NDI Cloud: written streamed, read as data never as paths (sync.md §6-§7).

Document zips hold one JSON array of ``document_properties`` (NaN as bare tokens going up, sentinel strings
coming down). File zips hold one entry per file, named by its uid alone. Reading refuses entry names with
``..`` or absolute paths and caps the total uncompressed size (zip bombs).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import orjson

from ..core import jsonio
from ..core.jsonio import NAN_SENTINELS

CHUNK = 1 << 20
DOCUMENTS_ENTRY = "documents.json"
MAX_UNCOMPRESSED_BYTES = 20 * 1024**3
MAX_ENTRY_BYTES = 2 * 1024**3  # one entry is parsed in memory: a chunk of documents is far smaller
MAX_RATIO = 200  # uncompressed : compressed, per entry of at least RATIO_FLOOR_BYTES (the server's guard)
RATIO_FLOOR_BYTES = 64 * 1024**2  # smaller entries may compress as well as they like: sparse data does
SENTINEL_MARK = b"__NDI__"


class UnsafeZipError(ValueError):
    """A zip from the cloud that cannot be read safely (hostile names, too large, damaged)."""


def write_document_zip(documents: Iterable[dict[str, Any]], path: Path) -> int:
    """Write the documents as one JSON array into a new zip at ``path``, one document at a time; the count."""
    count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
            archive.open(DOCUMENTS_ENTRY, "w", force_zip64=True) as entry:
        entry.write(b"[")
        for properties in documents:
            if count:
                entry.write(b",")
            entry.write(_json_bytes(properties))
            count += 1
        entry.write(b"]")
    return count


def _json_bytes(properties: dict[str, Any]) -> bytes:
    """A document as compact JSON: orjson's, unless it holds a null (orjson writes NaN and Infinity as null;
    the cloud takes them as bare tokens, which json writes) or values orjson refuses."""
    try:
        text = orjson.dumps(properties)
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits, non-text keys
        text = b"null"
    if b"null" not in text:
        return text
    return json.dumps(properties, allow_nan=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_files_zip(files: Iterable[tuple[str, Path]], path: Path) -> dict[str, tuple[int, str]]:
    """Store each file under its uid (no compression: binaries rarely shrink); uid -> (size, sha256)."""
    written: dict[str, tuple[int, str]] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for uid, source in files:
            sha = hashlib.sha256()
            size = 0
            with source.open("rb") as handle, archive.open(uid, "w", force_zip64=True) as entry:
                while data := handle.read(CHUNK):
                    sha.update(data)
                    entry.write(data)
                    size += len(data)
            written[uid] = (size, sha.hexdigest())
    return written


def _check_name(name: str) -> None:
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts \
            or ".." in windows.parts:
        raise UnsafeZipError(f"zip entry {name!r} is an absolute path or climbs out with '..'; refused")


def read_document_zip(path: Path, *, max_bytes: int = MAX_UNCOMPRESSED_BYTES) -> Iterator[dict[str, Any]]:
    """Every document in every ``.json`` entry (an array or one object), with NaN sentinels rehydrated."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnsafeZipError(f"{path.name} is not a readable zip: {exc}") from None
    with archive:
        entries = archive.infolist()
        for info in entries:
            _check_name(info.filename)
        total = sum(info.file_size for info in entries)
        if total > max_bytes:
            raise UnsafeZipError(f"{path.name} would unpack to {total} bytes (limit {max_bytes}); refused")
        for info in entries:
            if info.file_size >= RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise UnsafeZipError(f"{path.name}: entry {info.filename!r} expands {info.file_size} bytes from "
                                     f"{info.compress_size} (a zip bomb?); refused")
        largest = max((info.file_size for info in entries), default=0)
        if largest > min(max_bytes, MAX_ENTRY_BYTES):
            raise UnsafeZipError(f"{path.name} has an entry of {largest} bytes (limit {MAX_ENTRY_BYTES}); refused")
        for info in entries:
            if info.is_dir() or not info.filename.lower().endswith(".json"):
                continue
            try:
                with archive.open(info) as entry:
                    raw = entry.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:  # damaged, or encrypted
                raise UnsafeZipError(f"{path.name}: entry {info.filename!r} cannot be read: {exc}") from None
            if len(raw) > info.file_size:
                raise UnsafeZipError(f"{path.name}: entry {info.filename!r} is larger than it declares")
            yield from _documents_in(raw, f"{path.name}:{info.filename}")


def _rehydrate_in_place(value: Any) -> Any:
    """Sentinel strings back to numbers, changing only the containers that hold one (no copying)."""
    if isinstance(value, dict):
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                if item in NAN_SENTINELS:
                    value[key] = NAN_SENTINELS[item]
            elif kind is dict or kind is list:
                _rehydrate_in_place(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            kind = type(item)
            if kind is str:
                if item in NAN_SENTINELS:
                    value[index] = NAN_SENTINELS[item]
            elif kind is dict or kind is list:
                _rehydrate_in_place(item)
    return value


def _documents_in(raw: bytes, source: str) -> Iterator[dict[str, Any]]:
    try:
        value = jsonio.parse(raw)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8; nesting beyond any document's
        raise UnsafeZipError(f"{source} is not valid JSON: {exc}") from None
    items = value if isinstance(value, list) else [value]
    sentinels = SENTINEL_MARK in raw  # most entries have none: skip walking every value
    for item in items:
        if not isinstance(item, dict):
            raise UnsafeZipError(f"{source} holds a {type(item).__name__} where a document was expected")
        yield _rehydrate_in_place(item) if sentinels else item
