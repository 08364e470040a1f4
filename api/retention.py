"""Retention: personal data is kept for ``HOTLINE_RETENTION_DAYS`` (default three years), then removed.

One job over every domain, each removing its own data (``api.tickets.retention``, ``api.outbox.service``,
``api.kb.asklog``, ``api.kb.suggestions``, ``api.conversations.runner``, ``api.companies.service``,
``api.channels.web``); the scheduler runs it daily.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.channels.web import forget_idle as forget_idle_web_sessions
from api.companies.service import forget_stale
from api.conversations.runner import forget_idle, prune_claims
from api.db import utcnow
from api.kb.asklog import forget_old_questions
from api.kb.suggestions import forget_old_suggestions
from api.outbox.service import anonymise_for_tickets
from api.privacy import DEFAULT_RETENTION_DAYS
from api.tickets.retention import anonymise_resolved

CLAIMS_KEPT = timedelta(days=7)  # processed channel updates remembered this long (no channel redelivers later)


async def anonymise_old_tickets(session: AsyncSession, *, now: datetime | None = None,
                                older_than_days: int = DEFAULT_RETENTION_DAYS, batch: int = 500) -> int:
    """One batch of tickets resolved more than ``older_than_days`` ago: their personal data, and the outbox
    copies of their messages, removed. Returns how many tickets were anonymised."""
    now = (now or utcnow()).astimezone(timezone.utc)
    ids = await anonymise_resolved(session, resolved_before=now - timedelta(days=older_than_days), now=now,
                                   batch=batch, older_than_days=older_than_days)
    await anonymise_for_tickets(session, ticket_ids=ids)
    await session.flush()
    return len(ids)


async def forget_stale_personal_data(session: AsyncSession, *, now: datetime | None = None,
                                     older_than_days: int = DEFAULT_RETENTION_DAYS) -> dict[str, int]:
    """The personal data kept outside tickets, once untouched for the retention period: questions in the ask
    log and the phrasings suggested from them, conversation states, owner chats' display names, companies
    without live tickets. Returns how many rows
    of each kind were cleared."""
    now = (now or utcnow()).astimezone(timezone.utc)
    cutoff = now - timedelta(days=older_than_days)
    counts = {"ask_logs": await forget_old_questions(session, asked_before=cutoff),
              "suggestions": await forget_old_suggestions(session, created_before=cutoff),
              "conversations": await forget_idle(session, untouched_since=cutoff),
              "web_sessions": await forget_idle_web_sessions(session, untouched_since=cutoff)}
    counts.update(await forget_stale(session, untouched_since=cutoff))
    await prune_claims(session, processed_before=now - CLAIMS_KEPT)
    await session.flush()
    return counts


async def run_retention(sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime,
                        older_than_days: int) -> None:
    """The daily job: tickets in committed batches, then everything else."""
    async with sessionmaker() as session:
        while await anonymise_old_tickets(session, now=now, older_than_days=older_than_days):
            await session.commit()
        await forget_stale_personal_data(session, now=now, older_than_days=older_than_days)
        await session.commit()
