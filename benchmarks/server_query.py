"""ndiquery on the server: conditions the index cannot seek, scanned over the datasets in scope or over all.

The server's search index holds every user's documents. Conditions the index can seek (an exact value, a
class) always use it; the others (patterns, ranges, negations) scan either the datasets in scope alone or the
whole index, the server choosing the first when the scope holds under a quarter of the stored documents. This
times both plans and the server's choice, for a narrow scope (one dataset) and the widest (all), on one index.

    python benchmarks/server_query.py [--datasets 20] [--per-dataset 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ndicloud.core import Document
from ndicloud.core.query import Query
from ndicloud.server.documents import Documents
from ndicloud.server.records import Records

QUERIES = {
    "regexp": [{"field": "base.name", "operation": "regexp", "param1": "doc-0-1.*9$"}],
    "exact_string": [{"field": "base.name", "operation": "exact_string", "param1": "doc-0-1999"}],
    "isa": [{"field": "", "operation": "isa", "param1": "demoNDI"}],
    "~contains_string": [{"field": "base.name", "operation": "~contains_string", "param1": "-5"}],
    "greaterthan": [{"field": "demoNDI.value", "operation": "greaterthan", "param1": 100}],
}


def fill(documents: Documents, datasets: list[str], per_dataset: int) -> None:
    for d, dataset_id in enumerate(datasets):
        documents.add_many(dataset_id, [Document.new("demoNDI", name=f"doc-{d}-{n}",
                                                     properties={"demoNDI": {"value": n}}).properties
                                        for n in range(per_dataset)])


def median_ms(documents: Documents, query: Query, scope: list[str], scoped: bool | None, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        documents.search(query, scope, 1, 20, scoped=scoped)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--per-dataset", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        documents = Records(Path(work)).documents
        datasets = [f"{n:024x}" for n in range(args.datasets)]
        fill(documents, datasets, args.per_dataset)
        print(f"{args.datasets} datasets of {args.per_dataset} documents; median of {args.repeat} runs, ms")
        print(f"{'query':18} {'scope':12} {'scope alone':>12} {'whole index':>12} {'chosen':>8}")
        for label, structure in QUERIES.items():
            query = Query.from_structure(structure)
            for scope_name, scope in (("one dataset", datasets[:1]), (f"all {args.datasets}", datasets)):
                alone, whole, chosen = (median_ms(documents, query, scope, scoped, args.repeat)
                                        for scoped in (True, False, None))
                print(f"{label:18} {scope_name:12} {alone:12.1f} {whole:12.1f} {chosen:8.1f}")


if __name__ == "__main__":
    main()
