"""Document endpoints and queries (cloud-api §5.3 C1-C11).

Documents go over the wire as their ``document_properties``; a :class:`~ndicloud.core.Document` is accepted
wherever properties are. NaN and Infinity travel as bare tokens up and come back as numbers.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..core.document import Document
from ..core.errors import QueryError
from ..core.query import Query
from .client import CloudClient, resolve
from .datasets import check_when, document_count
from .errors import CloudError, InvalidArgument
from .models import DocumentSummary, QueryPage
from .pages import MAX_PAGE_SIZE, page_params, total_of, walk_pages
from .paths import cloud_id, cloud_ids, route

BULK_FETCH_LIMIT = 500
BULK_DELETE_BATCH = 1000


def _properties(document: Document | Mapping[str, Any]) -> dict[str, Any]:
    properties = document.properties if isinstance(document, Document) else dict(document)
    base = properties.get("base")
    if not isinstance(base, dict) or not isinstance(base.get("id"), str):
        raise InvalidArgument("a document needs base.id (a stub such as {'ndiId': ...} is not a document)")
    return properties


def _documents(dataset_id: str, *parts: str) -> str:
    return route("datasets", cloud_id(dataset_id, "dataset id"), "documents", *parts)


def add_document(dataset_id: str, document: Document | Mapping[str, Any], *,
                 client: CloudClient | None = None) -> str:
    """C1: add one document; its new cloud id. The service does not de-duplicate by NDI id, and a lost answer
    raises OutcomeUnknown rather than being repeated."""
    cloud = resolve(client)
    body = cloud.json("POST", _documents(dataset_id), json=_properties(document))
    document_id = (body or {}).get("id") or (body or {}).get("_id")
    if not isinstance(document_id, str):
        raise CloudError(f"POST /datasets/{dataset_id}/documents answered without the new document's id")
    cloud.note_created(document_id)
    return document_id


def get_document(dataset_id: str, document_id: str, *, client: CloudClient | None = None) -> dict[str, Any]:
    """C3: the stored ``document_properties`` with the cloud id in ``id``."""
    return resolve(client).json("GET", _documents(dataset_id, cloud_id(document_id, "document id")),
                                auth="optional")


def update_document(dataset_id: str, document_id: str, document: Document | Mapping[str, Any], *,
                    client: CloudClient | None = None) -> None:
    """C4: replace the whole document (repeatable)."""
    resolve(client).json("POST", _documents(dataset_id, cloud_id(document_id, "document id")),
                         json=_properties(document), idempotent=True)


def delete_document(dataset_id: str, document_id: str, *, when: str = "7d",
                    client: CloudClient | None = None) -> bool:
    """C5: soft-delete one document; False when the answer was a 504 (probably done, unconfirmed)."""
    response = resolve(client).request("DELETE", _documents(dataset_id, cloud_id(document_id, "document id")),
                                       params={"when": check_when(when)})
    return response.status_code != 504


def _summaries(body: Any) -> list[DocumentSummary]:
    items = (body or {}).get("documents") if isinstance(body, dict) else None
    return [DocumentSummary.from_wire(d) for d in items or [] if isinstance(d, dict)]


def list_dataset_documents(dataset_id: str, *, page: int = 1, page_size: int = 1000,
                           client: CloudClient | None = None) -> list[DocumentSummary]:
    """C2: one page of document summaries (cloud id, NDI id, name, class)."""
    return _summaries(resolve(client).json("GET", _documents(dataset_id), params=page_params(page, page_size),
                                           auth="optional"))


def iter_documents(dataset_id: str, *, page_size: int = 1000,
                   client: CloudClient | None = None) -> Iterator[DocumentSummary]:
    """Every document summary of the dataset, one page in memory at a time.

    Reads the live count first (as the reference does) and stops after ceil(count / page_size) pages or at a
    short page, so a list that grows while it is read still ends.
    """
    cloud = resolve(client)
    total = document_count(dataset_id, client=cloud)
    page_size = min(page_size, MAX_PAGE_SIZE)

    def fetch(page: int) -> tuple[list[DocumentSummary], int | None]:
        return list_dataset_documents(dataset_id, page=page, page_size=page_size, client=cloud), None

    pages = math.ceil(total / page_size)
    return walk_pages(fetch, page_size, total=pages * page_size)


def list_deleted_documents(dataset_id: str, *, page: int = 1, page_size: int = 100,
                           client: CloudClient | None = None) -> list[DocumentSummary]:
    """C6: one page of the dataset's soft-deleted documents."""
    return _summaries(resolve(client).json("GET", _documents(dataset_id, "deleted"),
                                           params=page_params(page, page_size)))


