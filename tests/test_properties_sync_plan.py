"""Property tests of sync planning (sync.md §3): random histories of a dataset synced once, then edited, deleted
and added to on either side, planned in every mode and applied to an in-memory model of both sides.

A plan is pure (``build_plan`` reads a snapshot and writes nothing), so the properties are checked on the model:
two-way sync converges and loses no edit, deletions follow only when asked and never over an edit, mirrors make
the target equal the source, the *_new modes only add, no document gets two actions, and a second plan after the
first was carried out is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndicloud.sync.options import SyncMode, SyncOptions
from ndicloud.sync.plan import ACTIONS, Baseline, Snapshot, SyncPlan, build_plan, resolve_conflicts

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# What happened to a document since the last sync, on one side.
KEPT, EDITED, DELETED = "kept", "edited", "deleted"


@dataclass(frozen=True)
class History:
    """Hashes at the last sync (synced documents only) and now, on each side."""

    synced: dict[str, str]  # ndiId -> the hash both sides had at the last sync
    local: dict[str, str]
    remote: dict[str, str]

    def snapshot(self) -> Snapshot:
        return Snapshot(local=self.local, remote={i: [f"api-{i}"] for i in self.remote},
                        remote_hashes=self.remote,
                        baseline={i: Baseline(h, h, (f"api-{i}",)) for i, h in self.synced.items()},
                        last_local_ids=set(self.synced), last_remote_ids=set(self.synced), has_state=bool(self.synced))

    def changed(self, side: dict[str, str], ndi_id: str) -> bool:
        """Edited or new on that side since the last sync."""
        return ndi_id in side and side[ndi_id] != self.synced.get(ndi_id)


@st.composite
def histories(draw: st.DrawFn) -> History:
    synced: dict[str, str] = {}
    local: dict[str, str] = {}
    remote: dict[str, str] = {}
    for n in range(draw(st.integers(0, 12))):
        ndi_id, before = f"doc{n:02d}", f"h{n}"
        synced[ndi_id] = before
        for side, tag in ((local, "L"), (remote, "R")):
            fate = draw(st.sampled_from((KEPT, KEPT, EDITED, DELETED)))
            if fate != DELETED:
                same_edit = tag == "R" and fate == EDITED and draw(st.booleans())  # both made the same edit
                side[ndi_id] = before if fate == KEPT else f"h{n}-{'L' if same_edit else tag}"
    for n in range(draw(st.integers(0, 6))):  # documents made since, on one side or both
        ndi_id = f"new{n:02d}"
        where = draw(st.sampled_from(("local", "remote", "both same", "both different")))
        if where != "remote":
            local[ndi_id] = f"n{n}-L"
        if where != "local":
            remote[ndi_id] = f"n{n}-L" if where == "both same" else f"n{n}-R"
    return History(synced, local, remote)


def apply(plan: SyncPlan, history: History) -> tuple[dict[str, str], dict[str, str]]:
    """Both sides after the plan was carried out."""
    local, remote = dict(history.local), dict(history.remote)
    for ndi_id in plan.upload + plan.update_remote:
        remote[ndi_id] = history.local[ndi_id]
    for ndi_id in plan.download + plan.update_local:
        local[ndi_id] = history.remote[ndi_id]
    for ndi_id in plan.delete_remote:
        del remote[ndi_id]
    for ndi_id in plan.delete_local:
        del local[ndi_id]
    return local, remote


def planned(mode: SyncMode, history: History, **options: object) -> SyncPlan:
    chosen = SyncOptions(verbose=False, **options)  # type: ignore[arg-type]
    plan = build_plan(mode, chosen, history.snapshot())
    # Dates for "newer": the local copy is newer for even-numbered documents.
    dates = {i: ("2" if int(i[-2:]) % 2 == 0 else "1") for i in plan.conflicts}
    resolve_conflicts(plan, chosen.conflict, dates, {i: "1" if d == "2" else "2" for i, d in dates.items()})
    return plan


def each_once(plan: SyncPlan) -> None:
    named = [i for name in ACTIONS for i in getattr(plan, name)] + list(plan.conflicts)
    assert len(named) == len(set(named)), plan.json()


def after_a_second_sync(mode: SyncMode, local: dict[str, str], remote: dict[str, str], **options: object) -> SyncPlan:
    """The plan of the next run: the state now records what both sides agree on."""
    agreed = {i: h for i, h in local.items() if remote.get(i) == h}
    return planned(mode, History(agreed, local, remote), **options)


@SETTINGS
@given(histories(), st.sampled_from(("local", "remote", "newer")), st.booleans())
def test_two_way_sync_converges_and_keeps_every_edit(history: History, policy: str, propagate: bool) -> None:
    plan = planned(SyncMode.TWO_WAY_SYNC, history, conflict=policy, propagate_deletions=propagate)
    each_once(plan)
    local, remote = apply(plan, history)
    assert local == remote, plan.json()
    for ndi_id in set(history.local) | set(history.remote):
        here, there = history.changed(history.local, ndi_id), history.changed(history.remote, ndi_id)
        if here or there:  # an edit or a new document is never lost, and beats a deletion
            assert ndi_id in local, (ndi_id, plan.json())
        if here and not there and ndi_id in history.synced and history.remote.get(ndi_id) == history.synced[ndi_id]:
            assert local[ndi_id] == history.local[ndi_id]  # a one-sided edit follows
        if there and not here and ndi_id in history.synced and history.local.get(ndi_id) == history.synced[ndi_id]:
            assert remote[ndi_id] == history.remote[ndi_id]
        if not here and not there and ndi_id in history.local and ndi_id in history.remote:
            assert ndi_id not in {i for name in ACTIONS for i in getattr(plan, name)}  # untouched: no action
        if here and there and history.local.get(ndi_id) != history.remote.get(ndi_id) and \
                ndi_id in history.local and ndi_id in history.remote:  # a conflict: the policy's side wins
            local_wins = policy == "local" or (policy == "newer" and int(ndi_id[-2:]) % 2 == 0)
            assert local[ndi_id] == (history.local if local_wins else history.remote)[ndi_id], (ndi_id, policy)
    for ndi_id, before in history.synced.items():
        gone_here, gone_there = ndi_id not in history.local, ndi_id not in history.remote
        kept_elsewhere = history.local.get(ndi_id, before) == before and history.remote.get(ndi_id, before) == before
        if gone_here != gone_there and kept_elsewhere:  # deleted on one side, unchanged on the other
            assert (ndi_id not in local) == propagate, (ndi_id, propagate, plan.json())
    assert after_a_second_sync(SyncMode.TWO_WAY_SYNC, local, remote, conflict=policy,
                               propagate_deletions=propagate).empty


@SETTINGS
@given(histories(), st.booleans())
def test_two_way_sync_with_conflicts_left_changes_neither_copy_of_them(history: History, propagate: bool) -> None:
    plan = planned(SyncMode.TWO_WAY_SYNC, history, conflict="fail", propagate_deletions=propagate)
    each_once(plan)
    local, remote = apply(plan, history)
    for ndi_id in plan.conflicts:
        assert history.changed(history.local, ndi_id) and history.changed(history.remote, ndi_id)
        assert local[ndi_id] == history.local[ndi_id] and remote[ndi_id] == history.remote[ndi_id]
    assert {i for i in local if local[i] != remote.get(i)} == set(plan.conflicts)
    assert {i for i in remote if remote[i] != local.get(i)} == set(plan.conflicts)


@pytest.mark.parametrize("mode", [SyncMode.MIRROR_TO_REMOTE, SyncMode.MIRROR_FROM_REMOTE])
@SETTINGS
@given(history=histories(), update_changed=st.booleans())
def test_a_mirror_makes_the_target_the_source(mode: SyncMode, history: History, update_changed: bool) -> None:
    plan = planned(mode, history, update_changed=update_changed)
    each_once(plan)
    local, remote = apply(plan, history)
    source, target = (local, remote) if mode is SyncMode.MIRROR_TO_REMOTE else (remote, local)
    untouched = history.local if mode is SyncMode.MIRROR_TO_REMOTE else history.remote
    assert source == untouched  # a mirror never changes its source
    assert set(target) == set(source)
    if update_changed:
        assert target == source
        assert after_a_second_sync(mode, local, remote, update_changed=True).empty
    else:
        assert not plan.update_local and not plan.update_remote


@pytest.mark.parametrize("mode", [SyncMode.UPLOAD_NEW, SyncMode.DOWNLOAD_NEW])
@SETTINGS
@given(history=histories())
def test_the_new_modes_only_add_what_the_other_side_never_had(mode: SyncMode, history: History) -> None:
    plan = planned(mode, history)
    each_once(plan)
    local, remote = apply(plan, history)
    source, target, before = ((history.local, remote, history.remote) if mode is SyncMode.UPLOAD_NEW
                              else (history.remote, local, history.local))
    assert {i: h for i, h in target.items() if i in before} == before  # nothing changed or deleted
    added = set(target) - set(before)
    assert added == {i for i in source if i not in before and i not in history.synced}
    assert (local if mode is SyncMode.UPLOAD_NEW else remote) == (history.local if mode is SyncMode.UPLOAD_NEW
                                                                 else history.remote)
