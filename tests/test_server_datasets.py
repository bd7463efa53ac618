"""Local NDI Cloud server, dataset routes and access rules, over real HTTP (cloud-api §5.2, §10.3, §10.7)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from cloud_server import Account, CloudServer, cloud_server

LIST_ONLY_ABSENT = {"species", "neurons", "numberOfSubjects", "brainRegions", "pubMedId", "affiliation",
                    "associatedPublications", "files", "documents", "_id"}


def _create(account: Account, **metadata: object) -> str:
    reply = httpx.post(f"{account.base_url}/organizations/{account.organization_id}/datasets",
                       json={"name": "a dataset", **metadata}, headers=account.headers)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def _publish(server: CloudServer, dataset_id: str) -> None:
    record = server.records.dataset(dataset_id)
    assert record is not None
    server.records.update_dataset(dataset_id, record.metadata, is_published=1)


def test_create_then_detail_has_underscore_id_and_every_field(cloud: Account):
    dataset_id = _create(cloud, abstract="Recordings", species="mouse,rat")
    reply = httpx.get(f"{cloud.base_url}/datasets/{dataset_id}", headers=cloud.headers)
    assert reply.status_code == 200
    detail = reply.json()
    assert detail["_id"] == dataset_id and "id" not in detail
    assert detail["name"] == "a dataset" and detail["abstract"] == "Recordings" and detail["species"] == "mouse,rat"
    assert detail["organizationId"] == cloud.organization_id
    assert detail["isPublished"] is False and detail["isSubmitted"] is False and detail["isDeleted"] is False
    for name in ("branchName", "doi", "license", "contributors", "funding", "createdAt", "updatedAt", "totalSize",
                 "documentCount", "files", "documents"):
        assert name in detail, name
    assert len(dataset_id) == 24 and int(dataset_id, 16) >= 0


def test_create_rules(cloud_service: CloudServer, cloud: Account):
    url = f"{cloud.base_url}/organizations/{cloud.organization_id}/datasets"
    assert httpx.post(url, json={"name": "x"}).status_code == 401
    assert httpx.post(url, json={"abstract": "no name"}, headers=cloud.headers).status_code == 400
    outsider = cloud_service.account()
    assert httpx.post(url, json={"name": "x"}, headers=outsider.headers).status_code == 403
    reader = cloud_service.account(can_upload=False)
    own = f"{cloud.base_url}/organizations/{reader.organization_id}/datasets"
    refused = httpx.post(own, json={"name": "x"}, headers=reader.headers)
    assert refused.status_code == 400 and "permission" in refused.json()["message"]


def test_organization_list_pages_without_overlap(cloud_service: CloudServer, cloud: Account):
    ids = {_create(cloud, name=f"d{i}") for i in range(5)}
    url = f"{cloud.base_url}/organizations/{cloud.organization_id}/datasets"
    first = httpx.get(url, params={"page": 1, "pageSize": 3}, headers=cloud.headers).json()
    second = httpx.get(url, params={"page": 2, "pageSize": 3}, headers=cloud.headers).json()
    assert first["totalNumber"] == 5 and first["page"] == 1 and first["pageSize"] == 3
    listed = [d["id"] for d in first["datasets"]] + [d["id"] for d in second["datasets"]]
    assert len(listed) == 5 and set(listed) == ids
    assert not LIST_ONLY_ABSENT & set(first["datasets"][0])
    clamped = httpx.get(url, params={"pageSize": 5000}, headers=cloud.headers).json()
    assert clamped["pageSize"] == 1000
    for bad in ({"page": 0}, {"pageSize": "ten"}, {"page": -2}):
        assert httpx.get(url, params=bad, headers=cloud.headers).status_code == 400
    outsider = cloud_service.account()
    assert httpx.get(url, headers=outsider.headers).status_code == 403


def test_other_organization_and_anonymous_cannot_see_unpublished(cloud_service: CloudServer, cloud: Account):
    dataset_id = _create(cloud)
    outsider = cloud_service.account()
    assert httpx.get(f"{cloud.base_url}/datasets/{dataset_id}", headers=outsider.headers).status_code == 404
    assert httpx.get(f"{cloud.base_url}/datasets/{dataset_id}").status_code == 404
    update = httpx.post(f"{cloud.base_url}/datasets/{dataset_id}", json={"name": "mine now"},
                        headers=outsider.headers)
    assert update.status_code == 404
    admin = cloud_service.account(admin=True)
    assert httpx.get(f"{cloud.base_url}/datasets/{dataset_id}", headers=admin.headers).status_code == 200


def test_published_dataset_is_readable_by_anyone_but_writable_by_members_only(cloud_service: CloudServer,
                                                                                cloud: Account):
    dataset_id = _create(cloud, name="public data")
    _publish(cloud_service, dataset_id)
    anonymous = httpx.get(f"{cloud.base_url}/datasets/{dataset_id}")
    assert anonymous.status_code == 200 and anonymous.json()["isPublished"] is True
    catalogue = httpx.get(f"{cloud.base_url}/datasets/published", params={"pageSize": 1000}).json()
    assert dataset_id in {d["id"] for d in catalogue["datasets"]} and catalogue["totalNumber"] >= 1
    outsider = cloud_service.account()
    write = httpx.post(f"{cloud.base_url}/datasets/{dataset_id}", json={"name": "x"}, headers=outsider.headers)
    assert write.status_code == 403
    assert httpx.post(f"{cloud.base_url}/datasets/{dataset_id}", json={"name": "x"}).status_code == 401


def test_update_changes_metadata_and_submission_but_not_protected_fields(cloud: Account):
    dataset_id = _create(cloud)
    url = f"{cloud.base_url}/datasets/{dataset_id}"
    reply = httpx.post(url, json={"name": "renamed", "doi": "10.1/x", "isSubmitted": True, "isPublished": True,
                                  "organizationId": "f" * 24}, headers=cloud.headers)
    assert reply.status_code == 200
    detail = httpx.get(url, headers=cloud.headers).json()
    assert detail["name"] == "renamed" and detail["doi"] == "10.1/x" and detail["isSubmitted"] is True
    assert detail["isPublished"] is False and detail["organizationId"] == cloud.organization_id
    assert httpx.post(url, json={"name": ""}, headers=cloud.headers).status_code == 400


def test_json_declared_as_a_form_and_nan_tokens(cloud: Account):
    url = f"{cloud.base_url}/organizations/{cloud.organization_id}/datasets"
    raw = '{"name": "form-declared", "numberOfSubjects": NaN, "neurons": Infinity}'
    reply = httpx.post(url, content=raw, headers={**cloud.headers,
                                                  "Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 201, reply.text
    text = httpx.get(f"{cloud.base_url}/datasets/{reply.json()['id']}", headers=cloud.headers).text
    detail = json.loads(text)
    assert detail["numberOfSubjects"] == "__NDI__NaN__" and detail["neurons"] == "__NDI__Infinity__"
    assert "NaN," not in text  # never bare tokens in responses
    encoded = httpx.post(url, content="%7B%22name%22%3A%22percent%22%7D",
                         headers={**cloud.headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert encoded.status_code == 201
    assert len(encoded.json()["id"]) == 24


def test_invalid_json_names_the_position(cloud: Account):
    url = f"{cloud.base_url}/organizations/{cloud.organization_id}/datasets"
    reply = httpx.post(url, content='{"name": "x",}', headers={**cloud.headers, "Content-Type": "application/json"})
    assert reply.status_code == 400
    assert "line 1 column" in reply.json()["error"]


def test_malformed_or_unknown_ids_and_routes_are_404(cloud: Account):
    for dataset_id in ("not-an-id", "0" * 24, "../../etc"):
        reply = httpx.get(f"{cloud.base_url}/datasets/{dataset_id}", headers=cloud.headers)
        assert reply.status_code == 404 and "error" in reply.json()
    assert httpx.get(f"{cloud.base_url}/no/such/route", headers=cloud.headers).status_code == 404


def test_oversized_body_is_refused(tmp_path: Path):
    with cloud_server(tmp_path / "data", max_json_body_bytes=1024) as server:
        account = server.account()
        reply = httpx.post(f"{server.base_url}/organizations/{account.organization_id}/datasets",
                           json={"name": "x", "abstract": "y" * 5000}, headers=account.headers)
        assert reply.status_code == 413


@pytest.mark.parametrize("restarts", [1, 2])
def test_records_survive_restarts(tmp_path: Path, restarts: int):
    data = tmp_path / "data"
    with cloud_server(data) as server:
        account = server.account()
        dataset_id = _create(account, name="kept")
    for _ in range(restarts):
        with cloud_server(data) as server:
            token = server.login(account.email, account.password)
            reply = httpx.get(f"{server.base_url}/datasets/{dataset_id}", headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 200 and reply.json()["name"] == "kept"
