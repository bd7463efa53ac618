"""Local NDI Cloud server: fuzzed from its own OpenAPI description (``GET /openapi.json``) with schemathesis.

Every documented operation gets generated requests (valid and invalid bodies, query strings and path parameters),
sent over HTTP with a logged-in user's token: once as generated, and once with the path parameters naming that
user's own dataset, document, organization, bulk job and compute session, so the generated bodies reach the
routes' logic rather than only their 404s. Each response must not be a server error, and must match the documented
shape and media type where the description gives one (cloud-api §3.5, §4).

Access (cloud-api §10.3), extending ``test_server_access_matrix.py`` from the description: every operation gets
well-formed generated requests aimed at another organization's private things (path parameters and ids in bodies
naming its unpublished dataset, document, file, stored bytes, bulk job and compute session), sent with no token,
with tokens forged for that organization's user (another key; no signature) and with another organization's token.
Those naming its things are refused (401, 403, 404; storage 400 or 403); none shows its private ids; and afterwards
its data reads exactly as before.

The default run is short, seeded and derandomized, so it is part of the normal ``pytest`` run. A longer fuzz::

    NDI_FUZZ_EXAMPLES=200 NDI_FUZZ_SEED=random pytest tests/test_server_fuzz.py

``NDI_FUZZ_EXAMPLES`` sets the examples per operation (default 8); ``NDI_FUZZ_SEED`` a seed, or ``random`` for a
fresh one each run (hypothesis prints it with any failure so it can be replayed); unset, the run is derandomized.

Each operation is one subtest driven through ``APIOperation.as_strategy``: schemathesis's own pytest loader for a
schema from a fixture (``schemathesis.pytest.from_fixture``) does not run under pytest 9 (it reads a node attribute
pytest no longer has), and the description is only known once the server runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
import requests
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from cloud_server import Account, CloudServer
from fuzz_helpers import (
    EXAMPLES,
    PROFILE,
    TIMEOUT_S,
    Victim,
    aim_at,
    api_description,
    fuzz_cloud_server,
    fuzz_operation,
    fuzz_settings,
    make_victim,
    operations,
    own_resources,
    snapshot,
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with fuzz_cloud_server(tmp_path_factory.mktemp("fuzz-cloud")) as server:
        yield server


@pytest.fixture(scope="module")
def fuzzer(fuzz_server: CloudServer) -> Account:
    return fuzz_server.account()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: CloudServer):
    return api_description(fuzz_server)


def test_no_server_errors_and_documented_shapes(api_schema, fuzz_server: CloudServer, fuzzer: Account,
                                                subtests: pytest.Subtests) -> None:
    session = requests.Session()  # one connection for all requests: fast
    for operation in operations(api_schema):
        headers = fuzzer.headers
        if operation.path == "/v1/auth/logout":  # would revoke the token every other request uses
            headers = {"Authorization": f"Bearer {fuzz_server.login(fuzzer.email, fuzzer.password)}"}
        with subtests.test(msg=operation.label):
            resources = own_resources(fuzzer) if operation.path_parameters else {}
            fuzz_operation(operation, fuzz_server.config.base_url, headers, resources, session)


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
    assert "413" in operations["post", "/v1/datasets/{dataset_id}/documents"]["responses"]  # it reads a body
    assert "413" not in detail
    assert "409" in operations["post", "/v1/users/me/matlab-license"]["responses"]




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


# Access (cloud-api §10.3): every documented operation, aimed at another organization's private things.

FORGED_SECRET = "not-the-server-secret-but-long-enough-for-hs256"


@pytest.fixture(scope="module")
def victim(fuzz_server: CloudServer) -> Victim:
    return make_victim(fuzz_server)


def callers(fuzz_server: CloudServer, victim: Victim) -> dict[str, dict[str, str]]:
    """No token, forged tokens naming the victim (another key; no signature), and another organization's user."""
    now = int(time.time())
    claims = {"sub": victim.account.user_id, "email": victim.account.email, "iat": now, "exp": now + 600}
    outsider = fuzz_server.account()
    return {"anonymous": {},
            "forged": {"Authorization": f"Bearer {jwt.encode(claims, FORGED_SECRET, algorithm='HS256')}"},
            "unsigned": {"Authorization": f"Bearer {jwt.encode(claims, None, algorithm='none')}"},
            "outsider": outsider.headers}


def test_no_caller_reads_or_changes_another_organizations_private_data(api_schema, fuzz_server: CloudServer,
                                                                       victim: Victim,
                                                                       subtests: pytest.Subtests) -> None:
    before = snapshot(victim)
    who = callers(fuzz_server, victim)
    session = requests.Session()
    base_url = fuzz_server.config.base_url
    for operation in operations(api_schema):
        if operation.path == "/v1/auth/logout":  # a caller's own token; the outsider keeps the one used below
            who["outsider"] = {"Authorization": f"Bearer {fuzz_server.account().token}"}
        names = [parameter.name for parameter in operation.path_parameters]
        aimed = any(name in victim.ids for name in names) and operation.path != PROFILE
        with subtests.test(msg=operation.label):
            probe_operation(operation, victim, who, base_url, session, aimed)
    assert snapshot(victim) == before


def probe_operation(operation, victim: Victim, who: dict[str, dict[str, str]], base_url: str,
                    session: requests.Session, aimed: bool) -> None:
    @given(case=operation.as_strategy(GenerationMode.POSITIVE))  # well-formed requests get past the parsing
    def probe(case) -> None:
        aim_at(case, victim)
        for name, headers in who.items():
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=TIMEOUT_S)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance] if not
                                   operation.definition.raw.get("x-not-implemented") else [status_code_conformance])
            if aimed:  # storage: 403 without a signature, 400 with an Authorization header (cloud-api §10.4)
                refusals = (400, 403) if operation.path.startswith("/storage/") else (401, 403, 404, 501)
                assert response.status_code in refusals, (name, response.status_code, response.text)
            if 200 <= response.status_code < 300:
                shown = response.text
                assert not [p for p in victim.private if p in shown], (name, response.status_code, shown)

    fuzz_settings(probe, max(2, EXAMPLES // 2))()  # each example is sent by every caller
