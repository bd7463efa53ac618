"""When and how long to wait before trying a request again (cloud-api §8, sync.md §8).

Transport errors, 429 (honouring ``Retry-After``) and 500/502/503/504 are retried a bounded number of times
with exponential backoff and full jitter. Which requests may be retried at all is the client's call: creating
POSTs never are, except when the connection was refused before anything was sent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    """``retries`` further attempts after the first, waiting ``base_s * 2**n`` (capped, full jitter)."""

    retries: int = 3
    base_s: float = 1.0
    cap_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (``attempt`` counts from 0)."""
        if retry_after:
            try:
                return min(self.cap_s, max(0.0, float(retry_after)))
            except ValueError:  # an HTTP date: fall back to backoff
                pass
        return self.rng.uniform(0, min(self.cap_s, self.base_s * (2 ** attempt)))

    def wait(self, attempt: int, retry_after: str | None = None) -> None:
        self.sleep(self.delay(attempt, retry_after))


@dataclass
class Backoff:
    """Polling intervals for waiters: ``first_s``, growing by ``factor`` up to ``cap_s``, for ``timeout_s`` in all."""

    first_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 30.0
    timeout_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def polls(self):
        """Yield before each poll; stops (returns) when the time is up. The first poll is immediate."""
        deadline = self.clock() + self.timeout_s
        interval = self.first_s
        yield
        while True:
            left = deadline - self.clock()
            if left <= 0:
                return
            self.sleep(min(interval, left))
            interval = min(self.cap_s, interval * self.factor)
            yield
