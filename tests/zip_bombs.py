"""Zips whose entries expand far beyond their compressed size, written a megabyte at a time (never whole in
memory), for the zip-bomb guards of the server and the client."""

from __future__ import annotations

import io
import zipfile

BOMB_BYTES = 100_000_000  # above the 64 MiB floor under which entries may compress as well as they like
MEGABYTE = 1 << 20


def bomb_zip(name: str, size: int = BOMB_BYTES, fill: bytes = b" ", *, head: bytes = b"", tail: bytes = b"") -> bytes:
    """A deflated zip of one entry: ``head``, ``size`` bytes of ``fill``, ``tail``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open(name, "w", force_zip64=True) as entry:
        entry.write(head)
        left = size
        block = fill * (MEGABYTE // len(fill))
        while left > 0:
            entry.write(block[:left])
            left -= len(block)
        entry.write(tail)
    return buffer.getvalue()
