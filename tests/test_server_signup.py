"""Local NDI Cloud server: self-service accounts with Cognito-style bodies (cloud-api §5.1 A3-A7, U1, §10.2)."""

from __future__ import annotations

import logging
import re
import secrets

import httpx
import pytest

from cloud_server import Account, CloudServer


def _code(caplog: pytest.LogCaptureFixture, purpose: str, email: str) -> str:
    pattern = re.compile(rf"^{purpose} code for {re.escape(email)}: (\d{{6}})$")
    codes = [m.group(1) for r in caplog.records if (m := pattern.match(r.getMessage()))]
    assert codes, f"no {purpose} code logged for {email}"
    return codes[-1]


def _signup(server: CloudServer, email: str, password: str = "long-enough-1") -> httpx.Response:
    return httpx.post(f"{server.base_url}/users", json={"email": email, "name": "New User", "password": password},
                      headers={"Authorization": "Bearer ignored-garbage"})


def test_sign_up_verify_and_log_in(cloud_service: CloudServer, caplog: pytest.LogCaptureFixture):
    email = f"new-{secrets.token_hex(4)}@lab.example"
    with caplog.at_level(logging.INFO, logger="ndicloud.server"):
        reply = _signup(cloud_service, email)
        assert reply.status_code == 200
        user = reply.json()
        assert user["email"] == email and user["isValidated"] is False
        assert user["organizations"] and user["organizations"][0]["canUploadDataset"] is False
        refused = httpx.post(f"{cloud_service.base_url}/auth/login", json={"email": email,
                                                                            "password": "long-enough-1"})
        assert refused.status_code == 401 and refused.json()["code"] == "UserNotConfirmedException"
        wrong = httpx.post(f"{cloud_service.base_url}/auth/verify", json={"email": email, "confirmationCode": "0"})
        assert wrong.status_code == 400 and wrong.json()["code"] == "CodeMismatchException"
        code = _code(caplog, "confirmation", email)
        assert all(code not in r.getMessage() for r in caplog.records if "/v1/" in r.getMessage())
        verified = httpx.post(f"{cloud_service.base_url}/auth/verify", json={"email": email, "confirmationCode": code})
        assert verified.status_code == 200 and verified.json()["isValidated"] is True
    again = httpx.post(f"{cloud_service.base_url}/auth/verify", json={"email": email, "confirmationCode": code})
    assert again.status_code == 400 and again.json()["code"] == "NotAuthorizedException"
    assert httpx.post(f"{cloud_service.base_url}/auth/login",
                      json={"email": email, "password": "long-enough-1"}).status_code == 200
    org = user["organizations"][0]["id"]
    token = cloud_service.login(email, "long-enough-1")
    create = httpx.post(f"{cloud_service.base_url}/organizations/{org}/datasets", json={"name": "x"},
                        headers={"Authorization": f"Bearer {token}"})
    assert create.status_code == 400  # signed-up users cannot create datasets (the real service's default)


def test_sign_up_errors(cloud_service: CloudServer, cloud: Account):
    taken = _signup(cloud_service, cloud.email)
    assert taken.status_code == 400 and taken.json() == {"errors": "Unable to create user in AWS Cognito",
                                                         "code": "UsernameExistsException"}
    weak = _signup(cloud_service, f"weak-{secrets.token_hex(4)}@lab.example", password="short")
    assert weak.status_code == 400 and weak.json()["code"] == "InvalidPasswordException"


def test_resend_confirmation(cloud_service: CloudServer, cloud: Account, caplog: pytest.LogCaptureFixture):
    email = f"resend-{secrets.token_hex(4)}@lab.example"
    with caplog.at_level(logging.INFO, logger="ndicloud.server"):
        _signup(cloud_service, email)
        reply = httpx.post(f"{cloud_service.base_url}/auth/confirmation/resend", json={"email": email})
        assert reply.json() == {"confirmationResent": True}
        assert _code(caplog, "confirmation", email)
    confirmed = httpx.post(f"{cloud_service.base_url}/auth/confirmation/resend", json={"email": cloud.email})
    assert confirmed.status_code == 400 and confirmed.json()["code"] == "InvalidParameterException"
    nobody = httpx.post(f"{cloud_service.base_url}/auth/confirmation/resend", json={"email": "no@one.example"})
    assert nobody.status_code == 400 and nobody.json()["code"] == "UserNotFoundException"


