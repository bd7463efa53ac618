"""ndiquery's ``regexp`` on the server, under a time limit.

A pattern that backtracks without end (``(a*)*b`` against a long name) would hold the server for hours: Python's
``re`` cannot be interrupted. The ``regex`` module (in its default, ``re``-compatible mode) can: each search gets
what is left of the query's time, and a query that runs out fails with a clear error instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import regex

_limits = threading.local()  # each query runs on one thread, with its own deadline


class RegexTimeout(Exception):
    """A query's regular expressions took longer than its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Searches on this thread inside the block share ``seconds`` between them."""
    _limits.deadline = time.monotonic() + seconds
    _limits.expired = False
    try:
        yield
    finally:
        _limits.deadline = None


def expired() -> bool:
    """Whether the last time limit on this thread ran out (the SQL error then hides the reason)."""
    return bool(getattr(_limits, "expired", False))


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def regex_function(value: Any, pattern: Any) -> str | None:
    """SQL ``regex(value, pattern)``: the first match of an unanchored search, else NULL (as the core's)."""
    if value is None or pattern is None:
        return None
    text = value if isinstance(value, str) else str(value)
    deadline = getattr(_limits, "deadline", None)
    timeout = None if deadline is None else deadline - time.monotonic()
    if timeout is not None and timeout <= 0:
        _limits.expired = True
        raise RegexTimeout("regular expression search out of time")
    try:
        match = _compiled(str(pattern)).search(text, timeout=timeout)
    except TimeoutError:
        _limits.expired = True
        raise RegexTimeout("regular expression search out of time") from None
    return match.group(0) if match else None
