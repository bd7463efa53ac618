"""What the benchmarks share: a local server in its own process, free ports, memory sampling, a scratch folder
and the benchmark user."""

from __future__ import annotations

import atexit
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ndicloud.server.accounts import SeededUser, add_user
from ndicloud.server.records import Records

BENCH_EMAIL = "bench@lab.example"
BENCH_PASSWORD = "bench-password"

SERVER = """
import json, sys
from ndicloud.server import ServerConfig
from ndicloud.server.runner import serve
serve(ServerConfig(data_dir=sys.argv[1], port=int(sys.argv[2]), document_ingest_delay_s=0, zip_extract_delay_s=0,
                   download_delay_s=0, file_registration_delay_s=0, worker_interval_s=0.01,
                   **json.loads(sys.argv[3])))
"""
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




@contextmanager
def server_process(data: Path, **settings: object) -> Iterator[tuple[subprocess.Popen, str]]:
    """The local server (no deliberate delays; ``settings`` for ServerConfig, e.g. faults) in its own process
    on a free port; yields it and its /v1 URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(data), str(port), json.dumps(settings)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/datasets/published")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield server, base
    finally:
        server.terminate()
        server.wait(timeout=30)


def scratch_dir(prefix: str) -> Path:
    """A new temporary folder, removed when the process ends (benchmarks write gigabytes: never left behind)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    return work


def add_bench_user(data_dir: Path) -> SeededUser:
    """The benchmark user (``BENCH_EMAIL``, ``BENCH_PASSWORD``) in its own organization, in a server's data."""
    return add_user(Records(data_dir), BENCH_EMAIL, BENCH_PASSWORD, "bench")
