"""Binary files of a dataset: listed and opened by uid, never through stored paths.

A document's file locations carry absolute paths from the machine that added it;
those are stale elsewhere. Bytes are found at ``.ndi/files/<uid>`` only; a
location of type ``ndicloud`` (``ndic://<cloud dataset>/<uid>``) or ``url`` says
where they can be fetched from when they are not there.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .document import Document, check_file_name
from .errors import InvalidDocumentError, MissingBinaryError

_NDIC_RE = re.compile(r"^ndic://([^/]+)/([^/]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class BinaryFile:
    """One stored copy of a document's binary file."""

    doc_id: str
    name: str
    uid: str
    location_type: str
    location: str
    path: Path
    present: bool


@dataclass(frozen=True)
class NdicLink:
    """A parsed ``ndic://<cloudDatasetId>/<uid>`` location."""

    dataset_id: str
    uid: str


def parse_ndic(location: str) -> NdicLink:
    """Split an ``ndic://`` location into cloud dataset id and uid."""
    match = _NDIC_RE.match(location.strip())
    if not match:
        raise InvalidDocumentError(f"not an ndic://<dataset>/<uid> location: {location!r}")
    return NdicLink(match.group(1), check_file_name(match.group(2), "uid in ndic:// location"))


def ndic_location(cloud_dataset_id: str, uid: str) -> str:
    return f"ndic://{cloud_dataset_id}/{check_file_name(uid, 'file uid')}"


def binary_path(files_dir: Path, uid: str) -> Path:
    """Where the bytes of ``uid`` live in a dataset (the uid is checked to stay inside)."""
    return files_dir / check_file_name(uid, "file uid")


def locations_from_json(doc: Document, files_dir: Path) -> list[BinaryFile]:
    """Binary entries read from a document's JSON (for databases whose files table is empty)."""
    out = []
    for info in doc.file_info:
        for loc in info["locations"]:
            if isinstance(loc, dict) and isinstance(loc.get("uid"), str):
                path = binary_path(files_dir, loc["uid"])
                out.append(BinaryFile(doc.id, info.get("name", ""), loc["uid"],
                                      loc.get("location_type", "file"), loc.get("location", ""),
                                      path, path.is_file()))
    return out


def first_present(entries: list[BinaryFile], doc_id: str, name: str) -> Path:
    """The first entry whose bytes are on disk; else a MissingBinaryError saying where they could come from."""
    if not entries:
        raise MissingBinaryError(f"document {doc_id} has no file named {name!r}")
    for entry in entries:
        if entry.path.is_file():
            return entry.path
    kinds = ", ".join(f"uid {e.uid} ({e.location_type}: {e.location})" for e in entries)
    raise MissingBinaryError(
        f"binary {name!r} of document {doc_id} is not present in {entries[0].path.parent}; known copies: {kinds}"
    )


def sha256_of_file(path: Path) -> str:
    """Lower-case hex sha256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
