"""What the sync tests share: small linked datasets and ways to look at both sides (the cloud always through
its HTTP API). The quick server and its client are the ``sync_cloud`` and ``sync_client`` fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ndicloud.api import CloudClient, datasets, documents
from ndicloud.core import Dataset, Document
from ndicloud.sync import SyncOptions, two_way_sync
from ndicloud.transfers.report import TransferReport
from ndicloud.transfers.zips import read_document_zip

from fixture_facts import FILE_NAME

QUIET = SyncOptions(verbose=False, ingest_timeout_s=20.0, download_timeout_s=20.0)


def new_doc(session_id: str, name: str, value: Any = 1) -> Document:
    return Document.new("demoNDI", session_id=session_id, name=name, properties={"demoNDI": {"value": value}})


def local_dataset(path: Path, names: list[str]) -> tuple[Path, dict[str, Document]]:
    """A dataset with one demoNDI document per name; the documents by name."""
    made: dict[str, Document] = {}
    with Dataset.create(path, path.name, with_session_document=False) as dataset:
        for name in names:
            made[name] = new_doc(dataset.id, name)
        if made:
            dataset.add_documents(list(made.values()))
    return path, made


def linked_pair(tmp_path: Path, api: CloudClient, local_names: list[str], remote_names: list[str],
                ) -> tuple[Path, str, dict[str, Document]]:
    """A local dataset with ``local_names`` linked to a new cloud dataset that holds ``remote_names``
    (added through the API, as another client would). Documents by name."""
    path, made = local_dataset(tmp_path / "local", local_names)
    cloud_id = datasets.create_dataset(f"sync-{tmp_path.name}", client=api)
    with Dataset.open(path, readonly=False) as dataset:
        dataset.create_remote_link(cloud_id, api.organization_id or "")
        for name in remote_names:
            made[name] = new_doc(dataset.id, name)
            documents.add_document(cloud_id, made[name], client=api)
    return path, cloud_id, made


def remote_listing(cloud_id: str, api: CloudClient) -> dict[str, list[str]]:
    return documents.get_uploaded_document_ids(cloud_id, client=api)


def remote_contents(cloud_id: str, api: CloudClient, tmp_path: Path) -> dict[str, str]:
    """ndiId -> content hash of every cloud document (its newest copy), bulk-downloaded."""
    listing = remote_listing(cloud_id, api)
    if not listing:
        return {}
    url = documents.get_bulk_download_url(cloud_id, [max(ids) for ids in listing.values()], client=api)
    from ndicloud.download.documents import fetch_zip

    target = fetch_zip(url, tmp_path / f"contents-{cloud_id}.zip", client=api, timeout_s=20)
    found = {p["base"]["id"]: Document(p).content_hash() for p in read_document_zip(target)}
    target.unlink()
    return found


def local_contents(path: Path) -> dict[str, str]:
    """ndiId -> content hash of every live document but the link."""
    with Dataset.open(path) as dataset:
        return {d.id: d.content_hash() for d in dataset.documents() if d.class_name != "dataset_remote"}


def edit(path: Path, doc_id: str, **changes: Any) -> None:
    """Replace a local document by a version with ``demoNDI`` fields changed."""
    with Dataset.open(path, readonly=False) as dataset:
        doc = dataset.get(doc_id)
        doc.properties["demoNDI"].update(changes)
        dataset.store.add(doc, replace=True)


def edit_in_cloud(cloud_id: str, api: CloudClient, doc_id: str, tmp_path: Path, **changes: Any) -> None:
    """Change a cloud document as another copy of this toolkit does: a new version added, the old removed."""
    listing = remote_listing(cloud_id, api)
    old = listing[doc_id]
    properties = documents.get_document(cloud_id, max(old), client=api)
    properties.pop("id", None)
    properties["demoNDI"].update(changes)
    documents.add_document(cloud_id, properties, client=api)
    documents.bulk_delete_documents(cloud_id, old, client=api)


def acted(report: TransferReport, action: str, kind: str = "document") -> list[str]:
    """The ids the report says were ``action``-ed, sorted."""
    return sorted(item.key for item in report.items if item.kind == kind and item.action == action)


def detail(report: TransferReport, key: str) -> str:
    return " | ".join(item.detail or "" for item in report.items if item.key == key)


def synced_pair(tmp_path: Path, api: CloudClient, names: list[str]) -> tuple[Path, str, dict[str, Document]]:
    """A local dataset and its cloud dataset holding the same documents ``names``, synced once."""
    path, cloud_id, made = linked_pair(tmp_path, api, names, [])
    first = two_way_sync(path, options=QUIET, client=api)
    assert first.success and acted(first, "uploaded") == sorted(d.id for d in made.values()), first.message
    return path, cloud_id, made


def change_local(path: Path, doc_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Replace a local document by a version changed by ``change`` (any field, e.g. ``base.datestamp``)."""
    with Dataset.open(path, readonly=False) as dataset:
        doc = dataset.get(doc_id)
        change(doc.properties)
        dataset.store.add(doc, replace=True)


def change_in_cloud(cloud_id: str, api: CloudClient, doc_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """As ``edit_in_cloud``, with any change: a new version added, every old copy removed."""
    old = remote_listing(cloud_id, api)[doc_id]
    properties = documents.get_document(cloud_id, max(old), client=api)
    properties.pop("id", None)
    change(properties)
    documents.add_document(cloud_id, properties, client=api)
    documents.bulk_delete_documents(cloud_id, old, client=api)


def edit_in_place(cloud_id: str, api: CloudClient, doc_id: str, value: Any) -> None:
    """Change a cloud document as another tool may: replaced in place (PUT), keeping its one cloud id."""
    (api_id,) = remote_listing(cloud_id, api)[doc_id]
    properties = documents.get_document(cloud_id, api_id, client=api)
    properties.pop("id", None)
    properties["demoNDI"]["value"] = value
    documents.update_document(cloud_id, api_id, properties, client=api)


def delete_here(path: Path, doc_id: str) -> None:
    with Dataset.open(path, readonly=False) as dataset:
        dataset.store.remove(doc_id)


def delete_in_cloud(cloud_id: str, api: CloudClient, doc_id: str) -> None:
    documents.bulk_delete_documents(cloud_id, remote_listing(cloud_id, api)[doc_id], client=api)


def doc_with_file(path: Path, name: str, payload: bytes, scratch: Path) -> tuple[Document, str]:
    """Add a demoNDI document carrying one file (ingested into ``.ndi/files``); the document and the file uid."""
    source = scratch / f"{name}.bin"
    source.write_bytes(payload)
    with Dataset.open(path, readonly=False) as dataset:
        doc = Document.new("demoNDI", session_id=dataset.id, name=name, file_list=[FILE_NAME, "other.ext"])
        uid = doc.add_file(FILE_NAME, str(source))["uid"]
        dataset.add_documents(doc)
    return doc, uid
