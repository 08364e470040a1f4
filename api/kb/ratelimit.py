"""A per-key sliding-window rate limit kept in this process's memory (anonymous ``/ask`` per IP).

Each API process counts on its own: with N workers an IP can make up to N times the limit. That is
enough to stop a script hammering the public endpoint; the bot (service token) is never limited.
"""

from __future__ import annotations

import math
import time
from collections import deque


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float = 60.0, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float | None = None) -> int | None:
        """Count one request of ``key``; ``None`` when allowed, else the seconds to wait (Retry-After)."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._prune(now)
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(self.window - (now - hits[0])))
        hits.append(now)
        return None

    def _prune(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # still full of active keys: forget the oldest half
            for key in sorted(self._hits, key=lambda k: self._hits[k][-1])[: self.max_keys // 2]:
                del self._hits[key]
