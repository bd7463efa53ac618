"""Local NDI Cloud server: every dataset-scoped route refuses outsiders and anonymous callers (cloud-api §10.3).

An unpublished dataset of another organization is invisible (404); a route that needs a token answers 401
without one, and a route that also serves published data answers 404 for the unpublished dataset. A published
dataset of another organization is read-only: its reads answer, its writes are 403.
"""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from ndicloud.core import Document, new_id

from cloud_server import Account, CloudServer, cloud_server, eventually

# (method, path under the dataset, body, needs a token)
ROUTES = [
    ("GET", "", None, False),
    ("POST", "", {"name": "x"}, True),
    ("DELETE", "", None, True),
    ("POST", "/submit", None, True),
    ("POST", "/branch", {"branchName": "b"}, True),
    ("GET", "/branches", None, False),
    ("GET", "/document-count", None, False),
    ("GET", "/document-class-counts", None, False),
    ("GET", "/documents", None, False),
    ("POST", "/documents", "DOC", True),
    ("GET", "/documents/deleted", None, True),
    ("GET", "/documents/{doc}", None, False),
    ("POST", "/documents/{doc}", "DOC", True),
    ("DELETE", "/documents/{doc}", None, True),
    ("POST", "/documents/bulk-delete", {"documentIds": ["{doc}"]}, True),
    ("POST", "/documents/bulk-fetch", {"documentIds": ["{doc}"]}, False),
    ("POST", "/documents/bulk-upload", None, True),
    ("POST", "/documents/bulk-download", {"documentIds": []}, False),
    ("GET", "/files/{uid}/detail", None, False),
    ("GET", "/bulk-uploads", None, True),
    ("ORG-GET", "/files/{uid}", None, True),
    ("ORG-GET", "/files/bulk", None, True),
]


@pytest.fixture(scope="module")
def private_dataset(cloud_service: CloudServer) -> tuple[Account, str, str]:
    owner = cloud_service.account()
    dataset_id = owner.new_dataset("private")
    reply = httpx.post(f"{owner.base_url}/datasets/{dataset_id}/documents", content=Document.new("demoNDI").to_json(),
                       headers=owner.headers)
    return owner, dataset_id, reply.json()["id"]


def _request(account: Account, owner: Account, dataset_id: str, doc_id: str, route: tuple, headers: dict):
    method, path, body, _ = route
    path = path.replace("{doc}", doc_id).replace("{uid}", new_id())
    if method == "ORG-GET":
        url, method = f"{owner.base_url}/datasets/{owner.organization_id}/{dataset_id}{path}", "GET"
    else:
        url = f"{owner.base_url}/datasets/{dataset_id}{path}"
    if body == "DOC":
        return httpx.request(method, url, content=Document.new("demoNDI").to_json(), headers=headers)
    if isinstance(body, dict):
        body = {k: [v.replace("{doc}", doc_id) for v in vs] if isinstance(vs, list) else vs for k, vs in body.items()}
        return httpx.request(method, url, json=body, headers=headers)
    return httpx.request(method, url, headers=headers)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r[0]} {r[1] or '/'}" for r in ROUTES])
def test_outsiders_and_anonymous_callers_are_refused(cloud_service: CloudServer, private_dataset, route):
    owner, dataset_id, doc_id = private_dataset
    outsider = cloud_service.account()
    reply = _request(outsider, owner, dataset_id, doc_id, route, outsider.headers)
    assert reply.status_code == 404, reply.text
    anonymous = _request(outsider, owner, dataset_id, doc_id, route, {})
    assert anonymous.status_code == (401 if route[3] else 404), anonymous.text


def test_everything_survives_a_restart(tmp_path):
    """Stop and start on the same data folder: tokens, revocations, files, jobs, sessions and licences remain."""
    data = tmp_path / "data"
    settings = {"file_registration_delay_s": 0, "zip_extract_delay_s": 0, "compute_stage_delay_s": 3600}
    with cloud_server(data, **settings) as server:
        account = server.account()
        kept_token = account.token
        revoked_token = server.login(account.email, account.password)
        httpx.post(f"{account.base_url}/auth/logout", headers={"Authorization": f"Bearer {revoked_token}"})
        dataset_id = account.new_dataset("kept")
        uid = new_id()
        put = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{uid}",
                        headers=account.headers).json()["url"]
        httpx.put(put, content=b"kept bytes")
        eventually(lambda: httpx.get(f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail",
                                     headers=account.headers).status_code == 200)
        job = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/bulk",
                        headers=account.headers).json()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(new_id(), b"zipped")
        httpx.put(job["url"], content=buffer.getvalue())
        eventually(lambda: httpx.get(f"{account.base_url}/bulk-uploads/{job['jobId']}",
                                     headers=account.headers).json()["state"] == "complete")
        session = httpx.post(f"{account.base_url}/compute/start", json={"pipelineId": "hello-world-v1"},
                             headers=account.headers).json()["sessionId"]
        httpx.put(f"{account.base_url}/users/me/matlab-license", headers=account.headers,
                  json={"networkLicenseFile": "INCREMENT MATLAB MLM 46 permanent uncounted HOSTID=ANY\n"})
    with cloud_server(data, **settings) as server:
        base = server.base_url
        headers = {"Authorization": f"Bearer {kept_token}"}
        assert httpx.get(f"{base}/users/me", headers=headers).status_code == 200  # same signing secret
        assert httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {revoked_token}"}).status_code == 401
        detail = httpx.get(f"{base}/datasets/{dataset_id}/files/{uid}/detail", headers=headers).json()
        assert httpx.get(detail["downloadUrl"]).content == b"kept bytes"
        assert httpx.get(f"{base}/bulk-uploads/{job['jobId']}", headers=headers).json()["state"] == "complete"
        assert len(httpx.get(f"{base}/datasets/{dataset_id}", headers=headers).json()["files"]) == 2
        state = httpx.get(f"{base}/compute/{session}", headers=headers).json()
        assert state["status"] == "RUNNING" and state["currentStageId"] == "initial-setup"
        assert httpx.get(f"{base}/users/me/matlab-license", headers=headers).json()["mode"] == "network"


@pytest.fixture(scope="module")
def published_dataset(tmp_path_factory: pytest.TempPathFactory):
    with cloud_server(tmp_path_factory.mktemp("published"), publish_delay_s=0) as server:
        owner = server.account()
        dataset_id = owner.new_dataset("published")
        reply = httpx.post(f"{owner.base_url}/datasets/{dataset_id}/documents",
                           content=Document.new("demoNDI").to_json(), headers=owner.headers)
        admin = server.account(admin=True)
        assert httpx.post(f"{owner.base_url}/datasets/{dataset_id}/publish", headers=admin.headers).status_code == 200
        eventually(lambda: httpx.get(f"{owner.base_url}/datasets/{dataset_id}").status_code == 200)
        yield server, owner, dataset_id, reply.json()["id"]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r[0]} {r[1] or '/'}" for r in ROUTES])
def test_published_data_of_others_is_read_only(published_dataset, route):
    server, owner, dataset_id, doc_id = published_dataset
    outsider = server.account()
    reply = _request(outsider, owner, dataset_id, doc_id, route, outsider.headers)
    _, path, _, needs_token = route
    if path == "/files/{uid}/detail":
        expected = 404  # readable, but the uid asked for is unknown
    elif path == "/bulk-uploads":
        expected = 200  # lists only the caller's own jobs (none)
    else:
        expected = 403 if needs_token else 200  # writes and member-only reads are refused
    assert reply.status_code == expected, reply.text
    if expected == 403:
        assert "belongs to another organization" in reply.json()["message"]
