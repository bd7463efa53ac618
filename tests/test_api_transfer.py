"""Presigned transfers: streamed PUT and GET, Range resume, size checks, refusals, over real HTTP."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import httpx
import pytest

from ndicloud.api import CloudClient, RetryPolicy, TransferError, datasets, files, transfer
from ndicloud.core import new_id

from cloud_server import cloud_server, eventually
from conftest import FAST_RETRY

MANY_RETRIES = RetryPolicy(retries=40, base_s=0.001, cap_s=0.005)


def _dataset_with_file(client: CloudClient, source: Path) -> tuple[str, str]:
    dataset_id = datasets.create_dataset("transfers", client=client)
    uid = new_id()
    transfer.put_file(files.get_file_upload_url(dataset_id, uid, client=client), source, client=client)
    eventually(lambda: uid in files.get_uploaded_file_ids(dataset_id, client=client))
    return dataset_id, uid


def test_download_resumes_after_every_cut(tmp_path: Path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(300_000))
    with cloud_server(tmp_path / "data", faults="seed=2,drop_rate=1", file_registration_delay_s=0) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         retry=FAST_RETRY) as client:
            dataset_id, uid = _dataset_with_file(client, source)
            url = files.get_file_details(dataset_id, uid, client=client)["downloadUrl"]
            # every answer is cut halfway: only continuing from the .part with Range can finish, and only
            # because each cut that brought bytes renews the 3-retry budget
            assert transfer.get_file(url, tmp_path / "copy.bin", expected_size=300_000, client=client) == 300_000
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()
    assert not (tmp_path / "copy.bin.part").exists()


def test_partial_file_is_continued_and_checked(tmp_path: Path, client: CloudClient):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(2_500_000))
    dataset_id, uid = _dataset_with_file(client, source)
    url = files.get_file_details(dataset_id, uid, client=client)["downloadUrl"]
    target = tmp_path / "copy.bin"
    target.with_name("copy.bin.part").write_bytes(source.read_bytes()[:1_000_000])
    progress: list[tuple[int, int | None]] = []
    transfer.get_file(url, target, progress=lambda done, total: progress.append((done, total)), client=client)
    assert target.read_bytes() == source.read_bytes()
    assert progress[0][0] > 1_000_000 and progress[-1] == (2_500_000, 2_500_000)  # it did not start over

    stale = tmp_path / "stale.bin"
    stale.with_name("stale.bin.part").write_bytes(b"x" * 3_000_000)  # longer than the object: 416
    assert transfer.get_file(url, stale, client=client) == 2_500_000  # discarded, downloaded afresh
    assert stale.read_bytes() == source.read_bytes()

    with pytest.raises(TransferError, match="expected 10"):
        transfer.get_file(url, tmp_path / "wrong.bin", expected_size=10, client=client)
    assert not (tmp_path / "wrong.bin").exists()


def test_refused_urls_name_the_problem_without_the_signature(tmp_path: Path, client: CloudClient):
    source = tmp_path / "source.bin"
    source.write_bytes(b"abc")
    dataset_id, uid = _dataset_with_file(client, source)
    url = files.get_file_details(dataset_id, uid, client=client)["downloadUrl"]
    tampered = url.replace("signature=", "signature=0")
    with pytest.raises(TransferError, match="-> 403 \\(the URL may have expired") as caught:
        transfer.get_file(tampered, tmp_path / "copy.bin", client=client)
    signature = url.split("signature=")[1]
    assert signature not in str(caught.value) and "AccessDenied" in str(caught.value)
    with pytest.raises(TransferError, match=r"upload of source\.bin"):
        transfer.put_file(url, source, client=client)  # a GET URL does not allow PUT


def test_upload_is_repeated_after_a_cut(tmp_path: Path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(1_500_000))
    with cloud_server(tmp_path / "data", faults="seed=4,upload_drop_rate=0.6", file_registration_delay_s=0) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         retry=MANY_RETRIES) as client:
            dataset_id = datasets.create_dataset("cut uploads", client=client)
            uid = new_id()
            sent: list[int] = []
            url = files.get_file_upload_url(dataset_id, uid, client=client)
            transfer.put_file(url, source, progress=lambda done, total: sent.append(done), client=client)
            assert sent[-1] == 1_500_000 and sent.count(0) >= 2  # at least one attempt was cut and repeated
            eventually(lambda: uid in files.get_uploaded_file_ids(dataset_id, client=client))
            details = files.get_file_details(dataset_id, uid, client=client)
            transfer.get_file(details["downloadUrl"], tmp_path / "copy.bin", client=client)
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_a_partial_file_of_an_older_object_is_not_continued(tmp_path: Path, client: CloudClient):
    old, new = tmp_path / "old.bin", tmp_path / "new.bin"
    old.write_bytes(b"o" * 1_000_000)
    new.write_bytes(b"n" * 1_000_000)
    dataset_id, uid = _dataset_with_file(client, old)
    target = tmp_path / "copy.bin"
    url = files.get_file_details(dataset_id, uid, client=client)["downloadUrl"]
    transfer.get_file(url, target, client=client)
    etag = httpx.head(url).headers["ETag"]
    target.rename(tmp_path / "copy.bin.part")  # as if cut near the end, the ETag kept beside it
    (tmp_path / "copy.bin.part").write_bytes(b"o" * 400_000)
    (tmp_path / "copy.bin.part.etag").write_text(etag)
    time.sleep(0.01)
    transfer.put_file(files.get_file_upload_url(dataset_id, uid, client=client), new, client=client)  # replaced
    fresh = files.get_file_details(dataset_id, uid, client=client)["downloadUrl"]
    transfer.get_file(fresh, target, client=client)
    assert target.read_bytes() == new.read_bytes()  # not 400 kB of the old object and 600 kB of the new
    assert not (tmp_path / "copy.bin.part.etag").exists()


def test_write_failures_and_oversized_uploads_are_transfer_errors(tmp_path: Path, client: CloudClient):
    source = tmp_path / "source.bin"
    source.write_bytes(b"abc")
    dataset_id, uid = _dataset_with_file(client, source)
    url = files.get_file_details(dataset_id, uid, client=client)["downloadUrl"]
    (tmp_path / "blocked.bin.part").mkdir()  # the .part cannot be written
    with pytest.raises(TransferError, match="cannot write"):
        transfer.get_file(url, tmp_path / "blocked.bin", client=client)
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as handle:
        handle.truncate(transfer.MAX_SINGLE_PUT_BYTES + 1)  # sparse: no disk used
    with pytest.raises(TransferError, match=r"at most .* bytes \(5 GiB\)"):
        transfer.put_file("http://127.0.0.1:9/never-contacted", huge)


def test_signatures_stay_out_of_the_logs(tmp_path: Path, client: CloudClient, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    source = tmp_path / "source.bin"
    source.write_bytes(b"abc")
    dataset_id, uid = _dataset_with_file(client, source)
    url = files.get_file_details(dataset_id, uid, client=client)["downloadUrl"]
    transfer.get_file(url, tmp_path / "copy.bin", client=client)
    assert "/storage/" in caplog.text and url.split("signature=")[1] not in caplog.text
