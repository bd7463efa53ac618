"""Read-only comparisons of the two sides: ``document_difference`` (ids) and ``validate`` (contents)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import CloudClient
from ..api.client import resolve
from ..core import Dataset, NotLinked
from ..core.canonical import canonical_bytes
from ..download.documents import fetch_wanted, unseen_documents
from ..transfers.inventory import LocalInventory, newest_copies, remote_documents, shareable_ids


@dataclass
class DocumentDifference:
    """Which ndiIds are on one side only, and which on both (remote duplicates counted once)."""

    local_only: list[str]
    remote_only: list[str]
    common: list[str]

    def counts(self) -> dict[str, int]:
        return {"local_only": len(self.local_only), "remote_only": len(self.remote_only), "common": len(self.common)}

    def json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "localOnly": self.local_only, "remoteOnly": self.remote_only,
                "common": self.common}


@dataclass
class ValidationResult(DocumentDifference):
    """``DocumentDifference`` plus the common documents whose contents differ, each with where."""

    mismatched: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not (self.local_only or self.remote_only or self.mismatched)

    def counts(self) -> dict[str, int]:
        return {**super().counts(), "mismatched": len(self.mismatched)}

    def json(self) -> dict[str, Any]:
        return {**super().json(), "valid": self.valid, "mismatched": self.mismatched}


def _cloud_id(dataset: Dataset, cloud_dataset_id: str | None) -> str:
    if cloud_dataset_id:
        return cloud_dataset_id
    link = dataset.remote_link()
    if link is None:
        raise NotLinked(f"{dataset.path} is not linked to a cloud dataset; name the cloud dataset to compare with")
    return link.dataset_id


def document_difference(local_dataset: Dataset | str | Path, cloud_dataset_id: str | None = None, *,
                        client: CloudClient | None = None) -> DocumentDifference:
    """ndiIds here only, in the cloud only, and on both sides: from the index and one listing."""
    cloud = resolve(client)
    with Dataset.open(local_dataset.path if isinstance(local_dataset, Dataset) else local_dataset) as dataset:
        cloud_id = _cloud_id(dataset, cloud_dataset_id)
        here = shareable_ids(dataset)
    there = set(remote_documents(cloud_id, cloud))
    return DocumentDifference(sorted(here - there), sorted(there - here), sorted(here & there))


def validate(local_dataset: Dataset | str | Path, cloud_dataset_id: str | None = None, *,
             client: CloudClient | None = None, staging: Path | None = None) -> ValidationResult:
    """Compare the contents of the documents on both sides (bulk-downloaded; file locations and cloud-only
    keys ignored): which differ, and the first fields where they do."""
    import tempfile

    cloud = resolve(client)
    with Dataset.open(local_dataset.path if isinstance(local_dataset, Dataset) else local_dataset) as dataset:
        cloud_id = _cloud_id(dataset, cloud_dataset_id)
        inventory = LocalInventory.of(dataset)
        listing = remote_documents(cloud_id, cloud)
        common = sorted(inventory.hashes.keys() & listing.keys())
        result = ValidationResult(sorted(inventory.hashes.keys() - listing.keys()),
                                  sorted(listing.keys() - inventory.hashes.keys()), common)
        newest = newest_copies(listing)
        with tempfile.TemporaryDirectory(prefix="ndi-validate-", dir=staging) as scratch:
            seen: set[str] = set()
            for zipped in fetch_wanted(cloud_id, {i: newest[i] for i in common}, Path(scratch), seen, client=cloud):
                for remote in unseen_documents([zipped], seen):
                    if remote.content_hash() != inventory.hashes[remote.id]:
                        result.mismatched[remote.id] = _where(dataset.get(remote.id).properties, remote.properties)
                zipped.unlink()
        for ndi_id in set(common) - seen:
            result.mismatched[ndi_id] = "not in the cloud's bulk download"
    return result


def _where(local: dict[str, Any], remote: dict[str, Any], limit: int = 3) -> str:
    """The first differing fields (dotted paths), in content terms (locations aside)."""
    paths: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if len(paths) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(a.keys() | b.keys()):
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            return
        if canonical_bytes({"v": a}, "content") != canonical_bytes({"v": b}, "content"):
            paths.append(path or "(document)")

    walk({k: v for k, v in local.items() if k != "files"}, {k: v for k, v in remote.items() if k != "files"}, "")
    if not paths:
        paths.append("files")
    return "differs in " + ", ".join(paths)
