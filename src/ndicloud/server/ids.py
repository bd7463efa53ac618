"""Cloud ids shaped like MongoDB ObjectIds: 24 hex digits, creation time first."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time

_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
_PROCESS = secrets.token_bytes(5)
_counter = itertools.count(secrets.randbelow(1 << 24))
_lock = threading.Lock()


def object_id() -> str:
    """A new 24-hex id: 4 bytes of seconds, 5 random bytes of this process, a 3-byte counter."""
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return (int(time.time()).to_bytes(4, "big") + _PROCESS + count.to_bytes(3, "big")).hex()


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and _OBJECT_ID.match(value) is not None


def utc_timestamp(seconds: float | None = None) -> str:
    """ISO 8601 UTC with milliseconds and Z, as the real service writes timestamps."""
    now = time.time() if seconds is None else seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
