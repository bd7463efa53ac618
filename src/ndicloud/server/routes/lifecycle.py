"""A dataset's life (cloud-api §5.2): delete and undelete, submit, publish and unpublish, branches.

Publish, unpublish, undelete and pruning happen later, on the worker, as on the real service.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, Request

from ..access import can_read, optional_user, readable_dataset, required_user, writable_dataset
from ..errors import bad_request, forbidden, not_found
from ..ids import is_object_id
from ..records import Records, User
from ..wire import WireJSONResponse, page_params, read_json
from .datasets import _metadata_changes, list_item_json, list_items

router = APIRouter()

_WHEN = re.compile(r"^([1-9][0-9]*)([dhms])$")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DEFAULT_WHEN = "7d"
MAX_WHEN_DAYS = 36500  # a prune date far beyond it cannot be written as a timestamp


def deletion_delay_s(when: str | None) -> float:
    """Seconds until a deletion is pruned: ``now``, or a positive count of d/h/m/s up to ``MAX_WHEN_DAYS`` (7d when
    absent)."""
    text = DEFAULT_WHEN if when is None else when.strip()
    if text == "now":
        return 0.0
    match = _WHEN.match(text)
    if not match:
        raise bad_request(f"when must be 'now' or a duration such as 7d, 24h, 30m or 90s; got {when!r}")
    delay = int(match.group(1)) * _UNIT_S[match.group(2)]
    if delay > MAX_WHEN_DAYS * _UNIT_S["d"]:
        raise bad_request(f"when must be at most {MAX_WHEN_DAYS}d; got {when!r}")
    return delay


def _member_page(request: Request, user: User, condition: str, everyone: bool) -> dict[str, Any]:
    """One page of datasets matching ``condition`` in the caller's organizations (every one if ``everyone``)."""
    config = request.app.state.config
    page, size = page_params(request, config.default_page_size, config.max_page_size)
    organizations = [m.organization_id for m in user.organizations]
    if everyone:
        where, params = condition, ()
    elif organizations:
        where = f"{condition} AND organization_id IN ({','.join('?' * len(organizations))})"
        params = tuple(organizations)
    else:
        return {"totalNumber": 0, "page": page, "pageSize": size, "datasets": []}
    records: Records = request.app.state.records
    total, rows = records.list_datasets(where, params, page, size)
    return {"totalNumber": total, "page": page, "pageSize": size, "datasets": list_items(records, rows)}


@router.get("/datasets/deleted")
async def deleted_datasets(request: Request) -> WireJSONResponse:
    user = required_user(request)
    return WireJSONResponse(_member_page(request, user, "is_deleted = 1", everyone=False))


@router.get("/datasets/unpublished")
async def unpublished_datasets(request: Request) -> WireJSONResponse:
    user = required_user(request)
    condition = "is_submitted = 1 AND is_published = 0 AND is_deleted = 0"
    return WireJSONResponse(_member_page(request, user, condition, everyone=user.is_admin))


@router.delete("/datasets/{dataset_id}")
async def delete_dataset(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    delay = deletion_delay_s(request.query_params.get("when"))
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    if delay == 0:
        records.prune_dataset(dataset.id)
        return WireJSONResponse({"message": f"Dataset {dataset.id} deleted"})
    records.soft_delete_dataset(dataset.id, time.time() + delay)
    when = request.query_params.get("when") or DEFAULT_WHEN
    return WireJSONResponse({"message": f"Dataset {dataset.id} will be deleted in {when}"})


@router.post("/datasets/{dataset_id}/undelete")
async def undelete_dataset(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = records.dataset(dataset_id) if is_object_id(dataset_id) else None
    member = dataset is not None and user.member_of(dataset.organization_id) is not None
    if dataset is None or not member:
        raise not_found(f"dataset {dataset_id}")
    if dataset.is_deleted:
        records.schedule(dataset.id, "undelete", time.time() + request.app.state.config.undelete_delay_s)
    return WireJSONResponse({"message": "Dataset undelete process started."})


@router.post("/datasets/{dataset_id}/submit")
async def submit_dataset(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    records.update_dataset(dataset.id, dataset.metadata, is_submitted=1)
    return WireJSONResponse({"message": f"Dataset {dataset.id} submitted"})


def _publication(request: Request, dataset_id: str, action: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = readable_dataset(records, user, dataset_id)
    if not user.is_admin:
        raise forbidden(f"only administrators may {action} datasets")
    records.schedule(dataset.id, action, time.time() + request.app.state.config.publish_delay_s)
    return WireJSONResponse({"message": f"Dataset {dataset.id} {action} started"})


@router.post("/datasets/{dataset_id}/publish")
async def publish_dataset(request: Request, dataset_id: str) -> WireJSONResponse:
    return _publication(request, dataset_id, "publish")


@router.post("/datasets/{dataset_id}/unpublish")
async def unpublish_dataset(request: Request, dataset_id: str) -> WireJSONResponse:
    return _publication(request, dataset_id, "unpublish")


@router.post("/datasets/{dataset_id}/branch")
async def branch_dataset(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    parent = writable_dataset(records, user, dataset_id)
    body = await read_json(request, request.app.state.config.max_json_body_bytes)
    body = body if isinstance(body, dict) else {}
    branch_name = body.get("branchName", parent.metadata.get("branchName", ""))
    if not isinstance(branch_name, str):
        raise bad_request("branchName must be text")
    metadata = {**parent.metadata, **_metadata_changes({k: v for k, v in body.items() if k != "branchName"}),
                "branchName": branch_name, "branchOf": parent.id}
    child = records.create_dataset(parent.organization_id, metadata, branch_of=parent.id)
    return WireJSONResponse(list_item_json(child))


@router.get("/datasets/{dataset_id}/branches")
async def dataset_branches(request: Request, dataset_id: str) -> WireJSONResponse:
    user = optional_user(request)
    records: Records = request.app.state.records
    parent = readable_dataset(records, user, dataset_id)
    _, rows = records.list_datasets("branch_of = ? AND is_deleted = 0", (parent.id,), 1, 10_000)
    items = list_items(records, [r for r in rows if can_read(user, r)])
    return WireJSONResponse({"branches": items, "datasets": items})
