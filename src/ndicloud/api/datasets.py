"""Dataset endpoints (cloud-api §5.2 D1-D16)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .client import CloudClient, resolve
from .errors import CloudError, InvalidArgument
from .models import Dataset, DatasetPage
from .pages import page_params, total_of, walk_pages
from .paths import cloud_id, route

_WHEN = re.compile(r"^(now|[1-9][0-9]*[dhms])$")


def check_when(when: str) -> str:
    """A deletion delay as the service takes it: ``now`` or a number with d, h, m or s (``7d``)."""
    if not isinstance(when, str) or not _WHEN.match(when):
        raise InvalidArgument(f"when={when!r} is not a deletion delay; use 'now' or e.g. 7d, 24h, 30m")
    return when


def _page(body: Any, page: int, page_size: int) -> DatasetPage:
    body = body if isinstance(body, dict) else {}
    items = body.get("datasets") if isinstance(body.get("datasets"), list) else []
    return DatasetPage([Dataset.from_wire(d) for d in items if isinstance(d, dict)], total_of(body),
                       int(body.get("page") or page), int(body.get("pageSize") or page_size))


def create_dataset(name: str, *, organization_id: str | None = None, metadata: Mapping[str, Any] | None = None,
                   client: CloudClient | None = None) -> str:
    """D1: a new dataset in the organization (the caller's first by default); its cloud id.

    Never retried blindly: a lost answer raises OutcomeUnknown, and the caller lists before creating again.
    """
    cloud = resolve(client)
    organization = cloud_id(organization_id, "organization id") if organization_id else cloud.organization_id
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("a dataset needs a non-empty name")
    body = cloud.json("POST", route("organizations", organization, "datasets"),
                      json={**(metadata or {}), "name": name})
    dataset_id = (body or {}).get("id") or (body or {}).get("_id")
    if not isinstance(dataset_id, str):
        raise CloudError("POST /organizations/…/datasets answered without the new dataset's id")
    cloud.note_created(dataset_id)
    cloud.dataset_organizations[dataset_id] = organization
    return dataset_id


def get_dataset(dataset_id: str, *, client: CloudClient | None = None) -> Dataset:
    """D3: the dataset detail (with ``files``); readable anonymously when published."""
    cloud = resolve(client)
    dataset = Dataset.from_wire(cloud.json("GET", route("datasets", cloud_id(dataset_id, "dataset id")),
                                           auth="optional"))
    if dataset.organization_id:
        cloud.dataset_organizations[dataset_id] = dataset.organization_id
    return dataset


def dataset_organization_id(dataset_id: str, *, client: CloudClient | None = None) -> str:
    """The organization owning the dataset (from its record, as NDI-matlab does), cached per client."""
    cloud = resolve(client)
    known = cloud.dataset_organizations.get(dataset_id)
    if known:
        return known
    organization = get_dataset(dataset_id, client=cloud).organization_id
    if not organization:
        raise CloudError(f"dataset {dataset_id} has no organizationId in its record")
    return organization


def list_datasets(*, organization_id: str | None = None, page: int = 1, page_size: int = 20,
                  client: CloudClient | None = None) -> DatasetPage:
    """D2: one page of the organization's datasets (the caller's first organization by default)."""
    cloud = resolve(client)
    organization = cloud_id(organization_id, "organization id") if organization_id else cloud.organization_id
    body = cloud.json("GET", route("organizations", organization, "datasets"), params=page_params(page, page_size))
    return _page(body, page, page_size)


def iter_datasets(*, organization_id: str | None = None, page_size: int = 1000,
                  client: CloudClient | None = None) -> Iterator[Dataset]:
    """All of the organization's datasets, fetched page by page."""
    def fetch(page: int) -> tuple[list[Dataset], int | None]:
        result = list_datasets(organization_id=organization_id, page=page, page_size=page_size, client=client)
        return result.datasets, result.total
    return walk_pages(fetch, page_size)


def _listing(path: str, auth: str, page: int, page_size: int, client: CloudClient | None) -> DatasetPage:
    body = resolve(client).json("GET", path, params=page_params(page, page_size), auth=auth)  # type: ignore[arg-type]
    return _page(body, page, page_size)


def get_published_datasets(*, page: int = 1, page_size: int = 20, client: CloudClient | None = None) -> DatasetPage:
    """D8: one page of the public catalogue (anonymous callers welcome)."""
    return _listing("/datasets/published", "optional", page, page_size, client)


def iter_published_datasets(*, page_size: int = 1000, client: CloudClient | None = None) -> Iterator[Dataset]:
    def fetch(page: int) -> tuple[list[Dataset], int | None]:
        result = get_published_datasets(page=page, page_size=page_size, client=client)
        return result.datasets, result.total
    return walk_pages(fetch, page_size)


