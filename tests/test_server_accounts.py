"""Local NDI Cloud server, account routes and tokens, over real HTTP (cloud-api §2, §5.1, §10.2)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

from ndicloud.server.records import Records
from ndicloud.server.security import load_or_create_secret

from cloud_server import Account, CloudServer, cloud_server


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_login_returns_token_and_user(cloud_service: CloudServer, cloud: Account):
    reply = httpx.post(f"{cloud.base_url}/auth/login", json={"email": cloud.email, "password": cloud.password})
    assert reply.status_code == 200
    body = reply.json()
    claims = _claims(body["token"])
    assert claims["sub"] == cloud.user_id and claims["email"] == cloud.email
    assert claims["exp"] - claims["iat"] == 3600
    user = body["user"]
    assert user["id"] == cloud.user_id and user["email"] == cloud.email and user["isAdmin"] is False
    assert user["organizations"] == [{"id": cloud.organization_id, "name": user["organizations"][0]["name"],
                                      "canUploadDataset": True}]


def test_wrong_password_is_401_with_cognito_body(cloud: Account):
    reply = httpx.post(f"{cloud.base_url}/auth/login", json={"email": cloud.email, "password": "wrong-password"})
    assert reply.status_code == 401
    assert reply.json()["errors"] == "Unable to login"
    unknown = httpx.post(f"{cloud.base_url}/auth/login", json={"email": "nobody@x.org", "password": "whatever1"})
    assert unknown.status_code == 401


def test_login_ignores_any_authorization_header(cloud: Account):
    reply = httpx.post(f"{cloud.base_url}/auth/login", json={"email": cloud.email, "password": cloud.password},
                       headers={"Authorization": "Bearer not-a-token"})
    assert reply.status_code == 200


def test_users_me_and_by_id(cloud_service: CloudServer, cloud: Account):
    me = httpx.get(f"{cloud.base_url}/users/me", headers=cloud.headers)
    assert me.status_code == 200
    assert set(me.json()) >= {"id", "name", "email", "isValidated", "isAdmin", "bookmarkedDatasetIds",
                              "organizations"}
    other = cloud_service.account()
    by_id = httpx.get(f"{cloud.base_url}/users/{other.user_id}", headers=cloud.headers)
    assert by_id.status_code == 200 and by_id.json()["id"] == other.user_id
    assert httpx.get(f"{cloud.base_url}/users/{'0' * 24}", headers=cloud.headers).status_code == 404
    assert httpx.get(f"{cloud.base_url}/users/me").status_code == 401


def test_forged_and_expired_tokens_are_401(cloud_service: CloudServer, cloud: Account):
    other_key = b"a 32-byte key that is not the server's"
    wrong_key = jwt.encode({"sub": cloud.user_id, "email": cloud.email, "iat": int(time.time()),
                            "exp": int(time.time()) + 600}, other_key, algorithm="HS256")
    unsigned = jwt.encode({"sub": cloud.user_id, "iat": int(time.time()), "exp": int(time.time()) + 600},
                          None, algorithm="none")
    secret = load_or_create_secret(cloud_service.config.data_dir)
    expired = jwt.encode({"sub": cloud.user_id, "email": cloud.email, "iat": int(time.time()) - 7200,
                          "exp": int(time.time()) - 3600}, secret, algorithm="HS256")
    for token, reason in ((wrong_key, "Invalid token"), (unsigned, "Invalid token"), (expired, "Token expired"),
                          ("garbage", "Invalid token")):
        reply = httpx.get(f"{cloud.base_url}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, token
        assert reply.json()["error"] == reason


def test_logout_revokes_the_token(cloud: Account):
    assert httpx.post(f"{cloud.base_url}/auth/logout", headers=cloud.headers).status_code == 200
    assert httpx.get(f"{cloud.base_url}/users/me", headers=cloud.headers).status_code == 401


def test_short_token_lifetime_expires(tmp_path: Path):
    with cloud_server(tmp_path / "data", token_ttl_s=4) as server:  # exp - now >= 3 s right after login
        account = server.account()
        assert httpx.get(f"{server.base_url}/users/me", headers=account.headers).status_code == 200
        time.sleep(5.1)
        assert httpx.get(f"{server.base_url}/users/me", headers=account.headers).status_code == 401


def test_add_user_on_the_command_line_then_log_in(tmp_path: Path):
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "ndicloud.cli", "server", "add-user", "ann@lab.org", "--org", "vhlab",
         "--password-stdin", "--admin", "--data", str(data)],
        input="a-long-password\n", capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with cloud_server(data) as server:
        reply = httpx.post(f"{server.base_url}/auth/login", json={"email": "ann@lab.org",
                                                                  "password": "a-long-password"})
        assert reply.status_code == 200
        user = reply.json()["user"]
        assert user["isAdmin"] is True and user["organizations"][0]["name"] == "vhlab"


def test_add_user_without_compute_rights(tmp_path: Path):
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "ndicloud.cli", "server", "add-user", "bo@lab.org", "--org", "vhlab",
         "--password-stdin", "--no-can-compute", "--data", str(data)],
        input="a-long-password\n", capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    user = Records(data).user_by_email("bo@lab.org")
    assert user is not None and not user.can_compute
