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
from urllib.parse import quote

import httpx

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
    def __init__(self, base_url: str, token: str, *, timeout: float = 10, retries: int = 2,
                 retry_delay: float = 0.5, transport: httpx.AsyncBaseTransport | None = None):
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout, connect=min(timeout, 5)),
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
        while True:
            attempt += 1
            try:
                response = await self._http.request(method, path, json=json, params=params, headers=headers)
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
                    if not safe_to_repeat or attempt > self.retries:
                        raise _error_from(response, unavailable=True)
                else:
                    if response.status_code >= 400:
                        raise _error_from(response)
                    if response.status_code == 204 or not response.content:
                        return None
                    return response.json()
            if attempt > self.retries:
                raise ApiUnavailable(reason)
            log.info("API %s %s failed (%s); retrying", method, path, reason)
            await asyncio.sleep(self.retry_delay * attempt)

    # --- conversation state and update claims -------------------------------------------------------------------

    async def get_conversation(self, chat_id: int) -> dict:
        return await self.request("GET", f"/api/v1/conversations/{chat_id}")

    async def save_conversation(self, chat_id: int, state: dict, version: int) -> dict:
        return await self.request("PUT", f"/api/v1/conversations/{chat_id}", json={"state": state, "version": version})

    async def claim_update(self, update_id: int, claimer: str, *, chat_id: int | None = None,
                           completed: Sequence[int] = ()) -> dict:
        """The claim: ``claimed`` true means process the update now. With ``chat_id`` a successful claim carries
        the chat's ``conversation`` and ``open_ticket``; ``completed`` (updates this claimer finished) are recorded
        done in the same call. The same claimer may repeat the call safely."""
        body: dict[str, Any] = {"claimer": claimer}
        if chat_id is not None:
            body["chat_id"] = chat_id
        if completed:
            body["completed"] = list(completed)
        return await self.request("POST", f"/api/v1/telegram/updates/{update_id}/claim", json=body,
                                  idempotency_key=f"claim-{update_id}")

    async def complete_update(self, update_id: int) -> None:
        await self.request("POST", f"/api/v1/telegram/updates/{update_id}/done", idempotency_key=f"done-{update_id}")

    async def complete_updates(self, update_ids: Sequence[int]) -> None:
        """Record several updates done (at most 100); repeating the call is harmless."""
        ids = list(update_ids)
        await self.request("POST", "/api/v1/telegram/updates/done", json={"update_ids": ids},
                           idempotency_key=f"done-{ids[0]}-{len(ids)}")

    # --- knowledge --------------------------------------------------------------------------------------------------

    async def ask(self, text: str, *, chat_id: int, key: str = "") -> dict:
        return await self.request("POST", "/api/v1/ask", json={"text": text, "chat_id": chat_id},
                                  idempotency_key=f"ask-{key}" if key else None)

    async def ask_feedback(self, ask_log_id: int, *, helpful: bool) -> dict:
        return await self.request("POST", f"/api/v1/ask/{ask_log_id}/feedback", json={"helpful": helpful},
                                  idempotency_key=f"feedback-{ask_log_id}-{int(helpful)}")

    async def kb_entry(self, entry_id: str) -> dict:
        return await self.request("GET", f"/api/v1/kb/entries/{quote(entry_id, safe='')}")

    # --- centres and tickets ----------------------------------------------------------------------------------------

    async def resolve_address(self, address: str) -> dict:
        return await self.request("GET", "/api/v1/centers/resolve", params={"address": address})

    async def create_ticket(self, *, chat_id: int, text: str, address: str, company_name: str | None = None,
                            business_number: str | None = None, ask_log_id: int | None = None,
                            display_name: str | None = None, key: str = "") -> dict:
        body = {"chat_id": chat_id, "text": text, "address": address, "company_name": company_name,
                "business_number": business_number, "ask_log_id": ask_log_id, "display_name": display_name}
        # The API folds the same chat + text within minutes into one ticket, so repeating the call is safe.
        return await self.request("POST", "/api/v1/tickets", json={k: v for k, v in body.items() if v is not None},
                                  idempotency_key=f"ticket-{chat_id}-{key or 'x'}")

    async def chat_tickets(self, chat_id: int, *, limit: int = 20) -> list[dict]:
        return await self.request("GET", f"/api/v1/chats/{chat_id}/tickets", params={"limit": limit})

    async def append_owner_message(self, chat_id: int, *, text: str | None, attachment: dict | None = None,
                                   key: str = "") -> dict:
        """The owner's follow-up on their open ticket; ``ApiError`` 404 (``no_open_ticket``) when there is none."""
        body: dict[str, Any] = {"text": text}
        if attachment is not None:
            body["attachment"] = attachment
        return await self.request("POST", f"/api/v1/chats/{chat_id}/messages", json=body,
                                  idempotency_key=f"followup-{key}" if key else None)

    async def rate_ticket(self, chat_id: int, ticket_id: int, rating: int, *, comment: str | None = None) -> dict:
        body: dict[str, Any] = {"rating": rating}
        if comment is not None:
            body["comment"] = comment
        # Rating again replaces the rating: repeating the call is harmless.
        return await self.request("POST", f"/api/v1/chats/{chat_id}/tickets/{ticket_id}/rating", json=body,
                                  idempotency_key=f"rate-{chat_id}-{ticket_id}-{rating}")

    # --- staff acting through Telegram (service token + the acting member's Telegram id) ----------------------------

    def _acting(self, telegram_user_id: int) -> dict[str, str]:
        return {"X-Acting-Telegram-User-Id": str(telegram_user_id)}

    async def staff_claim(self, telegram_user_id: int, ticket_id: int) -> dict:
        return await self.request("POST", f"/api/v1/tickets/{ticket_id}/claim",
                                  headers=self._acting(telegram_user_id), idempotency_key=f"claim-t{ticket_id}")

    async def staff_reply(self, telegram_user_id: int, ticket_id: int, body: str) -> dict:
        return await self.request("POST", f"/api/v1/tickets/{ticket_id}/replies", json={"body": body},
                                  headers=self._acting(telegram_user_id))

    async def staff_resolve(self, telegram_user_id: int, ticket_id: int) -> dict:
        return await self.request("POST", f"/api/v1/tickets/{ticket_id}/resolve",
                                  headers=self._acting(telegram_user_id), idempotency_key=f"resolve-t{ticket_id}")

    async def ticket_for_post(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a message the bot posted in ``chat_id`` was about (None: not a ticket post)."""
        result = await self.request("GET", "/api/v1/outbox/posts", params={"chat_id": chat_id,
                                                                            "message_id": message_id})
        return result.get("ticket_id")

    async def link_staff(self, telegram_user_id: int, code: str) -> dict:
        return await self.request("POST", "/api/v1/telegram/staff-links",
                                  json={"telegram_user_id": telegram_user_id, "code": code})

    async def link_group(self, telegram_user_id: int, chat_id: int, center_code: str | None) -> dict:
        return await self.request("POST", "/api/v1/telegram/group-links",
                                  json={"telegram_user_id": telegram_user_id, "chat_id": chat_id,
                                        "center_code": center_code})

    # --- outbox ---------------------------------------------------------------------------------------------------

    async def lease_outbox(self, *, limit: int, lease_seconds: float, chat_id: int | None = None) -> list[dict]:
        body: dict[str, Any] = {"limit": limit, "lease_seconds": lease_seconds}
        if chat_id is not None:
            body["chat_id"] = chat_id
        return await self.request("POST", "/api/v1/outbox/lease", json=body)

    async def outbox_sent(self, message_id: int, telegram_message_id: int | None) -> dict:
        return await self.request("POST", f"/api/v1/outbox/{message_id}/sent",
                                  json={"telegram_message_id": telegram_message_id},
                                  idempotency_key=f"outbox-sent-{message_id}")

    async def outbox_failed(self, message_id: int, lease_token: str, error: str, *, retry_after: float | None = None,
                            permanent: bool = False) -> dict:
        return await self.request("POST", f"/api/v1/outbox/{message_id}/failed",
                                  json={"lease_token": lease_token, "error": error[:4000], "retry_after": retry_after,
                                        "permanent": permanent})

    async def outbox_release(self, message_id: int, lease_token: str, delay_seconds: float = 0) -> None:
        await self.request("POST", f"/api/v1/outbox/{message_id}/release",
                           json={"lease_token": lease_token, "delay_seconds": delay_seconds})


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
