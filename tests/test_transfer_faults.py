"""Transfers under injected server faults (5xx, cut answers, 504 after the work, cut transfers, slow
ingestion) still end exact and without duplicates; bad input is reported, and nothing is lost."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from ndicloud.api import CloudClient, RetryPolicy, documents, files
from ndicloud.core import Dataset, DocumentJsonError
from ndicloud.download import download_dataset
from ndicloud.download import files as download_files
from ndicloud.transfers.zips import UnsafeZipError, read_document_zip
from ndicloud.upload import documents as upload_documents
from ndicloud.upload import files as upload_files
from ndicloud.upload import upload_dataset

from cloud_server import cloud_server
from conftest import dataset_contents, lock_held_elsewhere

FAULTS = "seed=21,error_rate=0.1,api_drop_rate=0.05,after_commit_rate=0.1,drop_rate=0.3,upload_drop_rate=0.3"


def test_round_trip_through_a_faulty_server(matlab_dataset: Path, tmp_path: Path):
    with cloud_server(tmp_path / "data", faults=FAULTS, document_ingest_delay_s=1.0, file_registration_delay_s=0.2,
                      zip_extract_delay_s=0.2, download_delay_s=0.2) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password, cache=False,
                         retry=RetryPolicy(retries=8, base_s=0.01, cap_s=0.05)) as client:
            up = upload_dataset(matlab_dataset, document_chunk=3, client=client)
            assert up.success, up.message
            cloud_id = up.cloud_dataset_id or ""
            listing = documents.get_uploaded_document_ids(cloud_id, client=client)
            assert all(len(copies) == 1 for copies in listing.values()) and len(listing) == 8
            assert files.get_uploaded_file_ids(cloud_id, client=client) == set(dataset_contents(matlab_dataset)[1])
            down = download_dataset(cloud_id, tmp_path / "copy", mode="local", document_chunk=3, client=client)
            assert down.success, down.message
    assert dataset_contents(down.local_path or "") == dataset_contents(matlab_dataset)


def test_expired_urls_are_replaced(matlab_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def late(function):
        """The first URL of each kind is used only after it expired, as after a long stall."""
        calls = []

        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            calls.append(1)
            if len(calls) == 1:
                time.sleep(2.1)  # past the expiry, which is rounded up to a whole second
            return result
        return wrapper

    for module, name in ((upload_documents.cloud_documents, "get_bulk_upload_url"),
                         (upload_files.cloud_files, "get_file_upload_url"),
                         (download_files.cloud_files, "get_file_details")):
        monkeypatch.setattr(module, name, late(getattr(module, name)))
    with cloud_server(tmp_path / "data", url_ttl_s=1, file_registration_delay_s=0, document_ingest_delay_s=0,
                      zip_extract_delay_s=0, download_delay_s=0) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         cache=False) as client:
            up = upload_dataset(matlab_dataset, file_upload_strategy="serial", client=client)
            assert up.success, up.message
            down = download_dataset(up.cloud_dataset_id or "", tmp_path / "copy", mode="local", client=client)
            assert down.success, down.message
    assert dataset_contents(down.local_path or "") == dataset_contents(matlab_dataset)


def test_a_corrupt_local_document_stops_the_upload_with_its_name(matlab_dataset: Path, client: CloudClient):
    with Dataset.open(matlab_dataset, readonly=False) as dataset:
        victim = next(d for d in dataset.documents() if d.class_name == "demoNDI")
        dataset.store.connection.execute("UPDATE docs SET json_code = ? WHERE doc_id = ?",
                                          ('{"base": ', victim.id))
        dataset.store.connection.commit()
    with pytest.raises(DocumentJsonError, match=f"document {victim.id}"):
        upload_dataset(matlab_dataset, client=client)


@pytest.mark.parametrize("name", ["../escape.json", "/abs/path.json", "C:\\\\windows\\\\x.json", "a/../../b.json"])
def test_hostile_zip_entry_names_are_refused(tmp_path: Path, name: str):
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, "[]")
    with pytest.raises(UnsafeZipError, match="refused"):
        list(read_document_zip(path))
    assert not (tmp_path.parent / "escape.json").exists()


def test_damaged_and_oversized_zips_are_refused(tmp_path: Path):
    (tmp_path / "damaged.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnsafeZipError, match="not a readable zip"):
        list(read_document_zip(tmp_path / "damaged.zip"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("documents.json", "[" + " " * 2_000_000 + "]")
    (tmp_path / "big.zip").write_bytes(buffer.getvalue())
    with pytest.raises(UnsafeZipError, match="would unpack to"):
        list(read_document_zip(tmp_path / "big.zip", max_bytes=1_000_000))


def test_truncated_download_is_resumed_not_accepted(matlab_dataset: Path, tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="seed=5,drop_rate=0.5", file_registration_delay_s=0,
                      document_ingest_delay_s=0, zip_extract_delay_s=0, download_delay_s=0) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password, cache=False,
                         retry=RetryPolicy(retries=6, base_s=0.01, cap_s=0.05)) as client:
            up = upload_dataset(matlab_dataset, client=client)
            down = download_dataset(up.cloud_dataset_id or "", tmp_path / "copy", mode="local", client=client)
            assert down.success, down.message
    assert dataset_contents(down.local_path or "") == dataset_contents(matlab_dataset)


def test_a_second_process_on_the_same_dataset_is_told_so(matlab_dataset: Path, client: CloudClient,
                                                          monkeypatch: pytest.MonkeyPatch):
    from ndicloud.transfers import StateLockedError, state

    with lock_held_elsewhere(matlab_dataset / ".ndi" / "sync" / "transfer.lock"):
        original = state.exclusive
        monkeypatch.setattr("ndicloud.upload.dataset.exclusive",
                            lambda path, what, wait_s=10.0: original(path, what, wait_s=0.3))
        with pytest.raises(StateLockedError, match="another ndi-cloud process is transferring"):
            upload_dataset(matlab_dataset, client=client)
    assert upload_dataset(matlab_dataset, client=client).success  # once it is gone, the upload runs


def test_a_document_zip_whose_answer_is_lost_is_not_sent_twice(matlab_dataset: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch):
    """The first PUT of each document zip is stored, then its answer is lost; the retry on the same URL is
    refused as used. The upload must look (the listing), not send the zip again with a fresh URL."""
    import httpx

    real_put = httpx.Client.put
    lost: list[str] = []

    def put_then_lose_the_answer(self, url, *args, **kwargs):
        response = real_put(self, url, *args, **kwargs)
        if "/uploads/documents/" in str(url) and str(url) not in lost and response.status_code < 300:
            lost.append(str(url))
            raise httpx.ReadError("connection reset after the body was stored (injected)")
        return response

    with cloud_server(tmp_path / "data", document_ingest_delay_s=0.05) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password, cache=False,
                         retry=RetryPolicy(retries=3, base_s=0.01, cap_s=0.02)) as client:
            monkeypatch.setattr(httpx.Client, "put", put_then_lose_the_answer)
            up = upload_dataset(matlab_dataset, document_chunk=3, client=client)
            monkeypatch.undo()
            assert up.success, up.message
            assert lost, "no answer was lost: the test did not test anything"
            listing = documents.get_uploaded_document_ids(up.cloud_dataset_id or "", client=client)
    assert all(len(copies) == 1 for copies in listing.values()), f"sent twice: {listing}"
    assert sorted(listing) == sorted(dataset_contents(matlab_dataset)[0])
