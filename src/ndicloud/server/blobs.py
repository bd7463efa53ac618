"""Bytes on disk under the data directory, addressed by keys the server makes (never by client paths).

Writes stream to a temporary file, are flushed to the disk and renamed into place, so a reader never sees
half an object and an acknowledged PUT survives a power cut (as S3's 200 promises).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio

# Keys are made by the server, in these shapes only: a file, a bulk-upload or bulk-download zip, the worker's
# staging. Each kind has a fixed depth, so no object's path is another one's folder, and every part is short.
_PART = r"[A-Za-z0-9_-]{1,128}"
_KEY = re.compile(rf"files/{_PART}/{_PART}|uploads/(?:documents|files)/{_PART}/{_PART}\.zip"
                  rf"|downloads/{_PART}/{_PART}\.zip|staging/{_PART}/(?:{_PART}|documents\.zip)")


WRITE_SIZE = 1 << 20


async def _write_on_thread(handle: BinaryIO, data: bytes) -> int:
    return await anyio.to_thread.run_sync(handle.write, data)


class ObjectTooLarge(Exception):
    """The body of a PUT passed the storage size limit."""


def valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


class BlobStore:
    """A directory of objects (``blobs/<key>``); another backend (S3) can replace it behind these methods."""

    def __init__(self, root: Path):
        self.root = root / "blobs"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not valid_key(key):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    async def write(self, key: str, chunks: AsyncIterator[bytes], max_bytes: int) -> int:
        """Stream ``chunks`` into the object (replacing it); returns the size. Nothing is kept on failure."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        size = 0
        try:
            with temporary.open("wb") as handle:
                # Disk writes run on a thread, a megabyte at a time, while the next megabyte arrives: a write
                # stalled by the kernel's writeback never stops the event loop from reading the socket.
                writing: asyncio.Task[int] | None = None
                buffer = bytearray()
                try:
                    async for chunk in chunks:
                        size += len(chunk)
                        if size > max_bytes:
                            raise ObjectTooLarge(f"object larger than {max_bytes} bytes")
                        buffer += chunk
                        if len(buffer) >= WRITE_SIZE:
                            if writing is not None:
                                await writing
                            writing = asyncio.create_task(_write_on_thread(handle, bytes(buffer)))
                            buffer.clear()
                    if writing is not None:
                        await writing
                    await _write_on_thread(handle, bytes(buffer))
                finally:
                    if writing is not None and not writing.done():  # the thread must be done before the close
                        await asyncio.wait([writing])
                    if writing is not None and writing.done() and not writing.cancelled():
                        writing.exception()  # retrieved: the failure that matters is already on its way
                handle.flush()
                await anyio.to_thread.run_sync(os.fsync, handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return size

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