def get_unpublished_datasets(*, page: int = 1, page_size: int = 20,
                             client: CloudClient | None = None) -> DatasetPage:
    """D9: datasets submitted for review in the caller's organizations (all of them for admins)."""
    return _listing("/datasets/unpublished", "required", page, page_size, client)


def list_deleted_datasets(*, page: int = 1, page_size: int = 20, client: CloudClient | None = None) -> DatasetPage:
    """D7: the caller's soft-deleted datasets, which can still be undeleted."""
    return _listing("/datasets/deleted", "required", page, page_size, client)


def update_dataset(dataset_id: str, fields: Mapping[str, Any], *, client: CloudClient | None = None) -> None:
    """D4: change fields (update is a POST); repeating it is harmless."""
    resolve(client).json("POST", route("datasets", cloud_id(dataset_id, "dataset id")), json=dict(fields),
                         idempotent=True)


def delete_dataset(dataset_id: str, *, when: str = "7d", client: CloudClient | None = None) -> bool:
    """D5: soft-delete (pruned after ``when``; ``now`` for good). False when the service timed out (504):
    the deletion probably happened but is unconfirmed; check the lists."""
    response = resolve(client).request("DELETE", route("datasets", cloud_id(dataset_id, "dataset id")),
                                       params={"when": check_when(when)})
    return response.status_code != 504


def _action(dataset_id: str, action: str, client: CloudClient | None) -> None:
    # zero-length body with a JSON content type, as the reference sends these (cloud-api §3.1)
    resolve(client).request("POST", route("datasets", cloud_id(dataset_id, "dataset id"), action), content=b"",
                            headers={"Content-Type": "application/json"}, idempotent=True)


def undelete_dataset(dataset_id: str, *, client: CloudClient | None = None) -> None:
    """D6: restore a soft-deleted dataset (asynchronously: poll get_dataset)."""
    _action(dataset_id, "undelete", client)


def submit_dataset(dataset_id: str, *, client: CloudClient | None = None) -> None:
    """D10: submit for review (``isSubmitted``)."""
    _action(dataset_id, "submit", client)


def publish_dataset(dataset_id: str, *, client: CloudClient | None = None) -> None:
    """D11 (admins): publish; ``isPublished`` flips later (see waiters.wait_for_published)."""
    _action(dataset_id, "publish", client)


def unpublish_dataset(dataset_id: str, *, client: CloudClient | None = None) -> None:
    """D12 (admins): unpublish; ``isPublished`` flips back later."""
    _action(dataset_id, "unpublish", client)


def create_dataset_branch(dataset_id: str, branch_name: str, *, client: CloudClient | None = None) -> str:
    """D13: a branch of the dataset; the new dataset's id (creating: never repeated blindly)."""
    cloud = resolve(client)
    body = cloud.json("POST", route("datasets", cloud_id(dataset_id, "dataset id"), "branch"),
                      json={"branchName": branch_name})
    branch_id = (body or {}).get("id") or (body or {}).get("_id")
    if not isinstance(branch_id, str):
        raise CloudError(f"POST /datasets/{dataset_id}/branch answered without the new dataset's id")
    cloud.note_created(branch_id)
    return branch_id


def get_branches(dataset_id: str, *, client: CloudClient | None = None) -> list[Dataset]:
    """D14: the dataset's branches (read from ``branches``, else ``datasets``, else a bare list)."""
    body = resolve(client).json("GET", route("datasets", cloud_id(dataset_id, "dataset id"), "branches"),
                                auth="optional")
    items = body if isinstance(body, list) else (body or {}).get("branches", (body or {}).get("datasets", []))
    return [Dataset.from_wire(item) for item in items or [] if isinstance(item, dict)]


def document_count(dataset_id: str, *, include_deleted: bool = False, client: CloudClient | None = None) -> int:
    """D15: the live number of documents (soft-deleted ones only when asked)."""
    params = {"includeDeleted": "true"} if include_deleted else None
    body = resolve(client).json("GET", route("datasets", cloud_id(dataset_id, "dataset id"), "document-count"),
                                params=params, auth="optional")
    count = (body or {}).get("count")
    if not isinstance(count, int):
        raise CloudError(f"GET /datasets/{dataset_id}/document-count answered without a count")
    return count


def document_class_counts(dataset_id: str, *, client: CloudClient | None = None) -> dict[str, int]:
    """D16: documents per leaf class name."""
    body = resolve(client).json("GET", route("datasets", cloud_id(dataset_id, "dataset id"),
                                             "document-class-counts"), auth="optional")
    counts = (body or {}).get("classCounts")
    return dict(counts) if isinstance(counts, dict) else {}
