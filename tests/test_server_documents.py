"""Local NDI Cloud server, document routes over real HTTP (cloud-api §5.3, §7, §10.6, §10.7)."""

from __future__ import annotations

import json

import httpx
import pytest

from ndicloud.core import Document

from cloud_server import Account, CloudServer


def _add(account: Account, dataset_id: str, doc: Document) -> str:
    reply = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents", content=doc.to_json(),
                       headers={**account.headers, "Content-Type": "application/json"})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def _demo(value: object = 1, class_name: str = "demoNDI") -> Document:
    return Document.new(class_name, properties={class_name: {"value": value}}, name=f"doc {value}")


@pytest.fixture
def dataset(cloud: Account) -> str:
    return cloud.new_dataset()


def test_add_read_and_list(cloud: Account, dataset: str):
    doc = _demo(7)
    cloud_id = _add(cloud, dataset, doc)
    detail = httpx.get(f"{cloud.base_url}/datasets/{dataset}/documents/{cloud_id}", headers=cloud.headers).json()
    assert detail["id"] == cloud_id
    assert {k: v for k, v in detail.items() if k != "id"} == doc.properties  # nothing else added
    listed = httpx.get(f"{cloud.base_url}/datasets/{dataset}/documents", headers=cloud.headers).json()
    assert listed == {"documents": [{"id": cloud_id, "ndiId": doc.id, "name": "doc 7", "className": "demoNDI"}]}


def test_no_deduplication_by_ndi_id(cloud: Account, dataset: str):
    doc = _demo(1)
    first, second = _add(cloud, dataset, doc), _add(cloud, dataset, doc)
    assert first != second
    count = httpx.get(f"{cloud.base_url}/datasets/{dataset}/document-count", headers=cloud.headers).json()
    assert count == {"datasetId": dataset, "count": 2}


def test_pages_do_not_overlap(cloud: Account, dataset: str):
    ids = [_add(cloud, dataset, _demo(i)) for i in range(7)]
    url = f"{cloud.base_url}/datasets/{dataset}/documents"
    pages = [httpx.get(url, params={"page": p, "pageSize": 3}, headers=cloud.headers).json()["documents"]
             for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [d["id"] for p in pages for d in p] == ids


def test_nan_and_infinity_round_trip_as_sentinels(cloud: Account, dataset: str):
    raw = _demo().to_json().replace('"value": 1', '"value": NaN, "low": -Infinity')
    reply = httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents", content=raw,
                       headers={**cloud.headers, "Content-Type": "application/json"})
    assert reply.status_code == 201
    text = httpx.get(f"{cloud.base_url}/datasets/{dataset}/documents/{reply.json()['id']}",
                     headers=cloud.headers).text
    body = json.loads(text)
    assert body["demoNDI"]["value"] == "__NDI__NaN__" and body["demoNDI"]["low"] == "__NDI__-Infinity__"
    restored = Document.from_json(text)  # NDI readers turn the sentinels back into numbers
    assert restored.properties["demoNDI"]["low"] == float("-inf")


def test_document_posted_as_form_is_parsed(cloud: Account, dataset: str):
    doc = _demo(3)
    reply = httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents", content=doc.to_json(),
                       headers={**cloud.headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 201


@pytest.mark.parametrize("body", ['{"base": {}}', '{"no": "base"}', "[1, 2]", '{"base": {"id": 5}}'])
def test_document_without_string_base_id_is_400(cloud: Account, dataset: str, body: str):
    reply = httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents", content=body,
                       headers={**cloud.headers, "Content-Type": "application/json"})
    assert reply.status_code == 400


def test_replace_then_delete(cloud: Account, dataset: str):
    doc = _demo(1)
    cloud_id = _add(cloud, dataset, doc)
    url = f"{cloud.base_url}/datasets/{dataset}/documents/{cloud_id}"
    doc.properties["demoNDI"]["value"] = 2
    assert httpx.post(url, content=doc.to_json(), headers=cloud.headers).status_code == 200
    assert httpx.get(url, headers=cloud.headers).json()["demoNDI"]["value"] == 2
    assert httpx.delete(url, headers=cloud.headers).status_code == 200
    assert httpx.get(url, headers=cloud.headers).status_code == 404
    count_url = f"{cloud.base_url}/datasets/{dataset}/document-count"
    assert httpx.get(count_url, headers=cloud.headers).json()["count"] == 0
    assert httpx.get(count_url, params={"includeDeleted": "true"}, headers=cloud.headers).json()["count"] == 1
    deleted = httpx.get(f"{cloud.base_url}/datasets/{dataset}/documents/deleted", headers=cloud.headers).json()
    assert [d["id"] for d in deleted["documents"]] == [cloud_id]
    assert httpx.post(url, content=doc.to_json(), headers=cloud.headers).status_code == 404


