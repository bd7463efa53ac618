"""Bulk add and query speed of the local DID-SQLite store, with baselines, in one run.

Each measurement runs in a fresh process. Documents: N realistic documents (mixed classes, ~1.2 KB of JSON each, with
depends_on), generated into a JSON-lines file by a child process.

  A. add documents already in memory (parsed before the clock starts): the add itself;
     memory reported as the add's growth of resident memory over the loaded input
  B. stream the JSON-lines file into a new dataset (parse + add): end to end, with
     the process's peak resident memory
  baselines: A without the helper process (all in one process); one transaction per
     document (how MATLAB autocommits), on a subset
  queries: isa (class, superclass, everything) and depends_on over the dataset from B

    python benchmarks/bulk_add.py --count 100000 [--json figures.json]
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
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


def stream(path: Path) -> Iterator[Document]:
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            yield Document.from_json(line)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_memory() -> None:
    """Linux: make VmHWM (peak resident memory) start again from the current size."""
    Path("/proc/self/clear_refs").write_text("5")


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_mb() -> float:
    return _status_kb("VmHWM") / 1024


def median_ms(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_in_memory(source: Path, work: Path, dataset_id: str, *, parallel: bool = True) -> dict[str, float]:
    docs = list(stream(source))
    loaded_mb = rss_mb()
    reset_peak_memory()
    dataset = Dataset.create(work, "bench", dataset_id=dataset_id)
    start = time.perf_counter()
    added = dataset.store.add(docs, parallel=parallel)
    seconds = time.perf_counter() - start
    growth = peak_mb() - loaded_mb
    dataset.close()
    del docs
    return {"documents": added, "seconds": round(seconds, 2), "docs_per_s": round(added / seconds),
            "input_mb": round(loaded_mb, 1), "add_memory_growth_mb": round(growth, 1)}


def bench_streamed(source: Path, work: Path, dataset_id: str) -> tuple[dict[str, float], Dataset]:
    reset_peak_memory()
    dataset = Dataset.create(work, "bench", dataset_id=dataset_id)
    start = time.perf_counter()
    added = dataset.add_documents(stream(source))
    seconds = time.perf_counter() - start
    return {"documents": added, "seconds": round(seconds, 2), "docs_per_s": round(added / seconds),
            "peak_rss_mb": round(peak_mb(), 1),
            "database_mb": round((work / ".ndi" / "did-sqlite.sqlite").stat().st_size / 1e6, 1)}, dataset


def bench_baseline(source: Path, work: Path, dataset_id: str, count: int) -> dict[str, float]:
    baseline = Dataset.create(work, "baseline", dataset_id=dataset_id)
    subset = [d for _, d in zip(range(count), stream(source), strict=False)]
    start = time.perf_counter()
    for doc in subset:
        baseline.add_documents(doc)
    seconds = time.perf_counter() - start
    baseline.close()
    return {"documents": len(subset), "docs_per_s": round(len(subset) / seconds)}


def bench_queries(dataset: Dataset) -> list[dict[str, object]]:
    store = dataset.store
    elements = store.search_ids(Query.isa("element"))
    element = elements[len(elements) // 2]
    queries = {
        "isa tuningcurve_calc (class)": Query.isa("tuningcurve_calc"),
        "isa app (superclass)": Query.isa("app"),
        "isa epochid (superclass, 46% of documents)": Query.isa("epochid"),
        "isa base (every document)": Query.isa("base"),
        "depends_on element_id=<id>": Query.depends_on("element_id", element),
        "depends_on *=<id>": Query.depends_on("*", element),
    }
    rows = []
    for label, query in queries.items():
        hits = len(store.search_ids(query))
        ids_ms = median_ms(lambda q=query: store.search_ids(q))
        docs_ms = median_ms(lambda q=query: store.search(q), repeat=3) if hits <= 20_000 else None
        rows.append({"query": label, "hits": hits, "ids_ms": round(ids_ms, 1),
                     "documents_ms": None if docs_ms is None else round(docs_ms, 1)})
    return rows


MEASUREMENTS = ("streamed", "in_memory", "in_memory_no_helper", "baseline")


def run_one(name: str, source: Path, work: Path, dataset_id: str, baseline_count: int) -> dict[str, object]:
    """One measurement, in this (fresh) process."""
    if name == "streamed":
        figures, dataset = bench_streamed(source, work, dataset_id)
        figures["queries"] = bench_queries(dataset)
        dataset.close()
        return figures
    if name == "in_memory":
        return bench_in_memory(source, work, dataset_id)
    if name == "in_memory_no_helper":
        return bench_in_memory(source, work, dataset_id, parallel=False)
    return bench_baseline(source, work, dataset_id, baseline_count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--baseline-count", type=int, default=2_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--generate", nargs=3, metavar=("PATH", "COUNT", "SESSION"), help=argparse.SUPPRESS)
    parser.add_argument("--run", nargs=4, metavar=("NAME", "SOURCE", "WORK", "SESSION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]), args.generate[2])
        return
    if args.run:
        name, source, work, session = args.run
        print(json.dumps(run_one(name, Path(source), Path(work), session, args.baseline_count)))
        return

    if args.workdir:
        work = args.workdir
    else:
        work = Path(tempfile.mkdtemp(prefix="ndi-bench-"))
        atexit.register(shutil.rmtree, work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    dataset_id = new_id()
    source = work / "docs.jsonl"
    subprocess.run([sys.executable, __file__, "--generate", str(source), str(args.count), dataset_id], check=True)
    # Each measurement in a fresh process: no garbage, page cache or memory peak carried over.
    results = {}
    for name in MEASUREMENTS:
        out = subprocess.run(
            [sys.executable, __file__, "--baseline-count", str(args.baseline_count),
             "--run", name, str(source), str(work / name), dataset_id],
            check=True, capture_output=True, text=True,
        )
        results[name] = json.loads(out.stdout)
    streamed, in_memory = results["streamed"], results["in_memory"]
    in_process, baseline = results["in_memory_no_helper"], results["baseline"]

    size_mb = source.stat().st_size / 1e6
    print(f"{args.count} documents, {size_mb:.0f} MB as JSON lines; each figure from a fresh process")
    print(f"A. add, documents in memory:      {in_memory['docs_per_s']:>7,} docs/s  ({in_memory['seconds']} s; "
          f"the add grew memory by {in_memory['add_memory_growth_mb']} MB over {in_memory['input_mb']} MB of input)")
    print(f"A without the helper process:     {in_process['docs_per_s']:>7,} docs/s  ({in_process['seconds']} s)")
    print(f"B. parse + add, streamed:         {streamed['docs_per_s']:>7,} docs/s  ({streamed['seconds']} s; "
          f"peak RSS {streamed['peak_rss_mb']} MB; database {streamed['database_mb']} MB)")
    print(f"baseline, a transaction per doc:  {baseline['docs_per_s']:>7,} docs/s  ({baseline['documents']} docs)")
    for row in streamed["queries"]:
        docs = "" if row["documents_ms"] is None else f"; with documents {row['documents_ms']} ms"
        print(f"  {row['query']:<44} {row['hits']:>7} hits  ids {row['ids_ms']:>6} ms{docs}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
