"""One ``Matcher`` per API process, built from the published revisions and the synonyms.

The matcher sees the current entries only; the history entries (earlier years' rules, ``Entry.history_of``)
are kept beside it as a ``knowledge.years.History`` of the same build (``MatcherCache.history``), for the
answer that names a year.

The cache polls a cheap version stamp (``changes.kb_stamp``: counts and maxima of ``kb_events``,
``kb_synonyms`` and ``kb_revisions``) at most every ``CHECK_INTERVAL`` seconds, so every process of a
deployment picks up a change made in any other within a few seconds. A change made in this process
(``changes.notify_changed``, called by every KB write) makes it poll on each request for the next interval,
so the process that saved an entry serves it as soon as the change is committed.

The rebuild runs off the event loop (``asyncio.to_thread``); while it runs, other requests keep using
the previous matcher. ``warm_up`` builds it at startup so the first question is fast. ``current(open_session)``
is ``get`` for a caller without a session of its own (``/ask``): it opens one only when the stamp is due a check.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.kb.changes import changed_within, kb_stamp
from api.kb.entries import published_entries
from api.kb.synonyms import synonyms_map
from knowledge.heap import freeze_heap
from knowledge.matcher import Matcher
from knowledge.years import History, matchable

log = logging.getLogger(__name__)

CHECK_INTERVAL = 3.0
T = TypeVar("T")

# Matching holds the GIL nearly all the time (Kiwi's analysis included), so more threads would not match faster;
# one thread keeps the event loop free and costs one thread's memory, not a pool's.
MATCH_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matcher")


async def in_match_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` (matching, or anything that matches) on the matching thread, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(MATCH_THREAD, functools.partial(function, *args, **kwargs))

class MatcherCache:
    def __init__(self, *, check_interval: float = CHECK_INTERVAL) -> None:
        self.check_interval = check_interval
        self._matcher: Matcher | None = None
        self._history = History()
        self._stamp: tuple | None = None
        self._checked_at = float("-inf")
        self._lock: asyncio.Lock | None = None
        self.builds = 0

    @property
    def matcher(self) -> Matcher | None:
        return self._matcher

    @property
    def history(self) -> History:
        """The history entries of the published KB the current matcher was built from."""
        return self._history

    def _fresh_enough(self, now: float) -> bool:
        if self._matcher is None:
            return False
        if changed_within(self.check_interval, now=now):  # this process changed the KB just now
            return False
        return now - self._checked_at < self.check_interval

    async def current(self, open_session: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> Matcher:
        """The current matcher; a session is opened (``open_session``) only when the version is due a check."""
        if self._fresh_enough(time.monotonic()):
            return self._matcher  # type: ignore[return-value]
        async with open_session() as session:
            return await self.get(session)

    async def get(self, session: AsyncSession) -> Matcher:
        """The current matcher, rebuilt first when the KB changed (read through ``session``)."""
        now = time.monotonic()
        if self._fresh_enough(now):
            return self._matcher  # type: ignore[return-value]
        if self._matcher is not None:
            self._checked_at = now  # requests arriving during this check use the current matcher meanwhile
        stamp = await kb_stamp(session)
        self._checked_at = now
        if self._matcher is not None and stamp == self._stamp:
            return self._matcher
        if self._lock is None:
            self._lock = asyncio.Lock()
        if self._lock.locked() and self._matcher is not None:
            return self._matcher  # another request is rebuilding: serve the previous version meanwhile
        async with self._lock:
            if self._matcher is not None and stamp == self._stamp:
                return self._matcher
            entries = await published_entries(session)
            synonyms = await synonyms_map(session)
            started = time.perf_counter()
            matcher = await asyncio.to_thread(Matcher, matchable(entries), synonyms)
            self._matcher, self._history, self._stamp = matcher, History.of(entries), stamp
            self.builds += 1
            freeze_heap()
            log.info("knowledge matcher built: %d entries (%d history), %d synonym terms in %.2fs", len(entries),
                     len(entries) - len(matcher.entries), len(synonyms), time.perf_counter() - started)
        return matcher


def get_cache(app: Any) -> MatcherCache:
    cache = getattr(app.state, "kb_matcher_cache", None)
    if cache is None:
        cache = app.state.kb_matcher_cache = MatcherCache()
    return cache


async def warm_up(app: Any) -> None:
    """Build the matcher at startup (loads Kiwi too). A database without the KB tables only logs a warning."""
    try:
        async with app.state.sessionmaker() as session:
            await get_cache(app).get(session)
    except Exception as exc:  # startup must not fail because the KB cannot be read yet
        log.warning("knowledge matcher not warmed up: %s", exc)
