"""Dataset routes (cloud-api §5.2): create, list, read, update, the published catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..access import optional_user, readable_dataset, required_user, writable_dataset
from ..errors import bad_request, forbidden
from ..records import DatasetRecord, Records
from ..wire import WireJSONResponse, note_created, page_params, read_object

router = APIRouter()

# Metadata fields a detail always shows, with their empty values.
DETAIL_DEFAULTS: dict[str, Any] = {
    "name": "", "branchName": "", "branchOf": None, "abstract": "", "description": "", "doi": "", "license": "",
    "pubMedId": "", "affiliation": "", "species": "", "brainRegions": "", "numberOfSubjects": 0, "neurons": 0,
    "contributors": [], "correspondingAuthors": [], "associatedPublications": [], "funding": [],
}
LIST_FIELDS = ("name", "branchName", "branchOf", "contributors", "correspondingAuthors", "doi", "funding",
               "abstract", "license")
# Set by the server's own workflows, never by an update body.
PROTECTED = frozenset({"_id", "id", "organizationId", "isPublished", "isDeleted", "publishStatus", "createdAt",
                       "updatedAt", "uploadedAt", "deleteCommandTime", "deleteOccurrenceTime", "totalSize",
                       "documentCount", "files", "documents", "isSubscribed"})


def _status(dataset: DatasetRecord, document_count: int = 0, total_size: int = 0) -> dict[str, Any]:
    return {
        "organizationId": dataset.organization_id,
        "createdAt": dataset.created_at,
        "updatedAt": dataset.updated_at,
        "uploadedAt": dataset.uploaded_at,
        "isPublished": dataset.is_published,
        "isSubmitted": dataset.is_submitted,
        "isDeleted": dataset.is_deleted,
        "isSubscribed": False,
        "totalSize": total_size,
        "documentCount": document_count,
    }


def detail_json(dataset: DatasetRecord, document_count: int = 0,
                files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The detail (D3): the id in ``_id``, every metadata field, status, files and documents."""
    publish_status = "published" if dataset.is_published else ("submitted" if dataset.is_submitted else "draft")
    files = files or []
    total_size = sum(int(f.get("size", 0)) for f in files)
    return {"_id": dataset.id, **DETAIL_DEFAULTS, **dataset.metadata, **_status(dataset, document_count, total_size),
            "publishStatus": publish_status, "files": files, "documents": []}


def list_item_json(dataset: DatasetRecord, document_count: int = 0, total_size: int = 0) -> dict[str, Any]:
    """A list item (D2, D7, D8, D9): ``id`` and the list fields only."""
    merged = {**DETAIL_DEFAULTS, **dataset.metadata}
    item = {"id": dataset.id, **{name: merged.get(name) for name in LIST_FIELDS},
            **_status(dataset, document_count, total_size),
            "deleteCommandTime": dataset.delete_command_time, "deleteOccurrenceTime": dataset.delete_occurrence_time}
    item.pop("isSubmitted", None)
    return item


def list_items(records: Records, rows: list[DatasetRecord]) -> list[dict[str, Any]]:
    """List items with the live document count and stored bytes of each dataset (two queries per page)."""
    ids = [r.id for r in rows]
    counts, sizes = records.documents.live_counts(ids), records.files.total_sizes(ids)
    return [list_item_json(r, counts.get(r.id, 0), sizes.get(r.id, 0)) for r in rows]


def _page(request: Request, where: str, params: tuple[Any, ...]) -> dict[str, Any]:
    config = request.app.state.config
    page, size = page_params(request, config.default_page_size, config.max_page_size)
    records: Records = request.app.state.records
    total, rows = records.list_datasets(where, params, page, size)
    return {"totalNumber": total, "page": page, "pageSize": size, "datasets": list_items(records, rows)}


def _people(value: Any) -> Any:
    """NDI-matlab's editor writes ``orchid`` (sic); the service's read shape is ``orcid`` (cloud-api §9)."""
    if not isinstance(value, list):
        return value
    return [{("orcid" if k == "orchid" and "orcid" not in person else k): v for k, v in person.items()}
            if isinstance(person, dict) else person for person in value]


def _metadata_changes(body: dict[str, Any]) -> dict[str, Any]:
    changes = {k: v for k, v in body.items() if k not in PROTECTED and k != "isSubmitted"}
    for key in ("contributors", "correspondingAuthors"):
        if key in changes:
            changes[key] = _people(changes[key])
    if isinstance(changes.get("funding"), dict):  # a funding object becomes a one-element list
        changes["funding"] = [changes["funding"]]
    if "name" in changes and (not isinstance(changes["name"], str) or not changes["name"].strip()):
        raise bad_request("name must be a non-empty string")
    return changes


@router.post("/organizations/{organization_id}/datasets", status_code=201)
async def create_dataset(request: Request, organization_id: str) -> WireJSONResponse:
    user = required_user(request)
    membership = user.member_of(organization_id)
    if membership is None:
        raise forbidden(f"not a member of organization {organization_id}")
    if not membership.can_upload:
        raise bad_request(f"no permission to create datasets in organization {organization_id}")
    body = await read_object(request, request.app.state.config.max_json_body_bytes)
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise bad_request("a dataset needs a non-empty name")
    records: Records = request.app.state.records
    dataset = records.create_dataset(organization_id, _metadata_changes(body))
    note_created(request, dataset.id)
    created = {k: v for k, v in detail_json(dataset).items() if k != "_id"}
    return WireJSONResponse({"id": dataset.id, **created}, status_code=201)


@router.get("/organizations/{organization_id}/datasets")
async def organization_datasets(request: Request, organization_id: str) -> WireJSONResponse:
    user = required_user(request)
    if user.member_of(organization_id) is None:
        raise forbidden(f"not a member of organization {organization_id}")
    return WireJSONResponse(_page(request, "organization_id = ? AND is_deleted = 0", (organization_id,)))


@router.get("/datasets/published")
async def published_datasets(request: Request) -> WireJSONResponse:
    optional_user(request)  # a bad token is still a 401
    return WireJSONResponse(_page(request, "is_published = 1 AND is_deleted = 0", ()))


@router.get("/datasets/{dataset_id}")
async def dataset_detail(request: Request, dataset_id: str) -> WireJSONResponse:
    user = optional_user(request)
    records: Records = request.app.state.records
    dataset = readable_dataset(records, user, dataset_id)
    files = [entry.json() for entry in records.files.list(dataset.id)]
    return WireJSONResponse(detail_json(dataset, records.documents.count(dataset.id), files))


@router.post("/datasets/{dataset_id}")
async def update_dataset(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    body = await read_object(request, request.app.state.config.max_json_body_bytes)
    flags: dict[str, Any] = {}
    if "isSubmitted" in body:
        flags["is_submitted"] = int(bool(body["isSubmitted"]))
    records.update_dataset(dataset.id, {**dataset.metadata, **_metadata_changes(body)}, **flags)
    updated = records.dataset(dataset.id)
    assert updated is not None
    record = {k: v for k, v in detail_json(updated).items() if k != "_id"}  # _id only in the detail (D3)
    return WireJSONResponse({"id": updated.id, **record})
