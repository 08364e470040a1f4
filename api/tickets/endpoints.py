"""Ticket endpoints: thin wrappers over ``api.tickets.service``.

- the bot (service token): create tickets, list a chat's tickets, append an owner's follow-up, rate;
- staff (bearer token): the queue, a ticket, claim / reply / transfer / resolve / reopen;
- the bot acting for a staff member whose Telegram account is linked (service token plus
  ``X-Acting-Telegram-User-Id``): claim / reply / resolve / reopen, under that member's scope and name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy import select

from api.auth.deps import (CurrentPrincipal, ServicePrincipal, SessionDep, StaffPrincipal, get_app_settings)
from api.centers.models import Center
from api.config import Settings
from api.db import utcnow
from api.errors import Forbidden, Unauthorized
from api.staff.models import Staff
from api.tickets import service
from api.tickets.schemas import (MessageOut, OwnerMessageIn, OwnerMessageOut, OwnerTicketOut, QueuePageOut,
                                 RatingIn, ReopenIn, ReplyIn, ReplyOut, ResolveIn, StaffRef, TicketCreate,
                                 TicketCreatedOut, TicketDetailOut, TicketOut, TransferIn)

router = APIRouter(prefix="/api/v1", tags=["tickets"])

ACTING_HEADER = "X-Acting-Telegram-User-Id"


def request_now() -> datetime:
    """The clock of a request (tests override this dependency to pin time)."""
    return utcnow()


NowDep = Annotated[datetime, Depends(request_now)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
TicketIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
ChatIdPath = Annotated[int, Path(ge=-(2**63) + 1, le=2**63 - 1)]


@dataclass(frozen=True)
class StaffActor:
    staff: Staff
    via: str  # "api" (console/API token) or "telegram" (the bot acting for a linked staff member)


async def staff_actor(principal: CurrentPrincipal, session: SessionDep,
                      acting: Annotated[int | None, Header(alias=ACTING_HEADER, ge=1, le=2**63 - 1)] = None
                      ) -> StaffActor:
    if principal.is_staff:
        return StaffActor(staff=principal.staff, via="api")
    if principal.kind == "anonymous":
        raise Unauthorized()
    if acting is None:
        raise Forbidden(f"봇이 직원 대신 처리하려면 {ACTING_HEADER} 헤더가 필요합니다.", code="acting_staff_required")
    staff = await session.scalar(select(Staff).where(Staff.telegram_user_id == acting, Staff.is_active.is_(True)))
    if staff is None:
        raise Forbidden("이 텔레그램 계정은 직원 계정에 연결되어 있지 않습니다.", code="unlinked_telegram_user")
    return StaffActor(staff=staff, via="telegram")


StaffActorDep = Annotated[StaffActor, Depends(staff_actor)]


async def _ticket_out(session, ticket, now: datetime) -> TicketOut:
    center = await session.get(Center, ticket.center_id)
    return TicketOut.of(ticket, center_code=center.code, center_name=center.name, center_phone=center.phone,
                        assignee_name=await service.assignee_name(session, ticket), now=now)


# --- bot ------------------------------------------------------------------------------------------------------

@router.post("/tickets", response_model=TicketCreatedOut, status_code=201,
             responses={200: {"model": TicketCreatedOut, "description": "the same chat sent the same text recently"}})
async def create_ticket(body: TicketCreate, response: Response, _: ServicePrincipal, session: SessionDep,
                        settings: SettingsDep, now: NowDep) -> TicketCreatedOut:
    """A ticket in the queue of the centre serving the address (bot only)."""
    result = await service.create_ticket(session, chat_id=body.chat_id, text=body.text, address=body.address,
                                         company_name=body.company_name, business_number=body.business_number,
                                         contact_name=body.contact_name, phone=body.phone,
                                         ask_log_id=body.ask_log_id, display_name=body.display_name,
                                         policy=service.policy_from_settings(settings), now=now)
    if not result.created:
        response.status_code = 200
    t, c = result.ticket, result.center
    return TicketCreatedOut.of(t, center_code=c.code, center_name=c.name, center_phone=c.phone,
                               assignee_name=await service.assignee_name(session, t), now=now,
                               acknowledgement=result.acknowledgement, duplicate=not result.created)


@router.get("/chats/{chat_id}/tickets", response_model=list[OwnerTicketOut])
async def chat_tickets(chat_id: ChatIdPath, _: ServicePrincipal, session: SessionDep, now: NowDep,
                       limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[OwnerTicketOut]:
    """An owner's tickets, newest first (bot only)."""
    items = await service.list_chat_tickets(session, chat_id=chat_id, limit=limit, now=now)
    return [OwnerTicketOut.of(i.ticket, i.center, i.promise) for i in items]


@router.post("/chats/{chat_id}/messages", response_model=OwnerMessageOut, status_code=201)
async def owner_message(chat_id: ChatIdPath, body: OwnerMessageIn, _: ServicePrincipal, session: SessionDep,
                        now: NowDep) -> OwnerMessageOut:
    """The owner's follow-up, appended to the chat's open ticket; 404 ``no_open_ticket`` when there is none."""
    ticket, message = await service.append_owner_message(session, chat_id=chat_id, text=body.text,
                                                         attachment=body.attachment, now=now)
    center = await session.get(Center, ticket.center_id)
    return OwnerMessageOut(message_id=message.id, ticket=OwnerTicketOut.of(ticket, center))


