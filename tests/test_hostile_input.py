"""Hostile input: zip bombs and climbing entry names, JSON nested without end, bytes that are not UTF-8,
non-string and NaN ids, 10 MB names, forged tokens, replayed and tampered presigned URLs. Each is refused
with an error that names the bad thing, and nothing is written: no local rows or files, no cloud documents,
files or stored objects.

Hostile zip names read by the client and hostile file zips sent to the server are in ``test_transfer_faults``
and ``test_server_bulk``; unsigned, expired and wrong-method storage URLs in ``test_server_files``.
"""

from __future__ import annotations

import io
import json
import math
import secrets
import stat
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from ndicloud.api import CloudClient
from ndicloud.core import Dataset, Document, new_id
from ndicloud.core.errors import DocumentJsonError, InvalidDocumentError, InvalidIdError
from ndicloud.download import download_dataset
from ndicloud.server.security import load_or_create_secret
from ndicloud.transfers.zips import UnsafeZipError, read_document_zip

from cloud_server import Account, CloudServer, cloud_server, eventually
from zip_bombs import BOMB_BYTES, bomb_zip

TEN_MB = 10 * 1024 * 1024
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module")
def hostile_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with cloud_server(tmp_path_factory.mktemp("hostile-cloud"), document_ingest_delay_s=0, zip_extract_delay_s=0,
                      download_delay_s=0, file_registration_delay_s=0, worker_interval_s=0.01) as server:
        yield server