def test_change_password(cloud_service: CloudServer, cloud: Account):
    url = f"{cloud_service.base_url}/auth/password"
    wrong = httpx.post(url, json={"oldPassword": "not-it-at-all", "newPassword": "brand-new-pass"},
                       headers=cloud.headers)
    assert wrong.status_code == 400 and wrong.json()["code"] == "NotAuthorizedException"
    weak = httpx.post(url, json={"oldPassword": cloud.password, "newPassword": "tiny"}, headers=cloud.headers)
    assert weak.status_code == 400 and weak.json()["code"] == "InvalidPasswordException"
    done = httpx.post(url, json={"oldPassword": cloud.password, "newPassword": "brand-new-pass"},
                      headers=cloud.headers)
    assert done.status_code == 200 and done.json() == {"message": "Password changed successfully"}
    assert cloud_service.login(cloud.email, "brand-new-pass")
    assert httpx.post(url, json={"oldPassword": "x", "newPassword": "y"}).status_code == 401


def test_forgot_and_reset_password(cloud_service: CloudServer, cloud: Account, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="ndicloud.server"):
        reply = httpx.post(f"{cloud_service.base_url}/auth/password/forgot", json={"email": cloud.email})
        assert reply.status_code == 200
        details = reply.json()["CodeDeliveryDetails"]
        assert details["DeliveryMedium"] == "EMAIL" and details["AttributeName"] == "email"
        assert details["Destination"] != cloud.email and "***" in details["Destination"]
        code = _code(caplog, "reset", cloud.email)
    confirm = f"{cloud_service.base_url}/auth/password/confirm"
    mismatch = httpx.post(confirm, json={"email": cloud.email, "confirmationCode": "000000" if code != "000000"
                                         else "111111", "newPassword": "after-reset-1"})
    assert mismatch.status_code == 200 and mismatch.json() == {"errors": "Unable to reset password",
                                                               "code": "CodeMismatchException"}
    weak = httpx.post(confirm, json={"email": cloud.email, "confirmationCode": code, "newPassword": "x"})
    assert weak.status_code == 200 and weak.json()["code"] == "InvalidPasswordException"
    done = httpx.post(confirm, json={"email": cloud.email, "confirmationCode": code, "newPassword": "after-reset-1"})
    assert done.status_code == 200 and done.json() == {"message": "Password reset", "code": "Success!"}
    assert cloud_service.login(cloud.email, "after-reset-1")
    nobody = httpx.post(f"{cloud_service.base_url}/auth/password/forgot", json={"email": "no@one.example"})
    assert nobody.status_code == 400 and nobody.json()["code"] == "UserNotFoundException"


def test_too_many_reset_codes_hit_the_limit(cloud_service: CloudServer, cloud: Account):
    url = f"{cloud_service.base_url}/auth/password/forgot"
    limit = cloud_service.config.reset_codes_per_hour
    assert all(httpx.post(url, json={"email": cloud.email}).status_code == 200 for _ in range(limit))
    refused = httpx.post(url, json={"email": cloud.email})
    assert refused.status_code == 400 and refused.json()["code"] == "LimitExceededException"
    other = cloud_service.account()
    assert httpx.post(url, json={"email": other.email}).status_code == 200  # the limit is per address

COGNITO_ROUTES = ["/auth/login", "/users", "/auth/verify", "/auth/confirmation/resend", "/auth/password",
                  "/auth/password/forgot", "/auth/password/confirm"]


@pytest.mark.parametrize("body", [b"\xff\xfe", b"{not json"], ids=["not UTF-8", "invalid JSON"])
@pytest.mark.parametrize("route", COGNITO_ROUTES)
def test_an_unreadable_body_on_an_account_route_gets_a_cognito_style_error(cloud_service: CloudServer, cloud: Account,
                                                                          route: str, body: bytes) -> None:
    """Found by fuzzing: these answered ``{"error", "message"}``, not ``{"errors", "code"}`` (cloud-api §10.7)."""
    reply = httpx.post(f"{cloud_service.base_url}{route}", content=body,
                       headers={**cloud.headers, "Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["code"] == "InvalidParameterException"
    assert reply.json()["errors"]
    assert "error" not in reply.json()