def bulk_delete_documents(dataset_id: str, document_ids: Iterable[str], *, when: str = "7d",
                          client: CloudClient | None = None) -> None:
    """C7: soft-delete many documents, in batches of 1000."""
    cloud = resolve(client)
    ids = cloud_ids(document_ids)
    check_when(when)
    for start in range(0, len(ids), BULK_DELETE_BATCH):
        cloud.request("POST", _documents(dataset_id, "bulk-delete"),
                      json={"documentIds": ids[start:start + BULK_DELETE_BATCH], "when": when}, idempotent=True)


def bulk_fetch(dataset_id: str, document_ids: Iterable[str], *,
               client: CloudClient | None = None) -> list[dict[str, Any]]:
    """C8: full entries ``{id, ndiId, name, className, datasetId, data}`` of 1-500 documents.

    Unknown or deleted ids are left out silently by the service, and the order is not guaranteed.
    """
    ids = cloud_ids(document_ids)
    if not 1 <= len(ids) <= BULK_FETCH_LIMIT:
        raise InvalidArgument(f"bulk_fetch takes 1 to {BULK_FETCH_LIMIT} document ids, got {len(ids)}; use the "
                              "bulk download for more")
    body = resolve(client).json("POST", _documents(dataset_id, "bulk-fetch"), json={"documentIds": ids},
                                auth="optional", idempotent=True)
    items = (body or {}).get("documents") if isinstance(body, dict) else None
    return [entry for entry in items or [] if isinstance(entry, dict)]


def get_bulk_upload_url(dataset_id: str, *, client: CloudClient | None = None) -> str:
    """C9: a presigned PUT URL for a zip of documents (one JSON array per entry); ingested later."""
    body = resolve(client).json("POST", _documents(dataset_id, "bulk-upload"), content=b"", idempotent=True)
    return _url(body, "bulk-upload")


def get_bulk_download_url(dataset_id: str, document_ids: Sequence[str], *,
                          client: CloudClient | None = None) -> str:
    """C10: a presigned GET URL where a zip of these documents appears shortly (poll it)."""
    ids = cloud_ids(document_ids)
    if not ids:
        raise InvalidArgument("get_bulk_download_url needs explicit document ids (list them first)")
    body = resolve(client).json("POST", _documents(dataset_id, "bulk-download"), json={"documentIds": ids},
                                auth="optional", idempotent=True)
    return _url(body, "bulk-download")


def _url(body: Any, what: str) -> str:
    url = (body or {}).get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url:
        raise CloudError(f"the {what} request answered without a url")
    return url


def _search_structure(query: Query | Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    try:
        return Query.coerce(query).to_structure()
    except QueryError as exc:
        raise InvalidArgument(f"invalid query: {exc}") from None


def check_scope(scope: str | Sequence[str]) -> str:
    """``public``, ``private``, ``all``, or dataset ids (a list or comma-separated)."""
    if isinstance(scope, str) and scope in ("public", "private", "all"):
        return scope
    parts = scope.split(",") if isinstance(scope, str) else list(scope)
    ids = [cloud_id(part.strip(), "scope dataset id") for part in parts if part.strip()]
    if not ids:
        raise InvalidArgument(f"scope {scope!r} is empty; use public, private, all or dataset ids")
    return ",".join(ids)


def ndiquery(scope: str | Sequence[str], query: Query | Mapping[str, Any] | Iterable[Mapping[str, Any]], *,
             page: int = 1, page_size: int = 20, client: CloudClient | None = None) -> QueryPage:
    """C11: one page of the documents matching ``query`` in ``scope`` (summaries with ``datasetId``)."""
    params = page_params(page, page_size)
    body = resolve(client).json("POST", "/ndiquery", params=params, auth="optional", idempotent=True,
                                json={"scope": check_scope(scope), "searchstructure": _search_structure(query)})
    return QueryPage(_summaries(body), total_of(body), int((body or {}).get("page") or page),
                     int((body or {}).get("pageSize") or params["pageSize"]))


def iter_ndiquery(scope: str | Sequence[str], query: Query | Mapping[str, Any] | Iterable[Mapping[str, Any]], *,
                  page_size: int = 1000, client: CloudClient | None = None) -> Iterator[DocumentSummary]:
    """Every match of ``query`` in ``scope``, page by page."""
    def fetch(page: int) -> tuple[list[DocumentSummary], int | None]:
        result = ndiquery(scope, query, page=page, page_size=page_size, client=client)
        return result.documents, result.total
    return walk_pages(fetch, page_size)


def get_uploaded_document_ids(dataset_id: str, *, client: CloudClient | None = None) -> dict[str, list[str]]:
    """NDI id -> every cloud id carrying it (duplicates stay visible, cloud-api §7)."""
    uploaded: dict[str, list[str]] = {}
    for summary in iter_documents(dataset_id, client=client):
        # interned: a sync holds each ndiId in several tables at once, and a large dataset has many
        uploaded.setdefault(sys.intern(summary.ndi_id), []).append(summary.id)
    return uploaded
