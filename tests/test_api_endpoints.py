"""API client: one test per endpoint group, each function against the local server over HTTP."""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from ndicloud.api import (
    AuthError,
    Backoff,
    CloudClient,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    TransferError,
    ValidationError,
    WaitTimeout,
    auth,
    compute,
    datasets,
    documents,
    files,
    transfer,
    users,
    waiters,
)
from ndicloud.core import Document, Query, new_id

from cloud_server import CloudServer, cloud_server, eventually
from conftest import FAST_RETRY

QUICK = Backoff(first_s=0.02, cap_s=0.1, timeout_s=10)


@pytest.fixture(scope="module")
def fast_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """A server whose deferred work happens at once (it still happens on the worker, so callers poll)."""
    with cloud_server(tmp_path_factory.mktemp("fast-cloud"), file_registration_delay_s=0, document_ingest_delay_s=0,
                      zip_extract_delay_s=0, download_delay_s=0, publish_delay_s=0, undelete_delay_s=0,
                      compute_stage_delay_s=0.01, worker_interval_s=0.01) as server:
        yield server


def _client(server: CloudServer, **account_options: bool) -> CloudClient:
    account = server.account(**account_options)
    return CloudClient(account.base_url, username=account.email, password=account.password, retry=FAST_RETRY)


@pytest.fixture
def api(fast_cloud: CloudServer) -> Iterator[CloudClient]:
    with _client(fast_cloud) as client:
        yield client


