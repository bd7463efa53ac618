"""Bulk add and query speed of the local DID-SQLite store.

Generates N realistic documents (mixed classes, ~1.2 KB each, with depends_on)
into a JSON-lines file in a separate process, then, timed, streams them into a
new dataset (parse + index + insert, one transaction) and runs isa/depends_on
queries. Baseline in the same run: one transaction per document (how MATLAB
autocommits), on a subset.

    python benchmarks/bulk_add.py --count 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ndicloud.core import Dataset, Document, Query, new_id
from ndicloud.core.sample import generate_documents


def generate(path: Path, count: int, session_id: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        for doc in generate_documents(count, session_id, seed=1):
            out.write(json.dumps(doc.properties, allow_nan=True) + "\n")


class TimedStream:
    """Documents parsed from JSON lines, timing the parsing (input, not part of the add)."""

    def __init__(self, path: Path):
        self.path = path
        self.parse_s = 0.0

    def __iter__(self) -> Iterator[Document]:
        with self.path.open("r", encoding="utf-8") as handle:
            for line in handle:
                start = time.perf_counter()
                doc = Document.from_json(line)
                self.parse_s += time.perf_counter() - start
                yield doc


def stream(path: Path) -> Iterator[Document]:
    return iter(TimedStream(path))


def timed(fn, repeat: int = 7) -> float:
    """Median wall time in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--baseline-count", type=int, default=2_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--generate", nargs=3, metavar=("PATH", "COUNT", "SESSION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]), args.generate[2])
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ndi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset_id = new_id()
    source = work / "docs.jsonl"
    # Generate in a child process so its memory does not count against the add.
    subprocess.run([sys.executable, __file__, "--generate", str(source), str(args.count), dataset_id], check=True)
    size_mb = source.stat().st_size / 1e6
    rss_before = peak_rss_mb()

    dataset = Dataset.create(work / "bulk", "bench", dataset_id=dataset_id)
    documents = TimedStream(source)
    start = time.perf_counter()
    added = dataset.add_documents(documents)
    bulk_s = time.perf_counter() - start
    add_s = bulk_s - documents.parse_s
    rss_after = peak_rss_mb()

    # Baseline: one transaction per document on a subset.
    baseline = Dataset.create(work / "baseline", "baseline", dataset_id=dataset_id)
    subset = [d for _, d in zip(range(args.baseline_count), stream(source), strict=False)]
    start = time.perf_counter()
    for doc in subset:
        baseline.add_documents(doc)
    baseline_s = time.perf_counter() - start
    baseline.close()

    store = dataset.store
    element = store.search_ids(Query.isa("element"))[len(store.search_ids(Query.isa("element"))) // 2]
    queries = {
        "isa tuningcurve_calc (class)": Query.isa("tuningcurve_calc"),
        "isa epochid (superclass)": Query.isa("epochid"),
        "isa base (everything)": Query.isa("base"),
        "depends_on element_id=<id>": Query.depends_on("element_id", element),
        "depends_on *=<id>": Query.depends_on("*", element),
    }
    query_rows = []
    for label, query in queries.items():
        hits = len(store.search_ids(query))
        ids_ms = timed(lambda q=query: store.search_ids(q))
        docs_ms = timed(lambda q=query: store.search(q), repeat=3) if hits <= 20_000 else None
        query_rows.append({"query": label, "hits": hits, "ids_ms": round(ids_ms, 2),
                           "documents_ms": None if docs_ms is None else round(docs_ms, 1)})
    dataset.close()

    figures = {
        "documents": added,
        "jsonl_mb": round(size_mb, 1),
        "end_to_end_s": round(bulk_s, 2),
        "end_to_end_docs_per_s": round(added / bulk_s),
        "input_parse_s": round(documents.parse_s, 2),
        "add_s": round(add_s, 2),
        "add_docs_per_s": round(added / add_s),
        "baseline_docs_per_s": round(len(subset) / baseline_s),
        "peak_rss_mb_before_add": round(rss_before, 1),
        "peak_rss_mb_after_add": round(rss_after, 1),
        "database_mb": round((work / "bulk" / ".ndi" / "did-sqlite.sqlite").stat().st_size / 1e6, 1),
        "queries": query_rows,
    }
    print(f"read and added {added} documents ({size_mb:.0f} MB of JSON lines) in {bulk_s:.2f} s: "
          f"{added / bulk_s:,.0f} docs/s end to end")
    print(f"  of which parsing the input JSON: {documents.parse_s:.2f} s; the add itself: {add_s:.2f} s = "
          f"{added / add_s:,.0f} docs/s")
    print(f"baseline, one transaction per document ({len(subset)} docs): {len(subset) / baseline_s:,.0f} docs/s")
    print(f"peak RSS: {rss_before:.0f} MB before the add, {rss_after:.0f} MB after")
    print(f"database: {figures['database_mb']} MB")
    for row in query_rows:
        docs = "" if row["documents_ms"] is None else f", with documents {row['documents_ms']} ms"
        print(f"  {row['query']:<32} {row['hits']:>7} hits  ids {row['ids_ms']:>7} ms{docs}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
