"""Local NDI Cloud server: zips of documents and files, bulk download, jobs (cloud-api §6.2-§6.4, §10.5)."""

from __future__ import annotations

import io
import json
import os
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ndicloud.core import Document, new_id

from cloud_server import Account, CloudServer, cloud_server, eventually
from zip_bombs import bomb_zip


@pytest.fixture(scope="module")
def bulk_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with cloud_server(tmp_path_factory.mktemp("bulk-cloud"), document_ingest_delay_s=0, zip_extract_delay_s=0,
                      download_delay_s=0, file_registration_delay_s=0) as server:
        yield server


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _count(account: Account, dataset_id: str) -> int:
    reply = httpx.get(f"{account.base_url}/datasets/{dataset_id}/document-count", headers=account.headers)
    return reply.json()["count"]


def _upload_documents(account: Account, dataset_id: str, payload: bytes) -> None:
    url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-upload",
                     headers=account.headers).json()["url"]
    assert httpx.put(url, content=payload, headers={"Content-Type": "application/octet-stream"}).status_code == 200


def test_document_zip_is_ingested_with_nan(bulk_cloud: CloudServer):
    account = bulk_cloud.account()
    dataset_id = account.new_dataset()
    docs = [Document.new("demoNDI", properties={"demoNDI": {"value": i}}) for i in range(25)]
    text = "[" + ",".join(d.to_json() for d in docs) + "]"
    text = text.replace('"value": 3', '"value": NaN')
    single = Document.new("element", properties={"element": {"name": "p"}})
    _upload_documents(account, dataset_id, _zip({"docs.json": text.encode(), "one.json": single.to_json().encode(),
                                                  "readme.txt": b"ignored"}))
    eventually(lambda: _count(account, dataset_id) == 26)
    listed = httpx.get(f"{account.base_url}/datasets/{dataset_id}/documents", params={"pageSize": 100},
                       headers=account.headers).json()["documents"]
    assert {d["ndiId"] for d in listed} == {d.id for d in docs} | {single.id}


def test_bad_document_zip_adds_nothing(bulk_cloud: CloudServer):
    account = bulk_cloud.account()
    dataset_id = account.new_dataset()
    good = Document.new("demoNDI", properties={"demoNDI": {"value": 1}}).to_json()
    _upload_documents(account, dataset_id, _zip({"a.json": f"[{good}]".encode(), "b.json": b"{not json"}))
    _upload_documents(account, dataset_id, _zip({"a.json": f"[{good}, {{\"no\": \"base\"}}]".encode()}))
    _upload_documents(account, dataset_id, b"this is not a zip")
    time.sleep(0.5)
    assert _count(account, dataset_id) == 0


def test_bulk_download_zip_holds_every_document(bulk_cloud: CloudServer):
    account = bulk_cloud.account()
    dataset_id = account.new_dataset()
    docs = [Document.new("demoNDI", properties={"demoNDI": {"value": i, "low": float("-inf")}}) for i in range(30)]
    _upload_documents(account, dataset_id, _zip({"d.json": ("[" + ",".join(d.to_json() for d in docs) + "]").encode()}))
    eventually(lambda: _count(account, dataset_id) == 30)
    url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-download", json={"documentIds": []},
                     headers=account.headers).json()["url"]
    reply = eventually(lambda: (r := httpx.get(url, headers={"Accept-Encoding": "identity"})).status_code == 200 and r)
    assert reply.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
        names = archive.namelist()
        text = archive.read(names[0]).decode()
    assert len(names) == 1 and names[0].endswith(".json")
    downloaded = [Document.from_json(json.dumps(item)) for item in json.loads(text)]
    assert '"__NDI__-Infinity__"' in text and "Infinity," not in text.replace('"__NDI__-Infinity__"', "")
    assert sorted(d.hash() for d in downloaded) == sorted(d.hash() for d in docs)  # no cloud keys added


def test_bulk_download_of_chosen_ids_and_not_ready_yet(tmp_path: Path):
    with cloud_server(tmp_path / "data", download_delay_s=1.0, document_ingest_delay_s=0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        ids = [httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents",
                          content=Document.new("demoNDI", properties={"demoNDI": {"value": i}}).to_json(),
                          headers=account.headers).json()["id"] for i in range(3)]
        url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-download",
                         json={"documentIds": [ids[1], ids[1]]}, headers=account.headers).json()["url"]
        early = httpx.get(url)
        assert early.status_code == 404 and "NoSuchKey" in early.text
        reply = eventually(lambda: (r := httpx.get(url)).status_code == 200 and r)
        with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
            assert len(json.loads(archive.read(archive.namelist()[0]))) == 1


def test_bulk_download_captures_documents_as_they_were_when_asked(tmp_path: Path):
    with cloud_server(tmp_path / "data", download_delay_s=1.0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        base = f"{account.base_url}/datasets/{dataset_id}/documents"
        doc = Document.new("demoNDI", properties={"demoNDI": {"value": "before"}})
        cloud_id = httpx.post(base, content=doc.to_json(), headers=account.headers).json()["id"]
        url = httpx.post(f"{base}/bulk-download", json={"documentIds": []}, headers=account.headers).json()["url"]
        changed = Document.from_json(doc.to_json().replace('"before"', '"after"'))
        assert httpx.post(f"{base}/{cloud_id}", content=changed.to_json(), headers=account.headers).status_code == 200
        httpx.post(base, content=Document.new("demoNDI").to_json(), headers=account.headers)  # added later
        reply = eventually(lambda: (r := httpx.get(url)).status_code == 200 and r)
        with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
            captured = json.loads(archive.read(archive.namelist()[0]))
        assert [d["demoNDI"]["value"] for d in captured] == ["before"]


def _file_job(account: Account, dataset_id: str) -> tuple[str, str]:
    body = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/bulk",
                     headers=account.headers).json()
    return body["url"], body["jobId"]


