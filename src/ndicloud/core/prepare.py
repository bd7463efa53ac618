"""Preparing documents for the database: MATLAB-style JSON text and index rows.

This is the Python-heavy half of adding documents (SQLite does the other half).
For large adds it runs in one helper process, so that on a machine with two or
more cores it overlaps with the inserts instead of queueing behind them; the
GIL rules out threads for this.

The helper is a plain ``python -c`` subprocess that imports only this module
and exchanges length-prefixed frames over its pipes: documents go in as orjson
bytes (marshal where orjson would change a value), prepared chunks come back
pickled (pickle shares the repeated field-name strings). multiprocessing is not
used: its spawn and forkserver methods re-import the caller's ``__main__``
(re-running scripts without a main guard), and fork would copy the caller's
open SQLite transaction. If the helper cannot start or dies, the remaining
chunks are prepared in-process: the result is the same, only slower.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import queue
import select
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from . import jsonio
from .errors import DocumentJsonError
from .indexing import index_rows

# (json_code, field names, blocks, values): index rows as parallel tuples, cheap to send and to map
Prepared = tuple[str, tuple[str, ...], tuple[str, ...], tuple[Any, ...]]
_IN_FLIGHT = 3  # chunks handed to the helper and not yet consumed: bounds memory
_READY = "ndicloud-prepare-helper/1"  # the helper's first frame: proves it is ours and running
_MAX_FRAME = 1 << 30  # a larger length header means the stream is not ours (e.g. stray output)
_READY_TIMEOUT_S = 60.0
_CHUNK_TIMEOUT_S = 300.0  # far above any real chunk; a silent helper is then given up on
_HEADER = 8
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from ndicloud.core.prepare import serve; serve()"
)


def prepare(properties: dict[str, Any]) -> Prepared:
    """The ``json_code`` text and the index rows (names, classes, values) of one document."""
    try:
        text = jsonio.dumps(properties)
    except DocumentJsonError as exc:
        raise DocumentJsonError(f"document {properties['base']['id']}: {exc}") from None
    names, blocks, values = zip(*index_rows(properties), strict=True)  # never empty: six meta rows
    return text, names, blocks, values


def prepare_chunk(chunk: list[dict[str, Any]]) -> list[Prepared]:
    return [prepare(properties) for properties in chunk]


def _write_frame(stream: IO[bytes], obj: Any) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(payload).to_bytes(_HEADER, "big"))
    stream.write(payload)
    stream.flush()


def _write_all(stream: IO[bytes], data: bytes) -> None:
    """Write everything: a raw (unbuffered) pipe may take only part of it per call."""
    view = memoryview(data)
    while view:
        written = stream.write(view)
        view = view[written or 0:]


def _read_exact(stream: IO[bytes], size: int, deadline: float | None) -> bytes:
    """Read ``size`` bytes; with a deadline, from an unbuffered pipe, giving up when it passes."""
    if deadline is None:
        data = stream.read(size)
        if len(data) < size:
            raise EOFError("helper stream closed")
        return data
    parts: list[bytes] = []
    remaining = size
    descriptor = stream.fileno()
    while remaining:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([descriptor], [], [], wait)[0]:
            raise TimeoutError("the helper did not answer in time")
        data = os.read(descriptor, min(remaining, 1 << 20))
        if not data:
            raise EOFError("helper stream closed")
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def _read_frame(stream: IO[bytes], loads: Callable[[bytes], Any] = pickle.loads, *,
                timeout: float | None = None) -> Any:
    deadline = None if timeout is None else time.monotonic() + timeout
    size = int.from_bytes(_read_exact(stream, _HEADER, deadline), "big")
    if size > _MAX_FRAME:
        raise ValueError(f"implausible frame of {size} bytes: the stream is not the helper's")
    return loads(_read_exact(stream, size, deadline))


def encode_chunk(chunk: list[dict[str, Any]]) -> bytes:
    """A chunk of documents for the helper: orjson bytes per document (fast to load there),
    the document itself, marshalled, where orjson would lose a value (NaN/Infinity become null)."""
    items: list[Any] = []
    for properties in chunk:
        try:
            text = orjson.dumps(properties)
        except TypeError:  # not plain JSON data (big integers, odd keys): marshal decides
            text = None
        items.append(text if text is not None and b"null" not in text else properties)
    return marshal.dumps(items)


def decode_chunk(frame: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(item) if type(item) is bytes else item for item in marshal.loads(frame)]


def serve() -> None:
    """The helper's loop: read chunks of document properties, write prepared chunks."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    _write_frame(sink, _READY)
    while True:
        try:
            chunk = _read_frame(source, decode_chunk)
        except EOFError:
            return
        try:
            result: Any = prepare_chunk(chunk)
        except Exception:  # noqa: BLE001 - the parent re-prepares the chunk itself to raise the real error
            result = None
        _write_frame(sink, result)


