"""File routes (cloud-api §5.4): presigned upload URL for one file, file detail with a download URL."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request

from ..access import optional_user, organization_dataset, readable_dataset, required_user
from ..errors import bad_request, not_found
from ..records import Records
from ..wire import WireJSONResponse

router = APIRouter()
_UID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def file_key(dataset_id: str, uid: str) -> str:
    return f"files/{dataset_id}/{uid}"


def _uid(uid: str) -> str:
    if not _UID.match(uid):
        raise bad_request(f"file uid {uid!r} must be 1-128 letters, digits, '_' or '-'")
    return uid


@router.get("/datasets/{organization_id}/{dataset_id}/files/{file_uid}")
async def upload_url(request: Request, organization_id: str, dataset_id: str, file_uid: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = organization_dataset(records, user, organization_id, dataset_id)
    key = file_key(dataset.id, _uid(file_uid))
    return WireJSONResponse({"url": request.app.state.presigner.url("PUT", key)})


@router.get("/datasets/{dataset_id}/files/{file_uid}/detail")
async def file_detail(request: Request, dataset_id: str, file_uid: str) -> WireJSONResponse:
    records: Records = request.app.state.records
    dataset = readable_dataset(records, optional_user(request), dataset_id)
    entry = records.files.get(dataset.id, _uid(file_uid))
    if entry is None:
        raise not_found(f"file {file_uid} of dataset {dataset_id}")
    return WireJSONResponse({**entry.json(), "downloadUrl": request.app.state.presigner.url("GET", entry.blob_key)})
