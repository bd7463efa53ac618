"""Local NDI Cloud server, fuzzed further: storage with valid signatures, an administrator's calls, a faulty server.

* **Storage** (cloud-api §10.4). The description-driven fuzzing never gets a storage request past the signature
  check. Here hostile keys (climbing ``..``, absolute, encoded slashes, NUL and other control characters, very long,
  non-ASCII, keys of other datasets and of bulk-upload zips, keys under a stored object) are signed with the
  server's own secret and sent with generated bodies as PUT, GET and HEAD. Never a server error or a logged
  exception; a key that is no storage key is a 400 in S3's XML shape; a missing object is a 404 ``NoSuchKey``; a
  stored object reads back as stored; nothing is written outside ``blobs/`` of the data directory; and the only
  files another organization's dataset gains are the ones PUT at exactly its file keys (possible only with the
  server's secret), each with a valid uid.
* **Administrators** (cloud-api §10.3): every operation fuzzed with an administrator's token, the path naming
  another organization's submitted, unpublished dataset (which an administrator may review, publish and unpublish)
  and then the administrator's own things, so the admin-only branches run. No server errors, documented shapes.
* **A faulty server** (cloud-api §10.8): every operation fuzzed against a server injecting errors, dropped answers,
  cut storage transfers and read lag. Every server error is an injected one (its body says so, or the connection was
  dropped on purpose; the server logs no other exception) and no answer shows another organization's private ids.

Short, seeded and derandomized by default, like ``test_server_fuzz.py``; ``NDI_FUZZ_EXAMPLES`` and ``NDI_FUZZ_SEED``
make it longer or random in the same way.
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
import requests
from hypothesis import example, given
from hypothesis import strategies as st
from schemathesis import APIOperation, Case

from ndicloud.server.presign import Presigner
from ndicloud.server.security import load_or_create_secret

from cloud_server import Account, CloudServer, cloud_server
from fuzz_helpers import (
    EXAMPLES,
    HTTP,
    PROFILE,
    SEED,
    TIMEOUT_S,
    Victim,
    aim_at,
    api_description,
    cases,
    fuzz_operation,
    fuzz_settings,
    injected,
    make_victim,
    operations,
    own_resources,
    server_exceptions,
    snapshot,
)

# --- Storage with valid signatures -------------------------------------------------------------------------------

MAX_OBJECT = 4096  # small, so that a body past the limit is cheap to send
MARKER = "ESCAPED-FROM-STORAGE"  # a name no object may ever get outside blobs/
TRANSIENT = re.compile(r".*\.sqlite3?-(wal|shm|journal)$|.*-(wal|shm|journal)$")  # the database's own side files


@dataclass
class StorageTarget:
    server: CloudServer
    presigner: Presigner
    root: Path  # holds the data directory a few levels down, so that a climbing key would land in it
    owner: Account
    victim: Victim
    names: dict[str, str]  # placeholders in generated keys -> keys and ids of this server

    @property
    def blobs(self) -> Path:
        return self.server.config.data_dir / "blobs"


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageTarget]:
    root = tmp_path_factory.mktemp("storage-fuzz")
    with cloud_server(root / "one" / "two" / "data", max_object_bytes=MAX_OBJECT, file_registration_delay_s=0.02,
                      document_ingest_delay_s=0.02, zip_extract_delay_s=0.02, worker_interval_s=0.01) as server:
        presigner = Presigner(load_or_create_secret(server.config.data_dir), server.config.base_url, 600)
        owner, victim = server.account(), make_victim(server)
        own_dataset = owner.new_dataset("own")
        owner.upload_file(own_dataset, "own_file", b"own bytes")
        victim_dataset, headers = victim.ids["dataset_id"], victim.account.headers
        base = f"{victim.account.base_url}/datasets"
        files_zip = HTTP.post(f"{base}/{victim.ids['organization_id']}/{victim_dataset}/files/bulk",
                              headers=headers).raise_for_status().json()["url"]
        documents_zip = HTTP.post(f"{base}/{victim_dataset}/documents/bulk-upload",
                                  headers=headers).raise_for_status().json()["url"]
        names = {"{victim_key}": victim.ids["key"], "{own_key}": f"files/{own_dataset}/own_file",
                 "{files_zip}": storage_key(files_zip), "{documents_zip}": storage_key(documents_zip),
                 "{victim_dataset}": victim_dataset, "{own_dataset}": own_dataset,
                 "{victim_uid}": victim.ids["file_uid"]}
        yield StorageTarget(server, presigner, root, owner, victim, names)


def storage_key(url: str) -> str:
    return urlsplit(url).path.removeprefix("/storage/")


SEGMENTS = ["files", "uploads", "documents", "downloads", "staging", "blobs", "..", ".", "", "~", "server-secret.key",
            MARKER, "{victim_dataset}", "{own_dataset}", "{victim_uid}", "own_file", "x.zip", "a" * 300, "%2F", "%00",
            "\x00", "\n", "\r", "\t", " ", "é", "\u202e", "\ufeff", "🙂", "..\\..", "C:", "?", "#", ";"]
ROOTS = ["", "/", "//", "../", "../../../", "./", "%2e%2e/", "\\"]
ENDS = ["", "/", "\n", "/..", "/.", "\x00", "/" + MARKER]
KNOWN = ["{victim_key}", "{own_key}", "{files_zip}", "{documents_zip}", "files/{victim_dataset}/{fresh}",
         "files/{own_dataset}/{fresh}", "files/{victim_dataset}", "files/{victim_dataset}/{victim_uid}/x",
         "uploads/files/{victim_dataset}", "staging/{fresh}/documents.zip", "downloads/{victim_dataset}/{fresh}.zip"]

segments = st.one_of(st.sampled_from(SEGMENTS), st.from_regex(r"[A-Za-z0-9_.-]{1,24}", fullmatch=True),
                     st.text(max_size=12))
plans = st.one_of(
    st.sampled_from(KNOWN),
    st.builds(lambda start, parts, end: start + "/".join(parts) + end, st.sampled_from(ROOTS),
              st.lists(segments, min_size=1, max_size=6), st.sampled_from(ENDS)),
    st.builds(lambda known, end: known + end, st.sampled_from(KNOWN), st.sampled_from(ENDS)),
    st.text(max_size=40),
    st.builds(lambda n: "files/" + "b" * n, st.sampled_from([200, 255, 256, 1024, 1100, 5000])),
)
# How the key is written on the wire: as a client would, every slash encoded, every dot encoded.
WIRES = ["plain", "slashes", "dots"]
bodies = st.one_of(st.binary(max_size=64), st.just(b"z" * (MAX_OBJECT + 1)), st.just(b""))
extras = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/zip", "text/plain", "application/json", "x/y; a=b", ""]),
    "Range": st.sampled_from(["bytes=0-3", "bytes=-2", "bytes=5-", "bytes=999999-", "bytes=3-1", "bytes=a-b",
                              "bytes=0-1,3-4", "lines=1-2"]),
})

# A key that is certainly no storage key: empty, "." or ".." parts, anything but letters, digits, "_", "-", "."
# and "/", or longer than S3's 1024. Any other key may be stored or refused (400), but never cause a server error.
_CLEAN = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\Z")


def is_invalid(key: str) -> bool:
    return (len(key) > 1024 or not _CLEAN.match(key)
            or any(part in (".", "..") for part in key.split("/")))


def resolve(plan: str, names: dict[str, str]) -> str:
    for name, value in names.items():
        plan = plan.replace(name, value)
    return plan.replace("{fresh}", secrets.token_hex(12))


def on_the_wire(key: str, wire: str) -> str:
    if wire == "slashes":
        return quote(key, safe="")
    quoted = quote(key, safe="/")
    return quoted.replace(".", "%2E") if wire == "dots" else quoted


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def send(target: StorageTarget, method: str, key: str, wire: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> Reply:
    """A request signed for ``key`` with the server's own secret, its path written exactly as given (no client
    tidies ``..`` away)."""
    query = urlsplit(target.presigner.url("GET" if method == "HEAD" else method, key)).query
    connection = http.client.HTTPConnection(target.server.config.host, target.server.config.port, timeout=30)
    try:
        connection.request(method, f"/storage/{on_the_wire(key, wire)}?{query}",
                           body=body if method == "PUT" else None, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def s3_code(reply: Reply) -> str | None:
    match = re.search(r"<Error><Code>([A-Za-z]+)</Code>", reply.text)
    return match.group(1) if match else None


def check_reply(target: StorageTarget, method: str, key: str, reply: Reply, sent: bytes) -> None:
    """The storage contract for one request with a valid signature."""
    where = (method, key, reply.status, reply.text[:300])
    assert reply.status < 500, where
    if is_invalid(key):
        assert reply.status == 400, where
    if method != "HEAD" and reply.status in (400, 403, 404):
        assert reply.headers.get("content-type", "").startswith("application/xml") and s3_code(reply), where
    if reply.status == 400 and method != "HEAD":
        assert s3_code(reply) in ("InvalidArgument", "EntityTooLarge"), where
    if reply.status == 403:  # with a fresh, valid signature: only a bulk-upload zip's URL that was spent
        assert method == "PUT" and key.startswith("uploads/") and "already used" in reply.text, where
    if method == "PUT":
        assert reply.status in (200, 400, 403), where
        if reply.status == 400 and s3_code(reply) == "EntityTooLarge":
            assert len(sent) > MAX_OBJECT, where
        if reply.status == 200:
            assert len(sent) <= MAX_OBJECT and "etag" in reply.headers, where
            stored = target.blobs / key
            if not key.startswith("uploads/"):  # a bulk-upload zip is taken (and removed) by the worker
                assert stored.is_file() and stored.read_bytes() == sent, where
        return
    assert reply.status in (200, 206, 400, 404, 416), where
    if reply.status == 416:  # an unsatisfiable range: the object's size is told
        assert reply.headers.get("content-range") == f"bytes */{(target.blobs / key).stat().st_size}", where
    if reply.status == 404 and method == "GET":
        assert s3_code(reply) == "NoSuchKey", where
    if reply.status in (200, 206) and not key.startswith("uploads/"):
        stored = target.blobs / key
        assert stored.is_file(), where
        if reply.status == 200 and method == "GET":
            assert reply.body == stored.read_bytes(), where
    if reply.status == 404 and not is_invalid(key) and not key.startswith("uploads/"):
        assert not (target.blobs / key).is_file(), where


def tree(root: Path, blobs: Path) -> set[str]:
    """Every path under ``root`` outside ``blobs``, but the database's side files (they come and go)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if blobs not in p.parents and p != blobs and not TRANSIENT.match(p.name)}