def test_bulk_delete_and_counts(cloud: Account, dataset: str):
    ids = [_add(cloud, dataset, _demo(i, "demoNDI" if i % 2 else "element")) for i in range(6)]
    blank = _demo(9)
    blank.properties["document_class"]["class_name"] = ""
    _add(cloud, dataset, blank)
    counts = httpx.get(f"{cloud.base_url}/datasets/{dataset}/document-class-counts", headers=cloud.headers).json()
    assert counts == {"datasetId": dataset, "totalDocuments": 7,
                      "classCounts": {"demoNDI": 3, "element": 3, "unknown": 1}}
    reply = httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents/bulk-delete",
                       json={"documentIds": [ids[0], ids[0], ids[1]], "when": "1d"}, headers=cloud.headers)
    assert reply.status_code == 200
    assert httpx.get(f"{cloud.base_url}/datasets/{dataset}/document-count", headers=cloud.headers).json()["count"] == 5
    bad = httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents/bulk-delete",
                     json={"documentIds": ids[2:3], "when": "tomorrow"}, headers=cloud.headers)
    assert bad.status_code == 400


def test_bulk_fetch_rules(cloud_service: CloudServer, cloud: Account, dataset: str):
    docs = [_demo(i) for i in range(3)]
    ids = [_add(cloud, dataset, d) for d in docs]
    other = cloud.new_dataset()
    foreign = _add(cloud, other, _demo(99))
    url = f"{cloud.base_url}/datasets/{dataset}/documents/bulk-fetch"
    reply = httpx.post(url, json={"documentIds": [ids[0], ids[0], ids[2], foreign, "f" * 24]}, headers=cloud.headers)
    assert reply.status_code == 200
    entries = {e["id"]: e for e in reply.json()["documents"]}
    assert set(entries) == {ids[0], ids[2]}
    entry = entries[ids[2]]
    assert entry["ndiId"] == docs[2].id and entry["datasetId"] == dataset and entry["data"] == docs[2].properties
    too_many = [f"{i:024x}" for i in range(501)]
    cases = (({"documentIds": []}, "at least one"), ({"documentIds": too_many}, "bulk-download"),
             ({"documentIds": ["not-hex"]}, "24-hex"), ({}, "documentIds"))
    for body, words in cases:
        bad = httpx.post(url, json=body, headers=cloud.headers)
        assert bad.status_code == 400 and words in bad.json()["error"], body


def test_documents_follow_dataset_access(cloud_service: CloudServer, cloud: Account, dataset: str):
    cloud_id = _add(cloud, dataset, _demo())
    outsider = cloud_service.account()
    for path in ("documents", f"documents/{cloud_id}", "document-count", "document-class-counts"):
        assert httpx.get(f"{cloud.base_url}/datasets/{dataset}/{path}").status_code == 404, path
        assert httpx.get(f"{cloud.base_url}/datasets/{dataset}/{path}", headers=outsider.headers).status_code == 404
    assert httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents", content=_demo().to_json(),
                      headers=outsider.headers).status_code == 404
    record = cloud_service.records.dataset(dataset)
    assert record is not None
    cloud_service.records.update_dataset(dataset, record.metadata, is_published=1)
    assert httpx.get(f"{cloud.base_url}/datasets/{dataset}/documents/{cloud_id}").status_code == 200
    fetched = httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents/bulk-fetch", json={"documentIds": [cloud_id]})
    assert fetched.status_code == 200 and len(fetched.json()["documents"]) == 1
    assert httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents", content=_demo().to_json(),
                      headers=outsider.headers).status_code == 403
    assert httpx.post(f"{cloud.base_url}/datasets/{dataset}/documents", content=_demo().to_json()).status_code == 401


def test_deleting_the_dataset_hides_its_documents(cloud: Account, dataset: str):
    cloud_id = _add(cloud, dataset, _demo())
    assert httpx.delete(f"{cloud.base_url}/datasets/{dataset}", params={"when": "1d"},
                        headers=cloud.headers).status_code == 200
    assert httpx.get(f"{cloud.base_url}/datasets/{dataset}/documents/{cloud_id}",
                     headers=cloud.headers).status_code == 404


def test_detail_and_list_report_live_document_count(cloud: Account, dataset: str):
    for i in range(3):
        _add(cloud, dataset, _demo(i))
    detail = httpx.get(f"{cloud.base_url}/datasets/{dataset}", headers=cloud.headers).json()
    assert detail["documentCount"] == 3
