"""Every benchmark in one go, at sizes that fit in about ten minutes on 2 cores, and a report of them.

Writes ``benchmarks/REPORT.md`` (each figure with its target, the measurement, and the ratio to the baseline
measured in the same run) and ``benchmarks/scaling.png`` (throughput against dataset size, in documents and
in bytes, for upload, download and a no-op two_way_sync), so that a reader sees how cost grows. The full-size
figures of each issue come from the scripts themselves (see benchmarks/README.md).

    python benchmarks/run_all.py [--quick]      # needs the bench extra: pip install -e '.[bench]'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MIB = 1 << 20

# script, its arguments (full runs: see README.md), and the reduced ones used here
RUNS: dict[str, list[str]] = {
    "bulk_add": ["--count", "20000", "--baseline-count", "1000"],
    "server": ["--documents", "5000", "--size-mib", "256", "--gets", "1000", "--rounds", "3"],
    "api_client": ["--documents", "20000", "--requests", "500"],
    "transfers": ["--documents", "10000", "--per-doc", "1000", "--per-doc-latency", "100", "--files", "50",
                  "--file-mib", "256", "--rounds", "3", "--memory-docs", "20000"],
    "sync": ["--documents", "20000"],
}
QUICK: dict[str, list[str]] = {
    "bulk_add": ["--count", "3000", "--baseline-count", "200"],
    "server": ["--documents", "1000", "--size-mib", "32", "--gets", "200", "--rounds", "1"],
    "api_client": ["--documents", "2000", "--requests", "100"],
    "transfers": ["--documents", "1000", "--per-doc", "100", "--per-doc-latency", "20", "--files", "10",
                  "--file-mib", "16", "--rounds", "1", "--memory-docs", "2000"],
    "sync": ["--documents", "2000"],
}
DOCUMENT_SIZES = (1_000, 3_000, 10_000, 30_000)
BYTE_SIZES_MIB = (16, 64, 256)


def run_script(name: str, arguments: list[str], out: Path) -> dict[str, Any]:
    """One benchmark script in its own process; its figures (``--json``)."""
    target = out / f"{name}.json"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *arguments, "--json", str(target)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": _path()})
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks/{name}.py failed:\n{done.stderr[-3000:]}")
    print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    return json.loads(target.read_text())


def _path() -> str:
    parts = [str(HERE), str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in parts if p)


def scaling(out: Path, document_sizes: tuple[int, ...], byte_sizes: tuple[int, ...]) -> dict[str, Any]:
    """Upload, download and a no-op two_way_sync at growing sizes, against one server in its own process."""
    sys.path[:0] = [str(HERE), str(HERE.parent / "src")]
    from ndicloud.download import download_dataset
    from ndicloud.sync import SyncOptions, two_way_sync
    from ndicloud.upload import upload_dataset
    from transfers import client_for, make_dataset, make_file_dataset

    from harness import add_bench_user, server_process

    work = out / "scaling"
    add_bench_user(work / "data")
    series: dict[str, Any] = {"documents": [], "bytes": []}
    quiet = SyncOptions(verbose=False)
    with server_process(work / "data") as (_, base):
        client = client_for(base, work)

        def measure(source: Path, size: float, files: bool) -> dict[str, float]:
            up = upload_dataset(source, client=client)
            assert up.success, up.message
            down = download_dataset(up.cloud_dataset_id or "", work / f"down-{source.name}",
                                    mode="local" if files else "hybrid", client=client)
            assert down.success, down.message
            assert two_way_sync(source, options=quiet, client=client).success  # records the cloud ids
            noop = two_way_sync(source, options=quiet, client=client)
            assert noop.success, noop.message
            return {"size": size, "upload": size / up.duration_s, "download": size / down.duration_s,
                    "noop_sync": size / noop.duration_s, "noop_requests": noop.requests}

        for count in document_sizes:
            series["documents"].append(measure(make_dataset(work / f"docs-{count}", count), count, False))
            print(f"scaling, {count} documents: {series['documents'][-1]}", flush=True)
        for mib in byte_sizes:
            source = make_file_dataset(work / f"bytes-{mib}", 20, mib)
            series["bytes"].append(measure(source, mib * MIB / 1e6, True))
            print(f"scaling, {mib} MiB in 20 files: {series['bytes'][-1]}", flush=True)
        client.close()
    return series


def chart(series: dict[str, Any], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, key, unit, xlabel in ((left, "documents", "documents/s", "documents in the dataset"),
                                    (right, "bytes", "MB/s", "MB of binary files in the dataset (20 files)")):
        rows = series[key]
        sizes = [row["size"] for row in rows]
        for name, label in (("upload", "upload_dataset"), ("download", "download_dataset"),
                            ("noop_sync", "no-op two_way_sync")):
            axis.plot(sizes, [row[name] for row in rows], marker="o", label=label)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel(unit)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    left.set_title("Documents: throughput against dataset size")
    right.set_title("Files: throughput against dataset size")
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}×" if a and b else "—"


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, target, measured, ratio to its baseline) for the report's table."""
    out: list[tuple[str, str, str, str]] = []
    add: Callable[..., None] = lambda *row: out.append(tuple(str(x) for x in row))  # noqa: E731
    bulk = figures["bulk_add"]
    add("local add, documents in memory", "≥ 15,000 docs/s", f"{bulk['in_memory']['docs_per_s']:,} docs/s",
        _ratio(bulk["in_memory"]["docs_per_s"], bulk["baseline"]["docs_per_s"]) + " a transaction per document")
    add("local add, parse + add streamed: peak RSS", "< 300 MB", f"{bulk['streamed']['peak_rss_mb']} MB", "—")
    slowest = max(row["ids_ms"] for row in bulk["streamed"]["queries"])
    add("isa / depends_on queries (slowest)", "≤ 50 ms", f"{slowest} ms", "—")
    server = figures["server"]
    add("server: a document zip listed in full after its PUT", "≤ 5 s", f"{server['ingest_s']} s", "—")
    for kind in ("put", "get"):
        add(f"server: presigned {kind.upper()}", "≥ 80% of a raw copy", f"{server[f'{kind}_mb_s']} MB/s",
            f"{server[f'{kind}_mb_s'] / server['raw_mb_s']:.0%} of raw ({server['raw_mb_s']} MB/s)")
    add("server: small authenticated GETs, 8 clients", "≥ 1,000/s", f"{server['small_gets_per_s']}/s", "—")
    api = figures["api_client"]
    add("client overhead per small request", "≤ 1 ms", f"{api['client_overhead_ms']} ms", "—")
    add("listing document summaries", "pages, flat memory", f"{api['list_docs_per_s']:,} docs/s, peak "
        f"{api['walk_peak_mb_at_100pct']} MB", f"{api['list_all_peak_mb']} MB holding all")
    transfer = figures["transfers"]
    for key, label, target in (("documents_plain", "plain loopback", "≥ 20×"),
                               ("documents_latency", "50 ms per request", "≥ 100×")):
        row = transfer[key]
        for way in ("upload", "download"):
            add(f"{way} documents, {label}", f"{target} per-document", f"{row[f'{way}_docs_per_s']:,} docs/s",
                f"{row[f'{way}_speedup']}× ({row[f'per_doc_{way}_docs_per_s']} docs/s one by one)")
    files = transfer["files"]
    for way, raw in (("upload", "raw_put"), ("download", "raw_get")):
        add(f"{way} files", "≥ 70% of one raw transfer", f"{files[f'{way}_mb_s']} MB/s",
            f"{files[f'{way}_mb_s'] / files[f'{raw}_mb_s']:.0%} of raw ({files[f'{raw}_mb_s']} MB/s)")
    for way in ("upload", "download"):
        add(f"client peak RSS, {way}", "< 300 MB (at 100,000 documents)",
            f"{transfer['memory'][way]['peak_rss_mb']} MB", "—")
    sync = figures["sync"]
    add("no-op two_way_sync: requests", f"≤ {sync['request_budget']}", sync["noop"]["requests"], "—")
    add("no-op two_way_sync: time, peak RSS", "≤ 15 s, < 300 MB (at 100,000)",
        f"{sync['noop']['seconds']} s, {sync['noop']['peak_rss_mb']} MB", "—")
    add("two_way_sync after 1% edits each side", "≤ 2× the no-op", f"{sync['changed']['seconds']} s",
        f"{sync['changed_over_noop']}× the no-op")
    return out


