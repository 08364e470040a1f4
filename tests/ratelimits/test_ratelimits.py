"""Rate limits: in memory for one process, shared through Redis by several (``HOTLINE_REDIS_URL``)."""

from __future__ import annotations

import socket
import uuid

import pytest

from api.ratelimits import RateLimits, storage_uri

REDIS = ("127.0.0.1", 6379)


def redis_running() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(REDIS) == 0


async def test_a_chat_is_warned_once_then_dropped_until_its_window_passes():
    limits = RateLimits(chat_messages=3, chat_window_seconds=60)
    verdicts = [await limits.chat_flood("telegram", 42) for _ in range(6)]
    assert verdicts == ["ok", "ok", "ok", "warn", "drop", "drop"]
    assert await limits.chat_flood("telegram", 43) == "ok"  # per chat
    assert await limits.chat_flood("kakao", 42) == "ok"  # per channel


async def test_questions_per_ip_say_how_long_to_wait():
    limits = RateLimits(ask_per_minute=2)
    assert [(await limits.ask_by_ip("10.0.0.1")).allowed for _ in range(3)] == [True, True, False]
    refused = await limits.ask_by_ip("10.0.0.1")
    assert not refused.allowed and 1 <= refused.retry_after <= 60
    assert (await limits.ask_by_ip("10.0.0.2")).allowed


def test_storage_uris():
    assert storage_uri(None) == "async+memory://"
    assert storage_uri("redis://127.0.0.1:6379/0") == "async+redis://127.0.0.1:6379/0"


@pytest.mark.skipif(not redis_running(), reason="Redis is not running on 127.0.0.1:6379")
async def test_two_processes_share_one_count_through_redis():
    """Two RateLimits objects are two API processes: through Redis they count together (in memory, each alone)."""
    url = "redis://127.0.0.1:6379/0"
    first = RateLimits(redis_url=url, ask_per_minute=3)
    second = RateLimits(redis_url=url, ask_per_minute=3)
    ip = f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"  # a key of this test's own
    allowed = [(await limiter.ask_by_ip(ip)).allowed for limiter in (first, second, first, second)]
    assert allowed == [True, True, True, False]
    alone = [RateLimits(ask_per_minute=3), RateLimits(ask_per_minute=3)]
    assert [(await limiter.ask_by_ip(ip)).allowed for limiter in (*alone, *alone)] == [True] * 4


@pytest.mark.skipif(not redis_running(), reason="Redis is not running on 127.0.0.1:6379")
async def test_the_web_chats_limits_per_session_and_per_address_hold_across_processes():
    url = "redis://127.0.0.1:6379/0"
    first, second = (RateLimits(redis_url=url, web_session_per_minute=2, web_ip_per_minute=3) for _ in range(2))
    session, ip = f"session-{uuid.uuid4().hex}", f"198.51.100.{uuid.uuid4().hex[:8]}"
    assert [(await p.web_by_session(session)).allowed for p in (first, second, first)] == [True, True, False]
    assert [(await p.web_by_ip(ip)).allowed for p in (first, second, first, second)] == [True, True, True, False]
    verdict = await second.web_by_ip(ip)
    assert not verdict.allowed and 1 <= verdict.retry_after <= 60


async def test_an_unreachable_redis_lets_requests_through():
    limits = RateLimits(redis_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert (await limits.ask_by_ip("10.0.0.9")).allowed
    assert await limits.chat_flood("telegram", 1) == "ok"
