"""Waiting for what the service does later (cloud-api §6.2, §6.6): zip extraction jobs and publication.

Each waiter polls with a growing interval up to a cap, for a bounded time, and raises when the wait ends
without the wanted state; a failed job raises at once with the service's reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from .client import CloudClient, resolve
from .datasets import get_dataset
from .errors import BulkJobsFailed, TransferError, WaitTimeout
from .files import get_bulk_upload_status, list_bulk_uploads
from .models import BulkJob, Dataset
from .retry import Backoff


def _moment(text: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (``Z`` accepted); None when it cannot be read."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def wait_for_bulk_upload(job_id: str, *, backoff: Backoff | None = None,
                         client: CloudClient | None = None) -> BulkJob:
    """Poll one zip-upload job until ``complete`` (returned) or ``failed`` (TransferError); 60 s by default."""
    cloud = resolve(client)
    job: BulkJob | None = None
    for _ in (backoff or Backoff(first_s=1.0, cap_s=30.0, timeout_s=60.0)).polls():
        job = get_bulk_upload_status(job_id, client=cloud)
        if job.state == "complete":
            return job
        if job.state == "failed":
            raise TransferError(f"bulk upload job {job_id} failed: {job.error or 'no reason given'}")
    state = job.state if job else "unknown"
    raise WaitTimeout(f"bulk upload job {job_id} did not finish in time (last state: {state}, "
                      f"{job.files_extracted if job else 0} of {job.total_files if job else '?'} files)")


def wait_for_all_bulk_uploads(dataset_id: str, *, since: str | None = None, backoff: Backoff | None = None,
                              fail_on_failed: bool = True, ignore: Iterable[str] = (),
                              client: CloudClient | None = None) -> None:
    """Poll until the dataset has no active zip-upload job, then fail if any job failed.

    ``since`` (an ISO timestamp, e.g. taken before the uploads began) ignores failures of older jobs, and
    ``ignore`` those of jobs named; otherwise any failed job in the dataset's history counts.
    ``fail_on_failed=False`` only waits.
    """
    cloud = resolve(client)
    active: list[BulkJob] = []
    for _ in (backoff or Backoff(first_s=1.0, cap_s=30.0, timeout_s=300.0)).polls():
        active = list_bulk_uploads(dataset_id, state="active", client=cloud)
        if not active:
            break
    else:
        raise WaitTimeout(f"dataset {dataset_id} still has {len(active)} bulk upload job(s) running "
                          f"({', '.join(job.job_id for job in active)})")
    if fail_on_failed:
        fail_on_failed_bulk_uploads(dataset_id, since=since, ignore=ignore, client=cloud)


def fail_on_failed_bulk_uploads(dataset_id: str, *, since: str | None = None, ignore: Iterable[str] = (),
                                client: CloudClient | None = None) -> None:
    """Raise BulkJobsFailed naming every failed zip-upload job of the dataset (created at or after ``since``, an
    ISO timestamp, when given; not among ``ignore``); one request, no waiting (a dry run asks this without
    waiting for jobs)."""
    after = _moment(since) if since else None
    known = set(ignore)
    failed = [job for job in list_bulk_uploads(dataset_id, state="failed", client=resolve(client))
              if job.job_id not in known and (after is None or (_moment(job.raw.get("createdAt")) or after) >= after)]
    if failed:
        reasons = "; ".join(f"{job.job_id}: {job.error or 'no reason given'}" for job in failed)
        raise BulkJobsFailed(f"{len(failed)} bulk upload job(s) of dataset {dataset_id} failed: {reasons}",
                             [job.job_id for job in failed])


def wait_for_published(dataset_id: str, *, published: bool = True, backoff: Backoff | None = None,
                       client: CloudClient | None = None) -> Dataset:
    """Poll the dataset until ``isPublished`` equals ``published`` (180 s by default); the dataset."""
    cloud = resolve(client)
    dataset: Dataset | None = None
    for _ in (backoff or Backoff(first_s=2.0, cap_s=30.0, timeout_s=180.0)).polls():
        dataset = get_dataset(dataset_id, client=cloud)
        if dataset.is_published == published:
            return dataset
    raise WaitTimeout(f"dataset {dataset_id} did not become {'published' if published else 'unpublished'} in time")


def wait_for_unpublished(dataset_id: str, *, backoff: Backoff | None = None,
                         client: CloudClient | None = None) -> Dataset:
    return wait_for_published(dataset_id, published=False, backoff=backoff, client=client)
