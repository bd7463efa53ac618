"""Presigned storage (cloud-api §10.4): outside /v1, like S3 to clients. PUT streams to disk; GET serves ranges."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from xml.sax.saxutils import escape

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from ..blobs import BlobStore, ObjectTooLarge, valid_key
from ..faults import UploadCut, cut_halfway
from ..presign import STORAGE_PREFIX

router = APIRouter()


class _WholeKey(Convertor[str]):
    """The rest of the path, newlines included: the ``path`` convertor stops short of a trailing newline, so the
    key checked (and signed) would not be the key sent."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("storage_key", _WholeKey())
KEY_PATH = STORAGE_PREFIX + "/{key:storage_key}"


# A Range this server can serve: byte ranges "a-b" (a <= b), "a-" or "-n", at most 100 of them.
_RANGE = re.compile(r"bytes=\s*(?:\d+-\d*|-\d+)(?:\s*,\s*(?:\d+-\d*|-\d+)){0,99}\s*")


def _usable_range_only(scope: Scope) -> Scope:
    """The request without a Range header it cannot use (another unit, malformed, a start after its end):
    such a header is ignored and the whole object served, as S3 does and HTTP asks (RFC 9110 §14.2)."""
    value = Headers(scope=scope).get("range")
    if value is None:
        return scope
    match = _RANGE.fullmatch(value)
    usable = match is not None and all(
        not start or not end or int(start) <= int(end)
        for start, end in (part.strip().split("-") for part in value.split("=", 1)[1].split(",")))
    if usable:
        return scope
    return {**scope, "headers": [(name, v) for name, v in scope["headers"] if name.lower() != b"range"]}


class LargeChunkFileResponse(FileResponse):
    """Streams in 1 MiB pieces rather than 64 KiB: fewer trips through the event loop per gigabyte.

    An object deleted between the existence check and the read (a prune) is a 404, not a server error.
    """

    chunk_size = 1024 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = _usable_range_only(scope)
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await super().__call__(scope, receive, tracking)
        except (FileNotFoundError, RuntimeError) as exc:
            missing = isinstance(exc, FileNotFoundError) or isinstance(exc.__context__, FileNotFoundError)
            if started or not missing:
                raise
            await s3_error(404, "NoSuchKey", "The specified key does not exist.")(scope, receive, send)


def s3_error(status: int, code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error>")
    return Response(body, status_code=status, media_type="application/xml")


def _refusal(request: Request, method: str, key: str) -> Response | None:
    if "authorization" in request.headers:  # one authentication mechanism only; also catches a leaked token
        return s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; remove the Authorization header")
    params = request.query_params
    reason = request.app.state.presigner.check(method, key, params.get("expires"), params.get("signature"),
                                               params.get("nonce"))
    if reason is not None:
        return s3_error(403, "AccessDenied", reason)
    if not valid_key(key):
        return s3_error(400, "InvalidArgument", "Invalid object key")
    return None


def _etag(path: Path) -> dict[str, str]:
    stat = path.stat()
    return {"ETag": f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(1024 * 1024):
            digest.update(data)
    return digest.hexdigest()


async def _same_bytes(chunks: AsyncIterator[bytes], existing: Path) -> bool:
    """Whether the body holds exactly the bytes of ``existing`` (read to the end, never stored)."""
    limit = existing.stat().st_size
    digest = hashlib.sha256()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size <= limit:
            digest.update(chunk)
    return size == limit and digest.hexdigest() == await anyio.to_thread.run_sync(_sha256_of, existing)


@router.put(KEY_PATH)
async def put_object(request: Request, key: str) -> Response:
    """Store an upload. A fresh URL may replace a file's bytes (as on S3), but a URL that already stored them
    (replayed) may only send the same bytes again, as a retry does; a zip's URL is spent once its job took it."""
    refused = _refusal(request, "PUT", key)
    if refused is not None:
        return refused
    blobs: BlobStore = request.app.state.blobs
    config = request.app.state.config
    records = request.app.state.records
    single_file = key.startswith("files/")  # else a transfer's zip: no transfer has a files/ key
    transfer = None if single_file else records.transfers.by_key(key)
    if transfer is not None and transfer.state != "queued":
        return s3_error(403, "AccessDenied", f"This upload URL was already used (its upload is {transfer.state}); "
                                             "ask for a new one")
    chunks = request.stream()
    faults = getattr(request.app.state, "faults", None)
    if faults is not None and faults.cut_upload():
        chunks = cut_halfway(chunks, int(request.headers.get("content-length", "0")))
    spent = records.spent_upload_urls
    signature = request.query_params.get("signature", "")
    existing = blobs.path(key)
    try:
        if single_file and spent.is_spent(signature) and existing.is_file():
            if await _same_bytes(chunks, existing):
                return Response(status_code=200, headers=_etag(existing))
            return s3_error(403, "AccessDenied", f"This upload URL already stored {key}; it cannot replace the "
                                                 "bytes (ask for a new URL)")
        size = await blobs.write(key, chunks, config.max_object_bytes)
    except ObjectTooLarge:
        return s3_error(400, "EntityTooLarge", f"Your proposed upload exceeds the maximum of {config.max_object_bytes}")
    except UploadCut as exc:  # nothing was kept; the client sees a server error, as after a real drop
        return s3_error(500, "InternalError", str(exc))
    etag = _etag(existing)  # before the worker hears of it: it may read and remove an upload at once
    if single_file:
        spent.spend(signature, float(request.query_params["expires"]))  # digits: the signature check saw to it
    request.app.state.on_object_stored(key, size)
    return Response(status_code=200, headers=etag)


@router.api_route(KEY_PATH, methods=["GET", "HEAD"])
async def get_object(request: Request, key: str) -> Response:
    refused = _refusal(request, request.method, key)
    if refused is not None:
        return refused
    path = request.app.state.blobs.path(key)
    if not path.is_file():
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    media_type = "application/zip" if key.endswith(".zip") else "application/octet-stream"
    return LargeChunkFileResponse(path, media_type=media_type)
