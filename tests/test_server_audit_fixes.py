"""Local NDI Cloud server: behaviours settled against the contract's decisions (cloud-api §9, §10)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx

from ndicloud.core import Document, new_id

from cloud_server import Account, CloudServer, cloud_server, eventually


def _corrupt_zip() -> bytes:
    buffer = io.BytesIO()
    good, bad = new_id(), new_id()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(good, b"fine bytes")
        archive.writestr(bad, b"these bytes will be damaged")
    data = bytearray(buffer.getvalue())
    spot = data.find(b"these bytes")
    data[spot] ^= 0xFF  # the stored CRC no longer matches
    return bytes(data)


def test_a_corrupt_entry_fails_the_whole_file_zip(cloud_service: CloudServer):
    with cloud_server(cloud_service.config.data_dir.parent / "crc", zip_extract_delay_s=0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        body = httpx.post(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/bulk",
                          headers=account.headers).json()  # POST works as well as GET
        assert httpx.put(body["url"], content=_corrupt_zip()).status_code == 200
        job = eventually(lambda: (j := httpx.get(f"{account.base_url}/bulk-uploads/{body['jobId']}",
                                                  headers=account.headers).json())["state"] == "failed" and j)
        assert "cannot be read" in job["error"]
        detail = httpx.get(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).json()
        assert detail["files"] == []  # not even the good entry


def test_total_files_is_known_once_the_zip_arrives(tmp_path: Path):
    with cloud_server(tmp_path / "data", zip_extract_delay_s=3) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        body = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/bulk",
                         headers=account.headers).json()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for _ in range(3):
                archive.writestr(new_id(), b"x")
        httpx.put(body["url"], content=buffer.getvalue())
        job = httpx.get(f"{account.base_url}/bulk-uploads/{body['jobId']}", headers=account.headers).json()
        assert job["state"] == "extracting" and job["totalFiles"] == 3 and job["startedAt"]
        extracting = httpx.get(f"{account.base_url}/datasets/{dataset_id}/bulk-uploads",
                               params={"state": "extracting"}, headers=account.headers).json()["jobs"]
        assert [j["jobId"] for j in extracting] == [body["jobId"]]


def test_registration_happens_on_the_worker_even_without_delay(tmp_path: Path):
    with cloud_server(tmp_path / "data", file_registration_delay_s=0, worker_interval_s=1.0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        uid = new_id()
        url = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{uid}",
                        headers=account.headers).json()["url"]
        httpx.put(url, content=b"poll me")
        detail = f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail"
        assert httpx.get(detail, headers=account.headers).status_code == 404  # clients must poll
        eventually(lambda: httpx.get(detail, headers=account.headers).status_code == 200)


def test_bulk_download_drops_empty_ids(cloud_service: CloudServer):
    with cloud_server(cloud_service.config.data_dir.parent / "empty-ids", download_delay_s=0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        for i in range(2):
            httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents", headers=account.headers,
                       content=Document.new("demoNDI", properties={"demoNDI": {"value": i}}).to_json())
        reply = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-download",
                           json={"documentIds": ["", ""]}, headers=account.headers)
        assert reply.status_code == 200
        zipped = eventually(lambda: (r := httpx.get(reply.json()["url"])).status_code == 200 and r)
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            assert archive.read(archive.namelist()[0]).count(b'"base"') == 2


def test_admins_read_and_publish_anywhere_but_write_only_at_home(cloud_service: CloudServer):
    owner = cloud_service.account()
    admin = cloud_service.account(admin=True)
    dataset_id = owner.new_dataset()
    url = f"{owner.base_url}/datasets/{dataset_id}"
    assert httpx.get(url, headers=admin.headers).status_code == 200
    assert httpx.post(url, json={"name": "taken over"}, headers=admin.headers).status_code == 403
    assert httpx.post(f"{url}/documents", content=Document.new("demoNDI").to_json(),
                      headers=admin.headers).status_code == 403
    assert httpx.get(f"{owner.base_url}/organizations/{owner.organization_id}/datasets",
                     headers=admin.headers).status_code == 403
    assert httpx.post(f"{url}/publish", headers=admin.headers).status_code == 200


def test_chunked_oversized_body_is_refused(tmp_path: Path):
    with cloud_server(tmp_path / "data", max_json_body_bytes=1024) as server:
        account = server.account()

        def chunks():
            yield b'{"name": "x", "abstract": "'
            for _ in range(100):
                yield b"y" * 1000
            yield b'"}'

        reply = httpx.post(f"{server.base_url}/organizations/{account.organization_id}/datasets", content=chunks(),
                           headers={**account.headers, "Content-Type": "application/json"})
        assert reply.status_code == 413


def test_prune_removes_download_zips_too(tmp_path: Path):
    with cloud_server(tmp_path / "data", download_delay_s=0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents", content=Document.new("demoNDI").to_json(),
                   headers=account.headers)
        url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-download", json={},
                         headers=account.headers).json()["url"]
        eventually(lambda: httpx.get(url).status_code == 200)
        httpx.delete(f"{account.base_url}/datasets/{dataset_id}", params={"when": "now"}, headers=account.headers)

        def gone() -> bool:
            try:
                return httpx.get(url).status_code == 404
            except httpx.TransportError:  # a GET that raced the prune is cut short; the next one says 404
                return False

        eventually(gone)
        assert not (server.config.data_dir / "blobs" / "downloads" / dataset_id).exists()


def test_update_answers_with_id_and_abort_by_post(cloud_service: CloudServer, cloud: Account):
    dataset_id = cloud.new_dataset()
    updated = httpx.post(f"{cloud.base_url}/datasets/{dataset_id}", json={"name": "n"}, headers=cloud.headers).json()
    assert updated["id"] == dataset_id and "_id" not in updated
    session = httpx.post(f"{cloud.base_url}/compute/start", json={"pipelineId": "hello-world-v1"},
                         headers=cloud.headers).json()["sessionId"]
    assert httpx.post(f"{cloud.base_url}/compute/{session}/abort", headers=cloud.headers).status_code == 204


def test_wrong_method_on_a_known_path_is_404(cloud: Account):
    dataset_id = cloud.new_dataset()
    reply = httpx.put(f"{cloud.base_url}/datasets/{dataset_id}", json={}, headers=cloud.headers)
    assert reply.status_code == 404 and reply.json()["error"] == "Not found"


def test_matlab_editor_metadata_is_stored_in_the_read_shape(cloud: Account):
    body = {"name": "editor", "description": "kept as given",
            "contributors": [{"firstName": "Ann", "lastName": "Lee", "orchid": "0000-0001-2345-6789"}],
            "correspondingAuthors": [{"firstName": "Ann", "lastName": "Lee", "orchid": "0000-0001-2345-6789"}],
            "funding": {"source": "NIH, NSF"}}
    dataset_id = httpx.post(f"{cloud.base_url}/organizations/{cloud.organization_id}/datasets", json=body,
                            headers=cloud.headers).json()["id"]
    detail = httpx.get(f"{cloud.base_url}/datasets/{dataset_id}", headers=cloud.headers).json()
    assert detail["contributors"] == [{"firstName": "Ann", "lastName": "Lee", "orcid": "0000-0001-2345-6789"}]
    assert detail["correspondingAuthors"][0]["orcid"] == "0000-0001-2345-6789"
    assert detail["funding"] == [{"source": "NIH, NSF"}] and detail["description"] == "kept as given"


def test_licence_in_the_python_ports_form(cloud: Account):
    url = f"{cloud.base_url}/users/me/matlab-license"
    reply = httpx.put(url, json={"licenseFile": "INCREMENT MATLAB MLM 46 permanent uncounted HOSTID=ANY\n",
                                 "mode": "network"}, headers=cloud.headers)
    assert reply.status_code == 200 and reply.json()["mode"] == "network"
    bad = httpx.put(url, json={"licenseFile": "INCREMENT x", "mode": "shared"}, headers=cloud.headers)
    assert bad.status_code == 400 and "mode" in bad.json()["error"]


def test_existing_user_added_to_a_second_organization(tmp_path: Path):
    import subprocess
    import sys

    data = tmp_path / "data"
    base_command = [sys.executable, "-m", "ndicloud.cli", "server", "add-user", "ann@lab.org", "--data", str(data)]
    first = subprocess.run([*base_command, "--org", "lab-one", "--password-stdin"], input="long-password-1\n",
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([*base_command, "--org", "lab-two", "--password-stdin"], input="long-password-1\n",
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "--existing" in again.stderr
    second = subprocess.run([*base_command, "--org", "lab-two", "--existing"], capture_output=True, text=True,
                            timeout=60)
    assert second.returncode == 0, second.stderr
    with cloud_server(data) as server:
        user = httpx.post(f"{server.base_url}/auth/login", json={"email": "ann@lab.org",
                                                                 "password": "long-password-1"}).json()["user"]
        assert sorted(o["name"] for o in user["organizations"]) == ["lab-one", "lab-two"]


def test_list_items_carry_live_counts_and_upload_time(tmp_path: Path):
    with cloud_server(tmp_path / "data", file_registration_delay_s=0) as server:
        account = server.account()
        dataset_id = account.new_dataset("counted")
        fresh = httpx.get(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).json()
        assert fresh["uploadedAt"] is None  # nothing uploaded yet
        for value in (1, 2):
            account.add_document(dataset_id, Document.new("demoNDI", properties={"demoNDI": {"value": value}}))
        account.upload_file(dataset_id, new_id(), b"x" * 1234)
        listed = httpx.get(f"{account.base_url}/organizations/{account.organization_id}/datasets",
                           headers=account.headers).json()["datasets"]
        item = next(d for d in listed if d["id"] == dataset_id)
        assert (item["documentCount"], item["totalSize"]) == (2, 1234)
        detail = httpx.get(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).json()
        assert (detail["documentCount"], detail["totalSize"]) == (2, 1234)  # list and detail agree
        assert item["uploadedAt"] and detail["uploadedAt"] >= item["uploadedAt"] >= fresh["createdAt"]
