"""The FastAPI application: state, error bodies, request log, routes under /v1."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .blobs import BlobStore
from .config import ServerConfig
from .errors import ApiError, bad_request
from .faults import FaultInjector, FaultSettings, scripted_faults
from .ids import utc_timestamp
from .ingest import count_zip_entries
from .openapi import describe
from .presign import Presigner
from .records import Records
from .routes import (
    accounts,
    bulk,
    compute,
    datasets,
    documents,
    files,
    licenses,
    lifecycle,
    query,
    signup,
    storage,
    unsupported,
)
from .security import TokenService, load_or_create_secret
from .wire import WireJSONResponse, read_json
from .worker import Worker

log = logging.getLogger("ndicloud.server")


class RequestLog:
    """One log line per request: method, path, status, time. A plain ASGI middleware (cheap per request).

    The path only: no query string (it may hold signatures), never headers (they hold tokens).
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status,
                     (time.perf_counter() - started) * 1000)


def install_faults(app: FastAPI, injector: FaultInjector) -> None:
    """Enable fault injection and its control route, ``POST /_faults`` (present only when enabled)."""
    app.state.faults = injector
    app.middleware("http")(injector)

    @app.post("/_faults")
    async def script_faults(request: Request) -> Response:
        try:
            reset, faults = scripted_faults(await read_json(request, 1 << 20))
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        if reset:
            injector.scripted.clear()
        injector.scripted.extend(faults)
        return WireJSONResponse({"scripted": len(injector.scripted)})


def create_app(config: ServerConfig) -> FastAPI:
    """A server application over the records in ``config.data_dir``."""
    records = Records(config.data_dir)
    blobs = BlobStore(config.data_dir)
    worker = Worker(records, blobs, config.worker_interval_s, compute_stage_delay_s=config.compute_stage_delay_s)
    secret = load_or_create_secret(config.data_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:
            worker.stop()

    app = FastAPI(title="NDI Cloud (local)", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.config = config
    app.state.records = records
    app.state.worker = worker
    app.state.secret = secret  # signs tokens and URLs, seals stored licences
    app.state.tokens = TokenService(secret, config.token_ttl_s)
    app.state.blobs = blobs
    app.state.reset_code_times = {}  # address -> times of recent reset codes (A4 rate limit)
    app.state.presigner = Presigner(secret, config.base_url, config.url_ttl_s)

    def on_object_stored(key: str, size: int) -> None:
        """After a presigned PUT: register a single file, or hand an uploaded zip to the worker."""
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "files" and records.dataset(parts[1]) is not None:
            records.files.register(parts[1], parts[2], size, key, config.file_registration_delay_s, pending=True)
            records.mark_uploaded(parts[1])
            return
        transfer = records.transfers.by_key(key)
        if transfer is not None and transfer.kind in ("documents", "files") and transfer.state == "queued":
            delay = config.document_ingest_delay_s if transfer.kind == "documents" else config.zip_extract_delay_s
            total = count_zip_entries(blobs.path(key)) if transfer.kind == "files" else None
            records.transfers.update(transfer.id, state="extracting", started_at=utc_timestamp(),
                                     due=time.time() + delay, total_files=total)

    app.state.on_object_stored = on_object_stored

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        return WireJSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        status = 404 if exc.status_code == 405 else exc.status_code  # unknown method + path: an unknown route
        text = "Not found" if status == 404 else str(exc.detail)
        return WireJSONResponse({"error": text, "message": text}, status_code=status)

    if config.faults is not None:
        install_faults(app, FaultInjector(FaultSettings.parse(config.faults)))

    app.add_middleware(RequestLog)

    for module in (unsupported, accounts, signup, licenses, lifecycle, datasets, bulk, documents, files, query,
                   compute):
        app.include_router(module.router, prefix="/v1")
    app.include_router(storage.router)  # presigned storage lives outside /v1
    app.openapi = lambda: describe(app)  # type: ignore[method-assign]
    return app
