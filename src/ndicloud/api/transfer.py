"""Moving bytes through presigned storage URLs: streamed both ways, resumable downloads, never half a file.

Uploads stream the file in chunks with an exact ``Content-Length`` (storage refuses chunked bodies) and are
repeated from the start on a transport error or 5xx (a presigned PUT is idempotent). Downloads go to
``<name>.part``, continue from its end with an HTTP ``Range`` after an interruption, are checked against the
expected size, flushed to disk and only then renamed into place. Network reads and disk writes run in two
threads so that each waits less on the other. No request carries the API token, and error texts show URLs
without their signatures.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .client import CloudClient
from .errors import OutcomeUnknown, TransferError
from .retry import RETRY_STATUSES, RetryPolicy

CHUNK = 1 << 20
MAX_ATTEMPTS = 100
MAX_SINGLE_PUT_BYTES = 5 * 1024**3  # S3's cap on one PUT: check before sending, not after minutes
Progress = Callable[[int, int | None], None]  # (bytes done, total or None)
_storage_http: httpx.Client | None = None
_storage_lock = threading.Lock()


def _http(client: CloudClient | None) -> httpx.Client:
    if client is not None:
        client.count_request()
        return client.http
    global _storage_http
    with _storage_lock:
        if _storage_http is None:
            _storage_http = httpx.Client(timeout=httpx.Timeout(connect=15.0, read=300.0, write=300.0, pool=60.0))
        return _storage_http


def shown(url: str) -> str:
    """The URL without its query (the signature is a credential while it lasts)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _refusal(response: httpx.Response, action: str, url: str) -> TransferError:
    reason = response.text[:300].strip()
    hint = " (the URL may have expired; get a fresh one)" if response.status_code == 403 else ""
    return TransferError(f"{action} {shown(url)} -> {response.status_code}{hint}: {reason}",
                         status=response.status_code, route=shown(url))


