from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigIntPK, UTCDateTime, utcnow

STATUSES = ("open", "assigned", "resolved")

# Partial-index predicates. Queries must spell them the same way (see api.tickets.base) so that the
# planner can use the indexes: the active queue is a small part of the table once tickets pile up.
ACTIVE_PREDICATE = "status <> 'resolved'"
UNANSWERED_PREDICATE = "status <> 'resolved' AND first_responded_at IS NULL AND overdue_at IS NULL"
UNALERTED_PREDICATE = "status <> 'resolved' AND admin_alerted_at IS NULL"


# The queue's filters (mine/unassigned/overdue) read these; carried in the active-queue indexes (PostgreSQL
# INCLUDE), a page's total is counted from the index alone.
QUEUE_INCLUDE = ("assignee_id", "first_responded_at", "resolution_due")


def _partial(name: str, *columns: str, where: str, include: tuple[str, ...] = ()) -> Index:
    kwargs = {"postgresql_include": list(include)} if include else {}
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where), **kwargs)


class Ticket(Base):
    """An owner's question that the bot could not answer, in the queue of the company's regional centre."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'assigned', 'resolved')", name="status"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
        # A centre's queue by status, and every centre's (admins), in due order.
        Index("ix_tickets_queue", "center_id", "status", "first_response_due", "id"),
        Index("ix_tickets_status_due", "status", "first_response_due", "id"),
        # The default view: a centre's (or every centre's) tickets that are not resolved, in due order.
        _partial("ix_tickets_active_center_due", "center_id", "first_response_due", "id", where=ACTIVE_PREDICATE,
                 include=QUEUE_INCLUDE),
        _partial("ix_tickets_active_due", "first_response_due", "id", where=ACTIVE_PREDICATE, include=QUEUE_INCLUDE),
        # The scheduler's two sweeps.
        _partial("ix_tickets_unanswered_due", "first_response_due", where=UNANSWERED_PREDICATE),
        _partial("ix_tickets_unalerted_resolution_due", "resolution_due", where=UNALERTED_PREDICATE),
        Index("ix_tickets_chat_text", "chat_id", "text_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text, default="")
    region_sido: Mapped[str | None] = mapped_column(String(50))
    region_sigungu: Mapped[str | None] = mapped_column(String(50))
    company_name: Mapped[str | None] = mapped_column(String(200))
    business_number: Mapped[str | None] = mapped_column(String(10))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    ask_log_id: Mapped[int | None] = mapped_column(ForeignKey("ask_logs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    first_response_due: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_due: Mapped[datetime] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    admin_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketMessage(Base):
    """The conversation on a ticket: the owner's question and follow-ups, staff replies."""

    __tablename__ = "ticket_messages"
    __table_args__ = (CheckConstraint("direction IN ('owner', 'staff', 'system')", name="direction"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(Text)
    attachment: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketEvent(Base):
    """An append-only audit record: who did what to a ticket, when. Database triggers forbid deletes and every
    edit but one: the retention job redacting free text in ``data`` once the ticket is anonymised."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class SchedulerLease(Base):
    """A named lease on a periodic job: the process holding an unexpired lease is the one that runs it."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), default="")
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
