"""``download_dataset``: an NDI Cloud dataset onto this disk, verified, and resumable (sync.md §3, §7).

The dataset is built in ``<target>/<cloudDatasetId>`` with the original dataset's id and reference. Documents
come in bulk zips (staged on disk beside it), are added chunk by chunk, and keep their ndiIds and file uids.
Files are downloaded (``sync_files``) or their first location becomes ``ndic://<cloudDatasetId>/<uid>``,
fetched when first opened. A second run adds only what is still missing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from ..api import CloudClient
from ..api import datasets as cloud_datasets
from ..api import documents as cloud_documents
from ..api.client import resolve
from ..core import Dataset, Document, NdiError, Query, is_ndi_folder
from ..core.files import ndic_location
from ..transfers.inventory import LINK_CLASS, newest_copies, remote_documents, remote_files, shareable_ids
from ..transfers.progress import Reporter, Step
from ..transfers.report import TransferReport
from ..transfers.state import SyncState, exclusive
from .documents import (
    DOCUMENT_CHUNK,
    download_document_collection,
    fetch_wanted,
    jsons_to_documents,
    missing_reasons,
    unseen_documents,
)
from .files import download_dataset_files

ADD_CHUNK = 5000  # documents per local transaction: a kill loses at most one chunk's work


class _Identity:
    """The original dataset's id and reference, as its documents tell them (core's discovery rules)."""

    def __init__(self) -> None:
        self.session_ids: Counter[str] = Counter()
        self.claimed: str | None = None
        self.references: dict[str, str] = {}

    def observe(self, properties: dict[str, Any]) -> None:
        base = properties.get("base") or {}
        session_id = base.get("session_id") if isinstance(base.get("session_id"), str) else ""
        class_name = (properties.get("document_class") or {}).get("class_name")
        if class_name in ("dataset_session_info", "session_in_a_dataset") and self.claimed is None:
            self.claimed = session_id
        if class_name == "session":
            reference = (properties.get("session") or {}).get("reference")
            if isinstance(reference, str) and reference:
                self.references[session_id] = reference
        if class_name != LINK_CLASS:
            self.session_ids[session_id] += 1

    def result(self, fallback_name: str) -> tuple[str | None, str]:
        dataset_id = self.claimed or (next(iter(self.references)) if len(self.references) == 1 else None)
        if dataset_id is None and self.session_ids:
            dataset_id = self.session_ids.most_common(1)[0][0]
        return dataset_id, self.references.get(dataset_id or "", "") or fallback_name


def _detached(document: Document) -> Document:
    """Bytes of downloaded documents come from the cloud only: no location is ingested or deleted here
    (the uploader's paths may name files on this machine)."""
    for info in document.file_info:
        for location in info.get("locations") or []:
            if isinstance(location, dict):
                location["ingest"] = 0
                location["delete_original"] = 0
    return document


def _lazy(document: Document, cloud_dataset_id: str) -> Document:
    """Point each file's first location at the cloud: fetched when opened, never ingested from elsewhere."""
    for info in document.file_info:
        locations = info.get("locations") or []
        if locations and isinstance(locations[0], dict) and locations[0].get("uid"):
            first = locations[0]
            first.update(location=ndic_location(cloud_dataset_id, first["uid"]), location_type="ndicloud",
                         ingest=0, delete_original=0)
    return document


def _add_all(dataset: Dataset, batch: list[Document], report: TransferReport, *, replace: bool = False
             ) -> list[Document]:
    """Add the batch in one transaction; if that fails, one by one, so that one bad document (a repeated
    file uid, a malformed entry) is reported by itself and the others still arrive. The added ones."""
    try:
        dataset.store.add(batch, allow_missing_files=True, parallel=False, replace=replace)
        return batch
    except NdiError:
        pass  # a single document's fault, found below
    added = []
    for doc in batch:
        try:
            dataset.store.add(doc, allow_missing_files=True, parallel=False, replace=replace)
        except NdiError as exc:
            report.record("document", doc.id, "failed", f"cannot be added here: {exc}")
            continue
        added.append(doc)
    return added


def receive_documents(dataset: Dataset, cloud_dataset_id: str, wanted: dict[str, str], staging: Path, *,
                      state: SyncState, report: TransferReport, client: CloudClient, sync_files: bool,
                      listing: dict[str, list[str]] | None = None, replace: bool = False,
                      action: str = "downloaded", chunk: int = DOCUMENT_CHUNK, timeout_s: float = 120.0,
                      step: Step | None = None, received: dict[str, str] | None = None) -> int:
    """Fetch the documents ``wanted`` (ndiId -> apiId) in bulk and add them here, chunk by chunk, each chunk
    in one transaction (``replace``: over the local copies); how many were added. ``received``, when given,
    gets the content hash of each (a whole dataset's would only take memory: the state has them).

    Each added document is recorded with ``action`` and its content hash on both sides (and, from
    ``listing``, its cloud ids); what never came is reported failed.
    """
    seen: set[str] = set()
    added = 0
    for zipped in fetch_wanted(cloud_dataset_id, wanted, staging, seen, client=client, chunk=chunk,
                               timeout_s=timeout_s):
        fresh = [doc for doc in unseen_documents([zipped], seen) if doc.class_name != LINK_CLASS]
        zipped.unlink()
        batch = [_detached(doc) for doc in fresh]
        if not sync_files:
            batch = [_lazy(doc, cloud_dataset_id) for doc in batch]
        for doc in _add_all(dataset, batch, report, replace=replace):
            digest = doc.content_hash()
            report.record("document", doc.id, action)
            state.confirm_document(doc.id, digest, digest, (listing or {}).get(doc.id))
            added += 1
            if received is not None:
                received[doc.id] = digest
        state.save()  # an interrupted run leaves the state of what it added
        if step is not None:
            step.advance(len(batch))
    for ndi_id, why in missing_reasons(wanted, seen).items():
        report.record("document", ndi_id, "failed", why)
    return added


def remote_identity(cloud_dataset_id: str, client: CloudClient, fallback_name: str) -> tuple[str | None, str]:
    """The original dataset's id and reference, from its few session documents (queried, then fetched)."""
    claims = list(cloud_documents.iter_ndiquery(
        cloud_dataset_id, Query.isa("dataset_session_info") | Query.isa("session_in_a_dataset"), client=client))
    sessions = list(cloud_documents.iter_ndiquery(cloud_dataset_id, Query.isa("session"), client=client))
    wanted = [s.id for s in claims[:1]] + [s.id for s in sessions]
    identity = _Identity()
    limit = cloud_documents.BULK_FETCH_LIMIT
    for start in range(0, len(wanted), limit):
        for entry in cloud_documents.bulk_fetch(cloud_dataset_id, wanted[start:start + limit], client=client):
            if isinstance(entry.get("data"), dict):
                identity.observe(entry["data"])
    return identity.result(fallback_name)


def download_dataset(dataset_id: str, target: str | Path | None = None, *, output_path: str | Path | None = None,
                     mode: str | None = None, sync_files: bool | None = None, workers: int = 4,
                     document_chunk: int = DOCUMENT_CHUNK, download_timeout_s: float = 120.0,
                     verbose: bool = False, client: CloudClient | None = None) -> TransferReport:
    """Download a cloud dataset; the report (also ``success, message, dataset = download_dataset(...)``).

    ``mode="local"`` (= ``sync_files=True``) downloads the binaries; ``mode="hybrid"`` (the default, as
    ``sync_files=False``) leaves ``ndic://`` links that are fetched on first use.
    """
    if mode not in (None, "local", "hybrid"):
        raise ValueError(f"mode must be 'local' or 'hybrid', got {mode!r}")
    if sync_files is None:
        sync_files = mode == "local"
    destination = target if target is not None else output_path
    if destination is None:
        raise ValueError("give the folder to download into (target= or output_path=)")
    cloud = resolve(client)
    requests_before = cloud.requests
    report = TransferReport("download", cloud_dataset_id=dataset_id)
    record = cloud_datasets.get_dataset(dataset_id, client=cloud)
    folder = Path(destination) / dataset_id
    staging = Path(destination) / f".{dataset_id}.download"
    report.local_path = str(folder)
    with exclusive(Path(destination) / f".{dataset_id}.lock", str(folder)), Reporter(verbose) as reporter:
        shutil.rmtree(staging, ignore_errors=True)  # zips an interrupted run left: their URLs are gone
        listing = remote_documents(dataset_id, cloud)
        present: set[str] = set()
        if is_ndi_folder(folder):
            with Dataset.open(folder, readonly=False) as existing:  # a killed run may have left a journal to roll back
                present = set(existing.store.live_ids())
        wanted = newest_copies(listing, skip=present)
        with reporter.step("documents", len(wanted), unit="documents") as step:
            if not is_ndi_folder(folder):
                found_id, reference = remote_identity(dataset_id, cloud, record.name)
                Dataset.create(folder, reference, dataset_id=found_id, with_session_document=False).close()
            with Dataset.open(folder, readonly=False) as dataset:
                report.dataset = dataset.path
                with SyncState.locked(folder, dataset_id) as state:
                    receive_documents(dataset, dataset_id, wanted, staging, state=state, report=report, client=cloud,
                                      sync_files=sync_files, listing=listing, chunk=document_chunk,
                                      timeout_s=download_timeout_s, step=step)
                    if dataset.remote_link() is None:
                        dataset.create_remote_link(dataset_id, record.organization_id or "")
                    if sync_files:
                        remote = remote_files(dataset_id, cloud)
                        with reporter.step("files", sum(f.size or 0 for f in remote.values()), unit="bytes") as fstep:
                            download_dataset_files(dataset_id, dataset, remote, client=cloud, report=report,
                                                   state=state, workers=workers, step=fstep)
                    local_ids = shareable_ids(dataset)
                    # only what is confirmed on both sides: ids that failed to arrive stay "new" for download_new
                    state.save(local_ids=sorted(local_ids), remote_ids=sorted(local_ids & listing.keys()))
        shutil.rmtree(staging, ignore_errors=True)
    reporter.line(report.message)
    return report.finish(cloud.requests - requests_before)


def dataset_documents(dataset_id: str, *, client: CloudClient | None = None) -> list[dict[str, Any]]:
    """Every document of a cloud dataset as ``document_properties`` (held in memory: for small datasets)."""
    cloud = resolve(client)
    wanted = newest_copies(remote_documents(dataset_id, cloud))
    with tempfile.TemporaryDirectory(prefix="ndi-docs-") as scratch:
        zips, _ = download_document_collection(dataset_id, wanted, Path(scratch), client=cloud)
        return [doc.properties for doc in jsons_to_documents(zips)]
