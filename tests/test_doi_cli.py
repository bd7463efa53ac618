"""The command line for metadata and DOIs (doi.md §1.5, checklist item 38), dataset creation with metadata, and
the upload's use of it, against the local NDI Cloud server and a Crossref stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from ndicloud.admin import load_schema
from ndicloud.api import CloudClient, datasets
from ndicloud.core import Dataset
from ndicloud.metadata import MetadataValidationError
from ndicloud.upload import new_dataset, upload_dataset

from cloud_server import Account, CloudServer
from conftest import SHARED, run_cli
from crossref_standin import CrossrefStandIn, crossref_standin

SCHEMA_DIR = SHARED / "crossref-5.3.1"
USER, PASSWORD = "depositor@lab.org/ndic", "Cli-Secret-Pw-7"
EDITOR = {
    "DatasetFullName": "Orientation maps in V1", "DatasetShortName": "v1maps", "Description": ["Imaging data."],
    "Author": [{"givenName": "Ada", "familyName": "Lovelace", "authorRole": ["Corresponding", "Custodian"],
                "digitalIdentifier": {"identifier": "0000-0002-1694-233x"},
                "contactInformation": {"email": "ada@lab.org"}},
               {"givenName": "Charles", "familyName": "Babbage", "authorRole": "1st Author",
                "digitalIdentifier": {"identifier": ""}}],
    "Funding": [{"funder": "NIH"}, {"funder": "NSF"}], "License": "CC BY 4.0",
    "Subjects": [{"SpeciesList": {"Name": "Mus musculus"}}],
    "RelatedPublication": [{"DOI": "10.1523/JNEUROSCI.0001-24.2024", "Publication": "Paper", "PMID": "",
                            "PMCID": ""}],
}


@pytest.fixture
def standin() -> Iterator[CrossrefStandIn]:
    with crossref_standin() as state:
        yield state


@pytest.fixture
def env(cloud: Account, standin: CrossrefStandIn, monkeypatch, tmp_path) -> Account:
    """The CLI pointed at the local NDI Cloud server (logged in from the environment) and the stand-in."""
    monkeypatch.setenv("NDI_CLOUD_URL", cloud.base_url)
    monkeypatch.setenv("NDI_CLOUD_USERNAME", cloud.email)
    monkeypatch.setenv("NDI_CLOUD_PASSWORD", cloud.password)
    monkeypatch.setenv("CROSSREF_SCHEMA_DIR", str(SCHEMA_DIR))
    monkeypatch.setenv("CROSSREF_BASE_URL", standin.url)
    monkeypatch.setenv("DOI_RESOLVER_URL", standin.url)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("CROSSREF_USERNAME", "CROSSREF_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return cloud


@pytest.fixture
def credentials(monkeypatch) -> None:
    monkeypatch.setenv("CROSSREF_USERNAME", USER)
    monkeypatch.setenv("CROSSREF_PASSWORD", PASSWORD)


def write(tmp_path: Path, value, name: str = "metadata.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def api(account: Account) -> CloudClient:
    return CloudClient(account.base_url, username=account.email, password=account.password)


def published(server: CloudServer, account: Account, **metadata) -> str:
    with api(account) as client:
        dataset_id = datasets.create_dataset("Orientation maps", metadata={"license": "MIT", **metadata},
                                             client=client)
    record = server.records.dataset(dataset_id)
    server.records.update_dataset(dataset_id, record.metadata, is_published=1)
    return dataset_id


# ---- 38: metadata validate ------------------------------------------------------------------------------------------

def test_metadata_validate_prints_one_line_per_issue_and_exits_1(capsys, tmp_path):
    path = write(tmp_path, {"name": "", "contributors": [{"firstName": "A", "orcid": "0000-0002-1825-0098"}],
                            "license": "nope"})
    code, out, _ = run_cli(capsys, "metadata", "validate", str(path))
    assert code == 1
    assert out.splitlines() == [
        "name: missing or empty; give the dataset a title",
        "contributors[0].lastName: missing; give the family name (Crossref requires a surname)",
        'contributors[0].orcid: check character is wrong in "0000-0002-1825-0098"; re-copy the iD from orcid.org',
        'license: unknown license "nope"; use a name such as CC-BY-4.0 or a license URL']


def test_metadata_validate_accepts_a_valid_record_and_editor_structure(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "metadata", "validate", str(write(tmp_path, {"name": "ok", "license": "MIT"})))
    assert code == 0 and out.strip().endswith("valid dataset record")
    code, out, _ = run_cli(capsys, "metadata", "validate", str(write(tmp_path, EDITOR, "editor.json")))
    assert code == 0 and "valid MetadataEditor structure" in out


def test_metadata_validate_names_editor_keys(capsys, tmp_path):
    broken = {**EDITOR, "Author": [EDITOR["Author"][0], {"givenName": "B", "authorRole": "x",
                                                          "digitalIdentifier": {"identifier": ""}}]}
    code, out, _ = run_cli(capsys, "metadata", "validate", str(write(tmp_path, broken)), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["kind"] == "editor" and not report["valid"]
    assert {"field": "Author[1].familyName", "message": "missing", "severity": "error"} in report["issues"]


def test_metadata_validate_for_deposit_and_bad_files(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "metadata", "validate", str(write(tmp_path, {"name": "ok"})), "--for-deposit")
    assert code == 1 and any(line.startswith("_id: missing") for line in out.splitlines())
    assert "license: warning: no license" in out
    code, _, err = run_cli(capsys, "metadata", "validate", str(tmp_path / "absent.json"))
    assert code == 1 and "cannot read" in err
    (tmp_path / "bad.json").write_text("{not json")
    code, _, err = run_cli(capsys, "metadata", "validate", str(tmp_path / "bad.json"))
    assert code == 1 and "is not JSON" in err


# ---- datasets create --metadata, upload -----------------------------------------------------------------------------

def test_datasets_create_with_editor_metadata(env, capsys, tmp_path):
    code, out, err = run_cli(capsys, "datasets", "create", "Maps", "--metadata", str(write(tmp_path, EDITOR)),
                             "--json")
    assert code == 0, err
    with api(env) as client:
        record = datasets.get_dataset(json.loads(out)["id"], client=client).raw
    assert record["name"] == "Maps" and record["abstract"] == "Imaging data." and record["doi"] == ""
    assert record["contributors"][0]["orcid"] == "https://orcid.org/0000-0002-1694-233X"
    assert [p["lastName"] for p in record["correspondingAuthors"]] == ["Lovelace"]
    assert record["funding"] == [{"source": "NIH"}, {"source": "NSF"}]
    assert record["associatedPublications"] == [{"DOI": "10.1523/JNEUROSCI.0001-24.2024", "title": "Paper"}]


def test_datasets_create_refuses_invalid_metadata_and_creates_nothing(env, capsys, tmp_path):
    bad = {"name": "x", "contributors": [{"lastName": "A", "orchid": "0000-0002-1825-0097"}]}
    code, _, err = run_cli(capsys, "datasets", "create", "Maps", "--metadata", str(write(tmp_path, bad)))
    assert code == 1 and "contributors[0].orchid: misspelt key; rename it to orcid" in err
    with api(env) as client:
        assert list(datasets.iter_datasets(client=client)) == []


def test_new_dataset_sends_the_converted_editor_metadata(client, matlab_dataset):
    with Dataset.open(matlab_dataset, readonly=False) as dataset:
        cloud_id = new_dataset(dataset, metadata=EDITOR, client=client)
    record = datasets.get_dataset(cloud_id, client=client).raw
    assert record["name"] == "Orientation maps in V1" and record["branchName"] == "v1maps"
    assert record["contributors"][0]["contact"] == "ada@lab.org" and "orchid" not in record["contributors"][0]


def test_upload_refuses_invalid_metadata_before_creating_anything(client, matlab_dataset):
    with pytest.raises(MetadataValidationError, match=r"Author\[0\]\.familyName: missing"):
        upload_dataset(matlab_dataset, metadata={**EDITOR, "Author": [{"givenName": "A", "authorRole": "x",
                                                                        "digitalIdentifier": {"identifier": ""}}]},
                       client=client)
    assert list(datasets.iter_datasets(client=client)) == []


# ---- doi deposit-xml, register, status ------------------------------------------------------------------------------

def test_deposit_xml_writes_valid_xml_and_warns_about_guards(env, cloud_service, capsys, tmp_path):
    with api(env) as client:
        draft = datasets.create_dataset("Draft", metadata={"license": "MIT"}, client=client)
    output = tmp_path / "deposit.xml"
    code, out, err = run_cli(capsys, "doi", "deposit-xml", draft, "-o", str(output))
    assert code == 0, err
    assert "isPublished: the dataset is not published" in err and "not reserved" in out
    assert load_schema(SCHEMA_DIR).validate(etree.parse(str(output)))
    code, out, _ = run_cli(capsys, "doi", "deposit-xml", draft)
    assert code == 0 and out.startswith("<?xml") and "<doi_batch" in out


def test_register_dry_run_needs_no_credentials_and_sends_nothing(env, cloud_service, standin, capsys):
    dataset_id = published(cloud_service, env)
    code, out, err = run_cli(capsys, "doi", "register", dataset_id, "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dryRun"] and not report["reserved"] and report["receipt"] is None and "<doi_batch" in report["xml"]
    assert standin.requests == []


def test_register_stores_the_doi_and_never_prints_the_password(env, credentials, cloud_service, standin, capsys,
                                                                tmp_path):
    dataset_id = published(cloud_service, env)
    code, out, err = run_cli(capsys, "doi", "register", dataset_id, "--poll-interval", "0.01", "--json",
                             "--receipts", str(tmp_path / "receipts"))
    assert code == 0, err
    report = json.loads(out)
    assert report["stored"] and report["status"]["state"] == "completed" and report["system"] == "production"
    assert PASSWORD not in out + err and USER not in out + err
    with api(env) as client:
        assert datasets.get_dataset(dataset_id, client=client).raw["doi"] == f"https://doi.org/{report['doi']}"
    code, out, _ = run_cli(capsys, "doi", "register", dataset_id)
    assert code == 1  # it has a DOI now


def test_register_option_and_credential_errors(env, cloud_service, standin, capsys):
    dataset_id = published(cloud_service, env)
    code, _, err = run_cli(capsys, "doi", "register", dataset_id, "--force")
    assert code == 2 and "--force is accepted only together with --test" in err
    code, _, err = run_cli(capsys, "doi", "register", dataset_id)
    assert code == 1 and "CROSSREF_USERNAME and CROSSREF_PASSWORD" in err
    assert standin.requests == []


def test_status_exit_codes_contents_and_store(env, credentials, cloud_service, standin, capsys, tmp_path):
    dataset_id = published(cloud_service, env)
    receipts = str(tmp_path / "receipts")
    code, out, err = run_cli(capsys, "doi", "register", dataset_id, "--no-wait", "--json", "--receipts", receipts)
    assert code == 0, err
    report = json.loads(out)
    file_name, doi = report["fileName"], report["doi"]
    assert report["submitted"] and not report["stored"]

    code, out, _ = run_cli(capsys, "doi", "status", file_name)  # first look: not picked up yet
    assert code == 2 and f"{file_name}: pending (unknown_submission)" in out
    code, out, _ = run_cli(capsys, "doi", "status", file_name, "--contents")
    assert code == 0 and doi in out and out.startswith("<?xml")
    code, out, err = run_cli(capsys, "doi", "status", file_name, "--wait", "--poll-interval", "0.01", "--store",
                             dataset_id, "--receipts", receipts)
    assert code == 0, err
    assert f"{doi}: Success: Successfully added" in out and f"stored https://doi.org/{doi}" in out
    with api(env) as client:
        assert datasets.get_dataset(dataset_id, client=client).raw["doi"] == f"https://doi.org/{doi}"
    code, out, _ = run_cli(capsys, "doi", "status", file_name, "--json")
    assert code == 0 and json.loads(out)["counts"]["success"] == 2 and PASSWORD not in out

    code, _, err = run_cli(capsys, "doi", "status", file_name, "--test", "--store", dataset_id)
    assert code == 2 and "production" in err


def test_status_of_a_failed_deposit_exits_1(env, credentials, cloud_service, standin, capsys):
    standin.outcome = "failure"
    dataset_id = published(cloud_service, env)
    code, out, err = run_cli(capsys, "doi", "register", dataset_id, "--poll-interval", "0.01")
    assert code == 1 and "Crossref refused" in err
    file_name = next(iter(standin.deposits))
    code, out, _ = run_cli(capsys, "doi", "status", file_name)
    assert code == 1 and "Failure: Deposit failed" in out
