"""Rate limits that hold across processes: anonymous questions per IP, owners' messages per chat (every channel),
and what channels add (the web chat per session and per IP).

Counted with the ``limits`` library in a moving window: in this process's memory by default (one process, the
embedded set-up), in Redis when ``HOTLINE_REDIS_URL`` is set, so that N API processes share one count instead of
allowing N times the limit. If Redis cannot be reached the request is let through (and a warning logged): a rate
limit must not take the hotline down with it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds, when not allowed


def storage_uri(redis_url: str | None) -> str:
    """The ``limits`` storage for a Redis URL (``redis://host:6379/0``), or process memory without one."""
    if not redis_url:
        return "async+memory://"
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


class RateLimits:
    def __init__(self, *, redis_url: str | None = None, ask_per_minute: int = 30, chat_messages: int = 12,
                 chat_window_seconds: int = 30, web_session_per_minute: int = 20, web_ip_per_minute: int = 60):
        self.storage = storage_from_string(storage_uri(redis_url))
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.ask = RateLimitItemPerMinute(ask_per_minute)
        self.chat = RateLimitItemPerSecond(chat_messages, chat_window_seconds)
        self.chat_warning = RateLimitItemPerSecond(1, chat_window_seconds)
        self.web_session = RateLimitItemPerMinute(web_session_per_minute)
        self.web_ip = RateLimitItemPerMinute(web_ip_per_minute)
        self.shared = bool(redis_url)

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Verdict:
        """Count one event of ``identifiers`` against ``item``."""
        try:
            if await self.limiter.hit(item, *identifiers):
                return Verdict(True)
            stats = await self.limiter.get_window_stats(item, *identifiers)
        except Exception as exc:  # the shared store is down: let it through rather than refuse everyone
            log.warning("rate limit store unavailable (%s); not limiting", exc)
            return Verdict(True)
        return Verdict(False, max(1, math.ceil(stats.reset_time - time.time())))

    async def ask_by_ip(self, ip: str) -> Verdict:
        return await self.hit(self.ask, "ask", ip)

    async def web_by_session(self, address: str) -> Verdict:
        """A message in a web chat session."""
        return await self.hit(self.web_session, "web-session", address)

    async def web_by_ip(self, ip: str) -> Verdict:
        """Any web chat request from an address (new sessions, messages, history, live updates)."""
        return await self.hit(self.web_ip, "web-ip", ip)

    async def chat_flood(self, channel: str, chat_id: int) -> Literal["ok", "warn", "drop"]:
        """An owner's message: within the chat's limit; or the first one over it (a polite warning is due); or
        one of the rest of the burst (dropped without a word: a warning each would be a flood of its own)."""
        if (await self.hit(self.chat, "chat", channel, str(chat_id))).allowed:
            return "ok"
        return "warn" if (await self.hit(self.chat_warning, "chat-warned", channel, str(chat_id))).allowed else "drop"