def test_auth_and_users(fast_cloud: CloudServer):
    account = fast_cloud.account()
    api = CloudClient(account.base_url, username=account.email, password=account.password, retry=FAST_RETRY)
    user = users.me(client=api)
    assert user.organizations[0].id == api.organization_id and user.organizations[0].can_upload_dataset
    assert users.get_user(user.id, client=api).id == user.id
    auth.change_password(account.password, "a-new-password", client=api)
    with CloudClient(api.base_url, cache=False) as fresh:
        assert auth.login(user.email, "a-new-password", client=fresh).email == user.email
        auth.logout(client=fresh)
        with pytest.raises(AuthError):
            users.me(client=fresh)
    with pytest.raises(ValidationError, match="NotAuthorizedException"):
        auth.change_password("not-the-password", "another-password", client=api)
    delivery = auth.forgot_password(user.email, client=api)
    assert delivery["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    with pytest.raises(ValidationError, match="CodeMismatchException"):
        auth.confirm_password_reset(user.email, "000000", "yet-another-password", client=api)


def test_sign_up_routes(fast_cloud: CloudServer, api: CloudClient):
    email = f"new-{new_id()[-6:]}@lab.example"
    created = users.create_user(email, "New Person", "long-enough-password", client=api)
    assert created.email == email
    auth.resend_confirmation(email, client=api)
    with pytest.raises(ValidationError, match="CodeMismatchException"):
        auth.verify_user(email, "000000", client=api)


def test_matlab_licence(api: CloudClient):
    assert users.get_matlab_license(client=api)["files"] == []
    allocated = users.allocate_matlab_license(client=api)
    text = f"INCREMENT MATLAB MLM 46 01-jan-2030 uncounted HOSTID={allocated['macAddress']} SIGN=0\n"
    registered = users.register_matlab_license(text, release="R2024b", client=api)
    assert [f["release"] for f in registered["files"]] == ["R2024b"]
    assert users.clear_matlab_license(release="R2024b", client=api)["files"] == []
    assert users.clear_matlab_license(client=api) is None


def test_dataset_lifecycle(fast_cloud: CloudServer, api: CloudClient):
    dataset_id = datasets.create_dataset("lifecycle", metadata={"abstract": "A study."}, client=api)
    dataset = datasets.get_dataset(dataset_id, client=api)
    assert (dataset.id, dataset.name, dataset.organization_id) == (dataset_id, "lifecycle", api.organization_id)
    assert dataset.raw["abstract"] == "A study."
    datasets.update_dataset(dataset_id, {"name": "renamed"}, client=api)
    page = datasets.list_datasets(client=api)
    assert page.total == 1 and page.datasets[0].name == "renamed" and page.datasets[0].id == dataset_id
    assert [d.id for d in datasets.iter_datasets(client=api)] == [dataset_id]
    branch_id = datasets.create_dataset_branch(dataset_id, "variant", client=api)
    assert [b.id for b in datasets.get_branches(dataset_id, client=api)] == [branch_id]
    assert datasets.document_count(dataset_id, client=api) == 0
    assert datasets.document_class_counts(dataset_id, client=api) == {}
    datasets.submit_dataset(dataset_id, client=api)
    assert datasets.get_dataset(dataset_id, client=api).is_submitted
    assert dataset_id in [d.id for d in datasets.get_unpublished_datasets(client=api).datasets]
    assert datasets.delete_dataset(dataset_id, client=api) is True
    with pytest.raises(NotFound, match=f"GET /datasets/{dataset_id} -> 404"):
        datasets.get_dataset(dataset_id, client=api)
    assert [d.id for d in datasets.list_deleted_datasets(client=api).datasets] == [dataset_id]
    datasets.undelete_dataset(dataset_id, client=api)

    def visible() -> bool:
        try:
            return datasets.get_dataset(dataset_id, client=api).id == dataset_id
        except NotFound:
            return False

    eventually(visible)


def test_publication_needs_an_admin_and_is_waited_for(fast_cloud: CloudServer, api: CloudClient):
    dataset_id = datasets.create_dataset("to publish", client=api)
    with pytest.raises(PermissionDenied, match="publish -> 403"):
        datasets.publish_dataset(dataset_id, client=api)
    with _client(fast_cloud, admin=True) as admin:
        datasets.publish_dataset(dataset_id, client=admin)
        assert waiters.wait_for_published(dataset_id, backoff=QUICK, client=admin).is_published
        with CloudClient(api.base_url, cache=False) as anonymous:
            assert dataset_id in [d.id for d in datasets.iter_published_datasets(client=anonymous)]
            assert datasets.get_dataset(dataset_id, client=anonymous).is_published
        datasets.unpublish_dataset(dataset_id, client=admin)
        assert not waiters.wait_for_unpublished(dataset_id, backoff=QUICK, client=admin).is_published
    never = Backoff(first_s=0.02, cap_s=0.05, timeout_s=0.2)
    with pytest.raises(WaitTimeout, match=f"dataset {dataset_id} did not become published in time"):
        waiters.wait_for_published(dataset_id, backoff=never, client=api)


def test_documents(api: CloudClient):
    dataset_id = datasets.create_dataset("documents", client=api)
    first = Document.new("demoNDI")
    first.properties["demoNDI"] = {"value": math.nan, "big": math.inf}
    first_id = documents.add_document(dataset_id, first, client=api)
    stored = documents.get_document(dataset_id, first_id, client=api)
    assert stored["id"] == first_id and math.isnan(stored["demoNDI"]["value"]) and stored["demoNDI"]["big"] == math.inf
    second_id = documents.add_document(dataset_id, first.properties, client=api)  # no de-duplication
    assert documents.get_uploaded_document_ids(dataset_id, client=api) == {first.id: [first_id, second_id]}
    changed = {**first.properties, "demoNDI": {"value": 2}}
    documents.update_document(dataset_id, first_id, changed, client=api)
    assert documents.get_document(dataset_id, first_id, client=api)["demoNDI"] == {"value": 2}
    entries = documents.bulk_fetch(dataset_id, [first_id, second_id, first_id], client=api)
    assert sorted(e["id"] for e in entries) == sorted([first_id, second_id])
    summaries = documents.list_dataset_documents(dataset_id, client=api)
    assert {(s.id, s.ndi_id, s.class_name) for s in summaries} == {(first_id, first.id, "demoNDI"),
                                                                    (second_id, first.id, "demoNDI")}
    assert documents.delete_document(dataset_id, second_id, client=api) is True
    assert [s.id for s in documents.list_deleted_documents(dataset_id, client=api)] == [second_id]
    documents.bulk_delete_documents(dataset_id, [first_id], client=api)
    assert datasets.document_count(dataset_id, client=api) == 0
    assert datasets.document_count(dataset_id, include_deleted=True, client=api) == 2


def test_iter_documents_pages_through_everything(api: CloudClient):
    dataset_id = datasets.create_dataset("many", client=api)
    added = {documents.add_document(dataset_id, Document.new("base"), client=api) for _ in range(7)}
    pages: list[int] = []
    original = documents.list_dataset_documents

    def counting(*args, **kwargs):
        pages.append(kwargs["page"])
        return original(*args, **kwargs)

    documents.list_dataset_documents = counting  # type: ignore[assignment]
    try:
        listed = [s.id for s in documents.iter_documents(dataset_id, page_size=3, client=api)]
    finally:
        documents.list_dataset_documents = original  # type: ignore[assignment]
    assert sorted(listed) == sorted(added) and pages == [1, 2, 3]


def test_ndiquery(api: CloudClient):
    dataset_id = datasets.create_dataset("query", client=api)
    doc = Document.new("demoNDI")
    documents.add_document(dataset_id, doc, client=api)
    documents.add_document(dataset_id, Document.new("base"), client=api)
    found = documents.ndiquery(dataset_id, Query.isa("demoNDI"), client=api)
    assert found.total == 1 and found.documents[0].ndi_id == doc.id and found.documents[0].dataset_id == dataset_id
    by_id = Query("base.id", "exact_string", doc.id)
    assert [s.ndi_id for s in documents.iter_ndiquery("private", by_id, client=api)] == [doc.id]
    with pytest.raises(InvalidArgument, match="'or' cannot be negated"):  # refused before sending
        documents.ndiquery("all", [{"field": "", "operation": "~or", "param1": [], "param2": []}], client=api)
    with pytest.raises(InvalidArgument, match="scope dataset id 'mine'"):
        documents.ndiquery("mine", Query.isa("base"), client=api)


def test_document_zips_up_and_down(api: CloudClient):
    dataset_id = datasets.create_dataset("zips", client=api)
    docs = [Document.new("base") for _ in range(3)]
    docs[0].properties["base"]["name"] = "has NaN"
    docs[0].properties["nan_here"] = math.nan
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("documents.json", json.dumps([d.properties for d in docs]))  # bare NaN token
    url = documents.get_bulk_upload_url(dataset_id, client=api)
    assert httpx.put(url, content=buffer.getvalue()).status_code == 200
    eventually(lambda: datasets.document_count(dataset_id, client=api) == 3)
    ids = [s.id for s in documents.iter_documents(dataset_id, client=api)]
    download = documents.get_bulk_download_url(dataset_id, ids, client=api)
    reply = eventually(lambda: (r := httpx.get(download)).status_code == 200 and r)
    with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
        (name,) = archive.namelist()
        assert "__NDI__NaN__" in archive.read(name).decode()


def test_files_and_bulk_jobs(tmp_path: Path, api: CloudClient):
    dataset_id = datasets.create_dataset("files", client=api)
    uid = new_id()
    source = tmp_path / "one.bin"
    source.write_bytes(b"\x00\x01" * 40_000)
    transfer.put_file(files.get_file_upload_url(dataset_id, uid, client=api), source, client=api)
    eventually(lambda: uid in files.get_uploaded_file_ids(dataset_id, client=api))
    (entry,) = files.list_files(dataset_id, client=api)
    assert (entry.uid, entry.uploaded, entry.size, entry.source_dataset_id) == (uid, True, 80_000, dataset_id)
    details = files.get_file_details(dataset_id, uid, client=api)
    assert transfer.get_file(details["downloadUrl"], tmp_path / "copy.bin", client=api) == 80_000
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()

    zipped = tmp_path / "batch.zip"
    uids = [new_id() for _ in range(3)]
    with zipfile.ZipFile(zipped, "w") as archive:
        for n, name in enumerate(uids):
            archive.writestr(name, bytes([n]) * 1000)
    url, job_id = files.get_file_collection_upload_url(dataset_id, client=api)
    assert job_id and [j.job_id for j in files.list_bulk_uploads(dataset_id, state="queued", client=api)] == [job_id]
    transfer.put_file(url, zipped, client=api)
    job = waiters.wait_for_bulk_upload(job_id, backoff=QUICK, client=api)
    assert (job.state, job.files_extracted, job.total_files) == ("complete", 3, 3)
    waiters.wait_for_all_bulk_uploads(dataset_id, backoff=QUICK, client=api)
    assert set(uids) <= files.get_uploaded_file_ids(dataset_id, client=api)

    broken_url, broken_job = files.get_file_collection_upload_url(dataset_id, client=api)
    assert httpx.put(broken_url, content=b"this is not a zip").status_code == 200
    with pytest.raises(TransferError, match=f"bulk upload job {broken_job} failed"):
        waiters.wait_for_bulk_upload(broken_job or "", backoff=QUICK, client=api)
    with pytest.raises(TransferError, match="1 bulk upload job"):
        waiters.wait_for_all_bulk_uploads(dataset_id, backoff=QUICK, client=api)
    created = files.get_bulk_upload_status(broken_job or "", client=api).raw["createdAt"]  # e.g. ...12.345Z
    with pytest.raises(TransferError):  # a failure in the same second, written without milliseconds
        waiters.wait_for_all_bulk_uploads(dataset_id, since=created[:19] + "Z", backoff=QUICK, client=api)
    later = (datetime.now(timezone.utc) + timedelta(seconds=5)).isoformat()
    waiters.wait_for_all_bulk_uploads(dataset_id, since=later, backoff=QUICK, client=api)  # older failures ignored


def test_file_urls_use_the_datasets_own_organization(fast_cloud: CloudServer):
    owner = fast_cloud.account(organization=f"zz-lab-{new_id()[-8:]}")  # sorts after the member's own
    with CloudClient(owner.base_url, username=owner.email, password=owner.password, retry=FAST_RETRY) as client:
        dataset_id = datasets.create_dataset("shared", client=client)
    member = fast_cloud.account()  # first organization: their own
    fast_cloud.records.add_membership(member.user_id, owner.organization_id)
    with CloudClient(member.base_url, username=member.email, password=member.password, retry=FAST_RETRY) as client:
        assert client.organization_id == member.organization_id
        url = files.get_file_upload_url(dataset_id, new_id(), client=client)
        assert f"/{dataset_id}/" in url and client.dataset_organizations[dataset_id] == owner.organization_id


def test_compute(api: CloudClient):
    session = compute.start_session("hello-world-v1", client=api)
    assert session.status == "RUNNING" and session.session_id
    finished = eventually(lambda: (s := compute.get_session(session.session_id, client=api)).status == "COMPLETED"
                          and s)
    assert set(finished.history) == {"initial-setup", "process", "cleanup"}
    assert session.session_id in [s.session_id for s in compute.list_sessions(client=api)]
    other = compute.start_session("zombie-test-v1", client=api)
    compute.abort_session(other.session_id, client=api)
    assert compute.get_session(other.session_id, client=api).status == "ABORTED"
    with pytest.raises(ValidationError, match="unknown pipeline"):
        compute.start_session("no-such-pipeline", client=api)


def test_compute_stages_are_triggered_and_advanced(tmp_path: Path):
    # stages that never finish by themselves: only the calls below move the session (on a busy machine a
    # quick server's worker could finish it between them)
    with cloud_server(tmp_path / "data", compute_stage_delay_s=3600) as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password, retry=FAST_RETRY,
                         cache=False) as api:
            session = compute.start_session("zombie-test-v1", client=api)
            with pytest.raises(ValidationError, match="no stage 'no-such-stage'"):
                compute.trigger_stage(session.session_id, "no-such-stage", client=api)
            compute.trigger_stage(session.session_id, "initial-setup", client=api)
            for _ in range(2):  # past the last stage: finished
                compute.advance_session(session.session_id, client=api)
            assert compute.get_session(session.session_id, client=api).status == "COMPLETED"
            with pytest.raises(ValidationError, match="is COMPLETED"):
                compute.advance_session(session.session_id, client=api)
