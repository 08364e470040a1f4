"""The hotline API as the bot sees it: an httpx AsyncClient with the service token, timeouts and retries.

Retries: connection failures and 502/503/504 are retried a few times. A POST is retried after the request may
have reached the API only when it carries an idempotency key (the API answers a repeated key with the first
result); without one, only failures before anything was sent are retried. Errors come out as ``ApiError``
(the API said no: status, code, Korean detail) or ``ApiUnavailable`` (the API could not be reached).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from api.contract import OutboxRecord, UpdateResult

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({502, 503, 504})


class ApiError(Exception):
    """The API answered with an error."""

    def __init__(self, status: int, code: str, detail: str, body: dict | None = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}


class ApiUnavailable(ApiError):
    """The API could not be reached (or kept failing with 5xx): try again later."""

    def __init__(self, reason: str):
        super().__init__(503, "unavailable", reason)


class ApiClient:
    """``base_url`` may name several API processes, comma-separated: a call that cannot reach one (or gets a
    502/503/504 from it) goes to the next at once, so an adapter outlives the API process it was talking to."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10, retries: int = 2,
                 retry_delay: float = 0.5, transport: httpx.AsyncBaseTransport | None = None):
        self.base_urls = [u.strip().rstrip("/") for u in base_url.split(",") if u.strip()]
        if not self.base_urls:
            raise ValueError("no API URL")
        self._current = 0
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5)),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "hotline-bot"}, transport=transport)
        self.retries = retries
        self.retry_delay = retry_delay

    @classmethod
    def from_settings(cls, settings) -> "ApiClient":
        return cls(settings.api_url, settings.service_token, timeout=settings.api_timeout,
                   retries=settings.api_retries, retry_delay=settings.api_retry_delay)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "ApiClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                      headers: dict[str, str] | None = None, idempotency_key: str | None = None) -> Any:
        """The decoded JSON body (None for 204); ``ApiError`` for 4xx/5xx, ``ApiUnavailable`` when unreachable.

        ``idempotency_key`` marks a POST as safe to repeat (the operation is idempotent, or the API dedupes it):
        it is sent as ``Idempotency-Key`` and lets the client retry after a timeout."""
        headers = dict(headers or {})
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        safe_to_repeat = method in ("GET", "PUT", "DELETE", "HEAD") or idempotency_key is not None
        attempt = 0
        failed_over = 0
        while True:
            attempt += 1
            url = self.base_urls[self._current] + path
            try:
                response = await self._http.request(method, url, json=json, params=params, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the API: always safe to try again.
                reason = f"{type(exc).__name__}: {exc}"
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if not safe_to_repeat:
                    raise ApiUnavailable(reason) from exc
            else:
                if response.status_code in RETRY_STATUSES:
                    reason = f"HTTP {response.status_code}"
                    if not safe_to_repeat:
                        raise _error_from(response, unavailable=True)
                else:
                    if response.status_code >= 400:
                        raise _error_from(response)
                    if response.status_code == 204 or not response.content:
                        return None
                    return response.json()
            if len(self.base_urls) > 1 and failed_over < len(self.base_urls) - 1:
                self._current = (self._current + 1) % len(self.base_urls)  # the next API process, at once
                failed_over += 1
                attempt -= 1
                log.info("API %s %s failed (%s); trying %s", method, path, reason, self.base_urls[self._current])
                continue
            failed_over = 0
            if attempt > self.retries:
                raise ApiUnavailable(reason)
            log.info("API %s %s failed (%s); retrying", method, path, reason)
            await asyncio.sleep(self.retry_delay * attempt)

    # --- channels --------------------------------------------------------------------------------------------------

    async def telegram_updates(self, updates: Sequence[dict], *, lease_seconds: float | None) -> UpdateResult:
        """Hand a batch of raw Telegram updates to the API (processed once each, in one transaction). Repeating
        the call is harmless: updates already processed come back as ``duplicates``."""
        body: dict[str, Any] = {"updates": list(updates)}
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        first = updates[0]["update_id"]
        result = await self.request("POST", "/api/v1/channels/telegram/updates", json=body,
                                    idempotency_key=f"updates-{first}-{len(updates)}")
        return UpdateResult.from_json(result)

    async def local_message(self, *, address: str, key: str, text: str | None = None, button: str | None = None,
                            display_name: str = "") -> list[OutboxRecord]:
        """A local terminal chat's message or pressed button; the replies (a repeated key gets the same ones)."""
        body: dict[str, Any] = {"address": address, "key": key, "display_name": display_name}
        if button is not None:
            body["button"] = button
        else:
            body["text"] = text
        result = await self.request("POST", "/api/v1/channels/local/messages", json=body, idempotency_key=key)
        return [OutboxRecord.from_json(r) for r in result]

    # --- the outbox ----------------------------------------------------------------------------------------------

    async def lease(self, *, channel: str, limit: int, lease_seconds: float,
                    address: str | None = None) -> list[OutboxRecord]:
        body: dict[str, Any] = {"channel": channel, "limit": limit, "lease_seconds": lease_seconds}
        if address is not None:
            body["address"] = address
        return [OutboxRecord.from_json(r) for r in await self.request("POST", "/api/v1/outbox/lease", json=body)]

    async def report(self, *, sent: Sequence[dict] = (), failed: Sequence[dict] = (),
                     released: Sequence[dict] = ()) -> dict:
        """Report delivered (``{"id", "message_id"}``), failed and released messages; repeating it is harmless."""
        body = {"sent": list(sent), "failed": list(failed), "released": list(released)}
        ids = sorted(item["id"] for part in body.values() for item in part)
        return await self.request("POST", "/api/v1/outbox/report", json=body,
                                  idempotency_key=f"report-{ids[0]}-{len(ids)}" if ids else None)


def _error_from(response: httpx.Response, *, unavailable: bool = False) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error") or f"http_{response.status_code}")
    detail = body.get("detail")
    if not isinstance(detail, str):
        detail = f"HTTP {response.status_code}"
    if unavailable:
        error = ApiUnavailable(detail)
        error.body = body
        return error
    return ApiError(response.status_code, code, detail, body)
