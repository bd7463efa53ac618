"""Planning a sync: from both live inventories and the last-sync state to a list of actions (sync.md §3).

Planning is pure: it reads a :class:`Snapshot` and writes nothing, so a dry run shows exactly what a real
run would do. A document's content on each side is compared by content hash; "changed" means changed since
the hashes the sync state recorded at the last sync of that document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .options import SyncMode, SyncOptions

ACTIONS = ("upload", "download", "update_remote", "update_local", "delete_remote", "delete_local")


@dataclass
class Baseline:
    """What the last sync recorded for one document: its content hash on each side, its cloud ids."""

    local: str | None = None
    remote: str | None = None
    api_ids: tuple[str, ...] = ()


@dataclass
class Snapshot:
    """Both sides now, and the last sync: everything a plan is made from.

    ``remote_hashes`` holds the content hash of a cloud document where it is known: recorded at the last
    sync while its cloud ids are unchanged, or fetched for this run.
    """

    local: Mapping[str, str]
    remote: Mapping[str, list[str]]
    remote_hashes: Mapping[str, str]
    baseline: Mapping[str, Baseline]
    last_local_ids: set[str]
    last_remote_ids: set[str]
    has_state: bool

    def synced_before(self, ndi_id: str) -> bool:
        """Whether the document was on both sides at the last sync (so that its absence now is a deletion)."""
        if ndi_id in self.baseline:
            known = self.baseline[ndi_id]
            return known.local is not None and known.remote is not None
        return ndi_id in self.last_local_ids and ndi_id in self.last_remote_ids


@dataclass
class SyncPlan:
    """What a sync will do: ndiIds per action, conflicts left (with why), and how many are already equal."""

    mode: SyncMode
    upload: list[str] = field(default_factory=list)
    download: list[str] = field(default_factory=list)
    update_remote: list[str] = field(default_factory=list)
    update_local: list[str] = field(default_factory=list)
    delete_remote: list[str] = field(default_factory=list)
    delete_local: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # ndiId -> why it is planned as it is
    in_sync: int = 0
    files_to_upload: list[str] = field(default_factory=list)
    files_missing: dict[str, str] = field(default_factory=dict)  # uid -> why it cannot be sent

    def actions(self) -> dict[str, list[str]]:
        return {name: getattr(self, name) for name in ACTIONS}

    @property
    def empty(self) -> bool:
        return not any(self.actions().values()) and not self.conflicts and not self.files_to_upload

    def counts(self) -> dict[str, int]:
        return {**{name: len(ids) for name, ids in self.actions().items()}, "conflicts": len(self.conflicts),
                "in_sync": self.in_sync, "files_to_upload": len(self.files_to_upload),
                "files_missing": len(self.files_missing)}

    def json(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "counts": self.counts(), **{k: sorted(v) for k, v in self.actions().items()},
                "conflicts": dict(sorted(self.conflicts.items())), "notes": dict(sorted(self.notes.items())),
                "filesToUpload": sorted(self.files_to_upload), "filesMissing": dict(sorted(self.files_missing.items()))}

    def lines(self) -> list[str]:
        """The plan as text, one line per action (a dry run prints this)."""
        out = [f"plan ({self.mode.value}): " + ", ".join(f"{n} {k.replace('_', ' ')}"
                                                         for k, n in self.counts().items() if n)
               if not self.empty else f"plan ({self.mode.value}): nothing to do ({self.in_sync} in sync)"]
        for name, ids in self.actions().items():
            for ndi_id in sorted(ids):
                note = self.notes.get(ndi_id)
                out.append(f"  {name.replace('_', ' '):14} {ndi_id}" + (f"  ({note})" if note else ""))
        for ndi_id, why in sorted(self.conflicts.items()):
            out.append(f"  {'conflict':14} {ndi_id}  ({why})")
        for uid in sorted(self.files_to_upload):
            out.append(f"  {'upload file':14} {uid}")
        for uid, why in sorted(self.files_missing.items()):
            out.append(f"  {'missing file':14} {uid}  ({why})")
        return out


def build_plan(mode: SyncMode, options: SyncOptions, snap: Snapshot) -> SyncPlan:
    """The plan of ``mode`` for this snapshot. Common documents whose cloud hash is unknown must have been
    fetched into ``snap.remote_hashes`` by the caller wherever the mode compares contents."""
    plan = SyncPlan(mode)
    local, remote = snap.local.keys(), snap.remote.keys()
    local_only = sorted(local - remote)
    remote_only = sorted(remote - local)
    common = sorted(local & remote)
    if mode is SyncMode.UPLOAD_NEW:
        plan.upload = [i for i in local_only if i not in snap.last_remote_ids]
        plan.in_sync = len(common)
    elif mode is SyncMode.DOWNLOAD_NEW:
        plan.download = [i for i in remote_only if i not in snap.last_remote_ids]
        plan.in_sync = len(common)
    elif mode is SyncMode.MIRROR_TO_REMOTE:
        plan.upload = local_only
        plan.delete_remote = remote_only
        _compare(plan, common, snap, plan.update_remote, compare=options.update_changed)
    elif mode is SyncMode.MIRROR_FROM_REMOTE:
        plan.download = remote_only
        plan.delete_local = local_only
        _compare(plan, common, snap, plan.update_local, compare=options.update_changed)
    else:
        _two_way(plan, options, snap, local_only, remote_only, common)
    return plan


def _compare(plan: SyncPlan, common: Iterable[str], snap: Snapshot, differs: list[str], *, compare: bool) -> None:
    for ndi_id in common:
        if compare and snap.remote_hashes.get(ndi_id) != snap.local[ndi_id]:
            differs.append(ndi_id)
        else:
            plan.in_sync += 1


def _two_way(plan: SyncPlan, options: SyncOptions, snap: Snapshot, local_only: list[str], remote_only: list[str],
             common: list[str]) -> None:
    for ndi_id in local_only:
        known = snap.baseline.get(ndi_id, Baseline())
        if options.propagate_deletions and snap.synced_before(ndi_id):
            if known.local is None or snap.local[ndi_id] == known.local:
                plan.delete_local.append(ndi_id)
                plan.notes[ndi_id] = "deleted in the cloud since the last sync"
                continue
            plan.notes[ndi_id] = "deleted in the cloud but changed here since the last sync: sent again"
        plan.upload.append(ndi_id)
    for ndi_id in remote_only:
        known = snap.baseline.get(ndi_id, Baseline())
        if options.propagate_deletions and snap.synced_before(ndi_id):
            now = snap.remote_hashes.get(ndi_id)
            if known.remote is None or now == known.remote:
                plan.delete_remote.append(ndi_id)
                plan.notes[ndi_id] = "deleted here since the last sync"
                continue
            plan.notes[ndi_id] = "deleted here but changed in the cloud since the last sync: fetched again"
        plan.download.append(ndi_id)
    for ndi_id in common:
        here, there = snap.local[ndi_id], snap.remote_hashes.get(ndi_id)
        if here == there:
            plan.in_sync += 1
            continue
        known = snap.baseline.get(ndi_id, Baseline())
        local_changed = known.local is None or here != known.local
        remote_changed = known.remote is None or there != known.remote
        if local_changed and not remote_changed:
            plan.update_remote.append(ndi_id)
        elif remote_changed and not local_changed:
            plan.update_local.append(ndi_id)
        else:
            plan.conflicts[ndi_id] = ("changed on both sides since the last sync" if known.local is not None
                                      else "different on the two sides, and never synced")


def resolve_conflicts(plan: SyncPlan, policy: str, local_dates: dict[str, str], remote_dates: dict[str, str]) -> None:
    """Apply the conflict policy: ``local`` or ``remote`` wins, or the ``newer`` ``base.datestamp`` (ties keep
    the local copy); ``fail`` leaves the conflicts in the plan, and neither side is changed for them."""
    if policy == "fail":
        return
    for ndi_id in sorted(plan.conflicts):
        if policy == "newer":
            local_wins = local_dates.get(ndi_id, "") >= remote_dates.get(ndi_id, "")
            why = f"conflict: the {'local' if local_wins else 'cloud'} copy is newer"
        else:
            local_wins = policy == "local"
            why = f"conflict resolved by policy {policy!r}"
        (plan.update_remote if local_wins else plan.update_local).append(ndi_id)
        plan.notes[ndi_id] = why
    plan.conflicts.clear()
