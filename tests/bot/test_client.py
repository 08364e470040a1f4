"""The bot's API client: retries only where repeating is safe, and clear errors."""

from __future__ import annotations

import httpx
import pytest

from bot.client import ApiClient, ApiError, ApiUnavailable


def client_with(handler) -> ApiClient:
    return ApiClient("http://api.test", "tok", retries=2, retry_delay=0, transport=httpx.MockTransport(handler))


async def test_sends_the_service_token_and_decodes_json():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"chat_id": 5, "state": {}, "version": 0})

    async with client_with(handler) as api:
        assert (await api.get_conversation(5))["version"] == 0
    assert seen[0].headers["authorization"] == "Bearer tok" and seen[0].url.path == "/api/v1/conversations/5"


async def test_connect_errors_are_retried_then_unavailable():
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    async with client_with(handler) as api:
        with pytest.raises(ApiUnavailable):
            await api.ask("질문", chat_id=1)
    assert len(calls) == 3  # nothing reached the API: safe to repeat even a POST


async def test_a_post_that_may_have_arrived_is_not_repeated_without_a_key():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    async with client_with(handler) as api:
        with pytest.raises(ApiUnavailable):
            await api.staff_reply(1, 2, "답변")  # not idempotent: a second reply would be a duplicate
        assert len(calls) == 1
        with pytest.raises(ApiUnavailable):
            await api.create_ticket(chat_id=1, text="q", address="서울")  # the API folds repeats: retried
        assert len(calls) == 4
    assert "Idempotency-Key" in calls[-1].headers


async def test_5xx_is_retried_for_safe_calls_and_4xx_is_an_api_error():
    answers = iter([httpx.Response(502), httpx.Response(503),
                    httpx.Response(200, json={"chat_id": 1, "state": {"a": 1}, "version": 3})])

    async with client_with(lambda request: next(answers)) as api:
        assert (await api.get_conversation(1))["version"] == 3

    def refuse(request):
        return httpx.Response(422, json={"error": "unroutable_address", "detail": "주소를 찾지 못했습니다."})

    async with client_with(refuse) as api:
        with pytest.raises(ApiError) as caught:
            await api.resolve_address("어딘가")
    assert caught.value.status == 422 and caught.value.code == "unroutable_address"
    assert caught.value.detail == "주소를 찾지 못했습니다." and not isinstance(caught.value, ApiUnavailable)


async def test_acting_staff_header_is_sent():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"number": "SF-1"})

    async with client_with(handler) as api:
        await api.staff_claim(4242, 7)
    assert seen[0].headers["X-Acting-Telegram-User-Id"] == "4242" and seen[0].url.path == "/api/v1/tickets/7/claim"