def registered_files(target: StorageTarget) -> list[tuple[str, str]]:
    with sqlite3.connect(target.server.records.path) as conn:
        return conn.execute("SELECT dataset_id, uid FROM files").fetchall()


def victim_view(target: StorageTarget) -> tuple[int, list[str]]:
    dataset, headers = target.victim.ids["dataset_id"], target.victim.account.headers
    count = HTTP.get(f"{target.victim.account.base_url}/datasets/{dataset}/document-count",
                     headers=headers).raise_for_status().json()["count"]
    return count, sorted(uid for d, uid in registered_files(target) if d == dataset)


def test_storage_with_valid_signatures_never_fails_nor_escapes(storage: StorageTarget) -> None:
    outside, before = tree(storage.root, storage.blobs), victim_view(storage)
    planted: set[str] = set()  # uids PUT at exactly a file key of the victim's dataset (only the secret allows it)
    victim_files = f"files/{storage.victim.ids['dataset_id']}/"

    def put(key: str, wire: str, body: bytes, headers: dict[str, str]) -> None:
        reply = send(storage, "PUT", key, wire, body, headers)
        check_reply(storage, "PUT", key, reply, body)
        if reply.status == 200 and key.startswith(victim_files):
            planted.add(key.removeprefix(victim_files))

    @example(plan="files/{victim_dataset}/{victim_uid}\n", wire="plain", body=b"x", headers={})
    @example(plan="files/" + "c" * 300, wire="plain", body=b"x", headers={})
    @example(plan="files/{own_dataset}/../../../" + MARKER, wire="dots", body=b"x", headers={})
    @example(plan="files/{own_dataset}/own_file/inner", wire="slashes", body=b"x", headers={})
    @example(plan="files/{own_dataset}", wire="plain", body=b"x", headers={})
    @example(plan="{victim_key}", wire="plain", body=b"y", headers={"Range": "bytes=0-3"})
    @given(plan=plans, wire=st.sampled_from(WIRES), body=bodies, headers=extras)
    def fuzz(plan: str, wire: str, body: bytes, headers: dict[str, str]) -> None:
        key = resolve(plan, storage.names)
        put(key, wire, body, {k: v for k, v in headers.items() if k != "Range"})
        for method in ("GET", "HEAD"):
            reply = send(storage, method, key, wire, headers={k: v for k, v in headers.items() if k == "Range"})
            check_reply(storage, method, key, reply, body)
        if "/" in key.strip("/"):  # an object under it, and one at its folder: a file and a folder may not clash
            put(key + "/inner", wire, body, {})
            put(key.rsplit("/", 1)[0], wire, body, {})

    with server_exceptions() as exceptions:
        fuzz_settings(fuzz, EXAMPLES * 25)()
    assert exceptions == []
    assert tree(storage.root, storage.blobs) == outside
    count, uids = victim_view(storage)
    assert count == before[0]  # no zip of documents (none was sent) added any
    assert set(uids) <= set(before[1]) | planted, (uids, before, planted)
    uid_rule = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")
    assert all(uid_rule.match(uid) for _, uid in registered_files(storage)), registered_files(storage)