class _Helper:
    """One helper process.

    This thread encodes and decodes frames; a writer thread only copies bytes into the
    helper's stdin (a system call, run without the GIL), so the pipes cannot
    deadlock and no thread holds the GIL for long while SQLite works.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT.format(root=_PACKAGE_ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,  # unbuffered stdout: select() on its descriptor then tells the truth
        )
        self.ready = False
        self.outbox: queue.Queue[bytes | None] = queue.Queue()  # bounded by the caller's in-flight limit
        self.alive = True
        self.writer = threading.Thread(target=self._write, name="ndi-prepare-writer", daemon=True)
        self.writer.start()

    def _write(self) -> None:
        stream = self.process.stdin
        assert stream is not None
        while (payload := self.outbox.get()) is not None:
            try:
                _write_all(stream, len(payload).to_bytes(_HEADER, "big") + payload)
            except OSError:  # broken pipe: the helper is gone; result() notices the EOF
                break
        with contextlib.suppress(OSError):
            stream.close()

    def submit(self, chunk: list[dict[str, Any]]) -> bool:
        if not self.alive:
            return False
        try:
            self.outbox.put(encode_chunk(chunk))
        except ValueError:  # a value marshal cannot carry (not plain JSON data): prepare it here
            return False
        return True

    def result(self) -> list[Prepared] | None:
        """The next prepared chunk, or None when the helper failed on it (or is gone, or silent)."""
        if not self.alive:
            return None
        assert self.process.stdout is not None
        try:
            if not self.ready:
                if _read_frame(self.process.stdout, timeout=_READY_TIMEOUT_S) != _READY:
                    raise ValueError("the helper did not introduce itself")
                self.ready = True
            return _read_frame(self.process.stdout, timeout=_CHUNK_TIMEOUT_S)
        except (EOFError, OSError, TimeoutError, ValueError, MemoryError, pickle.UnpicklingError):
            # Whatever went wrong, this process prepares the rest itself.
            self.alive = False
            self.process.kill()
            return None

    def close(self, *, abort: bool = False) -> None:
        """Finish: let the helper drain and exit, or (``abort``) stop it at once.

        After an error nobody reads the helper's remaining results, so it may be
        blocked writing them; waiting for it would hang.
        """
        if abort:
            self.process.kill()
        self.outbox.put(None)
        self.writer.join(timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _start_helper() -> _Helper | None:
    """A helper process, or None where it cannot help (one core) or cannot start."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or getattr(sys, "frozen", False) or not sys.executable or os.name == "nt":
        return None  # nothing to overlap with, no interpreter to start, or no select() on pipes
    try:
        return _Helper()
    except OSError:
        return None


def _properties(chunk: list[Any]) -> list[dict[str, Any]]:
    return [doc.properties for doc in chunk]


def prepared_chunks(
    chunks: Iterable[list[Any]], *, parallel: bool = True
) -> Iterator[tuple[list[Any], list[Prepared]]]:
    """Yield ``(chunk, prepared)`` in input order for chunks of Documents.

    The first chunk is prepared here while the helper starts; the helper is
    started only when a second chunk arrives, so small adds never pay for it.
    (Sharing chunks between this process and the helper was measured: no faster,
    since this process is busy inserting when the helper falls behind.)
    """
    iterator = iter(chunks)
    first = next(iterator, None)
    if first is None:
        return
    second = next(iterator, None)
    helper = _start_helper() if parallel and second is not None else None
    if helper is None:
        rest = iterator if second is None else _prepend(second, iterator)
        for chunk in _prepend(first, rest):
            yield chunk, prepare_chunk(_properties(chunk))
        return
    finished = False
    try:
        pending: deque[tuple[list[Any], bool]] = deque()  # (chunk, handed to the helper)

        def submit(chunk: list[Any]) -> None:
            pending.append((chunk, helper.submit(_properties(chunk))))

        def take() -> tuple[list[Any], list[Prepared]]:
            chunk, sent = pending.popleft()
            prepared = helper.result() if sent else None
            return chunk, prepared if prepared is not None else prepare_chunk(_properties(chunk))

        submit(second)
        yield first, prepare_chunk(_properties(first))
        for chunk in iterator:
            submit(chunk)
            if len(pending) >= _IN_FLIGHT:
                yield take()
        while pending:
            yield take()
        finished = True
    finally:
        helper.close(abort=not finished)


def _prepend(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest
