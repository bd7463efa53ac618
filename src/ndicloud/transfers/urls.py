"""Presigned URLs are short-lived: fetched just before use, and replaced when one expires on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..api import TransferError

Result = TypeVar("Result")
URL_ATTEMPTS = 3


def with_fresh_url(get_url: Callable[[], str], use: Callable[[str], Result], attempts: int = URL_ATTEMPTS) -> Result:
    """``use(get_url())``, asking for a new URL when storage refuses one as expired (403), a few times."""
    for attempt in range(attempts):
        url = get_url()
        try:
            return use(url)
        except TransferError as exc:
            if exc.status != 403 or attempt + 1 == attempts:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises
