"""``ndi-cloud demo``: the README's main job.

Builds a sample dataset (member sessions, a few hundred documents, binaries), starts the embedded local
NDI Cloud server on a free loopback port with a temporary data folder, uploads the dataset, downloads it
into a second folder with its files, then changes both copies (new documents with binaries in the second,
an edit in the first) and brings them together with two_way_sync through the cloud. Both copies must end
with the same documents, the same bytes and the same query answers.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

from ..api import CloudClient
from ..core import Dataset, Document, Query
from ..core.files import sha256_of_file
from ..core.sample import make_sample_dataset
from ..download import download_dataset
from ..sync import SyncOptions, two_way_sync
from ..transfers import TransferReport
from ..upload import upload_dataset
from .local import dataset_summary, show_summary
from .output import console, fail

DEMO_QUERIES = (
    Query.isa("element"),
    Query.isa("epochid"),
    Query("element.type", "exact_string", "n-trode"),
    Query("tuningcurve_calc.selectivity_index", "greaterthan", 0.5),
    Query("subject.local_identifier", "contains_string", "mouse000*"),
)


def _compare(source: Dataset, copy: Dataset) -> list[str]:
    """Differences between two datasets: documents, content hashes, bytes, query answers."""
    problems = []
    left = {d.id: d.content_hash() for d in source.documents() if d.class_name != "dataset_remote"}
    right = {d.id: d.content_hash() for d in copy.documents() if d.class_name != "dataset_remote"}
    if left.keys() != right.keys():
        problems.append(f"document ids differ: {len(left.keys() - right.keys())} only in source, "
                        f"{len(right.keys() - left.keys())} only in copy")
    problems += [f"document {i} differs in content" for i in left.keys() & right.keys() if left[i] != right[i]]
    src_bytes = {b.uid: sha256_of_file(b.path) for b in source.binaries() if b.present}
    dst_bytes = {b.uid: sha256_of_file(b.path) for b in copy.binaries() if b.present}
    if src_bytes != dst_bytes:
        problems.append(f"binary files differ ({len(src_bytes)} in source, {len(dst_bytes)} in copy)")
    for query in DEMO_QUERIES:
        if source.store.search_ids(query) != copy.store.search_ids(query):
            problems.append(f"query {query.describe()} answers differently")
    return problems


def _sync_both(workdir: Path, source: Path, copy: Path, client: CloudClient) -> list[TransferReport]:
    """Change both copies, then two_way_sync the copy, the source (with files) and the copy again."""
    payloads = workdir / "new-binaries"
    payloads.mkdir(exist_ok=True)
    with Dataset.open(copy, readonly=False) as dataset:
        for n in range(5):
            payload = payloads / f"recording-{n}.bin"
            payload.write_bytes(f"new recording {n}\n".encode() * 2000)
            doc = Document.new("demoNDI", session_id=dataset.id, name=f"added in the copy {n}",
                               file_list=["filename1.ext"])
            doc.add_file("filename1.ext", str(payload))
            dataset.add_documents(doc)
    with Dataset.open(source, readonly=False) as dataset:
        edited = next(d for d in dataset.documents() if d.class_name == "subject")
        edited.properties["base"]["name"] = f"{edited.properties['base'].get('name', '')} (renamed in the source)"
        dataset.store.add(edited, replace=True)
    reports = []
    for path, files in ((copy, False), (source, True), (copy, True)):
        report = two_way_sync(path, options=SyncOptions(sync_files=files, verbose=False), client=client)
        console.print(f"two_way_sync of {path.name}: {report.message} ({report.requests} requests, "
                      f"{report.duration_s:.1f} s)", highlight=False)
        reports.append(report)
    return reports


def demo(
    workdir: Annotated[Path, typer.Option("--dir", help="Work folder (emptied first).")] = Path("demo-output"),
    sessions: Annotated[int, typer.Option(help="Member sessions in the sample dataset.")] = 3,
    documents: Annotated[int, typer.Option(help="Documents per session.")] = 100,
) -> None:
    """Build a sample dataset, upload it to the embedded local server, download it, and verify both match."""
    from ..server import ServerConfig
    from ..server.accounts import add_user
    from ..server.records import Records
    from ..server.runner import running_server

    if workdir.exists():
        shutil.rmtree(workdir)
    started = time.perf_counter()
    source = make_sample_dataset(workdir / "source", sessions=sessions, documents_per_session=documents)
    show_summary(dataset_summary(source))
    source.close()

    data = workdir / "cloud-data"
    seeded = add_user(Records(data), "demo@lab.example", "demo-password", "demo-lab")
    config = ServerConfig(data_dir=data, port=0, file_registration_delay_s=0.1, document_ingest_delay_s=0.1,
                          zip_extract_delay_s=0.1, download_delay_s=0.1, worker_interval_s=0.02)
    with running_server(config) as running, \
            CloudClient(f"{running.base_url}/v1", username=seeded.user.email, password="demo-password",
                        cache=False) as client:
        console.print(f"local NDI Cloud server at {running.base_url}/v1 (data in {data})", highlight=False)
        up = upload_dataset(workdir / "source", client=client, verbose=True)
        console.print(f"uploaded to cloud dataset {up.cloud_dataset_id}: {up.message} "
                      f"({up.requests} requests, {up.duration_s:.1f} s)", highlight=False)
        down = download_dataset(up.cloud_dataset_id or "", workdir / "downloaded", mode="local", client=client,
                                verbose=True)
        console.print(f"downloaded into {down.local_path}: {down.message} ({down.requests} requests, "
                      f"{down.duration_s:.1f} s)", highlight=False)
        if not (up.success and down.success):
            raise fail("the round trip did not complete: " + (up.message if not up.success else down.message))
        syncs = _sync_both(workdir, workdir / "source", Path(down.local_path or ""), client)
    failed = [report for report in syncs if not report.success]
    if failed:
        raise fail("the sync did not complete: " + failed[0].message)
    with Dataset.open(workdir / "source") as original, Dataset.open(down.local_path or "") as copy:
        for query in DEMO_QUERIES:
            console.print(f"  {len(copy.store.search_ids(query)):4d} match {query.describe()}", highlight=False)
        problems = _compare(original, copy)
    elapsed = time.perf_counter() - started
    if problems:
        for problem in problems:
            console.print(f"[red]mismatch:[/] {problem}")
        raise fail(f"round trip failed with {len(problems)} difference(s)")
    console.print(f"[bold green]round trip OK[/]: upload -> download -> two-way sync through the local NDI Cloud "
                  f"server; documents, binaries and query answers match ({elapsed:.1f} s)")
