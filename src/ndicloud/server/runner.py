"""Running the server: in the foreground (the CLI) or in a background thread (tests, the demo)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from .app import create_app
from .config import ServerConfig


def serve(config: ServerConfig) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info", access_log=False)


@contextmanager
def running_server(config: ServerConfig) -> Iterator[ServerConfig]:
    """Serve in a background thread on a socket bound here (port 0 = any free port); yields the config with it."""
    # IPPROTO_TCP explicitly: asyncio only turns Nagle off (TCP_NODELAY) on sockets whose proto says TCP, and
    # with Nagle on every response waits ~40 ms for a delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    config.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="ndi-cloud-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local NDI Cloud server did not start")
        time.sleep(0.01)
    try:
        yield config
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
