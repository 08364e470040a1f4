"""The tickets' part of retention: resolved tickets lose their personal data once the retention period is over.

``api.retention`` runs it with every other domain's part; this module owns what a ticket keeps and what it loses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.privacy import ANONYMISED_TEXT
from api.tickets.models import Ticket, TicketEvent, TicketMessage

# The keys of ``ticket_events.data`` that hold staff free text, which may name people or carry phone numbers:
# the resolve note (``resolved``) and the transfer and reopen reasons (``transferred``, ``reopened``). Anywhere
# in an anonymised ticket's events (nested too) their values become ``ANONYMISED_TEXT``. Every other key is a
# code, an id, a date, a count or a flag and stays for the statistics. An event that gains a free-text field
# must add its key here.
EVENT_FREE_TEXT_KEYS = frozenset({"note", "reason"})


def redact_event_data(data: Any) -> Any:
    """``data`` with the value of every free-text key (``EVENT_FREE_TEXT_KEYS``, at any depth) replaced by
    ``ANONYMISED_TEXT``; empty values (None, "") stay as they are, and so does everything else."""
    if isinstance(data, dict):
        return {key: ANONYMISED_TEXT if key in EVENT_FREE_TEXT_KEYS and value not in (None, "")
                else redact_event_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact_event_data(value) for value in data]
    return data


async def anonymise_resolved(session: AsyncSession, *, resolved_before: datetime, now: datetime, batch: int,
                             older_than_days: int) -> list[int]:
    """Remove the personal data of up to ``batch`` tickets resolved before ``resolved_before``: the question and
    the conversation, the address below the 시군구, the contact name, phone and business number, the rating
    comment, and the staff free text in the audit trail (``EVENT_FREE_TEXT_KEYS`` of the events' data; the
    ``ticket_events`` triggers allow that edit, and only that one, once the ticket is anonymised). What remains
    (centre, region, dates, rating, the events with their codes, ids and dates) keeps the statistics; an
    ``anonymised`` event records the run. Returns the ids of the tickets anonymised."""
    ids = list((await session.scalars(
        select(Ticket.id).where(Ticket.status == "resolved", Ticket.resolved_at < resolved_before,
                                Ticket.anonymised_at.is_(None)).order_by(Ticket.id).limit(batch))).all())
    if not ids:
        return []
    await session.execute(
        update(Ticket).where(Ticket.id.in_(ids))
        .values(text=ANONYMISED_TEXT, address="", company_name=None, business_number=None, contact_name=None,
                phone=None, rating_comment=None, anonymised_at=now)
        .execution_options(synchronize_session=False))
    await session.execute(update(TicketMessage).where(TicketMessage.ticket_id.in_(ids))
                          .values(body=ANONYMISED_TEXT, attachment=None)
                          .execution_options(synchronize_session=False))
    # After the tickets are marked: the triggers let an event's data change only once its ticket is anonymised.
    events = (await session.execute(select(TicketEvent.id, TicketEvent.data)
                                    .where(TicketEvent.ticket_id.in_(ids)))).all()
    redacted = [{"event_id": event_id, "clean": clean} for event_id, data in events
                if (clean := redact_event_data(data)) != data]
    if redacted:
        await session.execute(update(TicketEvent.__table__).where(TicketEvent.id == bindparam("event_id"))
                              .values(data=bindparam("clean")), redacted)
    for ticket_id in ids:
        session.add(TicketEvent(ticket_id=ticket_id, at=now, kind="anonymised", actor_type="system",
                                data={"older_than_days": older_than_days}))
    await session.flush()
    return ids
