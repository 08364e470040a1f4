"""Messages to KakaoTalk owners that are not an answer (a staff reply, a transfer notice, a rating request) go out
through Kakao's Event API, from the outbox, inside the API process.

One Event API call per message: ``POST {HOTLINE_KAKAO_API_BASE_URL}/v2/bots/{bot id}/talk`` with ``Authorization:
KakaoAK {REST API key}``, the event name configured for the chatbot's event block, the owner's ``botUserKey``, the
message text as ``event.data.text`` and the outbox id as the parameter ``hotline_message``. An event block whose
reply is the skill shows the message with its buttons (``api.channels.kakao.SkillServer.answer``); a block with a
plain text reply shows the text. Kakao answers ``{"taskId": ..., "status": "SUCCESS"}`` when it accepts the event.
Every message sent costs the operator (Kakao bills each event message), so a message is never sent twice on
purpose:

- delivery uses the outbox's leases (``api.outbox.delivery.lease_due``): several API processes each run a
  deliverer, and a message is leased by one at a time; one chat's messages go out in order;
- a connection that could not be made (nothing was sent) and Kakao's server errors are retried with the outbox's
  backoff, up to ``HOTLINE_OUTBOX_MAX_ATTEMPTS``; Kakao's "too many requests" waits ``Retry-After``;
- a refusal (a 4xx, or a status other than ``SUCCESS``: the owner blocked the channel, the key is wrong, …) is
  final: the message is given up and the refusal recorded on its ticket, never retried;
- a request whose answer was lost (sent, then the connection failed) may have been accepted: it is not sent again,
  and is recorded on the ticket like a refusal, so staff can check with the owner.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.channels.kakao import EVENT_MESSAGE_PARAM
from api.contract import KAKAO, OutboxRecord
from api.db import utcnow, write_sessionmaker
from api.outbox import delivery
from api.outbox.models import OutboxMessage
from api.tickets.base import record_undelivered

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60.0  # longer than a send's timeout
BATCH = 20


@dataclass(frozen=True)
class Outcome:
    """What one Event API call did: ``sent``; or ``retry`` (nothing went out; after ``retry_after`` s when Kakao
    said so); or ``refused`` for good (``error`` says why)."""

    kind: str
    error: str = ""
    retry_after: float | None = None
    task_id: str | None = None


class EventApi:
    """Kakao's Event API: one call sends one message to one owner."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, rest_key: str, bot_id: str, event_name: str):
        self.http = http
        self.url = f"{base_url.rstrip('/')}/v2/bots/{bot_id}/talk"
        self.headers = {"Authorization": f"KakaoAK {rest_key}"}
        self.event_name = event_name

    def body(self, message: OutboxRecord) -> dict:
        return {"event": {"name": self.event_name, "data": {"text": message.text}},
                "user": [{"type": "botUserKey", "id": message.address}],
                "params": {EVENT_MESSAGE_PARAM: str(message.id)}}

    async def send(self, message: OutboxRecord) -> Outcome:
        try:
            response = await self.http.post(self.url, json=self.body(message), headers=self.headers,
                                            timeout=SEND_TIMEOUT_SECONDS)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return Outcome("retry", error=f"connect: {exc!r}")
        except httpx.HTTPError as exc:  # the request went out; whether Kakao took it is unknown
            return Outcome("refused", error=f"응답을 받지 못해 전달 여부를 알 수 없습니다 ({type(exc).__name__})")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 429:
            after = response.headers.get("retry-after", "")
            return Outcome("retry", error="429", retry_after=float(after) if after.isdigit() else 1.0)
        if response.status_code >= 500:
            return Outcome("retry", error=f"HTTP {response.status_code}")
        status = str(body.get("status", "")).upper() if isinstance(body, dict) else ""
        if response.status_code == 200 and status == "SUCCESS":
            return Outcome("sent", task_id=str(body.get("taskId") or ""))
        detail = body.get("message") if isinstance(body, dict) else None
        return Outcome("refused", error=f"카카오 거절: HTTP {response.status_code} {status} {detail or ''}".strip())


class KakaoDeliverer:
    """Drains the outbox's KakaoTalk messages through the Event API until stopped."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], api: EventApi, *,
                 policy: delivery.RetryPolicy, interval: float = 1.0, batch: int = BATCH):
        self.sessionmaker = write_sessionmaker(sessionmaker)
        self.api = api
        self.policy = policy
        self.interval = interval
        self.batch = batch
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                sent = await self.drain_once()
            except Exception:  # a database hiccup: try again after the pause
                log.exception("kakao: outbox drain failed")
                sent = 0
            if not sent:
                try:
                    await asyncio.wait_for(self.stopping.wait(), self.interval)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self.stopping.set()

    async def drain_once(self) -> int:
        """Lease what is due, deliver each chat's messages in order (chats side by side), report each message at
        once. Returns how many messages were leased."""
        async with self.sessionmaker() as session:
            leased = await delivery.lease_due(session, channel=KAKAO, limit=self.batch, lease_seconds=LEASE_SECONDS)
            await session.commit()
        chats: dict[int, list[OutboxRecord]] = defaultdict(list)
        for message in leased:
            chats[message.chat_id].append(message)
        await asyncio.gather(*(self._deliver_chat(messages) for messages in chats.values()))
        return len(leased)

    async def _deliver_chat(self, messages: list[OutboxRecord]) -> None:
        for index, message in enumerate(messages):
            outcome = await self.api.send(message)
            await self._report(message, outcome)
            if outcome.kind == "retry":  # the rest of the chat waits its turn
                await self._release(messages[index + 1:])
                return

    async def _report(self, message: OutboxRecord, outcome: Outcome) -> None:
        now = utcnow()
        async with self.sessionmaker() as session:
            if outcome.kind == "sent":
                await delivery.report(session, sent=[delivery.Sent(message.id)], policy=self.policy, now=now)
            else:
                await delivery.report(session, failed=[delivery.Failed(
                    message.id, message.lease_token or "", outcome.error, retry_after=outcome.retry_after,
                    permanent=outcome.kind == "refused")], policy=self.policy, now=now)
                status = await session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message.id))
                if status == "failed":  # refused, or out of tries: given up, and the ticket says so
                    log.warning("kakao: message %s given up: %s", message.id, outcome.error)
                    if message.ticket_id is not None:
                        await record_undelivered(session, ticket_id=message.ticket_id, channel=KAKAO,
                                                 kind=message.kind, error=outcome.error, at=now)
            await session.commit()

    async def _release(self, messages: list[OutboxRecord]) -> None:
        if messages:
            async with self.sessionmaker() as session:
                await delivery.report(session, released=[delivery.Released(m.id, m.lease_token or "")
                                                         for m in messages])
                await session.commit()
