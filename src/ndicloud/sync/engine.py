"""``sync_dataset``: list both sides, plan, act, verify, then record (sync.md §3).

1. Resolve the link; wait for the dataset's bulk-upload jobs (a dry run does not wait) and fail if one failed
   since the last sync.
2. Settle what an interrupted run sent (and finish its replacements); take both inventories.
3. Fetch the cloud contents the mode must compare and does not know; plan; apply the conflict policy.
4. A dry run stops here with the plan. Otherwise: send (new documents, then new versions, whose old cloud
   copies are removed once the new ones are listed), delete in the cloud, fetch (new, then new versions),
   delete here, then files both ways.
5. Verify cloud deletions in a fresh listing; record every confirmed document in the sync state.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import (
    Backoff,
    BulkJobsFailed,
    CloudClient,
    TransferError,
    WaitTimeout,
    waiters,
)
from ..api import datasets as cloud_datasets
from ..api.client import resolve
from ..core import Dataset, Document, NotAnNdiFolderError, NotLinked, RemoteLinkError, is_ndi_folder
from ..core.syncindex import read_sync_index
from ..download.dataset import receive_documents
from ..download.files import download_dataset_files
from ..transfers.inventory import LocalInventory, newest_copies, remote_documents, remote_files, shareable_documents
from ..transfers.progress import Reporter
from ..transfers.report import TransferReport
from ..transfers.state import SyncState, exclusive
from ..upload.documents import (
    confirm_documents,
    pending_replacements,
    record_confirmed,
    settle_pending,
    upload_document_collection,
)
from ..upload.files import confirm_files, scan_for_upload, upload_files
from .contents import RemoteContents, fetch_remote_contents
from .duplicates import delete_copies
from .options import SyncMode, SyncOptions
from .plan import Baseline, Snapshot, SyncPlan, build_plan, resolve_conflicts

BY_ID_FRACTION = 10  # documents to send are read one by one while they are under a tenth of the dataset
UPLOADING = (SyncMode.UPLOAD_NEW, SyncMode.MIRROR_TO_REMOTE, SyncMode.TWO_WAY_SYNC)
DOWNLOADING = (SyncMode.DOWNLOAD_NEW, SyncMode.MIRROR_FROM_REMOTE, SyncMode.TWO_WAY_SYNC)


@dataclass
class _Run:
    """One sync's moving parts."""

    dataset: Dataset
    cloud_id: str
    mode: SyncMode
    options: SyncOptions
    client: CloudClient
    report: TransferReport
    state: SyncState
    listing: dict[str, list[str]]
    inventory: LocalInventory
    contents: RemoteContents


def sync_dataset(dataset: Dataset | str | Path, mode: SyncMode | str = SyncMode.TWO_WAY_SYNC,
                 options: SyncOptions | None = None, *, cloud_dataset_id: str | None = None,
                 client: CloudClient | None = None) -> TransferReport:
    """Sync a local dataset with its cloud dataset in ``mode``; the report (a dry run's holds the plan).

    ``cloud_dataset_id`` links a dataset that has no link yet; a dataset linked elsewhere is refused.
    """
    options = options or SyncOptions()
    mode = SyncMode.parse(mode)
    cloud = resolve(client)
    path = Path(dataset.path if isinstance(dataset, Dataset) else dataset)
    if not is_ndi_folder(path):  # checked before the lock, which would create .ndi/sync here
        raise NotAnNdiFolderError(f"{path} is not an NDI dataset (no .ndi folder with a database)")
    report = TransferReport(mode.value, local_path=str(path), cloud_dataset_id=cloud_dataset_id)
    requests_before = cloud.requests
    lock = exclusive(path / ".ndi" / "sync" / "transfer.lock", str(path)) if not options.dry_run else None
    with lock or nullcontext(), Dataset.open(path, readonly=options.dry_run) as local, \
            Reporter(options.verbose) as reporter:
        report.dataset = local.path
        cloud_id = _linked_id(local, cloud_dataset_id, dry_run=options.dry_run, client=cloud)
        report.cloud_dataset_id = cloud_id
        with _state(local.path, cloud_id, dry_run=options.dry_run) as state:
            try:
                _run(local, cloud_id, mode, options, cloud, report, state, reporter)
            except BulkJobsFailed as exc:
                report.record("dataset", cloud_id, "failed", f"{exc}; reported once: the next sync goes on, "
                              "and sends whatever the failed jobs did not store")
                if not options.dry_run:
                    state.reported_failed_jobs.extend(exc.job_ids)
                    state.save()
            except (TransferError, WaitTimeout) as exc:  # a bulk job that never ended, or failed on the way
                report.record("dataset", cloud_id, "failed", str(exc))
    reporter.line(report.message)
    return report.finish(cloud.requests - requests_before)


