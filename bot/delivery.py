"""Delivering outbox messages: send each leased message through the channel, in each chat's order, and report it.

Messages come leased from the API (with an update's processing, or from the outbox drain). A chat's messages are
sent one after another; at its first failure the rest of that chat's are given back, so nothing overtakes it.
Different chats go out at the same time (up to ``concurrency``).

Reports (``Reporter``): every message the channel accepted is reported at once, and the ones accepted while a
report is on its way go together in the next call, so a process that dies leaves at most one report's round trip
of messages unreported (those are sent again once their lease runs out: the one window the channel's API leaves
open). A report the API cannot take is kept and retried (``HOTLINE_REPORT_RETRY_MAX`` seconds apart at most, so that it reaches the API as soon
as it is back, before another process could lease the message again); meanwhile a message leased again is not sent
twice by this process.

A message is sent only while its lease surely holds (``Deliverer``: the lease counted from before the request that
leased it, less a third for the send itself) and while the API takes this process's reports: what could not be
reported must not pile up, because once the lease runs out another process sends it again. A message that cannot
be sent under its lease is left alone, with the rest of its chat: it is leased again when the lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from api.contract import OutboxRecord
from bot.client import ApiClient, ApiUnavailable

log = logging.getLogger(__name__)

REMEMBER_SENT = 10_000


class SendFailed(Exception):
    """A send that did not happen. ``retry_after``: the channel's flood-control wait; ``permanent``: never retry."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


class ChannelUnreachable(SendFailed):
    """The request never reached the channel (connection refused, no route): it says nothing about the message,
    which is given back without spending one of its tries."""


# Sends one message; returns the channel's message id (None where there is none).
Sender = Callable[[OutboxRecord], Awaitable[int | None]]


