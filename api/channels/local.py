"""The local channel: ``hotline chat`` in a terminal, as a company owner, through the same conversation engine.

A message goes in, the conversation's replies come back in the response (recorded sent as they are handed over);
messages that come later (a staff member's answer) wait in the outbox for the terminal to lease them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from api.contract import LOCAL, OutboxRecord
from api.conversations import runner
from api.conversations.model import Incoming, Press, typed
from api.db import utcnow
from api.outbox.delivery import hand_over, records
from api.ratelimits import RateLimits
from api.sla import SlaPolicy


async def process_message(session: AsyncSession, *, address: str, key: str, text: str | None, button: str | None,
                          display_name: str, knowledge: runner.Knowledge, policy: SlaPolicy, max_text_chars: int,
                          limits: RateLimits | None = None, now: dt.datetime | None = None) -> list[OutboxRecord]:
    """The replies to one message (``text``) or pressed button (``button``); the same ones again for a ``key``
    already processed."""
    now = now or utcnow()
    if not await runner.claim(session, channel=LOCAL, keys=[key], now=now):
        stored = await runner.stored_replies(session, channel=LOCAL, keys=[key])
        return await records(session, ids=stored.get(key, []))
    event = Press(button) if button is not None else typed(text)
    update = runner.OwnerUpdate(key=key, address=address, incoming=Incoming(event=event, at=now,
                                                                            display_name=display_name))
    processed = await runner.process(session, channel=LOCAL, updates=[update], knowledge=knowledge, policy=policy,
                                     max_text_chars=max_text_chars, limits=limits, now=now)
    await runner.record_replies(session, channel=LOCAL, processed=processed)
    return await hand_over(session, ids=processed.outbox_ids, now=now)
