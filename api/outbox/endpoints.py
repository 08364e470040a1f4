"""The outbox drain API for the bot (service token only): lease due messages, report them sent or failed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.auth.deps import ServicePrincipal, SessionDep
from api.outbox import delivery
from api.outbox.models import OutboxMessage
from api.outbox.schemas import FailedIn, LeasedOut, LeaseIn, OutboxStatusOut, PostOut, ReleaseIn, SentIn

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])

MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _status(m: OutboxMessage) -> OutboxStatusOut:
    return OutboxStatusOut(id=m.id, status=m.status, attempts=m.attempts, next_attempt_at=m.next_attempt_at,
                           telegram_message_id=m.telegram_message_id, last_error=m.last_error)


@router.post("/lease", response_model=list[LeasedOut])
async def lease(body: LeaseIn, session: SessionDep, _: ServicePrincipal) -> list[LeasedOut]:
    """Due messages, each leased to the caller for ``lease_seconds`` (oldest first, one per chat)."""
    rows = await delivery.lease_due(session, limit=body.limit, lease_seconds=body.lease_seconds,
                                    chat_id=body.chat_id)
    return [LeasedOut(id=r.id, chat_id=r.chat_id, text=r.text, buttons=r.buttons, kind=r.kind, ticket_id=r.ticket_id,
                      attempts=r.attempts, lease_token=r.lease_token, lease_until=r.lease_until) for r in rows]


@router.post("/{message_id}/sent", response_model=OutboxStatusOut)
async def sent(message_id: MessageId, body: SentIn, session: SessionDep, _: ServicePrincipal) -> OutboxStatusOut:
    return _status(await delivery.mark_sent(session, message_id=message_id,
                                            telegram_message_id=body.telegram_message_id))


@router.post("/{message_id}/failed", response_model=OutboxStatusOut,
             responses={409: {"description": "the lease is no longer the caller's"}})
async def failed(message_id: MessageId, body: FailedIn, session: SessionDep, _: ServicePrincipal) -> OutboxStatusOut:
    return _status(await delivery.mark_failed(session, message_id=message_id, lease_token=body.lease_token,
                                              error=body.error, retry_after=body.retry_after,
                                              permanent=body.permanent))


@router.post("/{message_id}/release", status_code=204)
async def release(message_id: MessageId, body: ReleaseIn, session: SessionDep, _: ServicePrincipal) -> Response:
    await delivery.release(session, message_id=message_id, lease_token=body.lease_token,
                           delay_seconds=body.delay_seconds)
    return Response(status_code=204)


@router.get("/posts", response_model=PostOut)
async def post(session: SessionDep, _: ServicePrincipal,
               chat_id: Annotated[int, Query(ge=-(2**63) + 1, le=2**63 - 1)],
               message_id: Annotated[int, Query(ge=1, le=2**63 - 1)]) -> PostOut:
    """Which ticket a message the bot posted in a chat is about (a staff member replied to it); null if none."""
    ticket_id = await delivery.ticket_for_post(session, chat_id=chat_id, telegram_message_id=message_id)
    return PostOut(chat_id=chat_id, message_id=message_id, ticket_id=ticket_id)
