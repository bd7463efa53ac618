"""Document routes (cloud-api §5.3): add, list, read, replace, delete, bulk delete and fetch, counts."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from ..access import optional_user, readable_dataset, required_user, writable_dataset
from ..errors import bad_request, not_found
from ..ids import is_object_id
from ..ingest import document_base_problem
from ..records import Records
from ..wire import WireJSONResponse, note_created, page_params, read_json, read_object
from .lifecycle import deletion_delay_s

router = APIRouter()
BULK_FETCH_LIMIT = 500


def _document_body(value: Any) -> dict[str, Any]:
    """A document's properties: an object with a string base.id (this refuses stub uploads)."""
    problem = document_base_problem(value)
    if problem is not None:
        raise bad_request(problem)
    return value


def _document_ids(body: dict[str, Any], *, limit: int | None = None) -> list[str]:
    """``documentIds`` as a list of distinct 24-hex ids (repeats count once, as NDI-matlab sends them)."""
    ids = body.get("documentIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise bad_request("documentIds must be a list of document ids")
    unique = list(dict.fromkeys(ids))
    bad = [i for i in unique if not is_object_id(i)]
    if bad:
        raise bad_request(f"documentIds holds ids that are not 24-hex cloud ids: {', '.join(map(repr, bad[:5]))}")
    if limit is not None:
        if not unique:
            raise bad_request("documentIds must name at least one document")
        if len(unique) > limit:
            raise bad_request(f"bulk-fetch takes at most {limit} ids, got {len(unique)}; use bulk-download for more")
    return unique


@router.post("/datasets/{dataset_id}/documents", status_code=201)
async def add_document(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    properties = _document_body(await read_json(request, request.app.state.config.max_json_body_bytes))
    stored = records.documents.add(dataset.id, properties)
    records.mark_uploaded(dataset.id)
    note_created(request, stored.id)
    return WireJSONResponse(stored.detail(), status_code=201)


@router.get("/datasets/{dataset_id}/documents")
async def list_documents(request: Request, dataset_id: str) -> WireJSONResponse:
    records: Records = request.app.state.records
    dataset = readable_dataset(records, optional_user(request), dataset_id)
    config = request.app.state.config
    page, size = page_params(request, config.default_page_size, config.max_page_size)
    return WireJSONResponse({"documents": records.documents.summaries(dataset.id, page, size)})


@router.get("/datasets/{dataset_id}/documents/deleted")
async def deleted_documents(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    config = request.app.state.config
    page, size = page_params(request, config.default_page_size, config.max_page_size)
    return WireJSONResponse({"documents": records.documents.summaries(dataset.id, page, size, deleted=True)})


@router.post("/datasets/{dataset_id}/documents/bulk-delete")
async def bulk_delete(request: Request, dataset_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    body = await read_object(request, request.app.state.config.max_json_body_bytes)
    ids = _document_ids(body)
    when = body.get("when")
    delay = deletion_delay_s(when if isinstance(when, str) else None)
    deleted = records.documents.soft_delete(dataset.id, ids, time.time() + delay)
    return WireJSONResponse({"message": f"{deleted} document(s) deleted"})


@router.post("/datasets/{dataset_id}/documents/bulk-fetch")
async def bulk_fetch(request: Request, dataset_id: str) -> WireJSONResponse:
    records: Records = request.app.state.records
    dataset = readable_dataset(records, optional_user(request), dataset_id)
    body = await read_object(request, request.app.state.config.max_json_body_bytes)
    ids = _document_ids(body, limit=BULK_FETCH_LIMIT)
    return WireJSONResponse({"documents": [d.full_entry() for d in records.documents.fetch(dataset.id, ids)]})


@router.get("/datasets/{dataset_id}/documents/{document_id}")
async def get_document(request: Request, dataset_id: str, document_id: str) -> WireJSONResponse:
    records: Records = request.app.state.records
    dataset = readable_dataset(records, optional_user(request), dataset_id)
    stored = records.documents.get(dataset.id, document_id) if is_object_id(document_id) else None
    if stored is None:
        raise not_found(f"document {document_id}")
    return WireJSONResponse(stored.detail())


@router.post("/datasets/{dataset_id}/documents/{document_id}")
async def replace_document(request: Request, dataset_id: str, document_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    properties = _document_body(await read_json(request, request.app.state.config.max_json_body_bytes))
    if not is_object_id(document_id) or not records.documents.replace(dataset.id, document_id, properties):
        raise not_found(f"document {document_id}")
    records.mark_uploaded(dataset.id)
    stored = records.documents.get(dataset.id, document_id)
    assert stored is not None
    return WireJSONResponse(stored.detail())


@router.delete("/datasets/{dataset_id}/documents/{document_id}")
async def delete_document(request: Request, dataset_id: str, document_id: str) -> WireJSONResponse:
    user = required_user(request)
    records: Records = request.app.state.records
    dataset = writable_dataset(records, user, dataset_id)
    delay = deletion_delay_s(request.query_params.get("when"))
    if not is_object_id(document_id) or not records.documents.soft_delete(dataset.id, [document_id],
                                                                          time.time() + delay):
        raise not_found(f"document {document_id}")
    if delay == 0:
        records.documents.prune_due(time.time())
    return WireJSONResponse({"message": f"Document {document_id} deleted"})


@router.get("/datasets/{dataset_id}/document-count")
async def document_count(request: Request, dataset_id: str) -> WireJSONResponse:
    records: Records = request.app.state.records
    dataset = readable_dataset(records, optional_user(request), dataset_id)
    include_deleted = request.query_params.get("includeDeleted", "").lower() == "true"
    return WireJSONResponse({"datasetId": dataset.id,
                             "count": records.documents.count(dataset.id, include_deleted=include_deleted)})


@router.get("/datasets/{dataset_id}/document-class-counts")
async def document_class_counts(request: Request, dataset_id: str) -> WireJSONResponse:
    records: Records = request.app.state.records
    dataset = readable_dataset(records, optional_user(request), dataset_id)
    counts = records.documents.class_counts(dataset.id)
    return WireJSONResponse({"datasetId": dataset.id, "totalDocuments": sum(counts.values()), "classCounts": counts})