class Reporter:
    """Reports to the API what became of leased messages, as soon as possible, coalescing what piles up."""

    def __init__(self, api: ApiClient, *, max_backoff: float = 2, on_reported: Callable[[], None] | None = None):
        self.api = api
        self.max_backoff = max_backoff
        self.on_reported = on_reported  # e.g. wake the drainer: the chats just reported may have more waiting
        self._pending: dict[str, list[dict[str, Any]]] = {"sent": [], "failed": [], "released": []}
        self._sent: OrderedDict[int, int | None] = OrderedDict()  # accepted by the channel, maybe not yet reported
        self._task: asyncio.Task | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.api_up = asyncio.Event()  # cleared while the API does not take reports
        self.api_up.set()

    def was_sent(self, message_id: int) -> bool:
        return message_id in self._sent

    def sent(self, record: OutboxRecord, channel_message_id: int | None) -> None:
        self._sent[record.id] = channel_message_id
        while len(self._sent) > REMEMBER_SENT:
            self._sent.popitem(last=False)
        self._add("sent", {"id": record.id, "message_id": channel_message_id})

    def failed(self, record: OutboxRecord, error: SendFailed) -> None:
        self._add("failed", {"id": record.id, "lease_token": record.lease_token, "error": str(error)[:4000],
                             "retry_after": error.retry_after, "permanent": error.permanent})

    def released(self, record: OutboxRecord, delay_seconds: float = 0) -> None:
        self._add("released", {"id": record.id, "lease_token": record.lease_token, "delay_seconds": delay_seconds})

    def _add(self, part: str, item: dict[str, Any]) -> None:
        self._pending[part].append(item)
        self._idle.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-reporter")

    async def _run(self) -> None:
        backoff = 0.2
        while any(self._pending.values()):
            batch, self._pending = self._pending, {"sent": [], "failed": [], "released": []}
            try:
                await self.api.report(**batch)
                backoff = 0.2
                self.api_up.set()
                if self.on_reported is not None:
                    self.on_reported()
            except ApiUnavailable as exc:
                self.api_up.clear()
                log.warning("outbox report not taken (%s); retrying in %.1f s", exc, backoff)
                for part, items in batch.items():  # kept, and first in line
                    self._pending[part][:0] = items
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception:  # a refused report (a bug): logged, not retried forever
                log.exception("outbox report refused: %s", batch)
        self._idle.set()

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything is reported (shutdown); False if ``timeout`` ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Deliverer:
    def __init__(self, send: Sender, reporter: Reporter, *, concurrency: int = 16, lease_seconds: float = 30):
        self.send = send
        self.reporter = reporter
        self.lease_seconds = lease_seconds
        self._slots = asyncio.Semaphore(concurrency)

    async def deliver(self, records: Sequence[OutboxRecord], *, leased_at: float | None = None) -> None:
        """Send leased ``records``: each chat's in order, chats at the same time. ``leased_at``: the monotonic time
        before the request that leased them (default now). Raises ``ChannelUnreachable`` (after giving back what
        was not sent) when the channel could not be reached at all."""
        start = time.monotonic() if leased_at is None else leased_at
        deadline = start + self.lease_seconds * 2 / 3  # the last third of the lease is the send's own
        chats: dict[int, list[OutboxRecord]] = {}
        for record in records:
            chats.setdefault(record.chat_id, []).append(record)
        results = await asyncio.gather(*(self._chat(chat, deadline) for chat in chats.values()),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _may_send(self, deadline: float) -> bool:
        """Whether a send may start now: the lease holds, and the API takes reports (waiting for it while the
        lease holds)."""
        if not self.reporter.api_up.is_set():
            try:
                await asyncio.wait_for(self.reporter.api_up.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return False
        return time.monotonic() < deadline

    async def _chat(self, records: list[OutboxRecord], deadline: float) -> None:
        async with self._slots:
            for index, record in enumerate(records):
                if self.reporter.was_sent(record.id):
                    continue  # sent by this process before; its report is on its way
                if not await self._may_send(deadline):
                    log.warning("outbox %s and the %d after it in its chat left to their lease (it runs out: the "
                                "API was unreachable or the channel slow)", record.id, len(records) - index - 1)
                    return
                try:
                    message_id = await self.send(record)
                except ChannelUnreachable as exc:  # a wait, not one of its tries; the rest untried
                    self.reporter.failed(record, SendFailed(str(exc), retry_after=0))
                    for rest in records[index + 1:]:
                        self.reporter.released(rest)
                    raise
                except SendFailed as exc:
                    log.warning("outbox %s to %s failed: %s", record.id, record.address, exc)
                    self.reporter.failed(record, exc)
                    for rest in records[index + 1:]:  # they must not overtake it
                        self.reporter.released(rest)
                    return
                self.reporter.sent(record, message_id)


class Drainer:
    """Leases due messages of one channel (or one address) and delivers them, until stopped; ``wake`` makes it
    look at once (new messages were queued)."""

    def __init__(self, api: ApiClient, deliverer: Deliverer, *, channel: str, address: str | None = None,
                 batch: int = 20, lease_seconds: float = 30, interval: float = 1.0, max_backoff: float = 30):
        self.api = api
        self.deliverer = deliverer
        self.channel = channel
        self.address = address
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.interval = interval
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        asked = time.monotonic()
        records = await self.api.lease(channel=self.channel, limit=self.batch, lease_seconds=self.lease_seconds,
                                       address=self.address)
        await self.deliverer.deliver(records, leased_at=asked)
        return len(records)

    async def run(self, stop: asyncio.Event) -> None:
        wait = self.interval
        while not stop.is_set():
            try:
                handled = await self.drain_once()
                wait = self.interval
            except (ApiUnavailable, ChannelUnreachable) as exc:
                log.warning("outbox drain: %s; waiting %.1f s", exc, wait)
                handled = 0
                wait = min(wait * 2, self.max_backoff)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox drain failed")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            done, pending = await asyncio.wait(waits, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
