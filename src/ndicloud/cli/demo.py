"""``ndi-cloud demo``: the README's main job.

Builds a sample dataset (member sessions, a few hundred documents, binaries), starts the embedded local
NDI Cloud server on a free loopback port with a temporary data folder, uploads the dataset, downloads it
into a second folder with its files, and checks that both sides hold the same documents, the same bytes
and give the same query answers.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

from ..api import CloudClient
from ..core import Dataset, Query
from ..core.files import sha256_of_file
from ..core.sample import make_sample_dataset
from ..download import download_dataset
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
    with Dataset.open(workdir / "source") as original, Dataset.open(down.local_path or "") as copy:
        for query in DEMO_QUERIES:
            console.print(f"  {len(copy.store.search_ids(query)):4d} match {query.describe()}", highlight=False)
        problems = _compare(original, copy)
    elapsed = time.perf_counter() - started
    if problems:
        for problem in problems:
            console.print(f"[red]mismatch:[/] {problem}")
        raise fail(f"round trip failed with {len(problems)} difference(s)")
    console.print(f"[bold green]round trip OK[/]: upload -> download through the local NDI Cloud server; "
                  f"documents, binaries and query answers match ({elapsed:.1f} s)")
