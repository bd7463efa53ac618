"""Interrupted transfers converge: the process dies abruptly at many points, and a rerun completes exactly.

Each interrupted run is a separate process that ends as if killed (-9) when it starts its Nth request
(``NDI_CLOUD_TEST_EXIT_AFTER_REQUESTS``); the rerun has no such limit. Nothing may be uploaded twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ndicloud.api import CloudClient, documents, files
from ndicloud.core import Dataset

from cloud_server import Account, cloud_server
from conftest import FAST_RETRY, dataset_contents


def cli(account: Account, *args: str, exit_after: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NDI_CLOUD_URL": account.base_url, "NDI_CLOUD_USERNAME": account.email,
           "NDI_CLOUD_PASSWORD": account.password}
    env.pop("NDI_CLOUD_TEST_EXIT_AFTER_REQUESTS", None)
    if exit_after is not None:
        env["NDI_CLOUD_TEST_EXIT_AFTER_REQUESTS"] = str(exit_after)
    return subprocess.run([sys.executable, "-m", "ndicloud.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("exit_after", [4, 8, 12, 18])
def test_upload_killed_at_any_point_then_rerun(matlab_dataset: Path, tmp_path: Path, exit_after: int):
    with cloud_server(tmp_path / "data", file_registration_delay_s=0.05, document_ingest_delay_s=0.3,
                      zip_extract_delay_s=0.05) as server:
        account = server.account()
        args = ("upload", str(matlab_dataset), "--document-chunk", "3", "--serial-files", "--ingest-timeout", "4",
                "--json")
        killed = cli(account, *args, exit_after=exit_after)
        assert killed.returncode == 137, killed.stdout + killed.stderr  # it really died mid-way
        rerun = cli(account, *args)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        with Dataset.open(matlab_dataset) as dataset:
            link = dataset.remote_link()
        assert link is not None
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         retry=FAST_RETRY, cache=False) as client:
            listing = documents.get_uploaded_document_ids(link.dataset_id, client=client)
            uploaded = files.get_uploaded_file_ids(link.dataset_id, client=client)
        assert sorted(listing) == sorted(dataset_contents(matlab_dataset)[0])
        assert all(len(copies) == 1 for copies in listing.values()), "a document was uploaded twice"
        assert uploaded == set(dataset_contents(matlab_dataset)[1])
        assert json.loads(rerun.stdout)["success"]


@pytest.mark.parametrize("exit_after", [3, 7, 12])
def test_download_killed_at_any_point_then_rerun(matlab_dataset: Path, tmp_path: Path, exit_after: int):
    with cloud_server(tmp_path / "data", file_registration_delay_s=0.05, document_ingest_delay_s=0.05,
                      zip_extract_delay_s=0.05, download_delay_s=0.2) as server:
        account = server.account()
        assert cli(account, "upload", str(matlab_dataset)).returncode == 0
        with Dataset.open(matlab_dataset) as dataset:
            cloud_id = dataset.remote_link().dataset_id  # type: ignore[union-attr]
        args = ("download", cloud_id, str(tmp_path / "down"), "--files", "--document-chunk", "3", "--json")
        killed = cli(account, *args, exit_after=exit_after)
        assert killed.returncode == 137, killed.stdout + killed.stderr  # it really died mid-way
        rerun = cli(account, *args)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert dataset_contents(tmp_path / "down" / cloud_id) == dataset_contents(matlab_dataset)
        assert not (tmp_path / "down" / f".{cloud_id}.download").exists()
