"""File endpoints and bulk-upload jobs (cloud-api §5.4 F1-F5).

Upload URLs are addressed by the dataset's owning organization, read from the dataset record (as NDI-matlab
does), not by the caller's first organization: that would be wrong for another organization's dataset.
"""

from __future__ import annotations

from typing import Any

from .client import CloudClient, resolve
from .datasets import dataset_organization_id, get_dataset
from .errors import CloudError, InvalidArgument
from .models import BulkJob, FileEntry
from .paths import cloud_id, file_uid, route

JOB_STATES = ("active", "all", "queued", "extracting", "complete", "failed")


def get_file_upload_url(dataset_id: str, uid: str, *, client: CloudClient | None = None) -> str:
    """F1: a presigned PUT URL for one binary file (registered by the service after the PUT)."""
    cloud = resolve(client)
    organization = dataset_organization_id(cloud_id(dataset_id, "dataset id"), client=cloud)
    body = cloud.json("GET", route("datasets", organization, dataset_id, "files", file_uid(uid)))
    url = (body or {}).get("url") if isinstance(body, dict) else None
    if not isinstance(url, str):
        raise CloudError(f"GET …/files/{uid} answered without a url")
    return url


def get_file_collection_upload_url(dataset_id: str, *, client: CloudClient | None = None) -> tuple[str, str | None]:
    """F2: a presigned PUT URL for a zip of files, and its job id (None from old servers)."""
    cloud = resolve(client)
    organization = dataset_organization_id(cloud_id(dataset_id, "dataset id"), client=cloud)
    body = cloud.json("GET", route("datasets", organization, dataset_id, "files", "bulk"))
    url = (body or {}).get("url") if isinstance(body, dict) else None
    if not isinstance(url, str):
        raise CloudError(f"GET …/{dataset_id}/files/bulk answered without a url")
    job = body.get("jobId")
    return url, job if isinstance(job, str) else None


def get_file_details(dataset_id: str, uid: str, *, client: CloudClient | None = None) -> dict[str, Any]:
    """F3: the file's record with a fresh ``downloadUrl`` (get one just before each download)."""
    body = resolve(client).json("GET", route("datasets", cloud_id(dataset_id, "dataset id"), "files",
                                             file_uid(uid), "detail"), auth="optional")
    if not isinstance(body, dict) or not isinstance(body.get("downloadUrl"), str):
        raise CloudError(f"GET /datasets/{dataset_id}/files/{uid}/detail answered without a downloadUrl")
    return body


def list_files(dataset_id: str, *, client: CloudClient | None = None) -> list[FileEntry]:
    """The dataset's file entries (from its record: there is no file-list route)."""
    return get_dataset(dataset_id, client=client).files


def get_uploaded_file_ids(dataset_id: str, *, client: CloudClient | None = None) -> set[str]:
    """Uids of the files whose bytes are in the cloud (``uploaded: true``)."""
    return {entry.uid for entry in list_files(dataset_id, client=client) if entry.uploaded}


def get_bulk_upload_status(job_id: str, *, client: CloudClient | None = None) -> BulkJob:
    """F4: one zip-upload job."""
    if not isinstance(job_id, str) or not job_id:
        raise InvalidArgument("a bulk-upload job id is needed")
    return BulkJob.from_wire(resolve(client).json("GET", route("bulk-uploads", job_id)))


def list_bulk_uploads(dataset_id: str, *, state: str = "active", client: CloudClient | None = None) -> list[BulkJob]:
    """F5: the dataset's zip-upload jobs in ``state`` (``active`` = queued and extracting)."""
    if state not in JOB_STATES:
        raise InvalidArgument(f"state={state!r} is not a job state; use one of {', '.join(JOB_STATES)}")
    body = resolve(client).json("GET", route("datasets", cloud_id(dataset_id, "dataset id"), "bulk-uploads"),
                                params={"state": state})
    jobs = (body or {}).get("jobs") if isinstance(body, dict) else None
    return [BulkJob.from_wire(job) for job in jobs or [] if isinstance(job, dict)]
