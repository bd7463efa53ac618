"""``ndi-cloud demo``: the README's main job.

Builds a sample dataset (member sessions, a few hundred documents, binaries),
exports every document as MATLAB-style JSON, rebuilds the dataset from those
files in a second folder, and checks that both sides hold the same documents,
the same bytes and give the same query answers.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

from ..core import Dataset, Document, Query
from ..core.sample import make_sample_dataset
from .local import dataset_summary, show_summary
from .output import console, fail

DEMO_QUERIES = (
    Query.isa("element"),
    Query.isa("epochid"),
    Query("element.type", "exact_string", "n-trode"),
    Query("tuningcurve_calc.selectivity_index", "greaterthan", 0.5),
    Query("subject.local_identifier", "contains_string", "mouse000*"),
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _compare(source: Dataset, copy: Dataset) -> list[str]:
    """Differences between two datasets: documents, content hashes, bytes, query answers."""
    problems = []
    left = {d.id: d.content_hash() for d in source.documents()}
    right = {d.id: d.content_hash() for d in copy.documents()}
    if left.keys() != right.keys():
        problems.append(f"document ids differ: {len(left.keys() - right.keys())} only in source, "
                        f"{len(right.keys() - left.keys())} only in copy")
    problems += [f"document {i} differs in content" for i in left.keys() & right.keys() if left[i] != right[i]]
    src_bytes = {b.uid: _sha256(b.path) for b in source.binaries() if b.present}
    dst_bytes = {b.uid: _sha256(b.path) for b in copy.binaries() if b.present}
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
    """Build a sample dataset, round-trip it through MATLAB-style JSON, and verify both sides match."""
    if workdir.exists():
        shutil.rmtree(workdir)
    started = time.perf_counter()
    source = make_sample_dataset(workdir / "source", sessions=sessions, documents_per_session=documents)
    show_summary(dataset_summary(source))

    exported = workdir / "exported"
    exported.mkdir()
    for doc in source.documents():
        (exported / f"{doc.id}.json").write_text(doc.to_json(), encoding="utf-8")
    console.print(f"exported {source.count()} documents as JSON to {exported}", highlight=False)

    copy = Dataset.create(workdir / "copy", source.reference, dataset_id=source.id, with_session_document=False)
    docs = (Document.from_file(p) for p in sorted(exported.glob("*.json")))
    sources = {b.uid: b.path for b in source.binaries() if b.present}
    copy.add_documents(docs, file_sources=sources)
    console.print(f"rebuilt the dataset from JSON in {copy.path}", highlight=False)

    for query in DEMO_QUERIES:
        console.print(f"  {len(copy.store.search_ids(query)):4d} match {query.describe()}", highlight=False)
    problems = _compare(source, copy)
    elapsed = time.perf_counter() - started
    source.close()
    copy.close()
    if problems:
        for problem in problems:
            console.print(f"[red]mismatch:[/] {problem}")
        raise fail(f"round trip failed with {len(problems)} difference(s)")
    console.print(f"[bold green]round trip OK[/]: documents, binaries and query answers match ({elapsed:.1f} s)")
