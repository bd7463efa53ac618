"""``upload_dataset``: put a local dataset in NDI Cloud, verified, and resumable (sync.md §3, §6).

1. Find the cloud dataset: the local link, or the one named, or a new one (then write the link).
2. Wait for zip jobs still running; settle chunks an interrupted run sent; list the cloud's documents.
3. In one pass over the local documents (the local inventory), send those the cloud does not list; then
   confirm them in a fresh listing.
4. Send every referenced file the cloud lacks, then confirm sizes in a fresh file listing.
5. Write the sync state for what was confirmed, and report.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..api import Backoff, CloudClient, ServerError, waiters
from ..api import datasets as cloud_datasets
from ..api.client import resolve
from ..core import Dataset, Document, RemoteLinkError
from ..metadata import dataset_creation_body
from ..transfers.inventory import LocalInventory, remote_files, shareable_ids
from ..transfers.progress import Reporter
from ..transfers.report import TransferReport
from ..transfers.state import SyncState, exclusive
from .documents import (
    DOCUMENT_CHUNK,
    confirm_documents,
    record_confirmed,
    settle_pending,
    upload_document_collection,
)
from .files import confirm_files, scan_for_upload, upload_files

CREATE_ATTEMPTS = 4


def new_dataset(dataset: Dataset, *, name: str | None = None, metadata: Mapping[str, Any] | None = None,
                client: CloudClient | None = None) -> str:
    """Create the cloud dataset for a local one and write the link; the cloud id.

    ``metadata`` (a cloud record or a MetadataEditor structure) is checked and converted first
    (:class:`~ndicloud.metadata.MetadataValidationError` names every bad field; nothing is created).
    A create whose answer was lost is never simply repeated: the organization's datasets of that name are
    listed before and after, and a single new one is adopted (none: create again, a few times). A failed
    create (5xx) is treated the same way, since the service may have failed after storing it.
    """
    cloud = resolve(client)
    if metadata is not None:
        metadata, _ = dataset_creation_body(metadata, name=name, default_name=dataset.reference or dataset.id)
    title = name or (metadata or {}).get("name") or dataset.reference or dataset.id
    before = {d.id for d in cloud_datasets.iter_datasets(client=cloud) if d.name == title}
    cloud_id: str | None = None
    for attempt in range(CREATE_ATTEMPTS):
        try:
            cloud_id = cloud_datasets.create_dataset(title, metadata=metadata, client=cloud)
        except ServerError:  # a 5xx or a lost answer: the dataset may exist, so look before creating again
            new = [d.id for d in cloud_datasets.iter_datasets(client=cloud) if d.name == title and d.id not in before]
            if len(new) == 1:
                cloud_id = new[0]
            elif new or attempt == CREATE_ATTEMPTS - 1:
                raise
        if cloud_id:
            break
    assert cloud_id is not None  # the loop either found one or raised
    organization = cloud_datasets.dataset_organization_id(cloud_id, client=cloud)
    dataset.create_remote_link(cloud_id, organization)
    return cloud_id


def _cloud_dataset(dataset: Dataset, dataset_id: str | None, name: str | None, metadata: Mapping[str, Any] | None,
                   client: CloudClient) -> str:
    link = dataset.remote_link()
    if link is not None:
        if dataset_id and dataset_id != link.dataset_id:
            raise RemoteLinkError(f"{dataset.path} is linked to cloud dataset {link.dataset_id}, not {dataset_id}; "
                                  "upload to the linked one or remove the link first")
        return link.dataset_id
    if dataset_id:
        record = cloud_datasets.get_dataset(dataset_id, client=client)
        dataset.create_remote_link(dataset_id, record.organization_id or client.organization_id)
        return dataset_id
    return new_dataset(dataset, name=name, metadata=metadata, client=client)


def upload_dataset(path: str | Path, dataset_id: str | None = None, *, name: str | None = None,
                   metadata: Mapping[str, Any] | None = None, document_chunk: int = DOCUMENT_CHUNK,
                   workers: int = 4, file_upload_strategy: str = "batch", allow_missing_files: bool = False,
                   ingest_timeout_s: float = 120.0, verbose: bool = False,
                   client: CloudClient | None = None) -> TransferReport:
    """Upload everything the cloud dataset lacks; a second run resumes. The report says what was verified."""
    cloud = resolve(client)
    requests_before = cloud.requests
    report = TransferReport("upload", local_path=str(path))
    with exclusive(Path(path) / ".ndi" / "sync" / "transfer.lock", str(path)), \
            Dataset.open(path, readonly=False) as dataset, Reporter(verbose) as reporter:
        report.dataset = dataset.path
        cloud_id = _cloud_dataset(dataset, dataset_id, name, metadata, cloud)
        report.cloud_dataset_id = cloud_id
        with SyncState.locked(dataset.path, cloud_id) as state:
            # zip jobs of an interrupted run finish first (their files then count as uploaded); their failures
            # do not stop this run, which sends whatever is still missing
            waiters.wait_for_all_bulk_uploads(cloud_id, client=cloud, fail_on_failed=False,
                                              backoff=Backoff(first_s=0.2, cap_s=5.0, timeout_s=600.0))
            listing = settle_pending(cloud_id, state, client=cloud, timeout_s=ingest_timeout_s)
            inventory = LocalInventory()

            def unsent() -> Iterator[Document]:
                """One pass: take the inventory and pass on what the cloud does not list."""
                for doc in inventory.scan(dataset):
                    if doc.id not in listing:
                        yield doc
                        continue
                    report.record("document", doc.id, "skipped", "already in the cloud")
                    if doc.id not in state.documents:
                        state.confirm_document(doc.id, inventory.hashes[doc.id], None)

            with reporter.step("documents", len(shareable_ids(dataset) - listing.keys()), unit="documents") as step:
                sent = upload_document_collection(cloud_id, unsent(), state=state, client=cloud, report=report,
                                                  chunk=document_chunk, serial=None, step=step)
            hashes, files_here = inventory.hashes, inventory.files(dataset)
            if sent:
                already = sum(len(copies) for copies in listing.values())
                listing = confirm_documents(cloud_id, set(sent), client=cloud, timeout_s=ingest_timeout_s,
                                            already=already)
            record_confirmed(report, state, sent, listing, hashes, ingest_timeout_s)

            to_send = scan_for_upload(files_here, remote_files(cloud_id, cloud), report=report,
                                      state=state, allow_missing=allow_missing_files)
            with reporter.step("files", sum(f.size or 0 for f in to_send), unit="bytes") as step:
                accepted = upload_files(cloud_id, to_send, client=cloud, report=report,
                                        strategy=file_upload_strategy, workers=workers, step=step)
            confirm_files(cloud_id, accepted, client=cloud, report=report, state=state, timeout_s=ingest_timeout_s)
            state.save(local_ids=sorted(hashes), remote_ids=sorted(listing))
    reporter.line(report.message)
    return report.finish(cloud.requests - requests_before)


def upload_to_ndi_cloud(path: str | Path, **options: Any) -> TransferReport:
    """NDI-matlab's name for :func:`upload_dataset`."""
    return upload_dataset(path, **options)
