"""Whole-dataset upload and download against the local server over HTTP: exact round trips, lazy files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ndicloud.api import CloudClient, datasets, documents
from ndicloud.core import Dataset, Document
from ndicloud.core.sample import generate_documents
from ndicloud.download import download_dataset, open_binary
from ndicloud.upload import upload_dataset

from cloud_server import CloudServer
from conftest import dataset_contents, run_cli
from fixture_facts import DATASET_ID, FILE_NAME, UIDS


@pytest.fixture
def api(sync_client: CloudClient) -> CloudClient:
    """The quick server's client (conftest): its deferred work is still done by the worker, so clients wait."""
    return sync_client


contents = dataset_contents


def test_matlab_dataset_round_trip(matlab_dataset: Path, tmp_path: Path, api: CloudClient):
    up = upload_dataset(matlab_dataset, client=api)
    assert up.success, up.message
    assert up.counts("document") == {"uploaded": 8} and up.counts("file") == {"uploaded": 5}
    with Dataset.open(matlab_dataset) as linked:
        link = linked.remote_link()
        assert link is not None and link.dataset_id == up.cloud_dataset_id

    success, message, path = download_dataset(up.cloud_dataset_id or "", tmp_path / "copy", mode="local",
                                              client=api)
    assert success, message
    assert Path(path) == tmp_path / "copy" / up.cloud_dataset_id
    assert contents(path) == contents(matlab_dataset)
    with Dataset.open(path) as copy:  # the same checks as the fixture itself
        assert copy.id == DATASET_ID and copy.reference == "ds_demo"
        assert copy.count_by_class() == {"dataset_remote": 1, "dataset_session_info": 1, "demoNDI": 5, "session": 2}
        assert sorted(b.uid for b in copy.binaries() if b.present) == sorted(UIDS)
        assert copy.remote_link().dataset_id == up.cloud_dataset_id  # type: ignore[union-attr]
    state = json.loads((Path(path) / ".ndi" / "sync" / "index.json").read_text())
    assert sorted(state["remoteDocumentIdsLastSync"]) == sorted(contents(matlab_dataset)[0])
    assert set(state["ndiCloudState"][up.cloud_dataset_id]["files"]) == set(UIDS)


def test_second_runs_resume_and_send_nothing_twice(matlab_dataset: Path, tmp_path: Path, api: CloudClient):
    first = upload_dataset(matlab_dataset, client=api)
    again = upload_dataset(matlab_dataset, client=api)
    assert again.success and again.counts() == {"skipped": 13} and again.bytes_moved == 0
    cloud_id = first.cloud_dataset_id or ""
    listing = documents.get_uploaded_document_ids(cloud_id, client=api)
    assert all(len(api_ids) == 1 for api_ids in listing.values()) and len(listing) == 8

    with Dataset.open(matlab_dataset, readonly=False) as dataset:  # one more document, with a file
        extra = Document.new("demoNDI", session_id=dataset.id, file_list=[FILE_NAME])
        payload = tmp_path / "extra.bin"
        payload.write_bytes(b"new bytes" * 1000)
        extra.add_file("filename1.ext", str(payload))
        dataset.add_documents(extra)
    third = upload_dataset(matlab_dataset, client=api)
    assert third.counts("document") == {"skipped": 8, "uploaded": 1}
    assert third.counts("file") == {"skipped": 5, "uploaded": 1}

    download_dataset(cloud_id, tmp_path / "copy", client=api)
    rerun = download_dataset(cloud_id, tmp_path / "copy", client=api)
    assert rerun.success and rerun.counts() == {}


def test_lazy_files_are_fetched_once_on_first_use(matlab_dataset: Path, tmp_path: Path, api: CloudClient):
    up = upload_dataset(matlab_dataset, client=api)
    report = download_dataset(up.cloud_dataset_id or "", tmp_path / "lazy", client=api)
    assert report.success and report.counts("file") == {}
    with Dataset.open(report.local_path or "") as copy:
        assert len(copy.missing_binaries()) == 5
        entry = copy.binaries()[0]
        doc = copy.get(entry.doc_id)
        first = doc.locations(entry.name)[0]
        assert first["location"] == f"ndic://{up.cloud_dataset_id}/{entry.uid}" and first["ingest"] == 0
        before = api.requests
        with open_binary(copy, doc, entry.name, client=api) as handle:
            fetched = handle.read()
        assert api.requests - before == 2  # the file detail, then the download
        with open_binary(copy, doc, entry.name, client=api) as handle:
            assert handle.read() == fetched
        assert api.requests - before == 2  # served locally the second time
        original = (matlab_dataset / ".ndi" / "files" / entry.uid).read_bytes()
        assert fetched == original and len(copy.missing_binaries()) == 4


