"""Local NDI Cloud server: fuzzed along the links of its OpenAPI description, as a client chains requests.

The description links each answer that names a thing (the caller's account and organization, a new dataset or
branch, a document, a bulk-upload job, a compute session) to the operations that take it (``openapi.py``).
schemathesis builds a state machine from those links: a scenario starts at an operation whose answer names
something (on the caller's account, its organization or a dataset made for the scenario) and follows links, so
generated bodies and query strings reach the caller's own new things rather than only 404s. Every request carries
a logged-in user's token; each response must not be a server error, its status, shape and media type must be
documented (cloud-api §3.5, §4), and it must not lose a thing just made or show one just deleted (cloud-api §5.2
D3, §5.3 C3).

The default run is short, seeded and derandomized, so it is part of the normal ``pytest`` run. A longer one::

    NDI_FUZZ_EXAMPLES=100 NDI_FUZZ_SEED=random pytest tests/test_server_fuzz_links.py

``NDI_FUZZ_EXAMPLES`` scales the scenarios (``SCENARIOS_PER_EXAMPLE`` each); ``NDI_FUZZ_SEED`` as in
``fuzz_helpers``. The machine is run through ``run_state_machine_as_test``: the description is only known once the
server runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis.stateful import Bundle
from schemathesis import GenerationMode
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.generation.stateful.state_machine import StepInput
from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free
from schemathesis.specs.openapi.stateful import is_root_allowed, transition

from cloud_server import Account, CloudServer
from fuzz_helpers import CHECKS, EXAMPLES, api_description, description, fuzz_cloud_server, hypothesis_settings, seeded

SCENARIOS_PER_EXAMPLE = 15
STEPS = 12  # requests per scenario at most: enough for account -> dataset -> document -> its update -> its read


def deleted_things_stay_gone(ctx: Any, response: Any, case: Any) -> bool | None:
    """A thing deleted earlier in the scenario is not found any more; except compute sessions: their DELETE aborts
    one, which stays readable with status ABORTED (cloud-api §5.5 K3)."""
    return None if case.path.startswith("/v1/compute/") else use_after_free(ctx, response, case)


def made_things_are_found(ctx: Any, response: Any, case: Any) -> bool | None:
    """A thing made earlier in the scenario is found; unless a bulk delete answered in between: a POST that deletes
    documents (cloud-api §5.3 C7), where only a DELETE is taken for a deletion."""
    recorder = ctx.internals.recorder
    bulk_deleted = recorder is not None and any(
        recorder.cases[case_id].value.path.endswith("/documents/bulk-delete") and interaction.response is not None
        and interaction.response.status_code == 200 for case_id, interaction in recorder.interactions.items())
    return None if bulk_deleted else ensure_resource_availability(ctx, response, case)


STATEFUL_CHECKS = [*CHECKS, deleted_things_stay_gone, made_things_are_found]
LOGOUT = "/v1/auth/logout"
SCENARIO_DATASET = "scenario-dataset"  # stands for a dataset made afresh for each scenario


@pytest.fixture(scope="module")
def links_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    # Nothing happens in the background (no undelete, prune or publish comes due): the same requests get the same
    # answers, so hypothesis, which picks each next step from the answers so far, repeats a run.
    with fuzz_cloud_server(tmp_path_factory.mktemp("fuzz-links-cloud"), worker_interval_s=3600.0) as server:
        yield server


@pytest.fixture(scope="module")
def fuzzer(links_server: CloudServer) -> Account:
    return links_server.account()


def state_machine(server: CloudServer, account: Account) -> type:
    """The description's state machine, sending the account's token (a fresh one to log out: logging out revokes
    the token it is sent with) and checking every answer."""
    # Left out: signing up twice with one address answers differently, which hypothesis takes for a run that cannot
    # be reproduced; and generated credentials never log in, so the login's links would never be followed.
    schema = api_description(server).exclude(operation_id=["post_/v1/users", "post_/v1/auth/login"])
    schema.config.phases.stateful.inference.algorithms = []  # the description's own links only, none guessed
    base_url = server.config.base_url
    session = requests.Session()  # one connection for all requests: fast

    class Chains(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.dataset_id = account.new_dataset("chained")  # each scenario's own: what one does, the next won't see

        def before_call(self, case: Any) -> None:
            if (case.path_parameters or {}).get("dataset_id") == SCENARIO_DATASET:
                case.path_parameters["dataset_id"] = self.dataset_id

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            token = server.login(account.email, account.password) if case.path == LOGOUT else account.token
            return {"base_url": base_url, "session": session, "headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

    start_where_nothing_is_needed(Chains, schema, {"organization_id": account.organization_id,
                                                   "dataset_id": SCENARIO_DATASET})
    return Chains


def start_where_nothing_is_needed(machine: type, schema: Any, own: dict[str, str]) -> None:
    """Start scenarios at the operations with links that need nothing from an earlier answer: no path parameters,
    or only ones naming the caller's own things (``own``: its organization, as a client knows it from its login, and
    a dataset of the scenario's); and only there. schemathesis guesses otherwise: it also starts at POSTs that take
    a made-up dataset id (404s, most of a run), and never at ``POST /compute/start`` (it takes ``pipelineId`` for a
    reference to something no operation makes)."""
    for name in machine.root_rules:
        setattr(machine, name, None)  # hides the rule
    names, labels = set(), set()
    for result in schema.get_all_operations():
        operation = result.ok()
        linked = any(response.get("links") for response in operation.definition.raw["responses"].values())
        parameters = {parameter.name for parameter in operation.path_parameters}
        if linked and parameters <= own.keys():
            name = f"START_{operation.method}_{operation.path}"
            cases = operation.as_strategy(GenerationMode.POSITIVE, phase=TestPhase.STATEFUL,  # a start that works
                                          path_parameters={key: own[key] for key in parameters} or None)
            setattr(machine, name, transition(name=name, target=Bundle("catch_all"), input=cases.map(StepInput.initial),
                                              precondition=is_root_allowed(operation.label)))
            names.add(name)
            labels.add(operation.label)
    machine.root_rules, machine._root_labels = frozenset(names), frozenset(labels)


def test_chained_requests_get_no_server_errors_and_documented_shapes(links_server: CloudServer,
                                                                     fuzzer: Account) -> None:
    machine = seeded(state_machine(links_server, fuzzer))
    run_state_machine_as_test(machine, settings=hypothesis_settings(EXAMPLES * SCENARIOS_PER_EXAMPLE,
                                                                    stateful_step_count=STEPS))


# The links themselves: each names a real operation and only parameters it has, with values its source can give.

def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _links(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str, dict[str, Any]]]:
    """(method, path, operation, status, link) for every link of the description."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                for link in response.get("links", {}).values():
                    yield method, path, operation, status, link


