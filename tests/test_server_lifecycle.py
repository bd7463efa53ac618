"""Local NDI Cloud server: delete/undelete, submit, publish/unpublish, branches (cloud-api §5.2, §10.5, §10.6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud_server import Account, CloudServer, cloud_server, eventually


@pytest.fixture(scope="module")
def fast_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """A server whose deferred work has no deliberate delay (it still runs on the worker)."""
    with cloud_server(tmp_path_factory.mktemp("fast-cloud"), publish_delay_s=0, undelete_delay_s=0) as server:
        yield server


def _create(account: Account, name: str = "a dataset") -> str:
    reply = httpx.post(f"{account.base_url}/organizations/{account.organization_id}/datasets",
                       json={"name": name}, headers=account.headers)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]




def test_soft_delete_hides_and_lists_as_deleted_then_undelete_restores(fast_cloud: CloudServer):
    owner = fast_cloud.account()
    dataset_id = _create(owner)
    url = f"{owner.base_url}/datasets/{dataset_id}"
    reply = httpx.delete(url, params={"when": "1d"}, headers=owner.headers)
    assert reply.status_code == 200 and "message" in reply.json()
    assert httpx.get(url, headers=owner.headers).status_code == 404
    listed = httpx.get(f"{owner.base_url}/organizations/{owner.organization_id}/datasets", headers=owner.headers)
    assert dataset_id not in {d["id"] for d in listed.json()["datasets"]}
    deleted = httpx.get(f"{owner.base_url}/datasets/deleted", headers=owner.headers).json()["datasets"]
    item = next(d for d in deleted if d["id"] == dataset_id)
    assert item["isDeleted"] is True and item["deleteCommandTime"] and item["deleteOccurrenceTime"]
    undelete = httpx.post(f"{url}/undelete", headers=owner.headers)  # zero-length body
    assert undelete.status_code == 200
    eventually(lambda: httpx.get(url, headers=owner.headers).status_code == 200)
    assert httpx.get(url, headers=owner.headers).json()["isDeleted"] is False


def test_delete_now_prunes_and_undelete_is_then_404(fast_cloud: CloudServer):
    owner = fast_cloud.account()
    dataset_id = _create(owner)
    url = f"{owner.base_url}/datasets/{dataset_id}"
    assert httpx.delete(url, params={"when": "now"}, headers=owner.headers).status_code == 200
    assert httpx.get(url, headers=owner.headers).status_code == 404
    assert httpx.post(f"{url}/undelete", headers=owner.headers).status_code == 404
    deleted = httpx.get(f"{owner.base_url}/datasets/deleted", headers=owner.headers).json()["datasets"]
    assert dataset_id not in {d["id"] for d in deleted}


def test_short_deletion_is_pruned_by_the_worker(fast_cloud: CloudServer):
    owner = fast_cloud.account()
    dataset_id = _create(owner)
    assert httpx.delete(f"{owner.base_url}/datasets/{dataset_id}", params={"when": "1s"},
                        headers=owner.headers).status_code == 200
    eventually(lambda: fast_cloud.records.dataset(dataset_id) is None)
    assert httpx.post(f"{owner.base_url}/datasets/{dataset_id}/undelete", headers=owner.headers).status_code == 404


@pytest.mark.parametrize("when", ["", "7", "d7", "0d", "-1h", "1w", "1.5h", "soon"])
def test_bad_when_is_400(fast_cloud: CloudServer, when: str):
    owner = fast_cloud.account()
    dataset_id = _create(owner)
    reply = httpx.delete(f"{owner.base_url}/datasets/{dataset_id}", params={"when": when}, headers=owner.headers)
    assert reply.status_code == 400 and "when" in reply.json()["error"]
    assert httpx.get(f"{owner.base_url}/datasets/{dataset_id}", headers=owner.headers).status_code == 200


def test_delete_rules(fast_cloud: CloudServer):
    owner = fast_cloud.account()
    dataset_id = _create(owner)
    url = f"{owner.base_url}/datasets/{dataset_id}"
    assert httpx.delete(url).status_code == 401
    assert httpx.delete(url, headers=fast_cloud.account().headers).status_code == 404


def test_submit_then_admin_publishes_and_unpublishes(fast_cloud: CloudServer):
    owner = fast_cloud.account()
    admin = fast_cloud.account(admin=True)
    dataset_id = _create(owner)
    url = f"{owner.base_url}/datasets/{dataset_id}"
    assert httpx.post(f"{url}/submit", headers={**owner.headers, "Content-Type": "application/json"}).status_code == 200
    assert httpx.get(url, headers=owner.headers).json()["isSubmitted"] is True
    review = httpx.get(f"{owner.base_url}/datasets/unpublished", headers=admin.headers).json()["datasets"]
    assert dataset_id in {d["id"] for d in review}
    own_review = httpx.get(f"{owner.base_url}/datasets/unpublished", headers=owner.headers).json()["datasets"]
    assert dataset_id in {d["id"] for d in own_review}
    outsider_review = httpx.get(f"{owner.base_url}/datasets/unpublished",
                                headers=fast_cloud.account().headers).json()["datasets"]
    assert dataset_id not in {d["id"] for d in outsider_review}

    assert httpx.post(f"{url}/publish", headers=owner.headers).status_code == 403
    assert httpx.post(f"{url}/publish").status_code == 401
    assert httpx.post(f"{url}/publish", headers=admin.headers).status_code == 200
    eventually(lambda: httpx.get(url).status_code == 200)  # anonymous can read it once published
    assert httpx.get(url).json()["isPublished"] is True
    assert httpx.post(f"{url}/unpublish", headers=admin.headers, content=b"{}").status_code == 200
    eventually(lambda: httpx.get(url).status_code == 404)


def test_publish_flips_only_after_the_delay(tmp_path: Path):
    with cloud_server(tmp_path / "data", publish_delay_s=3.0) as server:  # wide: for a loaded machine
        owner, admin = server.account(), server.account(admin=True)
        dataset_id = _create(owner)
        url = f"{owner.base_url}/datasets/{dataset_id}"
        assert httpx.post(f"{url}/publish", headers=admin.headers).status_code == 200
        assert httpx.get(url, headers=owner.headers).json()["isPublished"] is False  # not yet
        eventually(lambda: httpx.get(url, headers=owner.headers).json()["isPublished"] is True)


def test_pending_publication_survives_a_restart(tmp_path: Path):
    data = tmp_path / "data"
    with cloud_server(data, publish_delay_s=2) as server:
        owner, admin = server.account(), server.account(admin=True)
        dataset_id = _create(owner)
        assert httpx.post(f"{owner.base_url}/datasets/{dataset_id}/publish", headers=admin.headers).status_code == 200
    with cloud_server(data, publish_delay_s=2) as server:
        eventually(lambda: httpx.get(f"{server.base_url}/datasets/{dataset_id}").status_code == 200)


def test_branches(fast_cloud: CloudServer):
    owner = fast_cloud.account()
    parent = _create(owner, name="parent")
    url = f"{owner.base_url}/datasets/{parent}"
    assert httpx.get(f"{url}/branches", headers=owner.headers).json() == {"branches": [], "datasets": []}
    reply = httpx.post(f"{url}/branch", json={"branchName": "reanalysis"}, headers=owner.headers)
    assert reply.status_code == 200
    child = reply.json()
    assert child["branchOf"] == parent and child["branchName"] == "reanalysis" and child["name"] == "parent"
    listed = httpx.get(f"{url}/branches", headers=owner.headers).json()
    assert [b["id"] for b in listed["branches"]] == [child["id"]] == [d["id"] for d in listed["datasets"]]
    bare = httpx.post(f"{url}/branch", headers=owner.headers)  # no body: the parent's branch name
    assert bare.status_code == 200 and bare.json()["branchOf"] == parent
    assert httpx.post(f"{url}/branch", json={"branchName": "x"},
                      headers=fast_cloud.account().headers).status_code == 404