def test_missing_binary_fails_the_upload_and_names_it(matlab_dataset: Path, api: CloudClient):
    (matlab_dataset / ".ndi" / "files" / UIDS[0]).unlink()
    report = upload_dataset(matlab_dataset, client=api)
    assert not report.success
    (failed,) = report.failures
    assert failed.kind == "file" and failed.key == UIDS[0] and "missing locally" in (failed.detail or "")
    assert report.counts("document") == {"uploaded": 8}  # everything else still went, and says so
    allowed = upload_dataset(matlab_dataset, allow_missing_files=True, client=api)
    assert allowed.success


def test_cli_upload_and_download(matlab_dataset: Path, tmp_path: Path, sync_cloud: CloudServer, capsys,
                                 monkeypatch: pytest.MonkeyPatch):
    account = sync_cloud.account()
    monkeypatch.setenv("NDI_CLOUD_URL", account.base_url)
    monkeypatch.setenv("NDI_CLOUD_USERNAME", account.email)
    monkeypatch.setenv("NDI_CLOUD_PASSWORD", account.password)
    code, out, err = run_cli(capsys, "upload", str(matlab_dataset), "--new", "from the CLI", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["success"] and report["counts"]["documents"] == {"uploaded": 8}
    cloud_id = report["cloudDatasetId"]
    code, out, err = run_cli(capsys, "download", cloud_id, str(tmp_path / "down"), "--files", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"]["files"] == {"downloaded": 5}
    assert contents(tmp_path / "down" / cloud_id) == contents(matlab_dataset)
    (matlab_dataset / ".ndi" / "files" / UIDS[1]).unlink()
    with Dataset.open(matlab_dataset, readonly=False) as dataset:  # a new document needing a missing file
        doc = Document.new("demoNDI", session_id=dataset.id, file_list=[FILE_NAME])
        payload = tmp_path / "gone.bin"
        payload.write_bytes(b"x")
        doc.add_file("filename1.ext", str(payload))
        dataset.add_documents(doc)
    (matlab_dataset / ".ndi" / "files" / doc.file_uids[0]).unlink()
    code, out, err = run_cli(capsys, "upload", str(matlab_dataset))
    assert code == 1 and doc.file_uids[0] in err and "missing locally" in err


def test_many_documents_and_files_of_mixed_sizes(tmp_path: Path, api: CloudClient):
    """5,000 documents and 300 files from 1 KB to 20 MB round-trip exactly."""
    source = Dataset.create(tmp_path / "big", "big_dataset")
    rng = random.Random(7)
    raw = tmp_path / "raw"
    raw.mkdir()
    sizes = [20_000_000, 20_000_000] + [rng.randint(1_000, 200_000) for _ in range(298)]
    with_files = []
    for n, size in enumerate(sizes):
        doc = Document.new("demoNDI", session_id=source.id, file_list=[FILE_NAME])
        payload = raw / f"{n}.bin"
        payload.write_bytes(rng.randbytes(size))
        doc.add_file(FILE_NAME, str(payload))
        with_files.append(doc)
    source.add_documents([*with_files, *generate_documents(4_699, source.id, seed=3)])
    assert source.count() == 5_000  # 300 with files, 4,699 generated, and the session document
    source.close()
    up = upload_dataset(tmp_path / "big", workers=4, client=api)
    assert up.success, up.message
    assert up.counts("document") == {"uploaded": 5_000} and up.counts("file") == {"uploaded": 300}
    down = download_dataset(up.cloud_dataset_id or "", tmp_path / "copy", mode="local", workers=4, client=api)
    assert down.success, down.message
    assert dataset_contents(down.local_path or "") == dataset_contents(tmp_path / "big")


def test_small_files_go_in_zips_and_large_ones_alone():
    from ndicloud.transfers.inventory import LocalFile
    from ndicloud.upload import zip_for_upload

    def entry(uid: str, size: int) -> LocalFile:
        return LocalFile(uid, Path(uid), True, size, ("doc",))

    small = [entry(f"s{n:03d}", 3_000_000) for n in range(40)]  # 120 MB of small files
    large = [entry("big", 4_000_000), entry("huge", 60_000_000)]
    batches, singles = zip_for_upload([*small, *large])
    assert sorted(e.uid for e in singles) == ["big", "huge"]
    assert all(sum(e.size or 0 for e in batch) <= 50_000_000 for batch in batches)
    assert sorted(e.uid for batch in batches for e in batch) == sorted(e.uid for e in small)
    assert len(batches) == 3  # 16 + 16 + 8 files of 3 MB


def test_downloads_never_take_or_delete_files_the_uploader_named(tmp_path: Path, api: CloudClient):
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"cloud bytes" * 100)
    with Dataset.create(tmp_path / "src", "named_paths") as source:
        doc = Document.new("demoNDI", session_id=source.id, file_list=[FILE_NAME])
        doc.add_file(FILE_NAME, str(payload), delete_original=1)
        source.add_documents(doc)
    assert not payload.exists()  # ingested and deleted, as asked, on the uploader's side
    up = upload_dataset(tmp_path / "src", client=api)
    payload.write_bytes(b"someone else's file, at the same path")  # this machine has a file of that name
    down = download_dataset(up.cloud_dataset_id or "", tmp_path / "copy", mode="local", client=api)
    assert down.success, down.message
    assert payload.read_bytes() == b"someone else's file, at the same path"  # untouched
    with Dataset.open(down.local_path or "") as copy:
        (entry,) = copy.binaries()
        assert entry.path.read_bytes() == b"cloud bytes" * 100  # the bytes came from the cloud


def test_one_bad_cloud_document_is_reported_and_the_rest_arrive(tmp_path: Path, api: CloudClient):
    cloud_id = datasets.create_dataset("one bad document", client=api)
    shared_uid = "4126aaaaaaaaaaaa_4126aaaaaaaaaaaa"
    twins = []
    for _ in range(2):  # two documents claiming the same file uid cannot both live in one dataset
        doc = Document.new("demoNDI", file_list=[FILE_NAME])
        doc.properties["files"]["file_info"] = [{"name": FILE_NAME, "locations": [
            {"uid": shared_uid, "location": "elsewhere", "location_type": "file", "ingest": 0,
             "delete_original": 0}]}]
        documents.add_document(cloud_id, doc, client=api)
        twins.append(doc.id)
    fine = [Document.new("base") for _ in range(5)]
    for doc in fine:
        documents.add_document(cloud_id, doc, client=api)
    report = download_dataset(cloud_id, tmp_path / "copy", client=api)
    assert not report.success
    (failed,) = report.failures
    assert failed.key in twins and "already belongs" in (failed.detail or "")
    assert report.counts("document") == {"downloaded": 6, "failed": 1}


def test_a_lazily_downloaded_dataset_uploads_without_its_bytes(matlab_dataset: Path, tmp_path: Path,
                                                               api: CloudClient):
    up = upload_dataset(matlab_dataset, client=api)
    lazy = download_dataset(up.cloud_dataset_id or "", tmp_path / "lazy", client=api)
    again = upload_dataset(lazy.local_path or "", client=api)
    assert again.success, again.message
    assert again.counts("file") == {"skipped": 5}


def test_per_document_mode_and_cloud_duplicates(matlab_dataset: Path, tmp_path: Path, api: CloudClient,
                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NDI_CLOUD_UPLOAD_NO_ZIP", "true")  # one request per document, as NDI-matlab can
    up = upload_dataset(matlab_dataset, file_upload_strategy="serial", client=api)
    assert up.success and up.counts("document") == {"uploaded": 8}
    cloud_id = up.cloud_dataset_id or ""
    with Dataset.open(matlab_dataset) as dataset:  # the cloud keeps a second copy of one document
        documents.add_document(cloud_id, next(iter(dataset.documents())), client=api)
    assert sum(len(c) for c in documents.get_uploaded_document_ids(cloud_id, client=api).values()) == 9
    down = download_dataset(cloud_id, tmp_path / "copy", mode="local", client=api)
    assert down.success and down.counts("document") == {"downloaded": 8}  # each ndiId once
    assert dataset_contents(down.local_path or "") == dataset_contents(matlab_dataset)
