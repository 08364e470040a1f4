"""Recording processed updates as done, in batches rather than one request per update.

An update this process finished waits here until the API has recorded it. The next claim carries it
(``completed``: recorded in the claim's transaction, no request of its own); an update no claim took within
``delay`` seconds (the bot is idle) is recorded by a timer through ``POST /telegram/updates/done``. Whatever
the API could not record stays and goes with the next claim or tick (the API being down loses nothing).

While an update waits here its claim is still "processing" at the API under this process's claimer, and that
claimer would get it again: a redelivered update this process finished is recognised here (``finished``)
and skipped, so it is never processed twice. Nothing here matters after a crash: the API keeps the claim for
the dead process until it is stale, so no other process takes the update meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.client import ApiClient, ApiError

log = logging.getLogger(__name__)

MAX_BATCH = 100  # the API's limit per request (api.conversations.service.MAX_COMPLETED)


class Completions:
    def __init__(self, api: ApiClient, *, delay: float = 0.5, batch: int = MAX_BATCH, max_backoff: float = 30):
        self.api = api
        self.delay = delay
        self.batch = min(batch, MAX_BATCH)
        self.max_backoff = max_backoff
        self._waiting: dict[int, float] = {}  # update id -> when it was finished (monotonic), oldest first
        self._sending: set[int] = set()  # on their way to the API in a request not answered yet
        self._task: asyncio.Task | None = None
        self._closed = False

    def add(self, update_id: int) -> None:
        """``update_id`` is processed: record it done soon (starts the timer on first use)."""
        self._waiting.setdefault(update_id, time.monotonic())
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def finished(self, update_id: int) -> bool:
        """True when this process finished ``update_id`` and the API may not know it yet."""
        return update_id in self._waiting or update_id in self._sending

    def pending(self) -> int:
        return len(self._waiting) + len(self._sending)

    def take(self, *, older_than: float = 0) -> list[int]:
        """Up to ``batch`` waiting ids (finished at least ``older_than`` seconds ago), now "sending": pass them to
        ``sent`` or ``failed`` when the request is answered."""
        if not self._waiting:
            return []
        cutoff = time.monotonic() - older_than
        ids = []
        for update_id, at in self._waiting.items():
            if at > cutoff or len(ids) == self.batch:
                break
            ids.append(update_id)
        for update_id in ids:
            del self._waiting[update_id]
        self._sending.update(ids)
        return ids

    def sent(self, ids: list[int]) -> None:
        self._sending.difference_update(ids)

    def failed(self, ids: list[int]) -> None:
        """Not recorded: they wait again (first in line)."""
        self._sending.difference_update(ids)
        self._waiting = {**dict.fromkeys(ids, 0.0), **self._waiting}

    async def flush(self, *, older_than: float = 0) -> bool:
        """Record the waiting ids (finished at least ``older_than`` seconds ago); False when the API refused or
        could not be reached (they wait for the next try)."""
        while True:
            ids = self.take(older_than=older_than)
            if not ids:
                return True
            try:
                await self.api.complete_updates(ids)
            except ApiError as exc:
                self.failed(ids)
                log.warning("could not record %d processed updates as done (retried later): %s", len(ids), exc)
                return False
            except BaseException:
                self.failed(ids)
                raise
            self.sent(ids)

    async def _run(self) -> None:
        pause = self.delay
        while True:
            await asyncio.sleep(pause)
            pause = self.delay if await self.flush(older_than=self.delay) else min(pause * 2, self.max_backoff)

    async def aclose(self) -> None:
        """Stop the timer and record what is left (best effort: the API may be gone)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()
