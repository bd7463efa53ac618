"""Local NDI Cloud server: compute sessions (cloud-api §5.5, §10.8)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from cloud_server import Account, CloudServer, cloud_server


@pytest.fixture(scope="module")
def compute_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with cloud_server(tmp_path_factory.mktemp("compute-cloud"), compute_stage_delay_s=0.05,
                      compute_timeout_s=0.3) as server:
        yield server


def _start(account: Account, pipeline: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{account.base_url}/compute/start", json={"pipelineId": pipeline, **extra},
                      headers=account.headers)


def _until(account: Account, session_id: str, done: Callable[[dict], bool], timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = httpx.get(f"{account.base_url}/compute/{session_id}", headers=account.headers).json()
        if done(state):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.02)


def test_hello_world_runs_its_stages_to_completion(compute_cloud: CloudServer):
    account = compute_cloud.account()
    reply = _start(account, "hello-world-v1", inputParameters={"greeting": "hi"})
    assert reply.status_code == 201
    started = reply.json()
    assert started["status"] == "RUNNING" and started["currentStageId"] == "initial-setup"
    final = _until(account, started["sessionId"], lambda s: s["status"] == "COMPLETED")
    assert set(final["history"]) == {"initial-setup", "process", "cleanup"}
    assert all(stage["status"] == "COMPLETED" for stage in final["history"].values())
    listed = httpx.get(f"{account.base_url}/compute", headers=account.headers).json()["sessions"]
    assert [s["sessionId"] for s in listed] == [started["sessionId"]]


def test_zombie_stage_times_out_and_fails(compute_cloud: CloudServer):
    account = compute_cloud.account()
    session_id = _start(account, "zombie-test-v1").json()["sessionId"]
    final = _until(account, session_id, lambda s: s["status"] != "RUNNING")
    assert final["status"] == "FAILED" and final["history"]["wait-and-die"]["status"] == "FAILED"


def test_abort_advance_and_trigger(tmp_path):
    with cloud_server(tmp_path / "data", compute_stage_delay_s=60) as server:  # nothing moves on its own
        account = server.account()
        session_id = _start(account, "hello-world-v1").json()["sessionId"]
        url = f"{account.base_url}/compute/{session_id}"
        assert httpx.post(f"{url}/advance", headers=account.headers).status_code == 200
        assert httpx.get(url, headers=account.headers).json()["currentStageId"] == "process"
        assert httpx.post(f"{url}/stage/cleanup", headers=account.headers).status_code == 200
        assert httpx.get(url, headers=account.headers).json()["currentStageId"] == "cleanup"
        assert httpx.post(f"{url}/stage/no-such-stage", headers=account.headers).status_code == 400
        assert httpx.post(f"{url}/advance", headers=account.headers).status_code == 200  # past the last: done
        assert httpx.get(url, headers=account.headers).json()["status"] == "COMPLETED"
        other = _start(account, "hello-world-v1").json()["sessionId"]
        assert httpx.delete(f"{account.base_url}/compute/{other}", headers=account.headers).status_code == 204
        aborted = httpx.get(f"{account.base_url}/compute/{other}", headers=account.headers).json()
        assert aborted["status"] == "ABORTED"


def test_start_rules(compute_cloud: CloudServer):
    account = compute_cloud.account()
    unknown = _start(account, "no-such-pipeline")
    assert unknown.status_code == 400 and "hello-world-v1" in unknown.json()["error"]
    matlab = _start(account, "hello-matlab-v1")
    assert matlab.status_code == 400 and matlab.json()["code"] == "MATLAB_LICENSE_REQUIRED"
    assert httpx.post(f"{account.base_url}/compute/start", json={"pipelineId": "hello-world-v1"}).status_code == 401


def test_sessions_belong_to_their_owner(compute_cloud: CloudServer):
    account = compute_cloud.account()
    session_id = _start(account, "hello-world-v1").json()["sessionId"]
    other = compute_cloud.account()
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/advance"), ("POST", "/stage/process")):
        reply = httpx.request(method, f"{account.base_url}/compute/{session_id}{path}", headers=other.headers)
        assert reply.status_code == 404, (method, path)
    assert httpx.get(f"{account.base_url}/compute", headers=other.headers).json() == {"sessions": []}
