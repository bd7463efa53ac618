"""Local NDI Cloud server: fuzzed from its own OpenAPI description (``GET /openapi.json``) with schemathesis.

Every documented operation gets generated requests (valid and invalid bodies, query strings and path parameters),
sent over HTTP with a logged-in user's token: once as generated, and once with the path parameters naming that
user's own dataset, document, organization, bulk job and compute session, so the generated bodies reach the
routes' logic rather than only their 404s. Each response must not be a server error, and must match the documented
shape and media type where the description gives one (cloud-api §3.5, §4).

The default run is short, seeded and derandomized, so it is part of the normal ``pytest`` run. A longer fuzz::

    NDI_FUZZ_EXAMPLES=200 NDI_FUZZ_SEED=random pytest tests/test_server_fuzz.py

``NDI_FUZZ_EXAMPLES`` sets the examples per operation (default 8); ``NDI_FUZZ_SEED`` a seed, or ``random`` for a
fresh one each run (hypothesis prints it with any failure so it can be replayed); unset, the run is derandomized.

Each operation is one subtest driven through ``APIOperation.as_strategy``: schemathesis's own pytest loader for a
schema from a fixture (``schemathesis.pytest.from_fixture``) does not run under pytest 9 (it reads a node attribute
pytest no longer has), and the description is only known once the server runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ndicloud.core import Document

from cloud_server import Account, CloudServer, cloud_server

EXAMPLES = int(os.environ.get("NDI_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("NDI_FUZZ_SEED", "")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def fuzz_settings(test, examples: int = EXAMPLES):
    """Few examples, no shrinking; the same examples every run unless a seed (or ``random``) is given."""
    test = settings(max_examples=examples, deadline=None, derandomize=SEED == "", database=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))(test)
    return seed(int(SEED))(test) if SEED not in ("", "random") else test


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """A server of its own: fuzzing creates many users and datasets."""
    with cloud_server(tmp_path_factory.mktemp("fuzz-cloud"), document_ingest_delay_s=0.02, zip_extract_delay_s=0.02,
                      download_delay_s=0.02, file_registration_delay_s=0.02, worker_interval_s=0.01,
                      compute_stage_delay_s=3600.0) as server:  # sessions stay put
        yield server


@pytest.fixture(scope="module")
def fuzzer(fuzz_server: CloudServer) -> Account:
    return fuzz_server.account()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: CloudServer):
    document = httpx.get(f"{fuzz_server.config.base_url}/openapi.json").raise_for_status().json()
    return schemathesis.openapi.from_dict(document)


HTTP = httpx.Client(timeout=30)  # one client: a new one per request costs more than the request


def own_resources(account: Account) -> dict[str, str]:
    """Path parameters naming things the account owns, made afresh for each operation (a fuzzed one may delete
    them)."""
    base, headers = account.base_url, account.headers
    dataset_id = HTTP.post(f"{base}/organizations/{account.organization_id}/datasets", json={"name": "fuzzed"},
                           headers=headers).raise_for_status().json()["id"]
    document_id = HTTP.post(f"{base}/datasets/{dataset_id}/documents", content=Document.new("demoNDI").to_json(),
                            headers=headers).raise_for_status().json()["id"]
    job = HTTP.post(f"{base}/datasets/{account.organization_id}/{dataset_id}/files/bulk",
                    headers=headers).raise_for_status().json()
    session = HTTP.post(f"{base}/compute/start", json={"pipelineId": "hello-world-v1"},
                        headers=headers).raise_for_status().json()
    return {"dataset_id": dataset_id, "document_id": document_id, "organization_id": account.organization_id,
            "user_id": account.user_id, "job_id": job["jobId"], "session_id": session["sessionId"]}


def operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


def cases(operation) -> st.SearchStrategy:
    """Requests the description allows, and requests it forbids (wrong types, missing fields)."""
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))


def fuzz_operation(operation, base_url: str, headers: dict[str, str], account: Account,
                   session: requests.Session) -> None:
    checks = CHECKS
    if operation.definition.raw.get("x-not-implemented"):  # documented as 501 only (cloud-api §10.7)
        checks = [status_code_conformance, response_schema_conformance]

    resources = own_resources(account) if operation.path_parameters else {}

    @fuzz_settings
    @given(case=cases(operation))
    def fuzz(case) -> None:
        case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=checks)
        owned = {name: value for name, value in resources.items() if name in (case.path_parameters or {})}
        if owned:
            case.path_parameters = {**case.path_parameters, **owned}
            case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=checks)

    fuzz()


def test_no_server_errors_and_documented_shapes(api_schema, fuzz_server: CloudServer, fuzzer: Account,
                                                subtests: pytest.Subtests) -> None:
    session = requests.Session()  # one connection for all requests: fast
    for operation in operations(api_schema):
        headers = fuzzer.headers
        if operation.path == "/v1/auth/logout":  # would revoke the token every other request uses
            headers = {"Authorization": f"Bearer {fuzz_server.login(fuzzer.email, fuzzer.password)}"}
        with subtests.test(msg=operation.label):
            fuzz_operation(operation, fuzz_server.config.base_url, headers, fuzzer, session)


def test_the_description_is_served_and_complete(fuzz_server: CloudServer) -> None:
    """Bodies, query parameters and error shapes are described, so the fuzzing above reaches the routes' logic."""
    document = httpx.get(f"{fuzz_server.config.base_url}/openapi.json").raise_for_status().json()
    operations = {(m, p): op for p, ops in document["paths"].items() for m, op in ops.items()}
    assert len({op["operationId"] for op in operations.values()}) == len(operations)
    assert all("422" not in op["responses"] for op in operations.values())
    assert "requestBody" in operations["post", "/v1/datasets/{dataset_id}/documents"]
    names = [p["name"] for p in operations["get", "/v1/datasets/{dataset_id}/documents"]["parameters"]]
    assert {"dataset_id", "page", "pageSize"} <= set(names)
    detail = operations["get", "/v1/datasets/{dataset_id}"]["responses"]
    assert detail["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DatasetDetail"}
    assert detail["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}




# Defects the fuzzing found, each answered 500 before.

HUGE_PAGE = str(2**70)


@pytest.mark.parametrize("path", ["/datasets/published", "/datasets/deleted", "/organizations/{org}/datasets",
                                  "/datasets/{dataset}/documents", "/datasets/{dataset}/documents/deleted"])
def test_a_page_beyond_any_possible_result_is_a_400(fuzz_server: CloudServer, fuzzer: Account, path: str) -> None:
    dataset_id = fuzzer.new_dataset("paged")
    url = fuzzer.base_url + path.replace("{org}", fuzzer.organization_id).replace("{dataset}", dataset_id)
    reply = httpx.get(url, params={"page": HUGE_PAGE}, headers=fuzzer.headers)
    assert reply.status_code == 400, reply.text
    assert HUGE_PAGE in reply.json()["error"]
    far = httpx.get(url, params={"page": str(10**9)}, headers=fuzzer.headers)  # far, but a page: just empty
    assert far.status_code == 200, far.text
    assert far.json()["documents" if "documents" in path else "datasets"] == []


def test_a_huge_page_of_a_query_is_a_400(fuzz_server: CloudServer, fuzzer: Account) -> None:
    reply = httpx.post(f"{fuzzer.base_url}/ndiquery", params={"page": HUGE_PAGE}, headers=fuzzer.headers,
                       json={"searchstructure": [{"field": "base.id", "operation": "hasfield"}], "scope": "all"})
    assert reply.status_code == 400, reply.text


@pytest.mark.parametrize("pipeline", [[], {}, ["hello-world-v1"], 1, None])
def test_a_pipeline_id_that_is_not_a_string_is_a_400(fuzzer: Account, pipeline: object) -> None:
    reply = httpx.post(f"{fuzzer.base_url}/compute/start", json={"pipelineId": pipeline}, headers=fuzzer.headers)
    assert reply.status_code == 400, reply.text
    assert "unknown pipeline" in reply.json()["error"]
