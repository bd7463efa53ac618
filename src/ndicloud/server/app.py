"""The FastAPI application: state, error bodies, request log, routes under /v1."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .config import ServerConfig
from .errors import ApiError
from .records import Records
from .routes import accounts, datasets, documents, lifecycle
from .security import TokenService, load_or_create_secret
from .wire import WireJSONResponse
from .worker import Worker

log = logging.getLogger("ndicloud.server")


def create_app(config: ServerConfig) -> FastAPI:
    """A server application over the records in ``config.data_dir``."""
    records = Records(config.data_dir)
    worker = Worker(records, config.worker_interval_s)

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
    app.state.tokens = TokenService(load_or_create_secret(config.data_dir), config.token_ttl_s)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        return WireJSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        text = "Not found" if exc.status_code == 404 else str(exc.detail)
        return WireJSONResponse({"error": text, "message": text}, status_code=exc.status_code)

    @app.middleware("http")
    async def request_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The path only: no query string (it may hold signatures), never headers (they hold tokens).
        log.info("%s %s %d %.1fms", request.method, request.url.path, response.status_code,
                 (time.perf_counter() - started) * 1000)
        return response

    # lifecycle first: its fixed paths (/datasets/deleted, ...) must match before /datasets/{id}
    for module in (accounts, lifecycle, datasets, documents):
        app.include_router(module.router, prefix="/v1")
    return app
