"""``POST /ndiquery`` (cloud-api §5.3 C11): NDI search structures over the datasets in scope.

The search index is DID-SQLite-shaped, so the core's compiler answers it with the
local-format semantics (exact isa on class and superclasses, depends_on with '*').
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...core.errors import QueryError
from ...core.query import Query
from ..access import can_read, optional_user
from ..errors import bad_request
from ..ids import is_object_id
from ..records import Records, User
from ..regexp import failure, time_limit
from ..wire import WireJSONResponse, page_params, read_object

router = APIRouter()


def _negates_or(node: Any) -> bool:
    if isinstance(node, list):
        return any(_negates_or(n) for n in node)
    if isinstance(node, dict):
        operation = str(node.get("operation", "")).replace(" ", "")
        return operation == "~or" or _negates_or(node.get("param1")) or _negates_or(node.get("param2"))
    return False


def _scope(records: Records, user: User | None, scope: Any) -> list[str]:
    """Dataset ids the query covers: public, private, all, or a comma-separated list (unreadable ones dropped)."""
    if not isinstance(scope, str) or not scope.strip():
        raise bad_request("scope must be 'public', 'private', 'all' or comma-separated dataset ids")
    scope = scope.strip()
    ids: list[str] = []
    if scope in ("public", "all"):
        ids += [d.id for d in records.list_datasets("is_published = 1 AND is_deleted = 0", (), 1, 1_000_000)[1]]
    if scope in ("private", "all") and user is not None:
        organizations = [m.organization_id for m in user.organizations]
        if organizations:
            marks = ",".join("?" * len(organizations))
            rows = records.list_datasets(f"is_deleted = 0 AND organization_id IN ({marks})", tuple(organizations), 1,
                                         1_000_000)[1]
            ids += [d.id for d in rows]
    if scope not in ("public", "private", "all"):
        requested = [part.strip() for part in scope.split(",") if part.strip()]
        bad = [p for p in requested if not is_object_id(p)]
        if bad:
            raise bad_request(f"scope holds values that are neither a keyword nor a dataset id: {', '.join(bad[:5])}")
        for dataset_id in requested:
            dataset = records.dataset(dataset_id)
            if dataset is not None and can_read(user, dataset):
                ids.append(dataset.id)
    return list(dict.fromkeys(ids))


@router.post("/ndiquery")
async def ndiquery(request: Request) -> WireJSONResponse:
    user = optional_user(request)
    config = request.app.state.config
    page, size = page_params(request, config.default_page_size, config.max_page_size)
    body = await read_object(request, config.max_json_body_bytes)
    structure = body.get("searchstructure")
    if _negates_or(structure):
        raise bad_request("~or is not allowed")
    if not isinstance(structure, (list, dict)):
        raise bad_request("searchstructure must be a list of {field, operation, param1, param2} nodes")
    records: Records = request.app.state.records
    datasets = _scope(records, user, body.get("scope"))
    try:
        query = Query.from_structure(structure)
    except QueryError as exc:
        raise bad_request(str(exc)) from None

    def search() -> tuple[int, list[Any]]:
        with time_limit(config.query_regex_time_s):
            try:
                return records.documents.search(query, datasets, page, size)
            except QueryError as exc:
                raise bad_request(str(exc)) from None
            except sqlite3.OperationalError:
                reason = failure()
                if reason is not None:
                    raise bad_request(reason) from None
                raise

    total, docs = await run_in_threadpool(search)  # off the event loop: other requests go on meanwhile
    return WireJSONResponse({"documents": [{**d.summary(), "datasetId": d.dataset_id} for d in docs],
                             "number_matches": total, "page": page, "pageSize": size})