def report(figures: dict[str, Any], arguments: dict[str, list[str]], seconds: float, loads: tuple[float, float],
           target: Path) -> None:
    lines = [
        "# Benchmark report",
        "",
        f"Made by `python benchmarks/run_all.py` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in "
        f"{seconds / 60:.1f} minutes, on this machine ({os.cpu_count()} cores), against the local server in "
        "its own process. Sizes are reduced to fit in about ten minutes; the targets are the issues' (some are "
        "set at larger sizes, given in brackets). Each ratio is to the baseline measured in the same run. "
        f"Load average (1 min) at the start and the end: {loads[0]:.1f} and {loads[1]:.1f}."
        + (" Above the core count: other work shared the machine, and every rate is lower than alone."
           if max(loads) > (os.cpu_count() or 1) else ""),
        "",
        "| figure | target | measured | ratio to the baseline |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(figures)),
        "",
        "## How cost grows with the dataset",
        "",
        "![throughput against dataset size](scaling.png)",
        "",
        "| dataset | upload | download | no-op two_way_sync | its requests |",
        "|---|---|---|---|---|",
        *(f"| {int(r['size']):,} documents | {r['upload']:,.0f} docs/s | {r['download']:,.0f} docs/s | "
          f"{r['noop_sync']:,.0f} docs/s | {r['noop_requests']} |" for r in figures["scaling"]["documents"]),
        *(f"| {r['size']:,.0f} MB in 20 files | {r['upload']:,.0f} MB/s | {r['download']:,.0f} MB/s | "
          f"{r['noop_sync']:,.0f} MB/s | {r['noop_requests']} |" for r in figures["scaling"]["bytes"]),
        "",
        "Arguments of each script in this run:",
        "",
        *(f"* `benchmarks/{name}.py {' '.join(args)}`" for name, args in arguments.items()),
        "",
    ]
    target.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a check that everything runs)")
    parser.add_argument("--out", type=Path, default=HERE, help="where REPORT.md and scaling.png go")
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="ndi-bench-all-"))
    try:
        arguments = QUICK if args.quick else RUNS
        figures: dict[str, Any] = {name: run_script(name, extra, work) for name, extra in arguments.items()}
        figures["scaling"] = scaling(work, DOCUMENT_SIZES[:2] if args.quick else DOCUMENT_SIZES,
                                     BYTE_SIZES_MIB[:1] if args.quick else BYTE_SIZES_MIB)
        args.out.mkdir(parents=True, exist_ok=True)
        chart(figures["scaling"], args.out / "scaling.png")
        report(figures, arguments, time.perf_counter() - started, (load_before, os.getloadavg()[0]),
               args.out / "REPORT.md")
        (work / "figures.json").write_text(json.dumps(figures, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {args.out / 'REPORT.md'} and {args.out / 'scaling.png'} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
