"""Ticket endpoints: thin wrappers over ``api.tickets`` (``queue``, ``staff_actions``, ``owner_actions``).

- integrations (service token): create a ticket for a chat;
- staff (bearer token): the queue, a ticket, claim / reply / transfer / resolve / reopen.

Owners reach tickets only through their conversation (``api.channels``), and staff acting from Telegram only
through their centre's group (``api.telegram_staff.group``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth.deps import ServicePrincipal, SessionDep, StaffPrincipal, get_app_settings
from api.centers.models import Center
from api.config import Settings
from api.db import utcnow
from api.tickets import owner_actions, staff_actions
from api.tickets import queue as ticket_queue
from api.tickets.base import policy_from_settings
from api.tickets.schemas import (MessageOut, QueuePageOut, ReopenIn, ReplyIn, ReplyOut, ResolveIn, StaffRef,
                                 TicketCreate, TicketCreatedOut, TicketDetailOut, TicketOut, TransferIn)

router = APIRouter(prefix="/api/v1", tags=["tickets"])


def request_now() -> datetime:
    """The clock of a request (tests override this dependency to pin time)."""
    return utcnow()


NowDep = Annotated[datetime, Depends(request_now)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
TicketIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def _ticket_out(session, ticket, now: datetime) -> TicketOut:
    center = await session.get(Center, ticket.center_id)
    return TicketOut.of(ticket, center_code=center.code, center_name=center.name, center_phone=center.phone,
                        assignee_name=await ticket_queue.assignee_name(session, ticket), now=now)


# --- bot ------------------------------------------------------------------------------------------------------

@router.post("/tickets", response_model=TicketCreatedOut, status_code=201,
             responses={200: {"model": TicketCreatedOut, "description": "the same chat sent the same text recently"}})
async def create_ticket(body: TicketCreate, response: Response, _: ServicePrincipal, session: SessionDep,
                        settings: SettingsDep, now: NowDep) -> TicketCreatedOut:
    """A ticket in the queue of the centre serving the address, for a chat (service token)."""
    result = await owner_actions.create_ticket(session, chat_id=body.chat_id, text=body.text, address=body.address,
                                               company_name=body.company_name, business_number=body.business_number,
                                               contact_name=body.contact_name, phone=body.phone,
                                               ask_log_id=body.ask_log_id, display_name=body.display_name,
                                               policy=policy_from_settings(settings), now=now)
    if not result.created:
        response.status_code = 200
    t, c = result.ticket, result.center
    return TicketCreatedOut.of(t, center_code=c.code, center_name=c.name, center_phone=c.phone,
                               assignee_name=await ticket_queue.assignee_name(session, t), now=now,
                               acknowledgement=result.acknowledgement, duplicate=not result.created)


# --- staff ----------------------------------------------------------------------------------------------------

@router.get("/tickets", response_model=QueuePageOut)
async def list_tickets(principal: StaffPrincipal, session: SessionDep, now: NowDep,
                       status: Literal["active", "open", "assigned", "resolved", "all"] = "active",
                       overdue: bool = False, mine: bool = False, unassigned: bool = False,
                       center: Annotated[str | None, Query(max_length=32)] = None,
                       q: Annotated[str | None, Query(max_length=100)] = None,
                       limit: Annotated[int, Query(ge=1, le=ticket_queue.MAX_PAGE)] = 50,
                       offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> QueuePageOut:
    """The queue: own centre for agents, all (or ``center``) for admins; in due order (``status=all``: newest
    first). Filters combine; ``q`` matches the ticket number, company name, question text or business number."""
    page = await ticket_queue.list_queue(session, staff=principal.staff, status=status, overdue=overdue, mine=mine,
                                         unassigned=unassigned, center_code=center, q=q, limit=limit, offset=offset,
                                         now=now)
    return QueuePageOut(items=[TicketOut.of(i.ticket, center_code=i.center_code, center_name=i.center_name,
                                            assignee_name=i.assignee_name, now=now) for i in page.items],
                        total=page.total, total_capped=page.total_capped, limit=page.limit, offset=page.offset)


@router.get("/tickets/{ticket_id}", response_model=TicketDetailOut)
async def ticket_detail(ticket_id: TicketIdPath, principal: StaffPrincipal, session: SessionDep,
                        now: NowDep) -> TicketDetailOut:
    """One ticket with its messages, events and what the bot tried."""
    detail = await ticket_queue.get_ticket_detail(session, staff=principal.staff, ticket_id=ticket_id)
    return TicketDetailOut.of_detail(detail, now=now)


@router.post("/tickets/{ticket_id}/claim", response_model=TicketOut)
async def claim(ticket_id: TicketIdPath, principal: StaffPrincipal, session: SessionDep, now: NowDep) -> TicketOut:
    """Take the ticket; 409 ``already_claimed`` when someone else has it."""
    ticket = await staff_actions.claim_ticket(session, staff=principal.staff, ticket_id=ticket_id, now=now)
    return await _ticket_out(session, ticket, now)


@router.post("/tickets/{ticket_id}/replies", response_model=ReplyOut, status_code=201)
async def reply(ticket_id: TicketIdPath, body: ReplyIn, principal: StaffPrincipal, session: SessionDep,
                now: NowDep) -> ReplyOut:
    """An answer to the owner: stored and queued for delivery to their chat."""
    ticket, message = await staff_actions.reply_to_ticket(session, staff=principal.staff, ticket_id=ticket_id,
                                                          body=body.body, now=now)
    return ReplyOut(message=MessageOut(id=message.id, direction=message.direction,
                                       author=StaffRef(id=principal.staff.id, display_name=principal.staff.display_name),
                                       body=message.body, attachment=None, created_at=message.created_at),
                    ticket=await _ticket_out(session, ticket, now))


@router.post("/tickets/{ticket_id}/transfer", response_model=TicketOut)
async def transfer(ticket_id: TicketIdPath, body: TransferIn, principal: StaffPrincipal, session: SessionDep,
                   settings: SettingsDep, now: NowDep) -> TicketOut:
    """Move the ticket to another centre with a reason."""
    ticket = await staff_actions.transfer_ticket(session, staff=principal.staff, ticket_id=ticket_id,
                                                 center_code=body.center, reason=body.reason,
                                                 policy=policy_from_settings(settings), now=now)
    return await _ticket_out(session, ticket, now)


@router.post("/tickets/{ticket_id}/resolve", response_model=TicketOut)
async def resolve(ticket_id: TicketIdPath, principal: StaffPrincipal, session: SessionDep, now: NowDep,
                  body: ResolveIn | None = None) -> TicketOut:
    """Mark answered; the owner is asked for a rating. ``entry_id``: the KB entry the answer came from."""
    ticket = await staff_actions.resolve_ticket(session, staff=principal.staff, ticket_id=ticket_id,
                                                note=body.note if body else None,
                                                entry_id=body.entry_id if body else None, now=now)
    return await _ticket_out(session, ticket, now)


@router.post("/tickets/{ticket_id}/reopen", response_model=TicketOut)
async def reopen(ticket_id: TicketIdPath, principal: StaffPrincipal, session: SessionDep, settings: SettingsDep,
                 now: NowDep, body: ReopenIn | None = None) -> TicketOut:
    """Put a resolved ticket back in the queue."""
    ticket = await staff_actions.reopen_ticket(session, staff=principal.staff, ticket_id=ticket_id,
                                               reason=body.reason if body else None,
                                               policy=policy_from_settings(settings), now=now)
    return await _ticket_out(session, ticket, now)
