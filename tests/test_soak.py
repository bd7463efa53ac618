"""A short, seeded run of the soak loop (``benchmarks/soak.py``): random operations on two copies of one
cloud dataset and a file uploader, faults on, invariants checked after each step."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import soak  # a script of benchmarks/, not a package


def test_a_short_seeded_soak_keeps_every_invariant(tmp_path: Path):
    steps = soak.soak(seed=8, seconds=15, work=tmp_path)
    assert steps >= 10, f"only {steps} steps in the time given"


def test_a_broken_invariant_names_seed_and_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def losing_sync(world: soak.World, copy: str) -> str:
        """A sync that forgets a document of the copy it syncs (what the loop must catch)."""
        done = soak.op_sync(world, copy)
        path = world.copies[copy]
        victim = sorted(soak._live(path))[0]
        with soak.Dataset.open(path, readonly=False) as dataset:
            dataset.store.remove([victim])
        return done

    monkeypatch.setattr(soak, "OPERATIONS", [(losing_sync, 1)])
    with pytest.raises(soak.SoakFailure, match=r"seed 3, step 1 \(losing_sync on (here|there)\): .*differs from "
                                               r"the cloud right after its sync"):
        soak.soak(seed=3, seconds=15, work=tmp_path)


def test_the_command_refuses_to_run_past_five_minutes(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        soak.main(["--minutes", "6"])
    assert "--minutes must be more than 0 and at most 5" in capsys.readouterr().err