def _state(path: Path, cloud_id: str, *, dry_run: bool) -> AbstractContextManager[SyncState]:
    """The state under its lock; a dry run reads it without the lock (and never writes it)."""
    if not dry_run:
        return SyncState.locked(path, cloud_id)
    return nullcontext(SyncState(path, cloud_id, read_sync_index(path)))


def _linked_id(dataset: Dataset, cloud_dataset_id: str | None, *, dry_run: bool, client: CloudClient) -> str:
    link = dataset.remote_link()
    if link is not None:
        if cloud_dataset_id and cloud_dataset_id != link.dataset_id:
            raise RemoteLinkError(f"{dataset.path} is linked to cloud dataset {link.dataset_id}, not "
                                  f"{cloud_dataset_id}; sync with the linked one or remove the link first")
        return link.dataset_id
    if not cloud_dataset_id:
        raise NotLinked(f"{dataset.path} is not linked to a cloud dataset: upload it first (ndi-cloud upload), "
                        "or name the cloud dataset to sync with")
    if not dry_run:
        record = cloud_datasets.get_dataset(cloud_dataset_id, client=client)
        dataset.create_remote_link(cloud_dataset_id, record.organization_id or client.organization_id)
    return cloud_dataset_id


def _run(dataset: Dataset, cloud_id: str, mode: SyncMode, options: SyncOptions, client: CloudClient,
         report: TransferReport, state: SyncState, reporter: Reporter) -> None:
    if not options.dry_run:
        waiters.wait_for_all_bulk_uploads(cloud_id, ignore=state.reported_failed_jobs, client=client,
                                          backoff=Backoff(first_s=0.2, cap_s=5.0, timeout_s=600.0))
        replaced = pending_replacements(state)
        listing = settle_pending(cloud_id, state, client=client, timeout_s=options.ingest_timeout_s)
        listing = _finish_replacements(cloud_id, replaced, listing, client)
    else:  # no waiting, but a failed job stops a dry run as it would stop the real one
        waiters.fail_on_failed_bulk_uploads(cloud_id, ignore=state.reported_failed_jobs, client=client)
        listing = remote_documents(cloud_id, client)
    inventory = LocalInventory.of(dataset)
    run = _Run(dataset, cloud_id, mode, options, client, report, state, listing, inventory, RemoteContents())
    snap = _snapshot(run)
    plan = build_plan(mode, options, snap)
    if plan.conflicts and options.conflict != "fail":
        local_dates = {i: str(dataset.get(i).properties.get("base", {}).get("datestamp", ""))
                       for i in plan.conflicts}
        resolve_conflicts(plan, options.conflict, local_dates, run.contents.datestamps)
    remote_file_list = remote_files(cloud_id, client) if mode in UPLOADING else {}
    if mode in UPLOADING:
        _plan_files(run, plan, remote_file_list)
    report.plan = plan.json()
    if options.dry_run:
        for line in plan.lines():
            reporter.line(line)
        for ndi_id, why in plan.conflicts.items():
            report.record("document", ndi_id, "conflict", why)
        for uid, why in plan.files_missing.items():  # as the real run reports them
            report.record("file", uid, "skipped" if options.allow_missing_files else "failed", why)
        return
    _act(run, plan, reporter, remote_file_list)


