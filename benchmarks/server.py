"""Local NDI Cloud server on loopback: bulk ingestion, 1 GiB streaming vs a raw socket copy, small GETs.

The server runs as a separate process (its memory is sampled from /proc while it streams):
  1. a bulk upload of N documents: seconds from the end of the PUT until all are listed
  2. a presigned PUT and GET of a SIZE file, against a raw loopback socket copy of the same bytes to disk,
     interleaved over ROUNDS rounds
  3. small authenticated GETs per second with 8 concurrent clients (keep-alive)

    python benchmarks/server.py [--documents 10000] [--size-mib 1024] [--rounds 6] [--json figures.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from ndicloud.api import transfer
from ndicloud.core import new_id
from ndicloud.core.files import sha256_of_file
from ndicloud.core.sample import generate_documents

from harness import BENCH_EMAIL, BENCH_PASSWORD, MemoryWatch, add_bench_user, scratch_dir, server_process

CHUNK = 1 << 20


def raw_socket_copy(source: Path, target: Path) -> float:
    """MB/s of sending the file over a loopback TCP socket into a file on disk (the baseline)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done = threading.Event()

    def receive() -> None:
        connection, _ = listener.accept()
        with connection, target.open("wb") as sink:
            while data := connection.recv(CHUNK):
                sink.write(data)
            sink.flush()
            os.fsync(sink.fileno())
        done.set()

    threading.Thread(target=receive, daemon=True).start()
    started = time.perf_counter()
    with socket.create_connection(listener.getsockname()) as sender, source.open("rb") as handle:
        sender.sendfile(handle)
    done.wait()
    seconds = time.perf_counter() - started
    listener.close()
    return source.stat().st_size / seconds / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--gets", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=6, help="raw/PUT/GET rounds, order rotating (medians)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = scratch_dir("ndi-server-bench-")
    data = work / "data"
    seeded = add_bench_user(data)
    figures: dict[str, float] = {}
    with server_process(data) as (server, base):
        token = httpx.post(f"{base}/auth/login", json={"email": BENCH_EMAIL,
                                                       "password": BENCH_PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        dataset = httpx.post(f"{base}/organizations/{seeded.organization_id}/datasets", json={"name": "bench"},
                             headers=headers).json()["id"]

        # 1. bulk document ingestion
        docs = [d.properties for d in generate_documents(args.documents, new_id(), seed=1)]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("documents.json", json.dumps(docs))
        url = httpx.post(f"{base}/datasets/{dataset}/documents/bulk-upload", headers=headers).json()["url"]
        httpx.put(url, content=buffer.getvalue(), timeout=120)
        put_done = time.perf_counter()
        while httpx.get(f"{base}/datasets/{dataset}/document-count", headers=headers).json()["count"] < len(docs):
            time.sleep(0.02)
        figures["ingest_s"] = round(time.perf_counter() - put_done, 2)

        # 2. streaming a large file, against a raw socket copy. The disk sets all three rates, and on this
        # shared machine its speed swings by a factor of two from one transfer to the next, also depending on
        # what the transfer before wrote. So the raw copy, PUT and GET run in ROUNDS rounds whose order rotates
        # (each kind is first, second and third equally often), each after os.sync and a second of rest, and
        # each kind is reported by its median.
        payload = work / "payload.bin"
        with payload.open("wb") as handle:
            for _ in range(args.size_mib):
                handle.write(os.urandom(CHUNK))
        size = payload.stat().st_size
        rates: dict[str, list[float]] = {"raw": [], "put": [], "get": [], "get_null": []}

        def timed(kind: str, action) -> None:
            os.sync()
            time.sleep(1.0)
            started = time.perf_counter()
            action()
            rates[kind].append(size / (time.perf_counter() - started) / 1e6)

        def upload_url() -> str:
            return httpx.get(f"{base}/datasets/{seeded.organization_id}/{dataset}/files/{new_id()}",
                             headers=headers).json()["url"]

        first = upload_url()
        transfer.put_file(first, payload)  # the object every timed GET reads
        uid = first.split("?")[0].rsplit("/", 1)[1]
        while httpx.get(f"{base}/datasets/{dataset}/files/{uid}/detail", headers=headers).status_code != 200:
            time.sleep(0.05)

        def download_url() -> str:
            return httpx.get(f"{base}/datasets/{dataset}/files/{uid}/detail", headers=headers).json()["downloadUrl"]

        # the transfers are ndi-cloud's own client functions, as uploads and downloads use them
        def raw() -> None:
            raw_socket_copy(payload, work / "raw-copy.bin")
            (work / "raw-copy.bin").unlink()

        def put() -> None:
            transfer.put_file(upload_url(), payload)

        def get() -> None:
            (work / "download.bin").unlink(missing_ok=True)
            transfer.get_file(download_url(), work / "download.bin")

        def get_null() -> None:  # the server's own rate: nothing written anywhere
            with httpx.stream("GET", download_url(), headers={"Accept-Encoding": "identity"}, timeout=600) as reply:
                for _ in reply.iter_raw():
                    pass

        kinds = [("raw", raw), ("put", put), ("get", get)]
        with MemoryWatch(server.pid) as memory:
            figures["server_rss_before_mb"] = round(memory.peak_mb, 1)
            for round_number in range(args.rounds):
                shift = round_number % len(kinds)
                for kind, action in kinds[shift:] + kinds[:shift]:
                    timed(kind, action)
            timed("get_null", get_null)
        figures["download_equal"] = float(sha256_of_file(work / "download.bin") == sha256_of_file(payload))
        (work / "download.bin").unlink()
        figures["server_rss_peak_mb"] = round(memory.peak_mb, 1)
        for kind, values in rates.items():
            figures[f"{kind}_mb_s"] = round(statistics.median(values), 1)
            figures[f"{kind}_mb_s_all"] = [round(value) for value in values]
        payload.unlink()

        # 3. small authenticated GETs, 8 clients
        def rate(url: str) -> int:
            def client(n: int) -> None:
                with httpx.Client(headers=headers) as session:
                    for _ in range(n):
                        session.get(url).raise_for_status()

            per_client = args.gets // 8
            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(client, [per_client] * 8))
            return round(per_client * 8 / (time.perf_counter() - started))

        figures["small_gets_per_s"] = rate(f"{base}/users/me")
        figures["dataset_gets_per_s"] = rate(f"{base}/datasets/{dataset}")

    print(f"ingest {args.documents} documents after the PUT: {figures['ingest_s']} s")
    raw = figures["raw_mb_s"]
    print(f"{args.size_mib} MiB, median of {args.rounds} rounds in rotating order (each to disk, fsynced):")
    print(f"  raw loopback socket copy {raw} MB/s {figures['raw_mb_s_all']}")
    for kind in ("put", "get"):
        rate = figures[f"{kind}_mb_s"]
        print(f"  presigned {kind.upper()} {rate} MB/s = {rate / raw:.0%} of raw {figures[f'{kind}_mb_s_all']}")
    print(f"  presigned GET to /dev/null (the server's own rate) {figures['get_null_mb_s']} MB/s")
    print(f"server memory: {figures['server_rss_before_mb']} MB before, peak {figures['server_rss_peak_mb']} MB "
          "while streaming")
    print(f"small authenticated GETs, 8 clients: {figures['small_gets_per_s']}/s (GET /users/me); "
          f"{figures['dataset_gets_per_s']}/s (GET /datasets/<id>, a dataset with {args.documents} documents)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
