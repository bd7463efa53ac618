"""Whole-dataset transfers against the local server (in its own process), each with its baseline in the same run.

  1. documents: upload and download of N documents (bulk zips) against the per-document mode
     (NDI_CLOUD_UPLOAD_NO_ZIP=true going up; coming down, one GET and one local transaction per document, as a
     per-document download must add each document it fetches), on plain loopback and with
     the server's injected latency of 50 ms per request. The per-document mode runs on a subset (it is the
     rate that is compared): --per-doc documents plain, --per-doc-latency with latency.
  2. files: a dataset of --file-mib MiB in --files files uploaded and downloaded (with files), against one
     plain streamed presigned PUT and GET of a single file of the same size to the same server. --rounds (3)
     alternate the two, each after os.sync() and a second of rest; medians are reported.
  3. memory: peak RSS of a fresh client process uploading, then downloading, --memory-docs documents.

    python benchmarks/transfers.py [--documents 10000] [--files 200 --file-mib 1024] [--memory-docs 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ndicloud.api import CloudClient, datasets, documents, files, transfer
from ndicloud.api.tokens import TokenCache
from ndicloud.core import Dataset, Document, new_id
from ndicloud.core.sample import generate_documents
from ndicloud.download import download_dataset
from ndicloud.transfers import TransferReport
from ndicloud.upload import upload_dataset

from harness import BENCH_EMAIL, BENCH_PASSWORD, add_bench_user, scratch_dir, server_process

MIB = 1 << 20
MEMORY_SCRIPT = """
import json, sys
def peak_rss_mb():
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from its parent's size at the fork
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
from ndicloud.api import CloudClient
from ndicloud.api.tokens import TokenCache
from ndicloud.download import download_dataset
from ndicloud.upload import upload_dataset
base, path, target, cache = sys.argv[1:5]
client = CloudClient(base, username="bench@lab.example", password="bench-password", cache=TokenCache(cache))
if target == "-":
    report = upload_dataset(path, client=client)
else:
    report = download_dataset(path, target, client=client)
print(json.dumps({"success": report.success, "seconds": report.duration_s,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def make_dataset(path: Path, count: int) -> Path:
    dataset = Dataset.create(path, path.name)
    dataset.add_documents(generate_documents(count - 1, dataset.id, seed=1))  # plus the session document
    dataset.close()
    return path


def make_file_dataset(path: Path, count: int, total_mib: int) -> Path:
    dataset = Dataset.create(path, path.name)
    raw = path.parent / f"{path.name}-raw"
    raw.mkdir()
    each = total_mib * MIB // count
    docs = []
    for n in range(count):
        doc = Document.new("demoNDI", session_id=dataset.id, file_list=["filename1.ext"])
        source = raw / f"{n}.bin"
        with source.open("wb") as handle:
            handle.write(os.urandom(each))
        doc.add_file("filename1.ext", str(source))
        docs.append(doc)
    dataset.add_documents(docs)
    dataset.close()
    shutil.rmtree(raw)
    return path


def client_for(base: str, work: Path) -> CloudClient:
    return CloudClient(base, username=BENCH_EMAIL, password=BENCH_PASSWORD,
                       cache=TokenCache(work / "tokens.json"))


def document_rates(base: str, work: Path, label: str, count: int, per_doc: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    client = client_for(base, work)
    source = make_dataset(work / f"docs-{label}", count)
    up = upload_dataset(source, client=client)
    assert up.success, up.message
    figures["upload_docs_per_s"] = round(count / up.duration_s)
    down = download_dataset(up.cloud_dataset_id or "", work / f"down-{label}", client=client)
    assert down.success, down.message
    figures["download_docs_per_s"] = round(count / down.duration_s)

    subset = make_dataset(work / f"subset-{label}", per_doc)
    os.environ["NDI_CLOUD_UPLOAD_NO_ZIP"] = "true"
    try:
        serial = upload_dataset(subset, client=client)
    finally:
        del os.environ["NDI_CLOUD_UPLOAD_NO_ZIP"]
    assert serial.success, serial.message
    figures["per_doc_upload_docs_per_s"] = round(per_doc / serial.duration_s, 1)
    cloud_id = serial.cloud_dataset_id or ""
    ids = [s.id for s in documents.iter_documents(cloud_id, client=client)]
    started = time.perf_counter()
    with Dataset.create(work / f"per-doc-{label}", "per_doc", with_session_document=False) as local:
        for document_id in ids:  # one request and one local transaction per document
            properties = documents.get_document(cloud_id, document_id, client=client)
            properties.pop("id", None)
            local.store.add(Document(properties), allow_missing_files=True, parallel=False)
    figures["per_doc_download_docs_per_s"] = round(len(ids) / (time.perf_counter() - started), 1)
    figures["upload_speedup"] = round(figures["upload_docs_per_s"] / figures["per_doc_upload_docs_per_s"], 1)
    figures["download_speedup"] = round(figures["download_docs_per_s"] / figures["per_doc_download_docs_per_s"], 1)
    client.close()
    return figures


def rested(action) -> float:
    os.sync()
    time.sleep(1.0)
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def file_rates(base: str, work: Path, count: int, total_mib: int, rounds: int) -> dict[str, object]:
    client = client_for(base, work)
    source = make_file_dataset(work / "files-dataset", count, total_mib)
    single = work / "single.bin"
    with single.open("wb") as handle:
        for _ in range(total_mib):
            handle.write(os.urandom(MIB))
    size = single.stat().st_size
    holder = datasets.create_dataset("raw baseline", client=client)
    rates: dict[str, list[float]] = {"upload": [], "raw_put": [], "download": [], "raw_get": []}
    for round_number in range(rounds):
        copy = work / f"files-{round_number}"
        shutil.copytree(source, copy)
        uid = new_id()
        reports: dict[str, TransferReport] = {}

        def up(copy: Path = copy, reports: dict[str, TransferReport] = reports) -> None:
            reports["up"] = upload_dataset(copy, workers=4, client=client)

        def raw_put(uid: str = uid) -> None:
            transfer.put_file(files.get_file_upload_url(holder, uid, client=client), single, client=client)

        def down(round_number: int = round_number, reports: dict[str, TransferReport] = reports) -> None:
            reports["down"] = download_dataset(reports["up"].cloud_dataset_id or "",
                                               work / f"files-down-{round_number}", mode="local", workers=4,
                                               client=client)

        def raw_get(uid: str = uid) -> None:
            url = files.get_file_details(holder, uid, client=client)["downloadUrl"]
            transfer.get_file(url, work / "single-copy.bin", client=client)

        order = [("upload", up), ("raw_put", raw_put)] if round_number % 2 == 0 else [("raw_put", raw_put),
                                                                                      ("upload", up)]
        for kind, action in order:
            rates[kind].append(size / rested(action) / 1e6)
        while uid not in files.get_uploaded_file_ids(holder, client=client):
            time.sleep(0.05)
        assert reports["up"].success, reports["up"].message
        order = [("download", down), ("raw_get", raw_get)] if round_number % 2 == 0 else [("raw_get", raw_get),
                                                                                         ("download", down)]
        for kind, action in order:
            rates[kind].append(size / rested(action) / 1e6)
        assert reports["down"].success, reports["down"].message
        shutil.rmtree(copy)
        shutil.rmtree(work / f"files-down-{round_number}")
        (work / "single-copy.bin").unlink()
    client.close()
    figures: dict[str, object] = {f"{kind}_mb_s": round(statistics.median(v), 1) for kind, v in rates.items()}
    figures.update({f"{kind}_mb_s_all": [round(x) for x in v] for kind, v in rates.items()})
    return figures


def run_measured(base: str, what: str, target: str, work: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, base, what, target, str(work / "tokens.json")],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the measured transfer failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def memory(base: str, work: Path, count: int) -> dict[str, object]:
    source = make_dataset(work / "memory-dataset", count)
    figures: dict[str, object] = {}
    figures["upload"] = run_measured(base, str(source), "-", work)
    with Dataset.open(source) as dataset:
        cloud_id = dataset.remote_link().dataset_id  # type: ignore[union-attr]
    figures["download"] = run_measured(base, cloud_id, str(work / "memory-down"), work)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--per-doc", type=int, default=1_000)
    parser.add_argument("--per-doc-latency", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--file-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-docs", type=int, default=100_000)
    parser.add_argument("--skip", action="append", default=[], choices=["documents", "latency", "files", "memory"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = scratch_dir("ndi-transfer-bench-")
    add_bench_user(work / "data")
    figures: dict[str, object] = {}
    with server_process(work / "data") as (_, base):
        if "documents" not in args.skip:
            figures["documents_plain"] = document_rates(base, work, "plain", args.documents, args.per_doc)
            print("documents, plain loopback:", figures["documents_plain"], flush=True)
        if "files" not in args.skip:
            figures["files"] = file_rates(base, work, args.files, args.file_mib, args.rounds)
            print("files:", figures["files"], flush=True)
        if "memory" not in args.skip:
            figures["memory"] = memory(base, work, args.memory_docs)
            print("memory:", figures["memory"], flush=True)
    if "latency" not in args.skip:
        add_bench_user(work / "slow-data")
        faults = f"seed=1,latency_s={args.latency_ms / 1000}"
        with server_process(work / "slow-data", faults=faults) as (_, base):
            figures["documents_latency"] = document_rates(base, work, "latency", args.documents,
                                                          args.per_doc_latency)
            print(f"documents, {args.latency_ms:.0f} ms per request:", figures["documents_latency"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