def _zip(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _doc_json(**base: object) -> bytes:
    properties = Document.new("demoNDI", properties={"demoNDI": {"value": 1}}).properties
    properties["base"].update(base)
    return json.dumps(properties, allow_nan=True).encode()


def _count(account: Account, dataset_id: str) -> int:
    reply = httpx.get(f"{account.base_url}/datasets/{dataset_id}/document-count", headers=account.headers)
    assert reply.status_code == 200, reply.text
    return reply.json()["count"]


def _files(account: Account, dataset_id: str) -> list:
    return httpx.get(f"{account.base_url}/datasets/{dataset_id}", headers=account.headers).json()["files"]


def _stored_objects(server: CloudServer) -> set[str]:
    root = server.config.data_dir / "blobs"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _post_document(account: Account, dataset_id: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents", content=body, timeout=60,
                      headers={**account.headers, "Content-Type": "application/json"})


def _error(reply: httpx.Response) -> str:
    return reply.json()["error"]


# ---------------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["documents", "documents/bulk-delete", "documents/bulk-fetch"])
def test_json_nested_without_end_is_a_400_not_a_crash(hostile_cloud: CloudServer, route: str):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    reply = httpx.post(f"{account.base_url}/datasets/{dataset_id}/{route}", content=DEEP, timeout=60,
                       headers={**account.headers, "Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert _error(reply) == "request body is JSON nested too deeply"
    assert _count(account, dataset_id) == 0


def test_a_body_that_is_not_utf8_is_refused(hostile_cloud: CloudServer):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    body = _doc_json().replace(b'"name": ""', b'"name": "\xff\xfe bad"')
    assert b"\xff\xfe" in body
    reply = _post_document(account, dataset_id, body)
    assert reply.status_code == 400 and "not UTF-8" in _error(reply)
    assert _count(account, dataset_id) == 0


@pytest.mark.parametrize("where", ["name", "key"])
def test_a_lone_surrogate_escaped_in_a_body_is_refused(hostile_cloud: CloudServer, where: str):
    """Valid JSON (an escape), but no UTF-8 store can hold it: a 400 naming it, not a 500."""
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    body = _doc_json(name="\udcff") if where == "name" else _doc_json().replace(b'"base"', b'"\\udc00": 1, "base"', 1)
    assert b"\\ud" in body
    reply = _post_document(account, dataset_id, body)
    assert reply.status_code == 400, reply.text
    assert "lone surrogate (U+DC" in _error(reply)
    assert _count(account, dataset_id) == 0
    created = httpx.post(f"{account.base_url}/organizations/{account.organization_id}/datasets",
                         content=b'{"name": "\\udcff"}', headers=account.headers)
    assert created.status_code == 400 and "lone surrogate (U+DCFF)" in _error(created)


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"null", b"1.5", b'""', b"[]"])
def test_a_document_whose_id_is_not_a_string_is_refused(hostile_cloud: CloudServer, token: bytes):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    placeholder = new_id()
    body = _doc_json(id=placeholder).replace(f'"{placeholder}"'.encode(), token)
    reply = _post_document(account, dataset_id, body)
    assert reply.status_code == 400 and _error(reply) == "a document needs base.id (its NDI id) as a string"
    assert _count(account, dataset_id) == 0


def test_nan_in_the_ids_of_a_bulk_request_is_refused(hostile_cloud: CloudServer):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    kept = account.add_document(dataset_id, Document.new("demoNDI", properties={"demoNDI": {"value": 1}}))
    for route in ("documents/bulk-delete", "documents/bulk-fetch"):
        reply = httpx.post(f"{account.base_url}/datasets/{dataset_id}/{route}", headers=account.headers,
                           content=f'{{"documentIds": ["{kept}", NaN]}}'.encode())
        assert reply.status_code == 400 and "documentIds" in _error(reply), route
    assert _count(account, dataset_id) == 1


@pytest.mark.parametrize(("field", "words"), [("name", "base.name of document"), ("id", "base.id is")])
def test_a_10_mb_document_name_or_id_is_refused(hostile_cloud: CloudServer, field: str, words: str):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    reply = _post_document(account, dataset_id, _doc_json(**{field: "n" * TEN_MB}))
    assert reply.status_code == 400
    assert words in _error(reply) and f"{TEN_MB} characters long, more than the limit" in _error(reply)
    assert _count(account, dataset_id) == 0


def test_a_regular_expression_that_backtracks_without_end_is_stopped(tmp_path: Path):
    """(a|aa)+b against a long run of a's takes longer than the age of the universe with Python's re; the query
    is stopped at its time limit with an error that says why, and the server answers others meanwhile."""
    with cloud_server(tmp_path / "data", query_regex_time_s=1.0) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        account.add_document(dataset_id, Document.new("demoNDI", name="a" * 60, properties={"demoNDI": {"value": 1}}))

        def query(pattern: str) -> httpx.Response:
            structure = [{"field": "base.name", "operation": "regexp", "param1": pattern}]
            return httpx.post(f"{account.base_url}/ndiquery", json={"searchstructure": structure, "scope": dataset_id},
                              headers=account.headers, timeout=60)

        finished: list[str] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            slow = pool.submit(lambda: (query("(a|aa)+b"), finished.append("slow query"))[0])
            time.sleep(0.3)  # the slow query is under way
            assert httpx.get(f"{account.base_url}/users/me", headers=account.headers).status_code == 200
            finished.append("other request")
            reply = slow.result()
        assert finished == ["other request", "slow query"]
        assert reply.status_code == 400, reply.text
        assert "regular expressions took longer than 1 s" in _error(reply)
        fine = query("^a{3}")
        assert fine.status_code == 200 and fine.json()["number_matches"] == 1


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
def test_a_pattern_the_servers_engine_cannot_read_is_a_400(hostile_cloud: CloudServer):
    """Python's re reads [[:foo:]] as a set; the engine that runs the server's searches refuses it."""
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    account.add_document(dataset_id, Document.new("demoNDI", name="abc", properties={"demoNDI": {"value": 1}}))
    structure = [{"field": "base.name", "operation": "regexp", "param1": "[[:foo:]]"}]
    reply = httpx.post(f"{account.base_url}/ndiquery", json={"searchstructure": structure, "scope": dataset_id},
                       headers=account.headers)
    assert reply.status_code == 400, reply.text
    assert "invalid regular expression '[[:foo:]]'" in _error(reply)


# ---------------------------------------------------------------------------------------------
# Uploaded document zips: the job fails naming the entry, no document is added, the zip is gone
# ---------------------------------------------------------------------------------------------


HOSTILE_DOCUMENT_ZIPS: dict[str, tuple[Callable[[], bytes], str]] = {
    "bomb": (lambda: bomb_zip("docs.json", head=b"[", tail=b"]"), f"expands {BOMB_BYTES + 2} bytes"),
    "climbing": (lambda: _zip({"../../docs.json": b"[" + _doc_json() + b"]"}), "leaves the archive ('..')"),
    "absolute": (lambda: _zip({"/tmp/docs.json": b"[" + _doc_json() + b"]"}), "has an absolute path"),
    "drive": (lambda: _zip({"C:\\docs.json": b"[" + _doc_json() + b"]"}), "has an absolute path"),
    "link": (lambda: _zip({"docs.json": b"[" + _doc_json() + b"]"}, link="evil.json"), "is a link"),
    "nesting": (lambda: _zip({"docs.json": DEEP}), "is not valid JSON"),
    "not utf-8": (lambda: _zip({"docs.json": b"[" + _doc_json(name="\udcff").replace(b"\\udcff", b"\xff") + b"]"}),
                  "is not valid JSON"),
    "nan id": (lambda: _zip({"docs.json": b"[" + _doc_json(id=math.nan) + b"]"}), "needs base.id"),
    "lone surrogate": (lambda: _zip({"docs.json": b"[" + _doc_json(name="\udcff") + b"]"}),
                       "escapes a lone surrogate (U+DCFF)"),
    "10 MB name": (lambda: _zip({"docs.json": b"[" + _doc_json(name=secrets.token_hex(TEN_MB // 2)) + b"]"}),
                   "base.name of document"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_DOCUMENT_ZIPS))
def test_a_hostile_document_zip_adds_nothing(hostile_cloud: CloudServer, kind: str):
    make, words = HOSTILE_DOCUMENT_ZIPS[kind]
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    good = b"[" + _doc_json() + b"]"
    payload = make()
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:  # one good entry too: all or nothing
        entries = {i.filename: archive.read(i) for i in archive.infolist() if not stat.S_ISLNK(i.external_attr >> 16)}
    if kind != "link":
        payload = _zip({"good.json": good, **entries})
    url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-upload",
                     headers=account.headers).json()["url"]
    assert httpx.put(url, content=payload).status_code == 200
    key = urlsplit(url).path.removeprefix("/storage/")
    transfer = eventually(lambda: (t := hostile_cloud.records.transfers.by_key(key)).state == "failed" and t)
    assert words in (transfer.error or ""), transfer.error
    assert _count(account, dataset_id) == 0
    assert not any(name.startswith(f"uploads/documents/{dataset_id}") for name in _stored_objects(hostile_cloud))
    assert not (hostile_cloud.config.data_dir / "docs.json").exists()


# ---------------------------------------------------------------------------------------------
# Forged tokens on a write: 401, nothing written
# ---------------------------------------------------------------------------------------------


def _forged(kind: str, server: CloudServer, victim: Account, other: Account) -> str:
    now = int(time.time())
    claims = {"sub": victim.user_id, "email": victim.email, "iat": now, "exp": now + 600, "jti": "forged"}
    secret = load_or_create_secret(server.config.data_dir)
    if kind == "alg none":
        return jwt.encode(claims, None, algorithm="none")
    if kind == "wrong key":
        return jwt.encode(claims, b"a key that is not the server's key, 32b+", algorithm="HS256")
    if kind == "other algorithm":
        return jwt.encode(claims, secret, algorithm="HS512")
    if kind == "tampered claims":  # another user's real token with the victim put in its payload
        header, _, signature = other.token.split(".")
        payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
        return f"{header}.{payload}.{signature}"
    if kind == "no signature":
        return other.token.rsplit(".", 1)[0] + "."
    if kind == "expired":
        return jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["alg none", "wrong key", "other algorithm", "tampered claims", "no signature",
                                  "expired"])
def test_a_forged_token_writes_nothing(hostile_cloud: CloudServer, kind: str):
    victim = hostile_cloud.account()
    other = hostile_cloud.account()
    dataset_id = victim.new_dataset()
    forged = {"Authorization": f"Bearer {_forged(kind, hostile_cloud, victim, other)}"}
    reply = httpx.post(f"{victim.base_url}/datasets/{dataset_id}/documents", content=_doc_json(),
                       headers={**forged, "Content-Type": "application/json"})
    assert reply.status_code == 401 and _error(reply) in ("Invalid token", "Token expired"), reply.text
    upload = httpx.post(f"{victim.base_url}/datasets/{dataset_id}/documents/bulk-upload", headers=forged)
    assert upload.status_code == 401
    created = httpx.post(f"{victim.base_url}/organizations/{victim.organization_id}/datasets",
                         json={"name": "forged"}, headers=forged)
    assert created.status_code == 401
    assert _count(victim, dataset_id) == 0
    listed = httpx.get(f"{victim.base_url}/organizations/{victim.organization_id}/datasets", headers=victim.headers)
    assert [d["id"] for d in listed.json()["datasets"]] == [dataset_id]


# ---------------------------------------------------------------------------------------------
# Presigned URLs: replayed and tampered
# ---------------------------------------------------------------------------------------------


def _file_put_url(account: Account, dataset_id: str, uid: str) -> str:
    reply = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/{uid}",
                      headers=account.headers)
    assert reply.status_code == 200, reply.text
    return reply.json()["url"]


def _file_bytes(account: Account, dataset_id: str, uid: str) -> bytes:
    detail = eventually(lambda: (r := httpx.get(f"{account.base_url}/datasets/{dataset_id}/files/{uid}/detail",
                                                 headers=account.headers)).status_code == 200 and r.json())
    return httpx.get(detail["downloadUrl"]).content


def test_a_replayed_file_upload_url_cannot_replace_the_file(hostile_cloud: CloudServer):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    uid = new_id()
    url = _file_put_url(account, dataset_id, uid)
    assert httpx.put(url, content=b"the real bytes").status_code == 200
    assert _file_bytes(account, dataset_id, uid) == b"the real bytes"
    before = _stored_objects(hostile_cloud)
    for replacement in (b"tampered bytes", b"the real bytes, and more", b"the real"):
        replay = httpx.put(url, content=replacement)
        assert replay.status_code == 403 and "This upload URL already stored" in replay.text, replacement
    assert httpx.put(url, content=b"the real bytes").status_code == 200  # a retry of the same bytes is harmless
    assert _file_bytes(account, dataset_id, uid) == b"the real bytes"
    assert _stored_objects(hostile_cloud) == before


def test_a_file_upload_url_replayed_after_a_restart_cannot_replace_the_file(tmp_path: Path):
    data = tmp_path / "data"
    settings = {"file_registration_delay_s": 0, "worker_interval_s": 0.01}
    with cloud_server(data, **settings) as server:
        account = server.account()
        dataset_id = account.new_dataset()
        uid = new_id()
        url = _file_put_url(account, dataset_id, uid)
        assert httpx.put(url, content=b"the real bytes").status_code == 200
        old_base = server.config.base_url
    with cloud_server(data, **settings) as server:  # another port: the same URL, sent to the restarted server
        replayed = url.replace(old_base, server.config.base_url)
        reply = httpx.put(replayed, content=b"tampered bytes")
        assert reply.status_code == 403 and "This upload URL already stored" in reply.text
        account.base_url = server.base_url
        account.token = server.login(account.email, account.password)
        assert _file_bytes(account, dataset_id, uid) == b"the real bytes"


def test_a_spent_upload_url_is_forgotten_once_it_expired(hostile_cloud: CloudServer):
    spent = hostile_cloud.records.spent_upload_urls
    spent.spend("a-signature-that-expired", time.time() - 1)
    spent.spend("a-signature-still-valid", time.time() + 600)
    eventually(lambda: not spent.is_spent("a-signature-that-expired"))  # the worker's tick
    assert spent.is_spent("a-signature-still-valid")


def test_a_replayed_document_upload_url_is_refused(hostile_cloud: CloudServer):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-upload",
                     headers=account.headers).json()["url"]
    assert httpx.put(url, content=_zip({"a.json": b"[" + _doc_json() + b"]"})).status_code == 200
    eventually(lambda: _count(account, dataset_id) == 1)
    before = _stored_objects(hostile_cloud)
    replay = httpx.put(url, content=_zip({"a.json": b"[" + _doc_json() + b"," + _doc_json() + b"]"}))
    assert replay.status_code == 403 and "This upload URL was already used (its upload is complete)" in replay.text
    time.sleep(0.2)
    assert _count(account, dataset_id) == 1
    assert _stored_objects(hostile_cloud) == before


def _tampered(kind: str, url: str, victim_dataset: str, own_dataset: str) -> str:
    if kind == "other dataset":
        return url.replace(own_dataset, victim_dataset)
    if kind == "later expiry":
        return url.replace("expires=", "expires=9")
    if kind == "other nonce":
        head, rest = url.split("nonce=", 1)
        return f"{head}nonce={'0' if rest[0] != '0' else '1'}{rest[1:]}"
    if kind == "no nonce":
        head, rest = url.split("nonce=", 1)
        return head + rest.split("&", 1)[1]
    if kind == "flipped signature":
        head, signature = url.rsplit("signature=", 1)
        return f"{head}signature={'0' if signature[0] != '0' else '1'}{signature[1:]}"
    if kind == "climbing key":
        split = urlsplit(url)
        return url.replace(split.path, f"/storage/files/{own_dataset}/../{victim_dataset}/x")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["other dataset", "later expiry", "other nonce", "no nonce", "flipped signature",
                                  "climbing key"])
