"""Shared test fixtures: locations of the shared reference data and writable copies of it."""

from __future__ import annotations

import math
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ndicloud.api import CloudClient, RetryPolicy

from cloud_server import Account, CloudServer, cloud_server

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NDI_SHARED_DIR", REPO_ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
MATLAB_DATASET = FIXTURES / "matlab-dataset"
MATLAB_DOCUMENTS = FIXTURES / "matlab-documents"
DEFINITIONS = FIXTURES / "ndi-common" / "database_documents"
CLOUD_ENTRY = FIXTURES / "cloud-responses" / "bulk-fetch-entry-openminds_subject.json"

if not MATLAB_DATASET.is_dir():
    raise RuntimeError(f"shared reference data not found at {SHARED}; set NDI_SHARED_DIR")


def same_values(a: Any, b: Any) -> bool:
    """Deep equality: NaN equals NaN, bool is not a number, key sets and list lengths must match."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))


@pytest.fixture
def matlab_dataset(tmp_path: Path) -> Path:
    """A private, writable copy of the MATLAB-written fixture dataset folder."""
    target = tmp_path / "matlab-dataset"
    shutil.copytree(MATLAB_DATASET, target)
    _make_writable(target)
    return target


@pytest.fixture
def mock_document_paths() -> list[Path]:
    """The six MATLAB-written calculator documents (not the *.compare.json recipes)."""
    paths = sorted(p for p in MATLAB_DOCUMENTS.glob("*.json") if not p.name.endswith(".compare.json"))
    assert len(paths) == 6
    return paths


CLOUD_ENVIRONMENT = ("NDI_CLOUD_URL", "CLOUD_API_ENVIRONMENT", "NDI_CLOUD_TOKEN", "NDI_CLOUD_ORGANIZATION_ID",
                     "NDI_CLOUD_USERNAME", "NDI_CLOUD_PASSWORD", "NDI_CLOUD_UPLOAD_NO_ZIP")


@pytest.fixture(autouse=True)
def _isolated_cloud_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's NDI Cloud variables or token cache, or writes to them."""
    for name in CLOUD_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NDI_CLOUD_CONFIG_DIR", str(tmp_path_factory.mktemp("ndi-cloud-config")))


@pytest.fixture(scope="session")
def cloud_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """One local NDI Cloud server per test process, on a free loopback port with its own data folder."""
    with cloud_server(tmp_path_factory.mktemp("cloud-data")) as server:
        yield server


@pytest.fixture
def cloud(cloud_service: CloudServer) -> Account:
    """A fresh user in a fresh organization of the running server, logged in (base URL, token, headers)."""
    return cloud_service.account()


FAST_RETRY = RetryPolicy(retries=3, base_s=0.01, cap_s=0.05)


@pytest.fixture
def client(cloud: Account) -> Iterator[CloudClient]:
    """An API client logged in (with credentials for re-login) as the fresh ``cloud`` account."""
    with CloudClient(cloud.base_url, username=cloud.email, password=cloud.password, retry=FAST_RETRY) as api:
        yield api


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``ndi-cloud ARGS`` in this process; (exit code, stdout, stderr)."""
    from ndicloud.cli.main import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def dataset_contents(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Content hash of each shared document (not the cloud link) and sha256 of each present file."""
    import hashlib

    from ndicloud.core import Dataset

    with Dataset.open(path) as dataset:
        docs = {d.id: d.content_hash() for d in dataset.documents() if d.class_name != "dataset_remote"}
        files = {b.uid: hashlib.sha256(b.path.read_bytes()).hexdigest() for b in dataset.binaries() if b.present}
    return docs, files


@pytest.fixture(scope="module")
def sync_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """A server whose deferred work is quick (still done by its worker, so clients must wait for it)."""
    with cloud_server(tmp_path_factory.mktemp("sync-cloud"), file_registration_delay_s=0.02,
                      document_ingest_delay_s=0.02, zip_extract_delay_s=0.02, download_delay_s=0.02,
                      worker_interval_s=0.01) as server:
        yield server


@pytest.fixture
def sync_client(sync_cloud: CloudServer) -> Iterator[CloudClient]:
    account = sync_cloud.account()
    with CloudClient(account.base_url, username=account.email, password=account.password, retry=FAST_RETRY,
                     cache=False) as client:
        yield client


@contextmanager
def lock_held_elsewhere(lock: Path) -> Iterator[None]:
    """Another process holds the lock file ``lock`` (as a second ndi-cloud would) until the block ends."""
    script = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
              "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)")
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", script, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()