def _job(account: Account, job_id: str) -> dict:
    return httpx.get(f"{account.base_url}/bulk-uploads/{job_id}", headers=account.headers).json()


def test_file_zip_job_runs_to_complete(bulk_cloud: CloudServer):
    account = bulk_cloud.account()
    dataset_id = account.new_dataset()
    payloads = {new_id(): os.urandom(n) for n in (10, 5000, 70_000)}
    url, job_id = _file_job(account, dataset_id)
    queued = _job(account, job_id)
    assert queued["state"] == "queued" and queued["datasetId"] == dataset_id and queued["filesExtracted"] == 0
    active = httpx.get(f"{account.base_url}/datasets/{dataset_id}/bulk-uploads", headers=account.headers).json()
    assert [j["jobId"] for j in active["jobs"]] == [job_id]
    assert httpx.put(url, content=_zip(payloads)).status_code == 200
    done = eventually(lambda: (j := _job(account, job_id))["state"] == "complete" and j)
    assert done["filesExtracted"] == done["totalFiles"] == 3 and done["completedAt"]
    detail = httpx.get(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).json()
    assert {f["uid"]: f["size"] for f in detail["files"]} == {uid: len(b) for uid, b in payloads.items()}
    assert all(f["uploaded"] for f in detail["files"])
    uid, data = next(iter(payloads.items()))
    file_url = httpx.get(f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail",
                         headers=account.headers).json()["downloadUrl"]
    assert httpx.get(file_url).content == data
    assert httpx.get(f"{account.base_url}/datasets/{dataset_id}/bulk-uploads", headers=account.headers).json()[
        "jobs"] == []
    history = httpx.get(f"{account.base_url}/datasets/{dataset_id}/bulk-uploads", params={"state": "all"},
                        headers=account.headers).json()["jobs"]
    assert [j["state"] for j in history] == ["complete"]


def test_a_zip_taken_away_as_soon_as_it_is_stored_still_answers_its_put(bulk_cloud: CloudServer,
                                                                         monkeypatch: pytest.MonkeyPatch):
    """The PUT's ETag is read before the worker hears of the zip: a worker that takes and removes it at once
    must not turn the PUT into a server error (it did, once, under load)."""
    import ndicloud.server.app as server_app

    counted = server_app.count_zip_entries

    def count_then_take_away(path: Path) -> int | None:
        total = counted(path)
        path.unlink()  # as a worker that already extracted it
        return total

    monkeypatch.setattr(server_app, "count_zip_entries", count_then_take_away)
    account = bulk_cloud.account()
    url, _ = _file_job(account, account.new_dataset())
    reply = httpx.put(url, content=_zip({new_id(): b"bytes"}))
    assert reply.status_code == 200, reply.text
    assert reply.headers["ETag"]


def _symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(new_id())
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _bomb_zip() -> bytes:
    return bomb_zip(new_id(), fill=b"\0")


@pytest.mark.parametrize(("make", "words"), [
    (lambda: _zip({"../../escaped": b"x"}), "'..'"),
    (lambda: _zip({"/etc/absolute": b"x"}), "absolute"),
    (lambda: _zip({"not a uid!": b"x"}), "valid file uid"),
    (lambda: _zip({f"a/{(u := new_id())}": b"1", f"b/{u}": b"2"}), "repeats"),
    (_symlink_zip, "link"),
    (_bomb_zip, "expands"),
    (lambda: b"not a zip at all", "not a readable zip"),
])
def test_unsafe_file_zips_fail_and_register_nothing(bulk_cloud: CloudServer, make: Callable[[], bytes], words: str):
    account = bulk_cloud.account()
    dataset_id = account.new_dataset()
    url, job_id = _file_job(account, dataset_id)
    assert httpx.put(url, content=make()).status_code == 200
    failed = eventually(lambda: (j := _job(account, job_id))["state"] == "failed" and j)
    assert words in failed["error"]
    assert httpx.get(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).json()["files"] == []
    blob_root = bulk_cloud.config.data_dir / "blobs"
    assert not (bulk_cloud.config.data_dir / "escaped").exists() and not (blob_root.parent.parent / "escaped").exists()
    assert all(p.resolve().is_relative_to(blob_root.resolve()) for p in blob_root.rglob("*"))


def test_jobs_belong_to_their_owner(bulk_cloud: CloudServer):
    account = bulk_cloud.account()
    dataset_id = account.new_dataset()
    _, job_id = _file_job(account, dataset_id)
    other = bulk_cloud.account()
    assert httpx.get(f"{account.base_url}/bulk-uploads/{job_id}", headers=other.headers).status_code == 404
    assert httpx.get(f"{account.base_url}/bulk-uploads/{job_id}").status_code == 401
    assert httpx.get(f"{account.base_url}/datasets/{dataset_id}/bulk-uploads", params={"state": "later"},
                     headers=account.headers).status_code == 400


def test_unused_upload_url_expires_the_job(tmp_path: Path):
    with cloud_server(tmp_path / "data", url_ttl_s=1) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        _, job_id = _file_job(account, dataset_id)
        failed = eventually(lambda: (j := _job(account, job_id))["state"] == "failed" and j)
        assert failed["error"] == "upload URL expired"
