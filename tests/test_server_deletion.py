"""Local NDI Cloud server: what soft deletion hides, what a prune removes, what undelete brings back (§10.6)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from ndicloud.core import Document, new_id

from cloud_server import Account, CloudServer, cloud_server, eventually


@pytest.fixture(scope="module")
def deletion_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with cloud_server(tmp_path_factory.mktemp("deletion-cloud"), undelete_delay_s=0, file_registration_delay_s=0,
                      publish_delay_s=0) as server:
        yield server


def _add(account: Account, dataset_id: str, value: int) -> tuple[str, str]:
    doc = Document.new("demoNDI", properties={"demoNDI": {"value": value}})
    return account.add_document(dataset_id, doc), doc.id


def _delete(account: Account, dataset_id: str, cloud_id: str, **params: str) -> None:
    reply = httpx.delete(f"{account.base_url}/datasets/{dataset_id}/documents/{cloud_id}", params=params,
                         headers=account.headers)
    assert reply.status_code == 200, reply.text


def _deleted_ids(account: Account, dataset_id: str) -> set[str]:
    reply = httpx.get(f"{account.base_url}/datasets/{dataset_id}/documents/deleted", headers=account.headers)
    return {d["id"] for d in reply.json()["documents"]}


def _bulk_download(account: Account, dataset_id: str, ids: list[str]) -> list[dict]:
    url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-download", json={"documentIds": ids},
                     headers=account.headers).json()["url"]
    reply = eventually(lambda: (r := httpx.get(url)).status_code == 200 and r)
    with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
        return json.loads(archive.read(archive.namelist()[0]))


def test_soft_deleted_documents_are_left_out_of_every_read(deletion_cloud: CloudServer):
    account = deletion_cloud.account()
    dataset_id = account.new_dataset()
    (kept, kept_ndi), (gone, _) = _add(account, dataset_id, 1), _add(account, dataset_id, 2)
    _delete(account, dataset_id, gone)  # no `when`: the default 7d, so it stays soft-deleted here
    base = f"{account.base_url}/datasets/{dataset_id}"
    assert httpx.get(f"{base}/documents/{gone}", headers=account.headers).status_code == 404
    fetched = httpx.post(f"{base}/documents/bulk-fetch", json={"documentIds": [kept, gone]}, headers=account.headers)
    assert [d["id"] for d in fetched.json()["documents"]] == [kept]
    query = httpx.post(f"{account.base_url}/ndiquery", json={"scope": dataset_id, "searchstructure": [
        {"field": "", "operation": "isa", "param1": "demoNDI"}]}, headers=account.headers)
    assert [d["ndiId"] for d in query.json()["documents"]] == [kept_ndi]
    assert [d["base"]["id"] for d in _bulk_download(account, dataset_id, [])] == [kept_ndi]
    assert [d["base"]["id"] for d in _bulk_download(account, dataset_id, [kept, gone])] == [kept_ndi]
    counts = [httpx.get(f"{base}/document-count", params=p, headers=account.headers).json()["count"]
              for p in ({}, {"includeDeleted": "true"})]
    assert counts == [1, 2]
    assert _deleted_ids(account, dataset_id) == {gone}


def test_a_document_is_pruned_when_its_time_comes(deletion_cloud: CloudServer):
    account = deletion_cloud.account()
    dataset_id = account.new_dataset()
    now_id, _ = _add(account, dataset_id, 1)
    later_id, _ = _add(account, dataset_id, 2)
    _delete(account, dataset_id, now_id, when="now")
    _delete(account, dataset_id, later_id, when="1s")
    assert now_id not in _deleted_ids(account, dataset_id)  # `now` prunes at once
    eventually(lambda: later_id not in _deleted_ids(account, dataset_id))
    count = httpx.get(f"{account.base_url}/datasets/{dataset_id}/document-count", params={"includeDeleted": "true"},
                      headers=account.headers).json()["count"]
    assert count == 0


def test_undeleting_a_dataset_brings_its_documents_and_files_back(deletion_cloud: CloudServer):
    account = deletion_cloud.account()
    dataset_id = account.new_dataset()
    cloud_id, _ = _add(account, dataset_id, 1)
    uid = new_id()
    account.upload_file(dataset_id, uid, b"binary bytes")
    detail_url = f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail"
    base = f"{account.base_url}/datasets/{dataset_id}"
    assert httpx.delete(base, params={"when": "1d"}, headers=account.headers).status_code == 200
    assert httpx.get(f"{base}/documents/{cloud_id}", headers=account.headers).status_code == 404
    assert httpx.get(detail_url, headers=account.headers).status_code == 404
    assert httpx.post(f"{base}/undelete", headers=account.headers).status_code == 200
    eventually(lambda: httpx.get(base, headers=account.headers).status_code == 200)
    assert httpx.get(f"{base}/documents/{cloud_id}", headers=account.headers).status_code == 200
    file_detail = httpx.get(detail_url, headers=account.headers).json()
    download = httpx.get(file_detail["downloadUrl"])
    assert download.content == b"binary bytes"


def test_a_dataset_deletion_defaults_to_seven_days(deletion_cloud: CloudServer):
    account = deletion_cloud.account()
    dataset_id = account.new_dataset()
    assert httpx.delete(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).status_code == 200
    deleted = httpx.get(f"{account.base_url}/datasets/deleted", headers=account.headers).json()["datasets"]
    item = next(d for d in deleted if d["id"] == dataset_id)
    commanded, due = (datetime.fromisoformat(item[k].replace("Z", "+00:00"))
                      for k in ("deleteCommandTime", "deleteOccurrenceTime"))
    assert abs((due - commanded) - timedelta(days=7)) < timedelta(seconds=5)


def test_pending_prune_and_undelete_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    settings = {"undelete_delay_s": 2, "file_registration_delay_s": 0}
    with cloud_server(data, **settings) as server:
        account = server.account()
        pruned, restored = account.new_dataset("pruned"), account.new_dataset("restored")
        doc_id, _ = _add(account, restored, 1)
        base = account.base_url
        assert httpx.delete(f"{base}/datasets/{pruned}", params={"when": "2s"}, headers=account.headers).status_code \
            == 200
        assert httpx.delete(f"{base}/datasets/{restored}", params={"when": "1d"}, headers=account.headers) \
            .status_code == 200
        assert httpx.post(f"{base}/datasets/{restored}/undelete", headers=account.headers).status_code == 200
        token = account.token
    # Both are still pending at the stop; the restarted server finishes them from its records.
    with cloud_server(data, **settings) as server:
        base, headers = server.base_url, {"Authorization": f"Bearer {token}"}
        eventually(lambda: httpx.get(f"{base}/datasets/{restored}", headers=headers).status_code == 200)
        assert httpx.get(f"{base}/datasets/{restored}/documents/{doc_id}", headers=headers).status_code == 200
        eventually(lambda: pruned not in {d["id"] for d in httpx.get(f"{base}/datasets/deleted",
                                                                      headers=headers).json()["datasets"]})
        assert httpx.get(f"{base}/datasets/{pruned}", headers=headers).status_code == 404


@pytest.mark.parametrize("path", ["/datasets/{dataset}", "/datasets/{dataset}/documents/{document}"])
def test_a_deletion_too_far_away_to_date_is_a_400(deletion_cloud: CloudServer, path: str):
    """A prune time beyond any timestamp: a dataset's answered 500 (found by following links from a new dataset);
    the same rule for a document's and a bulk delete's."""
    account = deletion_cloud.account()
    dataset_id = account.new_dataset()
    cloud_id, _ = _add(account, dataset_id, 1)
    url = account.base_url + path.format(dataset=dataset_id, document=cloud_id)
    for when in ("43879483517367506m", "36501d", f"{36500 * 86400 + 1}s"):
        reply = httpx.delete(url, params={"when": when}, headers=account.headers)
        assert reply.status_code == 400, reply.text
        assert when in reply.json()["error"]
    bulk = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-delete", headers=account.headers,
                      json={"documentIds": [cloud_id], "when": "99999999999d"})
    assert bulk.status_code == 400, bulk.text
    assert httpx.get(url, headers=account.headers).status_code == 200  # nothing was deleted
    assert httpx.delete(url, params={"when": "36500d"}, headers=account.headers).status_code == 200
