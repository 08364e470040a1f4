"""Conversation state and Telegram update claims, for the bot (service token only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.auth.deps import ServicePrincipal, SessionDep
from api.conversations import service
from api.conversations.schemas import ClaimIn, ClaimOut, CompletedIn, ConversationIn, ConversationOut

router = APIRouter(prefix="/api/v1", tags=["conversations"])

ChatId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1)]
UpdateId = Annotated[int, Path(ge=0, le=2**63 - 1)]


def _out(c: service.ConversationState) -> ConversationOut:
    return ConversationOut(chat_id=c.chat_id, state=c.state, version=c.version, updated_at=c.updated_at)


@router.get("/conversations/{chat_id}", response_model=ConversationOut)
async def get_conversation(session: SessionDep, _: ServicePrincipal, chat_id: ChatId) -> ConversationOut:
    return _out(await service.get_conversation(session, chat_id=chat_id))


@router.put("/conversations/{chat_id}", response_model=ConversationOut,
            responses={409: {"description": "the state changed since it was read (reload and retry)"}})
async def save_conversation(body: ConversationIn, session: SessionDep, _: ServicePrincipal,
                            chat_id: ChatId) -> ConversationOut:
    return _out(await service.save_conversation(session, chat_id=chat_id, state=body.state, version=body.version))


@router.post("/telegram/updates/{update_id}/claim", response_model=ClaimOut, response_model_exclude_unset=True)
async def claim_update(session: SessionDep, _: ServicePrincipal, update_id: UpdateId,
                       body: ClaimIn | None = None) -> ClaimOut:
    """Take the update for processing (``claimed``). With ``chat_id``, a successful claim also answers with the
    chat's conversation and whether it has an open ticket; ``completed`` updates are recorded done first."""
    body = body or ClaimIn()
    claim = await service.claim_update(session, update_id=update_id, claimer=body.claimer, chat_id=body.chat_id,
                                       completed=body.completed)
    out = ClaimOut(update_id=claim.update_id, claimed=claim.claimed, status=claim.status)
    if claim.snapshot is not None:
        out.conversation = _out(claim.snapshot.conversation)
        out.open_ticket = claim.snapshot.open_ticket
    return out


@router.post("/telegram/updates/done", status_code=204)
async def complete_updates(body: CompletedIn, session: SessionDep, _: ServicePrincipal) -> Response:
    """Record several processed updates as done at once (idempotent)."""
    await service.complete_updates(session, update_ids=body.update_ids)
    return Response(status_code=204)


@router.post("/telegram/updates/{update_id}/done", response_model=ClaimOut)
async def complete_update(session: SessionDep, _: ServicePrincipal, update_id: UpdateId) -> ClaimOut:
    claim = await service.complete_update(session, update_id=update_id)
    return ClaimOut(update_id=claim.update_id, claimed=claim.claimed, status=claim.status)


@router.delete("/telegram/updates/{update_id}/claim", status_code=204)
async def release_update(session: SessionDep, _: ServicePrincipal, update_id: UpdateId,
                         claimer: Annotated[str, Query(max_length=64)] = "") -> Response:
    await service.release_update(session, update_id=update_id, claimer=claimer)
    return Response(status_code=204)