# --- Administrators ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """Publishing and compute stages never finish: the state each request meets is the one set up."""
    with cloud_server(tmp_path_factory.mktemp("admin-fuzz"), document_ingest_delay_s=0.02, zip_extract_delay_s=0.02,
                      download_delay_s=0.02, file_registration_delay_s=0.02, publish_delay_s=3600.0,
                      worker_interval_s=0.01, compute_stage_delay_s=3600.0) as server:
        yield server


def test_an_administrator_gets_no_server_errors_and_documented_shapes(admin_server: CloudServer,
                                                                      subtests: pytest.Subtests) -> None:
    admin, foreign = admin_server.account(admin=True), make_victim(admin_server)
    HTTP.post(f"{foreign.account.base_url}/datasets/{foreign.ids['dataset_id']}/submit",
              headers=foreign.account.headers).raise_for_status()  # listed for review among the unpublished
    session = requests.Session()
    with server_exceptions() as exceptions:
        for operation in operations(api_description(admin_server)):
            headers = admin.headers
            if operation.path == "/v1/auth/logout":  # would revoke the token every other request uses
                headers = {"Authorization": f"Bearer {admin_server.login(admin.email, admin.password)}"}
            with subtests.test(msg=operation.label):
                fuzz_operation(operation, admin_server.config.base_url, headers, foreign.ids, session,
                               max(2, EXAMPLES // 2))
    assert exceptions == []


# --- A faulty server ---------------------------------------------------------------------------------------------

FAULTS = ("seed={seed},error_rate=0.15,after_commit_rate=0.1,api_drop_rate=0.1,drop_rate=0.3,upload_drop_rate=0.3,"
          "read_lag_s=0.05")
DROPPED = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)


def rebased(account: Account, server: CloudServer) -> Account:
    """The same user and token, on the server now running over the same data directory."""
    return dataclasses.replace(account, base_url=server.base_url)


def test_a_faulty_server_fails_only_on_purpose_and_leaks_nothing(tmp_path: Path, subtests: pytest.Subtests) -> None:
    """Set up without faults, fuzz with them, and check the other organization's data without them again."""
    data_dir = tmp_path / "data"
    settings = {"document_ingest_delay_s": 0.02, "zip_extract_delay_s": 0.02, "download_delay_s": 0.02,
                "file_registration_delay_s": 0.02, "worker_interval_s": 0.01, "compute_stage_delay_s": 3600.0}
    with cloud_server(data_dir, **settings) as server:
        fuzzer, victim = server.account(), make_victim(server)
        resources = own_resources(fuzzer)
        fuzzer.upload_file(resources["dataset_id"], "own_file", b"first bytes")
        before = snapshot(victim)
    seed_value = int(SEED) if SEED not in ("", "random") else 7
    with cloud_server(data_dir, faults=FAULTS.format(seed=seed_value), **settings) as server, \
            server_exceptions() as exceptions:
        fuzzer = rebased(fuzzer, server)
        session = requests.Session()
        for operation in operations(api_description(server)):
            headers = fuzzer.headers
            if operation.path == "/v1/auth/logout":
                headers = {"Authorization": f"Bearer {server.login(fuzzer.email, fuzzer.password)}"}
            with subtests.test(msg=operation.label):
                fuzz_faulty(operation, server.config.base_url, headers, session, victim)
        with subtests.test(msg="storage"):
            cut_transfers(server, f"files/{resources['dataset_id']}/own_file", b"first bytes")
    assert [e for e in exceptions if not injected(e)] == []
    with cloud_server(data_dir, **settings) as server:
        assert snapshot(Victim(rebased(victim.account, server), victim.ids, victim.private)) == before


def fuzz_faulty(operation: APIOperation, base_url: str, headers: dict[str, str], session: requests.Session,
                victim: Victim) -> None:
    """Generated requests, as generated and aimed at the victim's things: any server error is an injected one."""
    aimed = any(p.name in victim.ids for p in operation.path_parameters) and operation.path != PROFILE
    not_implemented = bool(operation.definition.raw.get("x-not-implemented"))  # 501 only (cloud-api §10.7)

    @given(case=cases(operation))
    def fuzz(case: Case) -> None:
        for aim in (False, True):
            if aim:
                aim_at(case, victim)
            try:
                response = case.call(base_url=base_url, session=session, headers=headers, timeout=TIMEOUT_S)
            except DROPPED:
                continue  # an answer cut on purpose: the server's log says whether it was (checked at the end)
            where = (case.method, case.formatted_path, response.status_code, response.text[:300])
            if response.status_code >= 500 and not (not_implemented and response.status_code == 501):
                assert "(injected)" in response.text, where
                continue
            if aim and aimed and not not_implemented:
                refusals = (400, 403) if operation.path.startswith("/storage/") else (400, 401, 403, 404)
                assert response.status_code in refusals, where
            if 200 <= response.status_code < 300:
                assert not [p for p in victim.private if p in response.text], where

    fuzz_settings(fuzz, max(2, EXAMPLES // 2))()


def cut_transfers(server: CloudServer, key: str, stored: bytes) -> None:
    """Signed uploads and downloads of one object, some cut halfway: an object is whole, old or new, never a part."""
    presigner = Presigner(load_or_create_secret(server.config.data_dir), server.config.base_url, 600)
    client = httpx.Client(timeout=30)
    for round_number in range(max(4, EXAMPLES)):
        body = bytes([65 + round_number % 26]) * 300_000
        try:
            reply = client.put(presigner.url("PUT", key), content=body)
            assert reply.status_code in (200, 500), reply.text[:300]
            if reply.status_code == 500:
                assert "(injected)" in reply.text, reply.text[:300]
            else:
                stored = body
        except httpx.TransportError:
            pass  # cut: the old bytes stay
        try:
            reply = client.get(presigner.url("GET", key))
        except httpx.TransportError:
            continue  # a download cut halfway
        assert reply.status_code == 200 and reply.content in (stored, body), (reply.status_code, len(reply.content))
        stored = reply.content


# Defects the storage fuzzing found: with a valid signature, each was a 500 or checked another key than the one sent.

@pytest.mark.parametrize("plan", ["files/{own_dataset}/" + "d" * 300, "files/" + "e" * 2000])
def test_a_key_too_long_for_the_disk_is_a_400(storage: StorageTarget, plan: str) -> None:
    key = resolve(plan, storage.names)
    for method in ("PUT", "GET", "HEAD"):
        reply = send(storage, method, key, "plain", b"bytes")
        assert reply.status == 400, (method, reply.status, reply.text)


def stored_object(storage: StorageTarget) -> str:
    """A file of a new dataset of the owner's, holding ``b"kept"``; its key."""
    dataset_id = storage.owner.new_dataset("regression")
    storage.owner.upload_file(dataset_id, "kept_file", b"kept")
    return f"files/{dataset_id}/kept_file"


@pytest.mark.parametrize("shape", ["{key}/inner", "{folder}"])
def test_a_key_under_an_object_or_at_a_folder_is_a_400(storage: StorageTarget, shape: str) -> None:
    key = stored_object(storage)
    reply = send(storage, "PUT", shape.format(key=key, folder=key.rsplit("/", 1)[0]), "plain", b"bytes")
    assert reply.status == 400 and s3_code(reply) == "InvalidArgument", reply.text
    assert send(storage, "GET", key, "plain").body == b"kept"


def test_a_key_ending_in_a_newline_is_that_key_and_a_400(storage: StorageTarget) -> None:
    """The router once dropped the newline, so the signature was checked over another key than the one sent."""
    key = stored_object(storage)
    for method in ("PUT", "GET"):
        reply = send(storage, method, key + "\n", "plain", b"planted")
        assert reply.status == 400 and s3_code(reply) == "InvalidArgument", reply.text
    assert send(storage, "GET", key, "plain").body == b"kept"


# Defects the faulty server's fuzzing found.

@pytest.mark.parametrize("body", ["[]", "not json", '{"faults": {}}', '{"faults": [1]}', '{"faults": [{}]}',
                                  '{"faults": [{"route": "GET /*", "count": "many"}]}',
                                  '{"faults": [{"route": "GET /*", "status": 200}]}',
                                  '{"faults": [{"route": "GET /*", "status": true}]}'])
def test_a_malformed_fault_script_is_a_400(tmp_path: Path, body: str) -> None:
    """``POST /_faults`` once answered 500 to a body that was no list of faults, or scripted a fault that was not
    a server error (its answer then did not say it was injected)."""
    with cloud_server(tmp_path / "data", faults="seed=1") as server, server_exceptions() as exceptions:
        reply = HTTP.post(f"{server.config.base_url}/_faults", content=body,
                          headers={"Content-Type": "application/json"})
        assert reply.status_code == 400 and reply.json()["error"], reply.text
        assert HTTP.get(f"{server.base_url}/datasets/published").status_code == 200  # nothing was scripted
    assert exceptions == []


def test_an_upload_cut_on_purpose_says_so_and_logs_no_crash(tmp_path: Path) -> None:
    """A storage upload cut halfway by the fault injector was a bare "Internal Server Error" and a logged crash."""
    with cloud_server(tmp_path / "data", faults="upload_drop_rate=1") as server, server_exceptions() as exceptions:
        presigner = Presigner(load_or_create_secret(server.config.data_dir), server.config.base_url, 600)
        key = f"files/{server.account().new_dataset()}/cut_file"
        try:
            reply = httpx.put(presigner.url("PUT", key), content=b"c" * 300_000)
        except httpx.TransportError:
            reply = None  # the connection went first: as good
        if reply is not None:
            assert reply.status_code == 500 and "(injected)" in reply.text and "<Code>InternalError" in reply.text
        assert httpx.get(presigner.url("GET", key)).status_code == 404
    assert exceptions == []


@pytest.mark.parametrize("value", ["lines=1-2", "bytes=a-b", "bytes=3-1", "bytes=", "bytes", "bytes=1-2;x"])
def test_a_range_that_cannot_be_used_is_ignored(storage: StorageTarget, value: str) -> None:
    """Such a Range was answered 400 in plain text, outside S3's XML; S3 (and RFC 9110) serve the whole object."""
    key = stored_object(storage)
    for method in ("GET", "HEAD"):
        reply = send(storage, method, key, "plain", headers={"Range": value})
        assert reply.status == 200 and reply.headers["content-length"] == "4", (method, reply.status, reply.text)
    assert send(storage, "GET", key, "plain", headers={"Range": value}).body == b"kept"
    assert send(storage, "GET", key, "plain", headers={"Range": "bytes=1-2"}).body == b"ep"  # one that can: used
