"""Draining the outbox: lease due messages from the API, send each one, report it sent or failed.

Never lose: a message stays in the API until it is reported sent; a failed send is reported (Telegram's
``retry_after`` is passed on, other failures back off in the API), and a crashed drainer's lease runs out.
While Telegram cannot be reached at all (``TelegramUnreachable``: the request never left) the message is handed
back without spending one of its tries, the rest of the batch is released, and the drainer waits (doubling
up to 30 s) before it tries Telegram again, so an outage of any length loses nothing.
Never duplicate: a message Telegram accepted is remembered here until the API has recorded it, so a lost
"sent" report is retried instead of the message being sent again, and the API never leases a sent message.
Order and per-group limits are the API's job (one pending message per chat at a time; 20 a minute per group).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.client import ApiClient, ApiError, ApiUnavailable

log = logging.getLogger(__name__)

REMEMBER_SENT = 10_000


class SendFailed(Exception):
    """A send that did not happen. ``retry_after``: Telegram's flood-control wait; ``permanent``: never retry."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    chat_id: int
    text: str
    buttons: list | None
    kind: str
    ticket_id: int | None


class TelegramUnreachable(SendFailed):
    """The send never reached Telegram (connection refused, no route, connect timeout): it says nothing about
    the message, so it is not counted as one of the message's tries."""


# Sends one message; returns the Telegram message id (or None where there is none: a terminal, or a send Telegram
# may have taken without its answer arriving).
Sender = Callable[[OutgoingMessage], Awaitable[int | None]]


class OutboxDrainer:
    def __init__(self, api: ApiClient, send: Sender, *, batch: int = 20, lease_seconds: float = 60,
                 interval: float = 1.0, chat_id: int | None = None):
        self.api = api
        self.send = send
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.interval = interval
        self.chat_id = chat_id
        # outbox id -> Telegram message id, for messages Telegram accepted (the API may not know yet).
        self._sent: OrderedDict[int, int | None] = OrderedDict()
        self._unreported: dict[int, int | None] = {}

    async def drain_once(self) -> int:
        """Report what is pending, lease one batch and send it; the number of messages handled."""
        await self._report_pending()
        leased = await self.api.lease_outbox(limit=self.batch, lease_seconds=self.lease_seconds, chat_id=self.chat_id)
        for index, row in enumerate(leased):
            try:
                await self._deliver(row)
            except TelegramUnreachable:
                await self._release(leased[index + 1:])  # untried: due again as soon as Telegram answers
                raise
        return len(leased)

    async def _release(self, rows: list[dict]) -> None:
        for row in rows:
            try:
                await self.api.outbox_release(row["id"], row["lease_token"])
            except ApiError as exc:
                log.warning("could not give outbox %s back (its lease runs out instead): %s", row["id"], exc)

    async def _deliver(self, row: dict) -> None:
        message = OutgoingMessage(id=row["id"], chat_id=row["chat_id"], text=row["text"], buttons=row.get("buttons"),
                                  kind=row.get("kind") or "message", ticket_id=row.get("ticket_id"))
        if message.id in self._sent:
            # Sent before, but the API never heard: report again instead of sending twice.
            await self._report_sent(message.id, self._sent[message.id])
            return
        try:
            telegram_id = await self.send(message)
        except SendFailed as exc:
            log.warning("outbox %s to %s failed: %s", message.id, message.chat_id, exc)
            unreachable = isinstance(exc, TelegramUnreachable)
            try:
                # An unreachable Telegram is reported as a wait (not one of the message's tries), due at once:
                # this drainer waits before its next lease, and another bot process may get through.
                await self.api.outbox_failed(message.id, row["lease_token"], str(exc),
                                             retry_after=0 if unreachable else exc.retry_after,
                                             permanent=exc.permanent)
            except ApiError as report_error:
                # The lease runs out and the message is retried anyway; nothing is lost.
                log.warning("could not report outbox %s failure: %s", message.id, report_error)
            if unreachable:
                raise
            return
        self._remember(message.id, telegram_id)
        await self._report_sent(message.id, telegram_id)

    def _remember(self, outbox_id: int, telegram_id: int | None) -> None:
        self._sent[outbox_id] = telegram_id
        self._sent.move_to_end(outbox_id)
        while len(self._sent) > REMEMBER_SENT:
            self._sent.popitem(last=False)

    async def _report_sent(self, outbox_id: int, telegram_id: int | None) -> None:
        try:
            await self.api.outbox_sent(outbox_id, telegram_id)
        except ApiUnavailable as exc:
            log.warning("could not report outbox %s sent (will retry): %s", outbox_id, exc)
            self._unreported[outbox_id] = telegram_id
            return
        except ApiError as exc:
            log.error("the API refused outbox %s sent: %s", outbox_id, exc)
        self._unreported.pop(outbox_id, None)

    async def _report_pending(self) -> None:
        for outbox_id, telegram_id in list(self._unreported.items()):
            await self._report_sent(outbox_id, telegram_id)
            if outbox_id in self._unreported:
                raise ApiUnavailable("the API is still unreachable")

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until ``stop`` is set: straight on while there is work, every ``interval`` seconds otherwise,
        backing off while the API or Telegram is unreachable."""
        idle_wait = self.interval
        while not stop.is_set():
            try:
                handled = await self.drain_once()
                idle_wait = self.interval
            except (ApiUnavailable, TelegramUnreachable) as exc:
                where = "Telegram unreachable" if isinstance(exc, TelegramUnreachable) else "API unavailable"
                log.warning("outbox: %s (%s); waiting %.1f s", where, exc, idle_wait)
                handled = 0
                idle_wait = min(idle_wait * 2, 30)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox drain failed")
                handled = 0
            if handled:
                continue
            try:
                await asyncio.wait_for(stop.wait(), timeout=idle_wait)
            except TimeoutError:
                pass
