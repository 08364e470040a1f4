"""The bot's API client: retries only where repeating is safe, and clear errors."""

from __future__ import annotations

import httpx
import pytest

from bot.client import ApiClient, ApiError, ApiUnavailable

UPDATE = {"update_id": 5, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}


def client_with(handler) -> ApiClient:
    return ApiClient("http://api.test", "tok", retries=2, retry_delay=0, transport=httpx.MockTransport(handler))


async def test_sends_the_service_token_and_decodes_the_result():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"processed": [5], "duplicates": [], "actions": [], "messages": [
            {"id": 9, "channel": "telegram", "address": "1", "chat_id": 1, "text": "답", "kind": "reply",
             "buttons": [[{"text": "👍", "data": "fb:up:1", "url": None}]], "ticket_id": None, "reply_to": None,
             "lease_token": "t"}]})

    async with client_with(handler) as api:
        result = await api.telegram_updates([UPDATE], lease_seconds=30)
    assert result.processed == (5,) and result.messages[0].buttons[0][0].data == "fb:up:1"
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert seen[0].url.path == "/api/v1/channels/telegram/updates"


async def test_connect_errors_are_retried_then_unavailable():
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    async with client_with(handler) as api:
        with pytest.raises(ApiUnavailable):
            await api.lease(channel="telegram", limit=5, lease_seconds=30)
    assert len(calls) == 3  # nothing reached the API: safe to repeat even a POST


async def test_calls_that_may_have_arrived_are_repeated_only_when_repeating_is_harmless():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    async with client_with(handler) as api:
        with pytest.raises(ApiUnavailable):
            await api.lease(channel="telegram", limit=5, lease_seconds=30)  # a lease taken twice is lost time
        assert len(calls) == 1
        with pytest.raises(ApiUnavailable):
            await api.telegram_updates([UPDATE], lease_seconds=30)  # processed once whatever happens: retried
        assert len(calls) == 4
        with pytest.raises(ApiUnavailable):
            await api.report(sent=[{"id": 1, "message_id": 2}])  # recording "sent" twice is harmless
        assert len(calls) == 7
    assert "Idempotency-Key" in calls[-1].headers


async def test_5xx_is_retried_for_safe_calls_and_4xx_is_an_api_error():
    answers = iter([httpx.Response(502), httpx.Response(503),
                    httpx.Response(200, json={"processed": [], "duplicates": [5], "messages": [], "actions": []})])

    async with client_with(lambda request: next(answers)) as api:
        assert (await api.telegram_updates([UPDATE], lease_seconds=None)).duplicates == (5,)

    def refuse(request):
        return httpx.Response(422, json={"error": "validation_error", "detail": "채널이 올바르지 않습니다."})

    async with client_with(refuse) as api:
        with pytest.raises(ApiError) as caught:
            await api.lease(channel="fax", limit=1, lease_seconds=30)
    assert caught.value.status == 422 and caught.value.code == "validation_error"
    assert caught.value.detail == "채널이 올바르지 않습니다." and not isinstance(caught.value, ApiUnavailable)


async def test_several_api_processes_a_call_fails_over_at_once():
    seen = []

    def handler(request):
        seen.append(request.url.host)
        if request.url.host == "api-1.test":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=[])

    api = ApiClient("http://api-1.test, http://api-2.test/", "tok", retries=0, retry_delay=0,
                    transport=httpx.MockTransport(handler))
    async with api:
        assert await api.lease(channel="telegram", limit=1, lease_seconds=30) == []
        assert await api.lease(channel="telegram", limit=1, lease_seconds=30) == []  # stays on the one that works
    assert seen == ["api-1.test", "api-2.test", "api-2.test"]
