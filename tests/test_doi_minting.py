"""Minting NDI Cloud dataset DOIs (doi.md §2.1, checklist items 1-2)."""

from __future__ import annotations

import os
import random
import re
import secrets
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from ndicloud.admin import create_new_doi, dataset_resource_url, is_ndi_doi, mint_doi
from ndicloud.admin import doi as doi_module

from conftest import REPO_ROOT

PATTERN = re.compile(r"^10\.63884/ndic\.[0-9]{4}\.[a-z0-9]{8}$")


def test_format_and_current_utc_year():
    year = datetime.now(timezone.utc).year
    for value in (mint_doi(), create_new_doi()):
        assert PATTERN.match(value), value
        assert value.startswith(f"10.63884/ndic.{year}.")
        assert is_ndi_doi(value)
    assert mint_doi(year=2031).startswith("10.63884/ndic.2031.")
    with pytest.raises(ValueError, match="four digits"):
        mint_doi(year=99)


def test_draws_come_from_secrets_never_from_random(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the random module must not be used for DOIs")
    for name in ("random", "choice", "choices", "randint", "randrange", "sample", "getrandbits"):
        monkeypatch.setattr(random, name, forbidden)
    calls = []

    def spy(sequence):
        calls.append(sequence)
        return secrets.SystemRandom().choice(sequence)
    monkeypatch.setattr(doi_module.secrets, "choice", spy)
    value = mint_doi()
    assert PATTERN.match(value) and len(calls) == 8
    assert all(sequence == "abcdefghijklmnopqrstuvwxyz0123456789" for sequence in calls)


def test_ten_thousand_draws_have_no_duplicate_and_use_the_whole_alphabet():
    draws = [mint_doi() for _ in range(10_000)]
    assert len(set(draws)) == len(draws)
    assert set("".join(d[-8:] for d in draws)) == set("abcdefghijklmnopqrstuvwxyz0123456789")


def test_two_processes_started_together_mint_different_dois():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    code = "from ndicloud.admin.doi import mint_doi\nprint('\\n'.join(mint_doi() for _ in range(200)))"
    processes = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0].split() for p in processes]
    assert all(p.returncode == 0 for p in processes)
    first, second = (set(o) for o in outputs)
    assert len(first) == len(second) == 200 and all(PATTERN.match(d) for d in first | second)
    assert not first & second


def test_not_ndi_dois():
    for value in ("10.63884/ndic.00000", "10.63884/ndic.2025.ABCDEFGH", "10.63884/ndic.25.abcdefgh",
                  "https://doi.org/10.63884/ndic.2025.abcdefgh", "10.63884/ndic.2025.abcdefg", None):
        assert not is_ndi_doi(value)


def test_dataset_resource_url():
    assert dataset_resource_url("65f1a2b3c4d5e6f708192a3b") == "https://www.ndi-cloud.com/datasets/65f1a2b3c4d5e6f708192a3b"
    with pytest.raises(ValueError, match="24-hex"):
        dataset_resource_url("not-an-id")