def test_a_tampered_upload_url_writes_nothing(hostile_cloud: CloudServer, kind: str):
    attacker = hostile_cloud.account()
    victim = hostile_cloud.account()
    own_dataset = attacker.new_dataset()
    victim_dataset = victim.new_dataset()
    uid = new_id()
    url = _tampered(kind, _file_put_url(attacker, own_dataset, uid), victim_dataset, own_dataset)
    before = _stored_objects(hostile_cloud)
    reply = httpx.put(url, content=b"planted")
    assert reply.status_code in (400, 403, 404), reply.text
    if reply.status_code == 403:
        assert "<Code>AccessDenied</Code>" in reply.text
    assert _stored_objects(hostile_cloud) == before
    time.sleep(0.1)
    assert _files(victim, victim_dataset) == [] and _files(attacker, own_dataset) == []


# ---------------------------------------------------------------------------------------------
# The client: zips from the cloud, documents on disk
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("entries", "words"), [
    (None, "a zip bomb?"),
    ({"documents.json": DEEP}, "is not valid JSON"),
    ({"documents.json": b'[{"base": {"id": "\xff\xfe"}}]'}, "is not valid JSON"),
    ({"documents.json": b"[1, 2]"}, "holds a int where a document was expected"),
])
def test_a_hostile_document_zip_from_the_cloud_is_refused(tmp_path: Path, entries: dict[str, bytes] | None,
                                                         words: str):
    path = tmp_path / "download.zip"
    path.write_bytes(_zip(entries) if entries is not None else bomb_zip("documents.json", head=b"[", tail=b"]"))
    with pytest.raises(UnsafeZipError) as info:
        list(read_document_zip(path))
    assert words in str(info.value) and "download.zip" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["download.zip"]


