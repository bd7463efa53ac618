"""Bytes on disk under the data directory, addressed by keys the server makes (never by client paths).

Writes stream to a temporary file, are flushed to the disk and renamed into place, so a reader never sees
half an object and an acknowledged PUT survives a power cut (as S3's 200 promises).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)+$")  # keys are made by the server


class ObjectTooLarge(Exception):
    """The body of a PUT passed the storage size limit."""


def valid_key(key: str) -> bool:
    return _KEY.match(key) is not None and ".." not in key.split("/")


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
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise ObjectTooLarge(f"object larger than {max_bytes} bytes")
                    handle.write(chunk)
                handle.flush()
                await anyio.to_thread.run_sync(os.fsync, handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return size

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