class Digest:
    """A sha256 of the bytes an upload sends, taken as they stream (restarted with each attempt)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def restart(self) -> None:
        self._sha = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self._sha.update(chunk)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def put_file(url: str, path: str | Path, *, content_type: str = "application/octet-stream",
             progress: Progress | None = None, client: CloudClient | None = None,
             retry: RetryPolicy | None = None, digest: Digest | None = None) -> int:
    """PUT the file's bytes to a presigned URL, streamed; the number of bytes sent.

    ``digest``, when given, ends holding the sha256 of the bytes of the attempt that succeeded.
    """
    source = Path(path)
    size = source.stat().st_size
    if size > MAX_SINGLE_PUT_BYTES:
        raise TransferError(f"{source.name} is {size} bytes; one upload takes at most {MAX_SINGLE_PUT_BYTES} "
                            "bytes (5 GiB)")
    policy = retry or (client.retry if client else RetryPolicy())
    headers = {"Content-Type": content_type, "Content-Length": str(size), "Accept-Encoding": "identity"}

    def chunks() -> Iterator[bytes]:
        done = 0
        with source.open("rb") as handle:
            while data := handle.read(CHUNK):
                done += len(data)
                if digest is not None:
                    digest.update(data)
                yield data
                if progress:
                    progress(done, size)

    uncertain = False  # an earlier attempt failed in a way that may hide a stored upload
    for attempt in range(policy.retries + 1):
        if progress:
            progress(0, size)
        if digest is not None:
            digest.restart()
        try:
            response = _http(client).put(url, content=chunks(), headers=headers)
        except httpx.TransportError as exc:
            if attempt < policy.retries:
                uncertain = True
                policy.wait(attempt)
                continue
            raise TransferError(f"upload of {source.name} to {shown(url)} failed: {type(exc).__name__}: {exc}",
                                route=shown(url)) from None
        if response.status_code < 300:
            return size
        if response.status_code in RETRY_STATUSES and attempt < policy.retries:
            uncertain = True
            policy.wait(attempt, response.headers.get("Retry-After"))
            continue
        if response.status_code == 403 and uncertain:
            # a URL refused after an attempt whose answer was lost may be refused because that attempt was
            # stored (a used URL): the caller must look before sending again with a new one
            raise OutcomeUnknown(f"upload of {source.name} to {shown(url)}: an earlier attempt got no clear "
                                 "answer and the URL is now refused; it may have been stored", route=shown(url))
        raise _refusal(response, f"upload of {source.name} to", url)
    raise AssertionError("unreachable")  # the loop returns or raises


class _Writer:
    """Appends chunks to a file on its own thread, so the next network read overlaps this write."""

    def __init__(self, handle):
        self.handle = handle
        self.error: OSError | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self.handle.write(chunk)
                except OSError as exc:  # disk full, ...: reported to the reader, which stops
                    self.error = exc

    def write(self, chunk: bytes) -> None:
        if self.error:
            raise self.error
        self._queue.put(chunk)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self.error:
            raise self.error


def _total_from(response: httpx.Response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None


def get_file(url: str, path: str | Path, *, expected_size: int | None = None, progress: Progress | None = None,
             client: CloudClient | None = None, retry: RetryPolicy | None = None, durable: bool = True) -> int:
    """Download a presigned URL to ``path`` (via ``path.part``, resumed with Range); the file's size.

    An attempt that brought bytes renews the retry budget (a long download over a flaky link keeps going),
    up to MAX_ATTEMPTS in all. A resumed answer must continue the same object (same ETag, starting at the
    ``.part``'s end), else the ``.part`` is discarded and the download starts over. Raises TransferError,
    leaving the ``.part`` for a later resume, when the download cannot be completed; a finished download
    whose size is not ``expected_size`` (or the object's) is discarded.
    """
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    tag_file = target.with_name(target.name + ".part.etag")
    target.parent.mkdir(parents=True, exist_ok=True)
    policy = retry or (client.retry if client else RetryPolicy())
    failures = 0
    for attempt in range(MAX_ATTEMPTS):
        offset = partial.stat().st_size if partial.exists() else 0
        try:
            total = _stream_into(url, partial, tag_file, offset, client, progress)
        except _Retryable as exc:
            grew = (partial.stat().st_size if partial.exists() else 0) > offset
            failures = 0 if grew else failures + 1
            if failures <= policy.retries and attempt + 1 < MAX_ATTEMPTS:
                policy.wait(max(0, failures - 1), exc.retry_after)
                continue
            raise TransferError(f"download of {shown(url)} failed after {attempt + 1} attempts: {exc}",
                                route=shown(url)) from None
        except OSError as exc:
            raise TransferError(f"download of {shown(url)}: cannot write {partial}: {exc}",
                                route=shown(url)) from None
        size = partial.stat().st_size
        if (total is not None and size != total) or (expected_size is not None and size != expected_size):
            want = expected_size if expected_size is not None else total
            partial.unlink()
            tag_file.unlink(missing_ok=True)
            raise TransferError(f"download of {shown(url)} gave {size} bytes, expected {want}", route=shown(url))
        if durable:
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(partial, target)
        tag_file.unlink(missing_ok=True)
        return size
    raise AssertionError("unreachable")  # the loop returns or raises


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: str | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _start_over(partial: Path, tag_file: Path, why: str) -> _Retryable:
    partial.unlink(missing_ok=True)
    tag_file.unlink(missing_ok=True)
    return _Retryable(f"{why}; starting over")


def _stream_into(url: str, partial: Path, tag_file: Path, offset: int, client: CloudClient | None,
                 progress: Progress | None) -> int | None:
    """One GET attempt into ``partial``; the object's total size (None when the server did not say)."""
    headers = {"Accept-Encoding": "identity"}
    saved_tag = tag_file.read_text().strip() if offset and tag_file.exists() else None
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if saved_tag:
            headers["If-Range"] = saved_tag
    try:
        with _http(client).stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 416 and offset:  # nothing after the .part's end: its size must be the object's
                total = _total_from(response, offset) if "/" in response.headers.get("Content-Range", "") else None
                if total != offset:
                    raise _start_over(partial, tag_file, f"the partial file ({offset} bytes) does not fit the "
                                                         f"object ({total} bytes)")
                return total
            if status in RETRY_STATUSES:
                raise _Retryable(f"storage answered {status}", response.headers.get("Retry-After"))
            if status not in (200, 206):
                response.read()
                raise _refusal(response, "download of", url)
            etag = response.headers.get("ETag")
            if status == 206:
                start = response.headers.get("Content-Range", "").removeprefix("bytes ").split("-")[0]
                if start != str(offset) or (saved_tag and etag and etag != saved_tag):
                    raise _start_over(partial, tag_file, "the object changed since the partial download")
            else:
                offset = 0  # the whole object: start over
                if etag:
                    tag_file.write_text(etag)
            return _receive(response, partial, offset, progress)
    except httpx.TransportError as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None


def _receive(response: httpx.Response, partial: Path, offset: int, progress: Progress | None) -> int | None:
    """Append the body to ``partial`` from ``offset``; whatever arrived before a failure is kept."""
    total = _total_from(response, offset)
    done = offset
    buffer = bytearray()
    with partial.open("r+b" if offset else "wb") as handle:
        handle.seek(offset)
        handle.truncate()
        writer = _Writer(handle)
        try:
            try:
                for piece in response.iter_raw():
                    buffer += piece
                    if len(buffer) >= CHUNK:
                        writer.write(bytes(buffer))
                        done += len(buffer)
                        buffer.clear()
                        if progress:
                            progress(done, total)
            finally:  # a cut connection still leaves a valid prefix to resume from
                if buffer and writer.error is None:
                    writer.write(bytes(buffer))
                    done += len(buffer)
        finally:
            writer.close()
    if progress:
        progress(done, total)
    return total


class _HideSignatures(logging.Filter):
    """httpx logs every request's URL; presigned URLs lose their query (the signature) on the way."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and b"signature" in arg.query.lower()
                else arg for arg in record.args)
        return True


logging.getLogger("httpx").addFilter(_HideSignatures())