@router.post("/chats/{chat_id}/tickets/{ticket_id}/rating", response_model=OwnerTicketOut)
async def rate(chat_id: ChatIdPath, ticket_id: TicketIdPath, body: RatingIn, _: ServicePrincipal,
               session: SessionDep, now: NowDep) -> OwnerTicketOut:
    """The owner's 1–5 rating of a resolved ticket of that chat (bot only)."""
    ticket = await service.rate_ticket(session, chat_id=chat_id, ticket_id=ticket_id, rating=body.rating,
                                       comment=body.comment, now=now)
    return OwnerTicketOut.of(ticket, await session.get(Center, ticket.center_id))


# --- staff ----------------------------------------------------------------------------------------------------

@router.get("/tickets", response_model=QueuePageOut)
async def queue(principal: StaffPrincipal, session: SessionDep, now: NowDep,
                status: Literal["active", "open", "assigned", "resolved", "all"] = "active",
                overdue: bool = False, mine: bool = False, unassigned: bool = False,
                center: Annotated[str | None, Query(max_length=32)] = None,
                q: Annotated[str | None, Query(max_length=100)] = None,
                limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> QueuePageOut:
    """The queue: own centre for agents, all (or ``center``) for admins; in due order (``status=all``: newest
    first). Filters combine; ``q`` matches the ticket number, company name, question text or business number."""
    page = await service.list_queue(session, staff=principal.staff, status=status, overdue=overdue, mine=mine,
                                    unassigned=unassigned, center_code=center, q=q, limit=limit, offset=offset,
                                    now=now)
    return QueuePageOut(items=[TicketOut.of(i.ticket, center_code=i.center_code, center_name=i.center_name,
                                            assignee_name=i.assignee_name, now=now) for i in page.items],
                        total=page.total, total_capped=page.total_capped, limit=page.limit, offset=page.offset)


@router.get("/tickets/{ticket_id}", response_model=TicketDetailOut)
async def ticket_detail(ticket_id: TicketIdPath, principal: StaffPrincipal, session: SessionDep,
                        now: NowDep) -> TicketDetailOut:
    """One ticket with its messages, events and what the bot tried."""
    detail = await service.get_ticket_detail(session, staff=principal.staff, ticket_id=ticket_id)
    return TicketDetailOut.of_detail(detail, now=now)


@router.post("/tickets/{ticket_id}/claim", response_model=TicketOut)
async def claim(ticket_id: TicketIdPath, actor: StaffActorDep, session: SessionDep, now: NowDep) -> TicketOut:
    """Take the ticket; 409 ``already_claimed`` when someone else has it."""
    ticket = await service.claim_ticket(session, staff=actor.staff, ticket_id=ticket_id, via=actor.via, now=now)
    return await _ticket_out(session, ticket, now)


@router.post("/tickets/{ticket_id}/replies", response_model=ReplyOut, status_code=201)
async def reply(ticket_id: TicketIdPath, body: ReplyIn, actor: StaffActorDep, session: SessionDep,
                now: NowDep) -> ReplyOut:
    """An answer to the owner: stored and queued for delivery to their chat."""
    ticket, message = await service.reply_to_ticket(session, staff=actor.staff, ticket_id=ticket_id,
                                                    body=body.body, via=actor.via, now=now)
    return ReplyOut(message=MessageOut(id=message.id, direction=message.direction,
                                       author=StaffRef(id=actor.staff.id, display_name=actor.staff.display_name),
                                       body=message.body, attachment=None, created_at=message.created_at),
                    ticket=await _ticket_out(session, ticket, now))


@router.post("/tickets/{ticket_id}/transfer", response_model=TicketOut)
async def transfer(ticket_id: TicketIdPath, body: TransferIn, principal: StaffPrincipal, session: SessionDep,
                   settings: SettingsDep, now: NowDep) -> TicketOut:
    """Move the ticket to another centre with a reason."""
    ticket = await service.transfer_ticket(session, staff=principal.staff, ticket_id=ticket_id,
                                           center_code=body.center, reason=body.reason,
                                           policy=service.policy_from_settings(settings), now=now)
    return await _ticket_out(session, ticket, now)


@router.post("/tickets/{ticket_id}/resolve", response_model=TicketOut)
async def resolve(ticket_id: TicketIdPath, actor: StaffActorDep, session: SessionDep, now: NowDep,
                  body: ResolveIn | None = None) -> TicketOut:
    """Mark answered; the owner is asked for a rating."""
    ticket = await service.resolve_ticket(session, staff=actor.staff, ticket_id=ticket_id,
                                          note=body.note if body else None, via=actor.via, now=now)
    return await _ticket_out(session, ticket, now)


@router.post("/tickets/{ticket_id}/reopen", response_model=TicketOut)
async def reopen(ticket_id: TicketIdPath, actor: StaffActorDep, session: SessionDep, settings: SettingsDep,
                 now: NowDep, body: ReopenIn | None = None) -> TicketOut:
    """Put a resolved ticket back in the queue."""
    ticket = await service.reopen_ticket(session, staff=actor.staff, ticket_id=ticket_id,
                                         reason=body.reason if body else None,
                                         policy=service.policy_from_settings(settings), via=actor.via, now=now)
    return await _ticket_out(session, ticket, now)
