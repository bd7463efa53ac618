"""API client against the local server on loopback: per-request overhead and listing 100,000 documents.

The server runs as a separate process.
  1. small authenticated GETs (GET /users/me) over one kept-alive connection, median per request, for:
     a raw socket sending prepared bytes (the server's own time plus loopback: the baseline),
     a bare httpx.Client, and ndi-cloud's CloudClient (users.me: auth, error mapping, JSON, the typed result).
     The client's overhead is CloudClient minus the raw socket. Interleaved rounds, medians reported.
  2. iter_documents over a dataset of N documents (uploaded as one zip): documents per second, and the
     Python memory the walk has held at its peak after 10%, 50% and 100% of the documents (tracemalloc), against
     collecting every summary in a list.

    python benchmarks/api_client.py [--documents 100000] [--requests 2000] [--json figures.json]
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import statistics
import time
import tracemalloc
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ndicloud.api import CloudClient, documents, users
from ndicloud.api.tokens import TokenCache
from ndicloud.core import new_id
from ndicloud.core.sample import generate_documents

from harness import BENCH_EMAIL, BENCH_PASSWORD, add_bench_user, scratch_dir, server_process


class RawHttp:
    """HTTP/1.1 keep-alive over a bare socket: one prepared request, the answer read by its Content-Length."""

    def __init__(self, url: str, token: str):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: application/json\r\n"
                        f"Authorization: Bearer {token}\r\n\r\n").encode()
        self.buffer = b""

    def get(self) -> bytes:
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buffer = rest[length:]
        return rest[:length]


def median_ms(call, count: int) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000, help="requests per kind (in 5 interleaved rounds)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = scratch_dir("ndi-api-bench-")
    seeded = add_bench_user(work / "data")
    figures: dict[str, object] = {}
    with server_process(work / "data") as (_, base):
        client = CloudClient(base, username=BENCH_EMAIL, password=BENCH_PASSWORD,
                             cache=TokenCache(work / "tokens.json"))
        token = client.token()
        assert token
        raw = RawHttp(f"{base}/users/me", token)
        bare = httpx.Client(headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        me_url = f"{base}/users/me"
        kinds = {"raw_socket": raw.get, "httpx": lambda: bare.get(me_url).json(),
                 "cloud_client": lambda: users.me(client=client)}
        for call in kinds.values():  # warm up connections and code paths
            median_ms(call, 50)
        rounds: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(5):
            for kind, call in kinds.items():
                rounds[kind].append(median_ms(call, args.requests // 5))
        for kind, values in rounds.items():
            figures[f"{kind}_ms"] = round(statistics.median(values), 3)
        figures["client_overhead_ms"] = round(figures["cloud_client_ms"] - figures["raw_socket_ms"], 3)

        # 2. a dataset of N documents, listed page by page
        dataset_id = client.json("POST", f"/organizations/{seeded.organization_id}/datasets",
                                 json={"name": "listing"})["id"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("documents.json", json.dumps(
                [d.properties for d in generate_documents(args.documents, new_id(), seed=1)]))
        url = documents.get_bulk_upload_url(dataset_id, client=client)
        httpx.put(url, content=buffer.getvalue(), timeout=600).raise_for_status()
        del buffer
        while client.json("GET", f"/datasets/{dataset_id}/document-count")["count"] < args.documents:
            time.sleep(0.2)

        started = time.perf_counter()
        listed = sum(1 for _ in documents.iter_documents(dataset_id, client=client))
        seconds = time.perf_counter() - started
        figures["listed"] = listed
        figures["list_docs_per_s"] = round(listed / seconds)

        tracemalloc.start()
        marks = {max(1, args.documents * share // 100): share for share in (10, 50, 100)}
        for n, _ in enumerate(documents.iter_documents(dataset_id, client=client), start=1):
            if n in marks:
                figures[f"walk_peak_mb_at_{marks[n]}pct"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
        tracemalloc.reset_peak()
        kept = list(documents.iter_documents(dataset_id, client=client))
        figures["list_all_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
        tracemalloc.stop()
        del kept
        client.close()

    print(f"GET /users/me, median per request ({args.requests} each, 5 interleaved rounds, one connection):")
    print(f"  raw socket (server + loopback) {figures['raw_socket_ms']} ms; bare httpx {figures['httpx_ms']} ms; "
          f"CloudClient users.me {figures['cloud_client_ms']} ms")
    print(f"  client overhead beyond the server's own time: {figures['client_overhead_ms']} ms")
    print(f"iter_documents over {listed} documents: {figures['list_docs_per_s']} docs/s; Python memory peak "
          f"{figures['walk_peak_mb_at_10pct']} MB after 10%, {figures['walk_peak_mb_at_50pct']} MB after 50%, "
          f"{figures['walk_peak_mb_at_100pct']} MB after 100% "
          f"(collecting all summaries in a list: {figures['list_all_peak_mb']} MB)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
