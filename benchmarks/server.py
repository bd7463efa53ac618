"""Local NDI Cloud server on loopback: bulk ingestion, 1 GiB streaming vs a raw socket copy, small GETs.

The server runs as a separate process (its memory is sampled from /proc while it streams):
  1. a bulk upload of N documents: seconds from the end of the PUT until all are listed
  2. a presigned PUT and GET of a SIZE file, against a raw loopback socket copy of the same bytes to disk,
     interleaved over ROUNDS rounds
  3. small authenticated GETs per second with 8 concurrent clients (keep-alive)

    python benchmarks/server.py [--documents 10000] [--size-mib 1024] [--rounds 3] [--json figures.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx

from ndicloud.core import new_id
from ndicloud.core.sample import generate_documents
from ndicloud.server.accounts import add_user
from ndicloud.server.records import Records

SERVER = """
import sys
from ndicloud.server import ServerConfig
from ndicloud.server.runner import serve
serve(ServerConfig(data_dir=sys.argv[1], port=int(sys.argv[2]), document_ingest_delay_s=0, zip_extract_delay_s=0,
                   download_delay_s=0, file_registration_delay_s=0, worker_interval_s=0.01))
"""
CHUNK = 1 << 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MemoryWatch:
    """Samples a process's resident memory every 50 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, self.rss_mb())

    def __enter__(self) -> MemoryWatch:
        self.peak_mb = self.rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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


def file_chunks(path: Path):
    with path.open("rb") as handle:
        while data := handle.read(CHUNK):
            yield data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--gets", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved raw/PUT/GET rounds (medians reported)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ndi-server-bench-"))
    data = work / "data"
    seeded = add_user(Records(data), "bench@lab.example", "bench-password", "bench")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(data), str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    figures: dict[str, float] = {}
    try:
        for _ in range(300):
            try:
                token = httpx.post(f"{base}/auth/login", json={"email": "bench@lab.example",
                                                               "password": "bench-password"}).json()["token"]
                break
            except httpx.TransportError:
                time.sleep(0.1)
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

        # 2. streaming a large file, against a raw socket copy. The disk sets all three rates and its speed
        # drifts by tens of percent between runs, so raw copy, PUT and GET are interleaved for ROUNDS rounds
        # and each is reported by its median. Each timed transfer starts with no writeback pending (os.sync).
        payload = work / "payload.bin"
        with payload.open("wb") as handle:
            for _ in range(args.size_mib):
                handle.write(os.urandom(CHUNK))
        size = payload.stat().st_size
        rates: dict[str, list[float]] = {"raw": [], "put": [], "get": [], "get_null": []}

        def timed(kind: str, transfer) -> None:
            os.sync()
            started = time.perf_counter()
            transfer()
            rates[kind].append(size / (time.perf_counter() - started) / 1e6)

        def upload(url: str) -> None:
            httpx.put(url, content=file_chunks(payload), timeout=600).raise_for_status()

        def download(url: str, target: Path, durable: bool) -> None:
            with httpx.stream("GET", url, headers={"Accept-Encoding": "identity"}, timeout=600) as reply, \
                    target.open("wb") as sink:
                reply.raise_for_status()
                for chunk in reply.iter_raw():
                    sink.write(chunk)
                sink.flush()
                if durable:
                    os.fsync(sink.fileno())

        with MemoryWatch(server.pid) as memory:
            figures["server_rss_before_mb"] = round(memory.peak_mb, 1)
            for _ in range(args.rounds):
                timed("raw", lambda: raw_socket_copy(payload, work / "raw-copy.bin"))
                (work / "raw-copy.bin").unlink()
                uid = new_id()
                put_url = httpx.get(f"{base}/datasets/{seeded.organization_id}/{dataset}/files/{uid}",
                                    headers=headers).json()["url"]
                timed("put", partial(upload, put_url))
                get_url = httpx.get(f"{base}/datasets/{dataset}/files/{uid}/detail",
                                    headers=headers).json()["downloadUrl"]
                timed("get", partial(download, get_url, work / "download.bin", durable=True))
                figures["download_equal"] = float((work / "download.bin").stat().st_size == size)
                (work / "download.bin").unlink()
                timed("get_null", partial(download, get_url, Path(os.devnull), durable=False))
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
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"ingest {args.documents} documents after the PUT: {figures['ingest_s']} s")
    raw = figures["raw_mb_s"]
    print(f"{args.size_mib} MiB, median of {args.rounds} interleaved rounds (each to disk, fsynced):")
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
