"""Request and response bodies of the ticket endpoints."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from api.companies.validation import format_business_number
from api.tickets import texts
from api.tickets import base as tickets_base
from api.tickets import queue as tickets_queue
from api.tickets.models import Ticket

# Telegram chat ids and database ids are 64-bit; anything outside is refused as input (422), never a 500.
ChatId = Annotated[int, Field(ge=-(2**63) + 1, le=2**63 - 1)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc) if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


# Every time in a response is UTC ("…Z"/"+00:00"), whatever zone the service computed it in.
Utc = Annotated[datetime, AfterValidator(_to_utc)]


class TicketCreate(BaseModel):
    chat_id: ChatId
    # Lengths are checked by the service with a clear Korean message; these bounds only stop absurd payloads.
    text: str = Field(max_length=100_000)
    address: str = Field(max_length=10_000)
    company_name: str | None = Field(default=None, max_length=10_000)
    business_number: str | None = Field(default=None, max_length=100)
    contact_name: str | None = Field(default=None, max_length=10_000)
    phone: str | None = Field(default=None, max_length=100)
    ask_log_id: RowId | None = None
    display_name: str | None = Field(default=None, max_length=1_000, description="the owner's Telegram name")


class ReplyIn(BaseModel):
    body: str = Field(max_length=100_000)


class TransferIn(BaseModel):
    center: str = Field(max_length=32, description="the receiving centre's code, e.g. busan")
    reason: str = Field(max_length=10_000)


class ResolveIn(BaseModel):
    note: str | None = Field(default=None, max_length=10_000)
    entry_id: str | None = Field(default=None, max_length=100,
                                 description="the knowledge-base entry the answer came from: the owner's question "
                                             "becomes a suggested paraphrase of it")


class ReopenIn(BaseModel):
    reason: str | None = Field(default=None, max_length=10_000)






class CenterRef(BaseModel):
    code: str
    name: str
    phone: str | None = None


class StaffRef(BaseModel):
    id: int
    display_name: str


class RegionOut(BaseModel):
    sido: str | None
    sigungu: str | None


class TicketOut(BaseModel):
    id: int
    number: str
    status: str
    status_label: str
    center: CenterRef
    chat_id: int
    company_id: int | None
    company_name: str | None
    region: RegionOut
    excerpt: str
    assignee: StaffRef | None
    created_at: Utc
    updated_at: Utc
    first_response_due: Utc
    resolution_due: Utc
    first_responded_at: Utc | None
    resolved_at: Utc | None
    overdue_at: Utc | None
    overdue: bool
    rating: int | None

    @classmethod
    def of(cls, ticket: Ticket, *, center_code: str, center_name: str, center_phone: str | None = None,
           assignee_name: str | None, now: datetime, **extra) -> "TicketOut":
        assignee = (StaffRef(id=ticket.assignee_id, display_name=assignee_name or "")
                    if ticket.assignee_id is not None else None)
        return cls(id=ticket.id, number=ticket.number, status=ticket.status,
                   status_label=texts.STATUS_LABELS[ticket.status],
                   center=CenterRef(code=center_code, name=center_name, phone=center_phone),
                   chat_id=ticket.chat_id, company_id=ticket.company_id, company_name=ticket.company_name,
                   region=RegionOut(sido=ticket.region_sido, sigungu=ticket.region_sigungu),
                   excerpt=texts.excerpt(ticket.text), assignee=assignee, created_at=ticket.created_at,
                   updated_at=ticket.updated_at, first_response_due=ticket.first_response_due,
                   resolution_due=ticket.resolution_due, first_responded_at=ticket.first_responded_at,
                   resolved_at=ticket.resolved_at, overdue_at=ticket.overdue_at,
                   overdue=tickets_base.is_overdue(ticket, now), rating=ticket.rating, **extra)


class TicketCreatedOut(TicketOut):
    acknowledgement: str = Field(description="the owner's receipt in Korean: number, centre, when a person answers")
    duplicate: bool = Field(description="true when this is an earlier ticket with the same text (200, not 201)")


class QueuePageOut(BaseModel):
    items: list[TicketOut]
    total: int = Field(description="matching tickets, counted up to 10,000")
    total_capped: bool = Field(description="true when more than 10,000 tickets match (total is then 10,000)")
    limit: int
    offset: int


class MessageOut(BaseModel):
    id: int
    direction: str
    author: StaffRef | None
    body: str
    attachment: dict[str, Any] | None
    created_at: Utc


class EventOut(BaseModel):
    id: int
    at: Utc
    kind: str
    actor_type: str
    actor: StaffRef | None
    data: dict[str, Any]


class AskLogOut(BaseModel):
    id: int
    created_at: Utc
    text: str
    outcome: str
    entry_id: str | None
    topic: str | None
    score: float
    candidates: list[Any]


class CompanyOut(BaseModel):
    id: int
    name: str
    business_number: str | None
    address: str


class TicketDetailOut(TicketOut):
    text: str
    address: str
    business_number: str | None
    contact_name: str | None
    phone: str | None
    company: CompanyOut | None
    rating_comment: str | None
    rated_at: Utc | None
    ask_log: AskLogOut | None
    messages: list[MessageOut]
    events: list[EventOut]

    @classmethod
    def of_detail(cls, d: tickets_queue.TicketDetail, *, now: datetime) -> "TicketDetailOut":
        t = d.ticket

        def ref(staff_id: int | None) -> StaffRef | None:
            return StaffRef(id=staff_id, display_name=d.staff_names.get(staff_id, "")) if staff_id else None

        company = (CompanyOut(id=d.company.id, name=d.company.name, address=d.company.address,
                              business_number=format_business_number(d.company.business_number)
                              if d.company.business_number else None) if d.company else None)
        ask_log = (AskLogOut(id=d.ask_log.id, created_at=d.ask_log.created_at, text=d.ask_log.text,
                             outcome=d.ask_log.outcome, entry_id=d.ask_log.entry_id, topic=d.ask_log.topic,
                             score=d.ask_log.score, candidates=list(d.ask_log.candidates or []))
                   if d.ask_log else None)
        return cls.of(t, center_code=d.center.code, center_name=d.center.name, center_phone=d.center.phone,
                      assignee_name=d.assignee_name, now=now, text=t.text, address=t.address,
                      business_number=format_business_number(t.business_number) if t.business_number else None,
                      contact_name=t.contact_name, phone=t.phone, company=company,
                      rating_comment=t.rating_comment, rated_at=t.rated_at, ask_log=ask_log,
                      messages=[MessageOut(id=m.id, direction=m.direction, author=ref(m.author_id), body=m.body,
                                           attachment=m.attachment, created_at=m.created_at) for m in d.messages],
                      events=[EventOut(id=e.id, at=e.at, kind=e.kind, actor_type=e.actor_type,
                                       actor=ref(e.actor_id), data=e.data or {}) for e in d.events])


class ReplyOut(BaseModel):
    message: MessageOut
    ticket: TicketOut



