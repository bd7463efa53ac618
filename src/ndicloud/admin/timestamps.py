"""Deposit versions: UTC ``yyyyMMddHHmmss`` numbers that only ever grow (doi.md §3.2).

Crossref keeps a record's highest timestamp and refuses a deposit that is not larger, so within a process each
value is larger than the last one issued (``+1`` when the clock has not moved on or went back), and a caller can
demand a value above a known one (the previous receipt's).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

_lock = threading.Lock()
_last = 0


def utc_stamp(moment: datetime | None = None) -> int:
    """``moment`` (default now) in UTC as the 14-digit number ``yyyyMMddHHmmss``."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return int(moment.strftime("%Y%m%d%H%M%S"))


def next_timestamp(*, above: int | None = None) -> int:
    """A deposit timestamp larger than any this process issued before, and than ``above`` when given."""
    global _last
    with _lock:
        value = max(utc_stamp(), _last + 1, (above or 0) + 1)
        _last = value
        return value
