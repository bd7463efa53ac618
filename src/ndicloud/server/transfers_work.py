"""The worker's share of bulk transfers: read uploaded zips, write download zips (cloud-api §10.5)."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import zipfile
from pathlib import Path

from .blobs import BlobStore
from .ids import utc_timestamp
from .ingest import ZipLimits, ZipRejected, copy_entry, file_zip_entries, read_document_zip
from .records import Records
from .uploads import Transfer
from .wire import to_wire

log = logging.getLogger("ndicloud.server.worker")


def ingest_documents(records: Records, blobs: BlobStore, transfer: Transfer, limits: ZipLimits) -> None:
    """Add every document of an uploaded zip, or none of them (a bad entry is logged; no wire signal)."""
    path = blobs.path(transfer.blob_key)
    try:
        documents = read_document_zip(path, limits)
    except ZipRejected as exc:
        log.warning("document zip for dataset %s refused: %s", transfer.dataset_id, exc)
        records.transfers.update(transfer.id, state="failed", error=str(exc), due=None, completed_at=utc_timestamp())
    else:
        if records.dataset(transfer.dataset_id) is not None:
            records.documents.add_many(transfer.dataset_id, documents)
            records.mark_uploaded(transfer.dataset_id)
        records.transfers.update(transfer.id, state="complete", due=None, completed_at=utc_timestamp(),
                                 total_files=len(documents), files_extracted=len(documents))
    blobs.delete(transfer.blob_key)


def extract_files(records: Records, blobs: BlobStore, transfer: Transfer, limits: ZipLimits) -> None:
    """Register every file of an uploaded zip; a bad zip registers nothing and fails the job naming the entry."""
    try:
        archive, entries = file_zip_entries(blobs.path(transfer.blob_key), limits)
    except ZipRejected as exc:
        records.transfers.update(transfer.id, state="failed", error=str(exc), due=None, completed_at=utc_timestamp())
        blobs.delete(transfer.blob_key)
        return
    records.transfers.update(transfer.id, total_files=len(entries))
    staging = blobs.path(f"staging/{transfer.id}/x").parent
    staging.mkdir(parents=True, exist_ok=True)
    extracted: list[tuple[str, Path, int]] = []
    try:
        with archive:
            for count, (uid, info) in enumerate(entries, start=1):
                try:
                    size = copy_entry(archive, info, staging / uid)
                except (zipfile.BadZipFile, EOFError, OSError) as exc:  # bad CRC, truncated data
                    raise ZipRejected(f"zip entry {info.filename!r} cannot be read: {exc}") from None
                extracted.append((uid, staging / uid, size))
                records.transfers.update(transfer.id, files_extracted=count)
        # Every entry is good: only now do the files move into place and get registered.
        for uid, path, size in extracted:
            key = f"files/{transfer.dataset_id}/{uid}"
            target = blobs.path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
            records.files.register(transfer.dataset_id, uid, size, key, 0)
    except ZipRejected as exc:
        records.transfers.update(transfer.id, state="failed", error=str(exc), due=None, completed_at=utc_timestamp(),
                                 files_extracted=0)
        return
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        blobs.delete(transfer.blob_key)
    if extracted:
        records.mark_uploaded(transfer.dataset_id)
    records.transfers.update(transfer.id, state="complete", due=None, completed_at=utc_timestamp())


def staged_download_path(blobs: BlobStore, transfer: Transfer) -> Path:
    return blobs.path(f"staging/{transfer.id}/documents.zip")


def capture_download(records: Records, blobs: BlobStore, transfer: Transfer, ids: list[str]) -> None:
    """Write the zip of the documents as they are now (C10 captures at request time), out of the URL's sight.

    One JSON array of their properties, sentinels for non-finite numbers; streamed, so memory stays flat.
    """
    target = staged_download_path(blobs, transfer)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
                archive.open("documents.json", "w", force_zip64=True) as entry:
            entry.write(b"[")
            for n, text in enumerate(records.documents.fetch_texts(transfer.dataset_id, ids)):
                if n:
                    entry.write(b",")
                if "NaN" in text or "Infinity" in text:  # maybe a non-finite number: written as a sentinel
                    text = json.dumps(to_wire(json.loads(text)), ensure_ascii=False, allow_nan=False)
                entry.write(text.encode("utf-8"))  # stored as JSON already: no need to parse it again
            entry.write(b"]")
        temporary.replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_download(records: Records, blobs: BlobStore, transfer: Transfer) -> None:
    """After the delay: move the captured zip to where its presigned URL points."""
    staged = staged_download_path(blobs, transfer)
    if not staged.exists():
        records.transfers.update(transfer.id, state="failed", error="the captured documents are missing", due=None,
                                 completed_at=utc_timestamp())
        return
    target = blobs.path(transfer.blob_key)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.replace(target)
    shutil.rmtree(staged.parent, ignore_errors=True)
    records.transfers.update(transfer.id, state="complete", due=None, completed_at=utc_timestamp())


def run_transfer(records: Records, blobs: BlobStore, transfer: Transfer, limits: ZipLimits) -> None:
    """Carry out one due transfer according to its kind."""
    if transfer.kind == "documents":
        ingest_documents(records, blobs, transfer, limits)
    elif transfer.kind == "files":
        extract_files(records, blobs, transfer, limits)
    elif transfer.kind == "download":
        write_download(records, blobs, transfer)
