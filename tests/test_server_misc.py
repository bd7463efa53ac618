"""Local NDI Cloud server: unused routes, the request log, and the start command."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cloud_server import Account, eventually


@pytest.mark.parametrize(("method", "path"), [("POST", "/datasets/search"), ("POST", "/documents/search"),
                                              ("GET", "/datasets/user/abc/bookmarks"),
                                              ("POST", "/datasets/0123456789abcdef01234567/bookmark"),
                                              ("DELETE", "/datasets/0123456789abcdef01234567/bookmark")])
def test_routes_no_client_uses_answer_501(cloud: Account, method: str, path: str):
    reply = httpx.request(method, f"{cloud.base_url}{path}", headers=cloud.headers, json={})
    assert reply.status_code == 501 and "not implemented" in reply.json()["error"]


def test_request_log_has_one_line_per_request_and_no_secrets(cloud: Account, caplog: pytest.LogCaptureFixture):
    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "ndicloud.server"]

    with caplog.at_level(logging.INFO, logger="ndicloud.server"):
        httpx.get(f"{cloud.base_url}/users/me", headers=cloud.headers)
        httpx.post(f"{cloud.base_url}/auth/login", json={"email": cloud.email, "password": cloud.password})
        # The line is written once the response is sent, so it can trail the client by a moment.
        eventually(lambda: any(line.startswith("POST /v1/auth/login 200") for line in lines()), timeout=5)
    assert any(line.startswith("GET /v1/users/me 200") for line in lines())
    assert not any(cloud.token in line or cloud.password in line for line in lines())


def test_start_command_serves_on_loopback(tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    server = subprocess.Popen([sys.executable, "-m", "ndicloud.cli", "server", "start", "--data",
                               str(tmp_path / "data"), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/v1/datasets/published")
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert reply.status_code == 200 and reply.json()["datasets"] == []
        assert (tmp_path / "data" / "records.sqlite").exists()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    log = server.stdout.read().decode() if server.stdout else ""
    assert "GET /v1/datasets/published 200" in log
