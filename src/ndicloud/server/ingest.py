"""Reading uploaded zips safely (cloud-api §10.5): documents zips and file zips.

Every entry is checked before anything is used: no absolute paths, no '..', no links,
no encryption, no repeated names, sizes and ratios inside limits (zip-bomb guard).
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..core import jsonio

_UID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAX_DOCUMENT_ID_CHARS = 256  # NDI ids have 33
MAX_DOCUMENT_NAME_CHARS = 4096


def document_base_problem(value: Any) -> str | None:
    """Why ``value`` is not a document the server stores (an object with a short string base.id and, if
    given, a base.name of reasonable length), or None."""
    if not isinstance(value, dict):
        return "a document must be a JSON object"
    base = value.get("base")
    if not isinstance(base, dict) or not isinstance(base.get("id"), str) or not base["id"]:
        return "a document needs base.id (its NDI id) as a string"
    if len(base["id"]) > MAX_DOCUMENT_ID_CHARS:
        return f"base.id is {len(base['id'])} characters long, more than the limit of {MAX_DOCUMENT_ID_CHARS}"
    name = base.get("name")
    if isinstance(name, str) and len(name) > MAX_DOCUMENT_NAME_CHARS:
        return (f"base.name of document {base['id']} is {len(name)} characters long, more than the limit of "
                f"{MAX_DOCUMENT_NAME_CHARS}")
    return None


class ZipRejected(Exception):
    """The zip cannot be used; the message names the entry and the reason."""


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 100_000
    max_total_bytes: int = 20 * 1024**3
    max_ratio: int = 200  # uncompressed : compressed, per entry of at least ratio_floor_bytes
    # Smaller entries may compress as well as they like: sparse data does (documents with long zero arrays reach
    # 200:1), and a few tens of megabytes amplify nothing that matters.
    ratio_floor_bytes: int = 64 * 1024**2
    max_json_bytes: int = 1024**3  # document zips are parsed in memory


def _checked_entries(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    entries = [info for info in archive.infolist() if not info.is_dir()]
    if len(entries) > limits.max_entries:
        raise ZipRejected(f"zip has {len(entries)} entries, more than the limit of {limits.max_entries}")
    total = 0
    for info in entries:
        name = info.filename
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            raise ZipRejected(f"zip entry {name!r} has an absolute path")
        if ".." in path.parts:
            raise ZipRejected(f"zip entry {name!r} leaves the archive ('..')")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ZipRejected(f"zip entry {name!r} is a link")
        if info.flag_bits & 0x1:
            raise ZipRejected(f"zip entry {name!r} is encrypted")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise ZipRejected(f"zip entry {name!r} expands {info.file_size} bytes from {info.compress_size}: refused")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ZipRejected(f"zip expands past the limit of {limits.max_total_bytes} bytes at entry {name!r}")
    return entries


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipRejected(f"not a readable zip: {exc}") from None


def count_zip_entries(path: Path) -> int | None:
    """How many files a zip holds (None if it cannot be read: the worker will say why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(1 for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError):
        return None


def read_document_zip(path: Path, limits: ZipLimits = ZipLimits()) -> list[dict[str, Any]]:
    """All documents of every ``.json`` entry (an array or one object; NaN tokens allowed), in order."""
    documents: list[dict[str, Any]] = []
    with _open(path) as archive:
        entries = [e for e in _checked_entries(archive, limits) if e.filename.lower().endswith(".json")]
        if sum(e.file_size for e in entries) > limits.max_json_bytes:
            raise ZipRejected(f"document JSON in the zip is larger than {limits.max_json_bytes} bytes")
        for info in entries:
            try:
                raw = archive.read(info)
                value = jsonio.parse(raw)
            except (ValueError, RecursionError, zipfile.BadZipFile) as exc:  # bad JSON or UTF-8, nesting too deep
                raise ZipRejected(f"zip entry {info.filename!r} is not valid JSON: {exc}") from None
            surrogate = jsonio.lone_surrogate(raw, value)
            if surrogate is not None:
                raise ZipRejected(f"zip entry {info.filename!r} escapes a lone surrogate ({surrogate}), which is not "
                                  "valid Unicode")
            items = value if isinstance(value, list) else [value]
            for n, item in enumerate(items):
                problem = document_base_problem(item)
                if problem is not None:
                    raise ZipRejected(f"zip entry {info.filename!r}: document {n}: {problem}")
                documents.append(item)
    return documents


def file_zip_entries(path: Path, limits: ZipLimits = ZipLimits()) -> tuple[zipfile.ZipFile, list[tuple[str, Any]]]:
    """The open archive and its entries as (uid, info): basenames that are valid, distinct uids."""
    archive = _open(path)
    try:
        seen: set[str] = set()
        named = []
        for info in _checked_entries(archive, limits):
            uid = PurePosixPath(info.filename.replace("\\", "/")).name
            if not _UID.match(uid):
                raise ZipRejected(f"zip entry {info.filename!r} is not named by a valid file uid")
            if uid in seen:
                raise ZipRejected(f"zip entry {info.filename!r} repeats file uid {uid}")
            seen.add(uid)
            named.append((uid, info))
    except BaseException:
        archive.close()
        raise
    return archive, named


def copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> int:
    """Stream one entry to ``target`` (via a temporary name); returns the size written."""
    temporary = target.with_name(f".{target.name}.extract")
    try:
        with archive.open(info) as source, temporary.open("wb") as sink:
            shutil.copyfileobj(source, sink, 1024 * 1024)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target.stat().st_size
