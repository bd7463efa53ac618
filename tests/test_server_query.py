"""Local NDI Cloud server: /ndiquery over real HTTP (cloud-api §5.3 C11), with local-format semantics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ndicloud.core import Document
from ndicloud.core.query import Query
from ndicloud.server.records import Records

from cloud_server import Account, CloudServer, cloud_server


@pytest.fixture(scope="module")
def query_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with cloud_server(tmp_path_factory.mktemp("query-cloud"), publish_delay_s=0) as server:
        yield server




def _add(account: Account, dataset_id: str, doc: Document) -> str:
    reply = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents", content=doc.to_json(),
                       headers=account.headers)
    assert reply.status_code == 201
    return reply.json()["id"]


def _query(account: Account, scope: str, structure: object, *, anonymous: bool = False,
           **params: int) -> httpx.Response:
    """POST /ndiquery on ``account``'s server, as that user or (``anonymous``) without a token."""
    return httpx.post(f"{account.base_url}/ndiquery", params=params,
                      json={"scope": scope, "searchstructure": structure},
                      headers={} if anonymous else account.headers)


@pytest.fixture(scope="module")
def corpus(query_cloud: CloudServer) -> dict[str, object]:
    owner = query_cloud.account()
    dataset_id = owner.new_dataset()
    subject = Document.new("subject", properties={"subject": {"local_identifier": "mouse1@lab"}})
    probe = Document.new("element", depends_on={"subject_id": subject.id, "underlying_element_id": ""},
                         properties={"element": {"name": "ctx1", "type": "n-trode", "reference": 1}})
    epochs = [Document.new("element_epoch", superclasses=("base", "epochid"), depends_on={"element_id": probe.id},
                           properties={"element_epoch": {"sample_rate": rate}, "epochid": {"epochid": f"e{i}"}})
              for i, rate in enumerate((10000, 20000, 30000))]
    ids = {doc.id: _add(owner, dataset_id, doc) for doc in (subject, probe, *epochs)}
    return {"owner": owner, "dataset": dataset_id, "subject": subject, "probe": probe, "epochs": epochs, "ids": ids}


def _ndi_ids(reply: httpx.Response) -> set[str]:
    assert reply.status_code == 200, reply.text
    return {d["ndiId"] for d in reply.json()["documents"]}


def test_isa_class_and_superclass(corpus: dict):
    owner, dataset = corpus["owner"], corpus["dataset"]
    epochs = {d.id for d in corpus["epochs"]}
    assert _ndi_ids(_query(owner, dataset, [{"field": "", "operation": "isa", "param1": "element_epoch"}])) == epochs
    assert _ndi_ids(_query(owner, dataset, [{"field": "", "operation": "isa", "param1": "epochid"}])) == epochs
    assert len(_ndi_ids(_query(owner, dataset, [{"field": "", "operation": "isa", "param1": "base"}]))) == 5
    assert _ndi_ids(_query(owner, dataset, [{"field": "", "operation": "isa", "param1": "elem"}])) == set()


def test_depends_on_and_ndi_id_lookup(corpus: dict):
    owner, dataset, probe = corpus["owner"], corpus["dataset"], corpus["probe"]
    epochs = {d.id for d in corpus["epochs"]}
    by_name = _query(owner, dataset, [{"field": "", "operation": "depends_on", "param1": "element_id",
                                       "param2": probe.id}])
    assert _ndi_ids(by_name) == epochs
    anyone = _query(owner, dataset, [{"field": "", "operation": "depends_on", "param1": "*",
                                      "param2": corpus["subject"].id}])
    assert _ndi_ids(anyone) == {probe.id}
    lookup = _query(owner, dataset, [{"field": "base.id", "operation": "exact_string", "param1": probe.id}])
    body = lookup.json()
    assert body["documents"] == [{"id": corpus["ids"][probe.id], "ndiId": probe.id, "name": "",
                                  "className": "element", "datasetId": dataset}]


def test_field_operations_or_and_negation(corpus: dict):
    owner, dataset = corpus["owner"], corpus["dataset"]
    rates = {d.properties["element_epoch"]["sample_rate"]: d.id for d in corpus["epochs"]}
    over = [{"field": "element_epoch.sample_rate", "operation": "greaterthan", "param1": 15000}]
    assert _ndi_ids(_query(owner, dataset, over)) == {rates[20000], rates[30000]}
    either = [{"field": "", "operation": "or",
               "param1": [{"field": "element_epoch.sample_rate", "operation": "exact_number", "param1": 10000}],
               "param2": [{"field": "element.type", "operation": "exact_string", "param1": "n-trode"}]}]
    assert _ndi_ids(_query(owner, dataset, either)) == {rates[10000], corpus["probe"].id}
    negated = [{"field": "", "operation": "isa", "param1": "element_epoch"},
               {"field": "element_epoch.sample_rate", "operation": "~exact_number", "param1": 10000}]
    assert _ndi_ids(_query(owner, dataset, negated)) == {rates[20000], rates[30000]}
    pattern = [{"field": "subject.local_identifier", "operation": "regexp", "param1": "^mouse[0-9]@"}]
    assert _ndi_ids(_query(owner, dataset, pattern)) == {corpus["subject"].id}
    text = [{"field": "subject.local_identifier", "operation": "contains_string", "param1": "MOUSE"}]
    assert _ndi_ids(_query(owner, dataset, text)) == {corpus["subject"].id}


def test_pages_and_number_matches(corpus: dict):
    owner, dataset = corpus["owner"], corpus["dataset"]
    everything = [{"field": "", "operation": "isa", "param1": "base"}]
    first = _query(owner, dataset, everything, page=1, pageSize=2).json()
    third = _query(owner, dataset, everything, page=3, pageSize=2).json()
    assert first["number_matches"] == 5 and first["page"] == 1 and first["pageSize"] == 2
    assert len(first["documents"]) == 2 and len(third["documents"]) == 1
    default = _query(owner, dataset, everything).json()
    assert default["pageSize"] == 20


def test_rejections(corpus: dict):
    owner, dataset = corpus["owner"], corpus["dataset"]
    reply = _query(owner, dataset, [{"field": "", "operation": "~or", "param1": [], "param2": []}])
    assert reply.status_code == 400 and "~or" in reply.json()["error"]
    nested = [{"field": "", "operation": "or", "param1": [{"field": "", "operation": "~or"}], "param2": []}]
    assert _query(owner, dataset, nested).status_code == 400
    for scope in ("", "everything", "1234", f"{dataset},xyz"):
        assert _query(owner, scope, [{"field": "", "operation": "isa", "param1": "base"}]).status_code == 400, scope
    unknown = _query(owner, dataset, [{"field": "a", "operation": "like", "param1": "x"}])
    assert unknown.status_code == 400 and "like" in unknown.json()["error"]


def test_scopes_follow_access(query_cloud: CloudServer, corpus: dict):
    owner, dataset = corpus["owner"], corpus["dataset"]
    everything = [{"field": "", "operation": "isa", "param1": "base"}]
    outsider = query_cloud.account()
    assert _ndi_ids(_query(outsider, dataset, everything)) == set()  # unreadable ids dropped silently
    assert dataset not in {d["datasetId"] for d in _query(owner, "public", everything, anonymous=True).json()[
        "documents"]}
    private = _query(owner, "private", everything).json()["documents"]
    assert {d["datasetId"] for d in private} == {dataset}
    admin = query_cloud.account(admin=True)
    public_set = owner.new_dataset("public one")
    public_doc = Document.new("subject", properties={"subject": {"local_identifier": "shared"}})
    _add(owner, public_set, public_doc)
    assert httpx.post(f"{owner.base_url}/datasets/{public_set}/publish", headers=admin.headers).status_code == 200
    deadline = time.monotonic() + 10
    while public_doc.id not in _ndi_ids(_query(owner, "public", everything, anonymous=True, pageSize=1000)):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert public_doc.id in _ndi_ids(_query(outsider, "all", everything, pageSize=1000))
    assert _ndi_ids(_query(owner, "private", everything, anonymous=True)) == set()


def test_deleted_documents_are_not_found(query_cloud: CloudServer):
    owner = query_cloud.account()
    dataset = owner.new_dataset()
    doc = Document.new("subject", properties={"subject": {"local_identifier": "gone"}})
    cloud_id = _add(owner, dataset, doc)
    lookup = [{"field": "base.id", "operation": "exact_string", "param1": doc.id}]
    assert _ndi_ids(_query(owner, dataset, lookup)) == {doc.id}
    httpx.delete(f"{owner.base_url}/datasets/{dataset}/documents/{cloud_id}", headers=owner.headers)
    assert _ndi_ids(_query(owner, dataset, lookup)) == set()


def test_index_survives_restart_and_replacement(tmp_path):
    with cloud_server(tmp_path / "data") as server:
        owner = server.account()
        dataset = owner.new_dataset()
        doc = Document.new("subject", properties={"subject": {"local_identifier": "before"}})
        cloud_id = _add(owner, dataset, doc)
        doc.properties["subject"]["local_identifier"] = "after"
        httpx.post(f"{owner.base_url}/datasets/{dataset}/documents/{cloud_id}", content=doc.to_json(),
                   headers=owner.headers)
    with cloud_server(tmp_path / "data") as server:
        owner.token = server.login(owner.email, owner.password)
        owner.base_url = server.base_url
        find = [{"field": "subject.local_identifier", "operation": "exact_string", "param1": "after"}]
        stale = [{"field": "subject.local_identifier", "operation": "exact_string", "param1": "before"}]
        assert _ndi_ids(_query(owner, dataset, find)) == {doc.id}
        assert _ndi_ids(_query(owner, dataset, stale)) == set()


STRUCTURES = [
    [{"field": "base.name", "operation": "regexp", "param1": "^n[0-4]"}],
    [{"field": "", "operation": "isa", "param1": "demoNDI"}],
    [{"field": "base.name", "operation": "~contains_string", "param1": "3"}],
    [{"field": "demoNDI.value", "operation": "greaterthan", "param1": 4}],
    [{"field": "demoNDI.value", "operation": "~greaterthan", "param1": 4},
     {"field": "base.name", "operation": "hasfield"}],
    {"field": "", "operation": "or",
     "param1": [{"field": "base.name", "operation": "exact_string", "param1": "n1"}],
     "param2": [{"field": "demoNDI.value", "operation": "lessthaneq", "param1": 0}]},
    [{"field": "base.name", "operation": "~regexp", "param1": "[0-4]$"}],
    [{"field": "base.name", "operation": "~exact_string", "param1": "n1"},
     {"field": "base.name", "operation": "hasfield"}],
]


@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_query_run_on_its_scope_alone_answers_as_one_run_on_everything(tmp_path: Path, structure: object):
    """A narrow scope scans its datasets alone, a wide one the whole index: the same answers."""
    documents = Records(tmp_path / "data").documents
    datasets = [f"{n:024x}" for n in range(1, 5)]
    for d, dataset_id in enumerate(datasets):
        made = [Document.new("demoNDI", name=f"n{(n + d) % 10}", properties={"demoNDI": {"value": n - d}})
                for n in range(12)]
        documents.add_many(dataset_id, [doc.properties for doc in made])
    for dataset_id in datasets:  # a deleted document in each: never an answer
        first = documents.search(Query.from_structure([]), [dataset_id], 1, 1)[1][0]
        assert documents.soft_delete(dataset_id, [first.id], due=time.time() + 3600) == 1
    query = Query.from_structure(structure)
    answers = []
    for scope in (datasets[:1], datasets[:2], datasets):
        alone = documents.search(query, scope, 1, 100, scoped=True)
        everything = documents.search(query, scope, 1, 100, scoped=False)
        assert [d.id for d in alone[1]] == [d.id for d in everything[1]] and alone[0] == everything[0], scope
        answers.append(alone[0])
    assert answers[-1] > 0  # the query matches something: the comparison is not between two empty answers
    chosen = documents.search(query, datasets[:1], 1, 100)
    assert chosen[0] == documents.search(query, datasets[:1], 1, 100, scoped=False)[0]
