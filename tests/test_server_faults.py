"""Local NDI Cloud server: fault injection (cloud-api §10.8), seeded and scriptable."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from ndicloud.core import Document, new_id
from ndicloud.server.faults import FaultSettings

from cloud_server import CloudServer, cloud_server, eventually


def _script(server: CloudServer, *faults: dict, reset: bool = True) -> None:
    reply = httpx.post(f"{server.config.base_url}/_faults", json={"reset": reset, "faults": list(faults)})
    assert reply.status_code == 200


def test_settings_parse_and_reject_unknown_names():
    settings = FaultSettings.parse("seed=7, error_rate=0.25,latency_s=0.01")
    assert (settings.seed, settings.error_rate, settings.latency_s) == (7, 0.25, 0.01)
    with pytest.raises(ValueError, match="unknown fault setting"):
        FaultSettings.parse("explode=1")


def test_control_route_exists_only_when_enabled(cloud_service: CloudServer):
    assert httpx.post(f"{cloud_service.config.base_url}/_faults", json={"reset": True}).status_code == 404


def test_scripted_failures_before_and_after_the_work(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="seed=1") as server:
        account = server.account()
        dataset_id = account.new_dataset()
        url = f"{account.base_url}/datasets/{dataset_id}/documents"
        _script(server, {"route": "POST /v1/datasets/*/documents", "count": 2, "status": 503})
        statuses = [httpx.post(url, content=Document.new("demoNDI").to_json(), headers=account.headers).status_code
                    for _ in range(3)]
        assert statuses == [503, 503, 201]
        count = f"{account.base_url}/datasets/{dataset_id}/document-count"
        assert httpx.get(count, headers=account.headers).json()["count"] == 1  # the refused ones did nothing
        _script(server, {"route": "POST /v1/datasets/*/documents", "count": 1, "status": 504, "afterWork": True})
        assert httpx.post(url, content=Document.new("demoNDI").to_json(), headers=account.headers).status_code == 504
        assert httpx.get(count, headers=account.headers).json()["count"] == 2  # "504 yet succeeded"


def test_error_rate_is_seeded_and_replayable(tmp_path: Path):
    def statuses(data: Path) -> list[int]:
        with cloud_server(data, faults="seed=42,error_rate=0.5") as server:
            _script(server, reset=True)
            return [httpx.get(f"{server.base_url}/datasets/published").status_code for _ in range(20)]

    first, second = statuses(tmp_path / "a"), statuses(tmp_path / "b")
    assert first == second
    assert set(first) - {200} <= {500, 502, 503, 504} and 200 in first and len(set(first)) > 1


def test_latency(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="latency_s=0.2") as server:
        started = time.monotonic()
        httpx.get(f"{server.base_url}/datasets/published")
        assert time.monotonic() - started >= 0.2


def test_read_after_write_lag(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="read_lag_s=3") as server:  # wide: a loaded machine is slow
        account = server.account()
        dataset_id = account.new_dataset()
        url = f"{account.base_url}/datasets/{dataset_id}"
        assert httpx.get(url, headers=account.headers).status_code == 404
        time.sleep(3.1)
        assert httpx.get(url, headers=account.headers).status_code == 200


def test_storage_download_cut_mid_body(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="drop_rate=1", file_registration_delay_s=0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        uid = new_id()
        put = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{uid}",
                        headers=account.headers).json()["url"]
        assert httpx.put(put, content=b"z" * 100_000).status_code == 200
        detail_url = f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail"
        detail = eventually(lambda: (r := httpx.get(detail_url, headers=account.headers)).status_code == 200 and r)
        with pytest.raises(httpx.TransportError):
            httpx.get(detail.json()["downloadUrl"])


def test_storage_upload_cut_mid_body_keeps_nothing(tmp_path: Path):
    with cloud_server(tmp_path / "data", faults="upload_drop_rate=1", file_registration_delay_s=0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        uid = new_id()
        put = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{uid}",
                        headers=account.headers).json()["url"]
        try:
            reply = httpx.put(put, content=b"q" * 300_000)
            assert reply.status_code >= 500
        except httpx.TransportError:
            pass  # the connection was dropped: as good a failure as a 5xx
        stored = server.config.data_dir / "blobs" / "files" / dataset_id
        assert not stored.exists() or not any(stored.iterdir())  # no object, no half-written temporary file
        detail = httpx.get(f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail", headers=account.headers)
        assert detail.status_code == 404