def test_every_link_names_a_real_operation_and_its_parameters(links_server: CloudServer) -> None:
    document = description(links_server)
    by_id = {op["operationId"]: op for ops in document["paths"].values() for op in ops.values()}
    links = list(_links(document))
    assert links
    for method, path, operation, status, link in links:
        where = (method, path, status, link["operationId"])
        target = by_id.get(link["operationId"])
        assert target is not None and not target.get("x-not-implemented"), where
        target_parameters = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) == target_parameters, where  # all of them: a made-up one would 404
        body = link.get("requestBody", {})
        target_body = target.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        assert set(body) <= set(target_body.get("properties", {})), where
        answer = _resolve(document, operation["responses"][status]["content"]["application/json"].get("schema", {}))
        expressions = [*link["parameters"].values(), *(e for value in body.values() for e in value)]
        assert any(e.startswith("$response.body#/") for e in expressions), where
        for expression in expressions:
            if expression.startswith("$request.path."):
                source_parameters = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert expression.removeprefix("$request.path.") in source_parameters, (where, expression)
            else:  # the answer's first field named, where the answer's shape is documented
                assert expression.startswith("$response.body#/"), (where, expression)
                field = expression.removeprefix("$response.body#/").split("/")[0]
                assert field in answer.get("properties", {field: {}}), (where, expression)


CREATE_DATASET = "post_/v1/organizations/{organization_id}/datasets"
ADD_DOCUMENT = "post_/v1/datasets/{dataset_id}/documents"


@pytest.mark.parametrize(("source", "target"), [
    ("get_/v1/users/me", CREATE_DATASET),
    (CREATE_DATASET, "get_/v1/datasets/{dataset_id}"),
    (CREATE_DATASET, ADD_DOCUMENT),
    (CREATE_DATASET, "post_/v1/datasets/{organization_id}/{dataset_id}/files/bulk"),
    (ADD_DOCUMENT, "get_/v1/datasets/{dataset_id}/documents/{document_id}"),
    (ADD_DOCUMENT, "delete_/v1/datasets/{dataset_id}/documents/{document_id}"),
    (ADD_DOCUMENT, "post_/v1/datasets/{dataset_id}/documents/bulk-fetch"),
    ("post_/v1/datasets/{organization_id}/{dataset_id}/files/bulk", "get_/v1/bulk-uploads/{job_id}"),
    ("post_/v1/compute/start", "post_/v1/compute/{session_id}/stage/{stage_id}"),
    ("post_/v1/auth/login", "get_/v1/users/{user_id}"),
])
def test_a_new_thing_leads_to_what_takes_it(links_server: CloudServer, source: str, target: str) -> None:
    document = description(links_server)
    assert target in {link["operationId"] for _, _, operation, _, link in _links(document)
                      if operation["operationId"] == source}
