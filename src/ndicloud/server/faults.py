"""Fault injection (cloud-api §10.8), off unless enabled at start-up; seeded, so a failure can be replayed.

Faults: latency; a fraction of /v1 requests answered 500/502/503/504 before doing anything, or 504 after
the work committed, or cut mid-answer after it; storage downloads and uploads cut mid-body; read-after-write
lag on dataset and document reads; and scripted faults ("the next N requests matching a route fail"), set
through ``POST /_faults``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, fields

from fastapi import Request, Response
from starlette.responses import JSONResponse, StreamingResponse

STATUSES = (500, 502, 503, 504)
_ID_IN_PATH = re.compile(r"/(?:datasets|documents)/([0-9a-f]{24})(?:/|$)")


@dataclass
class FaultSettings:
    """What to inject. Parsed from ``key=value,key=value`` (the CLI flag or NDI_CLOUD_FAULTS)."""

    seed: int = 0
    latency_s: float = 0.0
    error_rate: float = 0.0
    after_commit_rate: float = 0.0
    drop_rate: float = 0.0  # storage downloads cut mid-body
    api_drop_rate: float = 0.0  # /v1 answers cut mid-body, after the work (a connection lost on the way back)
    upload_drop_rate: float = 0.0  # storage uploads cut mid-body
    read_lag_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> FaultSettings:
        settings = cls()
        known = {f.name: f.type for f in fields(cls)}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep or name.strip() not in known:
                raise ValueError(f"unknown fault setting {item!r}; use {', '.join(known)}")
            setattr(settings, name.strip(), int(value) if name.strip() == "seed" else float(value))
        return settings


@dataclass
class ScriptedFault:
    pattern: str  # "METHOD /path/with/*/wildcards"
    count: int
    status: int
    after_work: bool = False
    drop: bool = False  # do the work, then cut the answer mid-body (status unused)


def scripted_faults(body: object) -> tuple[bool, list[ScriptedFault]]:
    """Whether to clear the scripted faults first, and the ones to add, from a ``POST /_faults`` body:
    ``{"reset": bool, "faults": [{"route": "METHOD /path/*", "count": n, "status": 5xx, "afterWork": bool,
    "drop": bool}]}``. A malformed body is a ValueError naming what is wrong."""
    body = {} if body is None else body
    if not isinstance(body, dict) or not isinstance(body.get("faults", []), list):
        raise ValueError("the body must be an object with a list of faults")
    faults = []
    for item in body.get("faults", []):
        if not isinstance(item, dict) or not isinstance(item.get("route"), str):
            raise ValueError("each fault must be an object with a route such as 'POST /v1/datasets/*'")
        count, status = item.get("count", 1), item.get("status", 503)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a whole number, 0 or more; got {count!r}")
        if isinstance(status, bool) or status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(map(str, STATUSES))}; got {status!r}")
        faults.append(ScriptedFault(item["route"], count, status, bool(item.get("afterWork", False)),
                                    bool(item.get("drop", False))))
    return bool(body.get("reset")), faults


@dataclass
class FaultInjector:
    settings: FaultSettings
    scripted: list[ScriptedFault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.settings.seed)
        self._lock = threading.Lock()
        self._written: dict[str, float] = {}

    def _draw(self) -> float:
        with self._lock:
            return self._random.random()

    def _scripted(self, method: str, path: str) -> ScriptedFault | None:
        with self._lock:
            for fault in self.scripted:
                if fault.count > 0 and fnmatch.fnmatchcase(f"{method} {path}", fault.pattern):
                    fault.count -= 1
                    return fault
        return None

    def cut_upload(self) -> bool:
        """Whether this storage PUT should lose its connection halfway (upload_drop_rate)."""
        return self._draw() < self.settings.upload_drop_rate

    def note_write(self, response_ids: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for object_id in response_ids:
                self._written[object_id] = now

    def _lagging(self, path: str) -> bool:
        if self.settings.read_lag_s <= 0:
            return False
        with self._lock:
            return any(time.monotonic() - self._written.get(match, -1e9) < self.settings.read_lag_s
                       for match in _ID_IN_PATH.findall(path))

    async def __call__(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path, method = request.url.path, request.method
        if path.startswith("/_faults"):
            return await call_next(request)
        if self.settings.latency_s:
            await asyncio.sleep(self.settings.latency_s)
        scripted = self._scripted(method, path)
        if scripted is not None and not (scripted.after_work or scripted.drop):
            return _error(scripted.status)
        if path.startswith("/v1/"):
            if self._draw() < self.settings.error_rate:
                return _error(STATUSES[int(self._draw() * len(STATUSES))])
            if method == "GET" and self._lagging(path):
                return JSONResponse({"error": "Not found", "message": "Not found"}, status_code=404)
        response = await call_next(request)
        if scripted is not None:  # the work is done and committed, the answer is lost
            return _cut(response) if scripted.drop else _error(scripted.status)
        if path.startswith("/v1/") and method != "GET" and self._draw() < self.settings.after_commit_rate:
            return _error(504)
        if path.startswith("/storage/") and method == "GET" and self._draw() < self.settings.drop_rate:
            return _cut(response)
        if path.startswith("/v1/") and self._draw() < self.settings.api_drop_rate:
            return _cut(response)
        return response


class UploadCut(ConnectionResetError):
    """An upload cut halfway on purpose (upload_drop_rate); answered as an injected 500, never logged as a crash."""


async def cut_halfway(chunks: AsyncIterator[bytes], length: int) -> AsyncIterator[bytes]:
    """Pass about half of an upload through, then fail as a dropped connection would."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > length // 2:
            raise UploadCut("connection dropped mid-upload (injected)")
        yield chunk


def _error(status: int) -> Response:
    text = {500: "Internal server error (injected)", 502: "Bad gateway (injected)",
            503: "Service unavailable (injected)", 504: "Gateway timeout (injected)"}.get(status, "Injected fault")
    return JSONResponse({"error": text, "message": text}, status_code=status)


def _cut(response: Response) -> Response:
    """Send about half of the body, then drop the connection."""
    length = int(response.headers.get("content-length", "0"))
    body_iterator = getattr(response, "body_iterator", None)
    if body_iterator is None or length < 2:
        return response

    async def half() -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in body_iterator:
            piece = chunk[: max(0, length // 2 - sent)]
            if piece:
                yield piece
                sent += len(piece)
            if sent >= length // 2:
                raise ConnectionResetError("connection dropped (injected)")

    return StreamingResponse(half(), status_code=response.status_code, headers=dict(response.headers))
