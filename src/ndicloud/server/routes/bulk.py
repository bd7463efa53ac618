"""Bulk transfers (cloud-api §5.3 C9/C10, §5.4 F2/F4/F5, §6.2-§6.4): zips through presigned storage."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..access import optional_user, organization_dataset, readable_dataset, required_user, writable_dataset
from ..errors import bad_request, not_found
from ..records import Records
from ..transfers_work import capture_download
from ..uploads import ACTIVE_STATES, JOB_STATES
from ..wire import WireJSONResponse, read_json
from .documents import _document_ids

router = APIRouter()


@router.post("/datasets/{dataset_id}/documents/bulk-upload")
async def document_upload_url(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    presigner = request.app.state.presigner
    expires = presigner.expiry()
    transfer = records.transfers.create("documents", dataset.id, user.id, f"uploads/documents/{dataset.id}", expires)
    return WireJSONResponse({"url": presigner.url("PUT", transfer.blob_key, expires=expires)})


@router.post("/datasets/{dataset_id}/documents/bulk-download")
async def document_download_url(request: Request, dataset_id: str) -> WireJSONResponse:
    user = optional_user(request)
    records: Records = request.app.state.records
    dataset = readable_dataset(records, user, dataset_id)
    body = await read_json(request, request.app.state.config.max_json_body_bytes)
    if isinstance(body, dict) and isinstance(body.get("documentIds"), list):  # "" ids are dropped (cloud-api §9)
        body = {**body, "documentIds": [i for i in body["documentIds"] if i != ""]}
    requested = _document_ids(body) if isinstance(body, dict) and body.get("documentIds") else []
    # The documents are captured now; the zip appears at the URL after the delay.
    ids = requested or records.documents.live_ids(dataset.id)
    config, presigner = request.app.state.config, request.app.state.presigner
    expires = presigner.expiry()
    transfer = records.transfers.create("download", dataset.id, user.id if user else "", f"downloads/{dataset.id}",
                                        expires, state="capturing")
    await run_in_threadpool(capture_download, records, request.app.state.blobs, transfer, ids)
    records.transfers.update(transfer.id, state="queued", due=time.time() + config.download_delay_s)
    return WireJSONResponse({"url": presigner.url("GET", transfer.blob_key, expires=expires)})


@router.api_route("/datasets/{organization_id}/{dataset_id}/files/bulk", methods=["GET", "POST"])
async def file_zip_upload_url(request: Request, organization_id: str, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = organization_dataset(records, user, organization_id, dataset_id)
    presigner = request.app.state.presigner
    expires = presigner.expiry()
    transfer = records.transfers.create("files", dataset.id, user.id, f"uploads/files/{dataset.id}", expires)
    return WireJSONResponse({"url": presigner.url("PUT", transfer.blob_key, expires=expires), "jobId": transfer.id})


@router.get("/bulk-uploads/{job_id}")
async def bulk_upload_job(request: Request, job_id: str) -> WireJSONResponse:
    user = required_user(request)
    job = request.app.state.records.transfers.get(job_id)
    if job is None or job.kind != "files" or job.owner_id != user.id:
        raise not_found(f"bulk upload job {job_id}")
    return WireJSONResponse(job.job_json())


@router.get("/datasets/{dataset_id}/bulk-uploads")
async def dataset_bulk_uploads(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = readable_dataset(records, user, dataset_id)
    state = request.query_params.get("state", "active")
    if state == "active":
        states = ACTIVE_STATES
    elif state == "all":
        states = JOB_STATES
    elif state in JOB_STATES:
        states = (state,)
    else:
        raise bad_request(f"state must be active, all, {', '.join(JOB_STATES)}; got {state!r}")
    jobs = [j.job_json() for j in records.transfers.jobs(dataset.id, states) if j.owner_id == user.id]
    return WireJSONResponse({"datasetId": dataset.id, "jobs": jobs})
