"""Paging through lists (cloud-api §3.6): one page in memory at a time, stopping at a short page or the total."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

Item = TypeVar("Item")
MAX_PAGES = 1000
MAX_PAGE_SIZE = 1000
TOTAL_KEYS = ("number_matches", "totalItems", "totalNumber")


def page_params(page: int, page_size: int) -> dict[str, int]:
    if page < 1 or page_size < 1:
        raise ValueError(f"page and page_size must be at least 1 (got {page}, {page_size})")
    return {"page": page, "pageSize": min(page_size, MAX_PAGE_SIZE)}


def total_of(body: Any) -> int | None:
    """The first total the body reports, in the order the reference reads them."""
    if isinstance(body, dict):
        for key in TOTAL_KEYS:
            value = body.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def walk_pages(fetch: Callable[[int], tuple[list[Item], int | None]], page_size: int,
               total: int | None = None) -> Iterator[Item]:
    """Yield the items of pages 1, 2, ... from ``fetch(page) -> (items, total)``.

    Stops after a short or empty page, once ``total`` items have been seen (the given total, else the first one
    a page reports), or after MAX_PAGES pages.
    """
    page_size = min(page_size, MAX_PAGE_SIZE)
    seen = 0
    for page in range(1, MAX_PAGES + 1):
        if total is not None and seen >= total:
            return
        items, reported = fetch(page)
        if total is None:
            total = reported
        yield from items
        seen += len(items)
        if len(items) < page_size:
            return
