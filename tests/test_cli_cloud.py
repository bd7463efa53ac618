"""CLI over the API client: login, whoami, datasets, documents, files, against the local server."""

from __future__ import annotations

import io
import json
import os
import stat
import sys

import pytest

from ndicloud.api.tokens import TokenCache
from ndicloud.core import Document, new_id

from cloud_server import Account, CloudServer
from conftest import FAST_RETRY, run_cli


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return run_cli(capsys, *args)


@pytest.fixture
def logged_in(cloud: Account, capsys, monkeypatch) -> Account:
    monkeypatch.setenv("NDI_CLOUD_URL", cloud.base_url)
    code, _, err = run(capsys, "login", "--email", cloud.email, "--password-stdin", stdin=cloud.password + "\n",
                       monkeypatch=monkeypatch)
    assert code == 0, err
    return cloud


def test_login_whoami_logout(cloud: Account, capsys, monkeypatch):
    code, out, err = run(capsys, "--url", cloud.base_url, "login", "--email", cloud.email, "--password-stdin",
                         "--json", stdin=cloud.password + "\n", monkeypatch=monkeypatch)
    assert code == 0, err
    login = json.loads(out)
    assert login["email"] == cloud.email and login["organizationId"] == cloud.organization_id
    cache = TokenCache()
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    token = cache.get(cloud.base_url).token  # type: ignore[union-attr]
    assert token not in out
    code, out, _ = run(capsys, "--url", cloud.base_url, "whoami", "--json")
    assert code == 0 and json.loads(out)["email"] == cloud.email and token not in out
    code, out, _ = run(capsys, "--url", cloud.base_url, "whoami")
    assert code == 0 and cloud.email in out and cloud.organization_id in out and token not in out
    code, out, _ = run(capsys, "--url", cloud.base_url, "logout", "--json")
    assert code == 0 and json.loads(out) == {"url": cloud.base_url, "loggedOut": True}
    code, _, err = run(capsys, "--url", cloud.base_url, "whoami")
    assert code == 1 and "not logged in" in err and "Traceback" not in err


def test_wrong_password_is_one_line(cloud: Account, capsys, monkeypatch):
    code, out, err = run(capsys, "--url", cloud.base_url, "login", "--email", cloud.email, "--password-stdin",
                         stdin="not-it\n", monkeypatch=monkeypatch)
    assert code == 1 and "failed: Unable to login" in err and "not-it" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_dataset_commands(logged_in: Account, cloud_service: CloudServer, capsys):
    code, out, err = run(capsys, "datasets", "create", "my study", "--abstract", "About it.", "--json")
    assert code == 0, err
    dataset_id = json.loads(out)["id"]
    code, out, _ = run(capsys, "datasets", "list", "--json")
    assert [d["id"] for d in json.loads(out)] == [dataset_id]
    code, out, _ = run(capsys, "datasets", "list", "--org", logged_in.organization_id, "--json")
    assert [d["id"] for d in json.loads(out)] == [dataset_id]
    code, out, _ = run(capsys, "datasets", "list")
    assert "my study" in out and dataset_id in out
    code, out, _ = run(capsys, "datasets", "show", dataset_id, "--json")
    assert json.loads(out)["_id"] == dataset_id and json.loads(out)["abstract"] == "About it."
    assert "About it." in run(capsys, "datasets", "show", dataset_id)[1]
    assert run(capsys, "datasets", "submit", dataset_id)[0] == 0
    code, _, err = run(capsys, "datasets", "publish", dataset_id, "--no-wait")
    assert code == 1 and "403" in err  # not an administrator
    code, out, _ = run(capsys, "datasets", "delete", dataset_id, "--when", "now", "--json")
    assert code == 0 and json.loads(out) == {"id": dataset_id, "when": "now", "confirmed": True}
    code, _, err = run(capsys, "datasets", "show", dataset_id)
    assert code == 1 and f"GET /datasets/{dataset_id} -> 404" in err


def test_publish_waits_for_the_flip(cloud_service: CloudServer, capsys, monkeypatch):
    admin = cloud_service.account(admin=True)
    dataset_id = admin.new_dataset("to publish")
    monkeypatch.setenv("NDI_CLOUD_URL", admin.base_url)
    monkeypatch.setenv("NDI_CLOUD_USERNAME", admin.email)
    monkeypatch.setenv("NDI_CLOUD_PASSWORD", admin.password)
    code, out, err = run(capsys, "datasets", "publish", dataset_id, "--json")
    assert code == 0, err
    assert json.loads(out) == {"id": dataset_id, "requested": "published", "confirmed": True}
    code, out, _ = run(capsys, "datasets", "list", "--published", "--json")
    assert dataset_id in [d["id"] for d in json.loads(out)]
    assert run(capsys, "datasets", "unpublish", dataset_id)[0] == 0


def test_documents_and_files_commands(logged_in: Account, capsys):
    dataset_id = logged_in.new_dataset()
    doc = Document.new("demoNDI")
    doc.properties["base"]["name"] = "needle"
    logged_in.add_document(dataset_id, doc)
    logged_in.add_document(dataset_id, Document.new("base"))
    uid = new_id()
    logged_in.upload_file(dataset_id, uid, b"0123456789")
    code, out, _ = run(capsys, "documents", "count", dataset_id, "--json")
    assert code == 0 and json.loads(out) == {"datasetId": dataset_id, "count": 2}
    code, out, err = run(capsys, "documents", "query", dataset_id, "--isa", "demoNDI", "--json")
    assert code == 0, err
    assert [d["ndiId"] for d in json.loads(out)["documents"]] == [doc.id]
    code, out, _ = run(capsys, "documents", "query", "private", "--where", "base.name", "exact_string", "needle")
    assert code == 0 and doc.id in out and dataset_id in out  # whole ids, however narrow the terminal
    code, _, err = run(capsys, "documents", "query", "private")
    assert code == 1 and "at least one condition" in err
    code, out, _ = run(capsys, "files", "list", dataset_id, "--json")
    assert json.loads(out) == [{"uid": uid, "uploaded": True, "size": 10, "sourceDatasetId": dataset_id}]


def test_bad_input_is_refused_clearly(logged_in: Account, capsys, monkeypatch):
    code, _, err = run(capsys, "datasets", "show", "not-an-id")
    assert code == 1 and "dataset id 'not-an-id' is not a cloud id" in err
    code, _, err = run(capsys, "datasets", "delete", "0" * 24, "--when", "later")
    assert code == 1 and "when='later'" in err
    monkeypatch.delenv("NDI_CLOUD_URL")
    monkeypatch.setenv("CLOUD_API_ENVIRONMENT", "staging")
    code, _, err = run(capsys, "datasets", "list")
    assert code == 1 and "CLOUD_API_ENVIRONMENT='staging' is not known; use one of dev, prod" in err


def test_unreachable_server(capsys, monkeypatch):
    monkeypatch.setattr("ndicloud.api.client.RetryPolicy", lambda: FAST_RETRY)  # the same retries, less waiting
    code, _, err = run(capsys, "--url", "http://127.0.0.1:9/v1", "datasets", "list", "--published")
    assert code == 1 and "cannot reach 127.0.0.1:9" in err and "Traceback" not in err
