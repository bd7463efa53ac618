"""Preparing documents for the database: MATLAB-style JSON text and index rows.

This is the Python-heavy half of adding documents (SQLite does the other half).
For large adds it runs in one helper process, so that on a machine with two or
more cores it overlaps with the inserts instead of queueing behind them; the
GIL rules out threads for this.

The helper is a plain ``python -c`` subprocess that imports only this module
and exchanges length-prefixed pickles over its pipes. multiprocessing is not
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
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from . import jsonio
from .indexing import IndexRow, index_rows

Prepared = tuple[str, list[IndexRow]]  # (json_code, index rows)
_IN_FLIGHT = 4  # chunks prepared or in preparation and not yet consumed: bounds memory
# Every n-th chunk is prepared in this process: inserting a chunk takes about 3/4 of the
# time its preparation takes, so the helper alone would keep this process waiting.
_LOCAL_SHARE = 4
_HEADER = 8
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from ndicloud.core.prepare import serve; serve()"
)


def prepare(properties: dict[str, Any]) -> Prepared:
    """The ``json_code`` text and the ``(field_name, class, value)`` rows of one document."""
    return jsonio.dumps(properties), index_rows(properties)


def prepare_chunk(chunk: list[dict[str, Any]]) -> list[Prepared]:
    return [prepare(properties) for properties in chunk]


def _write_frame(stream: IO[bytes], obj: Any) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(payload).to_bytes(_HEADER, "big"))
    stream.write(payload)
    stream.flush()


# Documents go to the helper with marshal (faster to load for plain JSON values); prepared
# chunks come back pickled (pickle shares the repeated field-name strings, marshal copies them).
def _read_frame(stream: IO[bytes], loads: Callable[[bytes], Any] = pickle.loads) -> Any:
    header = stream.read(_HEADER)
    if len(header) < _HEADER:
        raise EOFError("helper stream closed")
    size = int.from_bytes(header, "big")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("helper stream truncated")
    return loads(payload)


def serve() -> None:
    """The helper's loop: read chunks of document properties, write prepared chunks."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            chunk = _read_frame(source, marshal.loads)
        except EOFError:
            return
        try:
            result: Any = prepare_chunk(chunk)
        except Exception:  # noqa: BLE001 - the parent re-prepares the chunk itself to raise the real error
            result = None
        _write_frame(sink, result)


class _Helper:
    """One helper process.

    This thread pickles and unpickles; a writer thread only copies bytes into the
    helper's stdin (a system call, run without the GIL), so the pipes cannot
    deadlock and no thread holds the GIL for long while SQLite works.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT.format(root=_PACKAGE_ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.outbox: queue.Queue[bytes | None] = queue.Queue()  # bounded by the caller's in-flight limit
        self.alive = True
        self.writer = threading.Thread(target=self._write, name="ndi-prepare-writer", daemon=True)
        self.writer.start()

    def _write(self) -> None:
        stream = self.process.stdin
        assert stream is not None
        while (payload := self.outbox.get()) is not None:
            try:
                stream.write(len(payload).to_bytes(_HEADER, "big"))
                stream.write(payload)
                stream.flush()
            except OSError:  # broken pipe: the helper is gone; result() notices the EOF
                break
        with contextlib.suppress(OSError):
            stream.close()

    def submit(self, chunk: list[dict[str, Any]]) -> bool:
        if not self.alive:
            return False
        try:
            self.outbox.put(marshal.dumps(chunk))
        except ValueError:  # a value marshal cannot carry (not plain JSON data): prepare it here
            return False
        return True

    def result(self) -> list[Prepared] | None:
        """The next prepared chunk, or None when the helper failed on it (or is gone)."""
        if not self.alive:
            return None
        assert self.process.stdout is not None
        try:
            return _read_frame(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            self.alive = False
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
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return None
    try:
        return _Helper()
    except OSError:
        return None


def prepared_chunks(
    chunks: Iterable[list[Any]], *, parallel: bool = True
) -> Iterator[tuple[list[Any], list[Prepared]]]:
    """Yield ``(chunk, prepared)`` in order for chunks of Documents.

    The first chunk is prepared here; a helper process is started only when a
    second chunk arrives, so small adds never pay for it.
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
            yield chunk, prepare_chunk([d.properties for d in chunk])
        return
    finished = False
    try:
        pending: deque[tuple[list[Any], list[Prepared] | None, bool]] = deque()

        def submit(chunk: list[Any], count: int) -> None:
            if count % _LOCAL_SHARE == 0:  # this process takes its share while the helper works
                pending.append((chunk, prepare_chunk([d.properties for d in chunk]), False))
            else:
                pending.append((chunk, None, helper.submit([d.properties for d in chunk])))

        def take() -> tuple[list[Any], list[Prepared]]:
            chunk, prepared, sent = pending.popleft()
            if prepared is None:
                prepared = helper.result() if sent else None
            return chunk, prepared if prepared is not None else prepare_chunk([d.properties for d in chunk])

        submit(second, 1)
        # The main process prepares the first chunk itself while the helper starts up.
        yield first, prepare_chunk([d.properties for d in first])
        for count, chunk in enumerate(iterator, start=2):
            submit(chunk, count)
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