def _sparse_documents() -> list[dict]:
    """Documents with long zero arrays: a few megabytes that deflate past 200:1 (the bomb ratio)."""
    docs = [Document.new("demoNDI", properties={"demoNDI": {"value": [0] * 50_000}}).properties for _ in range(40)]
    raw = json.dumps(docs).encode()
    assert len(raw) > 1024 * 1024 and len(raw) / len(zlib.compress(raw, 6)) > 200  # what the old guards refused
    return docs


def _zipped_by_another_tool(entries: dict[str, bytes]) -> bytes:
    """Deflated at zlib's default level, as MATLAB's zip and the hosted service's download zips are (this
    toolkit's own zips use level 1, which stays under the ratio)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_sparse_documents_and_files_sent_to_the_server_are_not_taken_for_zip_bombs(hostile_cloud: CloudServer):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    url = httpx.post(f"{account.base_url}/datasets/{dataset_id}/documents/bulk-upload",
                     headers=account.headers).json()["url"]
    assert httpx.put(url, content=_zipped_by_another_tool({"docs.json": json.dumps(_sparse_documents()).encode()})
                     ).status_code == 200
    eventually(lambda: _count(account, dataset_id) == 40)
    uid, sparse = new_id(), bytes(20 * 1024 * 1024)
    job = httpx.get(f"{account.base_url}/datasets/{account.organization_id}/{dataset_id}/files/bulk",
                    headers=account.headers).json()
    assert httpx.put(job["url"], content=_zipped_by_another_tool({uid: sparse})).status_code == 200
    done = eventually(lambda: (j := httpx.get(f"{account.base_url}/bulk-uploads/{job['jobId']}",
                                              headers=account.headers).json())["state"] in ("complete", "failed") and j)
    assert done["state"] == "complete", done["error"]
    assert _file_bytes(account, dataset_id, uid) == sparse


def test_sparse_documents_from_the_cloud_are_not_taken_for_a_zip_bomb(tmp_path: Path):
    docs = _sparse_documents()
    path = tmp_path / "download.zip"
    path.write_bytes(_zipped_by_another_tool({"documents.json": json.dumps(docs).encode()}))
    assert [d["base"]["id"] for d in read_document_zip(path)] == [d["base"]["id"] for d in docs]


def _fresh_dataset(tmp_path: Path) -> Path:
    with Dataset.create(tmp_path / "here", "here", with_session_document=False):
        pass
    return tmp_path / "here"


def _snapshot(path: Path) -> dict[str, bytes]:
    with Dataset.open(path) as dataset:
        rows = sorted(d.id for d in dataset.documents())
    files = {str(p.relative_to(path)): b"" for p in path.rglob("*") if p.is_file() and "sqlite" not in p.name}
    return {"rows": json.dumps(rows).encode(), **files}


@pytest.mark.parametrize(("change", "error", "words"), [
    ({"id": math.nan}, InvalidIdError, "base.id must be an NDI id"),
    ({"id": "NaN"}, InvalidIdError, "base.id must be an NDI id"),
    ({"id": "../../escape"}, InvalidIdError, "base.id must be an NDI id"),
    ({"name": "n" * TEN_MB}, InvalidDocumentError, f"base.name is {TEN_MB} characters long"),
    ({"name": "bad \udcff"}, DocumentJsonError, "lone surrogate '\\udcff'); it cannot be stored"),
])
def test_a_hostile_document_is_not_added_to_a_local_dataset(tmp_path: Path, change: dict, error: type,
                                                             words: str):
    path = _fresh_dataset(tmp_path)
    before = _snapshot(path)
    good = Document.new("demoNDI", properties={"demoNDI": {"value": 1}})
    properties = Document.new("demoNDI", properties={"demoNDI": {"value": 2}}).properties
    properties["base"].update(change)
    with pytest.raises(error) as info, Dataset.open(path, readonly=False) as dataset:
        dataset.add_documents([good, Document(properties)])
    assert words in str(info.value)
    assert _snapshot(path) == before


def test_a_document_escaping_a_lone_surrogate_cannot_be_hashed(tmp_path: Path):
    path = tmp_path / "doc.json"
    path.write_bytes(_doc_json(name="\udcff"))  # valid JSON: the escape "\udcff"
    document = Document.from_file(path)
    with pytest.raises(DocumentJsonError, match=r"lone surrogate '\\udcff'\); the document cannot be hashed"):
        document.content_hash()


def test_a_document_file_that_is_not_utf8_is_refused(tmp_path: Path):
    path = tmp_path / "doc.json"
    path.write_bytes(_doc_json().replace(b'"name": ""', b'"name": "\xff"'))
    with pytest.raises(DocumentJsonError) as info:
        Document.from_file(path)
    assert str(path) in str(info.value)
    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP)
    with pytest.raises(DocumentJsonError) as info2:
        Document.from_file(deep)
    assert str(deep) in str(info2.value)


def test_a_cloud_document_whose_file_uid_climbs_out_is_not_downloaded(hostile_cloud: CloudServer, tmp_path: Path):
    account = hostile_cloud.account()
    dataset_id = account.new_dataset()
    properties = Document.new("demoNDI", properties={"demoNDI": {"value": 1}}, file_list=["data.bin"]).properties
    properties["files"]["file_info"] = [{"name": "data.bin", "locations": [
        {"uid": "../../../escape", "location": "https://storage.invalid/../../escape", "location_type": "ndicloud",
         "ingest": 1, "delete_original": 1}]}]
    account.add_document(dataset_id, Document(properties))
    with CloudClient(account.base_url, username=account.email, password=account.password, cache=False) as client:
        report = download_dataset(dataset_id, tmp_path / "copy", mode="local", client=client)
    assert not report.success
    assert "file uid in document" in report.message and "'../../../escape'" in report.message
    assert not any(p.name == "escape" for p in tmp_path.parent.rglob("escape*"))
    copy = Path(report.local_path or next((tmp_path / "copy").iterdir()))
    with Dataset.open(copy) as dataset:
        assert [d.class_name for d in dataset.documents()] in ([], ["dataset_remote"])
    assert list((copy / ".ndi" / "files").iterdir()) == []
    assert _count(account, dataset_id) == 1  # the cloud copy is left as it was
