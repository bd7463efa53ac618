"""The registration workflow against the local NDI Cloud server and a Crossref stand-in (doi.md §1, §4.5;
checklist items 17, 20, 26-35)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndicloud.admin import (
    CrossrefClient,
    CrossrefSubmissionError,
    DatasetUnavailable,
    DepositValidationError,
    DoiStoreError,
    DoiUsageError,
    MissingCredentials,
    RegistrationRefused,
    SubmissionFailed,
    SubmissionPending,
    check_submission,
    finish_registration,
    register_dataset_doi,
)
from ndicloud.admin import registration as registration_module
from ndicloud.admin.guards import check_guards
from ndicloud.api import CloudClient, RetryPolicy, datasets
from ndicloud.metadata import PLACEHOLDER_DOI, MetadataValidationError

from cloud_server import CloudServer
from conftest import FAST_RETRY, SHARED
from crossref_standin import CrossrefStandIn, crossref_standin

SCHEMA_DIR = SHARED / "crossref-5.3.1"
USER, PASSWORD = "depositor@lab.org/ndic", "Very-Secret-Pw-42"
METADATA = {
    "abstract": "Calcium imaging in V1.", "license": "CC-BY-4.0",
    "contributors": [{"firstName": "Ada", "lastName": "Lovelace", "orcid": "https://orcid.org/0000-0002-1825-0097"},
                     {"lastName": "Babbage"}],
    "funding": [{"source": "NIH"}, {"source": "NSF"}],
    "associatedPublications": [{"DOI": "10.1523/JNEUROSCI.0001-24.2024", "title": "Paper"}],
}


@pytest.fixture(autouse=True)
def settings(monkeypatch, tmp_path, standin) -> None:
    for name in ("CROSSREF_USERNAME", "CROSSREF_PASSWORD", "CROSSREF_BASE_URL", "CROSSREF_DEPOSITOR_NAME",
                 "CROSSREF_DEPOSITOR_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CROSSREF_SCHEMA_DIR", str(SCHEMA_DIR))
    monkeypatch.setenv("DOI_RESOLVER_URL", standin.url)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def standin() -> Iterator[CrossrefStandIn]:
    with crossref_standin() as state:
        yield state


@pytest.fixture
def receipts(tmp_path) -> Path:
    return tmp_path / "receipts"


def publish(server: CloudServer, dataset_id: str) -> None:
    record = server.records.dataset(dataset_id)
    server.records.update_dataset(dataset_id, record.metadata, is_published=1)


def published_dataset(server: CloudServer, client: CloudClient, **changes) -> str:
    dataset_id = datasets.create_dataset("Orientation maps", metadata={**METADATA, **changes}, client=client)
    publish(server, dataset_id)
    return dataset_id


def crossref(standin: CrossrefStandIn, *, test: bool = False) -> CrossrefClient:
    return CrossrefClient(test=test, base_url=standin.url, username=USER, password=PASSWORD,
                          retry=RetryPolicy(retries=1, base_s=0.01, cap_s=0.01))


def register(standin, client, dataset_id, receipts, *, test=False, **options):
    options = {"timeout": 5.0, "poll_interval": 0.01, "max_poll_interval": 0.02, **options}
    return register_dataset_doi(dataset_id, client=client, crossref=crossref(standin, test=test),
                                receipts_dir=receipts, **options)


def stored_doi(client: CloudClient, dataset_id: str) -> str:
    return datasets.get_dataset(dataset_id, client=client).raw.get("doi")


def receipt_files(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


# ---- 26: success ----------------------------------------------------------------------------------------------------

def test_success_stores_the_doi_on_the_dataset(cloud_service, client, standin, receipts):
    dataset_id = published_dataset(cloud_service, client)
    result = register(standin, client, dataset_id, receipts)
    doi, status = result  # NDI-matlab's two outputs
    assert doi == result.doi and status.completed and status.record_for(doi).status == "Success"
    assert result.stored and result.submitted and result.system == "production"
    assert stored_doi(client, dataset_id) == f"https://doi.org/{doi}"
    deposited = standin.deposits[result.file_name]
    assert deposited.dataset_doi == doi and deposited.xml == result.xml
    assert [r.path for r in standin.requests][:2] == [f"/api/handles/{doi}", "/servlet/deposit"]
    [receipt] = receipt_files(receipts)
    assert receipt["state"] == "stored" and receipt["doi"] == doi and receipt["fileName"] == result.file_name
    assert [e["state"] for e in receipt["events"]] == ["submitted", "registered", "stored"]


def test_warning_for_the_dataset_doi_also_stores(cloud_service, client, standin, receipts):
    standin.outcome = "warning"
    dataset_id = published_dataset(cloud_service, client)
    result = register(standin, client, dataset_id, receipts)
    assert result.stored and result.status.record_for(result.doi).status == "Warning"
    assert stored_doi(client, dataset_id) == f"https://doi.org/{result.doi}"


def test_a_taken_doi_is_drawn_again(cloud_service, client, standin, receipts, monkeypatch):
    draws = iter(["10.63884/ndic.2025.taken000", "10.63884/ndic.2025.fresh000"])
    monkeypatch.setattr(registration_module, "mint_doi", lambda: next(draws))
    standin.registered.add("10.63884/ndic.2025.taken000")
    result = register(standin, client, published_dataset(cloud_service, client), receipts)
    assert result.doi == "10.63884/ndic.2025.fresh000"


# ---- 27, 28: failure, timeout, test system --------------------------------------------------------------------------

def test_failure_leaves_the_dataset_unchanged(cloud_service, client, standin, receipts):
    standin.outcome = "failure"
    dataset_id = published_dataset(cloud_service, client)
    with pytest.raises(SubmissionFailed) as caught:
        register(standin, client, dataset_id, receipts)
    file_name = next(iter(standin.deposits))
    assert caught.value.file_name == file_name and file_name in str(caught.value)
    assert "invalid resource URL" in str(caught.value)
    assert stored_doi(client, dataset_id) == ""
    assert receipt_files(receipts)[0]["state"] == "failed"


def test_timestamp_conflict_says_a_larger_timestamp_is_needed(cloud_service, client, standin, receipts):
    standin.outcome = "conflict"
    with pytest.raises(SubmissionFailed, match="needs a larger timestamp"):
        register(standin, client, published_dataset(cloud_service, client), receipts)


def test_timeout_leaves_the_dataset_unchanged_and_says_how_to_resume(cloud_service, client, standin, receipts):
    standin.outcome = "never"
    dataset_id = published_dataset(cloud_service, client)
    with pytest.raises(SubmissionPending) as caught:
        register(standin, client, dataset_id, receipts, timeout=0.1)
    file_name = next(iter(standin.deposits))
    assert caught.value.file_name == file_name
    assert f"ndi-cloud doi status {file_name} --wait --store {dataset_id}" in str(caught.value)
    assert stored_doi(client, dataset_id) == ""
    assert receipt_files(receipts)[0]["state"] == "pending"


def test_the_test_system_never_stores(cloud_service, client, standin, receipts):
    dataset_id = published_dataset(cloud_service, client)
    result = register(standin, client, dataset_id, receipts, test=True)
    assert result.status.succeeded and result.system == "test" and not result.stored
    assert stored_doi(client, dataset_id) == ""


def test_no_wait_returns_once_queued(cloud_service, client, standin, receipts):
    dataset_id = published_dataset(cloud_service, client)
    result = register(standin, client, dataset_id, receipts, wait=False)
    assert result.submitted and result.status is None and not result.stored
    assert [r.path for r in standin.crossref_requests()] == ["/servlet/deposit"]
    assert stored_doi(client, dataset_id) == ""


# ---- 29: write-back failure, finished later -------------------------------------------------------------------------

def test_a_failed_write_back_carries_the_doi_and_status_store_finishes(cloud_service, client, standin, receipts):
    dataset_id = published_dataset(cloud_service, client)
    stranger = cloud_service.account()  # can read the published dataset, cannot change it
    with CloudClient(stranger.base_url, username=stranger.email, password=stranger.password,
                     retry=FAST_RETRY) as other, pytest.raises(DoiStoreError) as caught:
        register(standin, other, dataset_id, receipts)
    doi, file_name = caught.value.doi, next(iter(standin.deposits))
    assert doi in str(caught.value) and f"ndi-cloud doi status {file_name} --store {dataset_id}" in str(caught.value)
    assert stored_doi(client, dataset_id) == ""
    assert receipt_files(receipts)[0]["state"] == "store-failed"

    with crossref(standin) as crossref_client:
        status = check_submission(file_name, crossref=crossref_client)
        assert finish_registration(file_name, dataset_id, status, client=client, crossref=crossref_client,
                                   receipts_dir=receipts) == doi
    assert stored_doi(client, dataset_id) == f"https://doi.org/{doi}"
    assert receipt_files(receipts)[0]["state"] == "stored"


# ---- 30, 31: guards and force ---------------------------------------------------------------------------------------

def test_a_dataset_with_a_doi_is_refused(cloud_service, client, standin, receipts):
    dataset_id = published_dataset(cloud_service, client, doi="https://doi.org/10.5061/dryad.abc123")
    with pytest.raises(RegistrationRefused, match=r"doi: the dataset already has DOI 10\.5061/dryad\.abc123") as caught:
        register(standin, client, dataset_id, receipts)
    assert caught.value.field == "doi" and standin.crossref_requests() == []


def test_an_unpublished_dataset_is_refused(client, standin, receipts):
    dataset_id = datasets.create_dataset("draft", metadata=METADATA, client=client)
    with pytest.raises(RegistrationRefused, match="isPublished: the dataset is not published") as caught:
        register(standin, client, dataset_id, receipts)
    assert caught.value.field == "isPublished" and standin.requests == []


def test_a_deleted_dataset_is_refused():
    with pytest.raises(RegistrationRefused, match="isDeleted: the dataset is deleted") as caught:
        check_guards({"isPublished": True, "isDeleted": True})
    assert caught.value.field == "isDeleted"


def test_the_matlab_placeholder_counts_as_no_doi(cloud_service, client, standin, receipts):
    dataset_id = datasets.create_dataset("Orientation maps", client=client)
    datasets.update_dataset(dataset_id, {**METADATA, "doi": PLACEHOLDER_DOI}, client=client)
    publish(cloud_service, dataset_id)
    result = register(standin, client, dataset_id, receipts)
    assert any("placeholder" in w for w in result.warnings) and result.stored
    assert stored_doi(client, dataset_id) == f"https://doi.org/{result.doi}"


def test_force_lifts_the_guards_only_on_the_test_system(client, standin, receipts):
    dataset_id = datasets.create_dataset("draft", metadata=METADATA, client=client)
    with pytest.raises(DoiUsageError, match="only together with the test system"):
        register(standin, client, dataset_id, receipts, force=True)
    result = register(standin, client, dataset_id, receipts, test=True, force=True)
    assert result.status.succeeded and not result.stored
    assert any("isPublished" in w and "--force" in w for w in result.warnings)


def test_an_unreadable_dataset_is_named(client, standin, receipts):
    with pytest.raises(DatasetUnavailable, match=r"cannot read dataset 0123456789abcdef01234567: .*404"):
        register(standin, client, "0123456789abcdef01234567", receipts)


# ---- 17, 32, 33: nothing sent when it must not be -------------------------------------------------------------------

def test_dry_run_sends_nothing_writes_nothing_and_needs_no_credentials(cloud_service, client, standin, receipts,
                                                                       tmp_path):
    dataset_id = published_dataset(cloud_service, client)
    before = client.requests
    output = tmp_path / "deposit.xml"
    result = register_dataset_doi(dataset_id, client=client, dry_run=True, receipts_dir=receipts, output=output,
                                  crossref=CrossrefClient(base_url=standin.url))
    assert result.dry_run and not result.reserved and not result.submitted and not result.stored
    assert output.read_bytes() == result.xml and result.receipt is None
    assert standin.requests == [] and not receipts.exists()
    assert client.requests - before == 1  # one read of the dataset
    assert stored_doi(client, dataset_id) == ""


def test_missing_credentials_fail_before_any_request(cloud_service, client, standin, receipts):
    dataset_id = published_dataset(cloud_service, client)
    before = client.requests
    with pytest.raises(MissingCredentials) as caught:
        register_dataset_doi(dataset_id, client=client, crossref=CrossrefClient(base_url=standin.url),
                             receipts_dir=receipts)
    assert "CROSSREF_USERNAME" in str(caught.value) and "CROSSREF_PASSWORD" in str(caught.value)
    assert standin.requests == [] and client.requests == before


def test_invalid_metadata_stops_before_anything_is_sent(cloud_service, client, standin, receipts):
    dataset_id = published_dataset(cloud_service, client, license="Anything Goes")
    with pytest.raises(MetadataValidationError, match="license: unknown license"):
        register(standin, client, dataset_id, receipts)
    assert standin.crossref_requests() == [] and not receipts.exists()


def test_invalid_deposit_xml_stops_before_anything_is_sent(cloud_service, client, standin, receipts, monkeypatch):
    real = registration_module.build_deposit

    def without_surnames(*args, **kwargs):
        deposit = real(*args, **kwargs)
        return type(deposit)(**{**deposit.__dict__, "xml": deposit.xml.replace(b"<surname>Babbage</surname>", b"")})
    monkeypatch.setattr(registration_module, "build_deposit", without_surnames)
    with pytest.raises(DepositValidationError) as caught:
        register(standin, client, published_dataset(cloud_service, client), receipts)
    assert any("has no surname" in e for e in caught.value.errors)
    assert any(e.startswith("line ") for e in caught.value.errors)
    assert standin.crossref_requests() == [] and not receipts.exists()


# ---- 34, 35: secrets and receipts -----------------------------------------------------------------------------------

def test_the_receipt_exists_before_the_deposit_is_posted(cloud_service, client, standin, receipts):
    seen: list[dict] = []

    def check(request):
        file_name = request.files["fname"][0]
        seen.extend(r for r in receipt_files(receipts) if r["fileName"] == file_name)
    standin.on_deposit = check
    result = register(standin, client, published_dataset(cloud_service, client), receipts)
    [receipt] = seen
    assert receipt["doi"] == result.doi and receipt["doiBatchId"] == result.doi_batch_id
    assert receipt["state"] == "built" and receipt["datasetId"] == result.dataset_id
    assert receipt["system"] == "production" and receipt["baseUrl"] == standin.url
    assert receipt["xml"].encode() == result.xml and receipt["timestamp"] == result.timestamp


def test_the_password_appears_nowhere(cloud_service, client, standin, receipts):
    result = register(standin, client, published_dataset(cloud_service, client), receipts)
    standin.outcome = "failure"
    with pytest.raises(SubmissionFailed) as failed:
        register(standin, client, published_dataset(cloud_service, client), receipts)
    standin.status_errors = [500, 500, 500, 500]
    with pytest.raises(CrossrefSubmissionError) as transport:
        check_submission(result.file_name, crossref=crossref(standin))
    texts = [json.dumps(result.json()), str(failed.value), str(transport.value),
             *(p.read_text() for p in receipts.glob("*.json"))]
    for text in texts:
        assert PASSWORD not in text and USER not in text
    assert "pwd=***" in str(transport.value)


# ---- 20: update re-deposit ------------------------------------------------------------------------------------------

def test_update_keeps_the_doi_with_a_larger_timestamp_than_the_last_receipt(cloud_service, client, standin, receipts):
    doi = "10.63884/ndic.2024.abcd1234"
    dataset_id = published_dataset(cloud_service, client, doi=doi)  # stored bare: written back as the URL
    receipts.mkdir(parents=True)
    (receipts / "dataset_batch-29991231235959-x.json").write_text(json.dumps(
        {"datasetId": dataset_id, "doi": doi, "timestamp": 29991231235959, "fileName": "x.xml"}))
    result = register(standin, client, dataset_id, receipts, update=True)
    assert result.doi == doi and result.timestamp > 29991231235959
    assert not any(r.path.startswith("/api/handles/") for r in standin.requests)  # never mints
    assert stored_doi(client, dataset_id) == f"https://doi.org/{doi}"


def test_update_needs_an_ndi_cloud_doi(cloud_service, client, standin, receipts):
    with pytest.raises(RegistrationRefused, match="no DOI to update"):
        register(standin, client, published_dataset(cloud_service, client), receipts, update=True)
    other = published_dataset(cloud_service, client, doi="10.5061/dryad.abc123")
    with pytest.raises(RegistrationRefused, match="not an NDI Cloud DOI"):
        register(standin, client, other, receipts, update=True)


# ---- the public names NDI users expect (python-api.md) --------------------------------------------------------------

def test_matlab_style_call_with_settings_from_the_environment(cloud_service, client, standin, tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSREF_USERNAME", USER)
    monkeypatch.setenv("CROSSREF_PASSWORD", PASSWORD)
    monkeypatch.setenv("CROSSREF_BASE_URL", standin.url)
    dataset_id = published_dataset(cloud_service, client)
    doi, status = register_dataset_doi(dataset_id=dataset_id, use_test_system=True, client=client,
                                       poll_interval=0.01, max_poll_interval=0.02)
    assert status.succeeded and standin.deposits[next(iter(standin.deposits))].dataset_doi == doi
    # the receipt went to the user state folder (XDG_STATE_HOME here)
    assert len(receipt_files(tmp_path / "state" / "ndi-cloud" / "doi-receipts")) == 1


def test_both_module_spellings_give_the_same_functions():
    import ndicloud.admin as admin
    import ndicloud.doi as doi
    from ndicloud.admin.crossref import build_deposit
    from ndicloud.metadata import create_cloud_metadata_struct, must_be_valid_metadata

    for name in ("register_dataset_doi", "create_new_doi", "check_submission", "mint_doi", "build_deposit",
                 "validate_deposit", "parse_diagnostic", "CrossrefClient", "store_dataset_doi", "load_schema"):
        assert getattr(doi, name) is getattr(admin, name)
    assert doi.build_deposit is build_deposit
    assert callable(create_cloud_metadata_struct) and callable(must_be_valid_metadata)
