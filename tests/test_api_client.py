"""API client: configuration, tokens, authentication, errors and retries, against the local server over HTTP."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest

from ndicloud.api import (
    AuthError,
    CloudClient,
    CloudError,
    ConfigurationError,
    InvalidArgument,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RetryPolicy,
    ServerError,
    TokenCache,
    ValidationError,
    base_url_from_environment,
    datasets,
    documents,
    transfer,
    users,
)
from ndicloud.api.auth import decode_jwt, get_active_token, get_token_expiration
from ndicloud.api.errors import error_for_status
from ndicloud.api.tokens import CachedLogin, is_token_expired
from ndicloud.core import Document

from cloud_server import Account, CloudServer, cloud_server
from conftest import FAST_RETRY


def _fake_token(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256'})}.{part(claims)}.signature"


# -- configuration ---------------------------------------------------------------------------------------------

def test_base_url_selection():
    assert base_url_from_environment({}) == "https://api.ndi-cloud.com/v1"
    assert base_url_from_environment({"CLOUD_API_ENVIRONMENT": ""}) == "https://api.ndi-cloud.com/v1"
    assert base_url_from_environment({"CLOUD_API_ENVIRONMENT": "dev"}) == "https://dev-api.ndi-cloud.com/v1"
    assert base_url_from_environment({"CLOUD_API_ENVIRONMENT": "dev",
                                      "NDI_CLOUD_URL": "http://127.0.0.1:9/v1/"}) == "http://127.0.0.1:9/v1"
    with pytest.raises(ConfigurationError, match=r"'staging' is not known; use one of dev, prod"):
        base_url_from_environment({"CLOUD_API_ENVIRONMENT": "staging"})
    with pytest.raises(ConfigurationError, match="not an http"):
        base_url_from_environment({"NDI_CLOUD_URL": "ftp://example.org/v1"})


def test_unconfigured_client_targets_the_hosted_service():
    with CloudClient() as client:
        assert client.base_url == "https://api.ndi-cloud.com/v1"


def test_token_helpers():
    token = _fake_token({"exp": 2_000_000_000, "email": "a@b.org", "sub": "u1"})
    assert decode_jwt(token) == {"exp": 2_000_000_000, "email": "a@b.org", "sub": "u1"}
    assert get_token_expiration(token) == 2_000_000_000
    assert is_token_expired(token, now=2_000_000_000 - 61) is False
    assert is_token_expired(token, now=2_000_000_000 - 59) is True  # 60 s skew
    assert decode_jwt("not-a-token") is None and is_token_expired("a.b.c") is None


def test_error_text_and_classes():
    error = error_for_status(400, "POST", "/ndiquery", {"error": "~or is not allowed"})
    assert isinstance(error, ValidationError) and str(error) == "POST /ndiquery -> 400: ~or is not allowed"
    nested = error_for_status(404, "GET", "/datasets/x", {"message": {"error": "gone"}})
    assert isinstance(nested, NotFound) and nested.detail == "gone"
    cognito = error_for_status(400, "POST", "/users", {"errors": "Unable", "code": "UsernameExistsException"})
    assert str(cognito) == "POST /users -> 400: Unable (UsernameExistsException)"
    assert isinstance(error_for_status(403, "GET", "/x", None), PermissionDenied)
    assert isinstance(error_for_status(503, "GET", "/x", "busy"), ServerError)


def test_bad_ids_are_refused_before_any_request():
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200, json={}))
    with CloudClient("http://cloud.invalid/v1", token=_fake_token({"exp": 4e9}), organization_id="a" * 24,
                     transport=transport) as client:
        with pytest.raises(InvalidArgument, match=r"dataset id 'abc' is not a cloud id \(24"):
            datasets.get_dataset("abc", client=client)
        with pytest.raises(InvalidArgument, match="document id"):
            documents.bulk_fetch("a" * 24, ["68c05864f81ed200dc9a7e5c", "not-hex-not-hex-not-hex!"], client=client)
        with pytest.raises(InvalidArgument, match="1 to 500"):
            documents.bulk_fetch("a" * 24, [f"{n:024x}" for n in range(501)], client=client)
        with pytest.raises(InvalidArgument, match="when='soon'"):
            datasets.delete_dataset("a" * 24, when="soon", client=client)
        with pytest.raises(InvalidArgument, match=r"base\.id"):
            documents.add_document("a" * 24, {"ndiId": "x"}, client=client)
    assert sent == []


def test_unreachable_server_is_one_clear_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CloudClient(f"http://127.0.0.1:{port}/v1", retry=RetryPolicy(retries=1, base_s=0.01))
    with pytest.raises(ServerError, match=rf"GET /datasets/published: cannot reach 127.0.0.1:{port}"):
        datasets.get_published_datasets(client=client)


# -- authentication ----------------------------------------------------------------------------------------------

def test_login_caches_the_token_with_mode_0600_and_logout_clears_it(cloud: Account):
    cache = TokenCache()
    with CloudClient(cloud.base_url, username=cloud.email, password=cloud.password) as client:
        assert users.me(client=client).email == cloud.email
        assert client.organization_id == cloud.organization_id
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    cached = cache.get(cloud.base_url)
    assert cached is not None and cached.organization_id == cloud.organization_id
    with CloudClient(cloud.base_url) as again:  # no credentials: the cached login is used
        assert users.me(client=again).email == cloud.email
        again.logout()
    assert cache.get(cloud.base_url) is None
    assert httpx.get(f"{cloud.base_url}/users/me",
                     headers={"Authorization": f"Bearer {cached.token}"}).status_code == 401  # revoked


def test_cached_token_of_another_account_is_not_used(cloud_service: CloudServer):
    first, second = cloud_service.account(), cloud_service.account()
    with CloudClient(first.base_url, username=first.email, password=first.password) as client:
        users.me(client=client)
    with CloudClient(second.base_url, username=second.email, password=second.password) as client:
        assert users.me(client=client).email == second.email


def test_wrong_password_and_no_credentials(cloud: Account):
    with CloudClient(cloud.base_url, username=cloud.email, password="wrong-password") as client, \
            pytest.raises(AuthError, match=f"login to .* as {cloud.email} failed: Unable to login") as caught:
        users.me(client=client)
    assert "wrong-password" not in str(caught.value)
    with CloudClient(cloud.base_url) as anonymous:
        with pytest.raises(AuthError, match="not logged in"):
            users.me(client=anonymous)
        assert datasets.get_published_datasets(client=anonymous).datasets is not None  # public: no login needed


def test_token_from_the_environment(cloud: Account, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NDI_CLOUD_URL", cloud.base_url)
    monkeypatch.setenv("NDI_CLOUD_TOKEN", cloud.token)
    with CloudClient.from_environment() as client:  # no organization given: read from /users/me
        assert client.organization_id == cloud.organization_id
        assert get_active_token(client=client) == cloud.token


def test_expired_environment_token_without_credentials_says_so(cloud: Account):
    expired = _fake_token({"exp": time.time() - 10, "email": cloud.email})
    with CloudClient(cloud.base_url, token=expired) as client, pytest.raises(AuthError, match="has expired"):
        users.me(client=client)


def test_expiring_tokens_during_a_long_operation(tmp_path: Path):
    with cloud_server(tmp_path / "data", token_ttl_s=1) as server:
        account = server.account()
        # skew 0: the client keeps using each token until the server refuses it (401), then logs in again
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         expiry_skew_s=0, retry=FAST_RETRY) as client:
            dataset_id = datasets.create_dataset("long", client=client)
            tokens = set()
            deadline = time.monotonic() + 2.5
            added = 0
            while time.monotonic() < deadline:
                documents.add_document(dataset_id, Document.new("base"), client=client)
                added += 1
                tokens.add(client.token())
                time.sleep(0.05)
            assert datasets.document_count(dataset_id, client=client) == added
            assert len(tokens) >= 2  # it logged in again and carried on


def test_revoked_token_is_replaced_once(client: CloudClient, cloud: Account):
    token = client.token()
    httpx.post(f"{cloud.base_url}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert users.me(client=client).email == cloud.email  # 401, log in again, repeat
    assert client.token() != token


def test_tokens_never_appear_in_logs_errors_or_repr(client: CloudClient, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    token = client.token()
    assert token
    with pytest.raises(NotFound) as caught:
        datasets.get_dataset("0" * 24, client=client)
    texts = [str(caught.value), repr(client), caplog.text]
    assert all(token not in text and token.split(".")[2] not in text for text in texts)
    assert "GET /datasets/000000000000000000000000 -> 404" in str(caught.value)


# -- retries ---------------------------------------------------------------------------------------------------

def test_idempotent_calls_survive_5xx_and_dropped_connections(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="seed=11,error_rate=0.2,api_drop_rate=0.2") as server:
        account = server.account()
        dataset_id = account.new_dataset()  # seeded before the faults matter to the client
        retry = RetryPolicy(retries=10, base_s=0.001, cap_s=0.01)
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         retry=retry) as client:
            for n in range(200):
                kind = n % 4
                if kind == 0:
                    datasets.get_dataset(dataset_id, client=client)
                elif kind == 1:
                    datasets.document_count(dataset_id, client=client)
                elif kind == 2:
                    users.me(client=client)
                else:  # a repeatable POST
                    datasets.update_dataset(dataset_id, {"description": str(n)}, client=client)
            assert datasets.get_dataset(dataset_id, client=client).raw["description"] == "199"


def test_a_creating_post_is_never_repeated(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="seed=1") as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         retry=FAST_RETRY) as client:
            client.organization_id  # noqa: B018 (log in before the faults are scripted)
            for fault in ({"status": 504, "afterWork": True}, {"status": 503}):
                httpx.post(f"{server.config.base_url}/_faults", json={"reset": True, "faults": [
                    {"route": "POST /v1/organizations/*/datasets", "count": 1, **fault}]})
                expected = OutcomeUnknown if fault["status"] == 504 else ServerError
                with pytest.raises(expected, match="POST /organizations/"):
                    datasets.create_dataset(f"once-{fault['status']}", client=client)
            names = [d.name for d in datasets.iter_datasets(client=client)]
            assert names.count("once-504") == 1  # done once, answer lost, not repeated
            assert names.count("once-503") == 0  # refused, not repeated


def test_a_lost_answer_to_a_create_is_outcome_unknown(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="seed=3") as server:
        account = server.account()
        httpx.post(f"{server.config.base_url}/_faults", json={"reset": True, "faults": [
            {"route": "POST /v1/organizations/*/datasets", "count": 1, "drop": True}]})
        with CloudClient(account.base_url, token=account.token, organization_id=account.organization_id,
                         retry=FAST_RETRY) as client:
            with pytest.raises(OutcomeUnknown, match="may or may not"):
                datasets.create_dataset("dropped", client=client)
            assert [d.name for d in datasets.iter_datasets(client=client)] == ["dropped"]  # once


def test_read_after_write_lag_is_waited_out(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="seed=5,read_lag_s=0.6") as server:
        account = server.account()
        with CloudClient(account.base_url, username=account.email, password=account.password,
                         retry=FAST_RETRY) as client:
            dataset_id = datasets.create_dataset("fresh", client=client)
            assert datasets.get_dataset(dataset_id, client=client).name == "fresh"


# -- review follow-ups: organizations, concurrency, wire details -----------------------------------------------

def test_a_chosen_organization_survives_login_and_relogin(cloud_service: CloudServer):
    account = cloud_service.account()
    other = cloud_service.account(organization=f"zz-second-{time.time_ns()}")
    cloud_service.records.add_membership(account.user_id, other.organization_id)
    with CloudClient(account.base_url, username=account.email, password=account.password,
                     organization_id=other.organization_id, retry=FAST_RETRY) as client:
        first = datasets.create_dataset("in the second organization", client=client)
        httpx.post(f"{account.base_url}/auth/logout", headers={"Authorization": f"Bearer {client.token()}"})
        second = datasets.create_dataset("after a re-login", client=client)
        owners = {datasets.get_dataset(d, client=client).organization_id for d in (first, second)}
    assert owners == {other.organization_id}


def test_token_cache_takes_concurrent_writers(tmp_path: Path):
    cache = TokenCache(str(tmp_path / "tokens.json"))  # a plain string path works too

    def write(n: int) -> None:
        for i in range(40):
            cache.put(f"http://host{n}/v1", CachedLogin(f"token-{n}-{i}", None, None))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [cache.get(f"http://host{n}/v1").token for n in range(4)] == [f"token-{n}-39" for n in range(4)]  # type: ignore[union-attr]
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    assert not list(tmp_path.glob(".tokens.json.*"))  # no temporary files left behind


def test_threads_refused_together_log_in_once(client: CloudClient, cloud: Account):
    stale = client.token()
    httpx.post(f"{cloud.base_url}/auth/logout", headers={"Authorization": f"Bearer {stale}"})
    logins: list[int] = []
    original = client.login

    def counting_login(*args, **kwargs):
        logins.append(1)
        return original(*args, **kwargs)

    client.login = counting_login  # type: ignore[method-assign]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        try:
            users.me(client=client)
        except CloudError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(logins) == 1


def test_a_token_without_expiry_is_replaced_when_credentials_allow(cloud: Account):
    opaque = "not-a-jwt"
    with CloudClient(cloud.base_url, token=opaque, username=cloud.email, password=cloud.password) as client:
        assert users.me(client=client).email == cloud.email and client.token() != opaque
    with CloudClient(cloud.base_url, token=opaque, cache=False) as client, pytest.raises(AuthError, match="401"):
        users.me(client=client)  # no credentials: sent as it is, and the server decides


def _recording_client(responses: list[httpx.Response], seen: list[httpx.Request], **options) -> CloudClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses.pop(0) if responses else httpx.Response(200, json={})
    return CloudClient("http://cloud.invalid/v1", token=_fake_token({"exp": 4e9}), organization_id="a" * 24,
                       transport=httpx.MockTransport(answer), cache=False, **options)


def test_action_bodies_are_sent_as_the_reference_sends_them():
    seen: list[httpx.Request] = []
    answers = [httpx.Response(200, json={}), httpx.Response(200, json={}), httpx.Response(200, json={"url": "u"})]
    with _recording_client(answers, seen) as client:
        datasets.publish_dataset("b" * 24, client=client)
        datasets.undelete_dataset("b" * 24, client=client)
        documents.get_bulk_upload_url("b" * 24, client=client)
    publish, undelete, bulk = seen
    for request in (publish, undelete):
        assert request.content == b"" and request.headers["Content-Type"] == "application/json"
    assert bulk.content == b"" and "Content-Type" not in bulk.headers
    assert all(r.headers["Accept"] == "application/json" for r in seen)


def test_429_waits_as_retry_after_says_and_retries_are_bounded():
    seen: list[httpx.Request] = []
    waits: list[float] = []
    policy = RetryPolicy(retries=3, base_s=0.5, cap_s=30, sleep=waits.append)
    busy = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(503), httpx.Response(200, json={
        "count": 4})]
    with _recording_client(busy, seen, retry=policy) as client:
        assert datasets.document_count("b" * 24, client=client) == 4
    assert waits[0] == 7 and 0 <= waits[1] <= 1.0 and len(seen) == 3
    always = [httpx.Response(502) for _ in range(10)]
    seen.clear()
    with _recording_client(always, seen, retry=policy) as client, pytest.raises(ServerError, match="-> 502"):
        datasets.document_count("b" * 24, client=client)
    assert len(seen) == 4  # the first try and 3 retries


def test_presigned_requests_ask_for_identity_and_carry_no_token(tmp_path: Path):
    seen: list[httpx.Request] = []
    with _recording_client([httpx.Response(200, stream=httpx.ByteStream(b"bytes"))], seen) as client:
        transfer.get_file("http://storage.invalid/storage/x?signature=s", tmp_path / "x.bin", client=client)
        (tmp_path / "up.bin").write_bytes(b"up")
        transfer.put_file("http://storage.invalid/storage/y?signature=s", tmp_path / "up.bin", client=client)
    for request in seen:
        assert request.headers["Accept-Encoding"] == "identity" and "Authorization" not in request.headers
    assert seen[1].headers["Content-Length"] == "2" and seen[1].headers["Content-Type"] == "application/octet-stream"
