"""Registration receipts: a JSON file per deposit, written before the deposit is sent (doi.md §1.1 step 8).

A receipt holds what is needed to follow a deposit up after any crash: the dataset id, the minted DOI, the
``doi_batch_id`` and ``file_name`` tracking keys, the timestamp, the system and base URL, and the XML; then
each outcome as it happens. Credentials are never written. Files are replaced atomically (mode 0600).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.syncindex import write_json_atomically
from .settings import receipts_directory


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReceiptStore:
    """The receipts of one folder, one ``<doi_batch_id>.json`` each."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = receipts_directory(folder)

    def path_for(self, file_name: str) -> Path:
        return self.folder / (file_name.removesuffix(".xml") + ".json")

    def create(self, *, dataset_id: str, doi: str, doi_batch_id: str, file_name: str, timestamp: int,
               system: str, base_url: str, xml: bytes) -> Path:
        """Write a new receipt (before anything is sent); its path."""
        path = self.path_for(file_name)
        write_json_atomically(path, {
            "datasetId": dataset_id, "doi": doi, "doiBatchId": doi_batch_id, "fileName": file_name,
            "timestamp": timestamp, "system": system, "baseUrl": base_url, "createdAt": _now(),
            "state": "built", "events": [], "xml": xml.decode("utf-8"),
        }, indent=2)
        return path

    def read(self, path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def record(self, path: Path, state: str, detail: str = "", **fields: Any) -> None:
        """Note an outcome (``submitted``, ``submit-failed``, ``pending``, ``failed``, ``registered``, ``stored``,
        ``store-failed``) with its detail and any fields to set."""
        data = self.read(path) or {}
        data.update(fields)
        data["state"] = state
        data.setdefault("events", []).append({"at": _now(), "state": state, "detail": detail})
        write_json_atomically(path, data, indent=2)

    def find(self, file_name: str) -> tuple[Path, dict[str, Any]] | None:
        """The receipt of a deposit by its ``file_name``, if this folder has it."""
        path = self.path_for(file_name)
        data = self.read(path) if path.is_file() else None
        return (path, data) if data else None

    def latest_timestamp(self, dataset_id: str) -> int | None:
        """The largest timestamp of any receipt of ``dataset_id`` (a re-deposit must exceed it)."""
        if not self.folder.is_dir():
            return None
        stamps = []
        for path in self.folder.glob("*.json"):
            data = self.read(path)
            if data and data.get("datasetId") == dataset_id and isinstance(data.get("timestamp"), int):
                stamps.append(data["timestamp"])
        return max(stamps, default=None)