class _Baselines(Mapping[str, Baseline]):
    """The sync state's document records as :class:`Baseline` s, made when asked for (a large dataset's state
    is not copied)."""

    def __init__(self, documents: Mapping[str, Any]):
        self._documents = documents

    def __getitem__(self, ndi_id: str) -> Baseline:
        entry = self._documents[ndi_id]
        if not isinstance(entry, dict):
            raise KeyError(ndi_id)
        return Baseline(entry.get("local"), entry.get("remote"), tuple(entry.get("apiIds") or ()))

    def __iter__(self) -> Iterator[str]:
        return (ndi_id for ndi_id, entry in self._documents.items() if isinstance(entry, dict))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _RemoteHashes(Mapping[str, str]):
    """Cloud content hashes known for the copies in ``listing``, looked up when asked for: fetched in this run
    from those very copies (``fetched_from``: the listing they were fetched by, when it may differ), or
    recorded in the state for exactly those cloud ids (unless the state is not to be trusted). A hash recorded
    for other cloud ids says nothing about these: another copy of the toolkit replaced the document since."""

    def __init__(self, documents: Mapping[str, Any], listing: Mapping[str, list[str]], *, trust_state: bool,
                 fetched: dict[str, str] | None = None, fetched_from: Mapping[str, list[str]] | None = None):
        self.fetched: dict[str, str] = {} if fetched is None else fetched
        self._documents, self._listing, self._trust_state = documents, listing, trust_state
        self._fetched_from = fetched_from

    def __getitem__(self, ndi_id: str) -> str:
        copies = self._listing.get(ndi_id)
        if ndi_id in self.fetched and (self._fetched_from is None
                                       or sorted(self._fetched_from.get(ndi_id, ())) == sorted(copies or ())):
            return self.fetched[ndi_id]
        if self._trust_state:
            entry = self._documents.get(ndi_id)
            if isinstance(entry, dict) and entry.get("remote") and copies and entry.get("apiIds") \
                    and sorted(entry["apiIds"]) == sorted(copies):
                return str(entry["remote"])
        raise KeyError(ndi_id)

    def __contains__(self, ndi_id: object) -> bool:
        try:
            self[ndi_id]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return (ndi_id for ndi_id in self._listing if ndi_id in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _snapshot(run: _Run) -> Snapshot:
    """Both sides and the last sync; cloud contents are fetched where the mode compares them and the state
    cannot vouch for them (no hash recorded, or the cloud ids changed since)."""
    known = _RemoteHashes(run.state.documents, run.listing, trust_state=not run.options.check_remote_content)
    snap = Snapshot(local=run.inventory.hashes, remote=run.listing, remote_hashes=known,
                    baseline=_Baselines(run.state.documents), last_local_ids=set(run.state.index.local_ids),
                    last_remote_ids=set(run.state.index.remote_ids),
                    has_state=bool(run.state.index.timestamp or run.state.documents))
    compares = run.mode is SyncMode.TWO_WAY_SYNC or (
        run.mode in (SyncMode.MIRROR_TO_REMOTE, SyncMode.MIRROR_FROM_REMOTE) and run.options.update_changed)
    needed: set[str] = set()
    if compares:
        needed = {i for i in snap.local.keys() & snap.remote.keys() if i not in known}
        if run.mode is SyncMode.TWO_WAY_SYNC and run.options.propagate_deletions:
            needed |= {i for i in snap.remote.keys() - snap.local.keys() if snap.synced_before(i) and i not in known}
    if needed:
        newest = newest_copies(run.listing)
        run.contents = fetch_remote_contents(run.cloud_id, {i: newest[i] for i in needed}, client=run.client,
                                             chunk=run.options.document_chunk,
                                             timeout_s=run.options.download_timeout_s)
        known.fetched.update(run.contents.hashes)
    return snap


def _plan_files(run: _Run, plan: SyncPlan, remote: dict) -> None:
    """Files every document that stays here references, which the cloud lacks (NDI-matlab#805)."""
    leaving = set(plan.delete_local)
    for uid, entry in sorted(run.inventory.files(run.dataset).items()):
        if not set(entry.document_ids) - leaving:
            continue
        there = remote.get(uid)
        if there is not None and there.uploaded and (not entry.present or there.size == entry.size):
            continue
        if entry.present:
            plan.files_to_upload.append(uid)
        else:
            plan.files_missing[uid] = f"missing locally; needed by {', '.join(entry.document_ids[:3])}"


def _act(run: _Run, plan: SyncPlan, reporter: Reporter, remote_file_list: dict) -> None:
    report, state, client, cloud_id, options = run.report, run.state, run.client, run.cloud_id, run.options
    listing = run.listing
    if plan.upload or plan.update_remote:
        listing = _send(run, plan, reporter)
    if plan.delete_remote:
        doomed = [api_id for ndi_id in plan.delete_remote for api_id in listing.get(ndi_id, ())]
        delete_copies(cloud_id, doomed, client)
        listing = remote_documents(cloud_id, client)  # the listing _send returned is fresh; deletions need a new one
        for ndi_id in plan.delete_remote:
            if ndi_id in listing:
                report.record("document", ndi_id, "failed", f"still listed in the cloud after deletion "
                              f"({len(listing[ndi_id])} copies)")
            else:
                report.record("document", ndi_id, "deleted_remote")
                state.forget_document(ndi_id)
        state.save()
    newest = newest_copies(listing)
    received: dict[str, str] = {}  # ndiId -> content hash of what arrived here
    staging = Path(run.dataset.path) / ".ndi" / "sync" / "staging"
    try:
        for ids, replace, action in ((plan.download, False, "downloaded"), (plan.update_local, True, "updated_local")):
            wanted = {i: newest[i] for i in ids if i in newest}
            for ndi_id in set(ids) - wanted.keys():
                report.record("document", ndi_id, "failed", "no longer listed in the cloud")
            if wanted:
                with reporter.step(action.replace("_", " "), len(wanted), unit="documents") as step:
                    receive_documents(run.dataset, cloud_id, wanted, staging, state=state, report=report,
                                      client=client, sync_files=options.sync_files, listing=listing,
                                      replace=replace, action=action, chunk=options.document_chunk,
                                      timeout_s=options.download_timeout_s, step=step, received=received)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if plan.delete_local:
        run.dataset.store.remove(plan.delete_local, missing_ok=True)
        for ndi_id in plan.delete_local:
            report.record("document", ndi_id, "deleted_local")
            state.forget_document(ndi_id)
    for ndi_id, why in plan.conflicts.items():
        report.record("document", ndi_id, "conflict", why)
    _files(run, plan, reporter, remote_file_list)
    local_now = {**run.inventory.hashes, **received}
    for ndi_id in plan.delete_local:
        local_now.pop(ndi_id, None)
    _record_in_sync(run, plan, listing, local_now)


def _send(run: _Run, plan: SyncPlan, reporter: Reporter) -> dict[str, list[str]]:
    """Upload new documents and new versions; once a new version is listed, remove the copies it replaces."""
    report, state, client, cloud_id, options = run.report, run.state, run.client, run.cloud_id, run.options
    wanted = set(plan.upload) | set(plan.update_remote)
    replaces = {ndi_id: list(run.listing.get(ndi_id, ())) for ndi_id in plan.update_remote}
    already = sum(len(copies) for copies in run.listing.values())

    def documents() -> Iterator[Document]:
        if len(wanted) * BY_ID_FRACTION < len(run.inventory.hashes):  # a few: read each by its id
            for ndi_id in sorted(wanted):
                yield run.dataset.get(ndi_id)
            return
        for doc in shareable_documents(run.dataset):  # many: one pass over the dataset is cheaper
            if doc.id in wanted:
                yield doc

    with reporter.step("documents", len(wanted), unit="documents") as step:
        sent = upload_document_collection(cloud_id, documents(), state=state, client=client, report=report,
                                          chunk=options.document_chunk, step=step, replaces=replaces)
    new = [i for i in sent if i not in replaces]
    versions = {i: replaces[i] for i in sent if i in replaces}
    listing = confirm_documents(cloud_id, set(new), client=client, timeout_s=options.ingest_timeout_s,
                                already=already, replaced=versions)
    hashes = run.inventory.hashes
    record_confirmed(report, state, new, listing, hashes, options.ingest_timeout_s)
    late: set[str] = set()  # new versions not listed yet: their pending uploads stay for the next run
    doomed: list[str] = []
    for ndi_id, old in versions.items():
        keep = _keep_new_version(listing, ndi_id, old, doomed)
        if keep is None:
            late.add(ndi_id)
            report.record("document", ndi_id, "failed",
                          f"the new version was not listed by the cloud {options.ingest_timeout_s:.0f} s after upload")
            continue
        report.record("document", ndi_id, "updated_remote", plan.notes.get(ndi_id))
        state.confirm_document(ndi_id, hashes[ndi_id], hashes[ndi_id], [keep])
    delete_copies(cloud_id, doomed, client)
    state.pending_uploads[:] = [entry for entry in state.pending_uploads
                                if set(entry.get("ndiIds", [])) & late]
    state.save_pending()
    state.save()
    return listing


def _finish_replacements(cloud_id: str, replaced: dict[str, list[str]], listing: dict[str, list[str]],
                         client: CloudClient) -> dict[str, list[str]]:
    """An interrupted run's new versions that are listed now: remove the copies they replace."""
    doomed: list[str] = []
    for ndi_id, old in replaced.items():
        _keep_new_version(listing, ndi_id, old, doomed)
    delete_copies(cloud_id, doomed, client)
    return listing


def _keep_new_version(listing: dict[str, list[str]], ndi_id: str, old: list[str], doomed: list[str]) -> str | None:
    """Once a new version of ``ndi_id`` is listed beside the copies ``old`` it replaces: keep only its newest
    copy in ``listing``, add every other copy to ``doomed``, and return the kept one; None while none is listed."""
    new = set(listing.get(ndi_id, ())) - set(old)
    if not new:
        return None
    keep = max(new)
    doomed.extend(sorted(set(listing[ndi_id]) - {keep}))
    listing[ndi_id] = [keep]
    return keep


def _files(run: _Run, plan: SyncPlan, reporter: Reporter, remote_file_list: dict) -> None:
    report, state, client, cloud_id, options = run.report, run.state, run.client, run.cloud_id, run.options
    if run.mode in UPLOADING:
        leaving = set(plan.delete_local)
        kept = {uid: entry for uid, entry in run.inventory.files(run.dataset).items()
                if set(entry.document_ids) - leaving}
        to_send = scan_for_upload(kept, remote_file_list, report=report, state=state,
                                  allow_missing=options.allow_missing_files)
        if to_send:
            with reporter.step("files", sum(f.size or 0 for f in to_send), unit="bytes") as step:
                accepted = upload_files(cloud_id, to_send, client=client, report=report,
                                        strategy=options.file_upload_strategy, workers=options.workers, step=step)
            confirm_files(cloud_id, accepted, client=client, report=report, state=state,
                          timeout_s=options.ingest_timeout_s)
    if run.mode in DOWNLOADING and options.sync_files:
        remote = remote_files(cloud_id, client)
        with reporter.step("files", sum(f.size or 0 for f in remote.values()), unit="bytes") as step:
            download_dataset_files(cloud_id, run.dataset, remote, client=client, report=report, state=state,
                                   workers=options.workers, step=step)
    state.save()


def _record_in_sync(run: _Run, plan: SyncPlan, listing: dict[str, list[str]], local_now: dict[str, str]) -> None:
    """Documents equal on both sides are recorded (hash and cloud ids), so the next sync needs no fetch, and
    those on neither side are forgotten (were one to come back, it would be new, not a deletion to follow);
    MATLAB's id lists and timestamp are written from the sides as they are now (``local_now``: ndiId -> hash)."""
    state = run.state
    for ndi_id in [i for i in state.documents if i not in local_now and i not in listing]:
        state.forget_document(ndi_id)
    known = _RemoteHashes(state.documents, listing, trust_state=True, fetched=run.contents.hashes,
                          fetched_from=run.listing)
    for ndi_id in local_now.keys() & listing.keys():
        if ndi_id in plan.conflicts:
            continue
        here = local_now[ndi_id]
        if known.get(ndi_id) == here:
            state.confirm_document(ndi_id, here, here, listing[ndi_id])
    state.save(local_ids=sorted(local_now), remote_ids=sorted(listing))
