"""Shared by the server fuzzing tests: seeded settings, requests built from the OpenAPI description, a user's own
things to aim them at, another organization's private things, and the server's logged exceptions."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
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
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]

TIMEOUT_S = 30  # a hung request fails the test rather than stalling the run
HTTP = httpx.Client(timeout=TIMEOUT_S)  # one client: a new one per request costs more than the request


T = TypeVar("T", bound=Callable[..., Any] | type)


def hypothesis_settings(examples: int = EXAMPLES, **more: Any) -> settings:
    """Few examples, no shrinking; derandomized unless a seed (or ``random``) is given."""
    return settings(max_examples=examples, deadline=None, derandomize=SEED == "", database=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck), **more)


def seeded(test: T) -> T:
    """``test`` (a test function or a state machine) with the seed of ``NDI_FUZZ_SEED``, if it names one."""
    return seed(int(SEED))(test) if SEED not in ("", "random") else test


def fuzz_settings(test: T, examples: int = EXAMPLES) -> T:
    """Few examples, no shrinking; the same examples every run unless a seed (or ``random``) is given."""
    return seeded(hypothesis_settings(examples)(test))


@contextmanager
def fuzz_cloud_server(data_dir: Path, **overrides: object) -> Iterator[CloudServer]:
    """A server of its own (fuzzing creates many users and datasets), with short background delays; compute
    sessions stay put, so their state can be compared."""
    delays = {"document_ingest_delay_s": 0.02, "zip_extract_delay_s": 0.02, "download_delay_s": 0.02,
              "file_registration_delay_s": 0.02, "worker_interval_s": 0.01, "compute_stage_delay_s": 3600.0}
    with cloud_server(data_dir, **{**delays, **overrides}) as server:
        yield server


def description(server: CloudServer) -> dict[str, Any]:
    """The server's OpenAPI description, as served."""
    return HTTP.get(f"{server.config.base_url}/openapi.json").raise_for_status().json()


def api_description(server: CloudServer) -> BaseSchema:
    return schemathesis.openapi.from_dict(description(server))


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


def operations(api_schema: BaseSchema) -> list[APIOperation]:
    return [result.ok() for result in api_schema.get_all_operations()]


def cases(operation: APIOperation) -> st.SearchStrategy:
    """Requests the description allows, and requests it forbids (wrong types, missing fields)."""
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))


def operation_checks(operation: APIOperation) -> list:
    if operation.definition.raw.get("x-not-implemented"):  # documented as 501 only (cloud-api §10.7)
        return [status_code_conformance, response_schema_conformance]
    return CHECKS


def fuzz_operation(operation: APIOperation, base_url: str, headers: dict[str, str], resources: dict[str, str],
                   session: requests.Session, examples: int = EXAMPLES) -> None:
    """Generated requests, sent as generated and again with the path parameters ``resources`` names."""
    checks = operation_checks(operation)

    @given(case=cases(operation))
    def fuzz(case: Case) -> None:
        case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=checks,
                               timeout=TIMEOUT_S)
        named = {name: value for name, value in resources.items() if name in (case.path_parameters or {})}
        if named:
            case.path_parameters = {**case.path_parameters, **named}
            case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=checks,
                               timeout=TIMEOUT_S)

    fuzz_settings(fuzz, examples)()


@dataclass
class Victim:
    account: Account
    ids: dict[str, str]  # path parameter name -> the victim's own
    private: list[str]  # strings no one else may ever be shown


def make_victim(server: CloudServer) -> Victim:
    """A user with an unpublished dataset holding a document and a file, a bulk job and a compute session."""
    account = server.account()
    ids = own_resources(account)
    document = HTTP.get(f"{account.base_url}/datasets/{ids['dataset_id']}/documents/{ids['document_id']}",
                        headers=account.headers).raise_for_status().json()
    uid = "0123456789abcdef_0123456789abcdef"
    account.upload_file(ids["dataset_id"], uid, b"private bytes")
    ids["file_uid"] = uid
    ids["key"] = f"files/{ids['dataset_id']}/{uid}"  # its bytes in storage, read only through a signed URL
    private = [ids["dataset_id"], ids["document_id"], document["base"]["id"], uid, ids["job_id"], ids["session_id"]]
    return Victim(account, ids, private)


def snapshot(victim: Victim) -> dict[str, object]:
    """Everything of the victim's that another caller might read or change, as the victim sees it."""
    ids, headers = victim.ids, victim.account.headers
    dataset = f"/datasets/{ids['dataset_id']}"
    reads = ["/users/me", "/users/me/matlab-license", dataset, f"{dataset}/documents", f"{dataset}/documents/deleted",
             f"{dataset}/documents/{ids['document_id']}", f"{dataset}/document-count?includeDeleted=true",
             f"{dataset}/document-class-counts", f"{dataset}/bulk-uploads?state=all", f"{dataset}/branches",
             f"/bulk-uploads/{ids['job_id']}", f"/compute/{ids['session_id']}", "/compute",
             f"/organizations/{ids['organization_id']}/datasets", "/datasets/deleted"]
    state: dict[str, object] = {}
    for path in reads:
        reply = HTTP.get(f"{victim.account.base_url}{path}", headers=headers)
        state[path] = (reply.status_code, reply.json())
    detail = HTTP.get(f"{victim.account.base_url}{dataset}/files/{ids['file_uid']}/detail", headers=headers)
    state["file"] = (detail.status_code, {k: v for k, v in detail.json().items() if k != "downloadUrl"})  # signed anew
    return state


# Operations naming none of the victim's things (sign-up, login, catalogues, the caller's own account, licence,
# sessions, queries) may answer; they must show nothing private of the victim.
# U3: any logged-in user may read a user's profile by id (cloud-api §5.1).
PROFILE = "/v1/users/{user_id}"


def aim_at(case: Case, victim: Victim) -> None:
    """Point a generated request at the victim's things: path parameters, and ids inside a JSON body."""
    names = case.path_parameters or {}
    case.path_parameters = {**names, **{k: v for k, v in victim.ids.items() if k in names}}
    if isinstance(case.body, dict):
        if "scope" in case.body:
            case.body["scope"] = victim.ids["dataset_id"]
        if "documentIds" in case.body:
            case.body["documentIds"] = [victim.ids["document_id"]]


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.exceptions: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.exceptions.append(record.exc_info[1])


@contextmanager
def server_exceptions() -> Iterator[list[BaseException]]:
    """The exceptions the server logs meanwhile: unhandled in a request (uvicorn's log) or in the worker.

    Enter it once the server runs: starting a server configures uvicorn's logging afresh, dropping handlers.
    """
    handler = _Failures()
    loggers = [logging.getLogger("uvicorn.error"), logging.getLogger("ndicloud.server")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.exceptions
    finally:
        lost = [logger.name for logger in loggers if handler not in logger.handlers]
        for logger in loggers:
            logger.removeHandler(handler)
        assert not lost, f"a server started meanwhile and stopped the watch on {lost}"


def injected(exc: BaseException) -> bool:
    """Whether an exception is a fault the server injected on purpose, looking through causes and groups."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()  # a chain of contexts can loop back on itself
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if "(injected)" in str(current):
            return True
        pending.extend(getattr(current, "exceptions", ()))  # an exception group's members
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False
