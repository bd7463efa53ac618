"""Local NDI Cloud server: MATLAB licences for compute (cloud-api §5.1 U4-U7, §10.8)."""

from __future__ import annotations

import sqlite3
import time

import httpx

from ndicloud.server.records import DATABASE_FILE, Records

from cloud_server import Account, CloudServer, cloud_server

LICENSE = "# MATLAB licence\nINCREMENT MATLAB MLM 46 01-jan-2030 uncounted HOSTID={host} SIGN=0\n"


def _url(account: Account) -> str:
    return f"{account.base_url}/users/me/matlab-license"


def test_nothing_registered(cloud: Account):
    status = httpx.get(_url(cloud), headers=cloud.headers).json()
    assert status["mode"] is None and status["files"] == []


def test_dedicated_allocation_is_idempotent_and_registration_checks_the_host(cloud: Account):
    first = httpx.post(_url(cloud), headers=cloud.headers)
    assert first.status_code == 201
    mac = first.json()["macAddress"]
    assert first.json()["mode"] == "dedicated" and first.json()["eniId"] and first.json()["subnetId"]
    again = httpx.post(_url(cloud), headers=cloud.headers)
    assert again.status_code == 200 and again.json()["macAddress"] == mac
    wrong_host = httpx.put(_url(cloud), json={"dedicatedLicenseFile": LICENSE.format(host="00:11:22:33:44:55"),
                                              "release": "R2024b"}, headers=cloud.headers)
    assert wrong_host.status_code == 400 and "HOSTID" in wrong_host.json()["error"]
    host = mac.replace(":", "").upper()  # separators and case do not matter
    ok = httpx.put(_url(cloud), json={"dedicatedLicenseFile": LICENSE.format(host=host), "release": "R2024b"},
                   headers=cloud.headers)
    assert ok.status_code == 200 and [f["release"] for f in ok.json()["files"]] == ["R2024b"]
    bad_release = httpx.put(_url(cloud), json={"dedicatedLicenseFile": LICENSE.format(host=host),
                                               "release": "2024b"}, headers=cloud.headers)
    assert bad_release.status_code == 400
    no_feature = httpx.put(_url(cloud), json={"dedicatedLicenseFile": "nothing here", "release": "R2024a"},
                           headers=cloud.headers)
    assert no_feature.status_code == 400 and "INCREMENT" in no_feature.json()["error"]
    removed = httpx.delete(_url(cloud), params={"release": "R2024b"}, headers=cloud.headers)
    assert removed.status_code == 200 and removed.json()["files"] == []
    assert httpx.delete(_url(cloud), headers=cloud.headers).status_code == 204
    assert httpx.get(_url(cloud), headers=cloud.headers).json()["mode"] is None


def test_network_licence_rules(cloud: Account):
    with_release = httpx.put(_url(cloud), json={"networkLicenseFile": LICENSE.format(host="ANY"),
                                                "release": "R2024b"}, headers=cloud.headers)
    assert with_release.status_code == 400
    ok = httpx.put(_url(cloud), json={"networkLicenseFile": LICENSE.format(host="ANY")}, headers=cloud.headers)
    assert ok.status_code == 200 and ok.json()["mode"] == "network"
    assert httpx.post(_url(cloud), headers=cloud.headers).status_code == 409
    dedicated_first = httpx.put(_url(cloud), json={"dedicatedLicenseFile": LICENSE.format(host="ANY"),
                                                   "release": "R2024b"}, headers=cloud.headers)
    assert dedicated_first.status_code == 400 and "allocate" in dedicated_first.json()["error"]


def test_licence_lets_hello_matlab_complete(tmp_path):
    with cloud_server(tmp_path / "data", compute_stage_delay_s=0.05) as server:
        account = server.account()
        start = f"{account.base_url}/compute/start"
        assert httpx.post(start, json={"pipelineId": "hello-matlab-v1"},
                          headers=account.headers).json()["code"] == "MATLAB_LICENSE_REQUIRED"
        httpx.put(_url(account), json={"networkLicenseFile": LICENSE.format(host="ANY")}, headers=account.headers)
        session_id = httpx.post(start, json={"pipelineId": "hello-matlab-v1"}, headers=account.headers).json()[
            "sessionId"]
        deadline = time.monotonic() + 10
        while (state := httpx.get(f"{account.base_url}/compute/{session_id}", headers=account.headers).json())[
                "status"] != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert state["history"]["verify"]["status"] == "COMPLETED"


def test_licence_routes_need_a_login(cloud_service: CloudServer):
    for method in ("GET", "POST", "PUT", "DELETE"):
        assert httpx.request(method, f"{cloud_service.base_url}/users/me/matlab-license").status_code == 401


def test_stored_licence_text_stays_private_and_a_damaged_one_cannot_be_used(tmp_path):
    with cloud_server(tmp_path / "data") as server:
        account = server.account()
        registered = httpx.put(_url(account), json={"networkLicenseFile": LICENSE.format(host="ANY")},
                               headers=account.headers).json()
        assert registered["files"][0].keys() == {"release", "registeredAt"}  # no text, no seal on the wire
        with sqlite3.connect(tmp_path / "data" / DATABASE_FILE) as conn:  # the stored text is altered
            conn.execute("UPDATE matlab_licenses SET files = replace(files, 'MLM 46', 'MLM 47') WHERE user_id = ?",
                         (account.user_id,))
        reply = httpx.post(f"{account.base_url}/compute/start", json={"pipelineId": "hello-matlab-v1"},
                           headers=account.headers)
        assert reply.status_code == 400
        assert reply.json()["code"] == "MATLAB_LICENSE_DECRYPT_FAILED" and "network" in reply.json()["error"]
        httpx.put(_url(account), json={"networkLicenseFile": LICENSE.format(host="ANY")}, headers=account.headers)
        assert httpx.post(f"{account.base_url}/compute/start", json={"pipelineId": "hello-matlab-v1"},
                          headers=account.headers).status_code == 201


def test_a_user_without_compute_rights_is_refused(cloud_service: CloudServer):
    account = cloud_service.account(can_compute=False)
    reply = httpx.post(f"{account.base_url}/compute/start", json={"pipelineId": "hello-world-v1"},
                       headers=account.headers)
    assert reply.status_code == 403 and "does not have permission" in reply.json()["error"]
    assert httpx.get(f"{account.base_url}/compute", headers=account.headers).json()["sessions"] == []


def test_records_made_before_compute_rights_gain_the_column(tmp_path):
    with sqlite3.connect(tmp_path / DATABASE_FILE) as conn:
        conn.execute("CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, "
                     "name TEXT NOT NULL, password_hash TEXT NOT NULL, is_admin INTEGER NOT NULL DEFAULT 0, "
                     "is_validated INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL)")
        conn.execute("INSERT INTO users VALUES ('u1', 'old@lab.example', 'old', 'h', 0, 1, '2026-01-01')")
    user = Records(tmp_path).user_by_id("u1")
    assert user is not None and user.can_compute
