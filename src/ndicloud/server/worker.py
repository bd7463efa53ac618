"""The background worker: deferred work the real service also does later (cloud-api §10.5).

Pending work lives in the records (a due time per dataset), so it survives a restart;
the worker only polls for what is due. A delay of 0 removes the wait, not the worker:
clients must still poll, as they must against the real service.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time

from .blobs import BlobStore
from .compute import step_due_sessions
from .ingest import ZipLimits
from .records import Records
from .transfers_work import run_transfer

log = logging.getLogger("ndicloud.server.worker")


class Worker:
    """Applies due publish/unpublish/undelete actions, prunes expired deletions, runs bulk transfers."""

    def __init__(self, records: Records, blobs: BlobStore, interval_s: float = 0.05,
                 zip_limits: ZipLimits | None = None, compute_stage_delay_s: float = 2.0):
        self.records = records
        self.compute_stage_delay_s = compute_stage_delay_s
        self.blobs = blobs
        self.zip_limits = zip_limits or ZipLimits()
        self.sweep_interval_s = 1.0
        self._last_sweep = 0.0
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ndi-cloud-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run_due(self, now: float | None = None) -> int:
        """Carry out everything due at ``now``; returns how many items were handled."""
        moment = time.time() if now is None else now
        handled = 0
        for dataset_id, action in self.records.due_actions(moment):
            self.records.finish_action(dataset_id, action)
            log.info("dataset %s: %s done", dataset_id, action)
            handled += 1
        for dataset_id in self.records.due_prunes(moment):
            self.records.prune_dataset(dataset_id)
            log.info("dataset %s: pruned", dataset_id)
            handled += 1
        handled += self.records.documents.prune_due(moment)
        for transfer in self.records.transfers.due(moment):
            try:
                run_transfer(self.records, self.blobs, transfer, self.zip_limits)
            except Exception:  # one broken transfer must not stop the others; logged with its trace
                log.exception("transfer %s (%s) failed", transfer.id, transfer.kind)
                self.records.transfers.update(transfer.id, state="failed", due=None,
                                              error="the server failed to process this transfer")
            handled += 1
        handled += self.records.transfers.expire_unused(moment)
        handled += self.records.spent_upload_urls.forget_expired(moment)
        handled += step_due_sessions(self.records.compute, moment, self.compute_stage_delay_s)
        handled += self.records.files.register_due(moment)
        if moment - self._last_sweep > self.sweep_interval_s:
            self._last_sweep = moment
            handled += self.sweep_orphans()
        return handled

    def sweep_orphans(self) -> int:
        """Remove stored bytes of datasets that no longer exist (pruned; also after a stop mid-prune).

        Every key holds its dataset id at a fixed place, so the folders themselves say what is left over.
        """
        removed = 0
        for prefix in ("files", "downloads", "uploads/documents", "uploads/files"):
            folder = self.blobs.root / prefix
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if entry.is_dir() and not self.records.dataset_exists(entry.name):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
        return removed

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_due()
            except Exception:  # the worker must outlive one bad item; logged with its trace
                log.exception("background work failed; retrying on the next tick")
