"""Remote duplicates: ndiIds held by several cloud copies (sync.md §3). One copy is kept, the oldest (cloud ids
grow with time, so the choice is deterministic); the rest are bulk-deleted in batches of at most 1000."""

from __future__ import annotations

from ..api import CloudClient
from ..api import documents as cloud_documents
from ..api.client import resolve
from ..api.errors import CloudError, OutcomeUnknown
from ..transfers.inventory import remote_documents
from ..transfers.report import TransferReport


def delete_copies(cloud_dataset_id: str, api_ids: list[str], client: CloudClient) -> None:
    """Soft-delete these cloud copies; an answer lost on the way is settled by the listing that follows."""
    if not api_ids:
        return
    try:
        cloud_documents.bulk_delete_documents(cloud_dataset_id, api_ids, client=client)
    except OutcomeUnknown:
        pass
    except CloudError as exc:
        if exc.status is not None and exc.status < 500:
            raise


def find_duplicates(cloud_dataset_id: str, *, client: CloudClient | None = None) -> dict[str, list[str]]:
    """ndiId -> every cloud id holding it, for the ndiIds held more than once (one listing)."""
    listing = remote_documents(cloud_dataset_id, resolve(client))
    return {ndi_id: sorted(copies) for ndi_id, copies in sorted(listing.items()) if len(copies) > 1}


def remove_duplicates(cloud_dataset_id: str, *, dry_run: bool = False,
                      client: CloudClient | None = None) -> TransferReport:
    """Keep the oldest copy of each duplicated ndiId and delete the others; verified in a fresh listing."""
    cloud = resolve(client)
    requests_before = cloud.requests
    report = TransferReport("remove_duplicates", cloud_dataset_id=cloud_dataset_id)
    duplicates = find_duplicates(cloud_dataset_id, client=cloud)
    extra = {ndi_id: copies[1:] for ndi_id, copies in duplicates.items()}
    if dry_run:
        report.plan = {"delete": extra, "counts": {"duplicated": len(extra),
                                                   "copies_to_delete": sum(map(len, extra.values()))}}
        return report.finish(cloud.requests - requests_before)
    doomed = [api_id for copies in extra.values() for api_id in copies]
    delete_copies(cloud_dataset_id, doomed, cloud)
    after = remote_documents(cloud_dataset_id, cloud) if doomed else {}
    for ndi_id, copies in extra.items():
        left = set(after.get(ndi_id, ())) & set(copies)
        if left:
            report.record("document", ndi_id, "failed", f"{len(left)} extra copies still listed")
        else:
            report.record("document", ndi_id, "deleted_remote", f"{len(copies)} extra copies removed")
    return report.finish(cloud.requests - requests_before)
