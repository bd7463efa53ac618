"""The structured result of a transfer or sync (sync.md §5): what was verified done, item by item.

``success`` is true only when nothing failed and no conflict is left. A report also unpacks as the
``(success, message, dataset)`` triple NDI users write today.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FAILING = frozenset({"failed", "conflict"})


@dataclass(frozen=True)
class ItemOutcome:
    """What happened to one document (by ndiId) or one file (by uid)."""

    kind: str  # "document" or "file"
    key: str
    action: str  # uploaded, downloaded, updated_local, updated_remote, deleted_local, deleted_remote, ...
    detail: str | None = None

    def json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.key, "action": self.action,
                **({"detail": self.detail} if self.detail else {})}


@dataclass
class TransferReport:
    operation: str
    cloud_dataset_id: str | None = None
    local_path: str | None = None
    items: list[ItemOutcome] = field(default_factory=list)
    bytes_moved: int = 0
    requests: int = 0
    started: float = field(default_factory=time.monotonic)
    duration_s: float = 0.0
    dataset: Any = None  # the local dataset's path or object, for the (success, message, dataset) form
    notes: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None  # a sync's plan (all that a dry run does is make it)

    def record(self, kind: str, key: str, action: str, detail: str | None = None) -> None:
        self.items.append(ItemOutcome(kind, key, action, detail))

    def finish(self, requests: int = 0) -> TransferReport:
        self.duration_s = round(time.monotonic() - self.started, 3)
        self.requests = requests
        return self

    def counts(self, kind: str | None = None) -> dict[str, int]:
        return dict(Counter(item.action for item in self.items if kind is None or item.kind == kind))

    @property
    def failures(self) -> list[ItemOutcome]:
        return [item for item in self.items if item.action in FAILING]

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def message(self) -> str:
        parts = []
        for kind in ("document", "file"):
            counts = self.counts(kind)
            if counts:
                parts.append(f"{kind}s: " + ", ".join(f"{n} {action}" for action, n in sorted(counts.items())))
        summary = "; ".join(parts) or "nothing to do"
        if self.success:
            return f"{self.operation} done: {summary}"
        first = self.failures[0]
        return (f"{self.operation} FAILED ({len(self.failures)} item(s)): {summary}. First: {first.kind} "
                f"{first.key}: {first.detail or first.action}")

    def __iter__(self) -> Iterator[Any]:
        """``success, message, dataset = download_dataset(...)``."""
        return iter((self.success, self.message, self.dataset))

    def json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "success": self.success,
            "message": self.message,
            "cloudDatasetId": self.cloud_dataset_id,
            "localPath": self.local_path,
            "counts": {"documents": self.counts("document"), "files": self.counts("file")},
            "bytesMoved": self.bytes_moved,
            "requests": self.requests,
            "durationSeconds": self.duration_s,
            "notes": self.notes,
            **({"plan": self.plan} if self.plan is not None else {}),
            "items": [item.json() for item in self.items],
        }
