"""Local NDI Cloud server: one-file presigned upload, file detail, storage security (cloud-api §5.4, §6.1, §10.4)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ndicloud.core import new_id
from ndicloud.server.presign import Presigner
from ndicloud.server.security import load_or_create_secret

from cloud_server import Account, CloudServer, cloud_server


@pytest.fixture(scope="module")
def files_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with cloud_server(tmp_path_factory.mktemp("files-cloud"), file_registration_delay_s=0,
                      publish_delay_s=0, max_object_bytes=1_000_000) as server:
        yield server




def _upload(account: Account, dataset_id: str, uid: str, payload: bytes) -> str:
    reply = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{uid}",
                      headers=account.headers)
    assert reply.status_code == 200, reply.text
    url = reply.json()["url"]
    put = httpx.put(url, content=payload, headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200 and put.headers["ETag"]
    return url


def _detail(account: Account, dataset_id: str, uid: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        reply = httpx.get(f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail", headers=account.headers)
        if reply.status_code == 200:
            return reply.json()
        assert reply.status_code == 404 and time.monotonic() < deadline
        time.sleep(0.02)


def test_put_then_detail_download_and_ranges(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    payload = os.urandom(200_000)
    _upload(account, dataset_id, uid, payload)
    detail = _detail(account, dataset_id, uid)
    assert detail["uid"] == uid and detail["uploaded"] is True and detail["size"] == len(payload)
    assert detail["sourceDatasetId"] == dataset_id
    url = detail["downloadUrl"]
    assert url.startswith(files_cloud.config.base_url + "/storage/") and "/v1/" not in url
    whole = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert whole.status_code == 200 and whole.content == payload
    assert whole.headers["content-length"] == str(len(payload)) and whole.headers["accept-ranges"] == "bytes"
    assert "content-encoding" not in whole.headers and whole.headers["etag"] and whole.headers["last-modified"]
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == payload[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(payload)}"
    tail = httpx.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == payload[-10:]
    beyond = httpx.get(url, headers={"Range": f"bytes={len(payload) + 5}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(payload)}"
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(payload))
    listed = httpx.get(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).json()
    assert listed["files"] == [{"uid": uid, "uploaded": True, "size": len(payload), "sourceDatasetId": dataset_id}]
    assert listed["totalSize"] == len(payload)


def test_each_detail_call_gives_a_fresh_url(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    _upload(account, dataset_id, uid, b"abc")
    first = _detail(account, dataset_id, uid)["downloadUrl"]
    time.sleep(1.1)
    assert _detail(account, dataset_id, uid)["downloadUrl"] != first


def test_registration_waits_for_the_delay(tmp_path: Path):
    with cloud_server(tmp_path / "data", file_registration_delay_s=3.0) as server:  # wide: for a loaded machine
        account = server.account()
        dataset_id = account.new_dataset()
        uid = new_id()
        _upload(account, dataset_id, uid, b"late")
        early = httpx.get(f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail", headers=account.headers)
        assert early.status_code == 404
        assert _detail(account, dataset_id, uid)["size"] == 4


def test_tampered_expired_unsigned_and_wrong_method_urls_are_403(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    put_url = _upload(account, dataset_id, uid, b"secret bytes")
    get_url = _detail(account, dataset_id, uid)["downloadUrl"]
    other_key = get_url.replace(uid, new_id())
    more_time = get_url.replace("expires=", "expires=9")
    unsigned = get_url.split("?")[0]
    for url in (other_key, more_time, unsigned):
        reply = httpx.get(url)
        assert reply.status_code == 403 and "<Code>AccessDenied</Code>" in reply.text, url
    assert httpx.put(get_url, content=b"overwrite").status_code == 403  # a GET signature does not allow PUT
    assert httpx.get(put_url).status_code == 403  # nor a PUT signature GET
    secret = load_or_create_secret(files_cloud.config.data_dir)
    expired = Presigner(secret, files_cloud.config.base_url, -10).url("GET", f"files/{dataset_id}/{uid}")
    reply = httpx.get(expired)
    assert reply.status_code == 403 and "expired" in reply.text


def test_storage_refuses_an_authorization_header(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    _upload(account, dataset_id, uid, b"x")
    url = _detail(account, dataset_id, uid)["downloadUrl"]
    reply = httpx.get(url, headers=account.headers)
    assert reply.status_code == 400 and "InvalidArgument" in reply.text


def test_missing_object_is_404_no_such_key(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    reply = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{new_id()}",
                      headers=account.headers)
    never_written = reply.json()["url"].replace("signature=", "x=")  # unsigned now: 403 first
    assert httpx.get(never_written).status_code == 403
    secret = load_or_create_secret(files_cloud.config.data_dir)
    signed_get = Presigner(secret, files_cloud.config.base_url, 60).url("GET", f"files/{dataset_id}/{new_id()}")
    missing = httpx.get(signed_get)
    assert missing.status_code == 404 and "NoSuchKey" in missing.text


def test_oversized_put_is_refused_and_nothing_kept(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    url = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{uid}",
                    headers=account.headers).json()["url"]
    reply = httpx.put(url, content=b"x" * 1_000_001)
    assert reply.status_code == 400 and "EntityTooLarge" in reply.text
    time.sleep(0.1)
    assert httpx.get(f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail",
                     headers=account.headers).status_code == 404


def test_upload_url_rules(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    base = f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files"
    assert httpx.get(f"{base}/{new_id()}").status_code == 401
    assert httpx.get(f"{base}/bad.uid!", headers=account.headers).status_code == 400
    outsider = files_cloud.account()
    assert httpx.get(f"{base}/{new_id()}", headers=outsider.headers).status_code == 404
    # The path's organization is only recorded: access follows the dataset's own (cloud-api §9).
    other_org = f"{account.base_url}/datasets/{outsider.organization_id}/{dataset_id}/files/{new_id()}"
    assert httpx.get(other_org, headers=account.headers).status_code == 200
    assert httpx.get(other_org, headers=outsider.headers).status_code == 404


def test_file_detail_follows_dataset_access(files_cloud: CloudServer):
    account = files_cloud.account()
    admin = files_cloud.account(admin=True)
    dataset_id = account.new_dataset()
    uid = new_id()
    _upload(account, dataset_id, uid, b"public later")
    _detail(account, dataset_id, uid)
    detail_url = f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail"
    assert httpx.get(detail_url).status_code == 404
    assert httpx.get(detail_url, headers=files_cloud.account().headers).status_code == 404
    assert httpx.post(f"{account.base_url}/datasets/{dataset_id}/publish", headers=admin.headers).status_code == 200
    deadline = time.monotonic() + 10
    while httpx.get(detail_url).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert httpx.get(httpx.get(detail_url).json()["downloadUrl"]).content == b"public later"


def test_deleting_a_dataset_for_good_removes_its_bytes(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    _upload(account, dataset_id, uid, b"to be pruned")
    _detail(account, dataset_id, uid)
    blob = files_cloud.config.data_dir / "blobs" / "files" / dataset_id / uid
    assert blob.is_file()
    assert httpx.delete(f"{account.base_url}/datasets/{dataset_id}", params={"when": "now"},
                        headers=account.headers).status_code == 200
    deadline = time.monotonic() + 10
    while blob.exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_object_deleted_between_check_and_read_is_404(tmp_path: Path):
    """A prune can remove an object after the route saw it: the answer is NoSuchKey, not a server error."""
    import asyncio

    from ndicloud.server.routes.storage import LargeChunkFileResponse

    path = tmp_path / "soon-gone.zip"
    path.write_bytes(b"x")
    response = LargeChunkFileResponse(path)
    path.unlink()
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request"}

    asyncio.run(response({"type": "http", "method": "GET", "headers": []}, receive, send))
    assert sent[0]["status"] == 404 and b"NoSuchKey" in sent[1]["body"]


def test_a_second_put_replaces_the_bytes(files_cloud: CloudServer):
    account = files_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    _upload(account, dataset_id, uid, b"first version")
    assert _detail(account, dataset_id, uid)["size"] == len(b"first version")
    _upload(account, dataset_id, uid, b"second, longer version")  # a fresh URL (a used one cannot replace them)
    detail = _detail(account, dataset_id, uid)
    assert detail["size"] == len(b"second, longer version")
    assert httpx.get(detail["downloadUrl"]).content == b"second, longer version"


def test_a_presigned_url_lives_at_least_its_lifetime():
    """Expiry is a whole second, rounded up: rounding down cut up to a second off, so a 1 s URL could be dead
    on arrival (a download failed that way under load)."""
    presigner = Presigner(b"a secret of the test", "http://127.0.0.1:1", ttl_s=1)
    for _ in range(20):
        issued = time.time()
        url = presigner.url("GET", f"files/{new_id()}/x")
        expires = int(url.split("expires=")[1].split("&")[0])
        assert expires >= issued + 1, (expires, issued)
        time.sleep(0.013)  # land at other fractions of a second
