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


class RegexFailure(Exception):
    """A query's regular expression could not be used: out of time, or not a pattern this engine reads."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Searches on this thread inside the block share ``seconds`` between them."""
    _limits.seconds = seconds
    _limits.deadline = time.monotonic() + seconds
    _limits.failure = None
    try:
        yield
    finally:
        _limits.deadline = None


def failure() -> str | None:
    """Why a regular expression failed the last search on this thread (the SQL error hides it), or None."""
    return getattr(_limits, "failure", None)


def _fail(reason: str) -> RegexFailure:
    _limits.failure = reason
    return RegexFailure(reason)


def _out_of_time() -> RegexFailure:
    return _fail(f"the query's regular expressions took longer than {_limits.seconds:g} s; simplify them "
                 "(nested repetition such as (a|aa)+ backtracks without end)")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def regex_function(value: Any, pattern: Any) -> str | None:
    """SQL ``regex(value, pattern)``: the first match of an unanchored search, else NULL (as the core's)."""
    if value is None or pattern is None:
        return None
    text = value if isinstance(value, str) else str(value)
    try:
        compiled = _compiled(str(pattern))
    except regex.error as exc:  # read by re when the query was compiled, yet not by this engine
        raise _fail(f"invalid regular expression {pattern!r}: {exc}") from None
    deadline = getattr(_limits, "deadline", None)
    timeout = None if deadline is None else deadline - time.monotonic()
    if timeout is not None and timeout <= 0:
        raise _out_of_time()
    try:
        match = compiled.search(text, timeout=timeout)
    except TimeoutError:
        raise _out_of_time() from None
    return match.group(0) if match else None
