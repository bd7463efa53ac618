"""Local NDI Cloud server: unused routes, the request log, and the start command."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ndicloud.core import new_id
from ndicloud.server.accounts import add_user
from ndicloud.server.records import Records

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


@contextlib.contextmanager
def _started(*options: str) -> Iterator[tuple[str, list[str]]]:
    """``ndi-cloud server start`` as its own process on a free port; yields its base URL and, after exit, its log."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    server = subprocess.Popen([sys.executable, "-m", "ndicloud.cli", "server", "start", "--port", str(port), *options],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    log: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/datasets/published")
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1", log
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        log.extend((server.stdout.read().decode() if server.stdout else "").splitlines())


def test_start_command_serves_on_loopback(tmp_path: Path):
    with _started("--data", str(tmp_path / "data")) as (base, log):
        reply = httpx.get(f"{base}/datasets/published")
        assert reply.status_code == 200 and reply.json()["datasets"] == []
        assert (tmp_path / "data" / "records.sqlite").exists()
    assert any("GET /v1/datasets/published 200" in line for line in log)


def test_start_options_reach_the_server(tmp_path: Path):
    data = tmp_path / "data"
    seeded = add_user(Records(data), "ann@lab.example", "long-password-1", "lab")
    with _started("--data", str(data), "--public-url", "http://proxy.example:9000/", "--url-ttl", "60",
                  "--delay", "0", "--token-ttl", "120") as (base, _):
        login = httpx.post(f"{base}/auth/login", json={"email": "ann@lab.example", "password": "long-password-1"})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        dataset_id = httpx.post(f"{base}/organizations/{seeded.organization_id}/datasets", json={"name": "d"},
                                headers=headers).json()["id"]
        url = httpx.get(f"{base}/datasets/{seeded.organization_id}/{dataset_id}/files/{new_id()}",
                        headers=headers).json()["url"]
    assert url.startswith("http://proxy.example:9000/storage/")
    expires = int(url.split("expires=")[1].split("&")[0])
    assert abs(expires - (time.time() + 60)) < 10


def test_temporary_start_leaves_nothing_behind():
    with _started("--temporary") as (base, log):
        assert httpx.get(f"{base}/datasets/published").status_code == 200
    folder = next(line for line in log if "(temporary)" in line).split("data in ")[1].split(" (temporary)")[0]
    assert folder and not Path(folder).exists()


@pytest.mark.parametrize("options", [("--url-ttl", "0"), ("--delay", "-1"), ("--password-min-length", "0")])
def test_bad_start_options_are_refused(options: tuple[str, str]):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    reply = subprocess.run([sys.executable, "-m", "ndicloud.cli", "server", "start", *options], capture_output=True,
                           text=True, env=env, timeout=60)
    assert reply.returncode != 0 and options[0] in reply.stderr + reply.stdout
